import Hummingbird
import Logging
import NIOCore

/// The one place an error becomes a response: every ``GatewayError`` and anything else thrown
/// below this middleware turns into an `application/problem+json` body with the request id.
/// Unexpected errors are logged in full and answered with a plain 500 problem.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as GatewayError {
            return Self.response(for: error, context: context)
        } catch let error as HTTPError {
            return Self.response(for: Self.translate(error, request: request), context: context)
        } catch is NIOTooManyBytesError {
            return Self.response(for: .bodyTooLarge(limit: context.maxUploadSize), context: context)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            return Self.response(for: .bodyTooLarge(limit: context.maxUploadSize), context: context)
        } catch {
            context.logger.error(
                "Unhandled error",
                metadata: ["error": "\(String(reflecting: type(of: error)))", "request_id": "\(context.requestID)"]
            )
            return Self.response(for: .internalError(detail: "\(error)"), context: context)
        }
    }

    /// Hummingbird's own errors (an unknown route, mostly) in the gateway's terms.
    static func translate(_ error: HTTPError, request: Request) -> GatewayError {
        switch error.status {
        case .notFound: .routeNotFound(path: request.uri.path)
        case .contentTooLarge: .bodyTooLarge(limit: RequestBody.maxBytes)
        case .badRequest: .invalidBody(field: nil, reason: error.body ?? "The request is malformed.")
        default: .internalError(detail: "\(error)")
        }
    }

    static func response(for error: GatewayError, context: Context) -> Response {
        let problem = error.problem
        if case .upstreamUnauthorized = error {
            context.logger.error(
                "Mode refused the gateway's credentials (401); check MODE_API_TOKEN and MODE_API_SECRET.",
                metadata: ["request_id": "\(context.requestID)"]
            )
        } else if case .internalError(let detail) = error {
            context.logger.error("Internal error", metadata: ["detail": "\(detail)", "request_id": "\(context.requestID)"])
        }
        var headers = error.headers
        headers[.contentType] = Problem.mediaType
        headers[.cacheControl] = "no-store"
        return Response(
            status: problem.status,
            headers: headers,
            body: .init(byteBuffer: problem.body(requestID: context.requestID))
        )
    }
}
