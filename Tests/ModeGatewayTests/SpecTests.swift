import Foundation
import Testing
import Yams

@testable import ModeGateway

@Suite("The published OpenAPI document, held to the code")
struct SpecTests {
    @Test("The router serves exactly the (method, path) pairs the spec describes")
    func routesMatchSpec() throws {
        let spec = try SpecDocument.load()
        let served = Set(GatewayRoutes.all.map { "\($0.method.rawValue) \($0.path)" })
        #expect(
            spec.operations == served,
            "only in spec: \(spec.operations.subtracting(served)); only served: \(served.subtracting(spec.operations))"
        )
    }

    @Test("Every route spec's operationId is the spec's")
    func operationIDs() throws {
        let document = try #require(try Yams.load(yaml: String(buffer: try SpecDocument.load().yaml)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        for route in RouteTable.modeRoutes {
            let item = try #require(paths[route.path] as? [String: Any], "\(route.path)")
            let operation = try #require(item[route.method.rawValue.lowercased()] as? [String: Any])
            #expect(operation["operationId"] as? String == route.operationID)
        }
    }

    @Test("Each operation's scope, body and parameters come from its route table entry")
    func derivedFromTable() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(try SpecDocument.load().json.readableBytesView)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        let components = try #require((document["components"] as? [String: Any])?["parameters"] as? [String: Any])
        for route in RouteTable.modeRoutes {
            let operation = try #require((paths[route.path] as? [String: Any])?[route.method.rawValue.lowercased()] as? [String: Any])
            let security = operation["security"] as? [[String: [String]]]
            #expect(security?.first?["bearerKey"] == [route.scope.rawValue], "\(route.operationID)")
            #expect((operation["requestBody"] != nil) == (route.body != .none), "\(route.operationID)")
            let parameters = operation["parameters"] as? [[String: Any]] ?? []
            let references = parameters.compactMap { $0["$ref"] as? String }
            for name in route.parameters {
                #expect(parameters.contains { $0["name"] as? String == name && $0["in"] as? String == "path" }, "\(route.operationID) lacks \(name)")
                #expect(RouteTable.pathParameters[name] != nil, "no description or example for path parameter \(name)")
            }
            for field in route.query {
                #expect(
                    parameters.contains { $0["name"] as? String == field.name && $0["in"] as? String == "query" },
                    "\(route.operationID) lacks \(field.name)"
                )
            }
            for reference in references {
                #expect(components[String(reference.split(separator: "/").last ?? "")] != nil, "\(reference)")
            }
        }
    }

    @Test("Every write names what its success makes wrong in the cache")
    func writesInvalidate() {
        for route in RouteTable.modeRoutes where route.method != .get {
            #expect(!route.invalidates.isEmpty, "\(route.operationID) invalidates nothing")
        }
    }

    @Test("openapi/openapi.yaml is the document the gateway serves (regenerate with `mode-gateway openapi`)")
    func committedCopyIsCurrent() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let committed = try String(contentsOf: root.appendingPathComponent("openapi/openapi.yaml"), encoding: .utf8)
        #expect(committed == String(buffer: try SpecDocument.load().yaml), "run: swift run mode-gateway openapi > openapi/openapi.yaml")
    }

    @Test("The spec's list parameters are exactly the ones the gateway accepts")
    func listParameters() throws {
        let document = try #require(try Yams.load(yaml: String(buffer: try SpecDocument.load().yaml)) as? [String: Any])
        let parameters = try #require((document["components"] as? [String: Any])?["parameters"] as? [String: Any])
        let orders = ((parameters["order"] as? [String: Any])?["schema"] as? [String: Any])?["enum"] as? [String]
        #expect(orders == ListQuery.Order.allCases.map(\.rawValue))
        let fields = ((parameters["order_by"] as? [String: Any])?["schema"] as? [String: Any])?["enum"] as? [String]
        #expect(fields == ListQuery.Field.allCases.map(\.rawValue))
        let page = (parameters["page"] as? [String: Any])?["schema"] as? [String: Any]
        #expect(page?["maximum"] as? Int == ListQuery.maxPage)
    }

    @Test("It is served as YAML, as the same document in JSON, and as a page")
    func served() async throws {
        try await GatewayHarness.with(configure: { $0.keys = GatewayHarness.Keys.store }) { (harness: GatewayHarness) async throws in
            let yaml = try await harness.get("/openapi.yaml")
            #expect(yaml.status == 200 && yaml.headers["Content-Type"].first == "application/yaml")
            let json = try await harness.get("/openapi.json")
            #expect(json.status == 200 && json.headers["Content-Type"].first == "application/json")
            let fromYAML = try JSONSerialization.data(
                withJSONObject: try #require(try Yams.load(yaml: yaml.body) as? [String: Any]),
                options: .sortedKeys
            )
            let fromJSON = try JSONSerialization.data(withJSONObject: json.object, options: .sortedKeys)
            #expect(fromYAML == fromJSON)
            #expect(json.object["openapi"] as? String == "3.1.0")
            let docs = try await harness.get("/docs")
            #expect(docs.status == 200 && docs.headers["Content-Type"].first?.hasPrefix("text/html") == true)
            for route in RouteTable.modeRoutes { #expect(docs.body.contains("id=\"\(route.operationID)\"")) }
            #expect(!docs.body.contains("<script") && !docs.body.contains("http://cdn") && !docs.body.contains("https://cdn"))
        }
    }
}

@Suite("The README and the demo, held to the code")
struct DocumentationTests {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test("The README's routes table is the one the route table generates (`mode-gateway routes`)")
    func readmeRoutes() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("<!-- routes:begin -->\n" + SpecBuilder.markdownTable() + "<!-- routes:end -->"))
    }

    @Test("Every curl command the demo prints works against the gateway and its simulator")
    func demoCommands() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let banner = GatewayCommand.demoBanner(host: "127.0.0.1", port: harness.gatewayPort, simulatorURL: harness.simulator.baseURL)
            let commands = banner.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("curl ") }
            #expect(commands.count >= 14)
            for command in commands {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                // -w appends the status on a line of its own.
                process.arguments = ["-c", command.replacingOccurrences(of: "curl -s", with: "curl -s -w '\\n%{http_code}'")]
                let output = Pipe()
                process.standardOutput = output
                try process.run()
                let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                let status = Int(text.split(separator: "\n").last ?? "") ?? 0
                let expected = command.contains("not.a.token") ? 400 : command.contains("rp-never") ? 404 : 200
                #expect(process.terminationStatus == 0 && status == expected, "\(command) → \(status): \(text.prefix(300))")
            }
        }
    }
}
