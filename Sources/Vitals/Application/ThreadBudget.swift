import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// How many threads the daemon's shared NIO singletons start: one event loop and one blocking
/// thread, instead of one of each per core.
///
/// vitals' event loops serve a scrape every few seconds, the page and the Redis TLS bridge; its
/// blocking work runs on workers of its own (``WorkerThread``). A second loop only adds wake-ups at
/// rest (its lag probe and timers) on the small servers vitals runs beside. The operator's
/// `NIO_SINGLETON_GROUP_LOOP_COUNT` and `NIO_SINGLETON_BLOCKING_POOL_THREAD_COUNT` still win.
///
/// Process-wide and settable once, before any singleton is used, so only the executable calls it.
public enum ThreadBudget {
    public static func applyDaemonDefaults() {
        if getenv("NIO_SINGLETON_GROUP_LOOP_COUNT") == nil {
            NIOSingletons.groupLoopCountSuggestion = 1
        }
        if getenv("NIO_SINGLETON_BLOCKING_POOL_THREAD_COUNT") == nil {
            NIOSingletons.blockingPoolThreadCountSuggestion = 1
        }
    }
}
