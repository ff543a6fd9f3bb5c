import CZlib

/// gzip (RFC 1952) for `/metrics` responses when the scraper's `Accept-Encoding` allows it.
enum Gzip {
    struct Failure: Error {}

    static func compress(_ input: [UInt8]) throws(Failure) -> [UInt8] {
        let member = try Member(capacity: input.count / 4 + 64)
        try member.append(compressing: input)
        return member.finish()
    }

    /// Where a piece lies in a member's bytes, and what the member's trailer needs of it.
    struct Piece: Sendable {
        var range: Range<Int>
        /// CRC-32 and length of the piece's uncompressed bytes.
        var crc: UInt32
        var length: Int
    }

    /// One gzip member, built from pieces. Each piece is compressed on its own (no match reaches
    /// into another piece) and ends on a byte boundary (a sync flush), so a piece depends on its
    /// input alone and can be copied from one member into another: ``CompressedExpositionCache``
    /// keeps a family's piece while the family does not change.
    final class Member {
        /// On the heap: zlib's state points back at its stream, which must not move.
        private let stream: UnsafeMutablePointer<z_stream>
        private var bytes: [UInt8]
        private var crc: UInt = 0
        private var length = 0

        init(capacity: Int, level: Int32 = 1) throws(Failure) {
            stream = .allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // windowBits -15: raw deflate, the header and trailer being written here.
            guard deflateInit2_(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                stream.deinitialize(count: 1)
                stream.deallocate()
                throw Failure()
            }
            // ID1 ID2, CM deflate, no flags, no time, no extra flags, OS Unix.
            bytes = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]
            bytes.reserveCapacity(capacity + 18)
        }

        deinit {
            deflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }

        /// Compresses `input` into a piece at the end of the member.
        @discardableResult
        func append(compressing input: [UInt8]) throws(Failure) -> Piece {
            guard deflateReset(stream) == Z_OK else { throw Failure() }
            let start = bytes.count
            // Room for the worst case, the sync flush's empty stored block and the bits before it.
            let room = Int(deflateBound(stream, UInt(input.count))) + 16
            bytes.append(contentsOf: repeatElement(0, count: room))
            let left: Int? = input.withUnsafeBytes { inBuffer in
                bytes.withUnsafeMutableBytes { outBuffer in
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
                bytes.removeSubrange(start...)
                throw Failure()
            }
            bytes.removeLast(left)
            let pieceCRC = input.withUnsafeBytes { UInt32(crc32(0, $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count))) }
            return add(Piece(range: start..<bytes.count, crc: pieceCRC, length: input.count))
        }

        /// Copies `piece` of another member's bytes.
        func append(_ piece: Piece, of member: [UInt8]) -> Piece {
            let start = bytes.count
            bytes.append(contentsOf: member[piece.range])
            return add(Piece(range: start..<bytes.count, crc: piece.crc, length: piece.length))
        }

        private func add(_ piece: Piece) -> Piece {
            crc = crc32_combine(crc, UInt(piece.crc), off_t(piece.length))
            length += piece.length
            return piece
        }

        /// The member's bytes, complete: a final empty block, the CRC-32 and the length (mod 2^32).
        /// The member is empty afterwards (its bytes are handed over, not copied).
        func finish() -> [UInt8] {
            bytes.append(contentsOf: [0x03, 0x00])  // a final fixed-Huffman block holding only its end
            for value in [UInt32(truncatingIfNeeded: crc), UInt32(truncatingIfNeeded: length)] {
                withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
            }
            defer { bytes = [] }
            return bytes
        }
    }
}
