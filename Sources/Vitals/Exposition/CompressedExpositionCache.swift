import NIOConcurrencyHelpers

/// The daemon's last gzip-compressed `/metrics` body in each format, with where each family's
/// piece lies in it, so that the next compressed scrape copies the piece of every family that has
/// not changed instead of writing and compressing it again.
///
/// At rest most of the exposition does not change between two scrapes: the timing log's
/// histograms while no request comes, Postgres's settings and quiet tables, Redis's configuration
/// (four fifths of the text 15 s apart; BENCHMARKS.md, "Unchanged families, compressed once").
/// Prometheus always asks for gzip, and compressing was the largest part of a scrape. A body
/// built so is a valid gzip member of the same text; its pieces, compressed apart, make it larger
/// than the text compressed whole (BENCHMARKS.md gives the figures).
///
/// A family is unchanged when it equals the one the scrape before wrote. The cache keeps those
/// families for that: a family a publisher still holds is the same storage, so the comparison is
/// one identity check (``FamilySnapshot``'s `==` looks at the buffers first) where hashing
/// everything it writes cost every family on every scrape (BENCHMARKS.md, "Unchanged families
/// found by comparing"); a changed family differs at its first changed series. What the cache
/// keeps beyond what the publishers hold is the previous version of the families that changed since.
///
/// Bounded: per format, the last compressed scrape's body and one entry per family in it, and one
/// spare ``Gzip/Deflater`` for all formats. Two scrapes at once do not wait for each other: the
/// first takes the format's body and the deflater, and the other compresses everything with a
/// deflater of its own, as without a cache.
public final class CompressedExpositionCache: Sendable {
    struct Entry: Sendable {
        /// As the scrape wrote it.
        let family: FamilySnapshot
        /// The family's own piece, when it had not changed since the scrape before. A family new
        /// or changed is compressed with its new or changed neighbours, in one piece, and has none.
        let piece: Gzip.Piece?
    }

    struct Scrape: Sendable {
        let body: [UInt8]
        /// In the order of the scrape's families (the registry's: by name).
        let entries: [Entry]
    }

    private struct State {
        var scrapes: [ExpositionFormat: Scrape] = [:]
        var spare: Gzip.Deflater?
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// At most this many bytes of a body go uncompressed. At rest about 33 KB of the 200 KB text
    /// change between two scrapes 15 s apart; a body is at most about this much larger than it
    /// would be with everything compressed.
    static let storedBytesPerScrape = 64 * 1024

    /// `families` in `format`, as one gzip member; `reused` counts the families copied, `stored`
    /// the bytes sent uncompressed.
    ///
    /// A family unchanged since the scrape before gets a piece of its own, copied while it stays
    /// unchanged. Neighbouring families new or changed go in together, as one run: a piece costs
    /// zlib a block and its Huffman tables (about 13 µs for a small family, several times what its bytes
    /// cost), so a family that changes at every scrape is not given one.
    ///
    /// A run is stored, not compressed, while the scrape's stored bytes stay within
    /// ``storedBytesPerScrape``: what changed is mostly what changes at every scrape (counters of
    /// live traffic), and compressing it for one scrape was most of what a scrape at rest cost zlib
    /// (BENCHMARKS.md, "Changed families sent stored"). The budget bounds what that adds to a body.
    /// The first scrape, with nothing to copy, is compressed whole, as without a cache.
    func gzip(_ families: [FamilySnapshot], format: ExpositionFormat) throws(Gzip.Failure) -> (body: [UInt8], reused: Int, stored: Int) {
        let (previous, spare) = state.withLockedValue { state in
            let spare = state.spare
            state.spare = nil
            return (state.scrapes.removeValue(forKey: format), spare)
        }
        let deflater: Gzip.Deflater
        if let spare { deflater = spare } else { deflater = try Gzip.Deflater() }
        var member = Gzip.Member(capacity: previous?.body.count ?? 65536, deflater: deflater)
        var entries: [Entry] = []
        entries.reserveCapacity(families.count)
        var reused = 0
        var next = 0
        var changed: [UInt8] = []
        var stored = 0
        func appendChanged() throws(Gzip.Failure) {
            guard !changed.isEmpty else { return }
            if previous != nil, stored + changed.count <= Self.storedBytesPerScrape {
                member.append(storing: changed)
                stored += changed.count
            } else {
                try member.append(compressing: changed)
            }
            changed.removeAll(keepingCapacity: true)
        }
        for family in families {
            let name = family.descriptor.name
            // Both lists are sorted by name: one walk, no dictionary. A list out of order only finds less.
            var known: Entry?
            if let previous {
                while next < previous.entries.count, previous.entries[next].family.descriptor.name < name { next += 1 }
                if next < previous.entries.count, previous.entries[next].family.descriptor.name == name {
                    known = previous.entries[next]
                    next += 1
                }
            }
            guard let known, known.family == family, let previous else {
                format.write(family, into: &changed)
                entries.append(Entry(family: family, piece: nil))
                continue
            }
            try appendChanged()
            if let piece = known.piece {
                entries.append(Entry(family: family, piece: member.append(piece, of: previous.body)))
                reused += 1
            } else {
                entries.append(Entry(family: family, piece: try member.append(compressing: format.bytes(of: family))))
            }
        }
        changed.append(contentsOf: format.trailer)
        try appendChanged()
        let body = member.finish()
        state.withLockedValue { state in
            state.scrapes[format] = Scrape(body: body, entries: entries)
            state.spare = deflater
        }
        return (body, reused, stored)
    }

    /// How many families the cache knows in `format`.
    func count(of format: ExpositionFormat) -> Int {
        state.withLockedValue { $0.scrapes[format]?.entries.count ?? 0 }
    }
}
