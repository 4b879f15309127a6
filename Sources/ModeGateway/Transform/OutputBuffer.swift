@_spi(CustomByteBufferAllocator) import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A growable byte buffer for the rewriter's hot loop: an append is one capacity check and a
/// copy, with none of the copy-on-write checks of `[UInt8]` or `ByteBuffer`.
///
/// Its memory comes from `malloc`, so the finished bytes are handed to a `ByteBuffer` (whose
/// default allocator frees with `free`) without a copy, trimmed to their exact size: `ByteBuffer`
/// itself would round a new buffer up to a power of two, nearly doubling what a cached answer costs.
final class OutputBuffer {
    private var storage: UnsafeMutablePointer<UInt8>?
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        self.storage = malloc(self.capacity)?.assumingMemoryBound(to: UInt8.self)
        if self.storage == nil { fatalError("out of memory") }
    }

    deinit { free(self.storage) }

    @inline(__always)
    func append(_ byte: UInt8) {
        if self.count == self.capacity { self.grow(to: self.count + 1) }
        self.storage.unsafelyUnwrapped[self.count] = byte
        self.count += 1
    }

    @inline(__always)
    func append(_ bytes: UnsafePointer<UInt8>, count: Int) {
        if self.count + count > self.capacity { self.grow(to: self.count + count) }
        (self.storage.unsafelyUnwrapped + self.count).update(from: bytes, count: count)
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

    /// Forgets everything written after `count` bytes.
    func truncate(to count: Int) {
        precondition(count <= self.count, "truncate can only shrink")
        self.count = count
    }

    private func grow(to needed: Int) {
        var newCapacity = self.capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        guard let grown = realloc(self.storage, newCapacity) else { fatalError("out of memory") }
        self.storage = grown.assumingMemoryBound(to: UInt8.self)
        self.capacity = newCapacity
    }

    /// The bytes written, as a `ByteBuffer` that takes over this memory: no copy. The buffer is
    /// empty afterwards.
    func takeByteBuffer() -> ByteBuffer {
        guard self.count > 0, let storage = self.storage,
            let exact = realloc(storage, self.count)
        else { return ByteBuffer() }
        let buffer = ByteBuffer(
            takingOwnershipOf: UnsafeMutableRawBufferPointer(start: exact, count: self.count),
            allocator: ByteBufferAllocator()
        )
        self.capacity = 64
        self.count = 0
        self.storage = malloc(self.capacity)?.assumingMemoryBound(to: UInt8.self)
        return buffer
    }
}
