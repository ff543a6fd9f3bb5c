/// Parses the lines a FastAPI/Starlette timing middleware writes through Python `logging`.
///
/// The logger's prefix (timestamp, level, logger name, or any custom format) is ignored: the
/// parser looks for the message anywhere in the line, in either form
///
///     GET /markets/42 completed in 12.3ms
///     SLOW REQUEST: GET /dashboard took 250.1ms
///
/// Units `s`, `ms`, `us`/`µs` and `ns` are accepted, optionally separated from the number by a
/// space. The method must be a run of uppercase ASCII letters not glued to a preceding letter
/// or digit, and the path must start with `/` (or be an absolute `http(s)://` URL), which keeps
/// unrelated "… completed in 3ms" messages out.
///
/// With ``readsStatus`` (`--timing-log.starlette.status`), a status after the duration is read,
/// as `status=500` or `-> 500`; a line without one counts under `status_class="unknown"`:
///
///     GET /markets/42 completed in 12.3ms status=200
///     SLOW REQUEST: GET /dashboard took 250.1ms -> 500
///
/// It also recognises asyncio's debug-mode warning, which means the event loop was blocked:
///
///     Executing <Task pending name='Task-1' coro=<…> …> took 0.523 seconds
public struct StarletteLineParser: TimingLineParser {
    /// Whether lines carry a status: the seed's middleware logs none, so it is a setting, and
    /// the `status_class` label exists only when it is on.
    public let readsStatus: Bool

    public init(readsStatus: Bool = false) {
        self.readsStatus = readsStatus
    }

    public var hasStatus: Bool { readsStatus }

    public func parse(_ line: UnsafeRawBufferPointer) -> TimingLineResult {
        var searchFrom = 0
        while let marker = LineBytes.firstIndex(of: " completed in ", in: line, from: searchFrom) {
            if let record = Self.completedRecord(line, marker: marker, readsStatus: readsStatus) {
                return .request(record)
            }
            searchFrom = marker + 1
        }
        searchFrom = 0
        while let marker = LineBytes.firstIndex(of: "SLOW REQUEST: ", in: line, from: searchFrom) {
            if let record = Self.slowRecord(line, marker: marker, readsStatus: readsStatus) {
                return .request(record)
            }
            searchFrom = marker + 1
        }
        if let seconds = Self.eventLoopBlockedSeconds(line) {
            return .eventLoopBlocked(seconds: seconds)
        }
        return .unparsed
    }

    /// `<METHOD> <path> completed in <duration>`, where `marker` is the offset of ` completed in `.
    private static func completedRecord(_ line: UnsafeRawBufferPointer, marker: Int, readsStatus: Bool) -> TimingRecord? {
        let pathEnd = marker
        var pathStart = pathEnd
        while pathStart > 0, line[pathStart - 1] != LineBytes.space {
            pathStart -= 1
        }
        guard pathStart < pathEnd, pathStart >= 2 else {
            return nil
        }
        let methodEnd = pathStart - 1
        var methodStart = methodEnd
        while methodStart > 0, methodEnd - methodStart < maximumMethodLength,
            LineBytes.isUppercaseLetter(line[methodStart - 1])
        {
            methodStart -= 1
        }
        guard methodStart < methodEnd else {
            return nil
        }
        // The method must be a whole word: `INFO:app:GET` is fine, `xGET` or a 21-letter run is not.
        if methodStart > 0 {
            let before = line[methodStart - 1]
            guard !LineBytes.isLetter(before), !LineBytes.isDigit(before) else {
                return nil
            }
        }
        guard isPlausiblePath(line, pathStart..<pathEnd),
            let (seconds, end) = duration(line, from: marker + " completed in ".utf8.count)
        else {
            return nil
        }
        return TimingRecord(
            method: LineBytes.string(line, methodStart..<methodEnd),
            path: LineBytes.string(line, pathStart..<pathEnd),
            status: readsStatus ? status(line, from: end) : nil,
            durationSeconds: seconds
        )
    }

    /// `SLOW REQUEST: <METHOD> <path> took <duration>`, where `marker` is the offset of `SLOW REQUEST: `.
    private static func slowRecord(_ line: UnsafeRawBufferPointer, marker: Int, readsStatus: Bool) -> TimingRecord? {
        let methodStart = marker + "SLOW REQUEST: ".utf8.count
        var methodEnd = methodStart
        while methodEnd < line.count, methodEnd - methodStart < maximumMethodLength,
            LineBytes.isUppercaseLetter(line[methodEnd])
        {
            methodEnd += 1
        }
        guard methodEnd > methodStart, methodEnd < line.count, line[methodEnd] == LineBytes.space else {
            return nil
        }
        let pathStart = methodEnd + 1
        var pathEnd = pathStart
        while pathEnd < line.count, line[pathEnd] != LineBytes.space {
            pathEnd += 1
        }
        guard isPlausiblePath(line, pathStart..<pathEnd),
            LineBytes.hasLiteral(" took ", in: line, at: pathEnd),
            let (seconds, end) = duration(line, from: pathEnd + " took ".utf8.count)
        else {
            return nil
        }
        return TimingRecord(
            method: LineBytes.string(line, methodStart..<methodEnd),
            path: LineBytes.string(line, pathStart..<pathEnd),
            status: readsStatus ? status(line, from: end) : nil,
            durationSeconds: seconds
        )
    }

