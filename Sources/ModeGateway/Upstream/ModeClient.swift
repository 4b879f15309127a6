import AsyncHTTPClient
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1

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
            throw ConfigurationError(key: "mode.api.url", reason: UpstreamConnections.Origin.requirement)
        }
        self.httpClient = httpClient
        self.connections = try UpstreamConnections(origin: origin, connectTimeout: TimeAmount(connectTimeout), maxResponseBytes: maxResponseBytes)
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
        var outbound = HTTPClientRequest(url: self.connections.origin.url + target)
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
            throw UpstreamFailure(error)
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
}
