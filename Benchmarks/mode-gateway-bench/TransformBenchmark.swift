import Foundation
import ModeGateway
import ModeSimulator
import NIOCore

/// The gateway's byte-level rewriter against Foundation's parse, strip and serialize, on one
/// dataset (about 3 KB) and on a list of 10 000 datasets (about 16 MB), in one run.
enum TransformBenchmark {
    static let listCount = 10_000

    static func run(into report: inout BenchReport) {
        let single = Array(SamplePayloads.dataset().utf8)
        let list = Array(SamplePayloads.datasetList(count: Self.listCount).utf8)
        let singleBuffer = ByteBuffer(bytes: single)
        let listBuffer = ByteBuffer(bytes: list)
        report.add("one dataset, HAL bytes", "\(single.count)")
        report.add("list of \(Self.listCount) datasets, HAL bytes", "\(list.count) (\(format(Double(list.count) / 1e6)) MB)")

        // One dataset, transformed again and again: about 100 MB per timing.
        let singleLoops = max(1, 100_000_000 / single.count)
        let gatewaySingle = bestTime(repetitions: 5) {
            for _ in 0..<singleLoops { _ = try? HALTransform.object(singleBuffer) }
        }
        let foundationSingleLoops = max(1, singleLoops / 50)
        let foundationSingle = bestTime(repetitions: 3) {
            for _ in 0..<foundationSingleLoops { _ = FoundationBaseline.object(single) }
        }
        let gatewaySingleRate = Double(single.count * singleLoops) / gatewaySingle / 1e6
        let foundationSingleRate = Double(single.count * foundationSingleLoops) / foundationSingle / 1e6

        // The big list, as a complete list is built from pages.
        let gatewayList = bestTime(repetitions: 5) {
            let builder = CollectionBuilder(itemsKey: "reports", expectedBytes: list.count)
            _ = try? builder.add(page: listBuffer)
            _ = builder.finish()
        }
        let foundationList = bestTime(repetitions: 2) { _ = FoundationBaseline.collection(list, itemsKey: "reports") }
        let gatewayListRate = Double(list.count) / gatewayList / 1e6
        let foundationListRate = Double(list.count) / foundationList / 1e6

        report.add("gateway transform, one dataset", "\(format(gatewaySingleRate)) MB/s", target: "≥ 500 MB/s", met: gatewaySingleRate >= 500)
        report.add("Foundation parse-strip-serialize, one dataset", "\(format(foundationSingleRate)) MB/s")
        report.add(
            "ratio, one dataset",
            "\(format(gatewaySingleRate / foundationSingleRate))×",
            target: "≥ 50×",
            met: gatewaySingleRate / foundationSingleRate >= 50
        )
        report.add("gateway transform, 10 000-dataset list", "\(format(gatewayListRate)) MB/s", target: "≥ 500 MB/s", met: gatewayListRate >= 500)
        report.add("Foundation parse-strip-serialize, 10 000-dataset list", "\(format(foundationListRate)) MB/s")
        report.add(
            "ratio, 10 000-dataset list",
            "\(format(gatewayListRate / foundationListRate))×",
            target: "≥ 50×",
            met: gatewayListRate / foundationListRate >= 50
        )

        // Peak memory, each engine in a fresh process that only reads the payload from a file,
        // so neither the generator nor the other engine hides its peak.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mode-gateway-bench-\(getpid()).json")
        try? Data(list).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        for engine in ["gateway", "foundation"] {
            if let peak = PeakMemoryProbe.measure(engine: engine, payload: file.path) {
                report.add(
                    "\(engine): peak memory above the input, 10 000-dataset list",
                    "\(format(Double(peak) / 1e6)) MB (\(format(Double(peak) / Double(list.count), 2))× the input)"
                )
            }
        }
    }
}

/// What a Python script or a naive Swift service would do: parse into a tree, strip, serialize.
enum FoundationBaseline {
    static func strip(_ value: Any) -> Any {
        if let object = value as? [String: Any] {
            var result: [String: Any] = [:]
            for (key, member) in object where key != "_links" && key != "_forms" && key != "_embedded" {
                result[key] = Self.strip(member)
            }
            if let embedded = object["_embedded"] as? [String: Any] {
                for (key, member) in embedded where result[key] == nil { result[key] = Self.strip(member) }
            }
            return result
        }
        if let array = value as? [Any] { return array.map(Self.strip) }
        return value
    }

    static func object(_ bytes: [UInt8]) -> Data? {
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(bytes)) else { return nil }
        return try? JSONSerialization.data(withJSONObject: Self.strip(parsed))
    }

    static func collection(_ bytes: [UInt8], itemsKey: String) -> Data? {
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let items = (parsed["_embedded"] as? [String: Any])?[itemsKey] as? [Any]
        else { return nil }
        return try? JSONSerialization.data(withJSONObject: ["items": items.map(Self.strip), "count": items.count] as [String: Any])
    }
}

/// Runs one transform of the big list in a child process and reads back its peak memory.
enum PeakMemoryProbe {
    static func measure(engine: String, payload: String) -> Int? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["--peak", engine, payload]
        let output = Pipe()
        process.standardOutput = output
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// In the child: the peak resident set reached during one transform, above the resident set
    /// with the input loaded.
    static func run(engine: String, payload: String) -> Int32 {
        // Read straight into the one buffer the transform reads, so nothing else inflates the peak.
        guard let file = fopen(payload, "rb") else { return 1 }
        fseek(file, 0, SEEK_END)
        let size = ftell(file)
        fseek(file, 0, SEEK_SET)
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { fread($0.baseAddress, 1, size, file) }
        fclose(file)
        let before = residentNow()
        switch engine {
        case "foundation":
            _ = FoundationBaseline.collection(Array(buffer.readableBytesView), itemsKey: "reports")
        default:
            let builder = CollectionBuilder(itemsKey: "reports", expectedBytes: buffer.readableBytes)
            _ = try? builder.add(page: buffer)
            _ = builder.finish()
        }
        print(max(0, peakResident() - before))
        return 0
    }
}
