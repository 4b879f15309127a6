import NIOCore

/// The requests waiting for Mode's budget, served round robin by client: each client with a
/// waiting request gets the next slot in turn, and its own requests go first in, first out. So a
/// client that queues thirty requests delays a quiet client's one request by at most one slot
/// per other waiting client, not by thirty.
///
/// Pure: the caller holds it behind a lock and does the waiting.
struct FairQueue<Waiter> {
    struct Entry {
        let id: UInt64
        let client: String
        let waiter: Waiter
    }

    /// Each waiting client's requests, oldest first.
    private var queues: [String: CircularBuffer<Entry>] = [:]
    /// The clients with waiting requests, in the order they are served.
    private var turns = CircularBuffer<String>()
    private(set) var count = 0

    var isEmpty: Bool { self.count == 0 }

    /// How many requests would go before one that `client` adds now, itself included: every
    /// other client's waiting requests up to one more than this client's own, plus its own.
    func position(of client: String) -> Int {
        let own = self.queues[client]?.count ?? 0
        var ahead = own + 1
        for (other, queue) in self.queues where other != client {
            ahead += min(queue.count, own + 1)
        }
        return ahead
    }

    /// Adds a request at the back of its client's line; a client new to the queue takes its turn
    /// after the clients already waiting.
    mutating func enqueue(_ waiter: Waiter, id: UInt64, client: String) {
        let entry = Entry(id: id, client: client, waiter: waiter)
        if self.queues[client] == nil {
            self.queues[client] = CircularBuffer([entry])
            self.turns.append(client)
        } else {
            self.queues[client]!.append(entry)
        }
        self.count += 1
    }

    /// The next request to serve: the oldest of the client whose turn it is. That client then
    /// goes to the back of the turns.
    mutating func next() -> Entry? {
        guard let client = self.turns.popFirst() else { return nil }
        guard var queue = self.queues.removeValue(forKey: client), let entry = queue.popFirst() else {
            return self.next()
        }
        if !queue.isEmpty {
            self.queues[client] = queue
            self.turns.append(client)
        }
        self.count -= 1
        return entry
    }

    /// Takes out one request (cancelled, or out of time); nil when it is no longer waiting.
    mutating func remove(id: UInt64, client: String) -> Waiter? {
        guard var queue = self.queues[client], let index = queue.firstIndex(where: { $0.id == id }) else { return nil }
        let entry = queue.remove(at: index)
        self.count -= 1
        if queue.isEmpty {
            self.queues[client] = nil
            if let turn = self.turns.firstIndex(of: client) { self.turns.remove(at: turn) }
        } else {
            self.queues[client] = queue
        }
        return entry.waiter
    }

    /// Takes out every request matching `isDone`; for expiring those past their time.
    mutating func removeAll(where isDone: (Entry) -> Bool) -> [Entry] {
        var removed: [Entry] = []
        for client in Array(self.queues.keys) {
            // Filtered once, in place: no copy per removal while the caller holds its lock.
            var kept = CircularBuffer<Entry>()
            for entry in self.queues[client]! {
                if isDone(entry) { removed.append(entry) } else { kept.append(entry) }
            }
            if kept.isEmpty {
                self.queues[client] = nil
                if let turn = self.turns.firstIndex(of: client) { self.turns.remove(at: turn) }
            } else {
                self.queues[client] = kept
            }
        }
        self.count -= removed.count
        return removed
    }

    /// The greatest of `value` over the waiting requests; nil when none waits.
    func latest<Value: Comparable>(of value: (Entry) -> Value) -> Value? {
        var result: Value?
        for queue in self.queues.values {
            for entry in queue {
                let candidate = value(entry)
                if result.map({ candidate > $0 }) ?? true { result = candidate }
            }
        }
        return result
    }
}
