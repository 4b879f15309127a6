import Synchronization

/// Which rows are being copied into the results cache right now. One request per key fills it;
/// the others for the same rows wait for that fill and then answer from the cache, so many cold
/// requests for the same rows cost Mode one download and hold one copy.
final class ResultFills: Sendable {
    /// The keys being filled, each with the requests waiting for it (by id).
    private let fills = Mutex<(waiters: [String: [UInt64: CheckedContinuation<Void, Never>]], nextID: UInt64)>(([:], 0))

    init() {}

    /// A ticket when the caller is the one to fill `key`; the fill ends when the ticket is
    /// released or abandoned, however the answer ends (finished, failed, or never written).
    func begin(_ key: String) -> Ticket? {
        let started = self.fills.withLock { fills -> Bool in
            guard fills.waiters[key] == nil else { return false }
            fills.waiters[key] = [:]
            return true
        }
        return started ? Ticket(key: key, fills: self) : nil
    }

    /// Returns once no fill of `key` is under way (at once when there is none), or after `limit`:
    /// a fill that a slow client reads may take long, and then the waiter reads the rows itself.
    func waitForFill(_ key: String, atMost limit: Duration) async {
        let id = self.fills.withLock { fills -> UInt64 in
            fills.nextID += 1
            return fills.nextID
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            self.release(key, id: id)
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let waiting = self.fills.withLock { fills -> Bool in
                    guard fills.waiters[key] != nil, !Task.isCancelled else { return false }
                    fills.waiters[key]?[id] = continuation
                    return true
                }
                if !waiting { continuation.resume() }
            }
        } onCancel: {
            self.release(key, id: id)
        }
    }

    private func release(_ key: String, id: UInt64) {
        let waiter = self.fills.withLock { $0.waiters[key]?.removeValue(forKey: id) }
        waiter?.resume()
    }

    fileprivate func end(_ key: String) {
        let waiters = self.fills.withLock { $0.waiters.removeValue(forKey: key) } ?? [:]
        for waiter in waiters.values { waiter.resume() }
    }

    final class Ticket: Sendable {
        let key: String
        private let fills: ResultFills
        private let ended = Atomic<Bool>(false)

        fileprivate init(key: String, fills: ResultFills) {
            self.key = key
            self.fills = fills
        }

        /// The fill will not be stored (the rows are too large, or failed): let the waiters go now.
        func abandon() {
            guard !self.ended.exchange(true, ordering: .relaxed) else { return }
            self.fills.end(self.key)
        }

        deinit { self.abandon() }
    }
}
