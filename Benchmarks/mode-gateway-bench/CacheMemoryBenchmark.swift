import Dispatch
import ModeGateway
import ModeSimulator
import NIOCore

/// What 10 000 cached datasets cost in memory, against the bytes of their bodies: the resident
/// memory after filling a cache, minus the resident memory before it.
enum CacheMemoryBenchmark {
    static let count = 10_000

    static func run(into report: inout BenchReport) {
        let template = Array(SamplePayloads.dataset().utf8)
        let policy = CachePolicy(ttl: .seconds(3600), staleWhileRevalidate: .zero, staleIfError: .zero)

        let base = residentNow()
        let cache = ResponseCache(maxBytes: 1 << 30, maxEntryBytes: 1 << 24)
        let empty = residentNow() - base
        // Each body is made inside the loop, as the gateway makes it (Mode's HAL through the
        // transform), so that only the cache holds it afterwards.
        let bodyBytes = runBlocking {
            var total = 0
            for index in 0..<Self.count {
                let hal = ByteBuffer(bytes: Self.variant(of: template, index: index))
                guard let body = try? HALTransform.object(hal) else { continue }
                total += body.readableBytes
                _ = try? await cache.fetch(
                    .init(path: "/demo/datasets/d\(index)", query: "", tags: ["dataset:d\(index)"]),
                    policy: policy
                ) { () throws(GatewayError) in CachedResponse(body: body) }
            }
            return total
        }
        let cost = Double(residentNow() - base - empty)
        report.add("cache entries", "\(cache.statistics.entries) datasets")
        report.add("cached body bytes", "\(bodyBytes) (\(format(Double(bodyBytes) / 1e6)) MB)")
        report.add(
            "cache heap for those entries",
            "\(format(cost / 1e6)) MB (\(format(cost / Double(bodyBytes), 3))× the bytes)",
            target: "≤ 1.3× + base",
            met: cost <= 1.3 * Double(bodyBytes)
        )
        report.add("cache fixed base (empty cache)", "\(empty) bytes")
    }

    /// The HAL dataset with its token replaced, so every body is distinct.
    static func variant(of template: [UInt8], index: Int) -> [UInt8] {
        var bytes = template
        if let range = bytes.firstRange(of: Array("ds0001".utf8)) {
            bytes.replaceSubrange(range, with: Array(String(format: "d%05d", index).utf8))
        }
        return bytes
    }
}

/// Runs an async body to completion from synchronous code.
func runBlocking<Result: Sendable>(_ body: @escaping @Sendable () async -> Result) -> Result {
    let semaphore = DispatchSemaphore(value: 0)
    let box = ResultBox<Result>()
    Task {
        box.value = await body()
        semaphore.signal()
    }
    semaphore.wait()
    return box.value!
}

/// Carries a result from a task to the thread waiting on a semaphore; the semaphore orders the accesses.
final class ResultBox<Result>: @unchecked Sendable {
    var value: Result?
}
