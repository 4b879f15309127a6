import AsyncHTTPClient
import Foundation
import ModeSimulator
import NIOCore
import Testing

@testable import ModeGateway

/// The gateway process streaming a result of about 50 MB: its peak resident memory must grow by
/// far less than the result.
@Suite("Large results stream through the gateway process with bounded memory")
struct ResultsStreamingTests {
    /// `VmHWM` (peak resident set) of a process, in kB.
    static func peakResident(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test("A 50 MB result streams with the gateway's peak memory growing by far less than 50 MB")
    func largeResult() async throws {
        let simulator = try await RunningSimulator.start(
            ModeSimulator(configuration: .init(workspace: "demo", token: GatewayHarness.token, secret: GatewayHarness.secret))
        )
        defer { Task { await simulator.stop() } }
        // Too small a results cache to hold the rows: they are served, not stored.
        let (process, _, port) = try await ProcessTests.launchGateway(
            before: simulator,
            with: ["MODE_TIMEOUT_SECONDS": "120", "RESULTS_CACHE_MAX_BYTES": "4194304"]
        )
        defer { process.terminate() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { Task { try? await client.shutdown() } }
        let url = "http://127.0.0.1:\(port)/reports/rp-big/queries/q-events/results"

        // Warm up every path the big read takes, on a small result.
        let warm = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/reports/rp-sales/results"), timeout: .seconds(30))
        #expect(warm.status == .ok)
        _ = try await warm.body.collect(upTo: 1 << 20)
        try "5".write(toFile: "/proc/\(process.processIdentifier)/clear_refs", atomically: false, encoding: .utf8)
        let before = try Self.peakResident(process.processIdentifier)

        let rows = SimRows(reportToken: "rp-big", queryIndex: 0, count: 600_000)
        var expectedBytes = 0
        var expectedHead: [UInt8] = []
        var expectedTail: [UInt8] = []
        for block in rows.jsonBlocks() {
            expectedBytes += block.count
            if expectedHead.count < 4096 { expectedHead += block.prefix(4096 - expectedHead.count) }
            expectedTail = Array((expectedTail + block).suffix(4096))
            await Task.yield()
        }
        #expect(expectedBytes > 45_000_000, "the result must be tens of megabytes")

        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(300))
        #expect(response.status == .ok)
        var received = 0
        var head: [UInt8] = []
        var tail: [UInt8] = []
        for try await chunk in response.body {
            received += chunk.readableBytes
            if head.count < 4096 { head += chunk.readableBytesView.prefix(4096 - head.count) }
            tail = Array((tail + chunk.readableBytesView).suffix(4096))
        }
        let after = try Self.peakResident(process.processIdentifier)
        #expect(received == expectedBytes)
        #expect(head == expectedHead && tail == expectedTail)
        let growth = after - before
        #expect(growth < 16_000, "peak resident memory grew by \(growth) kB for a \(received / 1_000_000) MB result")
    }
}
