/// Collapses placeholder lists and writes tokens with canonical spacing.
///
/// List detection is a small state machine over the token stream whose memory is constant:
/// a candidate list is held as a count of committed elements, the cast suffix they share, and
/// the few tokens of the element in progress; when the candidate turns out not to be a plain
/// list, those are replayed as ordinary tokens.
struct TokenShaper {
    enum ElementPhase {
        /// Expecting a placeholder.
        case start
        /// After a placeholder: `,`, the closer or `::`.
        case afterValue
        /// After `::`: a type word.
        case afterCast
        /// After a type word: another word, `[`, `,` or the closer.
        case afterType
        /// After `[` in a type: `]`.
        case afterTypeBracket
    }

    struct Candidate {
        var opener: SQLToken
        var closer: SQLToken.Kind
        var isValues: Bool
        /// A further VALUES row after a collapsed one: the comma before it is held too.
        var heldComma: SQLToken?
        var committed = 0
        /// The tokens after the placeholder of the first element (its cast), compared with later ones.
        var suffix: [SQLToken] = []
        var element: [SQLToken] = []
        var phase: ElementPhase = .start
    }

    enum State {
        case idle
        /// After IN / VALUES / ARRAY: the opener may start a list.
        case trigger(opener: SQLToken.Kind, closer: SQLToken.Kind, isValues: Bool)
        case list(Candidate)
        /// After a collapsed VALUES row.
        case afterValuesRow
        /// After a collapsed VALUES row and a comma.
        case afterValuesComma(SQLToken)
    }

    /// A list element longer than this (a placeholder with a long cast) is not a plain list.
    static let maxElementTokens = 16

    var output: NormalizedOutput
    private var state: State = .idle

    init(output: NormalizedOutput) {
        self.output = output
    }

    mutating func feed(_ token: SQLToken, _ input: UnsafeRawBufferPointer) {
        switch state {
        case .idle:
            feedIdle(token, input)
        case .trigger(let opener, let closer, let isValues):
            if token.kind == opener {
                state = .list(Candidate(opener: token, closer: closer, isValues: isValues))
            } else {
                state = .idle
                feedIdle(token, input)
            }
        case .afterValuesRow:
            if token.kind == .comma {
                state = .afterValuesComma(token)
            } else {
                state = .idle
                feedIdle(token, input)
            }
        case .afterValuesComma(let comma):
            if token.kind == .openParen {
                state = .list(Candidate(opener: token, closer: .closeParen, isValues: true, heldComma: comma))
            } else {
                state = .idle
                output.write(comma, input)
                feedIdle(token, input)
            }
        case .list(var candidate):
            state = .idle  // avoid a copy-on-write of the candidate's arrays while it is mutated
            if advance(&candidate, with: token, input) {
                state = .list(candidate)
            }
        }
    }

    /// Ends the statement: a list still open is written as it came.
    mutating func finish(_ input: UnsafeRawBufferPointer) {
        // A replay can open a shorter list of its own, which is then written as it came too.
        while true {
            switch state {
            case .list(let candidate):
                replay(candidate, input)
            case .afterValuesComma(let comma):
                output.write(comma, input)
                state = .idle
            default:
                state = .idle
                return
            }
        }
    }

    private mutating func feedIdle(_ token: SQLToken, _ input: UnsafeRawBufferPointer) {
        output.write(token, input)
        if token.kind == .keyword {
            switch token.keyword {
            case .in: state = .trigger(opener: .openParen, closer: .closeParen, isValues: false)
            case .values: state = .trigger(opener: .openParen, closer: .closeParen, isValues: true)
            case .array: state = .trigger(opener: .openBracket, closer: .closeBracket, isValues: false)
            case .none: break
            }
        }
    }

    /// Returns whether the candidate is still open; otherwise ``state`` has been settled.
    private mutating func advance(_ candidate: inout Candidate, with token: SQLToken, _ input: UnsafeRawBufferPointer) -> Bool {
        guard candidate.element.count < TokenShaper.maxElementTokens else {
            fail(candidate, at: token, input)
            return false
        }
        switch (candidate.phase, token.kind) {
        case (.start, .placeholder):
            candidate.element.append(token)
            candidate.phase = .afterValue
            return true
        case (.afterValue, .doubleColon), (.afterType, .doubleColon):
            candidate.element.append(token)
            candidate.phase = .afterCast
            return true
        case (.afterCast, .identifier), (.afterCast, .keyword), (.afterCast, .quotedIdentifier),
            (.afterType, .identifier), (.afterType, .keyword), (.afterType, .quotedIdentifier):
            candidate.element.append(token)
            candidate.phase = .afterType
            return true
        case (.afterType, .openBracket):
            candidate.element.append(token)
            candidate.phase = .afterTypeBracket
            return true
        case (.afterTypeBracket, .closeBracket):
            candidate.element.append(token)
            candidate.phase = .afterType
            return true
        case (.afterValue, .comma), (.afterType, .comma), (.afterValue, candidate.closer), (.afterType, candidate.closer):
            let suffix = candidate.element.dropFirst()
            if candidate.committed == 0 {
                candidate.suffix = Array(suffix)
            } else if !Self.sameTokens(candidate.suffix, suffix, input) {
                fail(candidate, at: token, input)
                return false
            }
            candidate.committed += 1
            candidate.element.removeAll(keepingCapacity: true)
            if token.kind == .comma {
                candidate.phase = .start
                return true
            }
            if candidate.heldComma == nil {
                output.writeCollapsed(open: candidate.opener, close: token, input)
            }
            state = candidate.isValues ? .afterValuesRow : .idle
            return false
        default:
            fail(candidate, at: token, input)
            return false
        }
    }

    private mutating func fail(_ candidate: Candidate, at token: SQLToken, _ input: UnsafeRawBufferPointer) {
        replay(candidate, input)
        feed(token, input)
    }

    /// Writes a candidate's tokens as they came (placeholders numbered as usual). The element in
    /// progress is fed again from the idle state: it may end with a keyword that opens a list
    /// (`($1::VALUES (…`), and must do so here as it does when the same tokens are read outside
    /// a list candidate — as they are when the normalised text is normalised again. Each such
    /// list is shorter than the element, so the recursion ends.
    private mutating func replay(_ candidate: Candidate, _ input: UnsafeRawBufferPointer) {
        state = .idle
        if let comma = candidate.heldComma { output.write(comma, input) }
        output.write(candidate.opener, input)
        for _ in 0..<candidate.committed {
            output.writePlaceholder()
            for token in candidate.suffix { output.write(token, input) }
            output.writeComma()
        }
        for token in candidate.element { feed(token, input) }
    }

    private static func sameTokens(_ a: [SQLToken], _ b: ArraySlice<SQLToken>, _ input: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) {
            guard x.kind == y.kind, x.end - x.start == y.end - y.start else { return false }
            let foldCase = x.kind != .quotedIdentifier
            for i in 0..<(x.end - x.start) {
                var p = input[x.start + i]
                var q = input[y.start + i]
                if foldCase {
                    p = NormalizedOutput.lower(p)
                    q = NormalizedOutput.lower(q)
                }
                if p != q { return false }
            }
        }
        return true
    }
}
