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
