import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Rows of a finished run in one call: which run → its query runs → their content, streamed.
///
/// - The latest successful run is the report's `last_successful_run_token`, read through the
///   ordinary report entry of the metadata cache (so a new run shows within its TTL, and at
///   once when it ran through the gateway, which invalidates that entry).
/// - A finished run's query runs and rows never change: both live in the results cache, keyed by
///   run (and query run and format), with their own TTL and byte budget.
/// - Rows are read from Mode's per-query-run content and passed on chunk by chunk; small ones are
///   read whole before the answer starts, so any failure is still a problem document.
extension GatewayPipeline {
    /// Read whole before answering; past it the rows are streamed.
    static let resultsPrefetchBytes = 256 * 1024
    /// The longest a request waits for another's fill of the same rows before reading them itself.
    static let resultsFillWait: Duration = .seconds(5)

    func serveResults(
        _ scope: RouteSpec.ResultsScope,
        compiled: CompiledRoute,
        reportPath: String,
        tokens: [String: Token],
        request: Request,
        context: GatewayRequestContext
    ) async throws -> Response {
        // A run named in the path, or by `?run=`, or else the latest successful one.
        let runInPath = tokens["run"]?.value
        let query = try QueryParameters(request.uri.query, allowed: runInPath == nil ? ["run", "format"] : ["format"])
        let format = try ResultFormat.negotiate(
            format: query["format"],
            accept: request.headers[.accept],
            offered: scope == .report ? [.json] : [.json, .csv, .ndjson]
        )
        if let pinned = query["run"], !Token.isValid(pinned) {
            throw GatewayError.invalidQuery(parameter: "run", reason: "must be a Mode run token: 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'.")
        }
        let reportToken = tokens["report"] ?? tokens["dataset"]
        guard let reportToken else { throw GatewayError.internalError(detail: "results route without a report token") }
        let pinned = runInPath ?? query["run"]
        let runToken: String
        if let pinned {
            runToken = pinned
        } else {
            runToken = try await self.latestSuccessfulRun(reportPath: reportPath, report: reportToken, context: context)
        }
        let runPath = reportPath + "/runs/" + runToken
        // What a purge drops: the table names it for the rows and the query runs alike.
        let tags = compiled.cacheTags.map { $0.render(tokens) }
        let run = try await self.finishedRun(runPath: runPath, runToken: runToken, tags: tags, context: context)

        let chosen: [FinishedRun.QueryRun]
        switch scope {
        case .dataset:
            guard let first = run.queryRuns.first else { throw GatewayError.notFound(detail: "Run \(runToken) has no query runs.") }
            chosen = [first]
        case .query:
            let wanted = tokens["query"]?.value ?? ""
            guard let match = run.queryRuns.first(where: { $0.queryToken == wanted }) else {
                throw GatewayError.notFound(detail: "Query \(wanted) has no query run in run \(runToken).")
            }
            chosen = [match]
        case .queryRun:
            let wanted = tokens["query_run"]?.value ?? ""
            guard let match = run.queryRuns.first(where: { $0.token == wanted }) else {
                throw GatewayError.notFound(detail: "Run \(runToken) has no query run \(wanted).")
            }
            chosen = [match]
        case .report:
            chosen = run.queryRuns
        }

        let key = "rows:\(runPath)/\(chosen.map(\.token).joined(separator: ","))/\(scope).\(format.rawValue)"
        let etag = CachedResponse.etag(identifying: key)
        var headers: HTTPFields = [
            .contentType: format.contentType,
            .eTag: etag,
            .xModeRun: runToken,
            // The format may come from Accept: caches must key on it.
            .vary: "Accept",
            // A named run's rows never change; "the latest" may move on with the next run.
            .cacheControl: pinned != nil
                ? "private, max-age=\(CacheHeaders.wholeSeconds(self.results.cacheTTL)), immutable" : "private, no-cache",
        ]
        if let condition = request.headers[.ifNoneMatch], CacheHeaders.matches(condition, etag: etag) {
            headers[.contentType] = nil
            return Response(status: .notModified, headers: headers)
        }
        let policy = self.resultsPolicy
        // One request at a time copies a key's rows for the cache. Taking that role and finding
        // that another has it are one step, so two cold requests cannot both miss the fill.
        var ticket: ResultFills.Ticket?
        if policy.isEnabled {
            ticket = self.resultFills.begin(key)
            if ticket == nil {
                // Another request is copying these rows into the cache: wait for it, then answer
                // from the copy (if it turned out too large to keep, read them as below).
                await self.resultFills.waitForFill(key, atMost: Self.resultsFillWait)
            }
        }
        if let hit = self.resultsCache.freshEntry(key, policy: policy) {
            ticket?.abandon()
            context.trace.update { $0.cacheStatus = ResponseCache.Status.hit.rawValue }
            headers[.xCache] = ResponseCache.Status.hit.rawValue
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: hit.response.body))
        }
        context.trace.update { $0.cacheStatus = ResponseCache.Status.miss.rawValue }
        headers[.xCache] = ResponseCache.Status.miss.rawValue
        if let refusal = self.chargeMode(context) {
            ticket?.abandon()
            throw refusal
        }

        var segments: [RowPump.Segment]
        switch scope {
        case .dataset, .query, .queryRun:
            segments = [.rows(runPath + "/query_runs/" + chosen[0].token + "/results/" + format.modeContent)]
        case .report:
            var prefix = "{\"run\":" + JSONText.quoted(runToken) + ",\"completed_at\":" + (run.completedAt.map(JSONText.quoted) ?? "null")
            prefix += ",\"queries\":["
            segments = []
            for (index, queryRun) in chosen.enumerated() {
                var open = index == 0 ? prefix : ","
                open += "{\"token\":" + JSONText.quoted(queryRun.token) + ",\"query_token\":" + JSONText.quoted(queryRun.queryToken)
                open += ",\"name\":" + (queryRun.name.map(JSONText.quoted) ?? "null") + ",\"rows\":"
                segments += [
                    .literal(ByteBuffer(string: open)), .rows(runPath + "/query_runs/" + queryRun.token + "/results/content.json"),
                    .literal(ByteBuffer(string: "}")),
                ]
            }
            segments.append(.literal(ByteBuffer(string: chosen.isEmpty ? prefix + "]}" : "]}")))
        }
        let fill = ticket
        let filling = fill != nil
        let pump = RowPump(
            segments: segments,
            format: format,
            limit: self.results.maxBytes,
            storeLimit: filling ? self.results.cacheMaxEntryBytes : 0,
            onTooLargeToStore: { fill?.abandon() },
            open: { path throws(GatewayError) in try await self.openRows(path: path, context: context) }
        )
        // Read the start (small results whole) before answering, so that failures are problems.
        var first = ByteBuffer()
        var ended = false
        while first.readableBytes < Self.resultsPrefetchBytes {
            guard var chunk = try await pump.next() else {
                ended = true
                break
            }
            first.writeBuffer(&chunk)
        }
        if ended {
            if let rows = pump.collected, filling { self.resultsCache.store(key, response: CachedResponse(body: rows), tags: tags) }
            fill?.abandon()
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: first))
        }
        let logger = context.logger
        let requestID = context.requestID
        let start = first
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                do {
                    try await writer.write(start)
                    while let chunk = try await pump.next() { try await writer.write(chunk) }
                    if let rows = pump.collected, filling { self.resultsCache.store(key, response: CachedResponse(body: rows), tags: tags) }
                    fill?.abandon()
                    try await writer.finish(nil)
                } catch {
                    // The head is sent: the only way left to say so is to end the answer short.
                    logger.error(
                        "Rows cut short",
                        metadata: ["request_id": "\(requestID)", "run": "\(runToken)", "bytes": "\(pump.bytesOut)", "error": "\(error)"]
                    )
                    throw error
                }
            }
        )
    }

    private var resultsPolicy: CachePolicy {
        CachePolicy(ttl: self.results.cacheTTL, staleWhileRevalidate: .zero, staleIfError: .zero)
    }

    /// The report's `last_successful_run_token`, through the metadata cache's report entry.
    private func latestSuccessfulRun(reportPath: String, report: Token, context: GatewayRequestContext) async throws(GatewayError) -> String {
        let lookup = try await self.cachedRead(
            self.reportRoute,
            path: reportPath,
            query: ReadQuery(),
            tokens: ["report": report],
            request: nil,
            context: context
        )
        let object = try? JSONSerialization.jsonObject(with: Data(lookup.response.body.readableBytesView)) as? [String: Any]
        guard let token = object?["last_successful_run_token"] as? String, Token.isValid(token) else {
            throw .notFound(detail: "\(report.value) has no successful run yet, so it has no rows; run it first (POST …/runs).")
        }
        return token
    }

    /// A finished, successful run's query runs (cached by run), or why its rows cannot be had.
    private func finishedRun(runPath: String, runToken: String, tags: [String], context: GatewayRequestContext) async throws(GatewayError)
        -> FinishedRun
    {
        let lookup = try await self.resultsCache.fetch(
            ResponseCache.Placement(path: runPath + "/query_runs", query: "", tags: tags),
            policy: self.resultsPolicy,
            admit: { self.chargeMode(context) }
        ) { () throws(GatewayError) in
            let deadline = self.time.now() + self.timeout
            let runBody = try await self.read(.object, path: runPath, deadline: deadline, context: context)
            guard let run = RunDocument(runBody) else { throw .badGateway(detail: "Mode's run had no token or state.") }
            guard run.isFinished else {
                throw .conflict(
                    slug: "run-not-finished",
                    title: "Run not finished",
                    detail: "Run \(runToken) is \(run.state); wait for it (GET its run with ?wait=N) and ask again."
                )
            }
            let queryRuns = try await self.read(
                .collection(itemsKey: "query_runs"),
                path: runPath + "/query_runs",
                query: ReadQuery(),
                deadline: deadline,
                context: context
            )
            if context.trace.snapshot.listCutShort {
                // Without every query run, the run's rows would be missing queries for a day.
                throw .gatewayTimeout(detail: "Mode's query runs for run \(runToken) could not all be read in time.")
            }
            guard run.isSuccessful else {
                let messages = FinishedRun.QueryRun.list(queryRuns).compactMap(\.errorMessage)
                let reason = messages.isEmpty ? "" : ": " + messages.joined(separator: "; ")
                throw .conflict(
                    slug: "run-failed",
                    title: "Run failed",
                    detail: Problem.printable("Run \(runToken) \(run.state)\(reason)", limit: 1000)
                )
            }
            var document = ByteBuffer(string: "{\"run\":")
            document.writeImmutableBuffer(runBody)
            document.writeString(",\"query_runs\":")
            document.writeImmutableBuffer(queryRuns)
            document.writeString("}")
            return CachedResponse(body: document)
        }
        guard let run = FinishedRun(lookup.response.body) else { throw .badGateway(detail: "Mode's run could not be read.") }
        return run
    }

    /// Opens one query run's content as a stream.
    private func openRows(path: String, context: GatewayRequestContext) async throws(GatewayError) -> HTTPClientResponse.Body {
        let deadline = self.time.now() + self.timeout
        let upstream = try await self.call(UpstreamRequest(method: .get, path: path, streamsBody: true), deadline: deadline, context: context)
        guard let stream = upstream.stream else { throw .badGateway(detail: "Mode's rows could not be read.") }
        return stream
    }
}

