import Synchronization

/// Which rows are being copied into the results cache right now: one request per key fills
/// it, so many cold requests for the same large rows hold one copy, not one each.
final class ResultFills: Sendable {
    private let keys = Mutex<Set<String>>([])

    init() {}

    /// A ticket when the caller is the one to fill `key`; the fill ends when the ticket is
    /// released, however the answer ends (finished, failed, or never written).
    func begin(_ key: String) -> Ticket? {
        self.keys.withLock { $0.insert(key).inserted } ? Ticket(key: key, fills: self) : nil
    }

    fileprivate func end(_ key: String) { _ = self.keys.withLock { $0.remove(key) } }

    final class Ticket: Sendable {
        let key: String
        private let fills: ResultFills

        fileprivate init(key: String, fills: ResultFills) {
            self.key = key
            self.fills = fills
        }

        deinit { self.fills.end(self.key) }
    }
}
