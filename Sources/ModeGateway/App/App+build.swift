import AsyncHTTPClient
import Hummingbird
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
) -> some ApplicationProtocol {
    var clientConfiguration = HTTPClient.Configuration()
    clientConfiguration.timeout = .init(connect: TimeAmount(configuration.connectTimeout))
    clientConfiguration.redirectConfiguration = .disallow
    clientConfiguration.decompression = .enabled(limit: .ratio(20))
    let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
    let client = ModeClient(
        httpClient: httpClient,
        baseURL: configuration.modeURL,
        credentials: configuration.credentials,
        timeout: TimeAmount(configuration.upstreamTimeout),
        maxResponseBytes: configuration.maxResponseBytes,
        logger: logger
    )
    let cache = ResponseCache(
        maxBytes: configuration.cache.maxBytes,
        maxEntryBytes: configuration.cache.maxEntryBytes,
        time: time
    )
    let router = buildRouter(configuration: configuration, client: client, cache: cache)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        services: [HTTPClientService(client: httpClient)],
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: logger
    )
}

/// The flat routes, each served by the one pipeline, plus a 405 answer for every other method
/// on a known path.
func buildRouter(configuration: GatewayConfiguration, client: ModeClient, cache: ResponseCache) -> Router<GatewayRequestContext> {
    let router = Router(context: GatewayRequestContext.self)
    router.middlewares.add(RequestIDMiddleware())
    router.middlewares.add(ProblemMiddleware())
    let pipeline = GatewayPipeline(
        client: client,
        cache: cache,
        cacheConfiguration: configuration.cache,
        workspace: configuration.workspace,
        maxPages: configuration.maxPages
    )
    for route in RouteTable.modeRoutes {
        router.on(RouterPath(route.path), method: route.method) { request, context in
            try await pipeline.handle(route, request: request, context: context)
        }
    }
    let cacheRoutes = CacheRoutes(cache: cache, workspace: configuration.workspace)
    router.delete(RouterPath(CacheRoutes.path)) { request, context in try cacheRoutes.purge(request, context: context) }
    router.addMethodNotAllowed(for: RouteTable.modeRoutes.map { ($0.method, $0.path) } + [(.delete, CacheRoutes.path)])
    return router
}

extension Router where Context == GatewayRequestContext {
    /// Methods a client might try; a known path answers 405 with `Allow` for those it lacks.
    static var probedMethods: [HTTPRequest.Method] { [.get, .head, .post, .put, .patch, .delete, .options] }

    func addMethodNotAllowed(for routes: [(method: HTTPRequest.Method, path: String)]) {
        var allowed: [String: [HTTPRequest.Method]] = [:]
        for route in routes { allowed[route.path, default: []].append(route.method) }
        for (path, methods) in allowed {
            for method in Self.probedMethods where !methods.contains(method) {
                self.on(RouterPath(path), method: method) { _, _ -> Response in
                    throw GatewayError.methodNotAllowed(allowed: methods)
                }
            }
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Shuts the upstream HTTP client down once the server has stopped, so in-flight upstream calls
/// can finish during a graceful shutdown.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await self.client.shutdown()
    }
}
