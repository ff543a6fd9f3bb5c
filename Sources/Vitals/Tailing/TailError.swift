/// A problem following a pattern or a file.
///
/// Carries the path so an operator can tell which of several globbed files is stuck, and the
/// system error text so the cause can be acted on without reproducing it.
public struct TailError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case notFound
            case permissionDenied
            case readFailed
            case tooManyFiles
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// A pattern matches no regular file (yet). `path` is the pattern.
        public static let notFound = Code(.notFound)
        /// A matching file, or a directory on the way to it, cannot be read; retried every poll.
        public static let permissionDenied = Code(.permissionDenied)
        /// Any other failure to expand, stat, open or read; retried every poll.
        public static let readFailed = Code(.readFailed)
        /// More files match than ``LogTailer/Configuration/maxFiles`` (or the process ran out of
        /// file descriptors); the excess is not followed until slots free up.
        public static let tooManyFiles = Code(.tooManyFiles)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The file or directory concerned; for ``Code/notFound`` the pattern that matched nothing.
    public var path: String
    public var detail: String

    public init(code: Code, path: String, detail: String) {
        self.code = code
        self.path = path
        self.detail = detail
    }

    public var description: String { "\(code) \(path): \(detail)" }
}
