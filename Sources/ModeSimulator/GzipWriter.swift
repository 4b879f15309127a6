import CZlib

/// A gzip stream written block by block with zlib, as Mode sends `content.csv`.
final class GzipWriter {
    private var stream = z_stream()
    private var finished = false

    init() {
        // 15 window bits, +16 for a gzip header and trailer; level 6, as gzip's default.
        let status = deflateInit2_(&self.stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "zlib could not start a gzip stream")
    }

    deinit {
        deflateEnd(&self.stream)
    }

    /// Compresses `bytes`; what comes out so far.
    func compress(_ bytes: [UInt8]) -> [UInt8] { self.run(bytes, flush: Z_NO_FLUSH) }

    /// Ends the stream: the last compressed bytes and the trailer.
    func finish() -> [UInt8] {
        guard !self.finished else { return [] }
        self.finished = true
        return self.run([], flush: Z_FINISH)
    }

    private func run(_ input: [UInt8], flush: Int32) -> [UInt8] {
        var output: [UInt8] = []
        var input = input
        let chunk = 64 * 1024
        var buffer = [UInt8](repeating: 0, count: chunk)
        input.withUnsafeMutableBufferPointer { inputBytes in
            self.stream.next_in = inputBytes.baseAddress
            self.stream.avail_in = UInt32(inputBytes.count)
            repeat {
                let produced = buffer.withUnsafeMutableBufferPointer { outputBytes -> Int in
                    self.stream.next_out = outputBytes.baseAddress
                    self.stream.avail_out = UInt32(chunk)
                    deflate(&self.stream, flush)
                    return chunk - Int(self.stream.avail_out)
                }
                output.append(contentsOf: buffer[0..<produced])
            } while self.stream.avail_out == 0
        }
        return output
    }
}
