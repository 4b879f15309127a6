/// The flat routes the gateway serves in front of Mode.
public enum RouteTable {
    /// Carried by every cached list of datasets.
    static let datasetListsTag = "dataset-lists"

    public static let modeRoutes: [RouteSpec] = [
        RouteSpec(
            operationID: "getDataset",
            method: .get,
            path: "/datasets/{dataset}",
            upstreamPath: "/{workspace}/datasets/{dataset}",
            shape: .object,
            body: .none,
            cacheTags: ["dataset:{dataset}"]
        ),
        RouteSpec(
            operationID: "updateDataset",
            method: .patch,
            path: "/datasets/{dataset}",
            upstreamPath: "/{workspace}/datasets/{dataset}",
            shape: .object,
            body: .datasetUpdate,
            // Any list of datasets may hold it, and its schedules carry its name.
            invalidates: ["dataset:{dataset}", "schedules:{dataset}", datasetListsTag]
        ),
        RouteSpec(
            operationID: "listDatasetSchedules",
            method: .get,
            path: "/datasets/{dataset}/schedules",
            upstreamPath: "/{workspace}/datasets/{dataset}/schedules",
            shape: .collection(itemsKey: "report_schedules"),
            body: .none,
            cacheTags: ["schedules:{dataset}"]
        ),
        RouteSpec(
            operationID: "listSpaceDatasets",
            method: .get,
            path: "/spaces/{space}/datasets",
            upstreamPath: "/{workspace}/spaces/{space}/datasets",
            shape: .collection(itemsKey: "reports"),
            body: .none,
            cacheTags: [datasetListsTag]
        ),
        // Mode's UI calls spaces "collections"; the same list under that name.
        RouteSpec(
            operationID: "listCollectionDatasets",
            method: .get,
            path: "/collections/{space}/datasets",
            upstreamPath: "/{workspace}/spaces/{space}/datasets",
            shape: .collection(itemsKey: "reports"),
            body: .none,
            cacheTags: [datasetListsTag]
        ),
        RouteSpec(
            operationID: "listDataSourceDatasets",
            method: .get,
            path: "/data_sources/{data_source}/datasets",
            upstreamPath: "/{workspace}/data_sources/{data_source}/datasets",
            shape: .collection(itemsKey: "reports"),
            body: .none,
            cacheTags: [datasetListsTag]
        ),
    ]

    /// The GET route and parameters a flat path names, if any; for purging by path.
    static func match(path: String) -> (route: RouteSpec, parameters: [String: Token])? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard path.hasPrefix("/") else { return nil }
        for route in modeRoutes where route.method == .get {
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard pattern.count == segments.count else { continue }
            var parameters: [String: Token] = [:]
            var matched = true
            for (expected, actual) in zip(pattern, segments) {
                if expected.first == "{" {
                    guard let token = Token(actual) else {
                        matched = false
                        break
                    }
                    parameters[String(expected.dropFirst().dropLast())] = token
                } else if expected != actual {
                    matched = false
                    break
                }
            }
            if matched { return (route, parameters) }
        }
        return nil
    }
}
