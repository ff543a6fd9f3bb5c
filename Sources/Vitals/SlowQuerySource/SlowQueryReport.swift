import NIOConcurrencyHelpers

/// What `GET /slow-queries` shows: the tracked fingerprints ranked by total time or count.
public struct SlowQueryReport: Sendable, Equatable {
    public static let defaultLimit = 50
    public static let maxLimit = 500

    public var byTotal: [SlowQueryStats]
    public var byCount: [SlowQueryStats]
    public var tracked: Int

    public init(byTotal: [SlowQueryStats] = [], byCount: [SlowQueryStats] = [], tracked: Int = 0) {
        self.byTotal = byTotal
        self.byCount = byCount
        self.tracked = tracked
    }

    public init(aggregator: SlowQueryAggregator) {
        self.init(
            byTotal: aggregator.top(order: .total, limit: Self.maxLimit), byCount: aggregator.top(order: .count, limit: Self.maxLimit),
            tracked: aggregator.table.count)
    }

    /// The response for a query string: `order=total|count` (default total), `limit=N` (1…500, default 50).
    public func response(query: [String: String]) -> (status: Int, body: String) {
        let orderName = query["order"] ?? "total"
        guard let order = SlowQueryAggregator.Order(rawValue: orderName) else {
            return (400, "{\"error\":\"order must be total or count\"}\n")
        }
        var limit = Self.defaultLimit
        if let text = query["limit"] {
            guard let value = Int(text), value >= 1 else { return (400, "{\"error\":\"limit must be a positive integer\"}\n") }
            limit = min(value, Self.maxLimit)
        }
        return (200, render(order: order, limit: limit))
    }

    public func render(order: SlowQueryAggregator.Order, limit: Int) -> String {
        let list = (order == .total ? byTotal : byCount).prefix(max(0, limit))
        var out = "{\"order\":\(JSONText.quote(order.rawValue)),\"tracked_fingerprints\":\(tracked),\"queries\":["
        for (index, stats) in list.enumerated() {
            if index > 0 { out += "," }
            out += "{\"id\":\(JSONText.quote(stats.id))"
            out += ",\"count\":\(stats.count)"
            out += ",\"total_seconds\":\(Self.number(stats.totalSeconds))"
            out += ",\"mean_seconds\":\(Self.number(stats.meanSeconds))"
            out += ",\"max_seconds\":\(Self.number(stats.maxSeconds))"
            out += ",\"p99_seconds\":\(Self.number(stats.p99Seconds))"
            out += ",\"query\":\(JSONText.quote(stats.text))"
            out += ",\"last_seen\":\(JSONText.quote(SlowQueryTime.iso8601(stats.lastSeen)))"
            out += ",\"database\":\(stats.database.map(JSONText.quote) ?? "null")"
            out += ",\"user\":\(stats.user.map(JSONText.quote) ?? "null")"
            out += ",\"seq_scan_relations\":[\(stats.sequentialScans.map(JSONText.quote).joined(separator: ","))]}"
        }
        return out + "]}\n"
    }

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        return SlowQueryLogLine.seconds(value)
    }
}

/// The latest report, published by the polling thread and read by HTTP handlers.
public final class SlowQueryBoard: Sendable {
    private let report = NIOLockedValueBox(SlowQueryReport())

    public init() {}

    public func publish(_ next: SlowQueryReport) {
        report.withLockedValue { $0 = next }
    }

    public var current: SlowQueryReport { report.withLockedValue { $0 } }
}
