import Synchronization

/// Where time-dependent logic reads "now": the system's monotonic clock in production, a manual
/// clock in tests, so that expiry and windows are tested without sleeping.
public struct TimeSource: Sendable {
    /// Time since an arbitrary fixed origin; only differences matter.
    public let now: @Sendable () -> Duration

    public init(now: @escaping @Sendable () -> Duration) {
        self.now = now
    }

    /// The process's monotonic clock.
    public static let system: TimeSource = {
        let origin = ContinuousClock.now
        return TimeSource { ContinuousClock.now - origin }
    }()
}

/// A clock that moves only when told; for tests.
public final class ManualTimeSource: Sendable {
    private let current = Mutex(Duration.zero)

    public init() {}

    public var source: TimeSource { TimeSource { self.current.withLock { $0 } } }

    public func advance(by duration: Duration) {
        self.current.withLock { $0 += duration }
    }
}

/// How time-dependent code waits; tests can make waiting instant and record it.
public struct Sleeper: Sendable {
    public let sleep: @Sendable (Duration) async throws -> Void

    public init(sleep: @escaping @Sendable (Duration) async throws -> Void) {
        self.sleep = sleep
    }

    public static let system = Sleeper { duration in try await Task.sleep(for: duration) }
}
