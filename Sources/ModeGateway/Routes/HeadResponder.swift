import Hummingbird

/// Answers HEAD on every GET route as GET would, without the body (RFC 9110 §9.3.2): the request
/// goes through the routes as GET, and the answer keeps its status and headers, `Content-Length`
/// included. The event loop's fast path answers HEAD hits the same way (``HitCore``).
struct HeadResponder<Base: HTTPResponder>: HTTPResponder where Base.Context == GatewayRequestContext {
    typealias Context = GatewayRequestContext

    let base: Base

    func respond(to request: Request, context: Context) async throws -> Response {
        guard request.method == .head else { return try await self.base.respond(to: request, context: context) }
        var head = request.head
        head.method = .get
        context.trace.update { $0.isHead = true }
        let response = try await self.base.respond(to: Request(head: head, body: request.body), context: context)
        // Not `createHeadResponse()`: its empty body says `Content-Length: 0` for an answer GET
        // would stream without a length. This one says what GET says, and writes nothing.
        return Response(
            status: response.status,
            headers: response.headers,
            body: ResponseBody(contentLength: response.body.contentLength) { writer in try await writer.finish(nil) }
        )
    }
}
