import ServiceLifecycle
import Logging
import NIOConcurrencyHelpers

/// Why a multi-target request (`/probe`, `/scrape`) was refused (HTTP 400). Fixed texts: a message
/// never quotes the target, which may hold a password.
public struct ProbeTargetError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable {
        private enum Base { case missingTarget, invalidTarget, passwordInTarget, unknownAuthModule }
        private let base: Base
        public static let missingTarget = Code(base: .missingTarget)
        public static let invalidTarget = Code(base: .invalidTarget)
        public static let passwordInTarget = Code(base: .passwordInTarget)
        public static let unknownAuthModule = Code(base: .unknownAuthModule)
    }

    /// What the sentences say of one source's targets.
    public struct Wording: Sendable, Equatable {
        /// The forms a target may take.
        let forms: String
        /// What a target that does not parse is not.
        let invalid: String
        let modulesFlag: String

        public static let postgres = Wording(
            forms: "a connection string or host:port/database", invalid: "a connection string libpq can parse, nor host:port/database",
            modulesFlag: "--postgres.auth-modules-file")
        public static let redis = Wording(
            forms: "redis://host:port, rediss://host:port, host:port or unix:///path", invalid: "a Redis address",
            modulesFlag: "--redis.auth-modules-file")
    }

    public let code: Code
    let wording: Wording

    public init(_ code: Code, _ wording: Wording) {
        self.code = code
        self.wording = wording
    }

    public var description: String {
        switch code {
        case .missingTarget: "the 'target' parameter must be given (\(wording.forms))"
        case .invalidTarget: "the 'target' parameter is not \(wording.invalid)"
        case .passwordInTarget:
            "the 'target' parameter must not carry a password: put the credentials in an auth module (\(wording.modulesFlag)) and pass auth_module"
        default: "no such auth_module in \(wording.modulesFlag)"
        }
    }
}

/// The settings every multi-target endpoint shares (`/probe` for Postgres, `/scrape` for Redis).
public struct ProbeConfiguration: Sendable, Equatable {
    public static let keys: [ConfigurationKey] = [
        ConfigurationKey("probe.enabled", .bool, default: .bool(true), help: "Serve the multi-target endpoints (/probe for Postgres)."),
        ConfigurationKey(
            "probe.idle-timeout", .duration, default: .duration(.seconds(300)),
            help: "A probed target not probed for this long has its connection closed."),
        ConfigurationKey("probe.max-targets", .int, default: .int(32), help: "Probed targets kept open at once; past it the least recently probed is closed."),
        ConfigurationKey(
            "probe.default-timeout", .duration, default: .duration(.seconds(10)),
            help: "A probe's budget when the scrape sends no X-Prometheus-Scrape-Timeout-Seconds header."),
        ConfigurationKey(
            "probe.timeout-offset", .duration, default: .duration(.milliseconds(500)),
            help: "Taken off the scrape's timeout, so the answer reaches Prometheus before it gives up."),
    ]

    public var enabled: Bool
    public var idleTimeout: Duration
    public var maxTargets: Int
    public var defaultTimeout: Duration
    public var timeoutOffset: Duration

    public init(values: ConfigurationValues) throws(ConfigurationError) {
        enabled = values.value("probe.enabled") == nil || values.bool("probe.enabled")
        idleTimeout = values.duration("probe.idle-timeout") ?? .seconds(300)
        maxTargets = values.int("probe.max-targets") ?? 32
        defaultTimeout = values.duration("probe.default-timeout") ?? .seconds(10)
        timeoutOffset = values.duration("probe.timeout-offset") ?? .milliseconds(500)
        guard idleTimeout >= .seconds(1) else { throw ConfigurationError(.invalidValue, key: "probe.idle-timeout", "must be at least 1s") }
        guard (1...10_000).contains(maxTargets) else { throw ConfigurationError(.invalidValue, key: "probe.max-targets", "must be between 1 and 10000") }
        guard defaultTimeout >= .milliseconds(100) else { throw ConfigurationError(.invalidValue, key: "probe.default-timeout", "must be at least 100ms") }
        guard timeoutOffset >= .zero else { throw ConfigurationError(.invalidValue, key: "probe.timeout-offset", "must not be negative") }
    }

