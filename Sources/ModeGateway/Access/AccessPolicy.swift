import HTTPTypes

/// Which scope each route needs: a Mode route's comes from its ``RouteSpec``. Health, readiness
/// and the spec stay open; the cache purge needs `admin`; anything else, unknown paths included,
/// needs a key when keys are configured.
enum AccessPolicy {
    static let openPaths: Set<String> = ["/healthz", "/readyz", "/openapi.yaml", "/openapi.json", "/docs"]

    /// The scope a request needs, or nil for an open route.
    /// - Parameter routeTemplate: the matched route's template, nil when no route matched.
    static func requiredScope(method: HTTPRequest.Method, routeTemplate: String?) -> Scope? {
        if let routeTemplate, Self.openPaths.contains(routeTemplate) { return nil }
        if routeTemplate == CacheRoutes.path { return .admin }
        if let routeTemplate {
            // HEAD never gets here as HEAD: it reaches the routes as GET (``HeadResponder``).
            if let scope = RouteTable.scopes[routeTemplate]?[method] { return scope }
        }
        switch method {
        case .get, .head, .options: return .read
        default: return .write
        }
    }
}
