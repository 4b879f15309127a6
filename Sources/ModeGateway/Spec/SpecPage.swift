/// Renders the OpenAPI document as one self-contained HTML page: operations grouped by tag,
/// with parameters, bodies, answers, scopes and a curl example each, then the schemas. No
/// scripts, fonts or styles from elsewhere, so it works offline.
struct SpecPage {
    static let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    let document: [String: Any]

    func render() -> String {
        let info = self.document["info"] as? [String: Any] ?? [:]
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape(info["title"] as? String ?? "API")) API</title>
            <style>\(Self.style)</style></head><body>
            <header><h1>\(Self.escape(info["title"] as? String ?? "API")) <small>\(Self.escape(info["version"] as? String ?? ""))</small></h1>
            <p class="lead">\(Self.escape(info["summary"] as? String ?? ""))</p>
            \(Self.markdown(info["description"] as? String ?? ""))
            <p>The same document: <a href="/openapi.yaml">openapi.yaml</a> · <a href="/openapi.json">openapi.json</a></p></header>
            <nav><h2>Operations</h2><ul>
            """
        let operations = self.operations()
        for operation in operations {
            html +=
                "<li><a href=\"#\(operation.id)\"><span class=\"m \(operation.method)\">\(operation.method.uppercased())</span> \(Self.escape(operation.path))</a></li>"
        }
        html += "</ul></nav><main>"
        let tags = (self.document["tags"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        for tag in tags {
            let tagged = operations.filter { $0.tags.contains(tag) }
            guard !tagged.isEmpty else { continue }
            let description = (self.document["tags"] as? [[String: Any]])?.first { $0["name"] as? String == tag }?["description"] as? String
            html += "<section><h2>\(Self.escape(tag))</h2>\(Self.markdown(description ?? ""))"
            for operation in tagged { html += self.render(operation) }
            html += "</section>"
        }
        html += "<section><h2>Schemas</h2>"
        let schemas = (self.document["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]
        for name in schemas.keys.sorted() {
            html += "<article class=\"schema\" id=\"schema-\(Self.escape(name))\"><h3>\(Self.escape(name))</h3>"
            html += self.renderSchema(schemas[name] as? [String: Any] ?? [:])
            html += "</article>"
        }
        html += "</section></main></body></html>\n"
        return html
    }

    struct Operation {
        var id: String
        var method: String
        var path: String
        var tags: [String]
        var body: [String: Any]
        var pathParameters: [[String: Any]]
    }

    func operations() -> [Operation] {
        var result: [Operation] = []
        let paths = self.document["paths"] as? [String: Any] ?? [:]
        for path in paths.keys.sorted() {
            guard let item = paths[path] as? [String: Any] else { continue }
            for method in Self.methods {
                guard let operation = item[method] as? [String: Any] else { continue }
                result.append(
                    Operation(
                        id: operation["operationId"] as? String ?? "\(method)-\(path)",
                        method: method,
                        path: path,
                        tags: operation["tags"] as? [String] ?? [],
                        body: operation,
                        pathParameters: (item["parameters"] as? [Any] ?? []).compactMap(self.resolve)
                    )
                )
            }
        }
        return result
    }

    private func render(_ operation: Operation) -> String {
        let body = operation.body
        var html =
            "<article class=\"op\" id=\"\(operation.id)\"><h3><span class=\"m \(operation.method)\">\(operation.method.uppercased())</span> <code>\(Self.escape(operation.path))</code></h3>"
        html += "<p class=\"summary\">\(Self.escape(body["summary"] as? String ?? ""))</p>"
        html += Self.markdown(body["description"] as? String ?? "")
        html += "<p class=\"scope\">\(self.access(body))</p>"
        let parameters = operation.pathParameters + (body["parameters"] as? [Any] ?? []).compactMap(self.resolve)
        if !parameters.isEmpty {
            html += "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>schema</th><th>description</th></tr>"
            for parameter in parameters {
                let required = parameter["required"] as? Bool == true ? " <em>required</em>" : ""
                html += "<tr><td><code>\(Self.escape(parameter["name"] as? String ?? ""))</code>\(required)</td>"
                html += "<td>\(Self.escape(parameter["in"] as? String ?? ""))</td>"
                html += "<td>\(self.describe(parameter["schema"] as? [String: Any] ?? [:]))</td>"
                html += "<td>\(Self.markdown(parameter["description"] as? String ?? "", paragraphs: false))</td></tr>"
            }
            html += "</table>"
        }
        if let requestBody = body["requestBody"] as? [String: Any],
            let content = (requestBody["content"] as? [String: Any])?["application/json"] as? [String: Any]
        {
            let schema = content["schema"] as? [String: Any] ?? [:]
            // A body the route table describes inline: its fields, each with its type and whether it is required.
            let inline = schema["$ref"] == nil && schema["properties"] != nil
            html += "<h4>Body (application/json)</h4>" + (inline ? self.renderSchema(schema) : self.describe(schema))
        }
        html += "<h4>Answers</h4><table><tr><th>status</th><th>description</th><th>body</th></tr>"
        let responses = body["responses"] as? [String: Any] ?? [:]
        for status in responses.keys.sorted() {
            guard let response = self.resolve(responses[status] as Any) else { continue }
            let content = response["content"] as? [String: Any] ?? [:]
            let bodies = content.keys.sorted().map { type -> String in
                let schema = (content[type] as? [String: Any])?["schema"] as? [String: Any] ?? [:]
                return "<code>\(Self.escape(type))</code> \(self.describe(schema))"
            }
            let headers = (response["headers"] as? [String: Any] ?? [:]).keys.sorted().map { "<code>\(Self.escape($0))</code>" }
            html += "<tr><td class=\"status s\(status.prefix(1))\">\(Self.escape(status))</td>"
            html += "<td>\(Self.markdown(response["description"] as? String ?? "", paragraphs: false))"
            if !headers.isEmpty { html += "<br><small>headers: \(headers.joined(separator: ", "))</small>" }
            html += "</td><td>\(bodies.joined(separator: "<br>"))</td></tr>"
        }
        html += "</table><h4>Example</h4><pre>\(Self.escape(self.curl(operation)))</pre></article>"
        return html
    }

    private func access(_ operation: [String: Any]) -> String {
        let requirements = operation["security"] as? [[String: Any]] ?? self.document["security"] as? [[String: Any]] ?? []
        let scopes = requirements.flatMap { ($0["bearerKey"] as? [String]) ?? [] }
        guard let scope = scopes.first else { return "Open: no key needed." }
        return "Key scope: <strong>\(Self.escape(scope))</strong> (when the gateway runs with keys)."
    }

    private func curl(_ operation: Operation) -> String {
        var path = operation.path
        let parameters = operation.pathParameters + (operation.body["parameters"] as? [Any] ?? []).compactMap(self.resolve)
        for parameter in parameters where parameter["in"] as? String == "path" {
            if let name = parameter["name"] as? String {
                path = path.replacingOccurrences(of: "{\(name)}", with: parameter["example"] as? String ?? name)
            }
        }
        var command = "curl -s"
        if operation.method != "get" { command += " -X \(operation.method.uppercased())" }
        if operation.body["security"] as? [Any] != nil, self.access(operation.body).hasPrefix("Key") {
            command += " -H 'Authorization: Bearer $KEY'"
        }
        command += " 'http://127.0.0.1:8080\(path)'"
        if let requestBody = operation.body["requestBody"] as? [String: Any],
            let content = (requestBody["content"] as? [String: Any])?["application/json"] as? [String: Any],
            let example = content["example"] as? [String: Any]
        {
            let members = example.keys.sorted().map { "\"\($0)\": \"\(example[$0] ?? "")\"" }
            command += " \\\n     -H 'Content-Type: application/json' -d '{\(members.joined(separator: ", "))}'"
        }
        return command
    }

    private func renderSchema(_ schema: [String: Any]) -> String {
        var html = Self.markdown(schema["description"] as? String ?? "")
        let properties = schema["properties"] as? [String: Any] ?? [:]
        if properties.isEmpty { return html + "<p>\(self.describe(schema))</p>" }
        let required = schema["required"] as? [String] ?? []
        html += "<table><tr><th>field</th><th>schema</th><th>description</th></tr>"
        for name in properties.keys.sorted() {
            let property = properties[name] as? [String: Any] ?? [:]
            let mark = required.contains(name) ? " <em>required</em>" : ""
            html += "<tr><td><code>\(Self.escape(name))</code>\(mark)</td><td>\(self.describe(property))</td>"
            html += "<td>\(Self.markdown(property["description"] as? String ?? "", paragraphs: false))</td></tr>"
        }
        html += "</table>"
        if schema["additionalProperties"] as? Bool == true { html += "<p><small>Other fields from Mode pass through.</small></p>" }
        return html
    }

    /// A short description of a schema: its type or reference, with pattern, enum and bounds.
    private func describe(_ schema: [String: Any]) -> String {
        if let reference = schema["$ref"] as? String {
            let name = reference.split(separator: "/").last.map(String.init) ?? reference
            return "<a href=\"#schema-\(Self.escape(name))\">\(Self.escape(name))</a>"
        }
        var parts: [String] = []
        if let type = schema["type"] as? String { parts.append(type) }
        if let types = schema["type"] as? [String] { parts.append(types.joined(separator: " | ")) }
        if let items = schema["items"] as? [String: Any] { parts.append("of " + self.describe(items)) }
        if let values = schema["enum"] as? [Any] {
            parts.append("one of " + values.map { "<code>\(Self.escape("\($0)"))</code>" }.joined(separator: ", "))
        }
        if let pattern = schema["pattern"] as? String { parts.append("matching <code>\(Self.escape(pattern))</code>") }
        if let minimum = schema["minimum"] { parts.append("≥ \(minimum)") }
        if let maximum = schema["maximum"] { parts.append("≤ \(maximum)") }
        return parts.joined(separator: ", ")
    }

    /// Follows a `$ref` within the document.
    private func resolve(_ value: Any) -> [String: Any]? {
        guard var object = value as? [String: Any] else { return nil }
        var hops = 0
        while let reference = object["$ref"] as? String, reference.hasPrefix("#/"), hops < 10 {
            var target: Any = self.document
            for component in reference.dropFirst(2).split(separator: "/") {
                target = (target as? [String: Any])?[String(component)] as Any
            }
            guard let resolved = target as? [String: Any] else { return nil }
            object = resolved
            hops += 1
        }
        return object
    }

    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }

    /// The little Markdown the spec uses: paragraphs, `code` and **strong**.
    static func markdown(_ text: String, paragraphs: Bool = true) -> String {
        let blocks = text.components(separatedBy: "\n\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        let rendered = blocks.map { block -> String in
            var html = ""
            var inCode = false
            var inStrong = false
            var characters = Substring(Self.escape(block.replacingOccurrences(of: "\n", with: " ")))
            while let character = characters.first {
                if character == "`" {
                    html += inCode ? "</code>" : "<code>"
                    inCode.toggle()
                    characters = characters.dropFirst()
                } else if !inCode, characters.hasPrefix("**") {
                    html += inStrong ? "</strong>" : "<strong>"
                    inStrong.toggle()
                    characters = characters.dropFirst(2)
                } else {
                    html.append(character)
                    characters = characters.dropFirst()
                }
            }
            if inCode { html += "</code>" }
            if inStrong { html += "</strong>" }
            return html
        }
        return paragraphs ? rendered.map { "<p>\($0)</p>" }.joined() : rendered.joined(separator: "<br>")
    }

    static let style = """
        body{font:15px/1.5 -apple-system,system-ui,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2328;margin:0;display:grid;grid-template-columns:290px minmax(0,1fr)}
        header{grid-column:1/3;padding:24px 40px;background:#0d2538;color:#e8f0f6}header a{color:#8ecbff}header code{background:#1c3a52}
        h1{margin:0 0 4px;font-size:28px}h1 small{font-size:14px;color:#9fb8cc;font-weight:400}.lead{font-size:17px;margin:4px 0 12px}
        nav{padding:16px 20px;border-right:1px solid #d8dee4;background:#f6f8fa;position:sticky;top:0;align-self:start;max-height:100vh;overflow:auto}
        nav ul{list-style:none;padding:0;margin:0}nav li{margin:5px 0;font-size:13px}nav li a{display:flex;align-items:center;gap:4px;word-break:break-all}nav a{color:#1f2328;text-decoration:none}
        main{padding:8px 40px 40px;max-width:1100px;min-width:0}section>h2{border-bottom:2px solid #d8dee4;padding-bottom:4px;margin-top:32px}
        article{border:1px solid #d8dee4;border-radius:8px;padding:4px 20px 16px;margin:18px 0;background:#fff}
        h3 code{font-size:17px;background:none}.summary{font-weight:600;margin:0}.scope{color:#57606a;font-size:14px}
        .m{display:inline-block;flex:none;min-width:58px;text-align:center;border-radius:4px;color:#fff;font:700 12px/22px monospace;margin-right:6px}
        .get{background:#1f6feb}.patch{background:#bf8700}.delete{background:#cf222e}.post{background:#1a7f37}
        table{border-collapse:collapse;width:100%;font-size:14px;margin:6px 0}th,td{border:1px solid #d8dee4;padding:5px 8px;text-align:left;vertical-align:top}
        th{background:#f6f8fa}code{font:13px ui-monospace,Menlo,Consolas,monospace;background:#eff2f5;padding:1px 4px;border-radius:3px;overflow-wrap:anywhere}
        pre{background:#0d1117;color:#e6edf3;padding:12px;border-radius:6px;overflow:auto;font-size:13px}
        .status{font-weight:700;font-family:monospace}.s2{color:#1a7f37}.s3{color:#57606a}.s4{color:#bf8700}.s5{color:#cf222e}
        h4{margin:14px 0 4px;font-size:14px;text-transform:uppercase;letter-spacing:.04em;color:#57606a}
        """
}
