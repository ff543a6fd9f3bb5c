import Glibc

/// Tells a log source's polling thread that one of its logs may have changed, so an idle log
/// costs one wake-up per idle timeout instead of one per poll interval, and that a name changed in
/// a log's directory, so a busy log's new file is opened at once.
///
/// Two inotify instances, so a thread can wait for rotations without waking for every write:
/// - ``rotationDescriptor`` watches the directory each path pattern names (files created, renamed
///   or deleted: rotation) and every followed file's own move or deletion (rotated in the
///   directory a symlink points into, which is not watched). A busy log is read once per interval
///   and its thread does not wait for its writes, but it does wait on this: a file created and
///   rotated away between two reads would otherwise never be read (`make chaos`'s rotation case
///   lost 55 % of its lines that way with the read every 2 s).
/// - ``writeDescriptor`` watches every followed file for writes and truncation (also when the
///   file is reached through a symlink into another directory). An idle log's thread waits on both.
///
/// Writes to other files in the directory are not watched: a busy neighbour (the app's error log,
/// another service's access log) must not wake the thread, and a name created or renamed there
/// that no pattern could match does not make a rotation read. The watch only wakes the thread:
/// what changed is still found by the tailer's poll, so a missed or merged event costs latency
/// (up to the idle timeout), never lines.