    /// asyncio: `Executing <handle repr> took 0.523 seconds`.
    ///
    /// The handle's repr contains spaces and nested `<…>`, and could even contain ` took `, so
    /// the last ` took <number> seconds` after `Executing <` wins.
    private static func eventLoopBlockedSeconds(_ line: UnsafeRawBufferPointer) -> Double? {
        guard let executing = LineBytes.firstIndex(of: "Executing <", in: line) else {
            return nil
        }
        var result: Double?
        var searchFrom = executing + "Executing <".utf8.count
        while let took = LineBytes.firstIndex(of: " took ", in: line, from: searchFrom) {
            searchFrom = took + 1
            let numberStart = took + " took ".utf8.count
            guard let (value, numberEnd) = LineBytes.scanNumber(in: line, from: numberStart, to: line.count),
                value.isFinite, value >= 0,
                LineBytes.hasLiteral(" seconds", in: line, at: numberEnd),
                isWordBoundary(line, numberEnd + " seconds".utf8.count)
            else {
                continue
            }
            result = value + 0
        }
        return result
    }

    /// `status=500` or `-> 500` after the duration (spaces or a comma between); nil without one.
    private static func status(_ line: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index < line.count, line[index] == LineBytes.space || line[index] == UInt8(ascii: ",") { index += 1 }
        if LineBytes.hasLiteral("status=", in: line, at: index) {
            index += "status=".utf8.count
        } else if LineBytes.hasLiteral("-> ", in: line, at: index) {
            index += "-> ".utf8.count
        } else {
            return nil
        }
        guard index + 3 <= line.count, (index..<index + 3).allSatisfy({ LineBytes.isDigit(line[$0]) }), isWordBoundary(line, index + 3) else {
            return nil
        }
        return (index..<index + 3).reduce(0) { $0 * 10 + Int(line[$1] - UInt8(ascii: "0")) }
    }

    /// A number at `start` followed by a unit (optionally after one space) that ends the word;
    /// the duration in seconds and where the unit ends.
    private static func duration(_ line: UnsafeRawBufferPointer, from start: Int) -> (Double, end: Int)? {
        guard let (value, numberEnd) = LineBytes.scanNumber(in: line, from: start, to: line.count),
            value.isFinite, value >= 0
        else {
            return nil
        }
        var unitStart = numberEnd
        if unitStart < line.count, line[unitStart] == LineBytes.space {
            unitStart += 1
        }
        guard let (unit, unitEnd) = self.unit(line, at: unitStart), isWordBoundary(line, unitEnd) else {
            return nil
        }
        return (unit.seconds(value + 0), unitEnd)
    }

    private static func unit(_ line: UnsafeRawBufferPointer, at index: Int) -> (DurationUnit, end: Int)? {
        guard index < line.count else {
            return nil
        }
        switch line[index] {
        case UInt8(ascii: "s"):
            return (.seconds, index + 1)
        case UInt8(ascii: "m"):
            return LineBytes.hasLiteral("ms", in: line, at: index) ? (.milliseconds, index + 2) : nil
        case UInt8(ascii: "u"):
            return LineBytes.hasLiteral("us", in: line, at: index) ? (.microseconds, index + 2) : nil
        case UInt8(ascii: "n"):
            return LineBytes.hasLiteral("ns", in: line, at: index) ? (.nanoseconds, index + 2) : nil
        case 0xC2:  // U+00B5 MICRO SIGN
            return LineBytes.hasLiteral("\u{00B5}s", in: line, at: index) ? (.microseconds, index + 3) : nil
        case 0xCE:  // U+03BC GREEK SMALL LETTER MU
            return LineBytes.hasLiteral("\u{03BC}s", in: line, at: index) ? (.microseconds, index + 3) : nil
        default:
            return nil
        }
    }

    /// `12.3ms` must not be the start of `12.3msec` or `12.3ms2`.
    private static func isWordBoundary(_ line: UnsafeRawBufferPointer, _ index: Int) -> Bool {
        guard index < line.count else {
            return true
        }
        let byte = line[index]
        return !LineBytes.isLetter(byte) && !LineBytes.isDigit(byte) && byte != UInt8(ascii: "_")
    }

    private static func isPlausiblePath(_ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        guard !range.isEmpty else {
            return false
        }
        return line[range.lowerBound] == LineBytes.slash
            || LineBytes.hasLiteral("http://", in: line, at: range.lowerBound)
            || LineBytes.hasLiteral("https://", in: line, at: range.lowerBound)
    }

    /// Longest method accepted; real ones (`PROPFIND`, `MKCALENDAR`) are far shorter.
    private static let maximumMethodLength = 20
}
