import Synchronization

/// Which rows are being copied into the results cache right now. One request per key fills it;
/// the others for the same rows wait for that fill and then answer from the cache, so many cold
/// requests for the same rows cost Mode one download and hold one copy.
final class ResultFills: Sendable {
    /// The keys being filled, each with the requests waiting for it.
    private let fills = Mutex<[String: [CheckedContinuation<Void, Never>]]>([:])

    init() {}

    /// A ticket when the caller is the one to fill `key`; the fill ends when the ticket is
    /// released or abandoned, however the answer ends (finished, failed, or never written).
    func begin(_ key: String) -> Ticket? {
        let started = self.fills.withLock { fills -> Bool in
            guard fills[key] == nil else { return false }
            fills[key] = []
            return true
        }
        return started ? Ticket(key: key, fills: self) : nil
    }

    /// Returns once no fill of `key` is under way: at once when there is none.
    func waitForFill(_ key: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiting = self.fills.withLock { fills -> Bool in
                guard fills[key] != nil else { return false }
                fills[key]?.append(continuation)
                return true
            }
            if !waiting { continuation.resume() }
        }
    }

    fileprivate func end(_ key: String) {
        let waiters = self.fills.withLock { $0.removeValue(forKey: key) } ?? []
        for waiter in waiters { waiter.resume() }
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
