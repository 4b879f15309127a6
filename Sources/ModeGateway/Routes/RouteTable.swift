/// The flat routes the gateway serves in front of Mode.
public enum RouteTable {
    public static let modeRoutes: [RouteSpec] = [
        RouteSpec(
            operationID: "getDataset",
            method: .get,
            path: "/datasets/{dataset}",
            upstreamPath: "/{workspace}/datasets/{dataset}",
            shape: .object,
            body: .none
        ),
        RouteSpec(
            operationID: "updateDataset",
            method: .patch,
            path: "/datasets/{dataset}",
            upstreamPath: "/{workspace}/datasets/{dataset}",
            shape: .object,
            body: .datasetUpdate
        ),
        RouteSpec(
            operationID: "listDatasetSchedules",
            method: .get,
            path: "/datasets/{dataset}/schedules",
            upstreamPath: "/{workspace}/datasets/{dataset}/schedules",
            shape: .collection(itemsKey: "report_schedules"),
            body: .none
        ),
        RouteSpec(
            operationID: "listSpaceDatasets",
            method: .get,
            path: "/spaces/{space}/datasets",
            upstreamPath: "/{workspace}/spaces/{space}/datasets",
            shape: .collection(itemsKey: "reports"),
            body: .none
        ),
        // Mode's UI calls spaces "collections"; the same list under that name.
        RouteSpec(
            operationID: "listCollectionDatasets",
            method: .get,
            path: "/collections/{space}/datasets",
            upstreamPath: "/{workspace}/spaces/{space}/datasets",
            shape: .collection(itemsKey: "reports"),
            body: .none
        ),
        RouteSpec(
            operationID: "listDataSourceDatasets",
            method: .get,
            path: "/data_sources/{data_source}/datasets",
            upstreamPath: "/{workspace}/data_sources/{data_source}/datasets",
            shape: .collection(itemsKey: "reports"),
            body: .none
        ),
    ]
}
