import Logging

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
        var handles: GatewayMetrics.RequestMetrics?
        self.record(requestID: requestID, method: method, route: route, status: status, duration: duration, facts: facts, remembering: &handles)
    }

    /// ``record(requestID:method:route:status:duration:facts:)`` for a connection's requests,
    /// remembering the last request's metric handles (a polling client repeats its route and status).
    func record(
        requestID: String,
        method: String,
        route: String,
        status: Int,
        duration: Duration,
        facts: RequestTrace.Facts,
        remembering last: inout GatewayMetrics.RequestMetrics?
    ) {
        let handles: GatewayMetrics.RequestMetrics
        if let last, last.matches(route: route, method: method, status: status) {
            handles = last
        } else {
            handles = self.metrics.requestMetrics(route: route, method: method, status: status)
            last = handles
        }
        self.metrics.record(handles, duration: duration)
        self.writeLine(requestID: requestID, method: method, route: route, status: status, duration: duration, facts: facts)
    }

    private func writeLine(requestID: String, method: String, route: String, status: Int, duration: Duration, facts: RequestTrace.Facts) {
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
