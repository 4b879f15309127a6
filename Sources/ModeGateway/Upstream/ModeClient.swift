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
/// Headers are built from an allow-list here and nowhere else: `Authorization` (basic, from
/// ``ModeCredentials``), `Accept: application/hal+json`, `User-Agent`, and `Content-Type` for a
/// body. Nothing of the client's request is forwarded.
public struct ModeClient: Sendable {
    let httpClient: HTTPClient
    let baseURL: String
    let authorization: String
    let maxResponseBytes: Int
    let logger: Logger

    public init(httpClient: HTTPClient, baseURL: String, credentials: ModeCredentials, maxResponseBytes: Int, logger: Logger) {
        self.httpClient = httpClient
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.authorization = credentials.authorization
        self.maxResponseBytes = maxResponseBytes
        self.logger = logger
    }

    /// Sends one request and reads the whole answer before `timeout` passes. HTTP statuses are
    /// returned as they are, for the caller to judge.
    func send(_ request: UpstreamRequest, timeout: Duration) async throws(UpstreamFailure) -> UpstreamResponse {
        var url = self.baseURL + request.path
        if let query = request.query { url += "?" + query }
        var outbound = HTTPClientRequest(url: url)
        outbound.method = HTTPMethod(rawValue: request.method.rawValue)
        outbound.headers.add(name: "Authorization", value: self.authorization)
        // Rows and files come in their own types (JSON, CSV, PDF); everything else is HAL.
        outbound.headers.add(name: "Accept", value: request.streamsBody ? "*/*" : "application/hal+json")
        outbound.headers.add(name: "User-Agent", value: "mode-gateway")
        if let body = request.body {
            outbound.headers.add(name: "Content-Type", value: "application/json")
            outbound.body = .bytes(body)
        }
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        do {
            let response = try await self.httpClient.execute(outbound, deadline: deadline, logger: self.logger)
            var headers = HTTPFields()
            for header in response.headers {
                if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
            }
            let status = HTTPResponse.Status(code: Int(response.status.code))
            if request.streamsBody, status.kind == .successful {
                return UpstreamResponse(status: status, headers: headers, body: ByteBuffer(), stream: response.body)
            }
            let body = try await response.body.collect(upTo: self.maxResponseBytes)
            return UpstreamResponse(status: status, headers: headers, body: body)
        } catch {
            throw Self.classify(error)
        }
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
