import HTTPTypes
import NIOCore
import Synchronization

/// `Idempotency-Key` for run POSTs, modelled on Stripe's keys and the IETF draft
/// (draft-ietf-httpapi-idempotency-key-header): a key, scoped to the client, names one request.
///
/// - The first request with a key runs in a task the store owns (a client that goes away does not
///   cancel it), and its answer is kept for the TTL.
/// - A repeat with the same request gets that answer, and Mode gets no second POST; a repeat
///   that comes while the first is under way waits for it.
/// - A repeat with a different request (method, path or body) gets 422.
/// - An answer that proves Mode never saw the request (no connection, the gateway's own budget
///   or breaker refusing, Mode's 429) is not kept, so a retry may go through.
final class IdempotencyStore: Sendable {
    /// The answer kept for a key.
    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var location: String?
        var body: ByteBuffer
    }

    typealias Outcome = Result<Answer, GatewayError>

    private struct Record {
        var fingerprint: [UInt8]
        var task: Task<Outcome, Never>
        /// Set once the answer is in; the record is dropped after it.
        var expiresAt: Duration?
        /// Its place in the order of arrival.
        var sequence: UInt64
    }

    private struct State {
        var records: [String: Record] = [:]
        /// Keys in the order they came, oldest first: expired and surplus records go from the front.
        var arrivals = CircularBuffer<(id: String, sequence: UInt64)>()
        var nextSequence: UInt64 = 0
    }

    private let state = Mutex(State())
    private let ttl: Duration
    private let maxRecords: Int
    private let time: TimeSource

    /// The syntax of a key: 1 to 255 printable ASCII characters, not starting or ending with a space.
    static func isValid(key: String) -> Bool {
        let bytes = key.utf8
        guard (1...255).contains(bytes.count), let first = bytes.first, let last = bytes.last,
            first != 0x20, last != 0x20
        else { return false }
        return bytes.allSatisfy { (0x20...0x7E).contains($0) }
    }

    init(ttl: Duration, maxRecords: Int = 100_000, time: TimeSource) {
        self.ttl = ttl
        self.maxRecords = maxRecords
        self.time = time
    }

    /// Runs `operation` once per (client, key), or answers with what its first run answered.
    /// - Returns: the answer, and whether it is a replay.
    func perform(
        client: String,
        key: String,
        fingerprint: [UInt8],
        operation: @escaping @Sendable () async -> Outcome
    ) async throws(GatewayError) -> (answer: Answer, replayed: Bool) {
        let id = client + "\n" + key
        let now = self.time.now()
        let (task, replayed) = try self.state.withLock { state throws(GatewayError) -> (Task<Outcome, Never>, Bool) in
            if let record = state.records[id], record.expiresAt.map({ now < $0 }) ?? true {
                guard record.fingerprint == fingerprint else { throw .idempotencyKeyReused }
                return (record.task, true)
            }
            self.trim(&state, now: now)
            let task = Task<Outcome, Never> {
                let outcome = await operation()
                self.settle(id: id, outcome: outcome)
                return outcome
            }
            state.nextSequence += 1
            state.records[id] = Record(fingerprint: fingerprint, task: task, sequence: state.nextSequence)
            state.arrivals.append((id, state.nextSequence))
            return (task, false)
        }
        return (try await task.value.get(), replayed)
    }

    /// Drops expired records from the front, and the oldest settled ones past the cap. Each
    /// arrival is looked at once, so the cost is spread over the requests that add records.
    private func trim(_ state: inout State, now: Duration) {
        while let oldest = state.arrivals.first {
            guard let record = state.records[oldest.id], record.sequence == oldest.sequence else {
                state.arrivals.removeFirst()  // already gone, or replaced by a newer record
                continue
            }
            let expired = record.expiresAt.map { now >= $0 } ?? false
            let surplus = state.records.count >= self.maxRecords && record.expiresAt != nil
            guard expired || surplus else { break }
            state.arrivals.removeFirst()
            state.records[oldest.id] = nil
        }
    }

    /// Keeps a finished answer for the TTL, or forgets one that Mode provably never saw.
    private func settle(id: String, outcome: Outcome) {
        let expiresAt = self.time.now() + self.ttl
        self.state.withLock { state in
            if case .failure(let error) = outcome, error.neverReachedMode {
                state.records[id] = nil
            } else {
                state.records[id]?.expiresAt = expiresAt
            }
        }
    }
}

extension GatewayError {
    /// Whether the failure proves the request never started anything at Mode.
    var neverReachedMode: Bool {
        switch self {
        case .upstreamUnreachable, .unavailable, .tooManyRequests: true
        default: false
        }
    }
}
