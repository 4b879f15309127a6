import Synchronization

/// The simulator's world behind a lock: reads see a consistent snapshot, PATCH changes it.
public final class SimulatorStore: Sendable {
    private let world: Mutex<SimulatorWorld>

    public init(world: SimulatorWorld) {
        self.world = Mutex(world)
    }

    public var snapshot: SimulatorWorld { self.world.withLock { $0 } }

    /// The outcome of an update, in Mode's terms.
    enum UpdateResult {
        case updated(SimReport)
        case notFound
        case forbidden
        case invalidSpace(String)
    }

    /// Changes a dataset or report.
    func update(
        report token: String,
        name: String?,
        description: String?,
        spaceToken: String?,
        now: Int
    ) -> UpdateResult {
        self.world.withLock { world in
            func apply(_ report: inout SimReport) -> UpdateResult {
                if report.restricted { return .forbidden }
                if let spaceToken, !world.spaces.contains(where: { $0.token == spaceToken }) {
                    return .invalidSpace(spaceToken)
                }
                if let name { report.name = name }
                if let description { report.description = description }
                if let spaceToken { report.spaceToken = spaceToken }
                report.updatedAt = max(now, report.updatedAt + 1)
                return .updated(report)
            }
            if let index = world.datasets.firstIndex(where: { $0.token == token }) { return apply(&world.datasets[index]) }
            if let index = world.reports.firstIndex(where: { $0.token == token }) { return apply(&world.reports[index]) }
            return .notFound
        }
    }

    /// Starts a run of a report or dataset; nil when there is no such report.
    func startRun(report token: String, parameters: JSONValue, rows: Int?, now: Double, duration: Double, fails: Bool) -> SimRun? {
        self.world.withLock { world in
            guard world.report(token) != nil else { return nil }
            let run = SimRun(
                token: "run-" + String(UInt64(now * 1000), radix: 36) + "-" + String(world.runs.count, radix: 36),
                reportToken: token,
                parameters: parameters,
                rows: rows,
                createdAt: now,
                duration: duration,
                fails: fails
            )
            world.runs.append(run)
            return run
        }
    }

    /// Archives or unarchives a report or dataset; nil when there is none.
    func setArchived(report token: String, _ archived: Bool) -> SimReport? {
        self.world.withLock { world in
            if let index = world.reports.firstIndex(where: { $0.token == token }) {
                world.reports[index].archived = archived
                return world.reports[index]
            }
            if let index = world.datasets.firstIndex(where: { $0.token == token }) {
                world.datasets[index].archived = archived
                return world.datasets[index]
            }
            return nil
        }
    }

    /// Deletes a report or dataset and its runs; false when there is none.
    func remove(report token: String) -> Bool {
        self.world.withLock { world in
            let before = world.reports.count + world.datasets.count
            world.reports.removeAll { $0.token == token }
            world.datasets.removeAll { $0.token == token }
            world.runs.removeAll { $0.reportToken == token }
            return world.reports.count + world.datasets.count < before
        }
    }
}
