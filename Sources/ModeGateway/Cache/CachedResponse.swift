import NIOCore

/// A transformed 200 answer as the cache keeps it: the body bytes, ready to send, and the
/// strong validator computed once when it was made.
public struct CachedResponse: Sendable {
    public let body: ByteBuffer
    /// The first 128 bits of the body's SHA-256; kept as numbers, which cost no allocation.
    private let digest: (UInt64, UInt64)

    /// Whether the answer may be kept: a list cut short is served, never stored as if whole.
    public let isStorable: Bool

    public init(body: ByteBuffer, isStorable: Bool = true) {
        self.body = body
        self.isStorable = isStorable
        self.digest = Self.digest(body.withUnsafeReadableBytes { SHA256.hash($0) })
    }

    /// A strong `ETag`: 32 hex digits of the digest, in quotes.
    public var etag: String { Self.etag(self.digest) }

    /// A strong `ETag` for an entity named by `identity` rather than by its bytes (rows that are
    /// streamed before they are all known, but never change).
    static func etag(identifying identity: String) -> String {
        Self.etag(Self.digest(SHA256.hash(Array(identity.utf8))))
    }

    private static func digest(_ hash: [UInt8]) -> (UInt64, UInt64) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<8 {
            high = high << 8 | UInt64(hash[index])
            low = low << 8 | UInt64(hash[index + 8])
        }
        return (high, low)
    }

    private static func etag(_ digest: (UInt64, UInt64)) -> String {
        String(unsafeUninitializedCapacity: 34) { buffer in
            buffer[0] = UInt8(ascii: "\"")
            HexDigits.write(digest.0, into: buffer, at: 1)
            HexDigits.write(digest.1, into: buffer, at: 17)
            buffer[33] = UInt8(ascii: "\"")
            return 34
        }
    }

    /// An estimate of what the entry costs in memory: the body's storage, and the entry's own
    /// bookkeeping (the buffer's storage object, the key, the store's node and index).
    var cost: Int { self.body.capacity + Self.entryOverhead }
    static let entryOverhead = 256
}
