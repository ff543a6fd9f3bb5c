import Glibc

/// Tells a log source's polling thread that one of its logs may have changed, so an idle log
/// costs one wake-up per idle timeout instead of one per poll interval.
///
/// inotify watches the directory each path pattern names (files created, renamed or deleted:
/// rotation) and every file being followed (written or truncated, also when the file is reached
/// through a symlink into another directory). Writes to other files in the directory are not
/// watched: a busy neighbour (the app's error log, another service's access log) must not wake
/// the thread. It only wakes the thread: what changed is still found by the tailer's poll, so a
/// missed or merged event costs latency (up to the idle timeout), never lines.
final class LogChangeWatch: @unchecked Sendable {  // used by one polling thread at a time
    let descriptor: CInt
    private let directories: [String]
    private var directoryWatches: Set<CInt> = []
    private var fileWatches: [String: CInt] = [:]
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
    /// A followed file moved or deleted (rotated in the directory a symlink points into, which is
    /// not watched) is reported too.
    private static let fileEvents = UInt32(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVE_SELF | IN_DELETE_SELF)

    /// Nil when a pattern's directory part holds glob characters (which directories to watch would
    /// change as they match) or inotify is not available: the source then polls on its interval.
    init?(patterns: [String]) {
        var directories: [String] = []
        for pattern in patterns {
            let directory = Self.directory(of: pattern)
            guard !TailSystemCalls.hasGlobMagic(directory) else { return nil }
            if !directories.contains(directory) { directories.append(directory) }
        }
        let descriptor = inotify_init1(CInt(IN_CLOEXEC | IN_NONBLOCK))
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
        self.directories = directories
        watchDirectories()
    }

    deinit {
        Glibc.close(descriptor)
        events.deallocate()
    }

    static func directory(of pattern: String) -> String {
        guard let slash = pattern.lastIndex(of: "/") else { return "." }
        return slash == pattern.startIndex ? "/" : String(pattern[..<slash])
    }

    /// Watches the files the tailer follows now and retries missing directory watches. Cheap
    /// when nothing changed: no system call unless the followed files or a directory did.
    func follow(_ paths: [String], hasRotatedFiles: Bool) {
        isSettled = !hasRotatedFiles
        if !isComplete { watchDirectories() }
        guard paths != followedPaths || directoryChanged else { return }
        followedPaths = paths
        directoryChanged = false
        var watches: [String: CInt] = [:]
        for path in paths {
            // Adding a watch on an inode already watched returns its descriptor again.
            let watch = inotify_add_watch(descriptor, path, Self.fileEvents)
            if watch >= 0 { watches[path] = watch }
        }
        let kept = Set(watches.values).union(directoryWatches)
        for old in Set(fileWatches.values) where !kept.contains(old) { inotify_rm_watch(descriptor, old) }
        fileWatches = watches
    }

    /// Reads every pending event; returns whether there was any.
    @discardableResult
    func drain() -> Bool {
        var any = false
        let buffer = events.baseAddress!
        while true {
            let count = Glibc.read(descriptor, buffer, events.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return any }
            any = true
            var offset = 0
            let header = MemoryLayout<CInt>.size + 3 * MemoryLayout<UInt32>.size
            while offset + header <= count {
                let watch = buffer.loadUnaligned(fromByteOffset: offset, as: CInt.self)
                let mask = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let nameLength = Int(buffer.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                record(watch: watch, mask: mask)
                offset += header + nameLength
            }
        }
    }

    private func record(watch: CInt, mask: UInt32) {
        if mask & UInt32(IN_Q_OVERFLOW) != 0 {
            directoryChanged = true
            return
        }
        guard directoryWatches.contains(watch) else { return }
        if mask & UInt32(IN_IGNORED) != 0 {
            // The directory was removed or replaced: poll on the interval until it is back.
            directoryWatches.remove(watch)
            isComplete = false
        }
        if mask & UInt32(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_IGNORED) != 0 { directoryChanged = true }
    }

    private func watchDirectories() {
        var complete = true
        for directory in directories {
            let watch = inotify_add_watch(descriptor, directory, Self.directoryEvents)
            if watch >= 0 { directoryWatches.insert(watch) } else { complete = false }
        }
        isComplete = complete
        directoryChanged = true
    }
}