    /// The time one probe may take: the scrape's timeout (header) less the offset, or the default
    /// less the offset; never under 100 ms, so a tiny or garbled header still gets a real attempt.
    public func budget(scrapeTimeoutHeader: String?) -> Duration {
        var timeout = defaultTimeout
        if let header = scrapeTimeoutHeader?.trimmingCharacters(in: .spaceAndTab), let seconds = Double(header), seconds.isFinite, seconds > 0 {
            timeout = .milliseconds(Int64(min(seconds, 3600) * 1000))
        }
        return max(.milliseconds(100), timeout - timeoutOffset)
    }

    public static let scrapeTimeoutHeader = "x-prometheus-scrape-timeout-seconds"
}

/// One probed target kept between probes: its connection and the worker thread it runs on.
protocol ProbeTarget: AnyObject, Sendable {
    /// Closes the connection on the target's worker thread and ends the thread. Awaits, never blocks.
    func close() async
}

/// The probed targets kept open, keyed by target and auth module: at most `capacity`, the least
/// recently used closed first when a new one needs room, and any not used for `idleTimeout` closed
/// by ``reap(now:)``. Closing happens outside the lock, on the target's own thread.
final class ProbeTargetCache<Target: ProbeTarget>: Sendable {
    private struct Entry {
        let target: Target
        var lastUsed: ContinuousClock.Instant
    }

    /// The entries and the reaper waiting for the first of them, under one lock, so a target
    /// added while the reaper starts to wait cannot be missed.
    private struct State {
        var entries: [String: Entry] = [:]
        var waiting: [CheckedContinuation<Void, Never>] = []

        /// The waiting reapers, for the caller to resume outside the lock.
        mutating func takeWaiting() -> [CheckedContinuation<Void, Never>] {
            defer { waiting = [] }
            return waiting
        }
    }

    let capacity: Int
    let idleTimeout: Duration
    private let state = NIOLockedValueBox(State())

    init(capacity: Int, idleTimeout: Duration) {
        self.capacity = capacity
        self.idleTimeout = idleTimeout
    }

    var count: Int { state.withLockedValue { $0.entries.count } }

    func contains(_ key: String) -> Bool { state.withLockedValue { $0.entries[key] != nil } }

    /// Returns once the cache holds a target (at once if it does), or once the task is cancelled:
    /// the reaper's timer then runs only while there is something to reap. A cancellation also
    /// ends any other task's wait, which then finds nothing to reap.
    func waitForTargets() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLockedValue { state -> Bool in
                    // Checked under the lock: a cancellation after it finds the continuation stored.
                    guard state.entries.isEmpty, !Task.isCancelled else { return true }
                    state.waiting.append(continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            for reaper in state.withLockedValue({ $0.takeWaiting() }) { reaper.resume() }
        }
    }

    /// What ``target(for:now:make:)`` pushed out, for the caller to close.
    struct Evicted {
        /// Not used for `idleTimeout`.
        var idle: [Target] = []
        /// The least recently used, to make room under the cap.
        var displaced: [Target] = []
        var all: [Target] { idle + displaced }
    }

