import Foundation

/// Derives the OpenAPI document's Mode operations from the route table.
///
/// The companion file (`openapi-base.yaml`) holds only what the table does not know: the
/// document's prose, the gateway's own operations (cache, health, spec) and the shared
/// components (schemas, parameters, answers). Each route's path, method, parameters, body,
/// scope and answers come from its ``RouteSpec`` here, so the two cannot drift apart.
enum SpecBuilder {
    /// The whole document: the companion with the table's tags and operations added.
    static func document(base: [String: Any], routes: [RouteSpec] = RouteTable.modeRoutes) -> [String: Any] {
        var document = base
        let tableTags: [Any] = RouteTable.tags.map { ["name": $0.name, "description": $0.description] }
        document["tags"] = tableTags + (base["tags"] as? [Any] ?? [])
        var paths = base["paths"] as? [String: Any] ?? [:]
        for route in routes {
            var item = paths[route.path] as? [String: Any] ?? [:]
            item[route.method.rawValue.lowercased()] = Self.operation(route)
            paths[route.path] = item
        }
        document["paths"] = paths
        return document
    }

    static func operation(_ route: RouteSpec) -> [String: Any] {
        var operation: [String: Any] = [
            "operationId": route.operationID,
            "tags": [route.tag],
            "summary": route.summary,
            "description": Self.description(route),
            "security": [["bearerKey": [route.scope.rawValue]], [String: Any]()],
            "parameters": route.parameters.map(Self.pathParameter) + Self.queryParameters(route),
            "responses": Self.responses(route),
        ]
        switch route.body {
        case .none:
            break
        case .fields(_, let fields):
            var properties: [String: Any] = [:]
            var example: [String: Any] = [:]
            for field in fields {
                switch field.kind {
                case .token: properties[field.name] = ["$ref": "#/components/schemas/Token", "description": field.summary]
                default: properties[field.name] = ["type": field.kind.rawValue, "description": field.summary]
                }
                if field.required || example.isEmpty {
                    example[field.name] = (try? JSONDecoder().decode(JSONBody.self, from: Data(field.example.utf8)))?.plain
                }
            }
            var schema: [String: Any] = ["type": "object", "additionalProperties": false, "properties": properties]
            let required = fields.filter(\.required).map(\.name)
            if required.isEmpty { schema["minProperties"] = 1 } else { schema["required"] = required }
            operation["requestBody"] = [
                "required": true,
                "content": ["application/json": ["schema": schema, "example": example] as [String: Any]],
            ]
        case .runParameters:
            operation["requestBody"] = [
                "required": false,
                "content": ["application/json": ["schema": Self.reference("schemas", "RunRequest")]],
            ]
        }
        return operation
    }

    /// What ``ISO8601Timestamp`` takes, as a pattern.
    static let timestampPattern =
        "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"

    /// A path parameter, described and exemplified from ``RouteTable/pathParameters``.
    private static func pathParameter(_ name: String) -> [String: Any] {
        let known = RouteTable.pathParameters[name]
        return [
            "name": name,
            "in": "path",
            "required": true,
            "description": known?.summary ?? "A Mode token.",
            "schema": Self.reference("schemas", "Token"),
            "example": known?.example ?? "abc123",
        ]
    }

    private static func description(_ route: RouteSpec) -> String {
        var text = route.details.isEmpty ? "" : route.details + "\n\n"
        let upstream = route.upstreamPath
        switch route.shape {
        case .object where route.method == .get:
            text += "Mode's `GET \(upstream)`, HAL removed and `_embedded` lifted. Served from the cache when fresh."
        case .object:
            switch route.body {
            case .fields(let wrap?, _):
                text += "Sends Mode `\(route.method.rawValue) \(upstream)` with `{\"\(wrap)\": {…}}` holding exactly the fields given."
            case .fields(nil, _):
                text += "Sends Mode `\(route.method.rawValue) \(upstream)` with exactly the fields given."
            default:
                text +=
                    "Sends Mode `\(route.method.rawValue) \(upstream)`. A success with no body from Mode is a 204 (202 when Mode accepted it for later)."
            }
            text += " On success, what it changes leaves the cache: \(route.invalidates.map { "`\($0)`" }.joined(separator: ", "))."
        case .binary:
            text += "Mode's `GET \(upstream)`."
        case .collection(let itemsKey):
            text += "Mode's `GET \(upstream)` (`_embedded.\(itemsKey)`), every page read and flattened, unless `page` names one."
            if let fixed = route.fixedQuery { text += " Mode gets `\(fixed)`." }
        case .run where route.method == .get:
            text += "Mode's `GET \(upstream)`. With `wait`, the answer waits for the run to finish; "
            text += "however many clients wait on one run, Mode is polled for it once per interval."
        case .run:
            text += "With `wait`, the answer waits for the new run to finish."
        case .results:
            text += "Rows come from Mode's per-query-run content, streamed, and are cached by run. "
            text += "The latest successful run is the report's `last_successful_run_token`; `run` names another."
        }
        text += "\n\nNeeds the `\(route.scope.rawValue)` scope."
        return text
    }

