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
        case updated(SimDataset)
        case notFound
        case forbidden
        case invalidSpace(String)
    }

    func update(
        dataset token: String,
        name: String?,
        description: String?,
        spaceToken: String?,
        now: Int
    ) -> UpdateResult {
        self.world.withLock { world in
            guard let index = world.datasets.firstIndex(where: { $0.token == token }) else { return .notFound }
            if world.datasets[index].restricted { return .forbidden }
            if let spaceToken, !world.spaces.contains(where: { $0.token == spaceToken }) {
                return .invalidSpace(spaceToken)
            }
            if let name { world.datasets[index].name = name }
            if let description { world.datasets[index].description = description }
            if let spaceToken { world.datasets[index].spaceToken = spaceToken }
            world.datasets[index].updatedAt = max(now, world.datasets[index].updatedAt + 1)
            return .updated(world.datasets[index])
        }
    }
}
