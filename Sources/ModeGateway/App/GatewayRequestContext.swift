import Hummingbird
import Logging
import NIOCore

/// The per-request context: Hummingbird's core storage plus what the gateway learns about the
/// request as it passes through (request id, route, cache and upstream outcome) for logs and metrics.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The id echoed in `X-Request-ID` and in every problem body.
    public var requestID: String
    /// Facts recorded by the inner stages and read by the request log.
    public let trace: RequestTrace
    /// The address of the peer, for logs.
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = ""
        self.trace = RequestTrace()
        self.remoteAddress = source.channel.remoteAddress
    }

    /// Bodies are read by the pipeline with their own limits; this is the ceiling for anything else.
    public var maxUploadSize: Int { RequestBody.maxBytes }
}
