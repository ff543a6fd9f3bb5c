/// Turns lines into metrics: parse, template the route, cap cardinality, aggregate.
///
/// Observations accumulate in plain local storage and reach the registry in ``flush()``, once per
/// batch of lines, so the hot path takes no lock per line. One ingester belongs to one thread.
public struct TimingLogIngester: LogLineConsumer {
    public static let otherRoute = LabelLimiter<String>.overflowValue

    private struct SeriesKey: Hashable {
        var method: String
        var route: String
        var statusClass: String?
    }

    private struct Pending {
        var histogram: HistogramAccumulator
        var slow: Int = 0

        mutating func record(_ duration: Double, slow isSlow: Bool) {
            histogram.observe(duration)
            if isSlow { slow += 1 }
        }
    }

    private let parser: any TimingLineParser
    private let templater: RouteTemplater
    private let metrics: TimingLogMetrics
    private let slowThreshold: Double
    private var routes: LabelLimiter<String>
    /// The `input` label's value, when several inputs share the families.
    private let input: String?
    private let statusLabel: Bool

    private var pending: [SeriesKey: Pending] = [:]
    private var blocked: HistogramAccumulator
    private var parsedLines = 0
    private var unparsedLines = 0

    public init(
        parser: any TimingLineParser, routes: [String], declared: [TimingLogConfiguration.DeclaredRoute] = [], maxRoutes: Int, slowThreshold: Double,
        metrics: TimingLogMetrics, input: String? = nil, statusLabel: Bool? = nil
    ) {
        self.parser = parser
        self.input = metrics.withInput ? input ?? "" : nil
        self.statusLabel = statusLabel ?? parser.hasStatus
        self.templater = RouteTemplater(templates: routes)
        self.metrics = metrics
        self.slowThreshold = slowThreshold
        self.routes = LabelLimiter(capacity: maxRoutes)
        self.blocked = metrics.eventLoopBlocked.makeAccumulator()
        // A series born with its first request loses that request to rate() and increase(): the
        // first sample Prometheus sees already holds it. Declared routes are there from the start.
        for declared in declared {
            guard let route = self.routes.admit(declared.route) else { break }
            for statusClass in self.statusLabel ? ["2xx", "4xx", "5xx"] : [nil] {
                let labels = self.labels(SeriesKey(method: declared.method, route: route, statusClass: statusClass))
                metrics.requests.initialize(labels)
                metrics.slowRequests.initialize(labels)
                metrics.requestDuration.merge(labels, metrics.requestDuration.makeAccumulator())
            }
        }
        metrics.routes.set(self.input.map { [$0] } ?? [], to: Double(self.routes.admitted.count))
    }

    public mutating func ingest(_ line: UnsafeRawBufferPointer) {
        switch parser.parse(line) {
        case .request(let record):
            parsedLines += 1
            let key = SeriesKey(
                method: Self.normalizedMethod(record.method),
                route: routes.limit(templater.route(for: record.path)),
                statusClass: statusLabel ? Self.statusClass(record.status) : nil)
            let duration = max(0, record.durationSeconds)
            let isSlow = duration > slowThreshold
            let family = metrics.requestDuration
            // One hash of the key per line: the defaulted subscript mutates the entry in place.
            pending[key, default: Pending(histogram: family.makeAccumulator())].record(duration, slow: isSlow)
        case .eventLoopBlocked(let seconds):
            parsedLines += 1
            blocked.observe(seconds)
        case .unparsed:
            unparsedLines += 1
        }
    }

    mutating func endPoll(_ result: LogTailer.PollResult) {
        flush(oversizedLines: result.oversizedLines)
    }

    /// Moves everything accumulated since the last flush into the registry.
    public mutating func flush(oversizedLines: Int = 0) {
        if !pending.isEmpty {
            let batch = pending.map { (labels($0.key), $0.value) }
            metrics.requestDuration.merge(batch.map { ($0.0, $0.1.histogram) })
            for (labels, value) in batch {
                metrics.requests.increment(labels, by: Double(value.histogram.count))
                if value.slow > 0 { metrics.slowRequests.increment(labels, by: Double(value.slow)) }
                else { metrics.slowRequests.initialize(labels) }
            }
            pending.removeAll(keepingCapacity: true)
        }
        if !blocked.isEmpty {
            metrics.eventLoopBlockedTotal.increment(by: Double(blocked.count))
            metrics.eventLoopBlocked.merge([], blocked)
            blocked = metrics.eventLoopBlocked.makeAccumulator()
        }
        metrics.log.countLines(parsed: parsedLines, unparsed: unparsedLines, oversized: oversizedLines)
        let overflowed = routes.takeOverflowCount()
        if overflowed > 0 { metrics.routeOverflow.increment(by: Double(overflowed)) }
        metrics.routes.set(input.map { [$0] } ?? [], to: Double(routes.admitted.count))
        parsedLines = 0
        unparsedLines = 0
    }

    private func labels(_ key: SeriesKey) -> [String] {
        var labels = input.map { [$0] } ?? []
        labels += [key.method, key.route]
        if let statusClass = key.statusClass { labels.append(statusClass) }
        return labels
    }

    /// Methods come from user data: anything outside the standard set becomes `OTHER` to bound the label.
    static func normalizedMethod(_ method: String) -> String {
        switch method {
        case "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE": return method
        default:
            let upper = method.uppercased()
            switch upper {
            case "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE": return upper
            default: return "OTHER"
            }
        }
    }

    static func statusClass(_ status: Int?) -> String {
        guard let status, (100...599).contains(status) else { return "unknown" }
        return "\(status / 100)xx"
    }
}
