import NIOCore

/// One command on its way to Redis: its encoded bytes, and where its answer goes.
struct RedisRequest: Sendable {
    var bytes: ByteBuffer
    /// Nil for a command whose answer comes as a push frame (`SUBSCRIBE`), not as a reply.
    var promise: EventLoopPromise<RESP3Value>?
    var timeout: TimeAmount
}

/// The pipeline stage between a Redis connection's bytes and its callers.
///
/// Commands are written at once, pipelined, and their promises kept in order; each reply
/// completes the oldest. A command not answered by its deadline fails every pending command and
/// closes the connection: replies are matched by position, so once one is missing nothing that
/// follows can be matched. Push frames go to `onPush`, never to a waiting command.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var promise: EventLoopPromise<RESP3Value>
        var timer: Scheduled<Void>
    }

    private var pending = CircularBuffer<Pending>()
    private var received: ByteBuffer?
    private let parser: RESP3Parser
    private let onPush: @Sendable ([RESP3Value]) -> Void
    private var failed = false

    init(parser: RESP3Parser, onPush: @escaping @Sendable ([RESP3Value]) -> Void) {
        self.parser = parser
        self.onPush = onPush
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        if let answer = request.promise {
            guard !self.failed else {
                answer.fail(RedisError.connectionClosed)
                promise?.fail(RedisError.connectionClosed)
                return
            }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let timer = context.eventLoop.scheduleTask(in: request.timeout) {
                let (handler, context) = loopBound.value
                handler.fail(context: context, with: .timedOut)
            }
            self.pending.append(Pending(promise: answer, timer: timer))
        }
        context.write(self.wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = self.unwrapInboundIn(data)
        if self.received == nil {
            self.received = bytes
        } else {
            self.received!.writeBuffer(&bytes)
        }
        do {
            while var buffer = self.received, buffer.readableBytes > 0 {
                guard let value = try self.parser.parse(&buffer) else { break }
                self.received = buffer
                self.deliver(value)
            }
            if let buffer = self.received, buffer.readableBytes == 0 {
                self.received = nil
            } else if self.received != nil {
                self.received!.discardReadBytes()
            }
        } catch {
            self.fail(context: context, with: error)
        }
    }

    private func deliver(_ value: RESP3Value) {
        if case .push(let elements) = value {
            self.onPush(elements)
            return
        }
        guard let first = self.pending.popFirst() else { return }
        first.timer.cancel()
        first.promise.succeed(value)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(context: context, with: .connectionClosed)
    }

    private func fail(context: ChannelHandlerContext, with error: RedisError) {
        self.failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        self.failed = true
        while let next = self.pending.popFirst() {
            next.timer.cancel()
            next.promise.fail(error)
        }
    }
}
