import Hummingbird
import NIOCore

/// `/healthz`, `/readyz` and `/metrics`: what operators and orchestrators ask the gateway.
struct OperationsRoutes: Sendable {
    let readiness: Readiness
    /// Redis, when replicas share state through it.
    let fleet: Fleet?
    let metrics: GatewayMetrics
    let cache: ResponseCache
    let upstream: UpstreamExecutor
    let time: TimeSource

    /// `{"status": "ready", "mode": {…}}`: the gateway can serve; what it knows of Mode beside it.
    func readinessBody(_ mode: Readiness.ModeState) -> String {
        func flag(_ value: Bool?) -> String { value.map { $0 ? "true" : "false" } ?? "null" }
        let breaker = ["closed", "half_open", "open"][min(2, max(0, self.upstream.statistics.breakerState))]
        var json = "{\"status\":\"ready\",\"mode\":{\"reachable\":\(flag(mode.reachable)),\"credentials_valid\":\(flag(mode.credentialsValid))"
        json += ",\"breaker\":\"\(breaker)\""
        let sinceSuccess = mode.lastSuccess.map { CacheHeaders.wholeSeconds(self.time.now() - $0) }
        json += ",\"seconds_since_success\":" + (sinceSuccess.map(String.init) ?? "null")
        json += ",\"detail\":" + (mode.detail.map(JSONText.quoted) ?? "null") + "}"
        if let fleet = self.fleet {
            json += ",\"redis\":{\"connected\":\(fleet.isConnected),\"subscribed\":\(fleet.subscriber.isSubscribed)"
            json += ",\"queued_invalidations\":\(fleet.queuedBumps)"
            json += ",\"detail\":" + (fleet.client.lastError.map(JSONText.quoted) ?? "null") + "}"
        }
        return json + "}"
    }

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/healthz") { _, context -> Response in
            context.trace.update { $0.route = "/healthz" }
            return Self.json("{\"status\":\"ok\"}")
        }
        router.get("/readyz") { _, context -> Response in
            context.trace.update { $0.route = "/readyz" }
            // Only when Mode decides readiness does a probe wait for Mode's answer.
            let mode = self.readiness.requiresMode ? await self.readiness.check() : self.readiness.latest()
            // Redis must have been reached once, which proves its address and password. Losing
            // it later does not make the gateway unready: every replica would drop out together,
            // and each can still serve (see "When Redis fails" in the README).
            if let fleet = self.fleet, !fleet.client.hasConnected {
                throw GatewayError.notReady(reason: "Redis has not been reached yet (\(fleet.client.lastError ?? "connecting")).")
            }
            if self.readiness.requiresMode, !mode.isUsable {
                throw GatewayError.notReady(reason: mode.detail ?? "Mode is not usable.")
            }
            return Self.json(self.readinessBody(mode))
        }
        router.get("/metrics") { _, context -> Response in
            context.trace.update { $0.route = "/metrics" }
            let text = self.metrics.render(
                cache: self.cache.statistics,
                upstream: self.upstream.statistics,
                mode: self.readiness.lastKnown,
                fleet: self.fleet
            )
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: text))
            )
        }
    }

    static func json(_ text: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}
