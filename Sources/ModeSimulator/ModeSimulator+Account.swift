import Foundation
import Hummingbird
import NIOCore

extension ModeSimulator {
    /// The operations that are not plain resources: the account, audit logs, deleting and
    /// archiving reports, purges, schema refreshes, a query run, a run's form fields, clones and
    /// the PDF export.
    func addAccountRoutes(to api: RouterGroup<SimulatorContext>) {
        api.get("account") { request, context in
            try await self.serve(request, context) { world in
                .ok(
                    .object([
                        ("username", .string("api-user")), ("name", .string("API user")), ("token", .string("u-api")),
                        ("email", .string("api-user@example.com")), ("email_verified", .bool(true)), ("space_count", .int(world.spaces.count)),
                        (
                            "_links",
                            .object([("self", self.renderer.link("/api/account")), ("web", self.renderer.link("https://app.mode.com/api-user"))])
                        ),
                        ("_embedded", .object([("user", .object([("username", .string("api-user"))]))])),
                    ])
                )
            }
        }
        api.get("{workspace}/audit_logs") { request, context in
            try await self.serve(request, context) { world in
                let query = request.uri.queryParameters
                guard let start = query["start_timestamp"].flatMap({ SimTime.parse(String($0)) }),
                    let end = query["end_timestamp"].flatMap({ SimTime.parse(String($0)) })
                else {
                    return .failure(.badRequest, HALRenderer.error(id: "bad_request", message: "start_timestamp and end_timestamp are required"))
                }
                let events = (0..<5).map { index -> JSONValue in
                    .object([
                        ("id", .string("evt\(index + 1)")), ("action", .string(index % 2 == 0 ? "report_viewed" : "report_updated")),
                        ("timestamp", .string(SimTime.iso8601(Int(start + (end - start) * Double(index) / 5)))),
                        ("actor", .object([("username", .string("analyst"))])),
                        ("entity", .object([("type", .string("Report")), ("id", .string("rp-sales"))])),
                        ("workspace_username", .string(world.workspace)),
                    ])
                }
                return .ok(
                    .object([
                        ("audit_logs", .array(events)), ("next_token", .null),
                        ("_links", .object([("self", self.renderer.link("/api/\(world.workspace)/audit_logs"))])),
                    ])
                )
            }
        }
        for kind in ["reports", "datasets"] {
            let parameter = kind == "reports" ? "report" : "dataset"
            api.delete("{workspace}/\(kind)/{\(parameter)}") { request, context in
                try await self.serve(request, context) { world in
                    switch self.lookup(world, context.parameters.get(parameter)) {
                    case .ok(let report):
                        return self.store.remove(report: report.token) ? .empty(.ok) : SimFailure(status: .notFound, message: "Not found").answer
                    case .failure(let status, let body): return .failure(status, body)
                    }
                }
            }
        }
        for (action, archived) in [("archive", true), ("unarchive", false)] {
            api.patch("{workspace}/reports/{report}/\(action)") { request, context in
                try await self.serve(request, context) { world in
                    switch self.lookup(world, context.parameters.get("report")) {
                    case .ok(let report):
                        guard let changed = self.store.setArchived(report: report.token, archived) else {
                            return SimFailure(status: .notFound, message: "Not found").answer
                        }
                        return .ok(self.render(changed, detail: .updated, world: self.store.snapshot))
                    case .failure(let status, let body): return .failure(status, body)
                    }
                }
            }
        }
        api.post("{workspace}/reports/purge") { request, context in
            try await self.serve(request, context) { _ in
                guard let time = request.uri.queryParameters["time"], SimTime.parse(String(time) + "T00:00:00Z") != nil else {
                    return SimFailure(status: .badRequest, message: "time is required (YYYY-MM-DD)").answer
                }
                return .empty(.accepted)
            }
        }
        api.delete("{workspace}/reports/schedules/v1/bulk_delete") { request, context in
            try await self.serve(request, context) { _ in .empty(.ok) }
        }
        api.post("{workspace}/data_sources/{data_source}/purge") { request, context in
            try await self.serve(request, context) { world in
                world.dataSources.contains { $0.token == context.parameters.get("data_source") }
                    ? .empty(.accepted) : SimFailure(status: .notFound, message: "Data source not found").answer
            }
        }
        api.post("{workspace}/data_sources/{data_source}/schema_updates") { request, context in
            try await self.serve(request, context) { world in
                guard let source = world.dataSources.first(where: { $0.token == context.parameters.get("data_source") }) else {
                    return SimFailure(status: .notFound, message: "Data source not found").answer
                }
                return .ok(
                    .object([
                        ("token", .string("su-\(source.token)")), ("state", .string("enqueued")), ("number_of_schemas", .int(3)),
                        ("number_of_tables", .int(42)),
                        (
                            "_links",
                            .object([
                                ("self", self.renderer.link("/api/\(world.workspace)/data_sources/\(source.token)/schema_updates/su-\(source.token)"))
                            ])
                        ),
                    ])
                )
            }
        }
        api.get("{workspace}/reports/{report}/runs/{run}/query_runs/{query_run}") { request, context in
            try await self.serve(request, context) { world in
                self.withRun(world, context, parameter: "report") { report, run in
                    guard let index = report.queries.indices.first(where: { run.queryRunToken($0) == context.parameters.get("query_run") }) else {
                        return SimFailure(status: .notFound, message: "Query run not found").answer
                    }
                    return .ok(self.renderer.queryRun(run, index: index, report: report, now: SimClock.now()))
                }
            }
        }
        api.get("{workspace}/reports/{report}/runs/{run}/options") { request, context in
            try await self.serve(request, context) { world in
                self.withRun(world, context, parameter: "report") { report, run in
                    .ok(
                        .object([
                            ("name", .string("rows")), ("options", .array([.int(5), .int(50), .int(500)])), ("options_error", .null),
                            ("source_size", .int(3)),
                            (
                                "_links",
                                .object([("self", self.renderer.link("/api/\(world.workspace)/reports/\(report.token)/runs/\(run.token)/options"))])
                            ),
                        ])
                    )
                }
            }
        }
        api.post("{workspace}/reports/{report}/runs/{run}/clone") { request, context in
            try await self.serve(request, context) { world in
                self.withRun(world, context, parameter: "report") { report, _ in .ok(self.render(report, detail: .updated, world: world)) }
            }
        }
        api.get("{workspace}/reports/{report}/exports/runs/{run}/pdf/download") { request, context in
            let answer = try await self.serve(request, context) { world in
                self.withRun(world, context, parameter: "report") { _, _ in .empty(.ok) }
            }
            guard answer.status == .ok else { return answer }
            return Response(
                status: .ok,
                headers: [.contentType: "application/pdf", .contentDisposition: "attachment; filename=\"report.pdf\""],
                body: .init(byteBuffer: ByteBuffer(bytes: Self.samplePDF))
            )
        }
    }

    /// A small, valid PDF with a NUL and high bytes, so that a transform of it would show.
    static let samplePDF: [UInt8] =
        Array("%PDF-1.4\n%".utf8) + [0xE2, 0xE3, 0xCF, 0xD3, 0x0A, 0x00]
        + Array(
            "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
                .utf8
        )
}
