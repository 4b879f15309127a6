import Foundation
import HTTPTypes
import ModeSimulator
import NIOHTTP1
import Testing

@testable import ModeGateway

#if canImport(Glibc)
    import Glibc
#endif

extension RawClient {
    /// Sends `text` in one write and reads `count` whole answers; `heads` are the indices of
    /// answers to HEAD, which have no body whatever their `Content-Length` says. Any byte after
    /// the last answer (a HEAD answer's body, an answer too many) is an issue.
    func exchange(_ text: String, answers count: Int, heads: Set<Int> = [], within limit: Duration = .seconds(10)) async throws -> [String] {
        self.send(text)
        let started = ContinuousClock.now
        var received: [UInt8] = []
        var answers: [String] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while answers.count < count {
            // Cut every whole answer off the front of what was received.
            while answers.count < count, let end = Self.answerEnd(received, isHead: heads.contains(answers.count)) {
                answers.append(String(decoding: received[..<end], as: UTF8.self))
                received.removeFirst(end)
            }
            if answers.count == count { break }
            guard ContinuousClock.now - started < limit else { throw POSIXError(.ETIMEDOUT) }
            let read = buffer.withUnsafeMutableBytes { recv(self.socket, $0.baseAddress, $0.count, 0) }
            if read == 0 { throw POSIXError(.ECONNRESET) }
            if read > 0 {
                received += buffer[0..<read]
            } else if errno != EAGAIN && errno != EWOULDBLOCK {
                throw POSIXError(.ECONNRESET)
            } else {
                await Task.yield()
            }
        }
        // Nothing more may come (the socket's receive timeout is 100 ms).
        let more = buffer.withUnsafeMutableBytes { recv(self.socket, $0.baseAddress, $0.count, 0) }
        if more > 0 { received += buffer[0..<more] }
        if !received.isEmpty {
            Issue.record("\(received.count) bytes after the last answer: \(String(decoding: received.prefix(200), as: UTF8.self))")
        }
        return answers
    }

    /// Where the first answer in `bytes` ends, when all of it is there.
    private static func answerEnd(_ bytes: [UInt8], isHead: Bool) -> Int? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard bytes.count >= 4, let headEnd = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else {
            return nil
        }
        let head = String(decoding: bytes[..<headEnd], as: UTF8.self).lowercased()
        var length = 0
        if !isHead, !head.hasPrefix("http/1.1 304"),
            let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") })
        {
            length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        let end = headEnd + 4 + length
        return bytes.count >= end ? end : nil
    }
}

/// The fast path for fresh hits, against the router's path: the same bytes, in the same order.
@Suite("Fresh hits on the event loop")
struct FastPathTests {
    static let admin = [("Authorization", "Bearer \(GatewayHarness.Keys.admin)")]

    /// An answer without its `Date` value, which each path stamps from the wall clock.
    static func withoutDate(_ answer: String) -> String {
        answer.split(separator: "\r\n", omittingEmptySubsequences: false)
            .map { $0.lowercased().hasPrefix("date: ") ? "Date: (masked)" : String($0) }
            .joined(separator: "\r\n")
    }

    /// The gateway's request log lines for the given request ids, without the time stamp and duration.
    static func logLines(_ harness: GatewayHarness, ids: [String]) -> [String] {
        harness.traffic.logLines.filter { line in line.contains(" request ") && ids.contains { line.contains("request_id=\($0) ") } }
            .map { line in
                line.split(separator: " ").filter { !$0.hasPrefix("duration_ms=") }.dropFirst(2).joined(separator: " ")
            }
    }

    /// A figure from `/metrics` (asked with the admin key, which a gateway without keys ignores).
    static func metric(_ name: String, in harness: GatewayHarness) async throws -> Double {
        let text = try await harness.get("/metrics", headers: Self.admin).body
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return try #require(line.flatMap { Double($0.split(separator: " ").last ?? "") }, "no \(name) in /metrics")
    }

