import Foundation
import Hummingbird
import NIOCore

extension ModeSimulator {
    /// Mode's reports, runs, query runs and results: lists of reports, report PATCH, run POSTs
    /// (reports with `{"parameters": {…}}`, datasets with no body), runs that move from enqueued
    /// to running to succeeded (or failed) over time, and each query run's rows as JSON and as
    /// gzip-encoded CSV with a byte-order mark, the way Mode serves them.
    func addReportRoutes(to api: RouterGroup<SimulatorContext>) {
        api.get("{workspace}/reports/{report}") { request, context in
            try await self.serve(request, context) { world in
                self.lookup(world, context.parameters.get("report")).map { self.render($0, detail: .full, world: world) }
            }
        }
        api.patch("{workspace}/reports/{report}") { request, context in
            let body = try await request.body.collect(upTo: 1 << 20)
            return try await self.serve(request, context, body: body) { world in
                self.patch(body: body, token: context.parameters.get("report") ?? "", world: world)
            }
        }
        api.get("{workspace}/spaces/{space}/reports") { request, context in
            try await self.serve(request, context) { world in
                let token = context.parameters.get("space") ?? ""
                guard world.spaces.contains(where: { $0.token == token }) else {
                    return .failure(.notFound, HALRenderer.error(id: "not_found", message: "Space not found"))
                }
                return self.reportList(
                    world.reports.filter { $0.spaceToken == token },
                    path: "spaces/\(token)/reports",
                    world: world,
                    request: request
                )
            }
        }
        api.get("{workspace}/data_sources/{data_source}/reports") { request, context in
            try await self.serve(request, context) { world in
                let token = context.parameters.get("data_source") ?? ""
                guard world.dataSources.contains(where: { $0.token == token }) else {
                    return .failure(.notFound, HALRenderer.error(id: "not_found", message: "Data source not found"))
                }
                let reports = world.reports.filter { $0.dataSourceToken == token }
                return self.reportList(reports, path: "data_sources/\(token)/reports", world: world, request: request)
            }
        }
        api.get("{workspace}/datasets/{dataset}/reports") { request, context in
            try await self.serve(request, context) { world in
                let token = context.parameters.get("dataset") ?? ""
                guard world.datasets.contains(where: { $0.token == token }) else {
                    return .failure(.notFound, HALRenderer.error(id: "not_found", message: "Dataset not found"))
                }
                let reports = world.reports.filter { $0.datasetTokens.contains(token) }
                return self.reportList(reports, path: "datasets/\(token)/reports", world: world, request: request)
            }
        }
        for kind in ["reports", "datasets"] {
            let parameter = kind == "reports" ? "report" : "dataset"
            api.post("{workspace}/\(kind)/{\(parameter)}/runs") { request, context in
                let body = try await request.body.collect(upTo: 1 << 20)
                return try await self.serve(request, context, body: body) { world in
                    self.startRun(body: body, token: context.parameters.get(parameter), takesParameters: kind == "reports", world: world)
                }
            }
            api.get("{workspace}/\(kind)/{\(parameter)}/runs") { request, context in
                try await self.serve(request, context) { world in
                    switch self.lookup(world, context.parameters.get(parameter)) {
                    case .ok(let report):
                        let now = SimClock.now()
                        let runs = world.runs(of: report.token).reversed().map { self.renderRun($0, report: report, world: world, now: now) }
                        return self.page(
                            of: runs,
                            itemsKey: "report_runs",
                            selfPath: "/api/\(world.workspace)/\(kind)/\(report.token)/runs",
                            request: request
                        )
                    case .failure(let status, let body): return .failure(status, body)
                    }
                }
            }
            api.get("{workspace}/\(kind)/{\(parameter)}/runs/{run}") { request, context in
                try await self.serve(request, context) { world in
                    self.withRun(world, context, parameter: parameter) { report, run in
                        .ok(self.renderRun(run, report: report, world: world, now: SimClock.now()))
                    }
                }
            }
        }
        api.get("{workspace}/reports/{report}/runs/{run}/query_runs") { request, context in
            try await self.serve(request, context) { world in
                self.withRun(world, context, parameter: "report") { report, run in
                    let now = SimClock.now()
                    let items = report.queries.indices.map { self.renderer.queryRun(run, index: $0, report: report, now: now) }
                    return self.page(
                        of: items,
                        itemsKey: "query_runs",
                        selfPath: "/api/\(world.workspace)/reports/\(report.token)/runs/\(run.token)/query_runs",
                        request: request
                    )
                }
            }
        }
        api.get("{workspace}/reports/{report}/runs/{run}/query_runs/{query_run}/results/{content}") { request, context in
            let answer = try await self.serve(request, context) { world in
                self.withRun(world, context, parameter: "report") { report, run in
                    guard let index = report.queries.indices.first(where: { run.queryRunToken($0) == context.parameters.get("query_run") }) else {
                        return .failure(.notFound, HALRenderer.error(id: "not_found", message: "Query run not found"))
                    }
                    guard ["content.json", "content.csv"].contains(context.parameters.get("content") ?? "") else {
                        return .failure(.notFound, HALRenderer.error(id: "not_found", message: "Not found"))
                    }
                    guard run.state(at: SimClock.now()) == "succeeded" else {
                        return .failure(.notFound, HALRenderer.error(id: "not_found", message: "Query run results not found"))
                    }
                    // Marks the answer; the rows themselves are streamed below.
                    return .ok(.object([("rows", .int(run.rowCount(default: report.defaultRows))), ("query", .int(index))]))
                }
            }
            guard answer.status == .ok else { return answer }
            return try await self.rowsResponse(request: request, context: context)
        }
    }

