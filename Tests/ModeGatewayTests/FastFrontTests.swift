import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import ModeGateway

#if canImport(Glibc)
    import Glibc
#endif

extension RawClient {
    /// Everything the server sends until it closes the connection or, once it has sent something,
    /// has been quiet for `quiet`; and whether it closed.
    func drain(quiet: Duration = .milliseconds(800), within limit: Duration = .seconds(10)) async -> (text: String, closed: Bool) {
        let started = ContinuousClock.now
        var lastByte: ContinuousClock.Instant?
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now - started < limit, lastByte.map({ ContinuousClock.now - $0 < quiet }) ?? true {
            let count = buffer.withUnsafeMutableBytes { recv(self.socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { return (String(decoding: received, as: UTF8.self), true) }
            if count > 0 {
                received += buffer[0..<count]
                lastByte = ContinuousClock.now
            } else if errno != EAGAIN && errno != EWOULDBLOCK {
                return (String(decoding: received, as: UTF8.self), true)
            }
            await Task.yield()
        }
        return (String(decoding: received, as: UTF8.self), false)
    }
}

/// The fast path reads a connection's bytes before NIO's decoder does: whatever a client sends,
/// the gateway must answer as it would without the fast path.
@Suite("The fast path's reading of raw requests")
struct FastFrontTests {
    static func scan(_ text: String, build: Bool = true) -> PlainRequestHead.Scan {
        Array(text.utf8).withUnsafeBytes { PlainRequestHead.scan($0, build: build) }
    }

    static func isUnusual(_ scan: PlainRequestHead.Scan) -> Bool {
        if case .unusual = scan { return true }
        return false
    }

    static func isIncomplete(_ scan: PlainRequestHead.Scan) -> Bool {
        if case .incomplete = scan { return true }
        return false
    }

    @Test("A plain head is read in full: method, target, Host apart, the other fields in order, its length")
    func plainHead() throws {
        let text =
            "HEAD /datasets/ds0001?a=1&b=%20 HTTP/1.1\r\nHost: Example.com:8080\r\nX-Request-ID:  id-1 \r\nIf-None-Match: \"x\"\r\n\r\nGET /next"
        guard case .plain(let head) = Self.scan(text) else {
            Issue.record("not read as plain")
            return
        }
        #expect(head.isHead && !head.closes)
        #expect(head.target == "/datasets/ds0001?a=1&b=%20")
        #expect(head.authority == "Example.com:8080")
        #expect(head.fields.map { "\($0.name.rawName)=\($0.value)" } == ["X-Request-ID=id-1", "If-None-Match=\"x\""])
        #expect(head.length == text.utf8.count - "GET /next".utf8.count)

        guard case .plain(let closing) = Self.scan("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", build: false) else {
            Issue.record("a request to close is plain")
            return
        }
        #expect(closing.closes && closing.length == 37)
        guard case .plain(let keepAlive) = Self.scan("GET / HTTP/1.1\r\nconnection: keep-alive\r\n\r\n") else {
            Issue.record("keep-alive is plain")
            return
        }
        #expect(!keepAlive.closes && keepAlive.fields.count == 1)
    }

    @Test("The start of a plain head waits for more; it never waits past 8 KiB")
    func incompleteHeads() {
        for prefix in [
            "", "G", "GE", "GET", "HEAD", "GET /d", "GET /d ", "GET /d HTTP/1.", "GET /d HTTP/1.1\r", "GET /d HTTP/1.1\r\n",
            "GET /d HTTP/1.1\r\nHost", "GET /d HTTP/1.1\r\nHost: x\r", "GET /d HTTP/1.1\r\nHost: x\r\n\r",
        ] {
            #expect(Self.isIncomplete(Self.scan(prefix)), "\(prefix.debugDescription)")
        }
        let long = "GET /d HTTP/1.1\r\nX-Long: " + String(repeating: "a", count: 9000)
        #expect(Self.isUnusual(Self.scan(long)))
        let longComplete = "GET /d HTTP/1.1\r\nX-Long: " + String(repeating: "a", count: 9000) + "\r\n\r\n"
        #expect(Self.isUnusual(Self.scan(longComplete)))
    }

    static let unusual: [String] = [
        "get /d HTTP/1.1\r\n\r\n", "POST /d HTTP/1.1\r\n\r\n", "GET  /d HTTP/1.1\r\n\r\n", "GET d HTTP/1.1\r\n\r\n",
        "GET http://h/d HTTP/1.1\r\n\r\n", "GET /d HTTP/1.0\r\n\r\n", "GET /d HTTP/1.1\n\n", "GET /d HTTP/1.1\r\nHost: x\n\r\n",
        "GET /d\" HTTP/1.1\r\n\r\n", "GET /d#f HTTP/1.1\r\n\r\n", "GET /d|x HTTP/1.1\r\n\r\n", "GET /d HTTP/1.1\r\n Host: x\r\n\r\n",
        "GET /d HTTP/1.1\r\nHost : x\r\n\r\n", "GET /d HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "GET /d HTTP/1.1\r\nX: caf\u{e9}\r\n\r\n",
        "GET /d HTTP/1.1\r\nX: a\u{0}b\r\n\r\n", "GET /d HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "GET /d HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "GET /d HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
        "GET /d HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", "GET /d HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET /d HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", "GET /d HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n",
        "\r\nGET /d HTTP/1.1\r\n\r\n", "GET /d HTTP/1.1\r\n\r\r\n",
        "GET /d HTTP/1.1\r\n" + String(repeating: "a:\r\n", count: 1001) + "\r\n",
    ]

    @Test("Anything but a plain head is unusual: the decoder's alone", arguments: Self.unusual)
    func unusualHeads(text: String) {
        #expect(Self.isUnusual(Self.scan(text)))
        #expect(Self.isUnusual(Self.scan(text, build: false)))
    }

    /// Heads to hold the reader to NIO's decoder: the plain ones, and ones at its limits.
    static let decoderCases: [String] = {
        var cases = [
            "GET /d HTTP/1.1\r\n\r\n", "HEAD /d?a=1 HTTP/1.1\r\nHost: x\r\n\r\n", "GET /d HTTP/1.1\r\nX:\r\nY: \t \r\n\r\n",
            "GET /d HTTP/1.1\r\nConnection: close\r\n\r\n", "GET /%7E:@!$&'()*+,;= HTTP/1.1\r\nA-b_c.d~e|f^g`h#i$j%k&l'm*n+o!p: v\r\n\r\n",
            "GET /d HTTP/1.1\r\nX: \(String(repeating: "v", count: 8100))\r\n\r\n",
        ]
        for fields in [99, 100, 101, 999, 1000, 1001, 2000] {
            cases.append("GET /d HTTP/1.1\r\nHost: x\r\n" + String(repeating: "a:\r\n", count: fields) + "\r\n")
        }
        return cases + Self.unusual
    }()

    @Test("Every head read as plain is read by NIO's decoder as one whole request, ending where the reader says")
    func agreesWithTheDecoder() throws {
        var plain = 0
        for text in Self.decoderCases {
            guard case .plain(let head) = Self.scan(text) else { continue }
            plain += 1
            #expect(head.length == text.utf8.count, "\(text.prefix(60).debugDescription)")
            // The decoder with the gateway's own limits, given the head and a request after it.
            let channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(
                ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: GatewayChannel.decoderLimits))
            )
            var buffer = channel.allocator.buffer(capacity: 0)
            // (After a request to close, the decoder takes nothing more.)
            buffer.writeString(head.closes ? text : text + "GET /next HTTP/1.1\r\n\r\n")
            var parts: [String] = []
            do {
                try channel.writeInbound(buffer)
                while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
                    switch part {
                    case .head(let request): parts.append("head \(request.uri) \(request.headers.count)")
                    case .body: parts.append("body")
                    case .end: parts.append("end")
                    }
                }
            } catch {
                parts.append("error \(error)")
            }
            let fields = head.fields.count + (head.authority == nil ? 0 : 1)
            let expected = ["head \(head.target) \(fields)", "end"] + (head.closes ? [] : ["head /next 0", "end"])
            #expect(parts == expected, "\(text.prefix(60).debugDescription)")
            _ = try? channel.finish()
        }
        #expect(plain >= 7)
    }

    @Test("Where the decoder will be: between requests, within one, or alone for good")
    func following() {
        func follow(_ text: String) -> FastFront.State {
            var buffer = ByteBufferAllocator().buffer(capacity: 0)
            buffer.writeString(text)
            return FastFront.follow(buffer)
        }
        let plain = "GET /d HTTP/1.1\r\nHost: x\r\n\r\n"
        #expect(follow(plain) == .between)
        #expect(follow(plain + plain) == .between)
        #expect(follow(plain + "GET /e HT") != .between && follow(plain + "GET /e HT") != .decoderOnly)
        #expect(follow(plain + "GET /d HTTP/1.1\r\nConnection: close\r\n\r\n" + plain) == .decoderOnly)
        #expect(follow("POST /d HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}" + plain) == .decoderOnly)
    }

    /// Byte streams no HTTP library would send, and a few it would: each goes, on a connection of
    /// its own, to a gateway with the fast path and to one without, after warm-up hits on it.
    static let streams: [String] = {
        let hit = "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: ff-hit\r\n\r\n"
        return [
            // Smuggling attempts: a body the fast path must not read as the next request.
            "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(hit.utf8.count)\r\n\r\n" + hit,
            "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hit,
            "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                + hit,
            "POST /datasets/ds0001/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 7\r\n\r\nnot-jsn" + hit,
            // Line endings, folding, odd targets and versions.
            "GET /datasets/ds0001 HTTP/1.1\nHost: 127.0.0.1\n\n" + hit,
            "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: 1\r\n folded\r\n\r\n" + hit,
            "GET /datasets/ds0001 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
            "GET http://127.0.0.1/datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + hit,
            "get /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + hit,
            "GET /datasets/ds0001#frag HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + hit,
            "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n" + hit,
            "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Name: caf\u{e9}\r\n\r\n" + hit,
            "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n" + hit,
            "\r\n" + hit,
            "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: \(String(repeating: "a", count: 9000))\r\n\r\n" + hit,
            // Plain ones the fast path reads: pipelined, closing, a miss in between.
            hit + hit,
            hit + "GET /datasets/ds0004 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + hit,
            hit + "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" + hit,
            "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: \(String(repeating: "i", count: 300))\r\n\r\n",
            "GET /datasets/ds0001 HTTP/1.1\r\nHost: nowhere.example\r\n\r\n" + hit,
            "GET /datasets/ds%30001 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + hit,
            // More fields than the decoder takes: its 400, then nothing answered after it.
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + String(repeating: "a:\r\n", count: 1001) + "\r\n" + hit,
            // Garbage.
            "\u{1}\u{2}\u{3}\r\n\r\n" + hit,
            "GET / HTTP/1.1\r\n\r\n" + hit,
        ]
    }()

    /// An answer stream with what each gateway makes up for itself masked.
    static func comparable(_ text: String) -> String {
        FastPathTests.withoutDate(text).replacing(/X-Request-ID: [0-9a-f]{32}/, with: "X-Request-ID: (new)")
            .replacing(/"request_id":"[0-9a-f]{32}"/, with: #""request_id":"(new)""#)
    }

    @Test("Whatever the bytes, the gateway answers as it would without the fast path")
    func sameAnswersForAnyBytes() async throws {
        // One clock for both, so that ages and freshness agree to the second.
        let clock = ManualTimeSource()
        try await GatewayHarness.with(time: clock.source, configure: { $0.fastHits = false }) { router in
            try await GatewayHarness.with(time: clock.source) { fast in
                for harness in [router, fast] {
                    for _ in 0..<2 { #expect(try await harness.get("/datasets/ds0001").status == 200) }
                }
                let fastBefore = try await FastPathTests.metric("gateway_cache_fast_hits_total", in: fast)
                for (index, stream) in Self.streams.enumerated() {
                    // Both at once: each waits out its own quiet time.
                    let clients = try [router, fast].map { try RawClient(port: $0.gatewayPort) }
                    defer { clients.forEach { $0.close() } }
                    clients.forEach { $0.send(stream) }
                    async let first = clients[0].drain()
                    async let second = clients[1].drain()
                    let answers = await [first, second]
                    #expect(!answers[0].text.isEmpty, "stream \(index) was not answered")
                    #expect(
                        Self.comparable(answers[1].text) == Self.comparable(answers[0].text),
                        "stream \(index): \(stream.prefix(120).debugDescription)"
                    )
                    #expect(answers[1].closed == answers[0].closed, "stream \(index) closed on one gateway only")
                }
                // The plain streams' first hits were the fast path's (the test would pass without it otherwise).
                #expect(try await FastPathTests.metric("gateway_cache_fast_hits_total", in: fast) - fastBefore >= 5)
                #expect(try await FastPathTests.metric("gateway_cache_fast_hits_total", in: router) == 0)
            }
        }
    }

    @Test("One connection, many keys: each request is identified by its own key, remembered or not")
    func keysChangeOnOneConnection() async throws {
        try await GatewayHarness.with(configure: { $0.keys = GatewayHarness.Keys.store }) { harness in
            let admin = [("Authorization", "Bearer \(GatewayHarness.Keys.admin)")]
            #expect(try await harness.get("/datasets/ds0001", headers: admin).status == 200)
            let fastBefore = try await FastPathTests.metric("gateway_cache_fast_hits_total", in: harness)
            let client = try RawClient(port: harness.gatewayPort)
            defer { client.close() }
            func hit(_ id: String, _ authorization: String?) async throws -> String {
                let header = authorization.map { "Authorization: \($0)\r\n" } ?? ""
                return try await client.exchange(
                    "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: \(id)\r\n\(header)\r\n",
                    answers: 1
                )[0]
            }
            // The same key twice (the second from memory), then another of the same length but
            // one byte, then none, then the first again.
            let read = "Bearer \(GatewayHarness.Keys.read)"
            var wrong = Array(read.utf8)
            wrong[wrong.count - 1] = wrong[wrong.count - 1] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
            #expect(try await hit("k-1", read).hasPrefix("HTTP/1.1 200"))
            #expect(try await hit("k-2", read).hasPrefix("HTTP/1.1 200"))
            #expect(try await hit("k-3", String(decoding: wrong, as: UTF8.self)).hasPrefix("HTTP/1.1 401"))
            #expect(try await hit("k-4", nil).hasPrefix("HTTP/1.1 401"))
            #expect(try await hit("k-5", "Bearer \(GatewayHarness.Keys.admin)").hasPrefix("HTTP/1.1 200"))
            #expect(try await hit("k-6", read).hasPrefix("HTTP/1.1 200"))
            let clients = (1...6).map { id in
                harness.traffic.logLines.first { $0.contains("request_id=k-\(id) ") }.flatMap { line in
                    line.split(separator: " ").first { $0.hasPrefix("client=") }.map(String.init)
                } ?? "none"
            }
            #expect(clients == ["client=reader", "client=reader", "none", "none", "client=operator", "client=reader"])
            // The four hits were the fast path's (the refusals are the router's), identities remembered or not.
            #expect(try await FastPathTests.metric("gateway_cache_fast_hits_total", in: harness) - fastBefore == 4)
        }
        #expect(AccessGate.sameSecret("Bearer a", "Bearer a") && AccessGate.sameSecret(nil, nil))
        #expect(!AccessGate.sameSecret("Bearer a", "Bearer b") && !AccessGate.sameSecret("Bearer a", nil) && !AccessGate.sameSecret("a", "ab"))
    }

    @Test("A head split over reads goes to the router; the fast path takes up the next plain request")
    func splitHeads() async throws {
        try await GatewayHarness.with { harness in
            #expect(try await harness.get("/datasets/ds0001").status == 200)
            let before = try await FastPathTests.metric("gateway_cache_fast_hits_total", in: harness)
            let client = try RawClient(port: harness.gatewayPort)
            defer { client.close() }
            // Split in the request line, then in a field, then at the blank line.
            client.send("GET /datasets/ds00")
            try await Task.sleep(for: .milliseconds(50))
            client.send("01 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request")
            try await Task.sleep(for: .milliseconds(50))
            let split = try await client.exchange("-ID: split\r\n\r\n", answers: 1)
            #expect(split[0].contains("X-Request-ID: split") && split[0].contains("X-Cache: HIT"))
            #expect(try await FastPathTests.metric("gateway_cache_fast_hits_total", in: harness) == before)

            let next = try await client.exchange("GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: next\r\n\r\n", answers: 1)
            #expect(next[0].contains("X-Request-ID: next") && next[0].contains("X-Cache: HIT"))
            #expect(try await FastPathTests.metric("gateway_cache_fast_hits_total", in: harness) == before + 1)

            // After a body, the connection is the decoder's for good: still answered, by the router.
            let posted = try await client.exchange(
                "POST /datasets/ds0001/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                    + "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: after-body\r\n\r\n",
                answers: 2
            )
            #expect(posted[1].contains("X-Request-ID: after-body") && posted[1].hasPrefix("HTTP/1.1 200"))
            #expect(try await FastPathTests.metric("gateway_cache_fast_hits_total", in: harness) == before + 1)
        }
    }
}
