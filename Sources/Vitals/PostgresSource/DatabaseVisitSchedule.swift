/// Which of the other databases a slow pass visits for their per-table statistics.
///
/// Each visit to another database is two connection setups (its own, and the main connection's
/// afterwards, since a target holds one connection at a time), each a TCP handshake, a startup and a
/// SCRAM exchange whose 4,096 rounds of HMAC are most of the slow pass's CPU. The database most
/// servers have besides the application's, `postgres`, usually holds no user table at all. So a
/// database that had none when last visited is visited again only every `emptyRevisitEvery` slow
/// passes; one with tables, every pass. Skipping loses nothing: a database without tables has no
/// per-table series. A table created there shows within `emptyRevisitEvery` slow intervals.
///
/// A pure value, owned by the target's worker; it remembers only the databases it was last given,
/// so its size is bounded by `--postgres.databases.limit`.
struct DatabaseVisitSchedule: Sendable, Equatable {
    static let defaultEmptyRevisitEvery = 10

    let emptyRevisitEvery: Int
    /// Slow passes left to skip, per database found empty.
    private var skipsLeft: [String: Int] = [:]

    init(emptyRevisitEvery: Int = Self.defaultEmptyRevisitEvery) {
        self.emptyRevisitEvery = max(1, emptyRevisitEvery)
    }

    /// The databases to visit in this pass, in the order given. Counts the pass for the others,
    /// and forgets databases no longer listed (dropped, or filtered out by a reload).
    mutating func due(_ databases: [String]) -> [String] {
        let listed = Set(databases)
        skipsLeft = skipsLeft.filter { listed.contains($0.key) }
        var visit: [String] = []
        for database in databases {
            if let left = skipsLeft[database], left > 0 {
                skipsLeft[database] = left - 1
            } else {
                visit.append(database)
            }
        }
        return visit
    }

    /// Records what a visit found.
    mutating func visited(_ database: String, userTables: Int) {
        skipsLeft[database] = userTables == 0 ? emptyRevisitEvery - 1 : nil
    }

    /// A visit failed (a timeout, a refused role): try again on the next pass.
    mutating func failed(_ database: String) {
        skipsLeft[database] = nil
    }
}
