import NIOCore

/// A growable byte buffer for the rewriter's hot loop: an append is one capacity check and a
/// copy, with none of the copy-on-write checks of `[UInt8]` or `ByteBuffer`.
final class OutputBuffer {
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        self.storage = .allocate(capacity: self.capacity)
    }

    deinit { self.storage.deallocate() }

    @inline(__always)
    func append(_ byte: UInt8) {
        if self.count == self.capacity { self.grow(to: self.count + 1) }
        self.storage[self.count] = byte
        self.count += 1
    }

    @inline(__always)
    func append(_ bytes: UnsafePointer<UInt8>, count: Int) {
        if self.count + count > self.capacity { self.grow(to: self.count + count) }
        (self.storage + self.count).update(from: bytes, count: count)
        self.count += count
    }

    func append(_ string: StaticString) {
        self.append(string.utf8Start, count: string.utf8CodeUnitCount)
    }

    func append(contentsOf string: String) {
        var string = string
        string.withUTF8 { utf8 in
            if let base = utf8.baseAddress { self.append(base, count: utf8.count) }
        }
    }

    private func grow(to needed: Int) {
        var newCapacity = self.capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newStorage = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newStorage.update(from: self.storage, count: self.count)
        self.storage.deallocate()
        self.storage = newStorage
        self.capacity = newCapacity
    }

    /// The bytes written so far, as a `ByteBuffer` (one copy).
    func byteBuffer(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: self.count)
        buffer.writeBytes(UnsafeRawBufferPointer(start: self.storage, count: self.count))
        return buffer
    }
}

extension OutputBuffer {
    /// Forgets everything written after `count` bytes.
    func truncate(to count: Int) {
        precondition(count <= self.count, "truncate can only shrink")
        self.count = count
    }
}
