import CLibPQ
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Something that runs a query and returns its rows: the live connection, or a fixture in tests.
public protocol PostgresQuerying {
    func query(_ sql: String) throws(PostgresError) -> PostgresRows
    /// The server's time on the answers served since the last call that the caller's clock did not
    /// see, because they came in a pipeline sent before (``PostgresReplaySession``).
    func takePrefetchedSeconds() -> Double
    /// Runs a statement whose text changes with what it asks for, so that no later pass asks it
    /// again as it is: on the connection, and never replayed (``PostgresReplaySession``).
    func queryOnce(_ sql: String) throws(PostgresError) -> PostgresRows
}

extension PostgresQuerying {
    public func takePrefetchedSeconds() -> Double { 0 }
    public func queryOnce(_ sql: String) throws(PostgresError) -> PostgresRows { try query(sql) }
}

/// A session that can also run one statement with bound parameters (the extended protocol).
public protocol PostgresParameterQuerying: PostgresQuerying {
    func query(_ sql: String, parameters: [String?]) throws(PostgresError) -> PostgresRows
}

/// Set from the async side to abandon whatever libpq call a worker thread is polling on.
public final class PostgresCancellation: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func cancel() { flag.store(true, ordering: .relaxed) }
    /// Clears an abort before the next pass: an overrunning pass is aborted, the next one is not.
    public func reset() { flag.store(false, ordering: .relaxed) }
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }
}

/// One libpq connection, driven only through the non-blocking API (`PQconnectStartParams`/
/// `PQconnectPoll`, `PQsendQuery`/`PQconsumeInput`/`PQisBusy`/`PQgetResult`) with `poll(2)` on
/// its socket, so no call can outlive the deadline even when a server accepts TCP and never
/// answers. Host names are resolved before, within the deadline, by ``HostResolver``: libpq's own
/// lookup inside `PQconnectStartParams` is synchronous and unbounded, and is left only for a list
/// of hosts.
///
/// Not thread-safe: a connection belongs to its target's worker thread. It is closed with
/// `PQfinish` by ``close()`` and, on every other path, by `deinit`.
final class PostgresConnection {
    private var handle: OpaquePointer?
    private let redactor: PostgresRedactor
    private let cancellation: PostgresCancellation
    /// Deadline of the current step; every wait is bounded by it.
    var deadline: ContinuousClock.Instant

    private init(handle: OpaquePointer, redactor: PostgresRedactor, cancellation: PostgresCancellation, deadline: ContinuousClock.Instant) {
        self.handle = handle
        self.redactor = redactor
        self.cancellation = cancellation
        self.deadline = deadline
    }

    /// `PQserverVersion`, e.g. 150020 for 15.20; 0 before the connection is made.
    var serverVersion: Int { handle.map { Int(PQserverVersion($0)) } ?? 0 }

    /// The database this connection is in.
    var database: String { handle.flatMap { PQdb($0) }.map { String(cString: $0) } ?? "" }

    deinit { close() }

    func close() {
        if let handle {
            PQfinish(handle)
            self.handle = nil
        }
    }

    /// Closes, then waits (bounded) until the server has closed its end: the backend only leaves
    /// `pg_stat_activity` and frees its connection slot as it exits, a moment after `PQfinish`.
    /// Used before opening the next connection, so that even the server never sees two at once.
    func closeAndWaitForServer(timeout: Duration = .seconds(1)) {
        guard let handle else { return }
        let socket = PQsocket(handle)
        let watched = socket >= 0 ? dup(socket) : -1
        close()
        guard watched >= 0 else { return }
        defer { Glibc.close(watched) }
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 512)
        while ContinuousClock.now < deadline {
            var descriptor = pollfd(fd: watched, events: Int16(POLLIN), revents: 0)
            let remaining = max(1, Int32(((deadline - ContinuousClock.now).seconds * 1000).rounded(.up)))
            guard poll(&descriptor, 1, remaining) > 0 else { continue }
            let received = recv(watched, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if received == 0 || (received < 0 && errno != EAGAIN && errno != EINTR) { return }
        }
    }