    /// Requests that hit a warm cache, and their neighbours that do not: each goes to a gateway
    /// with the fast path and to one without, and the two answers must be the same bytes.
    static func requests(key: String?) -> [(text: String, isHead: Bool)] {
        let auth = key.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        func request(_ method: String, _ target: String, _ id: String, _ extra: String = "") -> (String, Bool) {
            ("\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(auth)X-Request-ID: \(id)\r\n\(extra)\r\n", method == "HEAD")
        }
        return [
            request("GET", "/datasets/ds0001", "eq-1"),
            request("HEAD", "/datasets/ds0001", "eq-2"),
            request("GET", "/datasets/ds0001", "eq-3", "If-None-Match: \"nope\", W/\"ETAG\"\r\n"),
            request("HEAD", "/datasets/ds0001", "eq-4", "If-None-Match: *\r\n"),
            request("GET", "/spaces/sp-finance/datasets", "eq-5"),
            request("GET", "/spaces/sp-finance/datasets?order=desc&order_by=updated_at", "eq-6"),
            request("GET", "/spaces/sp-finance/datasets?order_by=updated_at&order=desc", "eq-7"),
            request("GET", "/datasets/ds0001?x=1", "eq-8"),
            request("GET", "/datasets/ds0001/", "eq-9"),
            request("GET", "/datasets/ds0001", "eq-10", "Cache-Control: no-cache\r\n"),
            request("GET", "/datasets/ds0001", "not/well-formed"),
            request("HEAD", "/datasets/ds0002", "eq-12"),
            request("GET", "/healthz", "eq-13"),
        ]
    }

    @Test("A hit answered on the event loop is byte for byte the router's answer", arguments: [false, true])
    func sameBytes(withKeys: Bool) async throws {
        let clock = ManualTimeSource()
        let key = withKeys ? GatewayHarness.Keys.read : nil
        let keys: KeyStore? = withKeys ? GatewayHarness.Keys.store : nil
        try await GatewayHarness.with(
            time: clock.source,
            configure: {
                $0.fastHits = false; $0.keys = keys
            }
        ) { router in
            try await GatewayHarness.with(time: clock.source, configure: { $0.keys = keys }) { fast in
                let auth = key.map { [("Authorization", "Bearer \($0)")] } ?? []
                // The simulators are seeded alike: warm both caches the same way, then age them.
                for harness in [router, fast] {
                    for path in ["/datasets/ds0001", "/spaces/sp-finance/datasets", "/spaces/sp-finance/datasets?order=desc&order_by=updated_at"] {
                        #expect(try await harness.get(path, headers: auth).status == 200)
                    }
                }
                let etag = try await router.get("/datasets/ds0001", headers: auth).headers.first(name: "ETag") ?? ""
                #expect(try await fast.get("/datasets/ds0001", headers: auth).headers.first(name: "ETag") == etag)
                clock.advance(by: .seconds(7))
                let fastBefore = try await Self.metric("gateway_cache_fast_hits_total", in: fast)

                var requests = Self.requests(key: key)
                requests.append(
                    (
                        "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: eq-14\r\nIf-None-Match: \(etag)\r\n\(key.map { "Authorization: Bearer \($0)\r\n" } ?? "")\r\n",
                        false
                    )
                )
                if withKeys {
                    // No key, a wrong key: refused the same way on both (the router answers both).
                    requests.append(("GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: eq-15\r\n\r\n", false))
                    requests.append(
                        ("GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: eq-16\r\nAuthorization: Bearer mgw_wrong\r\n\r\n", false)
                    )
                }
                for (index, request) in requests.enumerated() {
                    var answers: [String] = []
                    for harness in [router, fast] {
                        let client = try RawClient(port: harness.gatewayPort)
                        defer { client.close() }
                        let answer = try await client.exchange(request.text, answers: 1, heads: request.isHead ? [0] : [])[0]
                        answers.append(answer)
                    }
                    var expected = Self.withoutDate(answers[0])
                    var actual = Self.withoutDate(answers[1])
                    if request.text.contains("not/well-formed") {
                        // Each gateway makes up its own id for a client's malformed one.
                        expected = expected.replacing(/X-Request-ID: [0-9a-f]{32}/, with: "X-Request-ID: (new)")
                        actual = actual.replacing(/X-Request-ID: [0-9a-f]{32}/, with: "X-Request-ID: (new)")
                    }
                    #expect(actual == expected, "request \(index): \(request.text)")
                    #expect(answers[1].contains("\r\nDate: "), "request \(index) has no Date")
                }
                let fastAfter = try await Self.metric("gateway_cache_fast_hits_total", in: fast)
                // eq-1, 2, 3, 4, 5, 6, 7, the malformed id and the 304 are fresh hits the fast path
                // answers; eq-8 (bad query), eq-9 (trailing slash), eq-10 (no-cache), eq-12 (a miss)
                // and /healthz are the router's.
                #expect(fastAfter - fastBefore == 9)
                #expect(try await Self.metric("gateway_cache_fast_hits_total", in: router) == 0)
                let ids = (1...16).map { "eq-\($0)" }
                #expect(Self.logLines(fast, ids: ids) == Self.logLines(router, ids: ids))
                #expect(Self.logLines(fast, ids: ids).count >= 13)
                for route in ["/datasets/{dataset}", "/spaces/{space}/datasets"] {
                    let counts = try await [router, fast].asyncMap { harness in
                        try await harness.get("/metrics", headers: Self.admin).body.split(separator: "\n")
                            .filter { $0.hasPrefix("http_requests_total") && $0.contains("route=\"\(route)\"") }.sorted()
                    }
                    #expect(counts[0] == counts[1] && !counts[0].isEmpty, "\(route)")
                }
            }
        }
    }