/// What the results need of a finished run.
struct FinishedRun {
    struct QueryRun {
        var token: String
        var queryToken: String
        var name: String?
        var errorMessage: String?

        /// The query runs of a flattened `{"items": […]}` list.
        static func list(_ body: ByteBuffer) -> [QueryRun] {
            let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
            return Self.list(object?["items"])
        }

        static func list(_ items: Any?) -> [QueryRun] {
            (items as? [[String: Any]] ?? []).compactMap { item in
                guard let token = item["token"] as? String, Token.isValid(token) else { return nil }
                return QueryRun(
                    token: token,
                    queryToken: item["query_token"] as? String ?? "",
                    name: item["query_name"] as? String,
                    errorMessage: item["error_message"] as? String
                )
            }
        }
    }

    var completedAt: String?
    var queryRuns: [QueryRun]

    /// Reads `{"run": {…}, "query_runs": {"items": […]}}`.
    init?(_ body: ByteBuffer) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let run = object["run"] as? [String: Any], let queryRuns = object["query_runs"] as? [String: Any]
        else { return nil }
        self.completedAt = run["completed_at"] as? String
        self.queryRuns = QueryRun.list(queryRuns["items"])
    }
}

/// The bytes of one answer of rows, pulled one chunk at a time: literal parts of the document
/// and the rows of each query run, opened in turn, each through a ``RowStream``. It counts what
/// it passed on against the answer's limit, and keeps a copy for the cache while that fits.
///
/// One task at a time uses it: the handler reads the start, then hands it to the body writer.
final class RowPump: @unchecked Sendable {
    enum Segment {
        case literal(ByteBuffer)
        /// The upstream path of one query run's content.
        case rows(String)
    }