    var isOpen: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// Connects without ever blocking past `deadline`.
    static func connect(
        parameters: [(String, String)], redactor: PostgresRedactor, cancellation: PostgresCancellation, deadline: ContinuousClock.Instant
    ) throws(PostgresError) -> PostgresConnection {
        let started: OpaquePointer? = withCStringArrays(parameters.map(\.0), parameters.map(\.1)) { keywords, values in
            PQconnectStartParams(keywords, values, 1)
        }
        guard let handle = started else { throw PostgresError(.connect, detail: "libpq could not allocate a connection") }
        guard PQstatus(handle) != CONNECTION_BAD else {
            let message = redactor.redact(Self.errorMessage(handle))
            PQfinish(handle)
            throw PostgresError.fromConnectMessage(message)
        }
        let connection = PostgresConnection(handle: handle, redactor: redactor, cancellation: cancellation, deadline: deadline)
        // From here `connection` owns the handle: any throw ends in its deinit's PQfinish.
        var status = PGRES_POLLING_WRITING
        while true {
            switch status {
            case PGRES_POLLING_OK:
                _ = PQsetnonblocking(handle, 1)
                return connection
            case PGRES_POLLING_FAILED:
                throw PostgresError.fromConnectMessage(redactor.redact(Self.errorMessage(handle)))
            case PGRES_POLLING_READING:
                try connection.wait(for: Int16(POLLIN))
            default:
                try connection.wait(for: Int16(POLLOUT))
            }
            status = PQconnectPoll(handle)
        }
    }

    /// Runs one simple-protocol query string and returns the rows of its last statement.
    func query(_ sql: String) throws(PostgresError) -> PostgresRows {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { throw PostgresError(.connectionLost, detail: "connection is closed") }
        guard PQsendQuery(handle, sql) == 1 else { throw connectionError() }
        return try collectResults(handle)
    }