    @Test("A pipelined hit waits for an earlier request the router still holds")
    func pipelinedOrder() async throws {
        try await GatewayHarness.with { harness in
            #expect(try await harness.get("/datasets/ds0001").status == 200)
            let before = try await Self.metric("gateway_cache_fast_hits_total", in: harness)
            // The first request is a miss that Mode is slow to answer; the hit behind it must not overtake it.
            harness.control.setFault(FaultPlan(.delay(milliseconds: 300), count: 1))
            let client = try RawClient(port: harness.gatewayPort)
            defer { client.close() }
            let answers = try await client.exchange(
                "GET /datasets/ds0002 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: first\r\n\r\n"
                    + "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: second\r\n\r\n"
                    + "HEAD /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: third\r\n\r\n",
                answers: 3,
                heads: [2]
            )
            #expect(answers[0].contains("X-Request-ID: first") && answers[0].contains("X-Cache: MISS"))
            #expect(answers[1].contains("X-Request-ID: second") && answers[1].contains("X-Cache: HIT"))
            #expect(answers[2].contains("X-Request-ID: third") && answers[2].hasSuffix("\r\n\r\n"))
            // With the router holding the first, the others were the router's too.
            #expect(try await Self.metric("gateway_cache_fast_hits_total", in: harness) == before)

            // Hits alone, pipelined: all answered on the event loop, in order, and the
            // connection serves on afterwards.
            let hits = try await client.exchange(
                (1...5).map { "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: hit-\($0)\r\n\r\n" }.joined(),
                answers: 5
            )
            for (index, answer) in hits.enumerated() {
                #expect(answer.contains("X-Request-ID: hit-\(index + 1)\r\n") && answer.contains("X-Cache: HIT"))
            }
            #expect(try await Self.metric("gateway_cache_fast_hits_total", in: harness) == before + 5)
            let last = try await client.exchange("GET /datasets/ds0002 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", answers: 1)
            #expect(last[0].hasPrefix("HTTP/1.1 200") && last[0].contains("X-Cache: HIT"))

            // A request that closes the connection is the last answered on it, on either path.
            let closing = try RawClient(port: harness.gatewayPort)
            defer { closing.close() }
            let closed = try await closing.exchange(
                "GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Request-ID: closing\r\n\r\n",
                answers: 1
            )
            #expect(closed[0].contains("X-Request-ID: closing") && closed[0].contains("X-Cache: HIT"))
            let fastBefore = try await Self.metric("gateway_cache_fast_hits_total", in: harness)
            closing.send("GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: after-close\r\n\r\n")
            let rest = await closing.closed(within: .seconds(5))
            #expect(rest == "", "nothing is answered after a request that closes the connection")
            #expect(try await Self.metric("gateway_cache_fast_hits_total", in: harness) == fastBefore)
            #expect(!harness.traffic.logLines.contains { $0.contains("request_id=after-close") })
        }
    }

    @Test("A keep-alive connection busy with hits stays open; once idle it closes after the idle timeout")
    func idleTimeoutAfterHits() async throws {
        // The idle timer is ConnectionGuard's alone, and it must see the event loop's answers.
        try await GatewayHarness.with(configure: {
            $0.clientIdleTimeout = .seconds(1)
            $0.headerTimeout = .seconds(10)
        }) { harness in
            #expect(try await harness.get("/datasets/ds0001").status == 200)
            let client = try RawClient(port: harness.gatewayPort)
            defer { client.close() }
            // A hit every 200 ms or so for more than twice the idle timeout.
            for index in 0..<12 {
                let answer = try await client.exchange("GET /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", answers: 1)
                #expect(answer[0].contains("X-Cache: HIT"), "hit \(index)")
                try await Task.sleep(for: .milliseconds(100))
            }
            // Then idle: closed after about a second, long before the header timeout.
            let idleSince = ContinuousClock.now
            #expect(await client.closed(within: .seconds(8)) == "")
            #expect(ContinuousClock.now - idleSince < .seconds(5))
            #expect(try await Self.metric("gateway_cache_fast_hits_total", in: harness) >= 12)
        }
    }

