import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// Authenticates `Authorization: Bearer <key>` against the ``KeyStore``, checks the route's
/// scope, and applies the per-key rate limit. Without a key store the gateway is open, and only
/// the rate limit (per client address) applies.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let keys: KeyStore?
    let limiter: ClientRateLimiter
    /// When the gateway runs open: the `Host` names it answers to (lowercase, without port), or
    /// nil for any. A web page that rebinds its own name to 127.0.0.1 sends its name as `Host`:
    /// refusing unknown names keeps such pages from reading, writing and purging through it.
    let allowedHosts: Set<String>?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let template = context.endpointPath
        guard let required = AccessPolicy.requiredScope(method: request.method, routeTemplate: template) else {
            return try await next(request, context)
        }
        if self.keys == nil, let allowedHosts {
            // No Host at all (HTTP/1.0) cannot come from a browser, which always names the host.
            let host = Self.hostName(request.head.authority ?? "")
            guard host.isEmpty || allowedHosts.contains(host) else {
                throw GatewayError.hostNotAllowed(host: Problem.printable(host, limit: 64))
            }
        }
        let client: String
        if let keys {
            guard let presented = Self.bearerToken(request), let record = keys.authenticate(presented) else {
                throw GatewayError.unauthenticated(detail: "Send a valid key as 'Authorization: Bearer <key>'.")
            }
            context.trace.update { $0.clientName = record.name }
            guard record.scope >= required else { throw GatewayError.insufficientScope(required: required.rawValue) }
            client = "key:" + record.name
        } else {
            client = "address:" + (context.remoteAddress?.ipAddress ?? "unknown")
        }
        context.trace.update { $0.clientIdentity = client }
        if let retryAfter = self.limiter.admit(client) {
            throw GatewayError.tooManyRequests(retryAfterSeconds: retryAfter)
        }
        return try await next(request, context)
    }

    /// The name in a `Host` header: lowercased, without its port; an IPv6 literal keeps its brackets off.
    static func hostName(_ header: String) -> String {
        let value = header.trimmingCharacters(in: .whitespaces).lowercased()
        if value.hasPrefix("["), let close = value.firstIndex(of: "]") {
            return String(value[value.index(after: value.startIndex)..<close])
        }
        return String(value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    static func bearerToken(_ request: Request) -> String? {
        guard let value = request.headers[.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}

/// A token bucket per client (key name, or address when the gateway is open). Answers at once:
/// a client over its rate is refused, not queued.
final class ClientRateLimiter: Sendable {
    private let buckets = Mutex<[String: TokenBucket]>([:])
    let ratePerSecond: Double
    let burst: Int
    private let time: TimeSource
    /// Forget idle clients past this many, so the map cannot grow without bound.
    static let maxTrackedClients = 10_000

    init(ratePerSecond: Double, burst: Int, time: TimeSource) {
        self.ratePerSecond = ratePerSecond
        self.burst = burst
        self.time = time
    }

    /// Nil when the request may go; otherwise the seconds to wait.
    func admit(_ client: String) -> Int? {
        let now = self.time.now()
        return self.buckets.withLock { buckets in
            if buckets[client] == nil, buckets.count >= Self.maxTrackedClients { buckets.removeAll(keepingCapacity: true) }
            var bucket = buckets[client] ?? TokenBucket(ratePerSecond: self.ratePerSecond, burst: self.burst)
            defer { buckets[client] = bucket }
            switch bucket.reserve(now: now, maxWait: .zero) {
            case .granted: return nil
            case .rejected(let retryAfter): return UpstreamExecutor.seconds(retryAfter)
            }
        }
    }
}
