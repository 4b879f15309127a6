import HTTPTypes
import Hummingbird
import Synchronization

/// Authenticates `Authorization: Bearer <key>` against the ``KeyStore``, checks the route's
/// scope, and applies the per-key rate limit, through the ``AccessGate`` that the fast path for
/// cache hits uses too. Without a key store the gateway is open, and only the rate limit (per
/// client address) applies.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let gate: AccessGate

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let required = AccessPolicy.requiredScope(method: request.method, routeTemplate: context.endpointPath) else {
            return try await next(request, context)
        }
        let identity = try self.gate.identify(
            authority: request.head.authority,
            fields: request.headers,
            address: context.remoteAddress?.ipAddress
        )
        context.trace.update {
            $0.clientName = identity.name
            $0.clientIdentity = identity.client
        }
        try self.gate.authorize(identity, required: required)
        try self.gate.admit(identity)
        return try await next(request, context)
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
            if buckets.count >= Self.maxTrackedClients, buckets[client] == nil { buckets.removeAll(keepingCapacity: true) }
            // Reserved in place: one hash of the client's name, on every request of every client.
            switch buckets[client, default: TokenBucket(ratePerSecond: self.ratePerSecond, burst: self.burst)].reserve(now: now, maxWait: .zero) {
            case .granted: return nil
            case .rejected(let retryAfter): return UpstreamExecutor.seconds(retryAfter)
            }
        }
    }
}