    /// Runs exactly one statement with the extended protocol, its `$n` bound to `parameters` as
    /// text (nil: NULL): the server refuses a second statement in `sql`, and a parameter is never
    /// parsed as SQL.
    func query(_ sql: String, parameters: [String?]) throws(PostgresError) -> PostgresRows {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { throw PostgresError(.connectionLost, detail: "connection is closed") }
        let copies = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer($0) }
        let sent = pointers.withUnsafeBufferPointer { values in
            PQsendQueryParams(handle, sql, Int32(parameters.count), nil, values.baseAddress, nil, nil, 0)
        }
        guard sent == 1 else { throw connectionError() }
        return try collectResults(handle)
    }

    private func collectResults(_ handle: OpaquePointer) throws(PostgresError) -> PostgresRows {
        try flush(handle)
        let statement = try readStatement(handle)
        if let failure = statement.failure { throw failure }
        if PQstatus(handle) != CONNECTION_OK { throw connectionError() }
        return statement.rows
    }

    /// Sends every statement at once (libpq's pipeline mode, one sync at the end) and reads their
    /// answers: one round trip, one wake-up of the thread, where asking them in turn costs one
    /// each. The statements share one implicit transaction, so a failing one makes the server
    /// skip the rest (``PostgresPipelineAnswer/aborted``); each still has its statement_timeout.
    /// Anything thrown leaves the connection unusable: the caller closes it.
    func pipeline(_ statements: [String]) throws(PostgresError) -> [PostgresPipelineAnswer] {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { throw PostgresError(.connectionLost, detail: "connection is closed") }
        guard PQenterPipelineMode(handle) == 1 else { throw connectionError() }
        for sql in statements {
            guard PQsendQueryParams(handle, sql, 0, nil, nil, nil, nil, 0) == 1 else { throw connectionError() }
        }
        guard PQpipelineSync(handle) == 1 else { throw connectionError() }
        try flush(handle)
        var answers: [PostgresPipelineAnswer] = []
        answers.reserveCapacity(statements.count)
        var previous = ContinuousClock.now
        for _ in statements {
            let statement = try readStatement(handle)
            let now = ContinuousClock.now
            let seconds = (now - previous).seconds
            previous = now
            if statement.aborted {
                answers.append(.aborted)
            } else if let failure = statement.failure {
                answers.append(.failed(failure, seconds: seconds))
            } else {
                answers.append(.rows(statement.rows, seconds: seconds))
            }
        }
        guard let sync = try nextResult(handle) else { throw PostgresError(.connectionLost, detail: "pipeline ended without its sync") }
        let status = PQresultStatus(sync)
        PQclear(sync)
        guard status == PGRES_PIPELINE_SYNC, PQexitPipelineMode(handle) == 1 else {
            throw PostgresError(.connectionLost, detail: "pipeline out of step with the server")
        }
        return answers
    }

    /// Reads one statement's results, up to the null result that ends them: the rows of the last
    /// that had rows, the first failure, and whether a pipeline skipped it.
    private func readStatement(_ handle: OpaquePointer) throws(PostgresError) -> (rows: PostgresRows, failure: PostgresError?, aborted: Bool) {
        var rows = PostgresRows(columns: [], values: [])
        var failure: PostgresError?
        var aborted = false
        while let result = try nextResult(handle) {
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK:
                rows = Self.copyRows(result)
            case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                break
            case PGRES_PIPELINE_ABORTED:
                aborted = true
            default:
                if failure == nil { failure = statementError(result) }
            }
        }
        return (rows, failure, aborted)
    }

    /// Writes out what libpq has queued. In non-blocking mode `PQflush` returns 1 while data is
    /// still queued; meanwhile the server may be answering, and its answers are read so that
    /// neither side waits on a full buffer.
    private func flush(_ handle: OpaquePointer) throws(PostgresError) {
        while true {
            let flushed = PQflush(handle)
            if flushed == 0 { return }
            if flushed < 0 { throw connectionError() }
            let ready = try wait(for: Int16(POLLIN | POLLOUT))
            if ready & Int16(POLLIN) != 0, PQconsumeInput(handle) != 1 { throw connectionError() }
        }
    }

    /// The next result, waiting (bounded) until libpq has it whole; nil at the end of a statement's
    /// results.
    private func nextResult(_ handle: OpaquePointer) throws(PostgresError) -> OpaquePointer? {
        // Consume before waiting: with TLS, bytes may already sit decrypted in libpq's or
        // OpenSSL's buffers, and poll(2) on the socket would not report them.
        guard PQconsumeInput(handle) == 1 else { throw connectionError() }
        while PQisBusy(handle) == 1 {
            try wait(for: Int16(POLLIN))
            guard PQconsumeInput(handle) == 1 else { throw connectionError() }
        }
        return PQgetResult(handle)
    }

    private func statementError(_ result: OpaquePointer) -> PostgresError {
        let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) } ?? ""
        return PostgresError.fromSQLState(sqlState, detail: redactor.redact(primary))
    }

    /// Waits until the socket is ready for one of `events`, the deadline passes (timeout) or
    /// shutdown begins, in slices short enough to notice a shutdown quickly. Returns the events seen.
    @discardableResult
    private func wait(for events: Int16) throws(PostgresError) -> Int16 {
        guard let handle else { throw PostgresError(.connectionLost) }
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw connectionError() }
        while true {
            if cancellation.isCancelled { throw PostgresError(.cancelled) }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw PostgresError(.timeout, detail: "no answer before the deadline") }
            let sliceMilliseconds = Int32(min(200, max(1, (remaining.seconds * 1000).rounded(.up))))
            var descriptor = pollfd(fd: socket, events: events, revents: 0)
            let ready = poll(&descriptor, 1, sliceMilliseconds)
            // Ready, or an error or hang-up that libpq will report.
            if ready > 0 { return descriptor.revents }
            if ready < 0 && errno != EINTR { throw PostgresError(.connectionLost, detail: "poll failed: errno \(errno)") }
        }
    }

    private func connectionError() -> PostgresError {
        let message = handle.map { redactor.redact(Self.errorMessage($0)) } ?? ""
        return PostgresError(.connectionLost, detail: message)
    }

    private static func errorMessage(_ handle: OpaquePointer) -> String {
        PQerrorMessage(handle).map { String(cString: $0).trimmingCharacters(in: .spaceTabAndNewlines) } ?? ""
    }

    private static func copyRows(_ result: OpaquePointer) -> PostgresRows {
        let columnCount = PQnfields(result)
        let rowCount = PQntuples(result)
        let columns = (0..<columnCount).map { PQfname(result, $0).map { String(cString: $0) } ?? "" }
        var values: [[String?]] = []
        values.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            var fields: [String?] = []
            fields.reserveCapacity(Int(columnCount))
            for column in 0..<columnCount {
                if PQgetisnull(result, row, column) == 1 {
                    fields.append(nil)
                } else {
                    fields.append(PQgetvalue(result, row, column).map { String(cString: $0) })
                }
            }
            values.append(fields)
        }
        return PostgresRows(columns: columns, values: values)
    }
}

extension PostgresConnection: PostgresParameterQuerying {}

/// Calls `body` with NULL-terminated C string arrays that live for the duration of the call.
private func withCStringArrays<Result>(
    _ first: [String], _ second: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> Result
) -> Result {
    let firstCopies = first.map { strdup($0) }
    let secondCopies = second.map { strdup($0) }
    defer {
        firstCopies.forEach { free($0) }
        secondCopies.forEach { free($0) }
    }
    let firstPointers = firstCopies.map { UnsafePointer($0) } + [nil]
    let secondPointers = secondCopies.map { UnsafePointer($0) } + [nil]
    return firstPointers.withUnsafeBufferPointer { a in
        secondPointers.withUnsafeBufferPointer { b in body(a.baseAddress!, b.baseAddress!) }
    }
}