    @Test("HEAD answers as GET would, without the body: a miss, a hit, a 304, an error, the operations routes")
    func headOnEveryGetRoute() async throws {
        try await GatewayHarness.with { harness in
            // What may differ between two answers a moment apart (the readiness report's figures
            // move, so its length may too).
            func comparable(_ reply: GatewayHarness.Reply, _ path: String) -> [String] {
                var varying = ["date", "x-request-id", "x-cache", "age", "cache-control"]
                if path == "/readyz" { varying.append("content-length") }
                return reply.headers.filter { !varying.contains($0.name.lowercased()) }.map { "\($0.name.lowercased()): \($0.value)" }.sorted()
            }
            let paths = [
                "/datasets/ds0003", "/datasets/ds0003", "/healthz", "/readyz", "/openapi.json", "/docs", "/datasets/bad%2F", "/nowhere",
                "/datasets/ds0003/results",
            ]
            for path in paths {
                let head = try await harness.send(.HEAD, path)
                let get = try await harness.get(path)
                #expect(head.status == get.status, "\(path)")
                #expect(comparable(head, path) == comparable(get, path), "\(path)")
                if get.status == 200, path != "/readyz" {
                    // Streamed rows have no length, on GET and HEAD alike (never a false 0).
                    #expect(head.headers.first(name: "Content-Length") == get.headers.first(name: "Content-Length"), "\(path)")
                    if let length = get.headers.first(name: "Content-Length") { #expect(length == String(get.body.utf8.count), "\(path)") }
                }
                // On the wire: the head, and not one byte of body (exchange records any).
                let client = try RawClient(port: harness.gatewayPort)
                defer { client.close() }
                let raw = try await client.exchange("HEAD \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", answers: 1, heads: [0])
                #expect(raw[0].hasPrefix("HTTP/1.1 \(get.status) "), "\(path)")
            }

            // Rows too many to read before answering are streamed without a length: HEAD says so
            // too (never a false `Content-Length: 0`) and sends no chunk, not even the last.
            let big = "/reports/rp-big/queries/q-events/results"
            let streamed = try await harness.send(.HEAD, big)
            #expect(streamed.status == 200 && streamed.headers.first(name: "Content-Length") == nil)
            #expect(streamed.headers.first(name: "Transfer-Encoding") == "chunked")
            let rawClient = try RawClient(port: harness.gatewayPort)
            defer { rawClient.close() }
            let raw = try await rawClient.exchange("HEAD \(big) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", answers: 1, heads: [0])
            #expect(raw[0].hasPrefix("HTTP/1.1 200 ") && !raw[0].contains("Content-Length"))

            let etag = try await harness.get("/datasets/ds0003").headers.first(name: "ETag") ?? ""
            let notModified = try await harness.send(.HEAD, "/datasets/ds0003", headers: [("If-None-Match", etag)])
            #expect(notModified.status == 304 && notModified.body.isEmpty)
            // A route without GET still refuses HEAD, and says what it allows.
            let purge = try await harness.send(.HEAD, "/cache")
            #expect(purge.status == 405 && purge.headers.first(name: "Allow") == "DELETE")
            let allow = try await harness.send(.PUT, "/datasets/ds0003").headers.first(name: "Allow") ?? ""
            #expect(allow.contains("GET") && allow.contains("HEAD"))
        }
    }

    @Test("The route matcher finds one route or none: literals, parameters, ambiguity, odd paths")
    func routeMatcher() {
        let matcher = RouteMatcher<String>([
            ("/datasets/{dataset}", "dataset"), ("/datasets/{dataset}/runs", "runs"), ("/reports/{report}", "report"),
            ("/reports/recent", nil), ("/healthz", nil), ("/a/{x}/c", "axc"), ("/a/b/{y}", "aby"),
            ("/files/{name}.json", nil), ("/files/{file}/meta", "meta"), ("/static/**", nil), ("/static/{x}", "static"),
        ])
        // A capture with a suffix, and a catch-all, may take what a plain parameter would.
        #expect(matcher.match("/files/a.json/meta")?.target == "meta")
        #expect(matcher.match("/files/abc") == nil)
        #expect(matcher.match("/static/x") == nil && matcher.match("/static/x/y") == nil)
        #expect(matcher.match("/datasets/abc")?.target == "dataset")
        #expect(matcher.match("/datasets/abc")?.value(of: "dataset") == "abc")
        #expect(matcher.match("/datasets/abc/runs")?.target == "runs")
        #expect(matcher.match("/reports/r1")?.target == "report")
        // A literal and a parameter both fit: the router decides.
        #expect(matcher.match("/reports/recent") == nil)
        #expect(matcher.match("/a/b/c") == nil)
        #expect(matcher.match("/a/z/c")?.parameters.map(\.name) == ["x"] && matcher.match("/a/z/c")?.value(of: "x") == "z")
        for odd in ["", "datasets/abc", "/datasets/abc/", "/datasets//abc", "//datasets/abc", "/datasets", "/healthz", "/"] {
            #expect(matcher.match(odd[...]) == nil, "\(odd)")
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