final class LogChangeWatch: @unchecked Sendable {  // used by one polling thread at a time
    let rotationDescriptor: CInt
    let writeDescriptor: CInt
    private let directories: [String]
    /// What a name must start with to matter, per directory: each of its patterns' file name up
    /// to the first glob character ("" for `*.log`, so every name does).
    private let namePrefixes: [String: [[UInt8]]]
    private var directoryWatches: [CInt: String] = [:]
    private var fileWatches: [String: CInt] = [:]
    private var fileRotationWatches: [String: CInt] = [:]
    private var followedPaths: [String] = []
    /// Set when a directory's contents changed, so file watches are refreshed (a rotated name
    /// now points at a new file).
    private var directoryChanged = false
    private let events = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 8)

    /// False while a directory watch is missing (the directory does not exist yet, was removed or
    /// replaced): the thread then polls on its interval, and each `follow` tries again.
    private(set) var isComplete = false
    /// False while the tailer drains or waits on a rotated file: its limits count polls.
    private var isSettled = true

    /// Whether the thread may sleep until a change instead of polling on its interval.
    var canWaitForChanges: Bool { isComplete && isSettled }

    private static let directoryEvents = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR)
    private static let fileRotationEvents = UInt32(IN_MOVE_SELF | IN_DELETE_SELF)
    private static let fileEvents = UInt32(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVE_SELF | IN_DELETE_SELF)

    /// Nil when a pattern's directory part holds glob characters (which directories to watch would
    /// change as they match) or inotify is not available: the source then polls on its interval.
    init?(patterns: [String]) {
        var directories: [String] = []
        var prefixes: [String: [[UInt8]]] = [:]
        for pattern in patterns {
            let directory = Self.directory(of: pattern)
            guard !TailSystemCalls.hasGlobMagic(directory) else { return nil }
            if !directories.contains(directory) { directories.append(directory) }
            prefixes[directory, default: []].append(Array(Self.literalNamePrefix(of: pattern).utf8))
        }
        let rotations = inotify_init1(CInt(IN_CLOEXEC | IN_NONBLOCK))
        guard rotations >= 0 else { return nil }
        let writes = inotify_init1(CInt(IN_CLOEXEC | IN_NONBLOCK))
        guard writes >= 0 else {
            Glibc.close(rotations)
            return nil
        }
        self.rotationDescriptor = rotations
        self.writeDescriptor = writes
        self.directories = directories
        self.namePrefixes = prefixes
        watchDirectories()
    }

    deinit {
        Glibc.close(rotationDescriptor)
        Glibc.close(writeDescriptor)
        events.deallocate()
    }

    static func directory(of pattern: String) -> String {
        guard let slash = pattern.lastIndex(of: "/") else { return "." }
        return slash == pattern.startIndex ? "/" : String(pattern[..<slash])
    }

    /// `/var/log/app.log` → `app.log` (its rotated names `app.log.1` and `app.log-20261207` start
    /// with it too), `/var/log/app-*.log` → `app-`, `/var/log/*.log` → "".
    static func literalNamePrefix(of pattern: String) -> Substring {
        let name = pattern.lastIndex(of: "/").map { pattern[pattern.index(after: $0)...] } ?? pattern[...]
        return name.prefix { !"*?[\\".contains($0) }
    }

    /// Watches the files the tailer follows now and retries missing directory watches. Cheap
    /// when nothing changed: no system call unless the followed files or a directory did.
    func follow(_ paths: [String], hasRotatedFiles: Bool) {
        isSettled = !hasRotatedFiles
        if !isComplete { watchDirectories() }
        guard paths != followedPaths || directoryChanged else { return }
        followedPaths = paths
        directoryChanged = false
        fileWatches = Self.watch(paths, in: writeDescriptor, events: Self.fileEvents, replacing: fileWatches, keeping: [])
        fileRotationWatches = Self.watch(
            paths, in: rotationDescriptor, events: Self.fileRotationEvents, replacing: fileRotationWatches, keeping: Set(directoryWatches.keys))
    }

    /// Watches `paths` in one instance and removes the watches of `old` no longer needed.
    private static func watch(_ paths: [String], in instance: CInt, events: UInt32, replacing old: [String: CInt], keeping: Set<CInt>) -> [String: CInt] {
        var watches: [String: CInt] = [:]
        for path in paths {
            // Adding a watch on an inode already watched returns its descriptor again.
            let watch = inotify_add_watch(instance, path, events)
            if watch >= 0 { watches[path] = watch }
        }
        let kept = Set(watches.values).union(keeping)
        for stale in Set(old.values) where !kept.contains(stale) { inotify_rm_watch(instance, stale) }
        return watches
    }

    /// Reads the pending write events; returns whether there was any. Rotation events are left
    /// for the waits, which poll at once for them.
    @discardableResult
    func drainWrites() -> Bool {
        drain(writeDescriptor) { _, mask, _ in
            // Events were lost: refresh the file watches on the next `follow`.
            if mask & UInt32(IN_Q_OVERFLOW) != 0 { self.directoryChanged = true }
            return false
        }.events
    }

    /// Reads the pending rotation events; returns whether any could concern a log: a name a
    /// pattern could match (or one of its rotated names), a followed file moved or deleted, a
    /// directory gone, or events lost.
    func drainRotations() -> Bool {
        drain(rotationDescriptor, recordRotation).concerning
    }

    private func recordRotation(watch: CInt, mask: UInt32, name: UnsafeRawBufferPointer) -> Bool {
        if mask & UInt32(IN_Q_OVERFLOW) != 0 {
            directoryChanged = true
            return true
        }
        guard let directory = directoryWatches[watch] else {
            // A followed file's own move or deletion.
            return mask & Self.fileRotationEvents != 0
        }
        if mask & UInt32(IN_IGNORED) != 0 {
            // The directory was removed or replaced: poll on the interval until it is back.
            directoryWatches[watch] = nil
            isComplete = false
            directoryChanged = true
            return true
        }
        guard mask & UInt32(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO) != 0 else { return false }
        directoryChanged = true
        return namePrefixes[directory, default: []].contains { prefix in name.starts(with: prefix) }
    }

    /// Reads one instance's pending events, handing each to `record`, which says whether it
    /// concerns a log.
    private func drain(_ instance: CInt, _ record: (CInt, UInt32, UnsafeRawBufferPointer) -> Bool) -> (events: Bool, concerning: Bool) {
        var any = false
        var concerning = false
        let buffer = events.baseAddress!
        while true {
            let count = Glibc.read(instance, buffer, events.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return (any, concerning) }
            any = true
            var offset = 0
            let header = MemoryLayout<CInt>.size + 3 * MemoryLayout<UInt32>.size
            while offset + header <= count {
                let watch = buffer.loadUnaligned(fromByteOffset: offset, as: CInt.self)
                let mask = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let nameLength = min(Int(buffer.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)), count - offset - header)
                // The name is NUL-padded to its length.
                let padded = UnsafeRawBufferPointer(start: buffer + offset + header, count: nameLength)
                let name = UnsafeRawBufferPointer(rebasing: padded.prefix { $0 != 0 })
                if record(watch, mask, name) { concerning = true }
                offset += header + nameLength
            }
        }
    }

    private func watchDirectories() {
        var complete = true
        for directory in directories {
            let watch = inotify_add_watch(rotationDescriptor, directory, Self.directoryEvents)
            if watch >= 0 { directoryWatches[watch] = directory } else { complete = false }
        }
        isComplete = complete
        directoryChanged = true
    }
}
