import Hummingbird

/// `/openapi.yaml`, `/openapi.json` and `/docs`: the document, served from memory.
struct SpecRoutes: Sendable {
    let document: SpecDocument

    static let paths = ["/openapi.yaml", "/openapi.json", "/docs"]

    func register(on router: Router<GatewayRequestContext>) {
        self.serve("/openapi.yaml", type: "application/yaml", body: self.document.yaml, on: router)
        self.serve("/openapi.json", type: "application/json", body: self.document.json, on: router)
        self.serve("/docs", type: "text/html; charset=utf-8", body: self.document.html, on: router)
    }

    private func serve(_ path: String, type: String, body: ByteBuffer, on router: Router<GatewayRequestContext>) {
        router.get(RouterPath(path)) { _, context -> Response in
            context.trace.update { $0.route = path }
            return Response(status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=300"], body: .init(byteBuffer: body))
        }
    }
}
