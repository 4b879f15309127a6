import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Keep-alive HTTP/1.1 connections to Mode's one origin, for the calls whose answer is read whole
/// (every HAL call; streamed rows and files go through AsyncHTTPClient, see ``ModeClient``).
///
/// One exchange is one request written and its answer read into one buffer by
/// ``ExchangeHandler``, on the connection's event loop, completing one promise: no task, queue
/// or state machine per call beyond the handler's. Measured against AsyncHTTPClient on a miss at
/// one connection, this takes about 0.1 ms off the gateway's time (docs/benchmarks.md).
///
/// Connections open as calls need them: how many run at once is bounded by Mode's budget in
/// ``UpstreamExecutor`` and by the gateway's own connection limit, not here. Up to `maxIdle` are
/// kept between calls, each for at most `idleTimeout`, shorter than the keep-alive that
/// servers and load balancers commonly allow, so an idle connection is rarely reused just as
/// Mode's end closes it.
final class UpstreamConnections: Sendable {
    /// Where Mode is: scheme, host, port and the path that every call goes below.
    struct Origin: Sendable, Equatable {
        var tls: Bool
        var host: String
        var port: Int
        /// The path below which calls go, without a trailing `/` (`/api`).
        var basePath: String

        /// The `Host` header: the port only when it is not the scheme's own.
        var hostHeader: String {
            let host = self.host.contains(":") ? "[\(self.host)]" : self.host
            return self.port == (self.tls ? 443 : 80) ? host : "\(host):\(self.port)"
        }

