import HTTPTypes

/// One flat route: everything the pipeline needs to serve it, as data.
///
/// A new Mode endpoint is one ``RouteSpec`` in ``RouteTable``, a test and a line in the spec.
public struct RouteSpec: Sendable {
    /// What the upstream answer is, and so how it is transformed.
    public enum Shape: Sendable, Equatable {
        /// A single resource: HAL members stripped, `_embedded` lifted.
        case object
        /// A paged collection whose items are under `_embedded.<itemsKey>`: completed and flattened.
        case collection(itemsKey: String)
    }

    /// What the route reads from the request body.
    public enum Body: Sendable, Equatable {
        case none
        /// `{"name", "description", "space_token"}`, sent to Mode as `{"report": {…}}`.
        case datasetUpdate
    }

    /// A stable name for logs, metrics and the OpenAPI `operationId`.
    public var operationID: String
    public var method: HTTPRequest.Method
    /// The flat path, with `{parameter}` segments.
    public var path: String
    /// The Mode path below the API base, with `{workspace}` and the same parameters.
    public var upstreamPath: String
    public var shape: Shape
    public var body: Body
    /// Names a cached answer of this route carries, with `{parameter}`s filled in: the tags a
    /// write invalidates. Only GET routes are cached.
    public var cacheTags: [String] = []
    /// For a write: the tags whose cached answers its success makes wrong.
    public var invalidates: [String] = []

    /// The names of the path parameters, in order; worked out once, not per request.
    public let parameters: [String]

    public init(
        operationID: String,
        method: HTTPRequest.Method,
        path: String,
        upstreamPath: String,
        shape: Shape,
        body: Body,
        cacheTags: [String] = [],
        invalidates: [String] = []
    ) {
        self.operationID = operationID
        self.method = method
        self.path = path
        self.upstreamPath = upstreamPath
        self.shape = shape
        self.body = body
        self.cacheTags = cacheTags
        self.invalidates = invalidates
        self.parameters = path.split(separator: "/").compactMap { segment in
            segment.first == "{" && segment.last == "}" ? String(segment.dropFirst().dropLast()) : nil
        }
    }

    /// Whether the route takes the list query parameters.
    public var isCollection: Bool {
        if case .collection = self.shape { return true }
        return false
    }

    /// The route's templates and cache policy, worked out once for one configuration.
    func compiled(workspace: String, cache: CacheConfiguration) -> CompiledRoute {
        CompiledRoute(
            spec: self,
            cachePolicy: cache.policy(for: self),
            upstreamPath: PathTemplate(self.upstreamPath, workspace: workspace),
            cacheTags: self.cacheTags.map { PathTemplate($0) },
            invalidates: self.invalidates.map { PathTemplate($0) }
        )
    }
}

/// A route with its templates split once, for the request path.
struct CompiledRoute: Sendable {
    let spec: RouteSpec
    let cachePolicy: CachePolicy
    let upstreamPath: PathTemplate
    let cacheTags: [PathTemplate]
    let invalidates: [PathTemplate]
}
