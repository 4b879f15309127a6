import AsyncHTTPClient
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Why a call to Mode got no HTTP answer.
enum UpstreamFailure: Error, Equatable {
    /// No connection was made: the request provably never reached Mode.
    case connectFailed
    /// The connection closed before a whole answer came.
    case connectionDropped
    /// The deadline passed.
    case timedOut
    /// The answer was larger than the gateway accepts.
    case responseTooLarge
    /// Anything else the transport reported.
    case other

    /// The `status` label of the upstream metrics for this failure.
    var metricLabel: String {
        switch self {
        case .connectFailed: "connect_failed"
        case .connectionDropped: "dropped"
        case .timedOut: "timeout"
        case .responseTooLarge: "too_large"
        case .other: "error"
        }
    }

    var gatewayError: GatewayError {
        switch self {
        case .connectFailed: .upstreamUnreachable
        case .connectionDropped: .badGateway(detail: "Mode closed the connection before answering.")
        case .timedOut: .gatewayTimeout(detail: "Mode did not answer in time.")
        case .responseTooLarge: .badGateway(detail: "Mode's answer was larger than the gateway accepts.")
        case .other: .badGateway(detail: "The request to Mode failed.")
        }
    }
}

/// Sends ``UpstreamRequest``s to Mode with the operator's credentials: one HTTP exchange, no
/// retries (``UpstreamExecutor`` decides those).
///
/// Answers read whole (every HAL call) go over the gateway's own keep-alive connections
/// (``UpstreamConnections``); streamed answers (rows, CSV, PDF) go through AsyncHTTPClient, for
/// its flow control and read timeout while a client reads them.
///
/// Headers are built from an allow-list here and nowhere else: `Authorization` (basic, from
/// ``ModeCredentials``), `Accept: application/hal+json` (`*/*` for a stream), `User-Agent`, and
/// `Content-Type` for a body; both transports add `Accept-Encoding` and decode what comes.
/// Nothing of the client's request is forwarded.
public struct ModeClient: Sendable {
    let httpClient: HTTPClient
    let connections: UpstreamConnections
    let baseURL: String
    let authorization: String
    let maxResponseBytes: Int
    let logger: Logger

    /// - Throws: ``ConfigurationError`` when `baseURL` is not an `http://` or `https://` URL
    ///   without user info, query or fragment, or TLS cannot be set up.
    public init(
        httpClient: HTTPClient,
        baseURL: String,
        credentials: ModeCredentials,
        maxResponseBytes: Int,
        connectTimeout: Duration = .seconds(5),
        logger: Logger
    ) throws {
        guard let origin = UpstreamConnections.Origin(url: baseURL) else {
            throw ConfigurationError(key: "mode.api.url", reason: "must be an http:// or https:// URL, without user info, query or fragment.")
        }
        self.httpClient = httpClient
        self.connections = try UpstreamConnections(origin: origin, connectTimeout: TimeAmount(connectTimeout), maxResponseBytes: maxResponseBytes)
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.authorization = credentials.authorization
        self.maxResponseBytes = maxResponseBytes
        self.logger = logger
    }

    /// Sends one request and reads the whole answer (or, for a stream, its head) before
    /// `timeout` passes. HTTP statuses are returned as they are, for the caller to judge.
    func send(_ request: UpstreamRequest, timeout: Duration) async throws(UpstreamFailure) -> UpstreamResponse {
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        var target = request.path
        if let query = request.query { target += "?" + query }
        var headers = HTTPHeaders()
        headers.reserveCapacity(6)
        headers.add(name: "Authorization", value: self.authorization)
        // Rows and files come in their own types (JSON, CSV, PDF); everything else is HAL.
        headers.add(name: "Accept", value: request.streamsBody ? "*/*" : "application/hal+json")
        headers.add(name: "User-Agent", value: "mode-gateway")
        if request.body != nil { headers.add(name: "Content-Type", value: "application/json") }
        guard request.streamsBody else {
            let method = NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue)
            let head = HTTPRequestHead(version: .http1_1, method: method, uri: self.connections.origin.basePath + target, headers: headers)
            let answer = try await self.connections.exchange(head, body: request.body, deadline: deadline)
            return UpstreamResponse(
                status: HTTPResponse.Status(code: Int(answer.status.code)),
                headers: Self.fields(answer.headers),
                body: answer.body
            )
        }
        var outbound = HTTPClientRequest(url: self.baseURL + target)
        outbound.method = HTTPMethod(rawValue: request.method.rawValue)
        outbound.headers = headers
        if let body = request.body { outbound.body = .bytes(body) }
        do {
            let response = try await self.httpClient.execute(outbound, deadline: deadline, logger: self.logger)
            let status = HTTPResponse.Status(code: Int(response.status.code))
            guard status.kind == .successful else {
                let body = try await response.body.collect(upTo: self.maxResponseBytes)
                return UpstreamResponse(status: status, headers: Self.fields(response.headers), body: body)
            }
            return UpstreamResponse(status: status, headers: Self.fields(response.headers), body: ByteBuffer(), stream: response.body)
        } catch {
            throw Self.classify(error)
        }
    }

    private static func fields(_ headers: HTTPHeaders) -> HTTPFields {
        var fields = HTTPFields()
        fields.reserveCapacity(headers.count)
        for header in headers {
            if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
        }
        return fields
    }

    /// Sorts a transport error into what the retry and breaker logic needs to know.
    static func classify(_ error: any Error) -> UpstreamFailure {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout, .socksHandshakeTimeout, .tlsHandshakeTimeout: return .connectFailed
            case .deadlineExceeded, .readTimeout, .writeTimeout: return .timedOut
            case .remoteConnectionClosed, .cancelled: return .connectionDropped
            default: return .other
            }
        }
        if error is NIOTooManyBytesError { return .responseTooLarge }
        if error is CancellationError { return .timedOut }
        if error is NIOConnectionError { return .connectFailed }
        if let error = error as? IOError {
            // AHC reports the last connect attempt's error when it could not connect in time.
            switch error.errnoCode {
            case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL: return .connectFailed
            case ECONNRESET, EPIPE: return .connectionDropped
            default: return .other
            }
        }
        if error is ChannelError { return .connectionDropped }
        return .other
    }
}
