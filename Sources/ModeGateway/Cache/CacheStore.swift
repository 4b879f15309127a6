/// The cache's storage: entries by key, least recently used first out, bounded by total cost.
///
/// Pure and synchronous: no locks, no clock, no I/O. ``ResponseCache`` guards it with a lock
/// and passes the time in.
struct CacheStore {
    /// One cached answer. Kept small: at 10 000 entries every field counts.
    struct Entry {
        var response: CachedResponse
        var storedAt: Duration
        /// Names that writes invalidate, such as `dataset:abc` or `dataset-lists`, separated by
        /// newlines: one string, most often short enough to need no allocation of its own.
        var tags: String
        /// The shared tier's epochs when the entry was stored ("" with no shared tier).
        var stamp: String = ""
        var cost: Int

        /// Whether the entry carries any of `tags`.
        func isTagged(_ tags: [String]) -> Bool {
            self.tags.split(separator: "\n").contains { tags.contains(String($0)) }
        }
    }

    let maxBytes: Int
    let maxEntryBytes: Int
    private var entries: [String: Int32] = [:]
    private var nodes: [Node] = []
    private var freeSlots: [Int32] = []
    /// The most recently used node, and the least.
    private var head: Int32 = -1
    private var tail: Int32 = -1
    private(set) var bytes = 0
    private(set) var evictions = 0

    /// Links are 32-bit indices: at tens of thousands of entries, every byte of a node counts.
    private struct Node {
        var key: String
        var entry: Entry?
        var previous: Int32 = -1
        var next: Int32 = -1
    }

    init(maxBytes: Int, maxEntryBytes: Int) {
        self.maxBytes = maxBytes
        self.maxEntryBytes = maxEntryBytes
    }

    var count: Int { self.entries.count }

    /// The entry for `key`, marking it most recently used.
    mutating func get(_ key: String) -> Entry? {
        guard let slot = self.entries[key] else { return nil }
        self.moveToFront(slot)
        return self.nodes[Int(slot)].entry
    }

    /// The entry for `key`, leaving its place in the LRU order alone.
    func peek(_ key: String) -> Entry? {
        self.entries[key].flatMap { self.nodes[Int($0)].entry }
    }

    /// Stores an entry, evicting the least recently used until it fits.
    /// - Returns: false when the entry is too large to keep (it is not stored).
    @discardableResult
    mutating func set(_ key: String, _ entry: Entry) -> Bool {
        self.remove(key)
        guard entry.cost <= self.maxEntryBytes, entry.cost <= self.maxBytes else { return false }
        while self.bytes + entry.cost > self.maxBytes, self.tail >= 0 {
            self.remove(self.nodes[Int(self.tail)].key)
            self.evictions += 1
        }
        let node = Node(key: key, entry: entry)
        let slot: Int32
        if let free = self.freeSlots.popLast() {
            slot = free
            self.nodes[Int(slot)] = node
        } else {
            slot = Int32(self.nodes.count)
            self.nodes.append(node)
        }
        self.entries[key] = slot
        self.linkAtFront(slot)
        self.bytes += entry.cost
        return true
    }

    @discardableResult
    mutating func remove(_ key: String) -> Entry? {
        guard let slot = self.entries.removeValue(forKey: key) else { return nil }
        self.unlink(slot)
        let entry = self.nodes[Int(slot)].entry
        self.bytes -= entry?.cost ?? 0
        self.nodes[Int(slot)] = Node(key: "")
        self.freeSlots.append(slot)
        return entry
    }

    /// Removes every entry for which `predicate` holds; returns how many.
    mutating func removeAll(where predicate: (String, Entry) -> Bool) -> Int {
        let doomed = self.entries.compactMap { key, slot in
            self.nodes[Int(slot)].entry.map { predicate(key, $0) } == true ? key : nil
        }
        for key in doomed { self.remove(key) }
        return doomed.count
    }

    /// Keys from least to most recently used; for tests.
    var keysByAge: [String] {
        var keys: [String] = []
        var slot = self.tail
        while slot >= 0 {
            keys.append(self.nodes[Int(slot)].key)
            slot = self.nodes[Int(slot)].previous
        }
        return keys
    }

    private mutating func moveToFront(_ slot: Int32) {
        guard slot != self.head else { return }
        self.unlink(slot)
        self.linkAtFront(slot)
    }

    private mutating func linkAtFront(_ slot: Int32) {
        self.nodes[Int(slot)].previous = -1
        self.nodes[Int(slot)].next = self.head
        if self.head >= 0 { self.nodes[Int(self.head)].previous = slot }
        self.head = slot
        if self.tail < 0 { self.tail = slot }
    }

    private mutating func unlink(_ slot: Int32) {
        let previous = self.nodes[Int(slot)].previous
        let next = self.nodes[Int(slot)].next
        if previous >= 0 { self.nodes[Int(previous)].next = next } else { self.head = next }
        if next >= 0 { self.nodes[Int(next)].previous = previous } else { self.tail = previous }
        self.nodes[Int(slot)].previous = -1
        self.nodes[Int(slot)].next = -1
    }
}
