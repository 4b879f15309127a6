import HTTPTypes

/// The flat routes the gateway serves in front of Mode: the one source for the router, the
/// access scopes, cache tags and invalidations, and the OpenAPI document's operations.
public enum RouteTable {
    /// Carried by every cached list of datasets.
    static let datasetListsTag = "dataset-lists"
    /// Carried by every cached list of reports.
    static let reportListsTag = "report-lists"

    /// The spec's groups, in order, with a line each.
    public static let tags: [(name: String, description: String)] = [
        ("Datasets", "Mode datasets (reports of type `DatasetReport`), their fields and schedules."),
        ("Reports", "Mode reports, and the lists of reports in a collection, a data source or built on a dataset."),
        ("Runs", "Starting runs with parameters, reading them, and waiting for them to finish."),
        ("Results", "The rows of a finished run, as JSON, CSV or NDJSON, in one call."),
        ("Queries", "A report's queries, their charts, and the report's filters."),
        ("Schedules", "Report schedules and the subscriptions that deliver them."),
        ("Collections", "Collections (Mode's API calls them spaces) and who may see them."),
        ("Data sources", "Warehouse connections."),
        ("Definitions", "Reusable SQL definitions."),
        ("People", "Workspace members, invitations and user groups."),
        ("Account", "The gateway's Mode user, and the workspace's audit log."),
    ]

    /// Each path parameter: what it names, and a token the simulator holds, for the spec's
    /// examples and the tests.
    public static let pathParameters: [String: (summary: String, example: String)] = [
        "dataset": ("A Mode dataset token.", "ds0001"),
        "space": ("A Mode collection (space) token.", "sp-finance"),
        "data_source": ("A Mode data source token.", "ds-warehouse"),
        "report": ("A Mode report token (a dataset's token names it as a report too).", "rp-sales"),
        "run": ("A Mode report run token.", "run-sales-1"),
        "query": ("A Mode query token.", "q-sales-orders"),
        "query_run": ("A Mode query run token.", "qr1-run-sales-1"),
        "chart": ("A chart token.", "ch1"),
        "filter": ("A report filter token.", "flt1"),
        "subscription": ("A subscription token.", "sub1"),
        "schedule": ("A report schedule token.", "rsch1"),
        "field_description": ("A field description token.", "fd1"),
        "definition": ("A definition token.", "def1"),
        "membership": ("A workspace membership token.", "mem1"),
        "group_token": ("A user group token.", "grp1"),
        "membership_token": ("A user group membership token.", "gm1"),
        "space_membership": ("A collection membership token.", "sm1"),
        "duplicate": ("A run duplicate token.", "dup1"),
    ]

    /// The flat body of a report or dataset update; Mode takes it as `{"report": {…}}`.
    static let reportFields: RouteSpec.Body = .fields(
        wrap: "report",
        [
            .init("name", .string, "The new name."),
            .init("description", .string, "The new description."),
            .init("space_token", .token, "The token of the collection (space) to move it to."),
        ]
    )

    public static let modeRoutes: [RouteSpec] =
        datasetRoutes + reportRoutes + runRoutes + resultRoutes + moreDataRoutes + queryRoutes + scheduleRoutes
        + collectionRoutes + dataSourceRoutes + definitionRoutes + peopleRoutes + accountRoutes

    static let datasetRoutes: [RouteSpec] = [
        RouteSpec(
            "getDataset",
            .get,
            "/datasets/{dataset}",
            upstream: "/{workspace}/datasets/{dataset}",
            shape: .object,
            scope: .read,
            tag: "Datasets",
            summary: "Get a dataset",
            schema: "Report",
            cacheTags: ["dataset:{dataset}", "report:{dataset}"]
        ),
        RouteSpec(
            "updateDataset",
            .patch,
            "/datasets/{dataset}",
            upstream: "/{workspace}/datasets/{dataset}",
            shape: .object,
            body: reportFields,
            scope: .write,
            tag: "Datasets",
            summary: "Update a dataset",
            schema: "Report",
            // Any list may hold it, and its schedules carry its name.
            invalidates: [
                "dataset:{dataset}", "report:{dataset}", "schedules:{dataset}", "report-schedules:{dataset}", datasetListsTag, reportListsTag,
            ]
        ),
        RouteSpec(
            "listDatasetSchedules",
            .get,
            "/datasets/{dataset}/schedules",
            upstream: "/{workspace}/datasets/{dataset}/schedules",
            shape: .collection(itemsKey: "report_schedules"),
            scope: .read,
            tag: "Datasets",
            summary: "List a dataset's schedules",
            schema: "Schedule",
            cacheTags: ["schedules:{dataset}", allSchedulesTag]
        ),
        RouteSpec(
            "listSpaceDatasets",
            .get,
            "/spaces/{space}/datasets",
            upstream: "/{workspace}/spaces/{space}/datasets",
            shape: .collection(itemsKey: "reports"),
            scope: .read,
            tag: "Datasets",
            summary: "List the datasets of a collection (space)",
            schema: "Report",
            cacheTags: [datasetListsTag]
        ),
        // Mode's UI calls spaces "collections"; the same list under that name.
        RouteSpec(
            "listCollectionDatasets",
            .get,
            "/collections/{space}/datasets",
            upstream: "/{workspace}/spaces/{space}/datasets",
            shape: .collection(itemsKey: "reports"),
            scope: .read,
            tag: "Datasets",
            summary: "List the datasets of a collection",
            details: "The same list as `/spaces/{space}/datasets`; Mode's UI calls spaces collections.",
            schema: "Report",
            cacheTags: [datasetListsTag]
        ),
        RouteSpec(
            "listDataSourceDatasets",
            .get,
            "/data_sources/{data_source}/datasets",
            upstream: "/{workspace}/data_sources/{data_source}/datasets",
            shape: .collection(itemsKey: "reports"),
            scope: .read,
            tag: "Datasets",
            summary: "List the datasets of a data source",
            schema: "Report",
            cacheTags: [datasetListsTag]
        ),
    ]