        /// Reads `http://host[:port][/path]` or `https://…`; nil for anything else (user info,
        /// a query or a fragment included).
        init?(url: String) {
            let rest: Substring
            if url.hasPrefix("https://") {
                self.tls = true
                rest = url.dropFirst(8)
            } else if url.hasPrefix("http://") {
                self.tls = false
                rest = url.dropFirst(7)
            } else {
                return nil
            }
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            let path = rest.dropFirst(authority.count)
            guard !authority.isEmpty, path.utf8.allSatisfy(Self.isPathByte) else { return nil }
            let host: Substring
            var port: Substring?
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { return nil }
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":") else { return nil }
                    port = after.dropFirst()
                }
            } else if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                port = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            let bracketed = authority.hasPrefix("[")
            guard !host.isEmpty, host.utf8.allSatisfy({ bracketed ? Self.isAddressByte($0) : Self.isNameByte($0) }) else { return nil }
            if let port {
                guard port.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let number = Int(port),
                    (1...65535).contains(number)
                else { return nil }
                self.port = number
            } else {
                self.port = self.tls ? 443 : 80
            }
            self.host = String(host)
            self.basePath = path.hasSuffix("/") ? String(path.dropLast()) : String(path)
        }

        /// RFC 3986's unreserved characters, sub-delimiters and `%`: a host name's.
        private static func isNameByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"): true
            case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
                UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
                true
            default: false
            }
        }

        /// A path segment's characters and `/` (no query, no fragment).
        private static func isPathByte(_ byte: UInt8) -> Bool {
            Self.isNameByte(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "@") || byte == UInt8(ascii: "/")
        }

        /// An IPv6 (or future) address literal's characters, between `[` and `]`.
        private static func isAddressByte(_ byte: UInt8) -> Bool {
            Self.isNameByte(byte) || byte == UInt8(ascii: ":")
        }
    }

    /// Mode's answer, read whole and decoded from any `Content-Encoding`.
    struct Answer: Sendable {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: ByteBuffer
    }

    let origin: Origin
    private let group: any EventLoopGroup
    private let connectTimeout: TimeAmount
    private let maxResponseBytes: Int
    private let tls: NIOSSLContext?
    /// The most idle connections kept; more are closed when their call ends.
    private let maxIdle: Int
    /// How long an idle connection is trusted to be open at Mode's end.
    private let idleTimeout: TimeAmount
    private let pool = Mutex(Pool())

    private struct Pool {
        /// Idle connections, newest last, with when each went idle.
        var idle: [(channel: any Channel, since: NIODeadline)] = []
        /// After ``close()``: connections are closed when their call ends, not kept.
        var closed = false
    }

    /// - Parameter tls: the TLS settings for an `https` origin; the system's trust roots and full
    ///   verification (the host name included) unless told otherwise.
    init(
        origin: Origin,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: TimeAmount,
        maxResponseBytes: Int,
        tls: TLSConfiguration = .makeClientConfiguration(),
        maxIdle: Int = 32,
        idleTimeout: TimeAmount = .seconds(20)
    ) throws {
        self.origin = origin
        self.group = group
        self.connectTimeout = connectTimeout
        self.maxResponseBytes = maxResponseBytes
        self.tls = origin.tls ? try NIOSSLContext(configuration: tls) : nil
        self.maxIdle = maxIdle
        self.idleTimeout = idleTimeout
    }

    /// Sends one request and reads its whole answer before `deadline`. `head` is sent as it is,
    /// with the origin's `Host`, and `Content-Length` set for a body (and 0 for a write without one).
    func exchange(_ head: HTTPRequestHead, body: ByteBuffer?, deadline: NIODeadline) async throws(UpstreamFailure) -> Answer {
        // Nothing is sent for a call that is already cancelled or out of time.
        guard !Task.isCancelled else { throw .connectionDropped }
        guard deadline > .now() else { throw .timedOut }
        let channel = try await self.connection(deadline: deadline)
        let promise = channel.eventLoop.makePromise(of: ExchangeHandler.Outcome.self)
        var head = head
        head.headers.replaceOrAdd(name: "Host", value: self.origin.hostHeader)
        if let body {
            head.headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        } else if head.method != .GET && head.method != .HEAD {
            head.headers.replaceOrAdd(name: "Content-Length", value: "0")
        }
        let exchange = ExchangeHandler.Exchange(head: head, body: body, deadline: deadline, promise: promise)
        let outcome: ExchangeHandler.Outcome
        do {
            outcome = try await withTaskCancellationHandler {
                // A connection that closed before the write has no handler left to answer it: the
                // request provably never left. (Once the handler has the write, it answers.)
                channel.writeAndFlush(exchange).whenFailure { _ in promise.fail(UpstreamFailure.connectFailed) }
                return try await promise.futureResult.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } catch {
            channel.close(promise: nil)
            throw error as? UpstreamFailure ?? .other
        }
        // A cancellation that came with the answer has a close on its way: not for the next call.
        if outcome.reusable, !Task.isCancelled { self.release(channel) } else { channel.close(promise: nil) }
        return outcome.answer
    }

    /// Closes the idle connections, and each busy one when its call ends (at shutdown).
    func close() {
        let idle = self.pool.withLock { pool in
            pool.closed = true
            defer { pool.idle.removeAll() }
            return pool.idle
        }
        for entry in idle { entry.channel.close(promise: nil) }
    }

    /// An idle connection that is still open, or a new one.
    private func connection(deadline: NIODeadline) async throws(UpstreamFailure) -> any Channel {
        let now = NIODeadline.now()
        let trusted = now - self.idleTimeout
        let (reused, stale) = self.pool.withLock { pool -> ((any Channel)?, [any Channel]) in
            var stale: [any Channel] = []
            while let entry = pool.idle.popLast() {
                if entry.channel.isActive, entry.since > trusted { return (entry.channel, stale) }
                stale.append(entry.channel)
            }
            return (nil, stale)
        }
        for channel in stale { channel.close(promise: nil) }
        if let reused { return reused }
        guard deadline > now else { throw .timedOut }
        let tls = self.tls
        let host = self.origin.host
        let maxResponseBytes = self.maxResponseBytes
        // On the caller's event loop when it runs on one: no hop between the call and its answer.
        let loop = self.group.any()
        let connectTimeout = min(self.connectTimeout, deadline - now)
        // A connection is ready for a call once its TLS handshake is done: a failed handshake sent
        // nothing of the request.
        let ready = loop.makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        // SNI carries names only; an address is still verified against the certificate.
                        try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: host.isIPAddress ? nil : host))
                    }
                    try sync.addHandler(HTTPRequestEncoder())
                    try sync.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .fireError)))
                    // The decoded body is bounded, however well it compressed.
                    try sync.addHandler(NIOHTTPResponseDecompressor(limit: .size(maxResponseBytes)))
                    try sync.addHandler(ExchangeHandler(maxResponseBytes: maxResponseBytes, handshake: tls == nil ? nil : ready))
                    if tls == nil { ready.succeed() }
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: self.origin.host, port: self.origin.port).get()
            let handshakeTimeout = loop.scheduleTask(in: connectTimeout) { ready.fail(ChannelError.connectTimeout(connectTimeout)) }
            defer { handshakeTimeout.cancel() }
            do {
                try await ready.futureResult.get()
            } catch {
                channel.close(promise: nil)
                throw error
            }
        } catch {
            ready.fail(error)
            // Nothing was sent: the call never reached Mode, unless it ran out of time first.
            throw NIODeadline.now() >= deadline ? .timedOut : .connectFailed
        }
        return channel
    }

    private func release(_ channel: any Channel) {
        let now = NIODeadline.now()
        let trusted = now - self.idleTimeout
        var closing: [any Channel] = []
        self.pool.withLock { pool in
            // The oldest first: those idle too long go now, not only when a call comes for them.
            while let oldest = pool.idle.first, oldest.since <= trusted || !oldest.channel.isActive {
                closing.append(pool.idle.removeFirst().channel)
            }
            if !pool.closed, pool.idle.count < self.maxIdle {
                pool.idle.append((channel, now))
            } else {
                closing.append(channel)
            }
        }
        for channel in closing { channel.close(promise: nil) }
    }
}

