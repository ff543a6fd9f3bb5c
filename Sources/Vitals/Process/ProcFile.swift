#if canImport(Glibc)
import Glibc
#endif

/// Reads a /proc file to its end.
///
/// A proc file reports a size of 0 and hands out at most a page per read(2), so a reader that
/// trusts the size, or stops after one read, gets the first 4 KiB: Foundation's
/// `String(contentsOfFile:)` returned 27 of 1,003 lines of `/proc/net/tcp`. `/proc/stat` passes a
/// page on a machine with many CPUs and interrupts, and its `btime` line comes after those.
enum ProcFile {
    /// nil when the file cannot be opened; what was read before an error otherwise.
    static func read(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// How many entries a directory holds, `.` and `..` left out (`/proc/self/fd`: the open
    /// descriptors); nil when it cannot be opened. Counted as readdir(3) hands them out: a listing
    /// of names would make a string of each, at every scrape.
    static func entryCount(of directory: String) -> Int? {
        guard let handle = opendir(directory) else { return nil }
        defer { closedir(handle) }
        var count = 0
        while let entry = readdir(handle) {
            let isDotOrDotDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDotOrDotDot { count += 1 }
        }
        return count
    }
}
