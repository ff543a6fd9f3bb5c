/// Which fast passes read `pg_stat_statements`: one in `every` (`--postgres.statements.interval`),
/// and always the first pass after the target was down, whose publication dropped their series.
///
/// Their ranking statement is the costliest a fast pass asks of the server (about 8 ms with the
/// view full, BENCHMARKS.md, "The statements read one pass in N"), and a user who reads their rates
/// over minutes can have it run less often. In between, their series keep the last read's values,
/// the same storage, so a scrape finds them unchanged at once.
///
/// A pure value, owned by the target's passes. It counts passes rather than reading the clock: a
/// pass that starts a little early on the runner's grid is still counted.
struct StatementsReadSchedule: Sendable, Equatable {
    let every: Int
    /// Fast passes since the last read; nil before the first, and after the target went down.
    private var passesSinceRead: Int?

    init(every: Int) {
        self.every = max(1, every)
    }

    /// Whether this fast pass reads them. Counts the pass.
    mutating func isDue() -> Bool {
        if let since = passesSinceRead, since + 1 < every {
            passesSinceRead = since + 1
            return false
        }
        passesSinceRead = 0
        return true
    }

    /// The next fast pass reads them: the target was down, and its statements' series are gone,
    /// or its connection string changed, and they may be another server's.
    mutating func readOnNextPass() {
        passesSinceRead = nil
    }
}
