import Logging
import ServiceLifecycle
import UnixSignals

/// What sources re-read on SIGHUP: secrets from `_FILE` variables (`DATA_SOURCE_NAME_FILE`,
/// `REDIS_PASSWORD_FILE`), so a rotated password is picked up without a restart.
public final class ReloadHandlers: Sendable {
    private let handlers = Locked<[@Sendable () -> Void]>([])

    public init() {}

    public func onReload(_ handler: @escaping @Sendable () -> Void) {
        handlers.withLock { $0.append(handler) }
    }

    /// Runs every handler; they must be quick (re-read a small file, flag a reconnect).
    public func reload() {
        for handler in handlers.withLock({ $0 }) { handler() }
    }
}

/// Turns SIGHUP into ``ReloadHandlers/reload()``, as systemd's `ExecReload=kill -HUP` expects.
struct ReloadSignalService: Service {
    let handlers: ReloadHandlers
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                logger.info("SIGHUP: reloading secrets from files")
                handlers.reload()
            }
        }
    }
}
