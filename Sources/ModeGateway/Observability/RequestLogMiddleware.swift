import Hummingbird
import Logging

/// Writes one log line per request and records its metrics, through ``RequestLog``.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let log: RequestLog

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let facts = context.trace.snapshot
        self.log.record(
            requestID: context.requestID,
            // A HEAD request reaches the routes as GET (see ``HeadResponder``).
            method: facts.isHead ? "HEAD" : request.method.rawValue,
            // Route templates only: a raw path would put tokens in metric labels.
            route: facts.route ?? context.endpointPath ?? "unmatched",
            status: response.status.code,
            duration: ContinuousClock.now - started,
            facts: facts
        )
        return response
    }
}

/// The request log line and the request metrics: one function for every path that answers,
/// the router's and the event loop's fast path for cache hits.
struct RequestLog: Sendable {
    let metrics: GatewayMetrics
    /// The application's logger, without per-request metadata: the line is the same whichever
    /// path answered.
    let logger: Logger
    /// Whether the line is written: read once, since the level is set at start (reading it per
    /// request copies the log handler).
    private let writesLines: Bool

    init(metrics: GatewayMetrics, logger: Logger) {
        self.metrics = metrics
        self.logger = logger
        self.writesLines = logger.logLevel <= .info
    }

    /// Records one answered request: request id, method, route template, status, duration,
    /// cache status, upstream calls and status, and the client key's name.
    func record(requestID: String, method: String, route: String, status: Int, duration: Duration, facts: RequestTrace.Facts) {
        self.metrics.recordRequest(route: route, method: method, status: status, duration: duration)
        guard self.writesLines else { return }
        var metadata: Logger.Metadata = [
            "request_id": .string(requestID),
            "method": .string(method),
            "route": .string(route),
            "status": .stringConvertible(status),
            "duration_ms": .string(Self.milliseconds(duration)),
            "upstream_calls": .stringConvertible(facts.upstreamCalls),
        ]
        if let cache = facts.cacheStatus { metadata["cache"] = .string(cache) }
        if let status = facts.lastUpstreamStatus { metadata["upstream_status"] = .stringConvertible(status) }
        if let client = facts.clientName { metadata["client"] = .string(client) }
        self.logger.info("request", metadata: metadata)
    }

    static func milliseconds(_ duration: Duration) -> String {
        let micros = GatewayMetrics.nanoseconds(duration) / 1000
        let fraction = String(micros % 1000)
        return "\(micros / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
