import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import Testing

@testable import ModeGateway

#if canImport(Glibc)
    import Glibc
#endif

@Suite("The upstream connections: one exchange at a time, read whole")
struct UpstreamConnectionsTests {
    @Test("Reads the URLs the gateway is given for Mode, and refuses the rest")
    func origins() throws {
        let mode = try #require(UpstreamConnections.Origin(url: "https://app.mode.com/api"))
        #expect(mode.tls && mode.host == "app.mode.com" && mode.port == 443 && mode.basePath == "/api")
        #expect(mode.hostHeader == "app.mode.com")
        let local = try #require(UpstreamConnections.Origin(url: "http://127.0.0.1:8080/api/"))
        #expect(!local.tls && local.host == "127.0.0.1" && local.port == 8080 && local.basePath == "/api")
        #expect(local.hostHeader == "127.0.0.1:8080")
        let v6 = try #require(UpstreamConnections.Origin(url: "http://[::1]:9/x"))
        #expect(v6.host == "::1" && v6.hostHeader == "[::1]:9")
        #expect(UpstreamConnections.Origin(url: "http://mode.internal")?.basePath == "")
        #expect(UpstreamConnections.Origin(url: "http://mode.internal:80/api")?.hostHeader == "mode.internal")
        for refused in [
            "ftp://mode.com", "http://", "https:///api", "http://user:pw@mode.com/api", "http://mode.com:0/",
            "http://mode.com:99999/", "http://mode.com:8a/", "http://mode.com:/", "http://mode.com/api?x=1", "http://mode.com/a#b",
            "http://mode.com/a b", "http://mode.com/a\"b", "http://mode.com/{x}", "http://mo|de.com/", "http://[::1/", "http://[::1]x/",
            "http://[a/b]/", "mode.com/api",
        ] {
            #expect(UpstreamConnections.Origin(url: refused) == nil, "\(refused)")
        }
    }

    @Test("Calls in turn share one connection; Connection: close ends it; the head is the one given, with Host and length")
    func keepAlive() async throws {
        let server = try await ScriptedServer.start { index, _ in
            index == 1
                ? .answer(Self.answer(status: "200 OK", headers: ["Connection: close"], body: Array("second".utf8)), close: true)
                : .answer(Self.ok(index == 0 ? "first" : "third"))
        }
        defer { server.stop() }
        let connections = try server.client()
        let first = try await connections.exchange(Self.get("/demo/datasets/a"), body: nil, deadline: .now() + .seconds(5))
        #expect(first.status == .ok && String(buffer: first.body) == "first")
        let second = try await connections.exchange(Self.get("/demo/datasets/b"), body: nil, deadline: .now() + .seconds(5))
        #expect(String(buffer: second.body) == "second")
        #expect(server.accepted == 1)
        var patch = Self.get("/demo/datasets/c")
        patch.method = .PATCH
        let third = try await connections.exchange(patch, body: ByteBuffer(string: "{\"a\":1}"), deadline: .now() + .seconds(5))
        #expect(String(buffer: third.body) == "third")
        // The second answer closed its connection: the third call needed a new one.
        #expect(server.accepted == 2)
        let heads = server.heads
        #expect(heads.count == 3)
        #expect(heads.first?.hasPrefix("GET /api/demo/datasets/a HTTP/1.1\r\n") == true)
        #expect(heads.first?.contains("\r\nHost: 127.0.0.1:\(server.port)\r\n") == true)
        #expect(heads.last?.hasPrefix("PATCH /api/demo/datasets/c HTTP/1.1\r\n") == true)
        #expect(heads.last?.lowercased().contains("\r\ncontent-length: 7\r\n") == true)
        #expect(server.bodies.last == "{\"a\":1}")
        connections.close()
    }

