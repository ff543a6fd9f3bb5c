#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// What vitals re-reads on SIGHUP: the web configuration (users, certificates, headers), and
/// secrets from `_FILE` variables (`DATA_SOURCE_NAME_FILE`, `REDIS_PASSWORD_FILE`), so a
/// rotated password or certificate is picked up without a restart.
///
/// A handler registers under a name and throws when its new input is unusable; it then keeps
/// what it had. ``reload()`` runs every handler and returns one ``Result`` each; the reload is
/// successful when all are, which `vitals_config_last_reload_successful` reports (1 or 0) and
/// `vitals_config_last_reload_success_timestamp_seconds` dates, as Prometheus names them.
///
/// ```swift
/// context.reloads.onReload("postgres.dsn-file") {
///     try secret.reread()   // throws: the old DSN stays, the gauge goes to 0
/// }
/// ```
public final class ReloadHandlers: Sendable {
    public struct Result: Sendable {
        public let name: String
        /// Why the handler failed (never a secret); nil on success.
        public let error: String?
    }

    private let handlers = NIOLockedValueBox<[(name: String, handler: @Sendable () throws -> Void)]>([])

    public init() {}

    /// Registers a handler; it runs on a thread-pool thread and may read small files.
    public func onReload(_ name: String, _ handler: @escaping @Sendable () throws -> Void) {
        handlers.withLockedValue { $0.append((name, handler)) }
    }

    /// A handler that cannot fail.
    public func onReload(_ handler: @escaping @Sendable () -> Void) {
        onReload("unnamed", handler)
    }

    /// Runs every handler in registration order. Blocking: call it off the event loops and the
    /// cooperative pool (the signal service uses the shared thread pool).
    public func reload() -> [Result] {
        handlers.withLockedValue { $0 }.map { entry in
            do {
                try entry.handler()
                return Result(name: entry.name, error: nil)
            } catch {
                return Result(name: entry.name, error: "\(error)")
            }
        }
    }
}

/// Turns SIGHUP into ``ReloadHandlers/reload()``, as systemd's `ExecReload=kill -HUP` expects,
/// and reports the outcome in the two reload gauges.
struct ReloadSignalService: Service {
    let handlers: ReloadHandlers
    let logger: Logger
    let successful: GaugeFamily
    let timestamp: GaugeFamily

    init(handlers: ReloadHandlers, registry: MetricRegistry, logger: Logger) throws {
        self.handlers = handlers
        self.logger = logger
        successful = try registry.gauge("vitals_config_last_reload_successful", help: "Whether the last configuration reload (SIGHUP) succeeded.")
        timestamp = try registry.gauge(
            "vitals_config_last_reload_success_timestamp_seconds", help: "Timestamp of the last successful configuration reload (or of the start).")
        successful.set(to: 1)
        timestamp.set(to: Date().timeIntervalSince1970)
    }

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                logger.info("SIGHUP: reloading the web configuration and secrets from files")
                let handlers = self.handlers
                guard let results = try? await NIOThreadPool.singleton.runIfActive({ handlers.reload() }) else { continue }
                record(results)
            }
        }
    }

    func record(_ results: [ReloadHandlers.Result]) {
        let failures = results.filter { $0.error != nil }
        for failure in failures {
            logger.error("reload failed, keeping the previous configuration", metadata: ["part": "\(failure.name)", "error": "\(failure.error ?? "")"])
        }
        successful.set(to: failures.isEmpty ? 1 : 0)
        if failures.isEmpty { timestamp.set(to: Date().timeIntervalSince1970) }
    }
}
