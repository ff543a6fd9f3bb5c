/// Decides which slowlog entries are new since the last pass, so each one is counted exactly once.
///
/// Redis gives every slowlog entry an id that grows for the life of the server process;
/// `SLOWLOG RESET` empties the log but does *not* restart the ids, and only a server restart does.
/// So an entry is new when its id is above the highest id seen on the same server run, and
/// everything in the log is new after a restart (a new `run_id`, or ids that went backwards).
///
/// On the very first look at a server the log's current content is taken as the baseline and not
/// counted: those entries happened before vitals was watching, and counting them would put a
/// burst of old events at vitals' start time (and again at every vitals restart).
public struct RedisSlowlogTracker: Sendable, Equatable {
    public struct Update: Sendable, Equatable {
        /// Entries to count, oldest first.
        public var newEntries: [RedisSlowlogEntry]
        /// Entries that were evicted from the server's log (or beyond what was fetched) before a
        /// pass saw them: ids skipped between the last seen and the oldest new one.
        public var missed: Int64
    }

    private var runID: String?
    private var lastSeenID: Int64?

    public init() {}

    /// How many of the newest entries a pass must read to see everything new, before capping to
    /// the fetch limit. A nil `newestID` means the log is empty.
    public func unseenCount(newestID: Int64?, runID: String?) -> Int64 {
        guard let newestID else { return 0 }
        // A baseline needs only the newest id, which the caller has already.
        guard let lastSeenID else { return 1 }
        if restarted(runID: runID, newest: newestID) { return Self.gap(from: -1, to: newestID) }
        return Self.gap(from: lastSeenID, to: newestID)
    }

    /// Feeds the entries read this pass (any order) and returns what to count.
    /// - Parameter runID: the server's `run_id` from INFO; nil if unknown.
    public mutating func update(entries: [RedisSlowlogEntry], runID: String?) -> Update {
        let sorted = entries.sorted { $0.id < $1.id }
        let newest = sorted.last?.id
        let update: Update
        if let lastSeenID {
            if restarted(runID: runID, newest: newest) {
                // Ids restarted from 0 with the server: all of this run's entries are new.
                update = Update(newEntries: sorted, missed: sorted.first.map { max(0, $0.id) } ?? 0)
                self.lastSeenID = newest ?? -1
            } else {
                let fresh = sorted.filter { $0.id > lastSeenID }
                // No overflow in `lastSeenID + 1`: there is a fresh id above it.
                update = Update(newEntries: fresh, missed: fresh.first.map { Self.gap(from: lastSeenID + 1, to: $0.id) } ?? 0)
                self.lastSeenID = max(lastSeenID, newest ?? lastSeenID)
            }
        } else {
            // First look: the baseline. An empty log is a baseline too (-1: every id is new).
            update = Update(newEntries: [], missed: 0)
            lastSeenID = newest ?? -1
        }
        if let runID { self.runID = runID }
        return update
    }

    /// `to - from`, at least 0 and at most `Int64.max`: ids come from the server, and a broken or
    /// hostile one can send any 64-bit value, whose plain difference would trap.
    private static func gap(from: Int64, to: Int64) -> Int64 {
        let (difference, overflow) = to.subtractingReportingOverflow(from)
        if overflow { return to > from ? .max : 0 }
        return max(0, difference)
    }

    private func restarted(runID: String?, newest: Int64?) -> Bool {
        if let runID, let known = self.runID, runID != known { return true }
        if let newest, let lastSeenID, newest < lastSeenID { return true }
        return false
    }
}
