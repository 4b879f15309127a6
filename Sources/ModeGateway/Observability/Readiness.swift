import Synchronization

/// Whether the gateway can serve: configuration is loaded (it is, or the process would not run)
/// and Mode answers `GET /verify` with the gateway's credentials. Mode is asked at most once per
/// interval; concurrent probes share one check.
final class Readiness: Sendable {
    enum Verdict: Sendable, Equatable {
        case ready
        case notReady(reason: String)
    }

    private struct State {
        var checkedAt: Duration?
        var verdict: Verdict = .notReady(reason: "Mode has not been checked yet.")
        var running: Task<Verdict, Never>?
    }

    private let state = Mutex(State())
    private let upstream: UpstreamExecutor
    private let interval: Duration
    private let timeout: Duration
    private let time: TimeSource

    init(upstream: UpstreamExecutor, interval: Duration, timeout: Duration, time: TimeSource) {
        self.upstream = upstream
        self.interval = interval
        self.timeout = timeout
        self.time = time
    }

    func check() async -> Verdict {
        let now = self.time.now()
        let task = self.state.withLock { state -> Task<Verdict, Never>? in
            if let checkedAt = state.checkedAt, now - checkedAt < self.interval { return nil }
            if let running = state.running { return running }
            let task = Task { await self.askMode() }
            state.running = task
            return task
        }
        guard let task else { return self.state.withLock { $0.verdict } }
        return await task.value
    }

    private func askMode() async -> Verdict {
        let verdict: Verdict
        do throws(GatewayError) {
            let response = try await self.upstream.send(
                UpstreamRequest(method: .get, path: "/verify"),
                deadline: self.time.now() + self.timeout,
                maxAttempts: 1
            )
            switch response.status.code {
            case 200..<300: verdict = .ready
            case 401, 403: verdict = .notReady(reason: "Mode refused the gateway's credentials.")
            default: verdict = .notReady(reason: "Mode answered \(response.status.code) to the credentials check.")
            }
        } catch {
            verdict = .notReady(reason: error.problem.detail)
        }
        let checkedAt = self.time.now()
        self.state.withLock { state in
            state.verdict = verdict
            state.checkedAt = checkedAt
            state.running = nil
        }
        return verdict
    }
}
