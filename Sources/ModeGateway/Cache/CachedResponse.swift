import NIOCore

/// A transformed 200 answer as the cache keeps it: the body bytes, ready to send, and the
/// strong validator computed once when it was made.
public struct CachedResponse: Sendable {
    public let body: ByteBuffer
    /// A strong `ETag`, quoted: a digest of the body.
    public let etag: String

    public init(body: ByteBuffer) {
        self.body = body
        self.etag = Self.etag(for: body)
    }

    /// What the entry costs in memory: the body's storage plus a fixed allowance for the entry.
    var cost: Int { self.body.capacity + Self.entryOverhead }
    static let entryOverhead = 256

    /// The first 128 bits of the body's SHA-256, as 32 hex digits in quotes.
    static func etag(for body: ByteBuffer) -> String {
        let digest = body.withUnsafeReadableBytes { SHA256.hash($0) }
        var text = "\""
        text.reserveCapacity(34)
        for byte in digest.prefix(16) {
            text.unicodeScalars.append(Self.hex[Int(byte >> 4)])
            text.unicodeScalars.append(Self.hex[Int(byte & 0x0F)])
        }
        return text + "\""
    }

    private static let hex = Array("0123456789abcdef".unicodeScalars)
}
