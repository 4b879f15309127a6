import Hummingbird
import Logging

/// Writes one log line per request and records its metrics: request id, method, route
/// template, status, duration, cache status, upstream calls and status, and the client key's name.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let metrics: GatewayMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let duration = ContinuousClock.now - started
        let facts = context.trace.snapshot
        // Route templates only: a raw path would put tokens in metric labels.
        let route = facts.route ?? context.endpointPath ?? "unmatched"
        self.metrics.recordRequest(route: route, method: request.method.rawValue, status: response.status.code, duration: duration)
        guard context.logger.logLevel <= .info else { return response }
        var metadata: Logger.Metadata = [
            "request_id": .string(context.requestID),
            "method": .string(request.method.rawValue),
            "route": .string(route),
            "status": .stringConvertible(response.status.code),
            "duration_ms": .string(Self.milliseconds(duration)),
            "upstream_calls": .stringConvertible(facts.upstreamCalls),
        ]
        if let cache = facts.cacheStatus { metadata["cache"] = .string(cache) }
        if let status = facts.lastUpstreamStatus { metadata["upstream_status"] = .stringConvertible(status) }
        if let client = facts.clientName { metadata["client"] = .string(client) }
        context.logger.info("request", metadata: metadata)
        return response
    }

    static func milliseconds(_ duration: Duration) -> String {
        let micros = GatewayMetrics.nanoseconds(duration) / 1000
        let fraction = String(micros % 1000)
        return "\(micros / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
