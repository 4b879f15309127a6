import AsyncHTTPClient
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// Builds the gateway application: configuration in, a runnable Hummingbird application out.
/// `main`, `--demo` and the tests all come through here.
public func buildApplication(
    configuration: GatewayConfiguration,
    logger: Logger,
    time: TimeSource = .system,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let spec = try SpecDocument.load()
    let census = ConnectionGuard.Census(limit: configuration.maxConnections)
    let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .gateway(configuration))
    let client = try ModeClient(
        httpClient: httpClient,
        baseURL: configuration.modeURL,
        credentials: configuration.credentials,
        maxResponseBytes: configuration.maxResponseBytes,
        connectTimeout: configuration.connectTimeout,
        logger: logger
    )
    let metrics = GatewayMetrics()
    // Replicas share Mode's budget, the cache and its epochs through Redis, when there is one.
    let fleet = configuration.fleet.map { settings in
        var settings = settings
        // As long as the longest fill may take: a whole list gets a slot's time per page.
        settings.fillWait = configuration.upstreamTimeout + configuration.upstream.slotInterval * (configuration.maxPages - 1)
        settings.maxEntryBytes = configuration.cache.maxEntryBytes
        return Fleet(settings: settings, logger: logger) { command, duration, failed in
            metrics.recordRedis(command: command, duration: duration, failed: failed)
        }
    }
    let upstream = UpstreamExecutor(
        client: client,
        settings: configuration.upstream,
        time: time,
        logger: logger,
        shared: fleet,
        replicas: configuration.fleet?.replicas ?? 1,
        observe: { outcome, duration in metrics.recordUpstream(outcome: outcome, duration: duration) }
    )
    let cache = ResponseCache(
        maxBytes: configuration.cache.maxBytes,
        maxEntryBytes: configuration.cache.maxEntryBytes,
        time: time,
        tier: fleet
    )
    fleet?.whenDropped { names in cache.applyDropped(names) }
    let resultsCache = ResponseCache(
        maxBytes: configuration.results.cacheMaxBytes,
        maxEntryBytes: configuration.results.cacheMaxEntryBytes,
        time: time
    )
    let access = AccessGate(
        keys: configuration.keys,
        limiter: ClientRateLimiter(ratePerSecond: configuration.clientRatePerSecond, burst: configuration.clientBurst, time: time),
        allowedHosts: configuration.effectiveAllowedHosts
    )
    let requestLog = RequestLog(metrics: metrics, logger: logger)
    let compiledRoutes = RouteTable.modeRoutes.map { $0.compiled(workspace: configuration.workspace, cache: configuration.cache) }
    let components = GatewayComponents(
        configuration: configuration,
        routes: compiledRoutes,
        access: access,
        log: requestLog,
        upstream: upstream,
        cache: cache,
        resultsCache: resultsCache,
        metrics: metrics,
        readiness: Readiness(
            client: client,
            interval: configuration.readinessInterval,
            timeout: .seconds(5),
            requiresMode: configuration.readinessRequiresMode,
            time: time
        ),
        spec: spec,
        time: time,
        fleet: fleet
    )
    if configuration.upstreamTimeout > configuration.shutdownGrace {
        // A request still waiting on Mode at SIGTERM would be cut off before its own deadline.
        logger.warning(
            "MODE_TIMEOUT_SECONDS is longer than SHUTDOWN_GRACE_SECONDS: requests in flight at shutdown may be cut off before Mode answers",
            metadata: [
                "mode_timeout_seconds": "\(configuration.upstreamTimeout.components.seconds)",
                "shutdown_grace_seconds": "\(configuration.shutdownGrace.components.seconds)",
            ]
        )
    }
    if configuration.keys == nil {
        logger.warning("No GATEWAY_API_KEYS_FILE: the gateway is open to anyone who can reach \(configuration.host).")
        if configuration.allowedHosts == nil, ["0.0.0.0", "::"].contains(configuration.host) {
            logger.warning(
                "Running open on every address: only localhost and 127.0.0.1 are answered; set GATEWAY_ALLOWED_HOSTS to the names clients use"
            )
        }
    }
    let router = buildRouter(components)
    // Fresh hits on the event loop: not with a shared cache, whose hits need Redis's epochs. The
    // fast path knows every template the router has, so a path the router would read another way
    // is left to it.
    let hits =
        configuration.fastHits && fleet == nil
        ? HitCore(
            routes: compiledRoutes,
            templates: router.routes.map { ($0.method, $0.path.description) },
            access: access,
            cache: cache,
            log: requestLog
        ) : nil
    return Application(
        responder: HeadResponder(base: router.buildResponder()),
        server: HTTPServerBuilder { responder in
            GatewayChannel(
                responder: responder,
                limits: .init(
                    headerTimeout: TimeAmount(configuration.headerTimeout),
                    idleTimeout: TimeAmount(configuration.clientIdleTimeout),
                    bodyTimeout: TimeAmount(configuration.bodyTimeout),
                    census: census
                ),
                hits: hits
            )
        },
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        services: [HTTPClientService(client: httpClient, connections: client.connections) as any Service]
            + (fleet.map { [Fleet.Service(fleet: $0)] } ?? []),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? 0
            logger.notice(
                "mode-gateway listening",
                metadata: [
                    "address": "\(configuration.host):\(port)", "workspace": "\(configuration.workspace)",
                    "mode_url": "\(configuration.modeURL)", "keys": "\(configuration.keys?.records.count ?? 0)",
                    "cache_ttl_seconds": "\(configuration.cache.ttl.components.seconds)",
                ]
            )
            await onServerRunning(port)
        },
        logger: logger
    )
}

