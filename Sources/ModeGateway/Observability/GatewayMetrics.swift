import CoreMetrics
import Prometheus
import Synchronization

/// The gateway's metrics, through swift-metrics into a Prometheus registry of its own (one per
/// application, so tests do not share global state). Labels carry route templates and statuses,
/// never raw paths or tokens.
public final class GatewayMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let handles = Mutex<Handles>(Handles())
    /// The cache and upstream statistics last exported, to turn their totals into counter increments.
    private let exported = Mutex<(cache: ResponseCache.Statistics, upstream: UpstreamExecutor.Statistics, fleet: Fleet.Statistics)>(
        (.init(), .init(), .init())
    )

    private struct Handles {
        var counters: [String: CoreMetrics.Counter] = [:]
        var timers: [String: CoreMetrics.Timer] = [:]
        var gauges: [String: CoreMetrics.Gauge] = [:]
    }

    public init() {
        self.registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: self.registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
            .seconds(5), .seconds(10), .seconds(30),
        ]
        self.factory = factory
    }

    /// The count and duration of one (route, method, status), made once for each.
    struct RequestMetrics: Sendable {
        fileprivate let key: RequestKey
        fileprivate let count: CoreMetrics.Counter
        fileprivate let duration: CoreMetrics.Timer

        func matches(route: String, method: String, status: Int) -> Bool {
            self.key.status == status && self.key.route == route && self.key.method == method
        }
    }

    fileprivate struct RequestKey: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private let requestMetrics = Mutex<[RequestKey: RequestMetrics]>([:])

    /// The handles for one (route, method, status), made on first use.
    func requestMetrics(route: String, method: String, status: Int) -> RequestMetrics {
        let key = RequestKey(route: route, method: method, status: status)
        if let known = self.requestMetrics.withLock({ $0[key] }) { return known }
        let made = RequestMetrics(
            key: key,
            count: self.counter("http_requests_total", [("route", route), ("method", method), ("status", String(status))]),
            duration: self.timer("http_request_duration_seconds", [("route", route), ("method", method)])
        )
        self.requestMetrics.withLock { $0[key] = made }
        return made
    }

    /// One request, on handles already found.
    func record(_ metrics: RequestMetrics, duration: Duration) {
        metrics.count.increment()
        metrics.duration.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// One HTTP exchange with Mode; `outcome` is the status code, or the kind of transport failure.
    func recordUpstream(outcome: String, duration: Duration) {
        self.counter("mode_upstream_requests_total", [("status", outcome)]).increment()
        self.timer("mode_upstream_request_duration_seconds", []).recordNanoseconds(Self.nanoseconds(duration))
    }

    /// One Redis command: its name, how long it took, and whether it failed.
    func recordRedis(command: String, duration: Duration, failed: Bool) {
        self.counter("redis_commands_total", [("command", command), ("outcome", failed ? "error" : "ok")]).increment()
        if !failed {
            self.timer("redis_command_duration_seconds", [("command", command)]).recordNanoseconds(Self.nanoseconds(duration))
        }
    }

    /// The Prometheus text exposition, after bringing the cache and upstream figures up to date.
    ///
    /// Scrapes may overlap, each with statistics read a moment apart: the figures exported only
    /// ever move forward, so a scrape holding older statistics adds nothing and never rewinds the
    /// baseline (which would count the difference twice).
    func render(
        cache: ResponseCache.Statistics,
        upstream: UpstreamExecutor.Statistics,
        mode: Readiness.ModeState? = nil,
        fleet: Fleet? = nil
    ) -> [UInt8] {
        let cacheFigures: [(String, WritableKeyPath<ResponseCache.Statistics, Int>)] = [
            ("gateway_cache_hits_total", \.hits), ("gateway_cache_misses_total", \.misses),
            ("gateway_cache_stale_total", \.staleServed), ("gateway_cache_coalesced_waits_total", \.coalescedWaits),
            ("gateway_cache_evictions_total", \.evictions), ("gateway_cache_background_refreshes_total", \.backgroundRefreshes),
            ("gateway_cache_fast_hits_total", \.fastHits),
        ]
        let upstreamFigures: [(String, WritableKeyPath<UpstreamExecutor.Statistics, Int>)] = [
            ("mode_upstream_retries_total", \.retries), ("mode_rate_limiter_waits_total", \.limiterWaits),
            ("mode_rate_limiter_rejections_total", \.limiterRejections), ("mode_breaker_rejections_total", \.breakerRejections),
            ("mode_breaker_openings_total", \.breakerOpenings),
        ]
        let fleetFigures: [(String, WritableKeyPath<Fleet.Statistics, Int>)] = [
            ("gateway_cache_l2_hits_total", \.l2Hits), ("gateway_cache_l2_misses_total", \.l2Misses),
            ("gateway_cache_fill_waits_total", \.fillsWaited), ("gateway_cache_fill_takeovers_total", \.fillTakeovers),
            ("mode_shared_budget_waits_total", \.budgetWaits), ("mode_shared_budget_fallbacks_total", \.budgetFallbacks),
            ("gateway_invalidations_queued_total", \.bumpsQueued), ("gateway_invalidations_replayed_total", \.bumpsReplayed),
        ]
        let fleetStatistics = fleet?.statistics
        let totals = self.exported.withLock { exported -> [(String, Int, Int)] in
            var totals: [(String, Int, Int)] = []
            if let fleetStatistics {
                for (name, path) in fleetFigures {
                    totals.append((name, fleetStatistics[keyPath: path], exported.fleet[keyPath: path]))
                    exported.fleet[keyPath: path] = max(exported.fleet[keyPath: path], fleetStatistics[keyPath: path])
                }
            }
            for (name, path) in cacheFigures {
                totals.append((name, cache[keyPath: path], exported.cache[keyPath: path]))
                exported.cache[keyPath: path] = max(exported.cache[keyPath: path], cache[keyPath: path])
            }
            for (name, path) in upstreamFigures {
                totals.append((name, upstream[keyPath: path], exported.upstream[keyPath: path]))
                exported.upstream[keyPath: path] = max(exported.upstream[keyPath: path], upstream[keyPath: path])
            }
            return totals
        }
        for (name, now, before) in totals {
            // Touch every counter so it is exported from the start, at zero.
            self.counter(name, []).increment(by: Int64(max(0, now - before)))
        }
        self.gauge("gateway_cache_bytes").record(cache.bytes)
        self.gauge("gateway_cache_entries").record(cache.entries)
        self.gauge("mode_breaker_state").record(upstream.breakerState)
        // Mode's state as the readiness check last found it: 1 reachable with valid credentials.
        self.gauge("mode_up").record(mode?.isUsable == true ? 1 : 0)
        if let fleet {
            // 1 while commands can go to Redis; the L1 hits are gateway_cache_hits_total.
            self.gauge("redis_up").record(fleet.isConnected ? 1 : 0)
            self.gauge("redis_queued_invalidations").record(fleet.queuedBumps)
        }
        return self.registry.emitToBuffer()
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter {
        self.handle(\.counters, label, dimensions) { CoreMetrics.Counter(label: label, dimensions: dimensions, factory: self.factory) }
    }

    private func timer(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Timer {
        self.handle(\.timers, label, dimensions) { CoreMetrics.Timer(label: label, dimensions: dimensions, factory: self.factory) }
    }

    private func gauge(_ label: String) -> CoreMetrics.Gauge {
        self.handle(\.gauges, label, []) { CoreMetrics.Gauge(label: label, dimensions: [], factory: self.factory) }
    }

    /// The metric for a label and dimensions, made once and kept.
    private func handle<Metric: Sendable>(
        _ table: WritableKeyPath<Handles, [String: Metric]>,
        _ label: String,
        _ dimensions: [(String, String)],
        make: () -> Metric
    ) -> Metric {
        let key = Self.key(label, dimensions)
        return self.handles.withLock { handles in
            if let metric = handles[keyPath: table][key] { return metric }
            let metric = make()
            handles[keyPath: table][key] = metric
            return metric
        }
    }

    private static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        dimensions.reduce(label) { $0 + "\u{1}" + $1.0 + "=" + $1.1 }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}