    private static func queryParameters(_ route: RouteSpec) -> [Any] {
        let conditional = [Self.reference("parameters", "IfNoneMatch"), Self.reference("parameters", "CacheControlRequest")]
        let passed: [Any] = route.query.map { field in
            var schema: [String: Any] = ["type": "string"]
            switch field.kind {
            case .timestamp:
                schema = ["type": "string", "pattern": Self.timestampPattern]
            case .date:
                schema = ["type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"]
            case .boolean:
                schema = ["type": "string", "enum": ["true", "false"]]
            case .token:
                schema = Self.reference("schemas", "Token")
            case .string:
                schema["minLength"] = 1
                schema["maxLength"] = 256
                schema["pattern"] = "^[^\\x00-\\x1F\\x7F]*$"
            }
            var parameter: [String: Any] = [
                "name": field.name, "in": "query", "required": field.required, "description": field.summary, "schema": schema,
            ]
            switch field.kind {
            case .timestamp: parameter["example"] = field.name.hasPrefix("end") ? "2024-02-01T00:00:00Z" : "2024-01-01T00:00:00Z"
            case .date: parameter["example"] = field.name.hasPrefix("end") ? "2024-02-01" : "2024-01-01"
            default: break
            }
            return parameter
        }
        switch route.shape {
        case .object where route.method == .get: return passed + conditional
        case .object: return passed
        case .binary: return []
        case .collection:
            let list = route.listFilters ? ["filter", "order", "order_by", "page"] : ["page"]
            return list.map { Self.reference("parameters", $0) } + passed + conditional
        case .run where route.method == .get: return [Self.reference("parameters", "wait")]
        case .run: return [Self.reference("parameters", "wait"), Self.reference("parameters", "IdempotencyKey")]
        case .results(let scope):
            var names = route.parameters.contains("run") ? [] : ["runToken"]
            if scope != .report { names.append("format") }
            names.append("IfNoneMatch")
            return names.map { Self.reference("parameters", $0) }
        }
    }