/// The long-lived parts the routes share.
struct GatewayComponents: Sendable {
    let configuration: GatewayConfiguration
    /// The Mode routes, compiled for the workspace.
    let routes: [CompiledRoute]
    /// Keys, scopes and per-client rates, for the router and the fast path alike.
    let access: AccessGate
    /// The request log line and metrics, for the router and the fast path alike.
    let log: RequestLog
    let upstream: UpstreamExecutor
    let cache: ResponseCache
    /// Rows of finished runs, and their query runs: their own budget and TTL.
    let resultsCache: ResponseCache
    let metrics: GatewayMetrics
    let readiness: Readiness
    let spec: SpecDocument
    let time: TimeSource
    /// What replicas share through Redis; nil for one replica on its own.
    let fleet: Fleet?
}

/// Every route the gateway serves, behind its middleware: request id, request log and metrics,
/// problem mapping, access. Each known path answers 405 with `Allow` for the methods it lacks.
func buildRouter(_ components: GatewayComponents) -> Router<GatewayRequestContext> {
    let configuration = components.configuration
    let router = Router(context: GatewayRequestContext.self)
    router.middlewares.add(RequestIDMiddleware())
    router.middlewares.add(RequestLogMiddleware(log: components.log))
    router.middlewares.add(ProblemMiddleware())
    router.middlewares.add(
        AccessMiddleware(gate: components.access)
    )
    let upstream = components.upstream
    let timeout = configuration.upstreamTimeout
    let time = components.time
    let cache = components.cache
    let runs = RunTracker(
        settings: .init(lookupTimeout: timeout),
        time: time,
        sleeper: .system,
        fetch: { path throws(GatewayError) in
            let response = try await upstream.send(UpstreamRequest(method: .get, path: path), for: "gateway:runs", deadline: time.now() + timeout)
            if let error = UpstreamStatus.error(for: response) { throw error }
            return try GatewayPipeline.transform { () throws(TransformError) in try HALTransform.object(response.body) }
        },
        onFinish: { tags in await cache.invalidateEverywhere(tags: tags) }
    )
    let compiledRoutes = components.routes
    guard let reportRoute = compiledRoutes.first(where: { $0.spec.operationID == "getReport" }) else {
        preconditionFailure("the route table has no getReport")
    }
    let pipeline = GatewayPipeline(
        upstream: upstream,
        timeout: timeout,
        time: time,
        cache: cache,
        maxPages: configuration.maxPages,
        runs: runs,
        idempotency: IdempotencyStore(ttl: configuration.results.idempotencyTTL, time: time),
        maxRunWait: configuration.results.maxRunWait,
        results: configuration.results,
        resultsCache: components.resultsCache,
        reportRoute: reportRoute,
        modeShare: ClientRateLimiter(ratePerSecond: configuration.clientModeRatePerSecond, burst: configuration.clientModeBurst, time: time)
    )
    for compiled in compiledRoutes {
        let route = compiled.spec
        router.on(RouterPath(route.path), method: route.method) { request, context in
            try await pipeline.handle(compiled, request: request, context: context)
        }
    }
    let cacheRoutes = CacheRoutes(cache: components.cache, workspace: configuration.workspace)
    router.delete(RouterPath(CacheRoutes.path)) { request, context in try await cacheRoutes.purge(request, context: context) }
    OperationsRoutes(
        readiness: components.readiness,
        fleet: components.fleet,
        metrics: components.metrics,
        cache: components.cache,
        upstream: components.upstream,
        time: components.time
    ).register(on: router)
    SpecRoutes(document: components.spec).register(on: router)
    router.addMethodNotAllowed(for: GatewayRoutes.all.map { ($0.method, $0.path) })
    return router
}

