import Hummingbird
import NIOCore

/// `/healthz`, `/readyz` and `/metrics`: what operators and orchestrators ask the gateway.
struct OperationsRoutes: Sendable {
    let readiness: Readiness
    let metrics: GatewayMetrics
    let cache: ResponseCache
    let upstream: UpstreamExecutor

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/healthz") { _, context -> Response in
            context.trace.update { $0.route = "/healthz" }
            return Self.json("{\"status\":\"ok\"}")
        }
        router.get("/readyz") { _, context -> Response in
            context.trace.update { $0.route = "/readyz" }
            switch await self.readiness.check() {
            case .ready: return Self.json("{\"status\":\"ready\"}")
            case .notReady(let reason): throw GatewayError.notReady(reason: reason)
            }
        }
        router.get("/metrics") { _, context -> Response in
            context.trace.update { $0.route = "/metrics" }
            let text = self.metrics.render(cache: self.cache.statistics, upstream: self.upstream.statistics)
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