    /// The target for `key`, made with `make` when there is none; marks it used until `until` (the
    /// probe's deadline, so a target is idle from the latest its probe can end, and one in the
    /// middle of a long pass is never closed as idle). Returns the targets pushed out (idle ones,
    /// then the least recently used past the cap), for the caller to close.
    func target(
        for key: String, now: ContinuousClock.Instant = .now, until: ContinuousClock.Instant? = nil, make: () -> Target
    ) -> (Target, evicted: Evicted) {
        let used = max(now, until ?? now)
        let (target, evicted, waiting) = state.withLockedValue { state in
            var evicted = Evicted(idle: Self.removeIdle(&state.entries, now: now, idleTimeout: idleTimeout, keeping: key))
            if var entry = state.entries[key] {
                entry.lastUsed = max(entry.lastUsed, used)
                state.entries[key] = entry
                return (entry.target, evicted, [CheckedContinuation<Void, Never>]())
            }
            while state.entries.count >= capacity, let oldest = state.entries.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                state.entries[oldest.key] = nil
                evicted.displaced.append(oldest.value.target)
            }
            let target = make()
            state.entries[key] = Entry(target: target, lastUsed: used)
            return (target, evicted, state.takeWaiting())
        }
        for reaper in waiting { reaper.resume() }
        return (target, evicted)
    }

    /// Removes the targets idle for `idleTimeout`; returns them for the caller to close.
    func reap(now: ContinuousClock.Instant = .now) -> [Target] {
        state.withLockedValue { Self.removeIdle(&$0.entries, now: now, idleTimeout: idleTimeout, keeping: nil) }
    }

    /// Removes every target (shutdown, or new credentials); returns them for the caller to close.
    func removeAll() -> [Target] {
        state.withLockedValue { state in
            defer { state.entries = [:] }
            return state.entries.values.map(\.target)
        }
    }

    private static func removeIdle(_ entries: inout [String: Entry], now: ContinuousClock.Instant, idleTimeout: Duration, keeping: String?) -> [Target] {
        let idle = entries.filter { $0.key != keeping && now - $0.value.lastUsed >= idleTimeout }
        for key in idle.keys { entries[key] = nil }
        return idle.values.map(\.target)
    }
}

extension ProbeTargetCache {
    /// Closes `targets` without making the caller wait: each closes on its own worker thread.
    static func close(_ targets: [Target]) {
        for target in targets { Task { await target.close() } }
    }
}

/// Runs one probe's pass on a target's worker, racing the probe's deadline: returns what the pass
/// collected, or nil when the deadline came first. The caller is answered at the deadline even if
/// the pass cannot be stopped at once: the pass is aborted and finishes on its own thread, and a
/// later probe of the same target waits behind it, with its own deadline.
func runProbePass(source: any CollectingSource, worker: WorkerThread, deadline: ContinuousClock.Instant) async -> CollectedPass? {
    // The pass stops a little before the answer is due, so that a pass cut short in its slow part
    // still hands over what its fast part collected instead of losing the race to the timer.
    let headroom = min(Duration.milliseconds(200), (deadline - .now) / 5)
    let pass = CollectionPass(deadline: deadline - headroom, limit: deadline - headroom)
    let waiting = NIOLockedValueBox<CheckedContinuation<CollectedPass?, Never>?>(nil)
    /// Answers the caller once; whether this call was the one that did.
    @Sendable func answer(_ collected: CollectedPass?) -> Bool {
        guard let continuation = waiting.withLockedValue({ value in defer { value = nil }; return value }) else { return false }
        continuation.resume(returning: collected)
        return true
    }
    return await withCheckedContinuation { continuation in
        waiting.withLockedValue { $0 = continuation }
        let timer = Task {
            guard (try? await LoopTimer.sleep(until: deadline)) != nil else { return }
            if answer(nil) { source.abort() }
        }
        Task {
            let collected = await worker.run { source.collect(pass) }
            timer.cancel()
            _ = answer(collected ?? nil)
        }
    }
}

/// vitals' own view of its multi-target endpoints, on `/metrics`: how many targets are open, how
/// probes ended, and why targets were closed. Labels are fixed sets (endpoint, result, reason),
/// never a target: those are Prometheus' to label.
struct ProbeMetrics: Sendable {
    enum Result: String, CaseIterable {
        /// The target answered (`*_up 1`).
        case up
        /// It failed within the budget (refused, wrong password, lost): `*_up 0`.
        case down
        /// The budget ran out first: `*_up 0`, the pass aborted.
        case timeout
        /// The request was refused with 400 (no target, a password in it, an unknown auth_module).
        case refused
    }

    enum CloseReason: String, CaseIterable {
        case idle, capacity, reload
    }

    let endpoint: String
    private let targets: GaugeFamily
    private let requests: CounterFamily
    private let closed: CounterFamily

