import NIOCore
import Synchronization
import Testing

@testable import ModeGateway

/// Counts loads and lets a test decide when they finish.
final class ScriptedLoader: Sendable {
    private let state = Mutex<(calls: Int, results: [Result<String, GatewayError>])>((0, []))
    private let gate: AsyncStream<Void>?
    private let opener: AsyncStream<Void>.Continuation?

    init(gated: Bool = false) {
        if gated {
            let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
            self.gate = stream
            self.opener = continuation
        } else {
            self.gate = nil
            self.opener = nil
        }
    }

    var calls: Int { self.state.withLock { $0.calls } }

    /// The next loads answer these, in order; then "body-N".
    func script(_ results: [Result<String, GatewayError>]) { self.state.withLock { $0.results = results } }

    func open() { self.opener?.finish() }

    var load: ResponseCache.Loader {
        { () throws(GatewayError) in
            let (call, scripted) = self.state.withLock { state -> (Int, Result<String, GatewayError>?) in
                state.calls += 1
                return (state.calls, state.results.isEmpty ? nil : state.results.removeFirst())
            }
            if let gate = self.gate { for await _ in gate {} }
            switch scripted ?? .success("body-\(call)") {
            case .success(let text): return CachedResponse(body: ByteBuffer(string: text))
            case .failure(let error): throw error
            }
        }
    }
}

@Suite("The response cache, on an injected clock")
struct ResponseCacheTests {
    let clock = ManualTimeSource()
    let policy = CachePolicy(ttl: .seconds(60), staleWhileRevalidate: .seconds(30), staleIfError: .seconds(600))

    func cache(maxBytes: Int = 1 << 20, maxEntryBytes: Int = 1 << 19) -> ResponseCache {
        ResponseCache(maxBytes: maxBytes, maxEntryBytes: maxEntryBytes, time: self.clock.source)
    }

    func place(_ key: String, tags: [String] = []) -> ResponseCache.Placement {
        .init(path: "/p/\(key)", query: "", tags: tags)
    }

    @Test("The store evicts the least recently used entries by bytes")
    func lruByBytes() {
        var store = CacheStore(maxBytes: 1000, maxEntryBytes: 600)
        func entry(_ cost: Int) -> CacheStore.Entry {
            .init(response: CachedResponse(body: ByteBuffer()), storedAt: .zero, tags: "", cost: cost)
        }
        let storeda = store.set("a", entry(300))
        #expect(storeda)
        let storedb = store.set("b", entry(300))
        #expect(storedb)
        let storedc = store.set("c", entry(300))
        #expect(storedc)
        _ = store.get("a")
        let storedd = store.set("d", entry(300))
        #expect(storedd)  // evicts b, the least recently used
        #expect(store.keysByAge == ["c", "a", "d"])
        #expect(store.bytes == 900 && store.evictions == 1)
        let storedhuge = store.set("huge", entry(700))
        #expect(!storedhuge)
        #expect(store.count == 3)
        let storede = store.set("e", entry(600))
        #expect(storede)  // evicts c and a
        #expect(store.keysByAge == ["d", "e"])
        #expect(store.bytes == 900 && store.evictions == 3)
        let removed = store.remove("d")
        #expect(removed != nil && store.bytes == 600)
    }

