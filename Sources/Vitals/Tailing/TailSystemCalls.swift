import Glibc

/// Identifies a file independently of its name, so a rename is not mistaken for a new file.
///
/// Safe against inode reuse because the tailer keeps the file open for as long as it remembers
/// the identity: the kernel cannot hand out an inode number that is still referenced.
struct TailFileIdentity: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64

    init(_ info: stat) {
        self.device = UInt64(info.st_dev)
        self.inode = UInt64(info.st_ino)
    }
}

/// Thin, crash-free wrappers over the POSIX calls the tailer needs.
///
/// Every wrapper retries `EINTR` and reports failure as an errno value instead of trapping, so a
/// misbehaving filesystem degrades into a reported ``TailError`` rather than a dead daemon.
enum TailSystemCalls {
    enum FileKind {
        case regular
        case directory
        case other
    }

    static func kind(of info: stat) -> FileKind {
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    static func stat(path: String) -> Result<stat, TailErrno> {
        var info = Glibc.stat()
        while true {
            if callStat(path, &info) == 0 { return .success(info) }
            let code = errno
            if code != EINTR { return .failure(TailErrno(code)) }
        }
    }

    static func fstat(_ fd: CInt) -> Result<stat, TailErrno> {
        var info = Glibc.stat()
        while true {
            if Glibc.fstat(fd, &info) == 0 { return .success(info) }
            let code = errno
            if code != EINTR { return .failure(TailErrno(code)) }
        }
    }

    /// Opens for reading without ever blocking: `O_NONBLOCK` keeps a FIFO that raced into a
    /// matched name from hanging the poll thread, and `O_NOCTTY` keeps a matched tty from
    /// becoming our controlling terminal.
    static func openForReading(path: String) -> Result<CInt, TailErrno> {
        while true {
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
            if fd >= 0 { return .success(fd) }
            let code = errno
            if code != EINTR { return .failure(TailErrno(code)) }
        }
    }

    static func close(_ fd: CInt) {
        // Retrying close on EINTR is wrong on Linux: the descriptor is already released.
        _ = Glibc.close(fd)
    }

    enum ReadOutcome {
        case bytes(Int)
        case endOfFile
        /// `EAGAIN`/`EWOULDBLOCK`: nothing to read right now; try again next poll.
        case wouldBlock
        case failed(TailErrno)
    }

    static func pread(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> ReadOutcome {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .bytes(0) }
        return outcome { Glibc.pread(fd, base, buffer.count, off_t(offset)) }
    }

    /// `read(2)` for descriptors without offsets (a pipe on standard input).
    static func read(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer) -> ReadOutcome {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .bytes(0) }
        return outcome { Glibc.read(fd, base, buffer.count) }
    }

    /// One read, retried on EINTR, as an outcome.
    private static func outcome(_ read: () -> Int) -> ReadOutcome {
        while true {
            let count = read()
            if count > 0 { return .bytes(count) }
            if count == 0 { return .endOfFile }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed(TailErrno(code))
            }
        }
    }

    /// Makes `fd` non-blocking and returns its previous status flags, to be put back with
    /// ``setStatusFlags(_:_:)``: the flags belong to the open file description, which a terminal
    /// shares with the shell that started us.
    static func makeNonBlocking(_ fd: CInt) -> Result<CInt, TailErrno> {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else { return .failure(TailErrno(errno)) }
        guard fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { return .failure(TailErrno(errno)) }
        return .success(flags)
    }

    static func setStatusFlags(_ fd: CInt, _ flags: CInt) {
        _ = fcntl(fd, F_SETFL, flags)
    }

    /// Grows the buffer of the pipe `fd` reads to `bytes`, or to the largest of its halves the
    /// system allows (`/proc/sys/fs/pipe-max-size`, 1 MiB by default, bounds an unprivileged
    /// process); never shrinks it, and does nothing if `fd` is not a pipe.
    static func growPipe(_ fd: CInt, to bytes: Int) {
        // <linux/fcntl.h>, which Glibc's Swift module does not export.
        let setPipeSize: CInt = 1031, getPipeSize: CInt = 1032
        let current = Int(fcntl(fd, getPipeSize))
        guard current > 0 else { return }
        var wanted = bytes
        while wanted > current, fcntl(fd, setPipeSize, CInt(clamping: wanted)) < 0 { wanted /= 2 }
    }

    /// Reads exactly `buffer.count` bytes unless the file ends first; returns how many arrived.
    static func preadFully(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Int? {
        var filled = 0
        while filled < buffer.count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])
            switch pread(fd, into: rest, at: offset + Int64(filled)) {
            case .bytes(let count): filled += count
            case .endOfFile: return filled
            case .wouldBlock, .failed: return nil
            }
        }
        return filled
    }

    enum GlobOutcome {
        case matches([String])
        case failed(String)
    }

    /// Whether glob(3) would treat the pattern as more than a literal path.
    static func hasGlobMagic(_ pattern: String) -> Bool {
        pattern.utf8.contains { byte in
            byte == UInt8(ascii: "*") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "\\")
        }
    }

    /// Expands with glob(3), sorted so files are followed (and capped) in a stable order.
    static func glob(_ pattern: String) -> GlobOutcome {
        var result = glob_t()
        defer { globfree(&result) }
        let status = Glibc.glob(pattern, 0, nil, &result)
        switch status {
        case 0:
            var paths: [String] = []
            let count = Int(result.gl_pathc)
            paths.reserveCapacity(count)
            if let vector = result.gl_pathv {
                for index in 0..<count {
                    if let entry = vector[index] { paths.append(String(cString: entry)) }
                }
            }
            return .matches(paths)
        case GLOB_NOMATCH:
            return .matches([])
        case GLOB_NOSPACE:
            return .failed("glob ran out of memory")
        default:
            return .failed("glob failed with status \(status)")
        }
    }

    /// glob(3) silently skips directories it cannot read, so a pattern under an unreadable
    /// directory looks like "no match". Checks the literal directory prefix to tell the two apart.
    static func unreadableDirectory(in pattern: String) -> (path: String, error: TailErrno)? {
        var literal: [Substring] = []
        let components = pattern.split(separator: "/", omittingEmptySubsequences: false)
        for component in components.dropLast() {
            if hasGlobMagic(String(component)) { break }
            literal.append(component)
        }
        var directory = literal.joined(separator: "/")
        if directory.isEmpty { directory = pattern.hasPrefix("/") ? "/" : "." }
        guard let handle = opendir(directory) else {
            let code = errno
            return code == EACCES || code == EPERM ? (directory, TailErrno(code)) : nil
        }
        closedir(handle)
        return nil
    }
}

/// Calls the stat(2) function; inside `TailSystemCalls` the name is taken by the wrapper and
/// `Glibc.stat` resolves to the struct.
private func callStat(_ path: String, _ info: inout stat) -> CInt {
    stat(path, &info)
}

/// An errno value with its message, kept as a value so errors stay `Sendable` and comparable.
struct TailErrno: Error, Sendable, Hashable, CustomStringConvertible {
    var code: CInt

    init(_ code: CInt) {
        self.code = code
    }

    var isPermission: Bool { code == EACCES || code == EPERM }
    var isMissing: Bool { code == ENOENT || code == ENOTDIR }
    var isDescriptorExhaustion: Bool { code == EMFILE || code == ENFILE }

    var description: String {
        guard let message = strerror(code) else { return "errno \(code)" }
        return "\(String(cString: message)) (errno \(code))"
    }
}
