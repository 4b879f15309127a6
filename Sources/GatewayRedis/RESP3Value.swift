import NIOCore

/// One RESP3 reply, as far as the gateway needs to tell replies apart.
///
/// Simple strings, bulk strings and verbatim strings all arrive as bytes or text; sets arrive as
/// arrays; attributes are skipped by the parser. Push frames (`>`) are kept apart from replies,
/// since they are not answers to a command.
public enum RESP3Value: Sendable, Equatable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case double(Double)
    case boolean(Bool)
    case bigNumber(String)
    case bulkString(ByteBuffer)
    case null
    case array([RESP3Value])
    case map([RESP3Value: RESP3Value])
    case push([RESP3Value])

    /// The value as text, for simple, bulk and verbatim strings and big numbers.
    public var string: String? {
        switch self {
        case .simpleString(let text), .bigNumber(let text): text
        case .bulkString(let bytes): String(buffer: bytes)
        default: nil
        }
    }

    /// The value as a number, for integers and for strings that hold one.
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .simpleString, .bulkString: self.string.flatMap { Int64($0) }
        default: nil
        }
    }

    /// The elements of an array, a set or a push frame.
    public var elements: [RESP3Value]? {
        switch self {
        case .array(let values), .push(let values): values
        default: nil
        }
    }
}

extension RESP3Value: Hashable {
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .simpleString(let text), .error(let text), .bigNumber(let text): hasher.combine(text)
        case .integer(let value): hasher.combine(value)
        case .double(let value): hasher.combine(value)
        case .boolean(let value): hasher.combine(value)
        // The bytes, not only the length: a map of many equal-length keys must not collide.
        case .bulkString(let bytes): bytes.withUnsafeReadableBytes { hasher.combine(bytes: $0) }
        case .null: hasher.combine(0)
        case .array(let values), .push(let values): hasher.combine(values)
        case .map(let values):
            // Order-independent, as map equality is.
            var combined = 0
            for (key, value) in values {
                var member = Hasher()
                member.combine(key)
                member.combine(value)
                combined ^= member.finalize()
            }
            hasher.combine(combined)
        }
    }
}

/// What can go wrong between the gateway and Redis. Messages never carry a password.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection is up; one is being made in the background.
    case notConnected
    /// The command had no answer within its deadline; its connection was closed.
    case timedOut
    /// The connection closed before the answer came.
    case connectionClosed
    /// Redis sent bytes that are not RESP3.
    case protocolError(String)
    /// Redis answered with an error reply.
    case server(String)

    public var description: String {
        switch self {
        case .notConnected: "not connected to Redis"
        case .timedOut: "Redis did not answer in time"
        case .connectionClosed: "the connection to Redis closed"
        case .protocolError(let reason): "Redis sent invalid RESP3 (\(reason))"
        case .server(let message): "Redis answered: \(message)"
        }
    }
}

/// Encodes commands as RESP arrays of bulk strings, the one form Redis accepts from clients.
public enum RESP3Command {
    public static func encode(_ arguments: [RedisArgument], into buffer: inout ByteBuffer) {
        buffer.writeStaticString("*")
        buffer.writeString(String(arguments.count))
        buffer.writeStaticString("\r\n")
        for argument in arguments {
            switch argument {
            case .string(let text):
                buffer.writeStaticString("$")
                buffer.writeString(String(text.utf8.count))
                buffer.writeStaticString("\r\n")
                buffer.writeString(text)
            case .bytes(let bytes):
                buffer.writeStaticString("$")
                buffer.writeString(String(bytes.readableBytes))
                buffer.writeStaticString("\r\n")
                var copy = bytes
                buffer.writeBuffer(&copy)
            }
            buffer.writeStaticString("\r\n")
        }
    }
}

/// One argument of a command: text or raw bytes.
public enum RedisArgument: Sendable, ExpressibleByStringLiteral {
    case string(String)
    case bytes(ByteBuffer)

    public init(stringLiteral value: String) { self = .string(value) }
}
