import AsyncHTTPClient
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1

/// Sends ``UpstreamRequest``s to Mode with the operator's credentials.
///
/// Headers are built from an allow-list here and nowhere else: `Authorization` (basic, from
/// ``ModeCredentials``), `Accept: application/hal+json`, `User-Agent`, and `Content-Type` for a
/// body. Nothing of the client's request is forwarded.
public struct ModeClient: Sendable {
    let httpClient: HTTPClient
    let baseURL: String
    let authorization: String
    let timeout: TimeAmount
    let maxResponseBytes: Int
    let logger: Logger

    public init(
        httpClient: HTTPClient,
        baseURL: String,
        credentials: ModeCredentials,
        timeout: TimeAmount,
        maxResponseBytes: Int,
        logger: Logger
    ) {
        self.httpClient = httpClient
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.authorization = credentials.authorization
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        self.logger = logger
    }

    /// Sends one request and reads the whole answer. Transport failures become ``GatewayError``s;
    /// HTTP statuses are returned as they are, for the caller to map.
    public func send(_ request: UpstreamRequest) async throws(GatewayError) -> UpstreamResponse {
        var url = self.baseURL + request.path
        if let query = request.query { url += "?" + query }
        var outbound = HTTPClientRequest(url: url)
        outbound.method = HTTPMethod(rawValue: request.method.rawValue)
        outbound.headers.add(name: "Authorization", value: self.authorization)
        outbound.headers.add(name: "Accept", value: "application/hal+json")
        outbound.headers.add(name: "User-Agent", value: "mode-gateway")
        if let body = request.body {
            outbound.headers.add(name: "Content-Type", value: "application/json")
            outbound.body = .bytes(body)
        }
        let deadline = NIODeadline.now() + self.timeout
        do {
            let response = try await self.httpClient.execute(outbound, deadline: deadline, logger: self.logger)
            let body = try await response.body.collect(upTo: self.maxResponseBytes)
            var headers = HTTPFields()
            for header in response.headers {
                if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
            }
            return UpstreamResponse(status: .init(code: Int(response.status.code)), headers: headers, body: body)
        } catch {
            throw Self.transportError(error, path: request.path)
        }
    }

    /// Maps a transport failure: timeouts to 504, everything else to 502.
    static func transportError(_ error: any Error, path: String) -> GatewayError {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return .gatewayTimeout(detail: "Mode did not answer in time.")
            case .remoteConnectionClosed, .cancelled:
                return .badGateway(detail: "Mode closed the connection before answering.")
            default:
                return .badGateway(detail: "The request to Mode failed.")
            }
        }
        if error is NIOTooManyBytesError {
            return .badGateway(detail: "Mode's answer was larger than the gateway accepts.")
        }
        if error is CancellationError {
            return .gatewayTimeout(detail: "The request to Mode was cancelled.")
        }
        let text = String(describing: error)
        if text.contains("connectTimeout") || text.contains("timeout") {
            return .gatewayTimeout(detail: "Mode did not answer in time.")
        }
        if text.contains("refused") || text.contains("NIOConnectionError") || text.contains("connect") {
            return .badGateway(detail: "Mode could not be reached.")
        }
        return .badGateway(detail: "The request to Mode failed.")
    }
}
