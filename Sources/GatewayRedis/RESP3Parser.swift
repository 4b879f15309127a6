import NIOCore

/// An incremental RESP3 parser: it reads one complete value from the front of a buffer, or
/// nothing when the value has not fully arrived, so it can be fed a stream cut anywhere.
///
/// Input that is not RESP3 throws, and the caller closes the connection: replies are matched to
/// commands by position, so after one bad byte nothing that follows can be trusted. Every length
/// and nesting depth is bounded, so a hostile or broken peer cannot make it allocate without limit.
public struct RESP3Parser: Sendable {
    /// The largest bulk string accepted.
    public var maxBulkLength: Int
    /// The most elements in one aggregate.
    public var maxElements = 1 << 20
    /// The deepest nesting of aggregates.
    public var maxDepth = 16
    /// The longest line (simple strings, errors, numbers).
    public var maxLineLength = 64 * 1024

    public init(maxBulkLength: Int = 512 * 1024 * 1024) {
        self.maxBulkLength = maxBulkLength
    }

    /// Reads one value. Returns nil, consuming nothing, when the value is not complete yet.
    public func parse(_ buffer: inout ByteBuffer) throws(RedisError) -> RESP3Value? {
        var cursor = buffer
        guard let value = try self.value(&cursor, depth: 0) else { return nil }
        buffer = cursor
        return value
    }

    private func value(_ buffer: inout ByteBuffer, depth: Int) throws(RedisError) -> RESP3Value? {
        guard depth <= self.maxDepth else { throw .protocolError("nesting too deep") }
        guard let marker = buffer.readInteger(as: UInt8.self) else { return nil }
        switch marker {
        case UInt8(ascii: "+"):
            return try self.line(&buffer).map { .simpleString($0) }
        case UInt8(ascii: "-"):
            return try self.line(&buffer).map { .error($0) }
        case UInt8(ascii: ":"):
            guard let text = try self.line(&buffer) else { return nil }
            guard let value = Int64(text) else { throw .protocolError("bad integer") }
            return .integer(value)
        case UInt8(ascii: ","):
            guard let text = try self.line(&buffer) else { return nil }
            switch text {
            case "inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan": return .double(.nan)
            default:
                guard let value = Double(text) else { throw .protocolError("bad double") }
                return .double(value)
            }
        case UInt8(ascii: "#"):
            guard let text = try self.line(&buffer) else { return nil }
            switch text {
            case "t": return .boolean(true)
            case "f": return .boolean(false)
            default: throw .protocolError("bad boolean")
            }
        case UInt8(ascii: "("):
            guard let text = try self.line(&buffer) else { return nil }
            guard !text.isEmpty, text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") }) else {
                throw .protocolError("bad big number")
            }
            return .bigNumber(text)
        case UInt8(ascii: "_"):
            guard let text = try self.line(&buffer) else { return nil }
            guard text.isEmpty else { throw .protocolError("bad null") }
            return .null
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            guard let length = try self.length(&buffer, allowNull: marker == UInt8(ascii: "$")) else { return nil }
            guard length >= 0 else { return .null }
            guard length <= self.maxBulkLength else { throw .protocolError("bulk string too long") }
            guard buffer.readableBytes >= length + 2, var bytes = buffer.readSlice(length: length) else { return nil }
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw .protocolError("bulk string not ended by CRLF") }
            if marker == UInt8(ascii: "!") { return .error(String(buffer: bytes)) }
            if marker == UInt8(ascii: "=") {
                // A verbatim string starts with its three-letter format and a colon.
                guard length >= 4 else { throw .protocolError("bad verbatim string") }
                bytes.moveReaderIndex(forwardBy: 4)
            }
            return .bulkString(bytes)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            guard let count = try self.length(&buffer, allowNull: marker == UInt8(ascii: "*")) else { return nil }
            guard count >= 0 else { return .null }
            guard count <= self.maxElements else { throw .protocolError("aggregate too large") }
            var values: [RESP3Value] = []
            values.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                guard let element = try self.value(&buffer, depth: depth + 1) else { return nil }
                values.append(element)
            }
            return marker == UInt8(ascii: ">") ? .push(values) : .array(values)
        case UInt8(ascii: "%"):
            guard let count = try self.length(&buffer, allowNull: false) else { return nil }
            guard count <= self.maxElements else { throw .protocolError("aggregate too large") }
            var values: [RESP3Value: RESP3Value] = [:]
            for _ in 0..<count {
                guard let key = try self.value(&buffer, depth: depth + 1), let value = try self.value(&buffer, depth: depth + 1) else {
                    return nil
                }
                values[key] = value
            }
            return .map(values)
        case UInt8(ascii: "|"):
            // Attributes describe the reply that follows; the gateway has no use for them.
            guard let count = try self.length(&buffer, allowNull: false) else { return nil }
            guard count <= self.maxElements else { throw .protocolError("aggregate too large") }
            for _ in 0..<(count * 2) {
                guard try self.value(&buffer, depth: depth + 1) != nil else { return nil }
            }
            // Counted as a level: a run of attributes would otherwise recurse without bound.
            return try self.value(&buffer, depth: depth + 1)
        default:
            throw .protocolError("unknown type byte \(marker)")
        }
    }

    /// The text up to the next CRLF, or nil when the CRLF has not arrived.
    private func line(_ buffer: inout ByteBuffer) throws(RedisError) -> String? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: 0x0D) else {
            if view.count > self.maxLineLength { throw .protocolError("line too long") }
            return nil
        }
        let length = cr - view.startIndex
        guard length <= self.maxLineLength else { throw .protocolError("line too long") }
        guard buffer.readableBytes >= length + 2 else { return nil }
        let text = buffer.readString(length: length) ?? ""
        guard buffer.readInteger(as: UInt8.self) == 0x0D, buffer.readInteger(as: UInt8.self) == 0x0A else {
            throw .protocolError("line not ended by CRLF")
        }
        return text
    }

    /// A length or count; -1 only where RESP allows a null.
    private func length(_ buffer: inout ByteBuffer, allowNull: Bool) throws(RedisError) -> Int? {
        guard let text = try self.line(&buffer) else { return nil }
        if text == "?" { throw .protocolError("streamed aggregates are not supported") }
        guard let value = Int(text), value >= (allowNull ? -1 : 0) else { throw .protocolError("bad length") }
        return value
    }
}
