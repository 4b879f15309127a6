import HTTPTypes
import Hummingbird
import NIOCore

/// Runs: starting one (once per `Idempotency-Key`), reading one, and waiting for it to finish.
extension GatewayPipeline {
    /// `GET …/runs/{run}[?wait=N]`: the run now, or once it finishes or `wait` passes.
    func readRun(
        _ compiled: CompiledRoute,
        path: String,
        tokens: [String: Token],
        request: Request,
        context: GatewayRequestContext
    ) async throws -> Response {
        let wait = try self.waitParameter(request)
        let outcome = try await self.runs.wait(path: path, for: wait, invalidates: compiled.invalidates.map { $0.render(tokens) })
        return Self.runResponse(outcome.snapshot.body, run: outcome.snapshot.run, retryAfter: outcome.retryAfter)
    }

    /// `POST …/runs[?wait=N]`: starts a run (never retried once it may have reached Mode), at
    /// most once per `Idempotency-Key`, then optionally waits for it.
    func startRun(
        _ compiled: CompiledRoute,
        path: String,
        tokens: [String: Token],
        request: Request,
        context: GatewayRequestContext
    ) async throws -> Response {
        let wait = try self.waitParameter(request)
        let key = request.headers[.idempotencyKey]
        if let key, !IdempotencyStore.isValid(key: key) {
            throw GatewayError.invalidHeader(name: "Idempotency-Key", reason: "must be 1 to 255 printable ASCII characters.")
        }
        let body = try await RequestBody.upstreamBody(for: compiled.spec.body, from: request)
        // An idempotent replay costs Mode nothing; only a first POST is charged (in `post`).
        let invalidates = compiled.invalidates.map { $0.render(tokens) }
        let location = PathTemplate(compiled.spec.path).render(tokens)
        let post: @Sendable () async -> IdempotencyStore.Outcome = {
            if let refusal = self.chargeMode(context) { return .failure(refusal) }
            do throws(GatewayError) {
                let deadline = self.time.now() + self.timeout
                let upstream = try await self.upstream.send(
                    UpstreamRequest(method: .post, path: path, body: body),
                    for: Self.client(context),
                    deadline: deadline
                )
                if let error = UpstreamStatus.error(for: upstream) { throw error }
                let document = try Self.transform { () throws(TransformError) in try HALTransform.object(upstream.body) }
                guard let run = RunDocument(document), Token.isValid(run.token) else {
                    throw .badGateway(detail: "Mode's answer to the run had no valid token or state.")
                }
                // The report's last run and its runs list have changed.
                await self.cache.invalidateEverywhere(tags: invalidates)
                self.runs.seed(path: path + "/" + run.token, body: document, run: run, invalidates: invalidates)
                return .success(IdempotencyStore.Answer(status: .accepted, location: location + "/" + run.token, body: document))
            } catch {
                return .failure(error)
            }
        }
        let answer: IdempotencyStore.Answer
        let replayed: Bool
        if let key {
            var fingerprint = Array("POST \(path)\n".utf8)
            if let body { fingerprint += body.readableBytesView }
            (answer, replayed) = try await self.idempotency.perform(
                client: Self.client(context),
                key: key,
                fingerprint: SHA256.hash(fingerprint),
                operation: post
            )
        } else {
            (answer, replayed) = (try await post().get(), false)
        }
        if !replayed { context.trace.update { $0.upstreamCalls += 1 } }
        guard let run = RunDocument(answer.body) else { throw GatewayError.internalError(detail: "stored run answer unreadable") }
        var response: Response
        if wait > .zero {
            do {
                let outcome = try await self.runs.wait(path: path + "/" + run.token, for: wait, invalidates: invalidates)
                response = Self.runResponse(outcome.snapshot.body, run: outcome.snapshot.run, retryAfter: outcome.retryAfter)
            } catch {
                // The run has started: whatever went wrong while waiting, the client must learn
                // its token and Location, or a retry would start a second run.
                context.logger.warning("Waiting for a started run failed", metadata: ["request_id": "\(context.requestID)", "error": "\(error)"])
                response = Self.runResponse(answer.body, run: run, retryAfter: self.runs.initialInterval, status: answer.status)
            }
        } else {
            response = Self.runResponse(answer.body, run: run, retryAfter: self.runs.initialInterval, status: answer.status)
        }
        if let location = answer.location { response.headers[.location] = location }
        if replayed { response.headers[.idempotentReplayed] = "true" }
        return response
    }

    private func waitParameter(_ request: Request) throws(GatewayError) -> Duration {
        let seconds = Int(self.maxRunWait.components.seconds)
        return try QueryParameters(request.uri.query, allowed: ["wait"]).seconds("wait", max: seconds) ?? .zero
    }

    /// A run as the client gets it: 200 once finished, else 202 with `Retry-After`; never cached.
    static func runResponse(_ body: ByteBuffer, run: RunDocument, retryAfter: Duration, status: HTTPResponse.Status? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        if !run.isFinished { headers[.retryAfter] = String(UpstreamExecutor.seconds(retryAfter)) }
        return Response(status: status ?? (run.isFinished ? .ok : .accepted), headers: headers, body: .init(byteBuffer: body))
    }
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}