    @Test("A second read is a hit; past the TTL and the SWR window it is a miss again")
    func ttl() async throws {
        let cache = self.cache()
        let loader = ScriptedLoader()
        #expect(try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load).status == .miss)
        self.clock.advance(by: .seconds(59))
        let hit = try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load)
        #expect(hit.status == .hit)
        #expect(hit.age == .seconds(59) && hit.freshFor == .seconds(1))
        #expect(String(buffer: hit.response.body) == "body-1")
        self.clock.advance(by: .seconds(31 + 1))
        let miss = try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load)
        #expect(miss.status == .miss)
        #expect(String(buffer: miss.response.body) == "body-2")
        #expect(loader.calls == 2)
        #expect(cache.statistics.hits == 1 && cache.statistics.misses == 2)
    }

    @Test("In the SWR window the stale entry is served at once, with one background refresh")
    func staleWhileRevalidate() async throws {
        let cache = self.cache()
        let loader = ScriptedLoader()
        _ = try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load)
        self.clock.advance(by: .seconds(70))
        let gated = ScriptedLoader(gated: true)
        for _ in 0..<5 {
            let stale = try await cache.fetch(self.place("k"), policy: self.policy, load: gated.load)
            #expect(stale.status == .stale)
            #expect(String(buffer: stale.response.body) == "body-1")
        }
        gated.open()
        // Wait for the refresh to land: a fresh read through a loader that would fail shows it.
        var refreshed = false
        for _ in 0..<1000 where !refreshed {
            let lookup = try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load)
            refreshed = lookup.status == .hit
            if !refreshed { await Task.yield() }
        }
        #expect(refreshed)
        #expect(gated.calls == 1)
        #expect(cache.statistics.backgroundRefreshes == 1)
    }

    @Test("A failed refresh serves the stale entry up to the stale-if-error limit")
    func staleIfError() async throws {
        let cache = self.cache()
        let loader = ScriptedLoader()
        _ = try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load)
        loader.script([.failure(.badGateway(detail: "down")), .failure(.gatewayTimeout(detail: "slow")), .failure(.badGateway(detail: "down"))])
        self.clock.advance(by: .seconds(100))  // past TTL + SWR
        let stale = try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load)
        #expect(stale.status == .stale)
        #expect(String(buffer: stale.response.body) == "body-1")
        #expect(stale.age == .seconds(100))
        self.clock.advance(by: .seconds(560))  // 660 s old: exactly TTL + stale-if-error
        #expect(try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load).status == .stale)
        self.clock.advance(by: .seconds(1))
        await #expect(throws: GatewayError.badGateway(detail: "down")) {
            try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load)
        }
    }

    @Test("A client error is never hidden behind a stale entry")
    func notFoundIsNotMasked() async throws {
        let cache = self.cache()
        let loader = ScriptedLoader()
        _ = try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load)
        loader.script([.failure(.notFound(detail: "gone"))])
        self.clock.advance(by: .seconds(100))
        await #expect(throws: GatewayError.notFound(detail: "gone")) {
            try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load)
        }
    }

    @Test("50 concurrent misses of one key make one load, and every waiter gets its result")
    func coalescing() async throws {
        let cache = self.cache()
        let loader = ScriptedLoader(gated: true)
        let bodies = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<50 {
                group.addTask { String(buffer: try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load).response.body) }
            }
            while cache.statistics.misses + cache.statistics.coalescedWaits < 50 { await Task.yield() }
            loader.open()
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(loader.calls == 1)
        #expect(bodies.count == 50 && Set(bodies) == ["body-1"])
        #expect(cache.statistics.coalescedWaits == 49)
    }

    @Test("Every coalesced waiter gets the error too")
    func coalescedErrors() async throws {
        let cache = self.cache()
        let loader = ScriptedLoader(gated: true)
        loader.script([.failure(.gatewayTimeout(detail: "slow"))])
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    do {
                        _ = try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load)
                        return false
                    } catch {
                        return (error as? GatewayError) == .gatewayTimeout(detail: "slow")
                    }
                }
            }
            while cache.statistics.misses + cache.statistics.coalescedWaits < 10 { await Task.yield() }
            loader.open()
            return await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(failures == 10)
        #expect(loader.calls == 1)
        #expect(cache.statistics.entries == 0)
    }

    @Test("Invalidation drops tagged entries and keeps a load begun before it from storing")
    func invalidation() async throws {
        let cache = self.cache()
        let loader = ScriptedLoader()
        _ = try await cache.fetch(self.place("a", tags: ["dataset:a"]), policy: self.policy, load: loader.load)
        _ = try await cache.fetch(self.place("list", tags: ["lists"]), policy: self.policy, load: loader.load)
        _ = try await cache.fetch(self.place("b", tags: ["dataset:b"]), policy: self.policy, load: loader.load)
        #expect(cache.invalidate(tags: ["dataset:a", "lists"]) == 2)
        #expect(try await cache.fetch(self.place("b", tags: ["dataset:b"]), policy: self.policy, load: loader.load).status == .hit)
        #expect(try await cache.fetch(self.place("a", tags: ["dataset:a"]), policy: self.policy, load: loader.load).status == .miss)

        let gated = ScriptedLoader(gated: true)
        let pending = Task { try await cache.fetch(self.place("c", tags: ["dataset:c"]), policy: self.policy, load: gated.load) }
        while gated.calls == 0 { await Task.yield() }
        cache.invalidate(tags: ["dataset:c"])
        gated.open()
        #expect(try await pending.value.status == .miss)
        #expect(try await cache.fetch(self.place("c", tags: ["dataset:c"]), policy: self.policy, load: loader.load).status == .miss)
    }

    @Test("An invalidation stops only the loads of the keys it touches (per-key generations, not one global epoch)")
    func invalidationIsPerKey() async throws {
        let cache = self.cache()
        let gated = ScriptedLoader(gated: true)
        let pending = Task { try await cache.fetch(self.place("slow-list", tags: ["lists"]), policy: self.policy, load: gated.load) }
        while gated.calls == 0 { await Task.yield() }
        // A write elsewhere, while the slow list loads.
        cache.invalidate(tags: ["dataset:other"])
        gated.open()
        #expect(try await pending.value.status == .miss)
        #expect(try await cache.fetch(self.place("slow-list", tags: ["lists"]), policy: self.policy, load: ScriptedLoader().load).status == .hit)
    }

    @Test("A refresh that learns of a 404 or 403 drops the stale entry at once")
    func refreshLearnsGone() async throws {
        for gone in [GatewayError.notFound(detail: "gone"), .forbidden(detail: "no")] {
            let cache = self.cache()
            let loader = ScriptedLoader()
            _ = try await cache.fetch(self.place("a"), policy: self.policy, load: loader.load)
            self.clock.advance(by: .seconds(70))
            loader.script([.failure(gone)])
            #expect(try await cache.fetch(self.place("a"), policy: self.policy, load: loader.load).status == .stale)
            while loader.calls < 2 || cache.statistics.entries > 0 { await Task.yield() }
            loader.script([.failure(gone)])
            await #expect(throws: gone) { try await cache.fetch(self.place("a"), policy: self.policy, load: loader.load) }
            #expect(loader.calls == 3)
        }
    }

    @Test("A purge of one path also detaches its load under way: the next request starts its own")
    func purgeDetachesLoads() async throws {
        let cache = self.cache()
        let gated = ScriptedLoader(gated: true)
        let pending = Task { try await cache.fetch(self.place("a"), policy: self.policy, load: gated.load) }
        while gated.calls == 0 { await Task.yield() }
        cache.purge(path: "/p/a")
        let fresh = ScriptedLoader()
        #expect(try await cache.fetch(self.place("a"), policy: self.policy, load: fresh.load).status == .miss)
        #expect(fresh.calls == 1, "the request after the purge must not join the load from before it")
        gated.open()
        _ = try await pending.value
        #expect(String(buffer: try await cache.fetch(self.place("a"), policy: self.policy, load: fresh.load).response.body) == "body-1")
    }

    @Test("Purge drops everything or one path")
    func purge() async throws {
        let cache = self.cache()
        let loader = ScriptedLoader()
        for key in ["a", "b", "c"] { _ = try await cache.fetch(self.place(key), policy: self.policy, load: loader.load) }
        #expect(cache.purge(path: "/p/b") == 1)
        #expect(cache.purge(path: "/p/zzz") == 0)
        #expect(cache.purge() == 2)
        #expect(cache.statistics.entries == 0 && cache.statistics.bytes == 0)
    }

    @Test("Revalidation skips the lookup; a TTL of zero bypasses the cache")
    func bypass() async throws {
        let cache = self.cache()
        let loader = ScriptedLoader()
        _ = try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load)
        let fresh = try await cache.fetch(self.place("k"), policy: self.policy, revalidate: true, load: loader.load)
        #expect(fresh.status == .bypass && String(buffer: fresh.response.body) == "body-2")
        #expect(String(buffer: try await cache.fetch(self.place("k"), policy: self.policy, load: loader.load).response.body) == "body-2")
        let off = CachePolicy(ttl: .zero, staleWhileRevalidate: .seconds(30), staleIfError: .seconds(30))
        #expect(try await cache.fetch(self.place("z"), policy: off, load: loader.load).status == .bypass)
        #expect(try await cache.fetch(self.place("z"), policy: off, load: loader.load).status == .bypass)
        #expect(loader.calls == 4)
    }

    @Test("An answer too large for the cache is served, not stored")
    func tooLarge() async throws {
        let cache = self.cache(maxBytes: 10_000, maxEntryBytes: 1_000)
        let loader = ScriptedLoader()
        loader.script([.success(String(repeating: "x", count: 2_000))])
        #expect(try await cache.fetch(self.place("big"), policy: self.policy, load: loader.load).response.body.readableBytes == 2_000)
        #expect(cache.statistics.entries == 0)
    }

    @Test("If-None-Match matches strong and weak forms of the tag, lists and *")
    func ifNoneMatch() {
        #expect(CacheHeaders.matches("\"abc\"", etag: "\"abc\""))
        #expect(CacheHeaders.matches("W/\"abc\"", etag: "\"abc\""))
        #expect(CacheHeaders.matches("\"x\", \"abc\"", etag: "\"abc\""))
        #expect(CacheHeaders.matches("*", etag: "\"abc\""))
        #expect(!CacheHeaders.matches("\"abcd\"", etag: "\"abc\""))
        #expect(!CacheHeaders.matches("abc", etag: "\"abc\""))
    }
}
