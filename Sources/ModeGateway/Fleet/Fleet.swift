import GatewayRedis
import Logging
import ServiceLifecycle
import Synchronization

/// What replicas share through Redis: Mode's budget, the second cache tier, the epochs that
/// make writes visible everywhere, and fill locks for cold reads.
///
/// Every key is under one hash tag, `{prefix}:`, so the whole set lives in one slot of a Redis
/// Cluster. Keys without an expiry (epochs, the budget) are never evicted under
/// `maxmemory-policy volatile-lru`; cache entries and locks always carry one.
///
/// Redis failing never fails a request: each use has a fallback (a local bucket for the budget,
/// Mode itself for the cache), and every command is bounded by `REDIS_TIMEOUT_MILLISECONDS`.
public final class Fleet: Sendable {
    let settings: FleetSettings
    let client: RedisClient
    let subscriber: RedisSubscriber
    let logger: Logger
    /// What replicas tell each other: fills done, and entries dropped.
    let filledChannel: String
    let droppedChannel: String
    /// This replica, in lock values, so that it only releases its own locks.
    let replicaID: String

    struct State {
        /// Epoch names Redis did not take, replayed on reconnect, each with the sequence number
        /// of its latest failure: a replay removes a name only if no bump of it failed again
        /// meanwhile. While any wait, this replica cannot trust the epochs it reads, so it reads
        /// as if Redis were down.
        var unsentBumps: [String: UInt64] = [:]
        var bumpSequence: UInt64 = 0
        /// Cold reads waiting for another replica's fill, by versioned key.
        var fillWaiters: [String: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        var nextWaiter: UInt64 = 0
        var nextLock: UInt64 = 0
        var statistics = Statistics()
    }

    /// What the fleet has done since start; for `/metrics`.
    public struct Statistics: Sendable, Equatable {
        public var l2Hits = 0
        public var l2Misses = 0
        public var fillsWaited = 0
        public var fillTakeovers = 0
        public var budgetWaits = 0
        public var budgetFallbacks = 0
        public var bumpsQueued = 0
        public var bumpsReplayed = 0
        public var droppedMessages = 0
    }

    let state = Mutex(State())
    /// Told what `dropped` messages from other replicas name: `*`, `p:<path>` or `t:<tag>`.
    private let onDropped = Mutex<(@Sendable ([String]) -> Void)?>(nil)

    public init(settings: FleetSettings, logger: Logger, observe: @escaping RedisClient.Observer = { _, _, _ in }) {
        self.settings = settings
        self.logger = logger
        var redis = RedisClient.Settings(endpoint: settings.endpoint)
        redis.commandTimeout = settings.commandTimeout
        let client = RedisClient(settings: redis, logger: logger, observe: observe)
        self.client = client
        let prefix = "{\(settings.keyPrefix)}:"
        self.filledChannel = prefix + "filled"
        self.droppedChannel = prefix + "dropped"
        self.replicaID = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        // The subscriber outlives nothing: it holds the fleet weakly, so no cycle keeps either alive.
        let owner = WeakFleet()
        self.subscriber = RedisSubscriber(
            settings: redis,
            channels: [prefix + "filled", prefix + "dropped"],
            logger: logger
        ) { channel, payload in
            owner.fleet?.received(channel: channel, payload: payload)
        }
        owner.fleet = self
        client.whenConnected { [weak self] in await self?.replayBumps() }
    }

    public var statistics: Statistics { self.state.withLock { $0.statistics } }

    /// Invalidations waiting for Redis to take them.
    public var queuedBumps: Int { self.state.withLock { $0.unsentBumps.count } }

    /// Whether commands can go to Redis now.
    public var isConnected: Bool { self.client.isConnected }

    /// A key under the fleet's hash tag.
    func key(_ kind: String, _ name: String) -> String {
        "{\(self.settings.keyPrefix)}:\(kind):\(name)"
    }

    func whenDropped(_ action: @escaping @Sendable ([String]) -> Void) {
        self.onDropped.withLock { $0 = action }
    }

    private func received(channel: String, payload: String) {
        if channel == self.filledChannel {
            self.wakeFillWaiters(payload)
        } else if channel == self.droppedChannel {
            self.state.withLock { $0.statistics.droppedMessages += 1 }
            let names = payload.split(separator: "\n").map(String.init)
            self.onDropped.withLock { $0 }?(names)
        }
    }

    /// The Redis connections, kept open for the life of the application.
    struct Service: ServiceLifecycle.Service {
        let fleet: Fleet

        func run() async throws {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.fleet.client.run() }
                group.addTask { await self.fleet.subscriber.run() }
                try? await gracefulShutdown()
                group.cancelAll()
            }
        }
    }
}

/// A weak reference to a fleet, set once before its subscriber runs.
private final class WeakFleet: @unchecked Sendable {
    weak var fleet: Fleet?
}
