import Synchronization

/// Whether the gateway can serve, and what it knows of Mode.
///
/// Ready means the gateway itself can serve: its configuration is loaded and its listener is up
/// (or this code would not run). Mode's state (reachable, credentials valid, the breaker, the
/// last success) is reported beside it, not folded into it: with Mode down every replica stays in
/// rotation and serves stale answers. `READINESS_REQUIRES_MODE=true` folds it back in.
///
/// Mode is asked `GET /verify` directly through the client, at most once per interval, with
/// concurrent probes sharing one check: never through the upstream budget (so a probe never
/// queues behind traffic) and never into the circuit breaker.
final class Readiness: Sendable {
    /// What the last check of Mode found.
    struct ModeState: Sendable, Equatable {
        var reachable: Bool?
        var credentialsValid: Bool?
        /// Why Mode is not usable, when it is not.
        var detail: String?
        /// When Mode last answered the check with a success, on the ``TimeSource``'s clock.
        var lastSuccess: Duration?

        var isUsable: Bool { self.reachable == true && self.credentialsValid == true }
    }

    private struct State {
        var checkedAt: Duration?
        var mode = ModeState(detail: "Mode has not been checked yet.")
        var running: Task<ModeState, Never>?
    }

    private let state = Mutex(State())
    private let client: ModeClient
    private let interval: Duration
    private let timeout: Duration
    private let time: TimeSource
    /// `readiness.requires.mode`: whether an unusable Mode makes the gateway unready.
    let requiresMode: Bool

    init(client: ModeClient, interval: Duration, timeout: Duration, requiresMode: Bool, time: TimeSource) {
        self.client = client
        self.interval = interval
        self.timeout = timeout
        self.requiresMode = requiresMode
        self.time = time
    }

    /// Mode's state as last known, at once; a check older than the interval starts a new one in
    /// the background, so a probe never waits on Mode.
    func latest() -> ModeState {
        let now = self.time.now()
        self.state.withLock { state in
            let stale = state.checkedAt.map { now - $0 >= self.interval } ?? true
            if stale, state.running == nil { state.running = Task { await self.askMode() } }
        }
        return self.lastKnown
    }

    /// Mode's state, asking Mode (and waiting for it) when the last check is older than the interval.
    func check() async -> ModeState {
        let now = self.time.now()
        let task = self.state.withLock { state -> Task<ModeState, Never>? in
            if let checkedAt = state.checkedAt, now - checkedAt < self.interval { return nil }
            if let running = state.running { return running }
            let task = Task { await self.askMode() }
            state.running = task
            return task
        }
        guard let task else { return self.state.withLock { $0.mode } }
        return await task.value
    }

    /// Mode's state as last checked, without asking; for metrics.
    var lastKnown: ModeState { self.state.withLock { $0.mode } }

    private func askMode() async -> ModeState {
        var mode = self.state.withLock { $0.mode }
        do throws(UpstreamFailure) {
            let response = try await self.client.send(UpstreamRequest(method: .get, path: "/verify"), timeout: self.timeout)
            mode.reachable = true
            switch response.status.code {
            case 200..<300:
                mode.credentialsValid = true
                mode.detail = nil
                mode.lastSuccess = self.time.now()
            case 401, 403:
                mode.credentialsValid = false
                mode.detail = "Mode refused the gateway's credentials."
            default:
                mode.credentialsValid = nil
                mode.detail = "Mode answered \(response.status.code) to the credentials check."
            }
        } catch {
            mode.reachable = false
            mode.detail = error.gatewayError.problem.detail
        }
        let checkedAt = self.time.now()
        let checked = mode
        self.state.withLock { state in
            state.mode = checked
            state.checkedAt = checkedAt
            state.running = nil
        }
        return mode
    }
}
