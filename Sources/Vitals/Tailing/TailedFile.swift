import Glibc

/// One open file being followed, with everything needed to resume exactly where it left off.
///
/// A class so the tailer can keep it in both an ordered list and an identity index and mutate it
/// through either without copy-back bookkeeping.
final class TailedFile {
    /// Bytes before the read offset remembered to notice a file rewritten in place (copytruncate
    /// followed by enough new writes to hide the shrink). Long enough that log lines with
    /// timestamps or counters practically never coincide.
    static let fingerprintLength = 64

    /// Partial-line buffers larger than this are freed rather than kept for reuse, so one long
    /// line does not pin `maxLineLength` bytes per file forever.
    private static let retainedPartialCapacity = 16_384

    private static let newline = CInt(UInt8(ascii: "\n"))

    let identity: TailFileIdentity
    let fd: CInt
    /// The last matched path that named this file; kept after it disappears for reporting.
    var path: String
    /// The next byte to read; everything before it has been split into lines or `partial`.
    private(set) var offset: Int64
    private var observedSize: Int64
    private var observedModification: timespec
    private(set) var linkCount: UInt64
    private var fingerprint: [UInt8] = []
    /// The unfinished last line, copied out of the shared read buffer; never longer than the
    /// line limit because an overlong line switches to skipping instead.
    private var partial: [UInt8] = []
    /// Inside a line already counted as oversized: discard up to and including its newline.
    private var isSkippingOversizedLine: Bool
    /// Where the file stands in rotation: named, or kept open after its name moved on.
    var rotation = FileRotation()

    init(identity: TailFileIdentity, fd: CInt, path: String, info: stat, offset: Int64, skippingFirstLine: Bool) {
        self.identity = identity
        self.fd = fd
        self.path = path
        self.offset = offset
        self.observedSize = Int64(info.st_size)
        self.observedModification = info.st_mtim
        self.linkCount = UInt64(info.st_nlink)
        self.isSkippingOversizedLine = skippingFirstLine
    }

    /// Bytes written but not yet read, as of now.
    var bytesBehind: Int64 {
        guard case .success(let info) = TailSystemCalls.fstat(fd) else { return 0 }
        let size = Int64(info.st_size)
        // A shrunken file will be re-read from the start, so all of it is behind.
        return size < offset ? size : size - offset
    }

