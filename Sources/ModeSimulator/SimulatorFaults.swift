import Synchronization

/// A misbehaviour the simulator can be told to show, to test the gateway against a bad Mode.
public enum SimulatorFault: Sendable, Equatable {
    /// Close the connection without answering.
    case drop
    /// Wait this long before answering normally.
    case delay(milliseconds: Int)
    /// Answer this status with a Mode-shaped error body, and `Retry-After` when given.
    case status(Int, retryAfterSeconds: Int?)
    /// Answer 200 with a body that is not JSON.
    case brokenJSON
}

/// A fault and how many requests it applies to; nil `remaining` means until cleared.
public struct FaultPlan: Sendable, Equatable {
    public var fault: SimulatorFault
    public var remaining: Int?

    public init(_ fault: SimulatorFault, count: Int? = nil) {
        self.fault = fault
        self.remaining = count
    }
}

/// One request as the simulator received it, for tests to inspect.
public struct RecordedRequest: Sendable, Equatable {
    public var method: String
    public var path: String
    public var query: String?
    /// The `Authorization` header, as received.
    public var authorization: String?
    /// Every header name received, lowercased.
    public var headerNames: [String]
    /// The body of a write, as received.
    public var body: String? = nil
}

/// The simulator's switches and counters, shared by its handlers and the test (or the HTTP control API).
public final class SimulatorControl: Sendable {
    private struct State {
        var fault: FaultPlan?
        var requests: [RecordedRequest] = []
        var requestCount = 0
        var rateLimited = 0
        var bucket: LeakyBucket?
        /// Reports whose new runs fail.
        var failingReports: Set<String> = ["rp-failing"]
    }

    private let state = Mutex(State())
    /// How many requests are kept for inspection.
    static let recordLimit = 10_000

    public init() {}

    public func setFault(_ plan: FaultPlan?) { self.state.withLock { $0.fault = plan } }

    /// Makes a report's new runs fail (or succeed again).
    public func setFailing(report: String, _ failing: Bool) {
        self.state.withLock { state in
            if failing { state.failingReports.insert(report) } else { state.failingReports.remove(report) }
        }
    }

    /// Whether a report's new runs fail.
    public func isFailing(report: String) -> Bool { self.state.withLock { $0.failingReports.contains(report) } }

    /// The fault for the next request, counting it down.
    func takeFault() -> SimulatorFault? {
        self.state.withLock { state in
            guard var plan = state.fault else { return nil }
            if let remaining = plan.remaining {
                if remaining <= 1 { state.fault = nil } else { plan.remaining = remaining - 1; state.fault = plan }
            }
            return plan.fault
        }
    }

    func record(_ request: RecordedRequest) {
        self.state.withLock { state in
            state.requestCount += 1
            if state.requests.count >= Self.recordLimit { state.requests.removeFirst(state.requests.count / 2) }
            state.requests.append(request)
        }
    }

    /// Meters one request against the rate limit, if there is one.
    func meter(_ limit: LeakyBucket.Limit?) -> LeakyBucket.Verdict? {
        guard let limit else { return nil }
        return self.state.withLock { state in
            if state.bucket?.limit != limit { state.bucket = LeakyBucket(limit: limit) }
            let verdict = state.bucket?.meter(now: .now)
            if verdict?.rejected == true { state.rateLimited += 1 }
            return verdict
        }
    }

    /// How many requests were refused with 429 by the rate limit.
    public var rateLimitedCount: Int { self.state.withLock { $0.rateLimited } }

    /// API requests received (the control routes are not counted).
    public var requestCount: Int { self.state.withLock { $0.requestCount } }
    public var requests: [RecordedRequest] { self.state.withLock { $0.requests } }

    public func resetRecords() {
        self.state.withLock {
            $0.requests = []
            $0.requestCount = 0
        }
    }
}
