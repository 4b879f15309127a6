import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Bounds what one client connection may hold, in the HTTP pipeline of every connection:
///
/// - a request head must arrive in full within `headerTimeout` of the connection opening (a
///   slowloris client sending a header byte at a time is closed), and within the idle timeout of
///   the previous answer ending: an idle keep-alive connection is closed after
///   `HTTP_IDLE_TIMEOUT_SECONDS`. This is the only idle timer: Hummingbird's would not see the
///   requests answered on the event loop (``FastFront``), which tells it of each;
/// - a request body must arrive in full within `bodyTimeout` of its head;
/// - past `maxConnections` open at once, a new connection is closed at once.
///
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The open connections of one server, shared by every connection's guard.
    final class Census: Sendable {
        private let open = Atomic<Int>(0)
        let limit: Int

        init(limit: Int) { self.limit = limit }

        /// Counts a new connection in; false when it is one too many (it is not counted).
        func admit() -> Bool {
            let now = self.open.wrappingAdd(1, ordering: .relaxed).newValue
            if now > self.limit {
                self.open.wrappingSubtract(1, ordering: .relaxed)
                return false
            }
            return true
        }

        func leave() { self.open.wrappingSubtract(1, ordering: .relaxed) }

        var count: Int { self.open.load(ordering: .relaxed) }
    }

    private let headerTimeout: TimeAmount
    private let keepAliveTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    /// Whether the timer running is the body's (cancelled when the body is in).
    private var timingBody = false
    private let census: Census
    private var admitted = false
    /// When the connection is closed, unless something moves it; nil while an answer is made.
    private var deadline: NIODeadline?
    /// The one timer, and when it fires. Moving the deadline later leaves it alone (it fires,
    /// sees the later deadline and sleeps again): no timer is cancelled and made per request.
    private var timer: Scheduled<Void>?
    private var timerFires: NIODeadline?
    /// Requests read whose answers have not ended (more than one when pipelined).
    private var inFlight = 0
    private var context: ChannelHandlerContext?

    init(headerTimeout: TimeAmount, idleTimeout: TimeAmount, bodyTimeout: TimeAmount, census: Census) {
        self.headerTimeout = headerTimeout
        self.keepAliveTimeout = idleTimeout
        self.bodyTimeout = bodyTimeout
        self.census = census
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { self.start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard !self.admitted else { return }
        guard self.census.admit() else {
            context.close(promise: nil)
            return
        }
        self.admitted = true
        self.arm(self.headerTimeout, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.stopTimer()
        if self.admitted {
            self.admitted = false
            self.census.leave()
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.stopTimer()
        if self.admitted {
            self.admitted = false
            self.census.leave()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head:
            self.inFlight += 1
            self.arm(self.bodyTimeout, context: context)
            self.timingBody = true
        case .end:
            // The request is in; answering it takes what it takes (a wait, a stream of rows).
            if self.timingBody {
                self.deadline = nil
                self.timingBody = false
            }
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // The last answer has ended: the next request's head has its own time.
        if case .end = self.unwrapOutboundIn(data) {
            self.inFlight = max(0, self.inFlight - 1)
            if self.inFlight == 0 { self.arm(self.keepAliveTimeout, context: context) }
        }
        context.write(data, promise: promise)
    }

    /// Whether every request Hummingbird was given on this connection has been answered: the fast
    /// path may answer the next one without overtaking any. Never again after an error on the
    /// connection (a request the decoder refused is answered by Hummingbird, with no head counted).
    var isIdle: Bool { self.inFlight == 0 && !self.failed }
    private var failed = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.failed = true
        context.fireErrorCaught(error)
    }

    /// A request was answered in full ahead of Hummingbird, by the fast path: the connection is
    /// idle again from now.
    func answeredAhead() {
        guard let context = self.context, self.admitted else { return }
        self.arm(self.keepAliveTimeout, context: context)
    }

    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        self.timingBody = false
        let deadline = NIODeadline.now() + timeout
        self.deadline = deadline
        if let fires = self.timerFires, fires <= deadline { return }
        self.timer?.cancel()
        self.schedule(at: deadline, context: context)
    }

    private func schedule(at time: NIODeadline, context: ChannelHandlerContext) {
        self.timerFires = time
        let loop = context.eventLoop.assumeIsolated()
        self.timer = loop.scheduleTask(deadline: time) {
            self.timer = nil
            self.timerFires = nil
            guard let deadline = self.deadline else { return }
            if deadline <= NIODeadline.now() {
                context.channel.close(promise: nil)
            } else {
                self.schedule(at: deadline, context: context)
            }
        }
    }

    private func stopTimer() {
        self.timer?.cancel()
        self.timer = nil
        self.timerFires = nil
        self.deadline = nil
    }
}
