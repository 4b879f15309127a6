import Foundation
import ModeGateway
import ModeSimulator
import NIOHTTP1
import Testing

@Suite("What Mode answers maps to the gateway's answer")
struct UpstreamErrorsEndToEndTests {
    @Test("Mode's 404 is a 404")
    func notFound() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let reply = try await harness.get("/datasets/nosuchdataset")
            #expect(reply.status == 404)
            #expect(reply.object["detail"] as? String == "Dataset not found")
            #expect(try await harness.get("/spaces/nosuchspace/datasets").status == 404)
        }
    }

    @Test("Mode's 422 and 400 are a 400 with Mode's message")
    func rejected() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let reply = try await harness.send(.PATCH, "/datasets/ds0001", body: #"{"space_token":"sp-nowhere"}"#)
            #expect(reply.status == 400)
            #expect((reply.object["detail"] as? String)?.contains("sp-nowhere") == true)
            harness.control.setFault(FaultPlan(.status(400, retryAfterSeconds: nil), count: 1))
            let bad = try await harness.get("/datasets/ds0001")
            #expect(bad.status == 400)
            #expect(bad.object["detail"] as? String == "Simulated fault 400")
        }
    }

    @Test("Mode's 403 is a 403")
    func forbidden() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let reply = try await harness.get("/datasets/restricted")
            #expect(reply.status == 403)
            #expect(reply.headers["Content-Type"].first == "application/problem+json")
        }
    }

    @Test("Mode refusing the gateway's credentials is a 502, never a 401")
    func upstreamUnauthorized() async throws {
        try await GatewayHarness.with(configure: {
            $0.credentials = ModeCredentials(token: GatewayHarness.token, secret: "wrong-secret")
        }) { (harness: GatewayHarness) async throws in
            let reply = try await harness.get("/datasets/ds0001")
            #expect(reply.status == 502)
            #expect(!reply.body.contains("wrong-secret"))
            #expect(!reply.body.contains(GatewayHarness.token))
        }
    }

    @Test(
        "Mode's 5xx, a dropped connection and invalid JSON are a 502",
        arguments: [
            SimulatorFault.status(500, retryAfterSeconds: nil), .status(503, retryAfterSeconds: nil), .drop, .brokenJSON,
        ]
    )
    func badGateway(fault: SimulatorFault) async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            harness.control.setFault(FaultPlan(fault))
            for path in ["/datasets/ds0001", "/spaces/sp-finance/datasets"] {
                let reply = try await harness.get(path)
                #expect(reply.status == 502, "\(fault) \(path)")
                #expect(reply.headers["Content-Type"].first == "application/problem+json")
            }
        }
    }

    @Test("A refused connection is a 502")
    func refused() async throws {
        try await GatewayHarness.with(
            configure: { $0.connectTimeout = .seconds(1) },
            upstreamURL: { _ in
                // A port that was just free: start a simulator, note its port, stop it.
                let stopped = try await RunningSimulator.start(ModeSimulator(configuration: .init(token: "t", secret: "s")))
                await stopped.stop()
                return stopped.baseURL
            }
        ) { (harness: GatewayHarness) async throws in
            let reply = try await harness.get("/datasets/ds0001")
            #expect(reply.status == 502)
            #expect(reply.object["detail"] as? String == "Mode could not be reached.")
        }
    }

    @Test("Mode taking longer than the timeout is a 504")
    func timeout() async throws {
        try await GatewayHarness.with(configure: { $0.upstreamTimeout = .milliseconds(300) }) { (harness: GatewayHarness) async throws in
            harness.control.setFault(FaultPlan(.delay(milliseconds: 3000)))
            let started = ContinuousClock.now
            let reply = try await harness.get("/datasets/ds0001")
            #expect(reply.status == 504)
            #expect(ContinuousClock.now - started < .seconds(3))
        }
    }

    @Test("Mode's 429 is a 503 with Retry-After")
    func rateLimited() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            harness.control.setFault(FaultPlan(.status(429, retryAfterSeconds: 7)))
            let reply = try await harness.get("/datasets/ds0001")
            #expect(reply.status == 503)
            #expect(reply.headers["Retry-After"].first == "7")
        }
    }
}