    static let reportRoutes: [RouteSpec] = [
        RouteSpec(
            "getReport",
            .get,
            "/reports/{report}",
            upstream: "/{workspace}/reports/{report}",
            shape: .object,
            scope: .read,
            tag: "Reports",
            summary: "Get a report",
            details: "Its `last_successful_run_token` names the run whose rows `/reports/{report}/results` serves.",
            schema: "Report",
            cacheTags: ["report:{report}"]
        ),
        RouteSpec(
            "updateReport",
            .patch,
            "/reports/{report}",
            upstream: "/{workspace}/reports/{report}",
            shape: .object,
            body: reportFields,
            scope: .write,
            tag: "Reports",
            summary: "Update a report",
            schema: "Report",
            invalidates: ["report:{report}", "dataset:{report}", "schedules:{report}", "report-schedules:{report}", reportListsTag, datasetListsTag]
        ),
        RouteSpec(
            "listSpaceReports",
            .get,
            "/spaces/{space}/reports",
            upstream: "/{workspace}/spaces/{space}/reports",
            shape: .collection(itemsKey: "reports"),
            scope: .read,
            tag: "Reports",
            summary: "List the reports of a collection (space)",
            schema: "Report",
            cacheTags: [reportListsTag]
        ),
        RouteSpec(
            "listCollectionReports",
            .get,
            "/collections/{space}/reports",
            upstream: "/{workspace}/spaces/{space}/reports",
            shape: .collection(itemsKey: "reports"),
            scope: .read,
            tag: "Reports",
            summary: "List the reports of a collection",
            details: "The same list as `/spaces/{space}/reports`.",
            schema: "Report",
            cacheTags: [reportListsTag]
        ),
        RouteSpec(
            "listDataSourceReports",
            .get,
            "/data_sources/{data_source}/reports",
            upstream: "/{workspace}/data_sources/{data_source}/reports",
            shape: .collection(itemsKey: "reports"),
            scope: .read,
            tag: "Reports",
            summary: "List the reports of a data source",
            schema: "Report",
            cacheTags: [reportListsTag]
        ),
        RouteSpec(
            "listDatasetReports",
            .get,
            "/datasets/{dataset}/reports",
            upstream: "/{workspace}/datasets/{dataset}/reports",
            shape: .collection(itemsKey: "reports"),
            scope: .read,
            tag: "Reports",
            summary: "List the reports built on a dataset",
            schema: "Report",
            cacheTags: [reportListsTag]
        ),
    ]