    typealias Open = @Sendable (String) async throws(GatewayError) -> HTTPClientResponse.Body
    private let onTooLargeToStore: @Sendable () -> Void

    private var segments: ArraySlice<Segment>
    private let format: ResultFormat
    private let limit: Int
    private let storeLimit: Int
    private let open: Open
    private var current: (iterator: HTTPClientResponse.Body.AsyncIterator, rows: RowStream)?
    private(set) var bytesOut = 0
    /// Everything passed on so far, while it fits the cache; nil once it does not.
    private(set) var collected: ByteBuffer?

    init(
        segments: [Segment],
        format: ResultFormat,
        limit: Int,
        storeLimit: Int,
        onTooLargeToStore: @escaping @Sendable () -> Void = {},
        open: @escaping Open
    ) {
        self.onTooLargeToStore = onTooLargeToStore
        self.segments = segments[...]
        self.format = format
        self.limit = limit
        self.storeLimit = storeLimit
        self.open = open
        self.collected = storeLimit > 0 ? ByteBuffer() : nil
    }

    /// The next bytes for the client; nil at the end.
    func next() async throws(GatewayError) -> ByteBuffer? {
        while true {
            if var current = self.current {
                let chunk: ByteBuffer?
                do {
                    chunk = try await current.iterator.next()
                } catch {
                    throw UpstreamFailure(error).gatewayError
                }
                var output: ByteBuffer
                do throws(RowStream.Failure) {
                    if let chunk {
                        output = try current.rows.feed(chunk)
                        self.current = current
                    } else {
                        output = try current.rows.finish()
                        self.current = nil
                    }
                } catch {
                    throw .badGateway(detail: "Mode's rows are not a JSON array.")
                }
                if output.readableBytes > 0 { return try self.pass(output) }
                continue
            }
            guard let segment = self.segments.popFirst() else { return nil }
            switch segment {
            case .literal(let bytes): return try self.pass(bytes)
            case .rows(let path): self.current = (try await self.open(path).makeAsyncIterator(), RowStream(format: self.format))
            }
        }
    }

    private func pass(_ output: ByteBuffer) throws(GatewayError) -> ByteBuffer {
        self.bytesOut += output.readableBytes
        if self.bytesOut > self.limit {
            throw .badGateway(detail: "The rows are larger than the gateway serves in one answer (RESULTS_MAX_BYTES, \(self.limit) bytes).")
        }
        if self.collected != nil {
            if (self.collected?.readableBytes ?? 0) + output.readableBytes > self.storeLimit {
                self.collected = nil
                self.onTooLargeToStore()
            } else {
                self.collected?.writeImmutableBuffer(output)
            }
        }
        return output
    }
}

extension HTTPField.Name {
    static let xModeRun = Self("X-Mode-Run")!
}
