/// The anchors NCSA-style access logs share (nginx, Apache, gunicorn, Envoy, the AWS ALB): a
/// quoted request line `"METHOD target PROTOCOL"`, usually followed by ` STATUS `, and a duration
/// in some other field. The parsers differ only in where the duration sits and in its unit, so
/// they find the anchors here and never build a `String` for anything but the record's fields.
enum AccessLogLine {
    struct Request {
        var method: Range<Int>
        var target: Range<Int>
        /// Offset of the quote that closes the request line.
        var closingQuote: Int
    }

    /// The request line whose opening quote is at `openingQuote`.
    ///
    /// nginx writes `"` inside variables as `\x22` and Apache as `\"`; a quote after an odd run
    /// of backslashes is therefore part of the request, not its end.
    static func request(_ line: UnsafeRawBufferPointer, openingQuote: Int, end: Int) -> Request? {
        guard let closingQuote = closingQuote(line, after: openingQuote, end: end) else {
            return nil
        }
        let requestStart = openingQuote + 1
        // A method starts with a letter: `"- - -"` (gunicorn's and Envoy's empty request) is none.
        guard requestStart < closingQuote, LineBytes.isUppercaseLetter(line[requestStart]) else {
            return nil
        }
        var methodEnd = requestStart
        while methodEnd < closingQuote, isMethodByte(line[methodEnd]) {
            methodEnd += 1
        }
        guard methodEnd > requestStart, methodEnd - requestStart <= maximumMethodLength,
            methodEnd < closingQuote, line[methodEnd] == LineBytes.space
        else {
            return nil
        }
        let targetStart = methodEnd + 1
        let targetEnd =
            LineBytes.firstIndex(of: LineBytes.space, in: line, from: targetStart, to: closingQuote) ?? closingQuote
        guard targetEnd > targetStart else {
            return nil
        }
        return Request(method: requestStart..<methodEnd, target: targetStart..<targetEnd, closingQuote: closingQuote)
    }

    /// The request line right after the first `] "` (the timestamp's closing bracket), as nginx,
    /// Apache, gunicorn and Envoy write it.
    static func requestAfterTimestamp(_ line: UnsafeRawBufferPointer, end: Int) -> Request? {
        guard let openingQuote = LineBytes.firstIndex(of: "] \"", in: line).map({ $0 + 2 }), openingQuote < end else {
            return nil
        }
        return request(line, openingQuote: openingQuote, end: end)
    }

    /// The status in ` 200 ` right after the request's closing quote, and the offset after it.
    static func status(_ line: UnsafeRawBufferPointer, after request: Request, end: Int) -> (status: Int, end: Int)? {
        let statusStart = request.closingQuote + 2
        let statusEnd = statusStart + 3
        guard statusEnd < end, line[request.closingQuote + 1] == LineBytes.space, line[statusEnd] == LineBytes.space,
            let status = LineBytes.status(in: line, from: statusStart, to: statusEnd)
        else {
            return nil
        }
        return (status, statusEnd)
    }

    /// The last whitespace-separated field of `line[floor..<end]`, or `nil` if there is none.
    static func lastField(_ line: UnsafeRawBufferPointer, after floor: Int, end: Int) -> Range<Int>? {
        var start = end
        while start > floor, !LineBytes.isWhitespace(line[start - 1]) {
            start -= 1
        }
        guard start > floor, start < end else {
            return nil
        }
        return start..<end
    }

    /// The next space-separated field at or after `start`, and never past `end`.
    static func nextField(_ line: UnsafeRawBufferPointer, from start: Int, end: Int) -> Range<Int>? {
        var index = start
        while index < end, line[index] == LineBytes.space {
            index += 1
        }
        guard index < end else {
            return nil
        }
        let fieldEnd = LineBytes.firstIndex(of: LineBytes.space, in: line, from: index, to: end) ?? end
        return index..<fieldEnd
    }

    /// Whether `line[range]` holds only ASCII digits (an integer duration such as Apache's `%D`).
    static func isInteger(_ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        guard !range.isEmpty else {
            return false
        }
        for index in range where !LineBytes.isDigit(line[index]) {
            return false
        }
        return true
    }

    static func contains(_ byte: UInt8, _ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        LineBytes.firstIndex(of: byte, in: line, from: range.lowerBound, to: range.upperBound) != nil
    }

    static func record(_ line: UnsafeRawBufferPointer, _ request: Request, status: Int?, seconds: Double) -> TimingRecord {
        TimingRecord(
            method: LineBytes.string(line, request.method),
            path: LineBytes.string(line, request.target),
            status: status,
            durationSeconds: seconds)
    }

    private static func closingQuote(_ line: UnsafeRawBufferPointer, after openingQuote: Int, end: Int) -> Int? {
        var from = openingQuote + 1
        while let quote = LineBytes.firstIndex(of: LineBytes.quote, in: line, from: from, to: end) {
            var backslashes = 0
            while quote - backslashes - 1 > openingQuote, line[quote - backslashes - 1] == UInt8(ascii: "\\") {
                backslashes += 1
            }
            if backslashes % 2 == 0 {
                return quote
            }
            from = quote + 1
        }
        return nil
    }

    /// Servers accept methods made of uppercase letters, `_` and `-`; anything else in the request
    /// (a TLS handshake sent to a plain-HTTP port, haproxy's `<BADREQ>`) is not a request we can time.
    @inline(__always)
    private static func isMethodByte(_ byte: UInt8) -> Bool {
        LineBytes.isUppercaseLetter(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    static let maximumMethodLength = 20
}
