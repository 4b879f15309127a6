import NIOCore
import NIOHTTP1
import NIOTLS

/// Writes one request at a time and reads its answer whole, on the connection's event loop; the
/// deadline, a dropped connection, a malformed or oversized answer all end the exchange with its
/// ``UpstreamFailure`` and close the connection.
final class ExchangeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Exchange
    typealias OutboundOut = HTTPClientRequestPart

    struct Exchange: Sendable {
        var head: HTTPRequestHead
        var body: ByteBuffer?
        var deadline: NIODeadline
        var promise: EventLoopPromise<Outcome>
    }

    struct Outcome: Sendable {
        var answer: UpstreamConnections.Answer
        /// Whether the connection may carry the next exchange.
        var reusable: Bool
    }

    private enum State {
        case idle
        case waiting(Exchange, timeout: Scheduled<Void>)
        case reading(Exchange, timeout: Scheduled<Void>, head: HTTPResponseHead, body: ByteBuffer?)
        case closed
    }

    private let maxResponseBytes: Int
    private let awaitsHandshake: Bool
    /// Pending until the TLS handshake is done; failed if the connection ends first.
    private var handshakeDone: EventLoopPromise<Void>?
    /// Succeeds once the TLS handshake is done (at once without TLS); read on the event loop.
    private(set) var handshake: EventLoopFuture<Void>?
    private var state = State.idle
    /// Whether the request under way has been written whole: a connection whose answer came
    /// before its request was all out is not clean for the next one.
    private var requestSent = false

    init(maxResponseBytes: Int, awaitsHandshake: Bool = false) {
        self.maxResponseBytes = maxResponseBytes
        self.awaitsHandshake = awaitsHandshake
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if self.awaitsHandshake {
            let done = context.eventLoop.makePromise(of: Void.self)
            self.handshakeDone = done
            self.handshake = done.futureResult
        } else {
            self.handshake = context.eventLoop.makeSucceededVoidFuture()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.endHandshake(.failure(ChannelError.ioOnClosedChannel))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent { self.endHandshake(.success(())) }
        context.fireUserInboundEventTriggered(event)
    }

    private func endHandshake(_ result: Result<Void, any Error>) {
        self.handshakeDone?.completeWith(result)
        self.handshakeDone = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = Self.unwrapOutboundIn(data)
        guard case .idle = self.state else {
            // The connection closed (or is busy, which the pool never lets happen) before the
            // call: nothing of it was sent.
            exchange.promise.fail(UpstreamFailure.connectFailed)
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        let timeout = context.eventLoop.assumeIsolated().scheduleTask(deadline: exchange.deadline) {
            self.fail(.timedOut, context: context)
        }
        self.state = .waiting(exchange, timeout: timeout)
        self.requestSent = false
        let sent = context.eventLoop.makePromise(of: Void.self)
        sent.futureResult.assumeIsolated().whenComplete { result in
            switch result {
            case .success: self.requestSent = true
            // Some of it may have gone: the handler's word comes before the caller's.
            case .failure: self.fail(.connectionDropped, context: context)
            }
            promise?.completeWith(result)
        }
        context.write(Self.wrapOutboundOut(.head(exchange.head)), promise: nil)
        if let body = exchange.body { context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.write(Self.wrapOutboundOut(.end(nil)), promise: sent)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (Self.unwrapInboundIn(data), self.state) {
        case (.head(let head), .waiting(let exchange, let timeout)):
            // Too long by its own word (before decoding, which only makes it longer), when a body follows.
            let bodiless = exchange.head.method == .HEAD || head.status == .noContent || head.status == .notModified
            if !bodiless, head.headers.first(name: "Content-Length").flatMap(Int.init).map({ $0 > self.maxResponseBytes }) == true {
                return self.fail(.responseTooLarge, context: context)
            }
            self.state = .reading(exchange, timeout: timeout, head: head, body: nil)
        case (.body(var part), .reading(let exchange, let timeout, let head, var body)):
            // Out of the state while it grows, so the buffer is not copied on write.
            self.state = .closed
            guard (body?.readableBytes ?? 0) + part.readableBytes <= self.maxResponseBytes else {
                self.state = .reading(exchange, timeout: timeout, head: head, body: nil)
                return self.fail(.responseTooLarge, context: context)
            }
            if body == nil { body = part } else { body!.writeBuffer(&part) }
            self.state = .reading(exchange, timeout: timeout, head: head, body: body)
        case (.end, .reading(let exchange, let timeout, let head, let body)):
            timeout.cancel()
            self.state = .idle
            let answer = UpstreamConnections.Answer(status: head.status, headers: head.headers, body: body ?? ByteBuffer())
            exchange.promise.succeed(Outcome(answer: answer, reusable: head.isKeepAlive && self.requestSent))
        default:
            // An answer nobody asked for, or parts out of order.
            self.fail(.other, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.endHandshake(.failure(ChannelError.ioOnClosedChannel))
        self.fail(.connectionDropped, context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.endHandshake(.failure(error))
        self.fail(UpstreamFailure(error), context: context)
    }

    /// Ends the exchange under way, if there is one, with `failure`, and the connection with it.
    private func fail(_ failure: UpstreamFailure, context: ChannelHandlerContext) {
        switch self.state {
        case .waiting(let exchange, let timeout), .reading(let exchange, let timeout, _, _):
            self.state = .closed
            timeout.cancel()
            // The request was written on an open connection: whatever the error says (a host
            // that became unreachable reads like a failed connect), it may have reached Mode.
            exchange.promise.fail(failure == .connectFailed ? .connectionDropped : failure)
            context.close(promise: nil)
        case .idle:
            self.state = .closed
            context.close(promise: nil)
        case .closed:
            break
        }
    }
}
