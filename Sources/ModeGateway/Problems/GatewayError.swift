import HTTPTypes

/// Every way a request can fail, in the gateway's own terms. ``ProblemMiddleware`` is the one
/// place these become `application/problem+json` responses.
public enum GatewayError: Error, Sendable, Equatable {
    /// A path parameter is not a valid token.
    case invalidToken(parameter: String)
    /// A query parameter is unknown, repeated or malformed.
    case invalidQuery(parameter: String, reason: String)
    /// The query string is longer than the gateway reads.
    case queryTooLong(limit: Int)
    /// A request header is malformed.
    case invalidHeader(name: String, reason: String)
    /// The request body is unusable; `field` names the offending field, if any.
    case invalidBody(field: String?, reason: String)
    /// The request body is larger than the gateway accepts.
    case bodyTooLarge(limit: Int)
    /// No route matches the path.
    case routeNotFound(path: String)
    /// The route exists, but not for this method.
    case methodNotAllowed(allowed: [HTTPRequest.Method])
    /// Mode says the resource does not exist.
    case notFound(detail: String)
    /// Mode refused the request as invalid.
    case upstreamRejected(message: String)
    /// Mode forbids this resource to the gateway's credentials.
    case forbidden(detail: String)
    /// Mode refused the gateway's own credentials.
    case upstreamUnauthorized
    /// Mode failed, dropped the connection, could not be reached, or answered something unusable.
    case badGateway(detail: String)
    /// No connection to Mode could be made: the request provably never reached it.
    case upstreamUnreachable
    /// Mode did not answer in time.
    case gatewayTimeout(detail: String)
    /// The client asked for a representation this route does not serve.
    case notAcceptable(detail: String)
    /// The resource is not in a state that allows the request (a run not finished, or failed).
    case conflict(slug: String, title: String, detail: String)
    /// The `Idempotency-Key` was used before with a different request.
    case idempotencyKeyReused
    /// Mode (or the gateway's own protection of Mode) cannot take the request now.
    case unavailable(detail: String, retryAfterSeconds: Int)
    /// The gateway runs open and the request names a host it does not answer to.
    case hostNotAllowed(host: String)
    /// The client has no valid key.
    case unauthenticated(detail: String)
    /// The client's key does not reach this operation.
    case insufficientScope(required: String)
    /// The client sent too many requests.
    case tooManyRequests(retryAfterSeconds: Int)
    /// The gateway cannot serve yet (Mode unreachable, or refusing the credentials).
    case notReady(reason: String)
    /// A bug in the gateway; the detail is logged, never sent.
    case internalError(detail: String)
}