    private static func responses(_ route: RouteSpec) -> [String: Any] {
        var responses: [String: Any] = [:]
        for (code, name) in [
            ("400", "BadRequest"), ("401", "Unauthenticated"), ("403", "Forbidden"), ("404", "NotFound"),
            ("414", "QueryTooLong"), ("429", "TooManyRequests"), ("502", "BadGateway"), ("503", "Unavailable"), ("504", "GatewayTimeout"),
        ] {
            responses[code] = Self.reference("responses", name)
        }
        let schema = Self.reference("schemas", route.schema)
        let cacheHeaders = Self.headers(["ETag", "XCache", "Age", "CacheControl", "XRequestID"])
        switch route.shape {
        case .object where route.method == .get:
            responses["200"] = Self.answer("The \(route.schema).", headers: cacheHeaders, content: ["application/json": ["schema": schema]])
            responses["304"] = Self.reference("responses", "NotModified")
        case .object:
            responses["200"] = Self.answer(
                route.method == .delete ? "What was deleted, when Mode says." : "The \(route.schema), as Mode now has it.",
                headers: Self.headers(["ETag", "XRequestID"]),
                content: ["application/json": ["schema": schema]]
            )
            if route.body == .none {
                responses["204"] = ["description": "Done; Mode said nothing more.", "headers": Self.headers(["XRequestID"])]
                responses["202"] = ["description": "Mode accepted it, to be done later.", "headers": Self.headers(["XRequestID"])]
            }
            responses["413"] = Self.reference("responses", "TooLarge")
        case .binary:
            responses["200"] = [
                "description": "The file, with Mode's content type.",
                "headers": Self.headers(["XRequestID"]),
                "content": [
                    "application/pdf": ["schema": ["type": "string", "format": "binary"]],
                    "application/octet-stream": ["schema": ["type": "string", "format": "binary"]],
                ],
            ]
        case .collection:
            let list: [String: Any] = [
                "type": "object",
                "required": ["items", "count"],
                "additionalProperties": false,
                "properties": [
                    "items": ["type": "array", "items": schema], "count": ["type": "integer", "minimum": 0],
                    "complete": ["type": "boolean", "description": "`false` when the list was cut short (page cap or deadline); absent when whole."],
                ],
            ]
            responses["200"] = Self.answer("Every item, all pages read.", headers: cacheHeaders, content: ["application/json": ["schema": list]])
            responses["304"] = Self.reference("responses", "NotModified")
        case .run:
            let content = ["application/json": ["schema": schema]]
            responses["200"] = Self.answer("The run, finished.", headers: Self.headers(["XRequestID"]), content: content)
            responses["202"] = Self.answer(
                route.method == .get ? "The run, not finished yet." : "The run, started (or not finished within `wait`).",
                headers: Self.headers(
                    route.method == .get ? ["RetryAfter", "XRequestID"] : ["Location", "RetryAfter", "XRequestID", "IdempotentReplayed"]
                ),
                content: content
            )
            if route.method != .get {
                responses["413"] = Self.reference("responses", "TooLarge")
                responses["422"] = Self.reference("responses", "Unprocessable")
            }
        case .results(let scope):
            var content: [String: Any] = ["application/json": ["schema": schema]]
            if scope != .report {
                content["text/csv"] = ["schema": ["type": "string"]]
                content["application/x-ndjson"] = ["schema": ["type": "string"]]
            }
            responses["200"] = Self.answer(
                "The rows.",
                headers: Self.headers(["ETag", "XCache", "CacheControl", "ModeRun", "XRequestID"]),
                content: content
            )
            responses["304"] = Self.reference("responses", "NotModified")
            responses["406"] = Self.reference("responses", "NotAcceptable")
            responses["409"] = Self.reference("responses", "Conflict")
        }
        return responses
    }

    private static func answer(_ description: String, headers: [String: Any], content: [String: Any]) -> [String: Any] {
        ["description": description, "headers": headers, "content": content]
    }

    private static func headers(_ names: [String]) -> [String: Any] {
        let wire = [
            "ETag": "ETag", "XCache": "X-Cache", "Age": "Age", "CacheControl": "Cache-Control", "XRequestID": "X-Request-ID",
            "RetryAfter": "Retry-After", "Location": "Location", "IdempotentReplayed": "Idempotent-Replayed", "ModeRun": "X-Mode-Run",
        ]
        var result: [String: Any] = [:]
        for name in names { result[wire[name] ?? name] = Self.reference("headers", name) }
        return result
    }

    private static func reference(_ section: String, _ name: String) -> [String: Any] {
        ["$ref": "#/components/\(section)/\(name)"]
    }

    /// The README's table of Mode routes, grouped by tag (`mode-gateway routes`; a test holds the
    /// README to it).
    static func markdownTable(routes: [RouteSpec] = RouteTable.modeRoutes) -> String {
        var lines = ["| route | operation id | scope | Mode call |", "|---|---|---|---|"]
        for tag in RouteTable.tags {
            lines.append("| **\(tag.name)** | | | |")
            for route in routes where route.tag == tag.name {
                let call: String
                switch route.shape {
                case .results: call = "`GET \(route.upstreamPath)`, its runs, query runs and their content"
                default: call = "`\(route.method.rawValue) \(route.upstreamPath.replacingOccurrences(of: "{workspace}", with: "{ws}"))`"
                }
                lines.append(
                    "| `\(route.method.rawValue) \(route.path)` | `\(route.operationID)` | \(route.scope.rawValue) | \(call.replacingOccurrences(of: "{workspace}", with: "{ws}")) |"
                )
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