    /// The report or dataset named in the path, or Mode's 404 or 403.
    func lookup(_ world: SimulatorWorld, _ token: String?) -> DatasetLookup {
        guard let token, let report = world.report(token) else {
            return .failure(.notFound, HALRenderer.error(id: "not_found", message: "Report not found"))
        }
        if report.restricted {
            return .failure(.forbidden, HALRenderer.error(id: "forbidden", message: "You do not have access to this report"))
        }
        return .ok(report)
    }

    func withRun(
        _ world: SimulatorWorld,
        _ context: SimulatorContext,
        parameter: String,
        _ body: (SimReport, SimRun) -> Answer
    ) -> Answer {
        switch self.lookup(world, context.parameters.get(parameter)) {
        case .ok(let report):
            guard let run = world.runs(of: report.token).first(where: { $0.token == context.parameters.get("run") }) else {
                return .failure(.notFound, HALRenderer.error(id: "not_found", message: "Report run not found"))
            }
            return body(report, run)
        case .failure(let status, let body): return .failure(status, body)
        }
    }

    private func renderRun(_ run: SimRun, report: SimReport, world: SimulatorWorld, now: Double) -> JSONValue {
        let runs = world.runs(of: report.token)
        return self.renderer.run(
            run,
            report: report,
            now: now,
            isLatest: runs.last?.token == run.token,
            isLatestSuccessful: world.lastSuccessfulRun(of: report.token, at: now)?.token == run.token
        )
    }

    private func startRun(body: ByteBuffer, token: String?, takesParameters: Bool, world: SimulatorWorld) -> Answer {
        var parameters = JSONValue.object([])
        var rows: Int?
        if takesParameters, body.readableBytes > 0 {
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
                return .failure(.badRequest, HALRenderer.error(id: "bad_request", message: "Invalid JSON"))
            }
            if let given = parsed["parameters"] {
                guard let object = given as? [String: Any],
                    let text = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                else {
                    return .failure(.badRequest, HALRenderer.error(id: "bad_request", message: "parameters must be an object"))
                }
                parameters = .raw(String(decoding: text, as: UTF8.self))
                rows = (object["rows"] as? Int) ?? (object["rows"] as? String).flatMap { Int($0) }
            }
        }
        switch self.lookup(world, token) {
        case .ok(let report):
            let fails = self.control.isFailing(report: report.token)
            guard
                let run = self.store.startRun(
                    report: report.token,
                    parameters: parameters,
                    rows: rows,
                    now: SimClock.now(),
                    duration: self.configuration.runDuration,
                    fails: fails
                )
            else { return .failure(.notFound, HALRenderer.error(id: "not_found", message: "Report not found")) }
            return .accepted(self.renderRun(run, report: report, world: self.store.snapshot, now: SimClock.now()))
        case .failure(let status, let body): return .failure(status, body)
        }
    }

    /// Streams one query run's rows: JSON as is, CSV with a byte-order mark and gzip, as Mode does.
    private func rowsResponse(request: Request, context: SimulatorContext) async throws -> Response {
        let world = self.store.snapshot
        guard case .ok(let report) = self.lookup(world, context.parameters.get("report")),
            let run = world.runs(of: report.token).first(where: { $0.token == context.parameters.get("run") }),
            let index = report.queries.indices.first(where: { run.queryRunToken($0) == context.parameters.get("query_run") })
        else { return Self.json(.notFound, HALRenderer.error(id: "not_found", message: "Not found")) }
        let rows = SimRows(reportToken: report.token, queryIndex: index, count: run.rowCount(default: report.defaultRows))
        if context.parameters.get("content") == "content.csv" {
            return Response(
                status: .ok,
                headers: [.contentType: "text/csv", .contentEncoding: "gzip"],
                body: ResponseBody { writer in
                    let gzip = GzipWriter()
                    var first = true
                    for block in rows.csvBlocks() {
                        let compressed = gzip.compress(first ? [0xEF, 0xBB, 0xBF] + block : block)
                        first = false
                        if !compressed.isEmpty { try await writer.write(ByteBuffer(bytes: compressed)) }
                        // Making rows is work: leave room for the other requests.
                        await Task.yield()
                    }
                    try await writer.write(ByteBuffer(bytes: gzip.finish()))
                    try await writer.finish(nil)
                }
            )
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: ResponseBody { writer in
                for block in rows.jsonBlocks() {
                    try await writer.write(ByteBuffer(bytes: block))
                    await Task.yield()
                }
                try await writer.finish(nil)
            }
        )
    }
}
