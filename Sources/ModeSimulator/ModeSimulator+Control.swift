import Foundation
import Hummingbird
import NIOCore

extension ModeSimulator {
    /// `/_simulator/fault` (PUT a fault, DELETE to clear) and `/_simulator/stats` (GET, DELETE to
    /// reset): the switches for a simulator running in another process, such as under compose.
    ///
    /// `PUT /_simulator/failing` with `{"report": token, "failing": true}` makes a report's new runs fail.
    ///
    /// A fault body is `{"fault": "drop" | "delay" | "status" | "broken_json", "milliseconds": N,
    /// "status": N, "retry_after": N, "count": N}`; `count` omitted means until cleared.
    func addControlRoutes(to router: Router<SimulatorContext>) {
        let control = router.group("_simulator")
        control.put("fault") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 64 * 1024)
            guard let plan = Self.faultPlan(from: body) else {
                return Self.json(.badRequest, HALRenderer.error(id: "bad_request", message: "Unknown fault"))
            }
            self.control.setFault(plan)
            return Self.json(.ok, .object([("fault", .string("set"))]))
        }
        control.delete("fault") { _, _ -> Response in
            self.control.setFault(nil)
            return Self.json(.ok, .object([("fault", .string("cleared"))]))
        }
        control.put("failing") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 64 * 1024)
            guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                let report = object["report"] as? String, let failing = object["failing"] as? Bool
            else {
                return Self.json(.badRequest, HALRenderer.error(id: "bad_request", message: "Send {\"report\": token, \"failing\": true|false}"))
            }
            self.control.setFailing(report: report, failing)
            return Self.json(.ok, .object([("report", .string(report)), ("failing", .bool(failing))]))
        }
        control.get("stats") { _, _ -> Response in
            Self.json(.ok, .object([("requests", .int(self.control.requestCount)), ("rate_limited", .int(self.control.rateLimitedCount))]))
        }
        control.delete("stats") { _, _ -> Response in
            self.control.resetRecords()
            return Self.json(.ok, .object([("requests", .int(0))]))
        }
    }

    static func faultPlan(from body: ByteBuffer) -> FaultPlan? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let kind = object["fault"] as? String
        else { return nil }
        let count = object["count"] as? Int
        let fault: SimulatorFault
        switch kind {
        case "drop": fault = .drop
        case "delay": fault = .delay(milliseconds: object["milliseconds"] as? Int ?? 1000)
        case "status":
            guard let status = object["status"] as? Int, (100...599).contains(status) else { return nil }
            fault = .status(status, retryAfterSeconds: object["retry_after"] as? Int)
        case "broken_json": fault = .brokenJSON
        default: return nil
        }
        return FaultPlan(fault, count: count)
    }
}
