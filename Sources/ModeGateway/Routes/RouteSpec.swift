import HTTPTypes

/// One flat route: everything the pipeline needs to serve it, and everything the OpenAPI
/// document says of it, as data.
///
/// A new Mode endpoint is one ``RouteSpec`` in ``RouteTable`` and a test; the spec's paths,
/// parameters, bodies, scopes and error answers are derived from it (``SpecBuilder``).
public struct RouteSpec: Sendable {
    /// What the upstream answer is, and so how it is read, transformed and answered.
    public enum Shape: Sendable, Equatable {
        /// A single resource: HAL members stripped, `_embedded` lifted.
        case object
        /// A paged collection whose items are under `_embedded.<itemsKey>`: completed and flattened.
        case collection(itemsKey: String)
        /// A report or dataset run: read (or started) and optionally waited on (`?wait=N`), with
        /// one shared poll per run whatever the number of waiters.
        case run
        /// The rows of a finished run, streamed from Mode's per-query-run content.
        case results(ResultsScope)
        /// A file (a PDF export): Mode's bytes and content type, streamed, never transformed or cached.
        case binary
    }

    /// Whose rows a results route serves.
    public enum ResultsScope: Sendable, Equatable {
        /// The one query of a dataset's run.
        case dataset
        /// One query (`{query}`) of a report's run.
        case query
        /// Every query of a report's run, in one JSON document.
        case report
        /// One query run (`{query_run}`) of the run named in the path.
        case queryRun
    }

    /// What the route reads from the request body.
    public enum Body: Sendable, Equatable {
        case none
        /// Named fields given flat, sent to Mode as `{"<wrap>": {…}}` (or flat, when `wrap` is nil)
        /// with exactly the fields given. Without required fields, at least one must be given.
        case fields(wrap: String?, [BodyField])
        /// An optional `{"parameters": {…}}`, sent to Mode as given.
        case runParameters
    }

    /// One field of a flat body.
    public struct BodyField: Sendable, Equatable {
        public enum Kind: String, Sendable, Equatable {
            case string
            /// A Mode token: 1 to 64 characters from `[A-Za-z0-9_-]`.
            case token
            case integer
            case boolean
            /// A JSON object, passed on as given (a schedule's `cron`, a filter's `options`).
            case object
        }

        public var name: String
        public var kind: Kind
        public var summary: String
        public var required: Bool
        /// Where Mode wants it, below the wrapping key: `["invitee", "email"]` for an invite's `email`.
        public var upstream: [String]
        /// A JSON value for the spec's example and the tests.
        public var example: String

        public init(_ name: String, _ kind: Kind, _ summary: String, required: Bool = false, upstream: [String]? = nil, example: String? = nil) {
            self.name = name
            self.kind = kind
            self.summary = summary
            self.required = required
            self.upstream = upstream ?? [name]
            self.example =
                example
                ?? {
                    switch kind {
                    case .string: "\"Example \(name)\""
                    case .token: "\"sp-growth\""
                    case .integer: "1"
                    case .boolean: "true"
                    case .object: "{}"
                    }
                }()
        }
    }

    /// A query parameter passed on to Mode, checked by kind.
    public struct QueryField: Sendable, Equatable {
        public enum Kind: String, Sendable, Equatable {
            /// Printable text, at most 256 characters.
            case string
            /// A Mode token.
            case token
            /// An ISO 8601 date and time.
            case timestamp
            /// A calendar date, `YYYY-MM-DD`.
            case date
            /// `true` or `false`.
            case boolean
        }

        public var name: String
        public var kind: Kind
        public var summary: String
        public var required: Bool

        public init(_ name: String, _ kind: Kind, _ summary: String, required: Bool = false) {
            self.name = name
            self.kind = kind
            self.summary = summary
            self.required = required
        }
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
    /// The scope a client key needs.
    public var scope: Scope
    /// The spec's group for the route, one of ``RouteTable/tags``.
    public var tag: String
    /// One line for the spec and the README.
    public var summary: String
    /// More prose for the spec; the scope, the Mode call and the query are added to it.
    public var details: String
    /// The name of the response schema in the spec's components.
    public var schema: String
    /// Names a cached answer of this route carries, with `{parameter}`s filled in: the tags a
    /// write invalidates. Only GET routes are cached.
    public var cacheTags: [String] = []
    /// For a write, or a run that finishes: the tags whose cached answers its success makes wrong.
    public var invalidates: [String] = []
    /// For a list: whether Mode filters and orders it (`filter`, `order`, `order_by`); `page` is always taken.
    public var listFilters = true
    /// Query parameters passed on to Mode, checked by kind.
    public var query: [QueryField] = []
    /// A query always sent to Mode, such as `filter=all` for the list of every collection.
    public var fixedQuery: String?

    /// The names of the path parameters, in order; worked out once, not per request.
    public let parameters: [String]

    public init(
        _ operationID: String,
        _ method: HTTPRequest.Method,
        _ path: String,
        upstream upstreamPath: String,
        shape: Shape,
        body: Body = .none,
        scope: Scope,
        tag: String,
        summary: String,
        details: String = "",
        schema: String,
        cacheTags: [String] = [],
        invalidates: [String] = [],
        listFilters: Bool = true,
        query: [QueryField] = [],
        fixedQuery: String? = nil
    ) {
        self.operationID = operationID
        self.method = method
        self.path = path
        self.upstreamPath = upstreamPath
        self.shape = shape
        self.body = body
        self.scope = scope
        self.tag = tag
        self.summary = summary
        self.details = details
        self.schema = schema
        self.cacheTags = cacheTags
        self.invalidates = invalidates
        self.listFilters = listFilters
        self.query = query
        self.fixedQuery = fixedQuery
        self.parameters = path.split(separator: "/").compactMap { segment in
            segment.first == "{" && segment.last == "}" ? String(segment.dropFirst().dropLast()) : nil
        }
    }

    /// Whether the route takes the list query parameters.
    public var isCollection: Bool {
        if case .collection = self.shape { return true }
        return false
    }

    /// Whether the route answers from the response cache.
    public var isCachedRead: Bool {
        guard self.method == .get else { return false }
        switch self.shape {
        case .object, .collection: return true
        case .run, .results, .binary: return false
        }
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
