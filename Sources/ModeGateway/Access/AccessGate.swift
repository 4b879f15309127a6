import Foundation
import HTTPTypes

/// Who may make a request, and whether they are over their rate: the host check, the client key
/// and its scope, and the per-client limit. Synchronous, so that the router's middleware and the
/// event loop's fast path for cache hits (``HitCore``) decide the same way.
struct AccessGate: Sendable {
    let keys: KeyStore?
    let limiter: ClientRateLimiter
    /// When the gateway runs open: the `Host` names it answers to (lowercase, without port), or
    /// nil for any. A web page that rebinds its own name to 127.0.0.1 sends its name as `Host`:
    /// refusing unknown names keeps such pages from reading, writing and purging through it.
    let allowedHosts: Set<String>?

    /// Who a request comes from.
    struct Identity: Sendable {
        /// `key:<name>`, or `address:<ip>` when the gateway runs open: the per-client limits' key.
        var client: String
        /// The key's name, for logs; never the key.
        var name: String?
        var scope: Scope
    }

    /// The caller of a request to a route that needs `required`: its key, or its address when
    /// the gateway runs open.
    /// - Parameters:
    ///   - authority: the `Host` the request named.
    ///   - address: the peer's address, for a gateway that runs open.
    func identify(authority: String?, fields: HTTPFields, address: String?) throws(GatewayError) -> Identity {
        guard let keys else {
            if let allowedHosts {
                // No Host at all (HTTP/1.0) cannot come from a browser, which always names the host.
                let host = Self.hostName(authority ?? "")
                guard host.isEmpty || allowedHosts.contains(host) else {
                    throw .hostNotAllowed(host: Problem.printable(host, limit: 64))
                }
            }
            return Identity(client: "address:" + (address ?? "unknown"), name: nil, scope: .admin)
        }
        guard let presented = Self.bearerToken(fields), let record = keys.authenticate(presented) else {
            throw .unauthenticated(detail: "Send a valid key as 'Authorization: Bearer <key>'.")
        }
        return Identity(client: "key:" + record.name, name: record.name, scope: record.scope)
    }

    /// What one connection was last identified as: for a connection that repeats its `Host` and
    /// `Authorization`, as clients do, ``identify(authority:fields:address:remembering:)`` is a
    /// comparison. The keys and allowed hosts never change while the gateway runs, and the
    /// address is the connection's.
    struct Remembered {
        fileprivate let authority: String?
        fileprivate let authorization: String?
        fileprivate let identity: Identity
    }

    /// ``identify(authority:fields:address:)`` for a connection's requests, remembering the last
    /// identity. It reads exactly what that function reads: the `Host`, `Authorization` and the
    /// address (fixed for a connection).
    func identify(authority: String?, fields: HTTPFields, address: String?, remembering last: inout Remembered?) throws(GatewayError) -> Identity {
        let authorization = fields[.authorization]
        if let last, last.authority == authority, Self.sameSecret(last.authorization, authorization) { return last.identity }
        let identity = try self.identify(authority: authority, fields: fields, address: address)
        last = Remembered(authority: authority, authorization: authorization, identity: identity)
        return identity
    }

    /// Whether two `Authorization` values are the same, looking at every byte of equal-length
    /// values: a connection pooled by a proxy may carry several clients' keys, and the time taken
    /// must not say where a guess first differed (``KeyStore`` compares digests the same way).
    static func sameSecret(_ first: String?, _ second: String?) -> Bool {
        guard let first, let second else { return first == nil && second == nil }
        let (a, b) = (first.utf8, second.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    /// Refuses an identity whose scope is below what the route needs.
    func authorize(_ identity: Identity, required: Scope) throws(GatewayError) {
        guard identity.scope >= required else { throw .insufficientScope(required: required.rawValue) }
    }

    /// Charges the client for one request; refuses it when it is over its rate (nothing is charged then).
    func admit(_ identity: Identity) throws(GatewayError) {
        if let retryAfter = self.limiter.admit(identity.client) {
            throw .tooManyRequests(retryAfterSeconds: retryAfter)
        }
    }

    /// The name in a `Host` header: lowercased, without its port; an IPv6 literal keeps its brackets off.
    static func hostName(_ header: String) -> String {
        let utf8 = header.utf8
        if utf8.allSatisfy({ $0 < 0x80 }) {
            // The usual case, read as bytes: Foundation's trimming and lowercasing cost more than
            // the rest of a cache hit.
            let isBlank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            var bytes = utf8[...]
            while let first = bytes.first, isBlank(first) { bytes = bytes.dropFirst() }
            while let last = bytes.last, isBlank(last) { bytes = bytes.dropLast() }
            if bytes.first == UInt8(ascii: "["), let close = bytes.firstIndex(of: UInt8(ascii: "]")) {
                bytes = bytes[bytes.index(after: bytes.startIndex)..<close]
            } else if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
                bytes = bytes[..<colon]
            }
            return String(unsafeUninitializedCapacity: bytes.count) { out in
                for (index, byte) in bytes.enumerated() { out[index] = byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte }
                return bytes.count
            }
        }
        let value = header.trimmingCharacters(in: .whitespaces).lowercased()
        if value.hasPrefix("["), let close = value.firstIndex(of: "]") {
            return String(value[value.index(after: value.startIndex)..<close])
        }
        return String(value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    static func bearerToken(_ fields: HTTPFields) -> String? {
        guard let value = fields[.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
