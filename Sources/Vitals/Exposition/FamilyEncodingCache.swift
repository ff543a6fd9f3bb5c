import NIOConcurrencyHelpers

/// Each family's encoding from the previous scrape, per format, copied into the next scrape while
/// the family is unchanged.
///
/// At rest most of an exposition is the same from one scrape to the next: a server's settings,
/// sizes and idle tables, routes that saw no request. Their families keep their storage when they
/// are unchanged (a ``SnapshotPublisher`` keeps an equal family, a live family its last snapshot),
/// so "unchanged" is known without reading a series (``FamilySnapshot/sharesStorage(with:)``), and
/// the bytes written for it last time are copied instead of formatting every sample again.
///
/// It keeps the last output of each format it has written (the size of one uncompressed
/// exposition) and the families it was written from, which are mostly the registry's own.
public final class FamilyEncodingCache: Sendable {
    private struct Encoded: Sendable {
        var family: FamilySnapshot
        var bytes: Range<Int>
    }

    private struct Written: Sendable {
        var output: [UInt8] = []
        /// In the order written: a gather's, by name.
        var families: [Encoded] = []
    }

    private let written = NIOLockedValueBox<[ExpositionFormat: Written]>([:])
    private let reuses = NIOLockedValueBox(0)

    public init() {}

    /// How many families were copied rather than encoded, since the start: for tests.
    var reusedCount: Int { reuses.withLockedValue { $0 } }

    /// The families' encodings followed by `trailer`: each copied from the previous write of
    /// `format` when the family shares its storage with the one written then, else made by
    /// `encode`. Two scrapes at once each get a whole, correct answer; the later one's is kept.
    func write(
        _ families: [FamilySnapshot], format: ExpositionFormat, capacity: Int, trailer: String = "",
        encode: (FamilySnapshot, inout [UInt8]) -> Void
    ) -> [UInt8] {
        let previous = written.withLockedValue { $0[format] } ?? Written()
        var next = Written()
        next.families.reserveCapacity(families.count)
        var out: [UInt8] = []
        out.reserveCapacity(capacity)
        var cursor = 0
        var reused = 0
        for family in families {
            let name = family.descriptor.name
            // Both lists are in the gather's order, by name: walk them together.
            if cursor < previous.families.count, previous.families[cursor].family.descriptor.name != name {
                while cursor < previous.families.count, previous.families[cursor].family.descriptor.name < name { cursor += 1 }
            }
            let start = out.count
            if cursor < previous.families.count, previous.families[cursor].family.sharesStorage(with: family) {
                out.append(contentsOf: previous.output[previous.families[cursor].bytes])
                reused += 1
            } else {
                encode(family, &out)
            }
            next.families.append(Encoded(family: family, bytes: start..<out.count))
        }
        out.append(contentsOf: trailer.utf8)
        // Shared with the answer, which only reads it (a copy into the response, or gzip).
        next.output = out
        written.withLockedValue { $0[format] = next }
        if reused > 0 { reuses.withLockedValue { $0 += reused } }
        return out
    }
}
