import Foundation
import Testing

@testable import ModeGateway

#if canImport(Glibc)
    import Glibc
#endif

/// A client on a raw socket, to misbehave as no HTTP library will: send half a head, stall.
struct RawClient {
    let socket: Int32

    init(port: Int) throws {
        self.socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(self.socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(self.socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(self.socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Waits until the server closes the connection; what it sent before, or nil if it stayed open.
    func closed(within limit: Duration) async -> String? {
        let started = ContinuousClock.now
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now - started < limit {
            let count = buffer.withUnsafeMutableBytes { recv(self.socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { return String(decoding: received, as: UTF8.self) }
            if count > 0 {
                received += buffer[0..<count]
            } else if errno != EAGAIN && errno != EWOULDBLOCK {
                return String(decoding: received, as: UTF8.self)
            }
            await Task.yield()
        }
        return nil
    }

    func close() { _ = Glibc.close(self.socket) }
}

@Suite("Slow and greedy clients cannot hold the gateway's connections")
struct SlowClientTests {
    @Test("A head sent a byte at a time, or a body that stalls, is cut off; a prompt client is served")
    func slowloris() async throws {
        try await GatewayHarness.with(configure: {
            $0.headerTimeout = .milliseconds(700)
            $0.bodyTimeout = .milliseconds(700)
        }) { (harness: GatewayHarness) async throws in
            let slow = try RawClient(port: harness.gatewayPort)
            defer { slow.close() }
            slow.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            #expect(await slow.closed(within: .seconds(5)) != nil, "a head that never ends must be cut off")

            let stalled = try RawClient(port: harness.gatewayPort)
            defer { stalled.close() }
            stalled.send("PATCH /datasets/ds0001 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"name\":")
            #expect(await stalled.closed(within: .seconds(5)) != nil, "a body that never ends must be cut off")
            #expect(harness.control.requestCount == 0)

            let prompt = try RawClient(port: harness.gatewayPort)
            defer { prompt.close() }
            prompt.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            let answer = await prompt.closed(within: .seconds(5))
            #expect(answer?.hasPrefix("HTTP/1.1 200") == true)
        }
    }

    @Test("Past HTTP_MAX_CONNECTIONS a new connection is closed at once; the open ones still work")
    func connectionCap() async throws {
        try await GatewayHarness.with(configure: { $0.maxConnections = 2 }) { (harness: GatewayHarness) async throws in
            let first = try RawClient(port: harness.gatewayPort)
            let second = try RawClient(port: harness.gatewayPort)
            defer {
                first.close()
                second.close()
            }
            // Let the server count them before the third arrives.
            try await Task.sleep(for: .milliseconds(200))
            let third = try RawClient(port: harness.gatewayPort)
            defer { third.close() }
            #expect(await third.closed(within: .seconds(5)) == "", "the third connection must be closed unanswered")
            first.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            #expect(await first.closed(within: .seconds(5))?.hasPrefix("HTTP/1.1 200") == true)
        }
    }
}
