import Synchronization

/// The gateway's response cache: a bounded LRU store of transformed 200 answers, with
/// coalescing of concurrent misses, stale-while-revalidate, stale-if-error and invalidation.
///
/// All bookkeeping happens under one lock that is never held across an `await`. Loads run in
/// tasks owned by the cache, so a client that goes away does not cancel a load others wait for,
/// and its result still lands in the cache.
public final class ResponseCache: Sendable {
    /// How an answer was served, for `X-Cache`.
    public enum Status: String, Sendable {
        case hit = "HIT"
        case miss = "MISS"
        case stale = "STALE"
        case bypass = "BYPASS"
    }

    /// An answer and how it was served.
    public struct Lookup: Sendable {
        public var response: CachedResponse
        public var status: Status
        /// How old the answer is.
        public var age: Duration
        /// How much longer it is fresh (zero when stale).
        public var freshFor: Duration

        /// A fresh entry served as a hit: the same on every path that serves one.
        static func hit(_ entry: CacheStore.Entry, age: Duration, freshFor: Duration) -> Lookup {
            Lookup(response: entry.response, status: .hit, age: age, freshFor: freshFor)
        }
    }

    /// What the cache has done since it started; read by `/metrics`.
    public struct Statistics: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        public var staleServed = 0
        public var coalescedWaits = 0
        public var evictions = 0
        public var bytes = 0
        public var entries = 0
        public var backgroundRefreshes = 0
        /// Hits answered on the event loop, before the router (also counted in `hits`).
        public var fastHits = 0
    }

    /// Where an entry lives and what invalidates it.
    public struct Placement: Sendable {
        /// The upstream path, then `?` and the canonical query.
        public var key: String
        /// The upstream path alone, which `DELETE /cache?path=` names.
        public var path: String
        /// The entry's tags; worked out only when a load starts (or, with a shared tier, to read
        /// their epochs), never on a local hit.
        public var tags: @Sendable () -> [String]

        /// An entry's key: the upstream path, then `?` and the canonical query.
        static func key(path: String, query: String) -> String {
            path + "?" + query
        }

        public init(path: String, query: String, tags: @escaping @autoclosure @Sendable () -> [String]) {
            self.key = Self.key(path: path, query: query)
            self.path = path
            self.tags = tags
        }
    }

    /// What a load gives: the answer, how old it already is (a copy from the shared tier may
    /// be), and how it was served to the caller that started it.
    public struct Loaded: Sendable {
        public var response: CachedResponse
        public var age: Duration
        public var status: Status

        public init(response: CachedResponse, age: Duration = .zero, status: Status = .miss) {
            self.response = response
            self.age = age
            self.status = status
        }
    }

    /// The upstream path an entry's key answers, for purging by path.
    static func path(ofKey key: String) -> Substring {
        key.prefix { $0 != "?" }
    }

    public typealias Loader = @Sendable () async throws(GatewayError) -> CachedResponse

    private typealias Outcome = Result<Loaded, GatewayError>

    private struct InFlight {
        var id: UInt64
        var task: Task<Outcome, Never>
        var tags: [String]
    }

    private struct State {
        var store: CacheStore
        /// The one load under way per key. A load stores its answer only while it is still the
        /// key's load: an invalidation or purge that touches the key detaches it, and then it does
        /// not store. Loads of other keys are not affected.
        var inFlight: [String: InFlight] = [:]
        var nextID: UInt64 = 0
        var statistics = Statistics()
    }

    private let state: Mutex<State>
    private let time: TimeSource
    /// The tier replicas share, with the epochs that make a write visible to all of them; nil
    /// for one replica on its own.
    let tier: (any CacheTier)?

    /// - Parameters:
    ///   - maxBytes: the bound on the total cost of all entries.
    ///   - maxEntryBytes: an entry costing more is served but not stored.
    ///   - tier: the shared second tier, when replicas share one.
    init(maxBytes: Int, maxEntryBytes: Int, time: TimeSource = .system, tier: (any CacheTier)? = nil) {
        self.state = Mutex(State(store: CacheStore(maxBytes: maxBytes, maxEntryBytes: maxEntryBytes)))
        self.time = time
        self.tier = tier
    }

    public convenience init(maxBytes: Int, maxEntryBytes: Int, time: TimeSource = .system) {
        self.init(maxBytes: maxBytes, maxEntryBytes: maxEntryBytes, time: time, tier: nil)
    }

    /// Which epochs a lookup holds its entries to.
    private enum Epochs {
        /// No shared tier: every entry is current until invalidated here.
        case local
        /// The shared tier's epochs for the entry's tags, as one stamp: only an entry stored
        /// under the same stamp is current.
        case shared(String)
        /// The shared tier cannot say now: no entry is known to be current, so entries serve only
        /// when Mode fails (stale-if-error).
        case unknown

        /// What an entry stored now is stamped with: a shared stamp (Redis's data generation,
        /// then epochs) is never empty and never `?`, so it never equals either of the others.
        var stamp: String {
            switch self {
            case .local: ""
            case .shared(let stamp): stamp
            case .unknown: "?"
            }
        }

        var isUnknown: Bool {
            if case .unknown = self { true } else { false }
        }

        /// Coalesced loads are per key and stamp: a read after a write never joins a load from before it.
        func loadKey(_ key: String) -> String {
            switch self {
            case .local: key
            case .shared(let stamp): key + "#" + stamp
            case .unknown: key + "#?"
            }
        }
    }

    public var statistics: Statistics {
        self.state.withLock { state in
            var statistics = state.statistics
            statistics.evictions = state.store.evictions
            statistics.bytes = state.store.bytes
            statistics.entries = state.store.count
            return statistics
        }
    }

    private enum Decision {
        case refuse(GatewayError)
        case serve(Lookup)
        case wait(Task<Outcome, Never>, fallback: CacheStore.Entry?)
    }

    /// Answers from the cache when it can, otherwise through `load`, coalesced per key.
    /// - Parameters:
    ///   - revalidate: the client sent `Cache-Control: no-cache`: skip the lookup and refresh the entry.
    /// - Parameters:
    ///   - admit: asked only when this caller would start a load (a miss, or a revalidation): an
    ///     error refuses it, and nothing goes to Mode. Hits, coalesced waits and background
    ///     refreshes are never charged.
    public func fetch(
        _ placement: Placement,
        policy: CachePolicy,
        revalidate: Bool = false,
        admit: @Sendable () -> GatewayError? = { nil },
        load: @escaping Loader
    ) async throws(GatewayError) -> Lookup {
        guard policy.isEnabled else {
            if let refusal = admit() { throw refusal }
            return Lookup(response: try await load(), status: .bypass, age: .zero, freshFor: .zero)
        }
        var epochs = Epochs.local
        if let tier = self.tier {
            epochs = await tier.stamp(path: placement.path, tags: placement.tags()).map(Epochs.shared) ?? .unknown
        }
        let loadKey = epochs.loadKey(placement.key)
        let load = self.loader(for: epochs, loadKey: loadKey, policy: policy, revalidate: revalidate, load: load)
        let now = self.time.now()
        let decision = self.state.withLock { state -> Decision in
            var fallback: CacheStore.Entry?
            if let entry = state.store.get(placement.key) {
                let age = now - entry.storedAt
                let freshness = policy.freshness(age: age)
                if epochs.isUnknown {
                    // Another replica may have written since: only Mode failing lets it serve.
                    if freshness != .unusable { fallback = entry }
                } else if entry.stamp != epochs.stamp {
                    // Stored before a write (or a purge) that this lookup's epochs know of.
                    state.store.remove(placement.key)
                } else if !revalidate {
                    switch freshness {
                    case .fresh(let remaining):
                        state.statistics.hits += 1
                        return .serve(Lookup.hit(entry, age: age, freshFor: remaining))
                    case .staleWhileRevalidate:
                        state.statistics.staleServed += 1
                        if state.inFlight[loadKey] == nil {
                            state.statistics.backgroundRefreshes += 1
                            _ = self.startLoad(placement, loadKey: loadKey, stamp: epochs.stamp, load: load, state: &state)
                        }
                        return .serve(Lookup(response: entry.response, status: .stale, age: age, freshFor: .zero))
                    case .expiredButUsableOnError:
                        fallback = entry
                    case .unusable:
                        state.store.remove(placement.key)
                    }
                }
            }
            // Without epochs a load under way may have started before another replica's write
            // was answered: joining it could hand out that write's past. Each caller loads.
            if !epochs.isUnknown, let running = state.inFlight[loadKey] {
                state.statistics.coalescedWaits += 1
                return .wait(running.task, fallback: fallback)
            }
            if let refusal = admit() { return .refuse(refusal) }
            state.statistics.misses += 1
            return .wait(self.startLoad(placement, loadKey: loadKey, stamp: epochs.stamp, load: load, state: &state), fallback: fallback)
        }
        switch decision {
        case .refuse(let refusal):
            throw refusal
        case .serve(let lookup):
            return lookup
        case .wait(let task, let fallback):
            switch await task.value {
            case .success(let loaded):
                let status: Status = revalidate && loaded.status == .miss ? .bypass : loaded.status
                let freshFor = loaded.status == .stale ? .zero : max(.zero, policy.ttl - loaded.age)
                return Lookup(response: loaded.response, status: status, age: loaded.age, freshFor: freshFor)
            case .failure(let error):
                guard let fallback, error.allowsStaleAnswer else { throw error }
                self.state.withLock { $0.statistics.staleServed += 1 }
                return Lookup(response: fallback.response, status: .stale, age: self.time.now() - fallback.storedAt, freshFor: .zero)
            }
        }
    }

    /// How a key is loaded: straight from Mode on its own, or through the shared tier (its copy,
    /// another replica's fill, or this one's under the fill lock) when the epochs are known.
    private func loader(
        for epochs: Epochs,
        loadKey: String,
        policy: CachePolicy,
        revalidate: Bool,
        load: @escaping Loader
    ) -> @Sendable () async throws(GatewayError) -> Loaded {
        guard case .shared = epochs, let tier = self.tier else {
            return { () throws(GatewayError) in Loaded(response: try await load()) }
        }
        return { () throws(GatewayError) in try await tier.fill(loadKey, policy: policy, revalidate: revalidate, load: load) }
    }

    /// Starts the one load for a key; it stores its result unless an invalidation came first.
    private func startLoad(
        _ placement: Placement,
        loadKey: String,
        stamp: String,
        load: @escaping @Sendable () async throws(GatewayError) -> Loaded,
        state: inout State
    ) -> Task<Outcome, Never> {
        state.nextID += 1
        let id = state.nextID
        let tags = placement.tags()
        let started = self.time.now()
        let task = Task<Outcome, Never> {
            let outcome: Outcome
            do throws(GatewayError) {
                outcome = .success(try await load())
            } catch {
                outcome = .failure(error)
            }
            let now = self.time.now()
            self.state.withLock { state in
                let current = state.inFlight[loadKey]?.id == id
                if current { state.inFlight[loadKey] = nil }
                if case .failure(let error) = outcome, error.meansGone {
                    // Mode says it is gone (or forbidden): a stale copy must not stand in for it.
                    if current { state.store.remove(placement.key) }
                    return
                }
                guard case .success(let loaded) = outcome, current, loaded.response.isStorable else { return }
                // An answer stored after this load began is newer than this one: keep it.
                if let stored = state.store.peek(placement.key), stored.storedAt > started { return }
                state.store.set(
                    placement.key,
                    CacheStore.Entry(
                        response: loaded.response,
                        storedAt: now - loaded.age,
                        tags: tags.joined(separator: "\n"),
                        stamp: stamp,
                        cost: loaded.response.cost + placement.key.utf8.count + stamp.utf8.count
                    )
                )
            }
            return outcome
        }
        state.inFlight[loadKey] = InFlight(id: id, task: task, tags: tags)
        return task
    }

    /// The answer for a fresh entry of this replica's own (no shared tier, whose epochs take a
    /// round trip to read), for the event loop's fast path: nothing is loaded, counted or removed,
    /// so a caller that does not serve it can pass the request on to ``fetch(_:policy:revalidate:admit:load:)``
    /// as if nothing had happened. A caller that serves it counts it with ``countFastHit()``.
    func freshLocalHit(_ key: String, policy: CachePolicy) -> Lookup? {
        guard policy.isEnabled, self.tier == nil else { return nil }
        let now = self.time.now()
        return self.state.withLock { state in
            if case .hit(let lookup) = Self.fresh(key, policy: policy, now: now, in: &state.store) { return lookup }
            return nil
        }
    }

    /// Counts a hit served from ``freshLocalHit(_:policy:)``.
    func countFastHit() {
        self.state.withLock {
            $0.statistics.hits += 1
            $0.statistics.fastHits += 1
        }
    }

    /// The entry under `key` while it is fresh, without loading anything; for answers that are
    /// streamed on a miss and stored afterwards with ``store(_:response:tags:)``.
    func freshEntry(_ key: String, policy: CachePolicy) -> Lookup? {
        guard policy.isEnabled else { return nil }
        let now = self.time.now()
        return self.state.withLock { state in
            switch Self.fresh(key, policy: policy, now: now, in: &state.store) {
            case .hit(let lookup):
                state.statistics.hits += 1
                return lookup
            case .expired:
                state.store.remove(key)
                state.statistics.misses += 1
                return nil
            case .absent:
                state.statistics.misses += 1
                return nil
            }
        }
    }

    private enum Fresh {
        case hit(Lookup)
        case expired
        case absent
    }

    /// The entry under `key` as a hit while it is fresh; touches only its place in the LRU order.
    private static func fresh(_ key: String, policy: CachePolicy, now: Duration, in store: inout CacheStore) -> Fresh {
        guard let entry = store.get(key) else { return .absent }
        let age = now - entry.storedAt
        guard case .fresh(let remaining) = policy.freshness(age: age) else { return .expired }
        return .hit(Lookup.hit(entry, age: age, freshFor: remaining))
    }

    /// Stores an answer that was served while it was read (too large ones are left out by the store).
    func store(_ key: String, response: CachedResponse, tags: [String] = []) {
        let now = self.time.now()
        self.state.withLock { state in
            _ = state.store.set(
                key,
                CacheStore.Entry(
                    response: response,
                    storedAt: now,
                    tags: tags.joined(separator: "\n"),
                    stamp: "",
                    cost: response.cost + key.utf8.count
                )
            )
        }
    }

    /// Drops every entry carrying any of `tags`, and forgets loads for them already under way.
    /// - Returns: how many entries were dropped.
    @discardableResult
    public func invalidate(tags: [String]) -> Int {
        guard !tags.isEmpty else { return 0 }
        return self.state.withLock { state in
            state.inFlight = state.inFlight.filter { $0.value.tags.allSatisfy { !tags.contains($0) } }
            return state.store.removeAll { _, entry in entry.isTagged(tags) }
        }
    }

    /// Drops every entry carrying any of `tags`, here and, through the shared tier, on every
    /// replica: it returns once the epochs have moved (or the move is queued for replay), so a
    /// read that starts afterwards on any replica does not see what was dropped.
    func invalidateEverywhere(tags: [String]) async {
        guard !tags.isEmpty else { return }
        self.invalidate(tags: tags)
        await self.tier?.invalidate(tags: tags)
    }

    /// Drops everything, or one path's entries, here and on every replica.
    func purgeEverywhere(path: String? = nil) async -> Int {
        let removed = self.purge(path: path)
        await self.tier?.purge(path: path)
        return removed
    }

    /// What another replica says it dropped: `*`, `p:<path>` or `t:<tag>`. Only memory is at
    /// stake here: entries from before a write are never served, whether this arrives or not.
    func applyDropped(_ names: [String]) {
        var tags: [String] = []
        for name in names {
            if name == "*" {
                self.purge()
            } else if name.hasPrefix("p:") {
                self.purge(path: String(name.dropFirst(2)))
            } else if name.hasPrefix("t:") {
                tags.append(String(name.dropFirst(2)))
            }
        }
        self.invalidate(tags: tags)
    }

    /// Drops everything, or the entries answering one upstream path.
    /// - Returns: how many entries were dropped.
    @discardableResult
    public func purge(path: String? = nil) -> Int {
        self.state.withLock { state in
            guard let path else {
                state.inFlight = [:]
                return state.store.removeAll { _, _ in true }
            }
            // Loads under way for the path are detached too: a request right after the purge starts
            // its own load rather than joining one from before it.
            state.inFlight = state.inFlight.filter { ResponseCache.path(ofKey: $0.key) != path }
            return state.store.removeAll { key, _ in ResponseCache.path(ofKey: key) == path }
        }
    }
}

extension GatewayError {
    /// Whether Mode said the resource is not there for the gateway (404, 403).
    var meansGone: Bool {
        switch self {
        case .notFound, .forbidden: true
        default: false
        }
    }

    /// Whether the failure is Mode's (down, slow, refusing): then a stale answer beats an error.
    var allowsStaleAnswer: Bool {
        switch self {
        case .badGateway, .upstreamUnreachable, .gatewayTimeout, .unavailable, .upstreamUnauthorized: true
        default: false
        }
    }
}