    static let runRoutes: [RouteSpec] = [
        RouteSpec(
            "startReportRun",
            .post,
            "/reports/{report}/runs",
            upstream: "/{workspace}/reports/{report}/runs",
            shape: .run,
            body: .runParameters,
            scope: .write,
            tag: "Runs",
            summary: "Run a report",
            details: """
                Starts a run with the given parameters (Mode's `POST …/runs` with `{"parameters": {…}}`) and \
                answers 202 with the run and its `Location`. Never retried upstream unless the connection \
                provably never reached Mode; send `Idempotency-Key` to retry safely.
                """,
            schema: "ReportRun",
            invalidates: ["report:{report}", "dataset:{report}", "runs:{report}"]
        ),
        RouteSpec(
            "listReportRuns",
            .get,
            "/reports/{report}/runs",
            upstream: "/{workspace}/reports/{report}/runs",
            shape: .collection(itemsKey: "report_runs"),
            scope: .read,
            tag: "Runs",
            summary: "List a report's runs",
            schema: "ReportRun",
            cacheTags: ["runs:{report}"]
        ),
        RouteSpec(
            "getReportRun",
            .get,
            "/reports/{report}/runs/{run}",
            upstream: "/{workspace}/reports/{report}/runs/{run}",
            shape: .run,
            scope: .read,
            tag: "Runs",
            summary: "Get a report run, or wait for it",
            schema: "ReportRun",
            invalidates: ["report:{report}", "dataset:{report}", "runs:{report}"]
        ),
        RouteSpec(
            "listQueryRuns",
            .get,
            "/reports/{report}/runs/{run}/query_runs",
            upstream: "/{workspace}/reports/{report}/runs/{run}/query_runs",
            shape: .collection(itemsKey: "query_runs"),
            scope: .read,
            tag: "Runs",
            summary: "List the query runs of a report run",
            details: "Each query run's `state` and, for a failed one, its `error_message`.",
            schema: "QueryRun",
            cacheTags: ["runs:{report}"]
        ),
        RouteSpec(
            "startDatasetRun",
            .post,
            "/datasets/{dataset}/runs",
            upstream: "/{workspace}/datasets/{dataset}/runs",
            shape: .run,
            scope: .write,
            tag: "Runs",
            summary: "Run a dataset",
            details: """
                Refreshes the dataset (Mode's `POST …/datasets/{dataset}/runs`, no body) and answers 202 \
                with the run and its `Location`. Send `Idempotency-Key` to retry safely.
                """,
            schema: "ReportRun",
            invalidates: ["report:{dataset}", "dataset:{dataset}", "runs:{dataset}"]
        ),
        RouteSpec(
            "listDatasetRuns",
            .get,
            "/datasets/{dataset}/runs",
            upstream: "/{workspace}/datasets/{dataset}/runs",
            shape: .collection(itemsKey: "report_runs"),
            scope: .read,
            tag: "Runs",
            summary: "List a dataset's runs",
            schema: "ReportRun",
            cacheTags: ["runs:{dataset}"]
        ),
        RouteSpec(
            "getDatasetRun",
            .get,
            "/datasets/{dataset}/runs/{run}",
            upstream: "/{workspace}/datasets/{dataset}/runs/{run}",
            shape: .run,
            scope: .read,
            tag: "Runs",
            summary: "Get a dataset run, or wait for it",
            schema: "ReportRun",
            invalidates: ["report:{dataset}", "dataset:{dataset}", "runs:{dataset}"]
        ),
    ]

    static let resultRoutes: [RouteSpec] = [
        RouteSpec(
            "getDatasetResults",
            .get,
            "/datasets/{dataset}/results",
            upstream: "/{workspace}/reports/{dataset}",
            shape: .results(.dataset),
            scope: .read,
            tag: "Results",
            summary: "The rows of a dataset's latest successful run",
            details: "A dataset is a report with one query; its rows come from that query's run.",
            schema: "Rows",
            cacheTags: [rowsTag]
        ),
        RouteSpec(
            "getReportResults",
            .get,
            "/reports/{report}/results",
            upstream: "/{workspace}/reports/{report}",
            shape: .results(.report),
            scope: .read,
            tag: "Results",
            summary: "The rows of every query of a report's latest successful run",
            details: "One JSON document: the run, when it completed, and each query's rows.",
            schema: "ReportResults",
            cacheTags: [rowsTag]
        ),
        RouteSpec(
            "getQueryResults",
            .get,
            "/reports/{report}/queries/{query}/results",
            upstream: "/{workspace}/reports/{report}",
            shape: .results(.query),
            scope: .read,
            tag: "Results",
            summary: "The rows of one query in a report's latest successful run",
            schema: "Rows",
            cacheTags: [rowsTag]
        ),
        RouteSpec(
            "getRunResults",
            .get,
            "/reports/{report}/runs/{run}/results",
            upstream: "/{workspace}/reports/{report}",
            shape: .results(.report),
            scope: .read,
            tag: "Results",
            summary: "The rows of every query of one run",
            details: "The same document as `/reports/{report}/results?run={run}`, from each query run's own content.",
            schema: "ReportResults",
            cacheTags: [rowsTag]
        ),
        RouteSpec(
            "getQueryRunResults",
            .get,
            "/reports/{report}/runs/{run}/query_runs/{query_run}/results",
            upstream: "/{workspace}/reports/{report}",
            shape: .results(.queryRun),
            scope: .read,
            tag: "Results",
            summary: "The rows of one query run",
            schema: "Rows",
            cacheTags: [rowsTag]
        ),
    ]

    /// The scope of each (template, method), looked up by template then method on every request:
    /// no string is built on the hot path.
    static let scopes: [String: [HTTPRequest.Method: Scope]] = {
        var scopes: [String: [HTTPRequest.Method: Scope]] = [:]
        for route in modeRoutes { scopes[route.path, default: [:]][route.method] = route.scope }
        return scopes
    }()

    /// The cached GET route and parameters a flat path names, if any; for purging by path.
    static func match(path: String) -> (route: RouteSpec, parameters: [String: Token])? {
        guard let match = Self.cachedReads.match(path[...]) else { return nil }
        var parameters: [String: Token] = [:]
        for (name, raw) in match.parameters {
            guard let token = Token(raw) else { return nil }
            parameters[name] = token
        }
        return (match.target, parameters)
    }

    private static let cachedReads = RouteMatcher(modeRoutes.filter(\.isCachedRead).map { ($0.path, $0) })
}