    @Test("A gzip answer is decoded, and the body is bounded after decoding")
    func gzip() async throws {
        // {"token":"ds1","name":"Revenue"}, and 64 KiB of zeros, both gzip-encoded.
        let small = Data(base64Encoded: "H4sIAAAAAAACA6tWKsnPTs1TslJKKTZU0lHKS8xNBXKCUstS80pTlWoBZoOM9CAAAAA=")!
        let bomb = Data(
            base64Encoded:
                "H4sIAAAAAAACA+3BgQAAAACAIKX96RapCgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAGoLUUloAAABAA=="
        )!
        let server = try await ScriptedServer.start { index, _ in
            let body = index == 0 ? small : bomb
            return .answer(Self.answer(status: "200 OK", headers: ["Content-Encoding: gzip"], body: [UInt8](body)))
        }
        defer { server.stop() }
        let connections = try server.client(maxResponseBytes: 8192)
        defer { connections.close() }
        let decoded = try await connections.exchange(Self.get("/x"), body: nil, deadline: .now() + .seconds(5))
        #expect(String(buffer: decoded.body) == #"{"token":"ds1","name":"Revenue"}"#)
        #expect(server.heads.first?.lowercased().contains("\r\naccept-encoding: deflate, gzip\r\n") == true)
        await #expect(throws: UpstreamFailure.responseTooLarge) {
            _ = try await connections.exchange(Self.get("/bomb"), body: nil, deadline: .now() + .seconds(5))
        }
    }

    @Test("Too large by its Content-Length or by its chunks: refused, and the connection is not kept")
    func tooLarge() async throws {
        let chunk = String(repeating: "x", count: 600)
        let server = try await ScriptedServer.start { index, _ in
            switch index {
            // Only the length says it is too large: no body follows, so nothing else could refuse it.
            case 0: .answer(Array("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n".utf8))
            case 1:
                .answer(
                    Array(
                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n0\r\n\r\n".utf8
                    )
                )
            default: .answer(Self.ok("fits"))
            }
        }
        defer { server.stop() }
        let connections = try server.client(maxResponseBytes: 1024)
        defer { connections.close() }
        await #expect(throws: UpstreamFailure.responseTooLarge) {
            _ = try await connections.exchange(Self.get("/long"), body: nil, deadline: .now() + .seconds(5))
        }
        await #expect(throws: UpstreamFailure.responseTooLarge) {
            _ = try await connections.exchange(Self.get("/chunks"), body: nil, deadline: .now() + .seconds(5))
        }
        let fits = try await connections.exchange(Self.get("/fits"), body: nil, deadline: .now() + .seconds(5))
        #expect(String(buffer: fits.body) == "fits")
        #expect(server.accepted == 3)
    }

    @Test("Silence is a timeout at the deadline, a close is a dropped connection, garbage is an error, a refusal never reached Mode")
    func failures() async throws {
        let server = try await ScriptedServer.start { index, _ in
            switch index {
            case 0: .silence
            case 1: .close
            case 2: .answer(Array("HTTP/1.1 abc\r\n\r\n".utf8))
            case 3: .answer(Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789".utf8), close: true)
            case 4: .close
            default: .answer(Self.ok("after"))
            }
        }
        defer { server.stop() }
        let connections = try server.client()
        let started = ContinuousClock.now
        await #expect(throws: UpstreamFailure.timedOut) {
            _ = try await connections.exchange(Self.get("/silent"), body: nil, deadline: .now() + .milliseconds(300))
        }
        #expect(ContinuousClock.now - started < .seconds(3))
        await #expect(throws: UpstreamFailure.connectionDropped) {
            _ = try await connections.exchange(Self.get("/closed"), body: nil, deadline: .now() + .seconds(5))
        }
        await #expect(throws: UpstreamFailure.other) {
            _ = try await connections.exchange(Self.get("/garbage"), body: nil, deadline: .now() + .seconds(5))
        }
        // Cut off part way: dropped, which a read may retry.
        await #expect(throws: UpstreamFailure.connectionDropped) {
            _ = try await connections.exchange(Self.get("/truncated"), body: nil, deadline: .now() + .seconds(5))
        }
        // A write whose connection closes under it may have reached Mode: dropped, never a failed connect.
        var patch = Self.get("/write")
        patch.method = .PATCH
        await #expect(throws: UpstreamFailure.connectionDropped) {
            _ = try await connections.exchange(patch, body: ByteBuffer(string: "{}"), deadline: .now() + .seconds(5))
        }
        // None of those connections was kept; the next call works on a new one.
        let after = try await connections.exchange(Self.get("/after"), body: nil, deadline: .now() + .seconds(5))
        #expect(String(buffer: after.body) == "after")
        #expect(server.accepted == 6)
        // Out of time before it starts: nothing is sent, not even on the idle connection.
        await #expect(throws: UpstreamFailure.timedOut) {
            _ = try await connections.exchange(Self.get("/late"), body: nil, deadline: .now() - .milliseconds(1))
        }
        connections.close()
        // The server reads all a connection sent before it sees the connection close.
        var waited = 0
        while server.closed < server.accepted, waited < 400 {
            try await Task.sleep(for: .milliseconds(5))
            waited += 1
        }
        #expect(server.closed == server.accepted)
        #expect(!server.heads.contains { $0.contains("/late") })

        // A port held by a socket that does not listen: refused, and no other test can take it.
        let unlistened = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(unlistened) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(unlistened, $0, length) == 0 && getsockname(unlistened, $0, &length) == 0 }
        }
        try #require(bound)
        let refused = try UpstreamConnections(
            origin: #require(.init(url: "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))/api")),
            connectTimeout: .seconds(2),
            maxResponseBytes: 1024
        )
        await #expect(throws: UpstreamFailure.connectFailed) {
            _ = try await refused.exchange(Self.get("/x"), body: nil, deadline: .now() + .seconds(5))
        }
    }

    @Test("A cancelled call ends at once, and its connection with it")
    func cancellation() async throws {
        let server = try await ScriptedServer.start { _, _ in .silence }
        defer { server.stop() }
        let connections = try server.client()
        defer { connections.close() }
        let call = Task { try await connections.exchange(Self.get("/slow"), body: nil, deadline: .now() + .seconds(30)) }
        var waited = 0
        while server.heads.isEmpty, waited < 1000 {
            try await Task.sleep(for: .milliseconds(5))
            waited += 1
        }
        try #require(!server.heads.isEmpty)
        let cancelled = ContinuousClock.now
        call.cancel()
        await #expect(throws: UpstreamFailure.connectionDropped) { _ = try await call.value }
        #expect(ContinuousClock.now - cancelled < .seconds(5))
    }

    @Test("close() closes the idle connections, and those still busy when their call ends")
    func close() async throws {
        let server = try await ScriptedServer.start { _, _ in .answer(Self.ok("ok")) }
        defer { server.stop() }
        let connections = try server.client()
        _ = try await connections.exchange(Self.get("/a"), body: nil, deadline: .now() + .seconds(5))
        #expect(server.closed == 0)
        connections.close()
        var waited = 0
        while server.closed == 0, waited < 400 {
            try await Task.sleep(for: .milliseconds(5))
            waited += 1
        }
        #expect(server.closed == 1)
        // After close, a call still works but keeps nothing.
        _ = try await connections.exchange(Self.get("/b"), body: nil, deadline: .now() + .seconds(5))
        waited = 0
        while server.closed < 2, waited < 400 {
            try await Task.sleep(for: .milliseconds(5))
            waited += 1
        }
        #expect(server.closed == 2)
    }

    @Test("An error after the request went out is never a failed connect: the call may have reached Mode")
    func errorAfterWrite() throws {
        for error in [IOError(errnoCode: EHOSTUNREACH, reason: "read"), IOError(errnoCode: ECONNREFUSED, reason: "read")] {
            let channel = EmbeddedChannel(handler: ExchangeHandler(maxResponseBytes: 1024))
            let promise = channel.eventLoop.makePromise(of: ExchangeHandler.Outcome.self)
            var head = Self.get("/write")
            head.method = .POST
            try channel.writeOutbound(
                ExchangeHandler.Exchange(head: head, body: ByteBuffer(string: "{}"), deadline: .now() + .seconds(5), promise: promise)
            )
            #expect(try channel.readOutbound(as: HTTPClientRequestPart.self) == .head(head))
            channel.pipeline.fireErrorCaught(error)
            #expect(throws: UpstreamFailure.connectionDropped) { try promise.futureResult.wait() }
            _ = try? channel.finish()
        }
    }

    @Test("A call its caller cancels is not retried, and tells the breaker nothing")
    func cancelledCall() async throws {
        let server = try await ScriptedServer.start { _, _ in .silence }
        defer { server.stop() }
        var settings = UpstreamExecutor.Settings()
        settings.ratePerSecond = 100
        settings.burst = 10
        settings.breakerThreshold = 1
        let logger = Logger(label: "test")
        let client = try ModeClient(
            httpClient: .shared,
            baseURL: "http://127.0.0.1:\(server.port)/api",
            credentials: ModeCredentials(token: "t", secret: "s"),
            maxResponseBytes: 1024,
            logger: logger
        )
        let executor = UpstreamExecutor(client: client, settings: settings, logger: logger)
        let call = Task {
            try await executor.send(UpstreamRequest(method: .get, path: "/x"), for: "c", deadline: TimeSource.system.now() + .seconds(30))
        }
        var waited = 0
        while server.heads.isEmpty, waited < 1000 {
            try await Task.sleep(for: .milliseconds(5))
            waited += 1
        }
        try #require(server.heads.count == 1)
        call.cancel()
        await #expect(throws: GatewayError.self) { try await call.value }
        #expect(executor.statistics.retries == 0)
        #expect(executor.statistics.breakerOpenings == 0 && executor.statistics.breakerState == 0)
        client.connections.close()
    }

    @Test("https: the certificate is verified against the trust roots and the host name")
    func tls() async throws {
        let certificate = try NIOSSLCertificate(bytes: Array(Self.certificate.utf8), format: .pem)
        let key = try NIOSSLPrivateKey(bytes: Array(Self.privateKey.utf8), format: .pem)
        let serverTLS = try NIOSSLContext(
            configuration: .makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key))
        )
        let server = try await ScriptedServer.start(tls: serverTLS) { _, head in
            .answer(Self.ok(head.contains("\r\nHost: localhost:") ? "secret" : "another host"))
        }
        defer { server.stop() }
        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.trustRoots = .certificates([certificate])
        func client(_ host: String, tls: TLSConfiguration = trusting) throws -> UpstreamConnections {
            try UpstreamConnections(
                origin: #require(.init(url: "https://\(host):\(server.port)/api")),
                connectTimeout: .seconds(2),
                maxResponseBytes: 1024,
                tls: tls
            )
        }
        let trusted = try client("localhost")
        defer { trusted.close() }
        let answer = try await trusted.exchange(Self.get("/x"), body: nil, deadline: .now() + .seconds(5))
        #expect(String(buffer: answer.body) == "secret")
        // The certificate names localhost only: the same server by its address is refused, before
        // anything of the request is sent (so even a write may go again).
        await #expect(throws: UpstreamFailure.connectFailed) {
            _ = try await client("127.0.0.1").exchange(Self.get("/x"), body: nil, deadline: .now() + .seconds(5))
        }
        // The system's roots do not know this certificate.
        await #expect(throws: UpstreamFailure.connectFailed) {
            _ = try await client("localhost", tls: .makeClientConfiguration()).exchange(Self.get("/x"), body: nil, deadline: .now() + .seconds(5))
        }
        #expect(server.heads.count == 1)
    }

    static func get(_ path: String) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: .GET, uri: "/api" + path)
    }

    static func ok(_ body: String) -> [UInt8] {
        Self.answer(status: "200 OK", headers: ["Content-Type: application/json"], body: Array(body.utf8))
    }

    static func answer(status: String, headers: [String], body: [UInt8]) -> [UInt8] {
        let head = (["HTTP/1.1 \(status)", "Content-Length: \(body.count)"] + headers).joined(separator: "\r\n") + "\r\n\r\n"
        return Array(head.utf8) + body
    }

    /// A self-signed certificate for the name `localhost` only (no address), valid from 2020 to
    /// 2120; test use only.
    static let certificate = """
        -----BEGIN CERTIFICATE-----
        MIIBVDCB+6ADAgECAhQVytlS6uDm66HhSUF4ertijLbm8DAKBggqhkjOPQQDAjAU
        MRIwEAYDVQQDDAlsb2NhbGhvc3QwIBcNMjAwMTAxMDAwMDAwWhgPMjEyMDAxMDEw
        MDAwMDBaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49
        AwEHA0IABGPTA2REDtLflJKxC6PAstnkya5ItZVtQrxja/fANMWq75LRRXXi7+dh
        XnGY+TEA1r1hNTa9N5JNmbQR9Gud+gCjKTAnMBQGA1UdEQQNMAuCCWxvY2FsaG9z
        dDAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQCMwmVb5FvUgesW
        hAbs/ZVimHIG1YXvADuamuVHuiyysAIgDx4uFGrqo6gz5USIZgqcHEoWgPl61/lk
        mzeYCMu/TUs=
        -----END CERTIFICATE-----
        """

    static let privateKey = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgvNDs+52cCqikRmJ4
        VbzkUo7rQbMkssGs1PayF0fgMDyhRANCAARj0wNkRA7S35SSsQujwLLZ5MmuSLWV
        bUK8Y2v3wDTFqu+S0UV14u/nYV5xmPkxANa9YTU2vTeSTZm0EfRrnfoA
        -----END PRIVATE KEY-----
        """
}

/// A loopback server that answers the n-th request it reads (over all its connections) as its
/// script says, in raw bytes, and counts connections.
final class ScriptedServer: Sendable {
    enum Reply: Sendable {
        /// These bytes, then close the connection if told.
        case answer([UInt8], close: Bool = false)
        /// Nothing at all.
        case silence
        /// Close the connection without a word.
        case close
    }

    struct Log {
        /// The accepted connections, closed with the server.
        var children: [any Channel] = []
        var accepted = 0
        var closed = 0
        var heads: [String] = []
        var bodies: [String] = []
    }

    private let channel: any Channel
    private let log: Mutex<Log>
    let port: Int

    var accepted: Int { self.log.withLock { $0.accepted } }
    var closed: Int { self.log.withLock { $0.closed } }
    var heads: [String] { self.log.withLock { $0.heads } }
    var bodies: [String] { self.log.withLock { $0.bodies } }

    private init(channel: any Channel) {
        self.channel = channel
        self.log = Mutex(Log())
        self.port = channel.localAddress?.port ?? 0
    }

    static func start(tls: NIOSSLContext? = nil, script: @escaping @Sendable (Int, String) -> Reply) async throws
        -> ScriptedServer
    {
        // The handlers log into the server's log, which exists before the server does.
        let pending = PendingServer()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let server = pending.server
                    server.update {
                        $0.accepted += 1
                        $0.children.append(channel)
                    }
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(Handler(server: server, script: script))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let started = ScriptedServer(channel: channel)
        pending.set(started)
        return started
    }

    func stop() {
        for child in self.update({ $0.children }) { child.close(promise: nil) }
        try? self.channel.close().wait()
    }

    /// Changes the log; returns what the change returns.
    func update<Result>(_ change: (inout Log) -> Result) -> Result {
        self.log.withLock { change(&$0) }
    }

    /// A client for this server's `/api`.
    func client(maxResponseBytes: Int = 1 << 20) throws -> UpstreamConnections {
        try UpstreamConnections(
            origin: #require(.init(url: "http://127.0.0.1:\(self.port)/api")),
            connectTimeout: .seconds(2),
            maxResponseBytes: maxResponseBytes
        )
    }

    /// The server, for handlers: no connection is accepted before `start` returns it.
    private final class PendingServer: Sendable {
        private let box = Mutex<ScriptedServer?>(nil)
        func set(_ server: ScriptedServer) { self.box.withLock { $0 = server } }
        var server: ScriptedServer { self.box.withLock { $0! } }
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let server: ScriptedServer
        let script: @Sendable (Int, String) -> Reply
        var pending: [UInt8] = []

        init(server: ScriptedServer, script: @escaping @Sendable (Int, String) -> Reply) {
            self.server = server
            self.script = script
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = Self.unwrapInboundIn(data)
            self.pending += bytes.readBytes(length: bytes.readableBytes) ?? []
            while let end = self.headEnd() {
                let head = String(decoding: self.pending[..<end], as: UTF8.self)
                let length =
                    head.split(separator: "\r\n")
                    .first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                guard self.pending.count >= end + length else { return }
                let body = String(decoding: self.pending[end..<(end + length)], as: UTF8.self)
                self.pending.removeFirst(end + length)
                let index = self.server.update { log in
                    log.heads.append(head)
                    log.bodies.append(body)
                    return log.heads.count - 1
                }
                switch self.script(index, head) {
                case .answer(let bytes, let close):
                    context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
                    if close { context.close(promise: nil) }
                case .silence: break
                case .close: context.close(promise: nil)
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.server.update { $0.closed += 1 }
            context.fireChannelInactive()
        }

        private func headEnd() -> Int? {
            guard self.pending.count >= 4 else { return nil }
            for index in 3..<self.pending.count
            where self.pending[index - 3] == 13 && self.pending[index - 2] == 10 && self.pending[index - 1] == 13 && self.pending[index] == 10 {
                return index + 1
            }
            return nil
        }
    }
}
