/// Which N+1 was seen: a statement shape, and the route that ran it when sqlcommenter said so.
public struct NPlusOneKey: Hashable, Sendable {
    public var fingerprint: String
    public var route: String?

    public init(fingerprint: String, route: String?) {
        self.fingerprint = fingerprint
        self.route = route
    }
}

/// Running totals of one N+1, since vitals started; findings difference two of them.
public struct NPlusOneTotals: Sendable, Equatable {
    /// Bursts (requests, as far as the log tells them apart) that repeated the statement.
    public var bursts: Int = 0
    /// Executions of the statement within those bursts.
    public var statements: Int = 0
    /// Their total duration.
    public var seconds: Double = 0
    /// The normalised statement (placeholders for every literal), cut short for display.
    public var shape: String = ""

    public init(bursts: Int = 0, statements: Int = 0, seconds: Double = 0, shape: String = "") {
        self.bursts = bursts
        self.statements = statements
        self.seconds = seconds
        self.shape = shape
    }

    public func since(_ earlier: NPlusOneTotals?) -> NPlusOneTotals {
        guard let earlier, earlier.bursts <= bursts else { return self }
        return NPlusOneTotals(bursts: bursts - earlier.bursts, statements: statements - earlier.statements, seconds: max(0, seconds - earlier.seconds), shape: shape)
    }
}

/// Finds N+1 queries in the statement log: one backend running the same statement shape many
/// times within one burst of work. A pure value fed statement by statement, in log order.
///
/// A burst is one backend's run of statements, ended by:
/// - the end of a transaction of several statements (`%v`/`%x` in `log_line_prefix`, `vxid` in
///   csvlog/jsonlog), or a different sqlcommenter `traceparent` (one request) or `route`, when
///   the log carries them. A transaction of one statement is autocommit, not a unit of work: an
///   N+1 outside an explicit transaction gives each lookup its own, and ending bursts there
///   would hide it;
/// - a pool's reset as it takes the connection back (``Role/checkIn``): the request is over;
/// - otherwise a gap longer than ``Settings/gap`` between two statements.
/// Session housekeeping (``Role/housekeeping``) is never counted, however often a pool repeats it.
/// A fingerprint repeated at least ``Settings/minRepeats`` times in one burst is an N+1
/// occurrence. With neither transaction ids nor tags, back-to-back requests on one pooled
/// connection can merge into one burst: the gap is the only separator left.
///
/// Bounded: at most ``Settings/maxOpenBursts`` backends tracked at once (the longest idle is
/// closed first), ``Settings/maxShapesPerBurst`` shapes per burst, and ``Settings/maxKeys``
/// distinct N+1s (later ones counted in ``overflow``).
public struct NPlusOneDetector: Sendable {
    public struct Settings: Sendable, Equatable {
        public var minRepeats = 5
        public var gap = 0.05
        public var maxOpenBursts = 2048
        public var maxShapesPerBurst = 64
        public var maxKeys = 200
        static let maxShapeLength = 200

        public init(minRepeats: Int = 5, gap: Double = 0.05, maxKeys: Int = 200) {
            self.minRepeats = max(2, minRepeats)
            self.gap = gap
            self.maxKeys = max(1, maxKeys)
        }
    }

    public struct Statement: Sendable {
        public var pid: Int
        public var transaction: String?
        /// Epoch seconds of the log line.
        public var time: Double
        public var fingerprint: String
        /// The normalised text; literals are placeholders already.
        public var shape: String
        public var tags: SQLCommenterTags?
        public var seconds: Double

        public init(pid: Int, transaction: String?, time: Double, fingerprint: String, shape: String, tags: SQLCommenterTags?, seconds: Double) {
            self.pid = pid
            self.transaction = transaction
            self.time = time
            self.fingerprint = fingerprint
            self.shape = shape
            self.tags = tags
            self.seconds = seconds
        }
    }

    struct Shape {
        var count = 0
        var seconds = 0.0
        var text: String
    }

    struct Burst {
        var transaction: String?
        /// Statements seen in ``transaction`` so far.
        var inTransaction = 0
        var request: String?
        var route: String?
        var lastTime: Double
        var shapes: [String: Shape] = [:]
    }

    /// What a statement is to a burst, told from its normalised text.
    public enum Role: Equatable, Sendable {
        /// Reads or writes data: what an N+1 is made of.
        case work
        /// Transaction control and session state (`BEGIN`, `SET`, `SHOW`, `UNLISTEN`, …).
        case housekeeping
        /// A pool's reset of a returned connection: asyncpg's `SELECT pg_advisory_unlock_all();
        /// CLOSE ALL; UNLISTEN *; RESET ALL`, pgbouncer's and psycopg's `DISCARD ALL`.
        case checkIn
    }

    private static let housekeepingWords: Set<SQLKeywords.Packed> = Set(
        [
            "ABORT", "BEGIN", "CHECKPOINT", "CLOSE", "COMMIT", "DEALLOCATE", "DISCARD", "END", "LISTEN", "LOAD", "NOTIFY",
            "RELEASE", "RESET", "ROLLBACK", "SAVEPOINT", "SET", "SHOW", "START", "UNLISTEN",
        ].map(packed))
    private static let select = packed("SELECT")

