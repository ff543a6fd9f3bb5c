/// The families the timing-log source feeds. Registering returns the shared family when it
/// exists already, so replays and several sources can share one registry.
public struct TimingLogMetrics: Sendable {
    public let requestDuration: HistogramFamily
    public let requests: CounterFamily
    public let slowRequests: CounterFamily
    public let log: LogReadingMetrics
    public let routes: GaugeFamily
    public let routeOverflow: CounterFamily
    public let eventLoopBlocked: HistogramFamily
    public let eventLoopBlockedTotal: CounterFamily

    /// `vitals_log_*` series carry this as their `source` label.
    public static let sourceLabel = "timing_log"

    public static let blockedBuckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    /// Whether series carry an `input` label: only when several inputs share the families, so a
    /// single log's series keep the labels dashboards already use.
    public let withInput: Bool

    public init(registry: MetricRegistry, buckets: [Double], native: NativeHistogramOptions? = nil, withStatus: Bool, withInput: Bool = false) throws(RegistryError) {
        self.withInput = withInput
        let labels = (withInput ? ["input"] : []) + (withStatus ? ["method", "route", "status_class"] : ["method", "route"])
        requestDuration = try registry.histogram(
            "http_request_duration_seconds", help: "Duration of HTTP requests as the application's timing log reports them.",
            labels: labels, buckets: buckets, native: native)
        requests = try registry.counter("http_requests_total", help: "HTTP requests seen in the application's timing log.", labels: labels)
        slowRequests = try registry.counter(
            "http_slow_requests_total", help: "HTTP requests slower than the configured slow threshold.", labels: labels)
        log = try LogReadingMetrics(registry: registry, source: Self.sourceLabel)
        routes = try registry.gauge(
            "vitals_timing_log_routes", help: "Distinct routes tracked, bounded by --timing-log.max-routes.", labels: withInput ? ["input"] : [])
        routeOverflow = try registry.counter(
            "vitals_timing_log_route_overflow_total", help: "Requests counted under route=\"__other__\" because the route cap was reached.")
        eventLoopBlocked = try registry.histogram(
            "app_event_loop_blocked_seconds", help: "How long asyncio reported the application's event loop blocked by one task (debug mode).",
            buckets: Self.blockedBuckets)
        eventLoopBlockedTotal = try registry.counter(
            "app_event_loop_blocked_total", help: "asyncio slow-callback warnings seen in the application's log.")
        routeOverflow.initialize([])
        eventLoopBlockedTotal.initialize([])
    }
}
