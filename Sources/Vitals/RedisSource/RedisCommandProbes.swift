/// The optional commands vitals sends, and what this connection has learnt about each.
///
/// Managed services and minimal ACL users refuse some of them (`CONFIG`, `LATENCY`, `CLIENT`).
/// redis_exporter sends them anyway on every scrape, and every refusal raises the server's own
/// `total_error_replies`/`errorstat_*` and `rejected_calls`, which fires false alerts (#784, #13).
/// vitals sends each one until the first refusal and then never again on that connection; a new
/// connection probes again, since the server or the user's rights may have changed.
public enum RedisOptionalCommand: String, Sendable, CaseIterable {
    case clientSetName = "client|setname"
    case slowlogLen = "slowlog|len"
    case slowlogGet = "slowlog|get"
    case latencyLatest = "latency|latest"
    case configGet = "config|get"
}

public struct RedisCommandProbes: Sendable, Equatable {
    public private(set) var refused: Set<RedisOptionalCommand> = []

    public init() {}

    public func mayRun(_ command: RedisOptionalCommand) -> Bool { !refused.contains(command) }

    /// Records a reply; returns true when this reply is the refusal that turns the command off.
    @discardableResult
    public mutating func record(_ command: RedisOptionalCommand, reply: RedisReply) -> Bool {
        guard case .error(let message) = reply, RedisErrorReplyKind(reply: message).isPermanentRefusal else { return false }
        return refused.insert(command).inserted
    }
}
