import AsyncHTTPClient
import HTTPTypes
import NIOCore

/// One call to Mode, below the API base URL. Its headers are not the client's: the client
/// sends Mode nothing but what the route table derives from a validated request.
public struct UpstreamRequest: Sendable {
    public var method: HTTPRequest.Method
    /// The path below the base URL, such as `/acme/datasets/abc123`; built from valid tokens only.
    public var path: String
    /// The encoded query, without `?`.
    public var query: String?
    /// A JSON body, for writes.
    public var body: ByteBuffer?
    /// Whether a successful answer's body is handed over as a stream, unread (results), rather
    /// than read whole.
    public var streamsBody = false

    public init(method: HTTPRequest.Method, path: String, query: String? = nil, body: ByteBuffer? = nil, streamsBody: Bool = false) {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.streamsBody = streamsBody
    }

    /// Whether retrying the request cannot change anything at Mode.
    public var isIdempotentRead: Bool { self.method == .get || self.method == .head }
}

/// What Mode answered.
public struct UpstreamResponse: Sendable {
    public var status: HTTPResponse.Status
    public var headers: HTTPFields
    /// The whole body; empty when it is streamed instead.
    public var body: ByteBuffer
    /// The body still to read, for a successful answer to a request that ``UpstreamRequest/streamsBody``;
    /// decoded from any `Content-Encoding` on the way.
    public var stream: HTTPClientResponse.Body?

    public init(status: HTTPResponse.Status, headers: HTTPFields = [:], body: ByteBuffer, stream: HTTPClientResponse.Body? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.stream = stream
    }
}
