import NIOCore

/// The gateway's response transform: Mode's HAL documents in, plain JSON out.
///
/// A single object has its HAL members removed at every depth and its `_embedded` lifted.
/// A collection becomes `{"items": […], "count": N}`; its pages are fed one at a time to a
/// ``CollectionBuilder``, so a complete list is written once, with no intermediate tree.
public enum HALTransform {
    /// Rewrites one HAL document, whatever its shape, into plain JSON.
    public static func object(_ input: ByteBuffer) throws(TransformError) -> ByteBuffer {
        let output = OutputBuffer(capacity: input.readableBytes)
        try Self.withBytes(of: input) { (bytes) throws(TransformError) in
            var rewriter = HALRewriter(input: bytes, output: output)
            try rewriter.rewriteDocument()
        }
        return output.takeByteBuffer()
    }

    /// Rewrites one HAL document given as bytes; for tests and benchmarks.
    public static func object(_ input: [UInt8]) throws(TransformError) -> [UInt8] {
        try Array(buffer: Self.object(ByteBuffer(bytes: input)))
    }

    static func withBytes<Result>(
        of buffer: ByteBuffer,
        _ body: (UnsafeRawBufferPointer) throws(TransformError) -> Result
    ) throws(TransformError) -> Result {
        let result: Swift.Result<Result, TransformError> = buffer.withUnsafeReadableBytes { bytes in
            do throws(TransformError) {
                return .success(try body(bytes))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// Builds `{"items": […], "count": N}` from the pages of one HAL collection.
public final class CollectionBuilder {
    /// The `_embedded` key that holds the items, such as `reports`.
    public let itemsKey: String
    /// Items copied so far.
    public private(set) var count = 0
    private let output: OutputBuffer
    private var seenPages: Set<Int> = []

    public init(itemsKey: String, expectedBytes: Int = 4096) {
        self.itemsKey = itemsKey
        self.output = OutputBuffer(capacity: expectedBytes)
        self.output.append("{\"items\":[")
    }

    /// What reading one page found.
    public enum PageOutcome: Equatable, Sendable {
        /// The page had items, now appended.
        case appended(Int)
        /// The page had no items: the list is complete.
        case empty
        /// The page repeats one already read (the upstream ignored the page number): nothing was appended.
        case repeated
    }

    /// Validates one page and appends its rewritten items.
    public func add(page: ByteBuffer) throws(TransformError) -> PageOutcome {
        let mark = self.output.count
        let (added, signature) = try HALTransform.withBytes(of: page) {
            (bytes) throws(TransformError) -> (count: Int, signature: Int) in
            var rewriter = HALRewriter(input: bytes, output: self.output)
            return try rewriter.rewriteCollectionPage(itemsKey: self.itemsKey, itemsSoFar: self.count)
        }
        if added == 0 { return .empty }
        if !self.seenPages.insert(signature).inserted {
            self.output.truncate(to: mark)
            return .repeated
        }
        self.count += added
        return .appended(added)
    }

    /// The finished list document; a list cut short says so with `"complete": false`.
    public func finish(complete: Bool = true) -> ByteBuffer {
        self.output.append("],\"count\":")
        self.output.append(contentsOf: String(self.count))
        if !complete { self.output.append(",\"complete\":false") }
        self.output.append(Byte.closeBrace)
        return self.output.takeByteBuffer()
    }
}
