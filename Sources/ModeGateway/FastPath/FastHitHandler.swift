import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// The fast path for fresh cache hits: in each connection's pipeline, after the HTTP decoder and
/// before Hummingbird, it answers a GET or HEAD that ``HitCore`` can answer from the cache,
/// synchronously on the event loop. Everything else goes on to Hummingbird unchanged.
///
/// HTTP/1.1 answers go out in the order the requests came: a request is answered here only when
/// no request passed on to Hummingbird is still unanswered on this connection, and only while the
/// connection can take more output (otherwise Hummingbird's own backpressure applies).
final class FastHitHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let core: HitCore
    /// The peer's address, read once per connection.
    private var address: String?
    private var date = HTTPDate()
    /// Requests passed on to Hummingbird whose answers have not ended.
    private var passedOn = 0
    /// What happens to the parts of the request being read.
    private var current = Current.idle
    private var needsFlush = false
    /// Set once a request asks to close the connection, or its output is closed: Hummingbird
    /// answers that request last, so nothing after it is answered here either.
    private var closing = false

    private enum Current {
        case idle
        /// Answered here: its remaining parts are dropped.
        case answered
        /// Hummingbird's.
        case passedOn
    }

    init(core: HitCore) {
        self.core = core
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.address = context.channel.remoteAddress?.ipAddress
    }

    func channelActive(context: ChannelHandlerContext) {
        self.address = context.channel.remoteAddress?.ipAddress
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let request):
            if self.passedOn == 0, !self.closing, context.channel.isWritable,
                let answer = self.core.answer(request, address: self.address, date: &self.date)
            {
                self.current = .answered
                context.write(self.wrapOutboundOut(.head(answer.head)), promise: nil)
                if let body = answer.body { context.write(self.wrapOutboundOut(.body(body)), promise: nil) }
                context.write(self.wrapOutboundOut(.end(nil)), promise: nil)
                self.needsFlush = true
                return
            }
            self.current = .passedOn
            self.passedOn += 1
            // Hummingbird's own test: it stops serving the connection after exactly this.
            if request.headerFields[.connection] == "close" { self.closing = true }
            context.fireChannelRead(data)
        case .body:
            if case .answered = self.current { return }
            context.fireChannelRead(data)
        case .end:
            if case .answered = self.current {
                self.current = .idle
                return
            }
            self.current = .idle
            context.fireChannelRead(data)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.outputClosed = event { self.closing = true }
        context.fireUserInboundEventTriggered(event)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // One flush for every answer of a read: pipelined hits leave in one write.
        if self.needsFlush {
            self.needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Only Hummingbird's answers pass here; this handler's own go out below it.
        if case .end = self.unwrapOutboundIn(data) { self.passedOn = max(0, self.passedOn - 1) }
        context.write(data, promise: promise)
    }
}