    private static func packed(_ word: String) -> SQLKeywords.Packed {
        Array(word.utf8).withUnsafeBytes { SQLKeywords.pack($0, 0, $0.count)! }
    }

    /// Runs for every statement of the log: the first word is read with the fingerprint's lexer
    /// and packed without allocating; only housekeeping (rare) is looked at further.
    public static func role(of shape: String) -> Role {
        var text = shape
        let housekeeping = text.withUTF8 { bytes -> Bool in
            let input = UnsafeRawBufferPointer(bytes)
            var lexer = SQLLexer(input: input)
            var token = lexer.next()
            while let open = token, open.kind == .openParen { token = lexer.next() }
            guard let first = token, let word = SQLKeywords.pack(input, first.start, first.end) else { return false }
            if housekeepingWords.contains(word) { return true }
            guard word == select, let next = lexer.next() else { return false }
            return input[next.start..<next.end].elementsEqual("pg_advisory_unlock_all".utf8)
        }
        guard housekeeping else { return .work }
        let upper = shape.uppercased()
        return upper.contains("RESET ALL") || upper.contains("DISCARD ALL") ? .checkIn : .housekeeping
    }

    public let settings: Settings
    private var open: [Int: Burst] = [:]
    public private(set) var totals: [NPlusOneKey: NPlusOneTotals] = [:]
    /// Occurrences not kept because ``Settings/maxKeys`` distinct N+1s were already tracked.
    public private(set) var overflow = 0
    /// The newest log time seen: bursts idle since longer than the gap are complete.
    private var clock = 0.0

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    public mutating func observe(_ statement: Statement) {
        clock = max(clock, statement.time)
        switch Self.role(of: statement.shape) {
        case .work: break
        case .housekeeping: return
        case .checkIn:
            close(statement.pid)
            return
        }
        let request = statement.tags?["traceparent"]
        let route = statement.tags?.route
        if let burst = open[statement.pid] {
            let endsTransaction = Self.differ(burst.transaction, statement.transaction) && burst.inTransaction > 1
            let ends =
                statement.time - burst.lastTime > settings.gap || statement.time < burst.lastTime - settings.gap || endsTransaction
                || Self.differ(burst.request, request) || Self.differ(burst.route, route)
            if ends { close(statement.pid) }
        }
        if open[statement.pid] == nil {
            if open.count >= settings.maxOpenBursts, let idlest = open.min(by: { $0.value.lastTime < $1.value.lastTime })?.key { close(idlest) }
            open[statement.pid] = Burst(transaction: statement.transaction, inTransaction: 0, request: request, route: route, lastTime: statement.time)
        }
        open[statement.pid]!.lastTime = statement.time
        if open[statement.pid]!.transaction == statement.transaction {
            open[statement.pid]!.inTransaction += 1
        } else {
            open[statement.pid]!.transaction = statement.transaction
            open[statement.pid]!.inTransaction = 1
        }
        if open[statement.pid]!.route == nil { open[statement.pid]!.route = route }
        if open[statement.pid]!.shapes[statement.fingerprint] == nil {
            guard open[statement.pid]!.shapes.count < settings.maxShapesPerBurst else { return }
            open[statement.pid]!.shapes[statement.fingerprint] = Shape(text: String(statement.shape.prefix(Settings.maxShapeLength)))
        }
        open[statement.pid]!.shapes[statement.fingerprint]!.count += 1
        open[statement.pid]!.shapes[statement.fingerprint]!.seconds += statement.seconds
    }

    /// Completes the bursts that have been idle longer than the gap, by log time (or by `now`
    /// when the log has gone quiet: a burst cannot grow once its backend's gap has passed).
    public mutating func closeIdle(now: Double? = nil) {
        let reference = max(clock, now ?? clock)
        for (pid, burst) in open where reference - burst.lastTime > settings.gap { close(pid) }
    }

    /// Completes every open burst (end of a file being replayed).
    public mutating func closeAll() {
        for pid in Array(open.keys) { close(pid) }
    }

    public var openBursts: Int { open.count }

    private mutating func close(_ pid: Int) {
        guard let burst = open.removeValue(forKey: pid) else { return }
        for (fingerprint, shape) in burst.shapes where shape.count >= settings.minRepeats {
            let key = NPlusOneKey(fingerprint: fingerprint, route: burst.route)
            if totals[key] == nil {
                guard totals.count < settings.maxKeys else {
                    overflow += 1
                    continue
                }
                totals[key] = NPlusOneTotals(shape: shape.text)
            }
            totals[key]!.bursts += 1
            totals[key]!.statements += shape.count
            totals[key]!.seconds += shape.seconds
        }
    }

    /// Two known values that differ; an unknown one (the log or the tags do not say) never ends a burst.
    private static func differ(_ a: String?, _ b: String?) -> Bool {
        guard let a, let b else { return false }
        return a != b
    }
}
