import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Each client connection's pipeline: Hummingbird's HTTP/1 channel, as `HTTP1Channel` builds
/// it, with the connection's ``ConnectionGuard`` and, in front of NIO's HTTP/1 decoder, the fast
/// path for fresh hits (``FastFront``), which reads the connection's bytes before the decoder does.
struct GatewayChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    /// The limits of one connection.
    struct Limits: Sendable {
        var headerTimeout: TimeAmount
        var idleTimeout: TimeAmount
        var bodyTimeout: TimeAmount
        var census: ConnectionGuard.Census
    }

    let responder: HTTPChannelHandler.Responder
    let limits: Limits
    /// The fast path's core; nil to give every request to Hummingbird.
    let hits: HitCore?

    /// The HTTP/1 decoder's limits: Hummingbird's own (HTTP1Channel's defaults). A head the fast
    /// path reads as plain must be one the decoder takes too, so its limits must be the tighter.
    static let decoderLimits: NIOHTTPDecoderLimitConfiguration = {
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration()
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = decoder.maxHeaderFieldSize
        limits.maxHeaderListSize = decoder.maxHeaderListSize
        limits.maxHeaderFieldCount = decoder.maxHeaderFieldCount
        precondition(
            PlainRequestHead.limit <= limits.maxHeaderListSize && PlainRequestHead.limit <= limits.maxHeaderFieldSize
                && PlainRequestHead.maxFields < limits.maxHeaderFieldCount,
            "the fast path must read no head the HTTP/1 decoder refuses"
        )
        return limits
    }()

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let connection = ConnectionGuard(
                headerTimeout: self.limits.headerTimeout,
                idleTimeout: self.limits.idleTimeout,
                bodyTimeout: self.limits.bodyTimeout,
                census: self.limits.census
            )
            let pipeline = channel.pipeline.syncOperations
            if let hits = self.hits {
                try pipeline.addHandler(FastFront(core: hits, connection: connection))
            }
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false,
                withErrorHandling: false,
                withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: Self.decoderLimits
            )
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(connection)
            // No idle timer of Hummingbird's: it would not see the fast path's answers, and would
            // close busy connections. ConnectionGuard's sees both.
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await self.handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}