    /// Reads up to the size seen at the start of the pass. Stopping there rather than at EOF
    /// keeps a writer that outpaces us from holding the poll (and every other file) hostage.
    func readAvailable(
        buffer: UnsafeMutableRawBufferPointer,
        chunkSize: Int,
        maxLineLength: Int,
        result: inout LogTailer.PollResult,
        onLine: (UnsafeRawBufferPointer) -> Void
    ) -> (bytes: Int, error: TailErrno?) {
        let info: stat
        switch TailSystemCalls.fstat(fd) {
        case .success(let value): info = value
        case .failure(let error): return (0, error)
        }
        self.linkCount = UInt64(info.st_nlink)
        let size = Int64(info.st_size)
        let modification = info.st_mtim
        let changed =
            size != observedSize || modification.tv_sec != observedModification.tv_sec
            || modification.tv_nsec != observedModification.tv_nsec
        self.observedSize = size
        self.observedModification = modification

        if size < offset || (changed && offset > 0 && !fingerprintMatches(scratch: buffer)) {
            recoverTailFromCopy(buffer: buffer, chunkSize: chunkSize, maxLineLength: maxLineLength, result: &result, onLine: onLine)
            restartAfterTruncation()
            result.truncations += 1
        }

        var total = 0
        while offset < size {
            let wanted = Int(min(Int64(chunkSize), size - offset))
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted])
            switch TailSystemCalls.pread(fd, into: target, at: offset) {
            case .bytes(let count):
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                offset += Int64(count)
                total += count
                result.bytesRead += count
                remember(chunk)
                consume(chunk, maxLineLength: maxLineLength, result: &result, onLine: onLine)
            case .endOfFile, .wouldBlock:
                return (total, nil)
            case .failed(let error):
                return (total, error)
            }
        }
        return (total, nil)
    }

    /// Reads a stream (standard input) until it has nothing more for now, it ends, or
    /// `maxBytes` arrived: a writer faster than us must not hold the poll forever.
    func readStream(
        buffer: UnsafeMutableRawBufferPointer,
        chunkSize: Int,
        maxLineLength: Int,
        maxBytes: Int,
        result: inout LogTailer.PollResult,
        onLine: (UnsafeRawBufferPointer) -> Void
    ) -> (ended: Bool, error: TailErrno?) {
        var total = 0
        while total < maxBytes {
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(chunkSize, buffer.count)])
            switch TailSystemCalls.read(fd, into: target) {
            case .bytes(let count):
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                offset += Int64(count)
                total += count
                result.bytesRead += count
                consume(chunk, maxLineLength: maxLineLength, result: &result, onLine: onLine)
            case .wouldBlock:
                return (false, nil)
            case .endOfFile:
                return (true, nil)
            case .failed(let error):
                return (true, error)
            }
        }
        return (false, nil)
    }

    /// Hands over the unfinished last line: once a file is closed for good its writer has
    /// finished with it, so what is there is the whole line.
    func flushPartialLine(result: inout LogTailer.PollResult, onLine: (UnsafeRawBufferPointer) -> Void) {
        if !partial.isEmpty, !isSkippingOversizedLine {
            partial.withUnsafeBytes { onLine($0) }
            result.lines += 1
        }
        clearPartial()
        isSkippingOversizedLine = false
    }

    func close() {
        TailSystemCalls.close(fd)
    }

    // MARK: Line splitting

    /// Splits a chunk into lines, handing out pointers into the chunk itself; only the tail of
    /// a line that continues into the next chunk is copied.
    private func consume(
        _ chunk: UnsafeRawBufferPointer,
        maxLineLength: Int,
        result: inout LogTailer.PollResult,
        onLine: (UnsafeRawBufferPointer) -> Void
    ) {
        guard let base = chunk.baseAddress else { return }
        let end = chunk.count
        var start = 0
        while start < end {
            let newline = memchr(base + start, Self.newline, end - start).map { base.distance(to: UnsafeRawPointer($0)) }

            if isSkippingOversizedLine {
                guard let newline else { return }
                isSkippingOversizedLine = false
                start = newline + 1
                continue
            }

            guard let newline else {
                let remainder = end - start
                if partial.count + remainder > maxLineLength {
                    // Counted now, not at its newline, so a line that never ends still shows up.
                    result.oversizedLines += 1
                    clearPartial()
                    isSkippingOversizedLine = true
                } else {
                    partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[start..<end]))
                }
                return
            }

            let length = newline - start
            if partial.isEmpty {
                if length > maxLineLength {
                    result.oversizedLines += 1
                } else {
                    onLine(UnsafeRawBufferPointer(rebasing: chunk[start..<newline]))
                    result.lines += 1
                }
            } else if partial.count + length > maxLineLength {
                result.oversizedLines += 1
                clearPartial()
            } else {
                partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[start..<newline]))
                partial.withUnsafeBytes { onLine($0) }
                result.lines += 1
                clearPartial()
            }
            start = newline + 1
        }
    }

    private func clearPartial() {
        if partial.capacity > Self.retainedPartialCapacity {
            partial = []
        } else {
            partial.removeAll(keepingCapacity: true)
        }
    }

    // MARK: Truncation detection

    /// A shrink is the obvious sign of copytruncate, but if the writer refills past our offset
    /// between two polls the size alone looks like an append. The bytes just before our offset
    /// then no longer match what we read there.
    private func fingerprintMatches(scratch: UnsafeMutableRawBufferPointer) -> Bool {
        let length = fingerprint.count
        guard length > 0, scratch.count >= length, offset >= Int64(length) else { return true }
        let target = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<length])
        guard let count = TailSystemCalls.preadFully(fd, into: target, at: offset - Int64(length)) else {
            // Let the main read report the failure rather than guessing at a truncation.
            return true
        }
        guard count == length else { return false }
        return fingerprint.elementsEqual(UnsafeRawBufferPointer(target))
    }

    private func remember(_ chunk: UnsafeRawBufferPointer) {
        let keep = Self.fingerprintLength
        if chunk.count >= keep {
            fingerprint.removeAll(keepingCapacity: true)
            fingerprint.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[(chunk.count - keep)...]))
        } else {
            let overflow = fingerprint.count + chunk.count - keep
            if overflow > 0 { fingerprint.removeFirst(overflow) }
            fingerprint.append(contentsOf: chunk)
        }
    }

    /// Seeds the fingerprint for a file we start following part-way through.
    func loadFingerprint(scratch: UnsafeMutableRawBufferPointer) {
        let length = Int(min(Int64(min(Self.fingerprintLength, scratch.count)), offset))
        guard length > 0 else { return }
        let target = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<length])
        guard let count = TailSystemCalls.preadFully(fd, into: target, at: offset - Int64(length)), count == length else {
            return
        }
        remember(UnsafeRawBufferPointer(target))
    }

    /// After a copytruncate, what was appended between our last read and the truncation exists
    /// only in the copy (`app.log.1`, `app.log-20261124`, …). The copy holds the old file's bytes
    /// at the same offsets, so the copy whose bytes just before our offset match our fingerprint
    /// is the one, and reading it from our offset to its end delivers exactly the missing lines.
    /// Compressed or already-removed copies cannot be recovered; nothing is read twice either way.
    private func recoverTailFromCopy(
        buffer: UnsafeMutableRawBufferPointer,
        chunkSize: Int,
        maxLineLength: Int,
        result: inout LogTailer.PollResult,
        onLine: (UnsafeRawBufferPointer) -> Void
    ) {
        guard offset > 0, fingerprint.count == min(Self.fingerprintLength, Int(offset)), !TailSystemCalls.hasGlobMagic(path),
            case .matches(let candidates) = TailSystemCalls.glob(path + "?*")
        else { return }
        for candidate in candidates.suffix(16) where !candidate.hasSuffix(".gz") && !candidate.hasSuffix(".zst") && !candidate.hasSuffix(".xz") {
            guard case .success(let copyFD) = TailSystemCalls.openForReading(path: candidate) else { continue }
            defer { TailSystemCalls.close(copyFD) }
            guard case .success(let info) = TailSystemCalls.fstat(copyFD), Int64(info.st_size) >= offset,
                TailFileIdentity(info) != identity
            else { continue }
            let length = fingerprint.count
            let probe = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
            guard TailSystemCalls.preadFully(copyFD, into: probe, at: offset - Int64(length)) == length,
                fingerprint.elementsEqual(UnsafeRawBufferPointer(probe))
            else { continue }
            var position = offset
            let end = Int64(info.st_size)
            while position < end {
                let wanted = Int(min(Int64(chunkSize), end - position))
                let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted])
                guard case .bytes(let count) = TailSystemCalls.pread(copyFD, into: target, at: position) else { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                position += Int64(count)
                result.bytesRead += count
                consume(chunk, maxLineLength: maxLineLength, result: &result, onLine: onLine)
            }
            result.recoveredFromCopies += 1
            return
        }
    }

    /// The partial line at a truncation is discarded, not delivered: its rest went into the
    /// copy (lost to us) or will arrive at offset 0 as a separate fragment, and a fragment that
    /// parses as a plausible but wrong record is worse than a missing one.
    private func restartAfterTruncation() {
        offset = 0
        clearPartial()
        isSkippingOversizedLine = false
        fingerprint.removeAll(keepingCapacity: true)
    }

    // MARK: Starting at the end

    /// Where to start a file that was already there when we started and should be followed from
    /// its end: just after its last newline, so a line being written right now is delivered
    /// whole instead of as a tail fragment. Looks back at most `maxLineLength + 1` bytes; a
    /// longer unfinished line is skipped.
    static func startOfUnfinishedLine(
        fd: CInt,
        size: Int64,
        maxLineLength: Int,
        scratch: UnsafeMutableRawBufferPointer,
        chunkSize: Int
    ) -> (offset: Int64, skipping: Bool) {
        guard size > 0 else { return (0, false) }
        let limit = max(0, size - Int64(maxLineLength) - 1)
        var end = size
        while end > limit {
            let start = max(limit, end - Int64(chunkSize))
            let target = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<Int(end - start)])
            guard let count = TailSystemCalls.preadFully(fd, into: target, at: start), count == target.count else {
                // The file changed or failed under us; starting at its end is the safe choice.
                return (size, false)
            }
            var index = count - 1
            while index >= 0 {
                if target[index] == UInt8(ascii: "\n") { return (start + Int64(index) + 1, false) }
                index -= 1
            }
            end = start
        }
        // No newline at all: the whole file is the unfinished line.
        return limit == 0 && size <= Int64(maxLineLength) ? (0, false) : (size, true)
    }
}
