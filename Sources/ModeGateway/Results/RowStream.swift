import NIOCore

/// Turns Mode's content, chunk by chunk as it arrives, into the bytes the client gets: a leading
/// UTF-8 byte-order mark removed, and NDJSON split out of a JSON array. Memory is bounded by one
/// chunk, whatever the size of the rows.
struct RowStream {
    /// Why the rows could not be passed on.
    enum Failure: Error, Equatable {
        /// The JSON is not an array of values (for NDJSON).
        case malformed
    }

    private let format: ResultFormat
    /// The first bytes, held until it is known whether they are a byte-order mark.
    private var head: [UInt8] = []
    private var pastHead = false
    private var splitter = NDJSONSplitter()

    init(format: ResultFormat) {
        self.format = format
    }

    /// The client's bytes for one chunk of Mode's content (possibly none yet).
    mutating func feed(_ chunk: ByteBuffer) throws(Failure) -> ByteBuffer {
        var chunk = chunk
        if !self.pastHead {
            while self.head.count < 3, let byte = chunk.readInteger(as: UInt8.self) { self.head.append(byte) }
            guard self.head.count == 3 else { return ByteBuffer() }
            self.pastHead = true
            var joined = ByteBuffer(bytes: self.head == [0xEF, 0xBB, 0xBF] ? [] : self.head)
            joined.writeImmutableBuffer(chunk)
            chunk = joined
        }
        return try self.emit(chunk)
    }

    /// The client's last bytes, once Mode's content has ended.
    mutating func finish() throws(Failure) -> ByteBuffer {
        var rest = ByteBuffer()
        if !self.pastHead {
            self.pastHead = true
            rest = try self.emit(ByteBuffer(bytes: self.head == [0xEF, 0xBB, 0xBF] ? [] : self.head))
        }
        if self.format == .ndjson, !self.splitter.isComplete { throw .malformed }
        return rest
    }

    private mutating func emit(_ chunk: ByteBuffer) throws(Failure) -> ByteBuffer {
        self.format == .ndjson ? try self.splitter.split(chunk) : chunk
    }
}

/// Splits a JSON array, fed in chunks, into its elements, one per line. It tracks only strings,
/// escapes and nesting, so each element's bytes are copied as Mode wrote them.
struct NDJSONSplitter {
    private enum Place {
        /// Before the opening `[`.
        case start
        /// Inside the array, between elements.
        case between
        /// Inside an element, at this nesting depth (0 for a scalar).
        case element(depth: Int)
        /// After the closing `]`.
        case end
    }

    private var place = Place.start
    private var inString = false
    private var escaped = false

    var isComplete: Bool {
        if case .end = self.place { return true }
        return false
    }

    mutating func split(_ chunk: ByteBuffer) throws(RowStream.Failure) -> ByteBuffer {
        var output = ByteBuffer()
        output.reserveCapacity(chunk.readableBytes + 64)
        let failed: Bool = chunk.withUnsafeReadableBytes { bytes in
            var runStart = -1
            func flush(upTo index: Int) {
                if runStart >= 0 {
                    output.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
                    runStart = -1
                }
            }
            for index in bytes.indices {
                let byte = bytes[index]
                switch self.place {
                case .start:
                    if Self.isSpace(byte) { continue }
                    guard byte == UInt8(ascii: "[") else { return true }
                    self.place = .between
                case .between:
                    if Self.isSpace(byte) || byte == UInt8(ascii: ",") { continue }
                    if byte == UInt8(ascii: "]") {
                        self.place = .end
                        continue
                    }
                    runStart = index
                    switch byte {
                    case UInt8(ascii: "{"), UInt8(ascii: "["): self.place = .element(depth: 1)
                    case UInt8(ascii: "\""):
                        self.place = .element(depth: 0)
                        self.inString = true
                    default: self.place = .element(depth: 0)
                    }
                case .element(let depth):
                    if runStart < 0 { runStart = index }
                    if self.inString {
                        if self.escaped {
                            self.escaped = false
                        } else if byte == UInt8(ascii: "\\") {
                            self.escaped = true
                        } else if byte == UInt8(ascii: "\"") {
                            self.inString = false
                        }
                        continue
                    }
                    if depth > 0, Self.isSpace(byte) {
                        // Whitespace between tokens would break the element over lines: leave it out.
                        flush(upTo: index)
                        continue
                    }
                    if depth == 0, byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") || Self.isSpace(byte) {
                        // The end of a scalar element; the delimiter is not part of it.
                        flush(upTo: index)
                        output.writeInteger(UInt8(ascii: "\n"))
                        self.place = byte == UInt8(ascii: "]") ? .end : .between
                        continue
                    }
                    switch byte {
                    case UInt8(ascii: "\""): self.inString = true
                    case UInt8(ascii: "{"), UInt8(ascii: "["): self.place = .element(depth: depth + 1)
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        guard depth > 0 else { return true }
                        if depth > 1 {
                            self.place = .element(depth: depth - 1)
                        } else {
                            flush(upTo: index + 1)
                            output.writeInteger(UInt8(ascii: "\n"))
                            self.place = .between
                        }
                    default: break
                    }
                case .end:
                    if !Self.isSpace(byte) { return true }
                }
            }
            if case .element = self.place { flush(upTo: bytes.count) }
            return false
        }
        if failed { throw .malformed }
        return output
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
