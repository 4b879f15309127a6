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
    }

    /// Where an entry lives and what invalidates it.
    public struct Placement: Sendable {
        /// The upstream path, then `?` and the canonical query.
        public var key: String
        /// The entry's tags; worked out only when a load starts, never on a hit.
        public var tags: @Sendable () -> [String]

        public init(path: String, query: String, tags: @escaping @autoclosure @Sendable () -> [String]) {
            self.key = path + "?" + query
            self.tags = tags
        }
    }

    /// The upstream path an entry's key answers, for purging by path.
    static func path(ofKey key: String) -> Substring {
        key.prefix { $0 != "?" }
    }

    public typealias Loader = @Sendable () async throws(GatewayError) -> CachedResponse

    private typealias Outcome = Result<CachedResponse, GatewayError>

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

    /// - Parameters:
    ///   - maxBytes: the bound on the total cost of all entries.
    ///   - maxEntryBytes: an entry costing more is served but not stored.
    public init(maxBytes: Int, maxEntryBytes: Int, time: TimeSource = .system) {
        self.state = Mutex(State(store: CacheStore(maxBytes: maxBytes, maxEntryBytes: maxEntryBytes)))
        self.time = time
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
        let now = self.time.now()
        let decision = self.state.withLock { state -> Decision in
            var fallback: CacheStore.Entry?
            if !revalidate, let entry = state.store.get(placement.key) {
                let age = now - entry.storedAt
                switch policy.freshness(age: age) {
                case .fresh(let remaining):
                    state.statistics.hits += 1
                    return .serve(Lookup(response: entry.response, status: .hit, age: age, freshFor: remaining))
                case .staleWhileRevalidate:
                    state.statistics.staleServed += 1
                    if state.inFlight[placement.key] == nil {
                        state.statistics.backgroundRefreshes += 1
                        _ = self.startLoad(placement, load: load, state: &state)
                    }
                    return .serve(Lookup(response: entry.response, status: .stale, age: age, freshFor: .zero))
                case .expiredButUsableOnError:
                    fallback = entry
                case .unusable:
                    state.store.remove(placement.key)
                }
            }
            if let running = state.inFlight[placement.key] {
                state.statistics.coalescedWaits += 1
                return .wait(running.task, fallback: fallback)
            }
            if let refusal = admit() { return .refuse(refusal) }
            state.statistics.misses += 1
            return .wait(self.startLoad(placement, load: load, state: &state), fallback: fallback)
        }
        switch decision {
        case .refuse(let refusal):
            throw refusal
        case .serve(let lookup):
            return lookup
        case .wait(let task, let fallback):
            switch await task.value {
            case .success(let response):
                return Lookup(response: response, status: revalidate ? .bypass : .miss, age: .zero, freshFor: policy.ttl)
            case .failure(let error):
                guard let fallback, error.allowsStaleAnswer else { throw error }
                self.state.withLock { $0.statistics.staleServed += 1 }
                return Lookup(response: fallback.response, status: .stale, age: self.time.now() - fallback.storedAt, freshFor: .zero)
            }
        }
    }

    /// Starts the one load for a key; it stores its result unless an invalidation came first.
    private func startLoad(
        _ placement: Placement,
        load: @escaping Loader,
        state: inout State
    ) -> Task<Outcome, Never> {
        state.nextID += 1
        let id = state.nextID
        let tags = placement.tags()
        let task = Task<Outcome, Never> {
            let outcome: Outcome
            do throws(GatewayError) {
                outcome = .success(try await load())
            } catch {
                outcome = .failure(error)
            }
            let storedAt = self.time.now()
            self.state.withLock { state in
                let current = state.inFlight[placement.key]?.id == id
                if current { state.inFlight[placement.key] = nil }
                if case .failure(let error) = outcome, error.meansGone {
                    // Mode says it is gone (or forbidden): a stale copy must not stand in for it.
                    if current { state.store.remove(placement.key) }
                    return
                }
                guard case .success(let response) = outcome, current, response.isStorable else { return }
                state.store.set(
                    placement.key,
                    CacheStore.Entry(
                        response: response,
                        storedAt: storedAt,
                        tags: tags.joined(separator: "\n"),
                        cost: response.cost + placement.key.utf8.count
                    )
                )
            }
            return outcome
        }
        state.inFlight[placement.key] = InFlight(id: id, task: task, tags: tags)
        return task
    }

    /// The entry under `key` while it is fresh, without loading anything; for answers that are
    /// streamed on a miss and stored afterwards with ``store(_:response:tags:)``.
    func freshEntry(_ key: String, policy: CachePolicy) -> Lookup? {
        guard policy.isEnabled else { return nil }
        let now = self.time.now()
        return self.state.withLock { state in
            guard let entry = state.store.get(key) else {
                state.statistics.misses += 1
                return nil
            }
            let age = now - entry.storedAt
            guard case .fresh(let remaining) = policy.freshness(age: age) else {
                state.store.remove(key)
                state.statistics.misses += 1
                return nil
            }
            state.statistics.hits += 1
            return Lookup(response: entry.response, status: .hit, age: age, freshFor: remaining)
        }
    }

    /// Stores an answer that was served while it was read (too large ones are left out by the store).
    func store(_ key: String, response: CachedResponse, tags: [String] = []) {
        let now = self.time.now()
        self.state.withLock { state in
            state.store.set(
                key,
                CacheStore.Entry(response: response, storedAt: now, tags: tags.joined(separator: "\n"), cost: response.cost + key.utf8.count)
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