extension String {
    /// Whether this is an IPv4 or IPv6 address rather than a name.
    fileprivate var isIPAddress: Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, self, &v4) == 1 || inet_pton(AF_INET6, self, &v6) == 1
    }
}

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
    /// Completed when the TLS handshake is done, or failed if the connection ends first.
    private var handshake: EventLoopPromise<Void>?
    private var state = State.idle
    /// Whether the request under way has been written whole: a connection whose answer came
    /// before its request was all out is not clean for the next one.
    private var requestSent = false

    init(maxResponseBytes: Int, handshake: EventLoopPromise<Void>? = nil) {
        self.maxResponseBytes = maxResponseBytes
        self.handshake = handshake
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            self.handshake?.succeed()
            self.handshake = nil
        }
        context.fireUserInboundEventTriggered(event)
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
        self.handshake?.fail(ChannelError.ioOnClosedChannel)
        self.handshake = nil
        self.fail(.connectionDropped, context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.handshake?.fail(error)
        self.handshake = nil
        self.fail(Self.failure(for: error), context: context)
    }

    /// What an error on the connection means for the call on it.
    static func failure(for error: any Error) -> UpstreamFailure {
        if error is NIOTooManyBytesError { return .responseTooLarge }
        // The connection closed part way through the answer.
        if let error = error as? HTTPParserError, error == .invalidEOFState { return .connectionDropped }
        if let error = error as? NIOHTTPDecompression.DecompressionError, error == .limit { return .responseTooLarge }
        if let error = error as? IOError, error.errnoCode == ECONNRESET || error.errnoCode == EPIPE { return .connectionDropped }
        if let error = error as? NIOSSLError, case .uncleanShutdown = error { return .connectionDropped }
        return .other
    }

    /// Ends the exchange under way, if there is one, with `failure`, and the connection with it.
    private func fail(_ failure: UpstreamFailure, context: ChannelHandlerContext) {
        switch self.state {
        case .waiting(let exchange, let timeout), .reading(let exchange, let timeout, _, _):
            self.state = .closed
            timeout.cancel()
            exchange.promise.fail(failure)
            context.close(promise: nil)
        case .idle:
            self.state = .closed
            context.close(promise: nil)
        case .closed:
            break
        }
    }
}