/// Every (method, path) the gateway serves: the source for 405 answers and for the spec check.
enum GatewayRoutes {
    static var all: [(method: HTTPRequest.Method, path: String)] {
        RouteTable.modeRoutes.map { ($0.method, $0.path) }
            + [(.delete, CacheRoutes.path), (.get, "/healthz"), (.get, "/readyz"), (.get, "/metrics")]
            + SpecRoutes.paths.map { (.get, $0) }
    }
}

extension Router where Context == GatewayRequestContext {
    /// Methods a client might try; a known path answers 405 with `Allow` for those it lacks.
    /// HEAD is not among them: it reaches the routes as GET (``HeadResponder``).
    static var probedMethods: [HTTPRequest.Method] { [.get, .post, .put, .patch, .delete, .options] }

    func addMethodNotAllowed(for routes: [(method: HTTPRequest.Method, path: String)]) {
        var allowed: [String: [HTTPRequest.Method]] = [:]
        for route in routes {
            allowed[route.path, default: []].append(route.method)
            if route.method == .get { allowed[route.path, default: []].append(.head) }
        }
        for (path, methods) in allowed {
            for method in Self.probedMethods where !methods.contains(method) {
                self.on(RouterPath(path), method: method) { _, _ -> Response in
                    throw GatewayError.methodNotAllowed(allowed: methods)
                }
            }
        }
    }
}

extension HTTPClient.Configuration {
    /// The upstream client's settings: no redirects, a connect timeout, and connection failures
    /// reported at once (``UpstreamExecutor`` owns retrying).
    static func gateway(_ configuration: GatewayConfiguration) -> Self {
        var client = HTTPClient.Configuration()
        // The read timeout bounds a stalled stream of results, which the request deadline does not
        // cover once the answer's head has come.
        client.timeout = .init(connect: TimeAmount(configuration.connectTimeout), read: TimeAmount(configuration.upstreamTimeout))
        client.redirectConfiguration = .disallow
        client.connectionPool.retryConnectionEstablishment = false
        // Every body is bounded after decoding (MODE_MAX_RESPONSE_BYTES, RESULTS_MAX_BYTES), so
        // no ratio limit: CSV compresses far better than 20 to 1.
        client.decompression = .enabled(limit: .none)
        return client
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Shuts the upstream connections down once the server has stopped, so in-flight upstream calls
/// can finish during a graceful shutdown. It holds no credentials: the service lifecycle logs it.
struct HTTPClientService: Service, CustomStringConvertible {
    let client: HTTPClient
    let connections: UpstreamConnections

    var description: String { "HTTPClientService" }

    func run() async throws {
        try? await gracefulShutdown()
        self.connections.close()
        try await self.client.shutdown()
    }
}
