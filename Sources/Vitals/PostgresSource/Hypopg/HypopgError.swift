/// Why one hypopg estimate failed. Carries a fixed code and the SQLSTATE only, never the server's
/// message: a syntax or type error quotes the statement (`at or near "'secret'"`), and the
/// statement may hold literals.
public struct HypopgError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible, CaseIterable {
        private enum Base: String, CaseIterable {
            case statement, index, plan, timeout, permission, connection
        }
        private let base: Base
        /// EXPLAIN of the sampled statement failed (it no longer plans, a parameter's type is unknown…).
        public static let statement = Code(base: .statement)
        /// `hypopg_create_index` refused the suggested index.
        public static let index = Code(base: .index)
        /// EXPLAIN's output had no total cost vitals could read.
        public static let plan = Code(base: .plan)
        /// statement_timeout, lock_timeout or vitals' own deadline.
        public static let timeout = Code(base: .timeout)
        public static let permission = Code(base: .permission)
        /// The session broke; the next pass reconnects.
        public static let connection = Code(base: .connection)
        public static var allCases: [Code] { Base.allCases.map { Code(base: $0) } }
        /// The `reason` label value.
        public var description: String { base.rawValue }
    }

    public let code: Code
    public let sqlState: String?

    public init(_ code: Code, sqlState: String? = nil) {
        self.code = code
        self.sqlState = sqlState
    }

    /// Classifies a failure of step `code`; the server's message is dropped here.
    init(_ error: PostgresError, during code: Code) {
        switch error.code {
        case .timeout: self.init(.timeout, sqlState: error.sqlState)
        case .permission: self.init(.permission, sqlState: error.sqlState)
        case .connect, .connectionLost, .cancelled, .auth: self.init(.connection, sqlState: error.sqlState)
        default: self.init(code, sqlState: error.sqlState)
        }
    }

    public var description: String {
        let text: String
        switch code {
        case .statement: text = "hypopg estimate: EXPLAIN of the sampled statement failed"
        case .index: text = "hypopg estimate: the hypothetical index could not be created"
        case .plan: text = "hypopg estimate: EXPLAIN returned no readable cost"
        case .timeout: text = "hypopg estimate: timed out"
        case .permission: text = "hypopg estimate: permission denied"
        default: text = "hypopg estimate: the connection was lost"
        }
        return sqlState.map { "\(text) (SQLSTATE \($0))" } ?? text
    }

    var sourceReason: SourceErrorReason {
        switch code {
        case .timeout: .timeout
        case .permission: .permission
        case .connection: .connect
        default: .query
        }
    }
}