extension GatewayError {
    /// The problem document this error becomes.
    var problem: Problem {
        switch self {
        case .invalidToken(let parameter):
            Problem(
                status: .badRequest,
                slug: "invalid-token",
                title: "Invalid token",
                detail: "Path parameter '\(parameter)' must be 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'."
            )
        case .invalidQuery(let parameter, let reason):
            Problem(
                status: .badRequest,
                slug: "invalid-query",
                title: "Invalid query parameter",
                detail: "Query parameter '\(parameter)': \(reason)",
                extra: ["parameter": parameter]
            )
        case .queryTooLong(let limit):
            Problem(
                status: .uriTooLong,
                slug: "query-too-long",
                title: "Query too long",
                detail: "The query string is longer than \(limit) bytes."
            )
        case .invalidHeader(let name, let reason):
            Problem(
                status: .badRequest,
                slug: "invalid-header",
                title: "Invalid header",
                detail: "Header '\(name)': \(reason)",
                extra: ["header": name]
            )
        case .invalidBody(let field, let reason):
            Problem(
                status: .badRequest,
                slug: "invalid-body",
                title: "Invalid request body",
                detail: field.map { "Field '\($0)': \(reason)" } ?? reason,
                extra: field.map { ["field": $0] } ?? [:]
            )
        case .bodyTooLarge(let limit):
            Problem(
                status: .contentTooLarge,
                slug: "body-too-large",
                title: "Request body too large",
                detail: "The request body is larger than \(limit) bytes."
            )
        case .routeNotFound(let path):
            Problem(
                status: .notFound,
                slug: "route-not-found",
                title: "Not found",
                detail: "No route matches '\(Problem.printable(path))'."
            )
        case .methodNotAllowed(let allowed):
            Problem(
                status: .methodNotAllowed,
                slug: "method-not-allowed",
                title: "Method not allowed",
                detail: "This route allows \(allowed.map(\.rawValue).joined(separator: ", "))."
            )
        case .notFound(let detail):
            Problem(status: .notFound, slug: "not-found", title: "Not found", detail: detail)
        case .upstreamRejected(let message):
            Problem(status: .badRequest, slug: "rejected-by-mode", title: "Rejected by Mode", detail: message)
        case .forbidden(let detail):
            Problem(status: .forbidden, slug: "forbidden", title: "Forbidden", detail: detail)
        case .upstreamUnauthorized:
            Problem(
                status: .badGateway,
                slug: "upstream-credentials",
                title: "Bad gateway",
                detail: "Mode refused the gateway's credentials. The operator has been told."
            )
        case .badGateway(let detail):
            Problem(status: .badGateway, slug: "bad-gateway", title: "Bad gateway", detail: detail)
        case .upstreamUnreachable:
            Problem(status: .badGateway, slug: "bad-gateway", title: "Bad gateway", detail: "Mode could not be reached.")
        case .notAcceptable(let detail):
            Problem(status: .notAcceptable, slug: "not-acceptable", title: "Not acceptable", detail: detail)
        case .conflict(let slug, let title, let detail):
            Problem(status: .conflict, slug: slug, title: title, detail: detail)
        case .idempotencyKeyReused:
            Problem(
                status: .unprocessableContent,
                slug: "idempotency-key-reused",
                title: "Idempotency key reused",
                detail: "This Idempotency-Key was used with a different request; use a new key for a new request."
            )
        case .gatewayTimeout(let detail):
            Problem(status: .gatewayTimeout, slug: "gateway-timeout", title: "Gateway timeout", detail: detail)
        case .unavailable(let detail, _):
            Problem(status: .serviceUnavailable, slug: "unavailable", title: "Service unavailable", detail: detail)
        case .hostNotAllowed(let host):
            Problem(
                status: .misdirectedRequest,
                slug: "host-not-allowed",
                title: "Host not allowed",
                detail: "This gateway runs without client keys and answers only to the hosts in GATEWAY_ALLOWED_HOSTS, not '\(host)'."
            )
        case .unauthenticated(let detail):
            Problem(status: .unauthorized, slug: "unauthenticated", title: "Unauthenticated", detail: detail)
        case .insufficientScope(let required):
            Problem(
                status: .forbidden,
                slug: "insufficient-scope",
                title: "Insufficient scope",
                detail: "This operation needs a key with the '\(required)' scope."
            )
        case .tooManyRequests:
            Problem(
                status: .tooManyRequests,
                slug: "too-many-requests",
                title: "Too many requests",
                detail: "This key has sent more requests than its rate allows."
            )
        case .notReady(let reason):
            Problem(status: .serviceUnavailable, slug: "not-ready", title: "Not ready", detail: reason)
        case .internalError:
            Problem(
                status: .internalServerError,
                slug: "internal",
                title: "Internal error",
                detail: "The gateway failed to handle the request. It has been logged."
            )
        }
    }

    /// Headers that must accompany the problem.
    var headers: HTTPFields {
        var fields = HTTPFields()
        switch self {
        case .methodNotAllowed(let allowed):
            fields[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
        case .unavailable(_, let seconds), .tooManyRequests(let seconds):
            fields[.retryAfter] = String(seconds)
        case .unauthenticated:
            fields[.wwwAuthenticate] = "Bearer realm=\"mode-gateway\""
        case .insufficientScope(let required):
            fields[.wwwAuthenticate] = "Bearer realm=\"mode-gateway\", error=\"insufficient_scope\", scope=\"\(required)\""
        default:
            break
        }
        return fields
    }
}
