import CZlib

/// gzip (RFC 1952) for `/metrics` responses when the scraper's `Accept-Encoding` allows it.
enum Gzip {
    struct Failure: Error {}

    static func compress(_ input: [UInt8]) throws(Failure) -> [UInt8] {
        var member = Member(capacity: input.count / 4 + 64, deflater: try Deflater())
        try member.append(compressing: input)
        return member.finish()
    }

    /// Where a piece lies in a member's bytes, and what the member's trailer needs of it.
    struct Piece: Sendable {
        var range: Range<Int>
        /// CRC-32 and length of the piece's uncompressed bytes.
        var crc: UInt32
        var length: Int
        /// What appends this piece's CRC-32 to the CRC-32 of what comes before it
        /// (`crc32_combine_gen` of its length): made once, with the piece, for every member that
        /// copies it. Making it is most of `crc32_combine`'s cost.
        var combine: UInt32
    }

    /// zlib's raw-deflate state, reset for each piece. Setting one up allocates about 100 KiB and
    /// tearing it down frees them, and glibc answers large frees by consolidating its small free
    /// chunks: ``CompressedExpositionCache`` keeps one between scrapes instead.
    ///
    /// An 8 KiB window and memory level 7, not zlib's 32 KiB and 8: a piece is one family or a run
    /// of them, compressed on its own, so a longer window finds almost nothing more (the same bytes
    /// for a scrape of cached pieces, 1 % more for one compressed whole), and the smaller state
    /// showed as 124–172 KiB less anonymous memory for the same CPU (`bench/results/scrape-cost.md`).
    ///
    /// Used by one owner at a time (a member, or the cache that hands it over under its lock).
    final class Deflater: @unchecked Sendable {
        /// On the heap: zlib's state points back at its stream, which must not move.
        private let stream: UnsafeMutablePointer<z_stream>

        init(level: Int32 = 1) throws(Failure) {
            stream = .allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // Negative windowBits: raw deflate, the header and trailer being written by the member.
            guard deflateInit2_(stream, level, Z_DEFLATED, -13, 7, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                stream.deinitialize(count: 1)
                stream.deallocate()
                throw Failure()
            }
        }

        deinit {
            deflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }

        /// Compresses `input` on its own (a reset stream, so no match reaches back before it) onto
        /// the end of `output`, ending on a byte boundary (a sync flush).
        func compress(_ input: [UInt8], appendingTo output: inout [UInt8]) throws(Failure) {
            guard deflateReset(stream) == Z_OK else { throw Failure() }
            let start = output.count
            // Room for the worst case, the sync flush's empty stored block and the bits before it.
            let room = Int(deflateBound(stream, UInt(input.count))) + 16
            output.append(contentsOf: repeatElement(0, count: room))
            let left: Int? = input.withUnsafeBytes { inBuffer in
                output.withUnsafeMutableBytes { outBuffer in
                    stream.pointee.next_in = UnsafeMutablePointer(mutating: inBuffer.bindMemory(to: Bytef.self).baseAddress)
                    stream.pointee.avail_in = uInt(inBuffer.count)
                    stream.pointee.next_out = outBuffer.bindMemory(to: Bytef.self).baseAddress! + start
                    stream.pointee.avail_out = uInt(room)
                    // All input taken and room to spare: the flush is complete.
                    guard deflate(stream, Z_SYNC_FLUSH) == Z_OK, stream.pointee.avail_in == 0, stream.pointee.avail_out > 0 else { return nil }
                    return Int(stream.pointee.avail_out)
                }
            }
            guard let left else {
                output.removeSubrange(start...)
                throw Failure()
            }
            output.removeLast(left)
        }
    }

    /// One gzip member, built from pieces. Each piece is compressed on its own and ends on a byte
    /// boundary (``Deflater``), so a piece depends on its input alone and can be copied from one
    /// member into another: ``CompressedExpositionCache`` keeps a family's piece while the family
    /// does not change.
    struct Member {
        let deflater: Deflater
        private var bytes: [UInt8]
        private var crc: UInt = 0
        private var length = 0

        init(capacity: Int, deflater: Deflater) {
            self.deflater = deflater
            // ID1 ID2, CM deflate, no flags, no time, no extra flags, OS Unix.
            bytes = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]
            bytes.reserveCapacity(capacity + 18)
        }

        /// Compresses `input` into a piece at the end of the member.
        @discardableResult
        mutating func append(compressing input: [UInt8]) throws(Failure) -> Piece {
            let start = bytes.count
            try deflater.compress(input, appendingTo: &bytes)
            let pieceCRC = input.withUnsafeBytes { UInt32(crc32(0, $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count))) }
            return add(Piece(range: start..<bytes.count, crc: pieceCRC, length: input.count, combine: UInt32(crc32_combine_gen(off_t(input.count)))))
        }

        /// Appends `input` as it is, in stored blocks (RFC 1951 3.2.4): copied, not compressed.
        /// Not a piece: the cache gives a family its own piece once it stops changing.
        mutating func append(storing input: [UInt8]) {
            guard !input.isEmpty else { return }
            var start = 0
            repeat {
                let count = min(input.count - start, Int(UInt16.max))
                // Pieces end on a byte boundary, so the block's 3 header bits (not final, stored)
                // and their padding are one zero byte, then LEN and its complement, little-endian.
                let length = UInt16(count)
                bytes.append(contentsOf: [0, UInt8(length & 0xff), UInt8(length >> 8), UInt8(~length & 0xff), UInt8(~length >> 8)])
                bytes.append(contentsOf: input[start..<start + count])
                start += count
            } while start < input.count
            // The member's CRC-32 runs over its uncompressed bytes in order, so it simply goes on.
            crc = input.withUnsafeBytes { crc32(crc, $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count)) }
            length += input.count
        }

        /// Copies `piece` of another member's bytes.
        mutating func append(_ piece: Piece, of member: [UInt8]) -> Piece {
            let start = bytes.count
            bytes.append(contentsOf: member[piece.range])
            return add(Piece(range: start..<bytes.count, crc: piece.crc, length: piece.length, combine: piece.combine))
        }

        private mutating func add(_ piece: Piece) -> Piece {
            crc = crc32_combine_op(crc, UInt(piece.crc), UInt(piece.combine))
            length += piece.length
            return piece
        }

        /// The member's bytes, complete: a final empty block, the CRC-32 and the length (mod 2^32).
        consuming func finish() -> [UInt8] {
            bytes.append(contentsOf: [0x03, 0x00])  // a final fixed-Huffman block holding only its end
            for value in [UInt32(truncatingIfNeeded: crc), UInt32(truncatingIfNeeded: length)] {
                withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
            }
            return bytes
        }
    }
}