    init(registry: MetricRegistry, endpoint: String) throws {
        self.endpoint = endpoint
        targets = try registry.gauge(
            "vitals_probe_targets", help: "Targets of a multi-target endpoint (/probe, /scrape) with an open connection kept between probes.",
            labels: ["endpoint"])
        requests = try registry.counter(
            "vitals_probe_requests_total", help: "Requests to a multi-target endpoint, by how they ended (up, down, timeout, refused).",
            labels: ["endpoint", "result"])
        closed = try registry.counter(
            "vitals_probe_targets_closed_total", help: "Probed targets closed, by why (idle, capacity, reload).", labels: ["endpoint", "reason"])
        targets.set([endpoint], to: 0)
        for result in Result.allCases { requests.initialize([endpoint, result.rawValue]) }
        for reason in CloseReason.allCases { closed.initialize([endpoint, reason.rawValue]) }
    }

    func record(_ result: Result) { requests.increment([endpoint, result.rawValue]) }

    func closed(_ count: Int, _ reason: CloseReason) {
        if count > 0 { closed.increment([endpoint, reason.rawValue], by: Double(count)) }
    }

    func open(_ count: Int) { targets.set([endpoint], to: Double(count)) }
}

/// A probed target whose pass runs on a worker thread of its own, as a configured target's does.
protocol PassProbeTarget: ProbeTarget {
    associatedtype Passes: CollectingSource
    var passes: Passes { get }
    var worker: WorkerThread { get }
    /// host:port (or the socket), for debug logs; never a password.
    var label: String { get }
    /// The answer when the pass did not come back within the budget (`*_up 0`).
    var downFamilies: [FamilySnapshot] { get }
    /// Families served with every answer besides the pass's (Redis: its slowlog histogram).
    func extraFamilies() -> [FamilySnapshot]
}

extension PassProbeTarget {
    func extraFamilies() -> [FamilySnapshot] { [] }

    func probe(deadline: ContinuousClock.Instant) async -> CollectedPass? {
        await runProbePass(source: passes, worker: worker, deadline: deadline)
    }

    func close() async {
        let passes = self.passes
        passes.abort()
        _ = await worker.run { passes.close() }
        await worker.shutdown()
    }
}

/// `/probe` and `/scrape`: what each endpoint supplies (its target type, how a request's target
/// and auth module become one); the answer, the cache, the auth modules' reload and the reaper's
/// work are the same for both, in the extension below.
protocol ProbeEndpoint: AnyObject, Sendable {
    associatedtype Target: PassProbeTarget
    var probe: ProbeConfiguration { get }
    var cache: ProbeTargetCache<Target> { get }
    var modules: NIOLockedValueBox<[String: ProbeAuthModule]> { get }
    /// Nil in tests that drive the endpoint directly.
    var metrics: ProbeMetrics? { get }
    var logger: Logger { get }
    /// How debug logs name the endpoint ("postgres probe", "redis scrape").
    var logName: String { get }
    func respond(_ request: SourceEndpoints.Request) async -> SourceEndpoints.Response
}

