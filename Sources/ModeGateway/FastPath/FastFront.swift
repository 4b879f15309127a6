import NIOCore

/// The fast path for fresh cache hits: first in each connection's pipeline, before NIO's HTTP/1
/// decoder, it reads plain request heads straight from the connection's bytes
/// (``PlainRequestHead``) and answers those that ``HitCore`` can serve from the cache with one
/// write of ready bytes, synchronously on the event loop. Every other request goes on to the
/// decoder and Hummingbird as the very bytes that came.
///
/// The decoder is only ever given whole plain requests, so it is always between requests when a
/// hit is answered here. Once a connection sends something this reader cannot vouch for (a body,
/// an odd byte, an upgrade, a head over 8 KiB), or asks to close, all its bytes go to the decoder
/// from then on.
///
/// HTTP/1.1 answers go out in the order the requests came: a request is answered here only when
/// no request given to Hummingbird is still unanswered on this connection (``ConnectionGuard``
/// counts them), and only while the connection can take more output.
final class FastFront: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let core: HitCore
    private let connection: ConnectionGuard
    /// The peer's address, read once per connection.
    private var address: String?
    private var allocator = ByteBufferAllocator()
    private var hits = HitCore.Connection()
    private var state = State.between
    private var needsFlush = false
    /// Whether this read cycle gave the decoder anything: if not, the handlers after it have
    /// nothing to complete.
    private var passedOn = false

    /// The most reads a head split over them is followed through.
    static let maxPieces = 8

    enum State: Equatable {
        /// The decoder holds no part of a request: the next bytes start one.
        case between
        /// The decoder holds the start of a request whose head has not ended; these are its bytes
        /// so far, which came in `pieces` reads.
        case within(ByteBuffer, pieces: Int)
        /// Everything goes to the decoder, for the rest of the connection.
        case decoderOnly
    }

    init(core: HitCore, connection: ConnectionGuard) {
        self.core = core
        self.connection = connection
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.address = context.channel.remoteAddress?.ipAddress
        self.allocator = context.channel.allocator
    }

    func channelActive(context: ChannelHandlerContext) {
        self.address = context.channel.remoteAddress?.ipAddress
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.state {
        case .decoderOnly:
            self.passedOn = true
            context.fireChannelRead(data)
        case .within(var started, let pieces):
            // The rest of a head the decoder already holds the start of: it is Hummingbird's,
            // and so is everything after it on this read. A head in too many pieces is not
            // followed (each piece reads the head again from its start).
            self.state = .decoderOnly
            if pieces < Self.maxPieces {
                var bytes = self.unwrapInboundIn(data)
                started.writeBuffer(&bytes)
                self.state = Self.follow(started, pieces: pieces + 1)
            }
            self.passedOn = true
            context.fireChannelRead(data)
        case .between:
            var bytes = self.unwrapInboundIn(data)
            // While Hummingbird holds a request, or the connection cannot take more, nothing is
            // answered here: the head is not even read in full.
            while bytes.readableBytes > 0, self.connection.isIdle, context.channel.isWritable {
                let scan = bytes.withUnsafeReadableBytes { PlainRequestHead.scan($0, build: true) }
                // A request to close the connection is Hummingbird's: it closes after answering.
                guard case .plain(let head) = scan, !head.closes else { break }
                guard let answer = self.core.answer(head, address: self.address, connection: &self.hits, allocator: self.allocator)
                else { break }
                context.write(self.wrapOutboundOut(answer), promise: nil)
                self.needsFlush = true
                self.connection.answeredAhead()
                bytes.moveReaderIndex(forwardBy: head.length)
            }
            guard bytes.readableBytes > 0 else { return }
            // From the first request not answered here, the rest of this read is Hummingbird's.
            self.state = Self.follow(bytes)
            self.passedOn = true
            context.fireChannelRead(self.wrapInboundOut(bytes))
        }
    }

    /// Where the decoder will be once it has `bytes`, which start at a request's beginning: found
    /// by reading each head in them, as the decoder will.
    static func follow(_ bytes: ByteBuffer, pieces: Int = 1) -> State {
        var bytes = bytes
        var pieces = pieces
        while bytes.readableBytes > 0 {
            switch bytes.withUnsafeReadableBytes({ PlainRequestHead.scan($0, build: false) }) {
            case .plain(let head):
                // Hummingbird answers a request to close last: nothing after it is read here.
                if head.closes { return .decoderOnly }
                bytes.moveReaderIndex(forwardBy: head.length)
                // The next head starts in this read: its own first piece.
                pieces = 1
            case .incomplete:
                return .within(bytes, pieces: pieces)
            case .unusual:
                return .decoderOnly
            }
        }
        return .between
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.outputClosed = event { self.state = .decoderOnly }
        context.fireUserInboundEventTriggered(event)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // One flush for every answer of a read: pipelined hits leave in one write.
        if self.needsFlush {
            self.needsFlush = false
            context.flush()
        }
        if self.passedOn {
            self.passedOn = false
            context.fireChannelReadComplete()
        }
    }
}
