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
    /// A client has a line here only while it holds a request.
    var isEmpty: Bool { self.queues.isEmpty }
    var count: Int { self.queues.values.reduce(0) { $0 + $1.count } }

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
        return entry
    }

    /// Takes out one request (cancelled, or out of time); nil when it is no longer waiting.
    mutating func remove(id: UInt64, client: String) -> Waiter? {
        guard let index = self.queues[client]?.firstIndex(where: { $0.id == id }) else { return nil }
        // Taken out of the dictionary while it changes, so the buffer is not copied.
        var queue = self.queues.removeValue(forKey: client)!
        let entry = queue.remove(at: index)
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
        // Only clients with something to take out are rebuilt: the usual call takes out nothing.
        for (client, queue) in self.queues where queue.contains(where: isDone) {
            var kept = CircularBuffer<Entry>()
            for entry in queue {
                if isDone(entry) { removed.append(entry) } else { kept.append(entry) }
            }
            if kept.isEmpty {
                self.queues[client] = nil
                if let turn = self.turns.firstIndex(of: client) { self.turns.remove(at: turn) }
            } else {
                self.queues[client] = kept
            }
        }
        return removed
    }

    /// Every waiting request, in no particular order.
    var entries: some Sequence<Entry> { self.queues.values.joined() }
}
