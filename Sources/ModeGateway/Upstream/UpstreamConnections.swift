import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import NIOSSL
import Synchronization

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
/// kept between calls. One idle for longer than `idleTimeout` (shorter than the keep-alive that
/// servers and load balancers commonly allow, so an idle connection is rarely reused just as
/// Mode's end closes it) is never reused: it is closed when the next call comes or another
/// connection goes idle. Until then it stays open, unless Mode's end closes it first.
final class UpstreamConnections: Sendable {
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
    /// The name sent by SNI and verified against the certificate; nil for an address (which SNI
    /// cannot carry, and which is still verified against the certificate).
    private let serverName: String?
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
        self.serverName = (try? SocketAddress(ipAddress: origin.host, port: 0)) == nil ? origin.host : nil
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
            throw UpstreamFailure(error)
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
        let serverName = self.serverName
        let maxResponseBytes = self.maxResponseBytes
        // One bound for the connect and the TLS handshake together.
        let limit = min(now + self.connectTimeout, deadline)
        // On the caller's event loop when it runs on one (the gateway runs Swift concurrency on
        // NIO's loops): no hop between the call and its answer.
        let bootstrap = ClientBootstrap(group: self.group.any())
            // TCP_NODELAY is ClientBootstrap's default (a SOL_SOCKET-level "tcp_nodelay" would be
            // SO_DEBUG, which an unprivileged container may not set).
            .connectTimeout(limit - now)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    try sync.addHandler(HTTPRequestEncoder())
                    try sync.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .fireError)))
                    // The decoded body is bounded, however well it compressed.
                    try sync.addHandler(NIOHTTPResponseDecompressor(limit: .size(maxResponseBytes)))
                    try sync.addHandler(ExchangeHandler(maxResponseBytes: maxResponseBytes, awaitsHandshake: tls != nil))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: self.origin.host, port: self.origin.port).get()
        } catch {
            // Nothing was sent: the call never reached Mode, unless it ran out of time first.
            throw NIODeadline.now() >= deadline ? .timedOut : .connectFailed
        }
        guard tls != nil else { return channel }
        // A connection is ready for a call once its TLS handshake is done; one that fails it sent
        // nothing of the request. (Each connection attempt has its own handler: the one that won
        // is asked.)
        let late = channel.eventLoop.scheduleTask(deadline: limit) { channel.close(promise: nil) }
        defer { late.cancel() }
        do {
            try await channel.eventLoop.flatSubmit {
                (try? channel.pipeline.syncOperations.handler(type: ExchangeHandler.self))?.handshake
                    ?? channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
            }.get()
        } catch {
            channel.close(promise: nil)
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