extension ProbeEndpoint {
    /// One request: the auth module and target checked (400 with the endpoint's error if not), the
    /// target found in the cache or opened (closing what the cap or idleness evicts), its pass run
    /// within the scrape's budget, and the metrics in the format and encoding the scraper accepts
    /// (text, OpenMetrics or protobuf with native histograms; gzip), as `/metrics`. `resolve` gets the URL's
    /// `target` and the named module, and returns how to open the target (called only on a miss).
    func answer(
        _ request: SourceEndpoints.Request, unknownModule: some Error & CustomStringConvertible,
        resolve: (_ target: String?, _ module: ProbeAuthModule?) throws -> () -> Target
    ) async -> SourceEndpoints.Response {
        let start = ContinuousClock.now
        let deadline = start + probe.budget(scrapeTimeoutHeader: request.headers[ProbeConfiguration.scrapeTimeoutHeader])
        let moduleName = request.query["auth_module"].flatMap { $0.isEmpty ? nil : $0 }
        let open: () -> Target
        do {
            var module: ProbeAuthModule?
            if let moduleName {
                guard let known = modules.withLockedValue({ $0[moduleName] }) else { throw unknownModule }
                module = known
            }
            open = try resolve(request.query["target"], module)
        } catch {
            metrics?.record(.refused)
            return SourceEndpoints.Response(status: 400, contentType: "text/plain; charset=utf-8", body: "\(error)\n")
        }
        // Keyed by what the URL said plus the module: the cache never holds a password of its own making.
        let key = (request.query["target"] ?? "") + "\u{0}" + (moduleName ?? "")
        let (target, evicted) = cache.target(for: key, until: deadline, make: open)
        ProbeTargetCache.close(evicted.all)
        metrics?.closed(evicted.idle.count, .idle)
        metrics?.closed(evicted.displaced.count, .capacity)
        metrics?.open(cache.count)
        var families: [FamilySnapshot]
        if let collected = await target.probe(deadline: deadline) {
            families = collected.families
            if let failure = collected.outcome.failure {
                metrics?.record(failure.reason == .timeout ? .timeout : .down)
                logger.debug("\(logName) down", metadata: ["target": "\(target.label)", "reason": "\(failure.reason.rawValue)"])
            } else {
                metrics?.record(.up)
            }
        } else {
            metrics?.record(.timeout)
            families = target.downFamilies
            logger.debug(
                "\(logName) overran its deadline", metadata: ["target": "\(target.label)", "budget": "\(DurationParser.format(deadline - start))"])
        }
        families += target.extraFamilies()
        let exposition = ExpositionAnswer(
            families, format: ExpositionFormat.negotiate(accept: request.headers["accept"]), acceptEncoding: request.headers["accept-encoding"])
        return SourceEndpoints.Response(contentType: exposition.format.contentType, contentEncoding: exposition.contentEncoding, bytes: exposition.body)
    }

    /// Serves the endpoint at `path`, re-reads the auth modules file (if any) on SIGHUP, and returns
    /// the service that closes idle targets while the daemon runs and every target at its end.
    func serve(
        at path: String, summary: String, serviceName: String, modulesFile: (key: String, path: String)?,
        load: @escaping @Sendable (String) throws(ConfigurationError) -> [String: ProbeAuthModule], context: SourceContext
    ) -> ProbeReaperService<Self> {
        context.endpoints.registerAsync(path: path, summary: summary) { request in await self.respond(request) }
        if let modulesFile {
            // An unreadable or invalid file throws: the old modules stay, and the reload gauge says so.
            context.reloads.onReload(modulesFile.key) { self.reload(modules: try load(modulesFile.path)) }
        }
        return ProbeReaperService(name: serviceName, endpoint: self)
    }

    /// New credentials (SIGHUP): every open target is closed, so the next probe connects with them.
    func reload(modules new: [String: ProbeAuthModule]) {
        let changed = modules.withLockedValue { current in
            defer { current = new }
            return current != new
        }
        guard changed else { return }
        let targets = cache.removeAll()
        metrics?.closed(targets.count, .reload)
        metrics?.open(0)
        ProbeTargetCache.close(targets)
    }

    /// Closes the targets idle too long.
    func reap() {
        let idle = cache.reap()
        metrics?.closed(idle.count, .idle)
        metrics?.open(cache.count)
        ProbeTargetCache.close(idle)
    }

    func closeAll() async {
        for target in cache.removeAll() { await target.close() }
    }
}

/// Keeps a probe endpoint's cache tidy while the daemon runs: closes idle targets (its timer runs
/// only while some are open), and every target at shutdown. A service of its own so that it ends
/// with the daemon; its status is not on `/ready` (probed targets are Prometheus' to judge, through
/// `pg_up` and `redis_up`).
final class ProbeReaperService<Endpoint: ProbeEndpoint>: VitalsSource {
    let name: String
    let status: SourceStatus
    let endpoint: Endpoint

    init(name: String, endpoint: Endpoint) {
        self.name = name
        self.status = SourceStatus(source: name)
        self.endpoint = endpoint
    }

    func run() async throws {
        let period = min(Duration.seconds(30), endpoint.probe.idleTimeout / 4)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                // No timer while no target is open: most daemons never serve a probe.
                await self.endpoint.cache.waitForTargets()
                guard (try? await LoopTimer.sleep(for: period, periodic: true)) != nil else { break }
                self.endpoint.reap()
            }
        }
        await endpoint.closeAll()
    }
}
