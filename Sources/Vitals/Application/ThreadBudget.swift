import CRuntimeTuning
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// How many threads the daemon runs: one event loop and one blocking thread from NIO's shared
/// singletons, instead of one of each per core, and no pool for Swift concurrency beside them.
///
/// vitals' event loop serves a scrape every few seconds, the page and the Redis TLS bridge; its
/// blocking work runs on workers of its own (``WorkerThread``). A second loop only adds wake-ups at
/// rest (its lag probe and timers) on the small servers vitals runs beside. The operator's
/// `NIO_SINGLETON_GROUP_LOOP_COUNT` and `NIO_SINGLETON_BLOCKING_POOL_THREAD_COUNT` still win.
///
/// Process-wide and settable once, before any singleton or task is used, so only the executable
/// calls it.
public enum ThreadBudget {
    public static func applyDaemonDefaults() {
        if getenv("NIO_SINGLETON_GROUP_LOOP_COUNT") == nil {
            NIOSingletons.groupLoopCountSuggestion = 1
        }
        if getenv("NIO_SINGLETON_BLOCKING_POOL_THREAD_COUNT") == nil {
            NIOSingletons.blockingPoolThreadCountSuggestion = 1
        }
        if getenv("VITALS_CONCURRENCY_ON_DISPATCH") == nil {
            runTasksOnTheEventLoop()
        }
        // glibc gives each thread that allocates an arena of its own (up to eight per core), each
        // with its own free pages. vitals' threads allocate little, and one arena measured 0.7 MiB
        // less resident at the same CPU (BENCHMARKS.md, "Cost to run"). Small blocks still come from
        // each thread's cache without the arena's lock. The operator's setting wins.
        if getenv("MALLOC_ARENA_MAX") == nil, getenv("GLIBC_TUNABLES") == nil {
            mallopt(M_ARENA_MAX, 1)
        }
    }

    /// Runs Swift concurrency's global executor on the event loop (the same takeover as NIO's
    /// `unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`, which looks the hook
    /// up with `dlsym` and so finds nothing in the shipped binary, whose symbols are not exported).
    ///
    /// On Linux the global executor is libdispatch's pool: every 15 s round (passes' results, the
    /// findings, the page, the scrape) started two pool threads, which ended again after 5 s idle,
    /// and each job of a task was a hop between a pool thread and the loop. vitals' tasks only wait:
    /// the blocking work is on workers and the timed waits on the loop (``LoopTimer``), so the loop
    /// runs them all. `VITALS_CONCURRENCY_ON_DISPATCH=1` keeps dispatch's pool, to compare
    /// (BENCHMARKS.md, "Cost to run").
    static func runTasksOnTheEventLoop() {
        typealias Original = @convention(thin) (UnownedJob) -> Void
        typealias Hook = @convention(thin) (UnownedJob, Original) -> Void
        guard vitals_enqueue_global_hook() == nil else { return }
        let hook: Hook = { job, _ in
            // `any()` is the current loop when called on one (no hop), else the next.
            MultiThreadedEventLoopGroup.singleton.any().executor.enqueue(ExecutorJob(job))
        }
        vitals_set_enqueue_global_hook(unsafeBitCast(hook, to: UnsafeMutableRawPointer.self))
    }
}
