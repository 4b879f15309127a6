import HTTPTypes

/// The rest of Mode's API: one entry per operation of its published spec, each a flat path
/// without the workspace. Reads need `read`; writes to reports, datasets, queries, schedules,
/// filters, field descriptions, subscriptions and definitions need `write`; writes to
/// collections, memberships, groups, invites and data sources, and the audit log, need `admin`.
extension RouteTable {
    /// A cached read of one object, or of a whole list when `list` names its `_embedded` key. The
    /// Mode path is the flat one under the workspace unless `upstream` says otherwise.
    static func read(
        _ operationID: String,
        _ path: String,
        upstream: String? = nil,
        list itemsKey: String? = nil,
        tag: String,
        _ summary: String,
        schema: String = "Resource",
        cache cacheTags: [String],
        scope: Scope = .read,
        listFilters: Bool = false,
        query: [RouteSpec.QueryField] = [],
        fixedQuery: String? = nil,
        details: String = ""
    ) -> RouteSpec {
        RouteSpec(
            operationID,
            .get,
            path,
            upstream: upstream ?? "/{workspace}" + path,
            shape: itemsKey.map { .collection(itemsKey: $0) } ?? .object,
            scope: scope,
            tag: tag,
            summary: summary,
            details: details,
            schema: schema,
            cacheTags: cacheTags,
            listFilters: listFilters,
            query: query,
            fixedQuery: fixedQuery
        )
    }

    /// A write: its body, its scope, and what its success makes wrong in the cache.
    static func write(
        _ operationID: String,
        _ method: HTTPRequest.Method,
        _ path: String,
        upstream: String? = nil,
        body: RouteSpec.Body = .none,
        query: [RouteSpec.QueryField] = [],
        tag: String,
        _ summary: String,
        schema: String = "Resource",
        scope: Scope,
        invalidates: [String],
        details: String = ""
    ) -> RouteSpec {
        RouteSpec(
            operationID,
            method,
            path,
            upstream: upstream ?? "/{workspace}" + path,
            shape: .object,
            body: body,
            scope: scope,
            tag: tag,
            summary: summary,
            details: details,
            schema: schema,
            invalidates: invalidates,
            query: query
        )
    }

    /// What a report's own changes make wrong: the report, as a report and as a dataset, and every list holding it.
    static let reportAndLists = ["report:{report}", "dataset:{report}", reportListsTag, datasetListsTag]
    /// Carried by every cached schedule, so a bulk delete can drop them all.
    static let allSchedulesTag = "report-schedules"
    /// Carried by every cached subscription, for the same reason.
    static let allSubscriptionsTag = "subscriptions"
    /// Carried by the rows of runs (and their query runs) in the results cache: purges drop them.
    static let rowsTag = "rows"

    static let queryRoutes: [RouteSpec] = {
        let query: RouteSpec.Body = .fields(
            wrap: "query",
            [
                .init("raw_query", .string, "The SQL.", example: "\"SELECT 1\""),
                .init("data_source_id", .integer, "The numeric id of the data source to run it on."),
                .init("name", .string, "The query's name."),
            ]
        )
        var create = query
        if case .fields(let wrap, var fields) = query {
            fields[0].required = true
            fields[1].required = true
            create = .fields(wrap: wrap, fields)
        }
        let filter: RouteSpec.Body = .fields(
            wrap: "report_filter",
            [
                .init("name", .string, "The filter's name.", required: true),
                .init("formula", .string, "Its formula.", required: true, example: "\"[region]\""),
                .init("data_type", .string, "Its data type.", required: true, example: "\"string\""),
                .init("formula_type", .string, "Its formula type.", required: true, example: "\"column\""),
                .init("filter_type", .string, "`SINGLE`, `MULTI` or `RANGE`.", required: true, example: "\"MULTI\""),
                .init("control_type", .string, "`LIST`, `DROPDOWN` or `RANGE`.", required: true, example: "\"LIST\""),
                .init("variable_type", .string, "`CONTINUOUS` or `DISCRETE`.", required: true, example: "\"DISCRETE\""),
                .init("options", .object, "The filter's options.", required: true),
                .init("next_filter_token", .string, "The filter it comes before; empty for the last place."),
            ]
        )
        var filterUpdate = filter
        if case .fields(let wrap, let fields) = filter {
            filterUpdate = .fields(
                wrap: wrap,
                fields.map { field in
                    var field = field; field.required = false; return field
                }
            )
        }
        let queries = ["queries:{report}", "report:{report}"]
        return [
            read(
                "listReportQueries",
                "/reports/{report}/queries",
                list: "queries",
                tag: "Queries",
                "List a report's queries",
                cache: ["queries:{report}"]
            ),
            write(
                "createReportQuery",
                .post,
                "/reports/{report}/queries",
                body: create,
                tag: "Queries",
                "Add a query to a report",
                scope: .write,
                invalidates: queries
            ),
            read("getReportQuery", "/reports/{report}/queries/{query}", tag: "Queries", "Get a query", cache: ["queries:{report}"]),
            write(
                "updateReportQuery",
                .patch,
                "/reports/{report}/queries/{query}",
                body: query,
                tag: "Queries",
                "Update a query",
                scope: .write,
                invalidates: queries
            ),
            write(
                "deleteReportQuery",
                .delete,
                "/reports/{report}/queries/{query}",
                tag: "Queries",
                "Delete a query",
                scope: .write,
                invalidates: queries
            ),
            read(
                "listQueryCharts",
                "/reports/{report}/queries/{query}/charts",
                list: "charts",
                tag: "Queries",
                "List a query's charts",
                cache: ["queries:{report}"]
            ),
            read("getQueryChart", "/reports/{report}/queries/{query}/charts/{chart}", tag: "Queries", "Get a chart", cache: ["queries:{report}"]),
            read(
                "listReportFilters",
                "/reports/{report}/filters",
                list: "report_filters",
                tag: "Queries",
                "List a report's filters",
                cache: ["filters:{report}"]
            ),
            write(
                "createReportFilter",
                .post,
                "/reports/{report}/filters",
                body: filter,
                tag: "Queries",
                "Add a filter",
                scope: .write,
                invalidates: ["filters:{report}"]
            ),
            read("getReportFilter", "/reports/{report}/filters/{filter}", tag: "Queries", "Get a filter", cache: ["filters:{report}"]),
            write(
                "updateReportFilter",
                .patch,
                "/reports/{report}/filters/{filter}",
                body: filterUpdate,
                tag: "Queries",
                "Update a filter",
                scope: .write,
                invalidates: ["filters:{report}"]
            ),
            write(
                "deleteReportFilter",
                .delete,
                "/reports/{report}/filters/{filter}",
                tag: "Queries",
                "Delete a filter",
                scope: .write,
                invalidates: ["filters:{report}"]
            ),
        ]
    }()

    static let scheduleRoutes: [RouteSpec] = {
        let schedule: RouteSpec.Body = .fields(
            wrap: nil,
            [
                .init(
                    "cron",
                    .object,
                    "When it runs: `freq`, `day_of_month`, `day_of_week`, `hour`, `minute`, `time_zone`.",
                    required: true,
                    example: #"{"freq":"daily","hour":7}"#
                ),
                .init("name", .string, "The schedule's name."),
                .init("timeout", .integer, "Seconds before it may run again though the last run has not finished.", example: "3600"),
                .init("params", .object, "Report parameters for its runs.", example: #"{"rows":5}"#),
            ]
        )
        var update = schedule
        if case .fields(let wrap, let fields) = schedule {
            update = .fields(
                wrap: wrap,
                fields.map { field in
                    var field = field; field.required = false; return field
                }
            )
        }
        let subscription: RouteSpec.Body = .fields(
            wrap: nil,
            [
                .init("csv_attachments", .boolean, "Attach CSVs to the delivery."),
                .init("pdf_attachments", .boolean, "Attach PDFs."),
                .init("data_previews", .boolean, "Include data previews."),
                .init("data_tables", .boolean, "Include data tables."),
                .init("report_links", .boolean, "Include links to the report."),
            ]
        )
        let schedules = ["report-schedules:{report}", allSchedulesTag]
        let changed = ["report-schedules:{report}", "report:{report}", "dataset:{report}", "schedules:{report}", "subscriptions:{report}"]
        return [
            read(
                "listReportSchedules",
                "/reports/{report}/schedules",
                list: "report_schedules",
                tag: "Schedules",
                "List a report's schedules",
                cache: schedules
            ),
            write(
                "createReportSchedule",
                .post,
                "/reports/{report}/schedules",
                body: schedule,
                tag: "Schedules",
                "Schedule a report",
                scope: .write,
                invalidates: changed
            ),
            read("getReportSchedule", "/reports/{report}/schedules/{schedule}", tag: "Schedules", "Get a schedule", cache: schedules),
            write(
                "updateReportSchedule",
                .patch,
                "/reports/{report}/schedules/{schedule}",
                body: update,
                tag: "Schedules",
                "Update a schedule",
                scope: .write,
                invalidates: changed
            ),
            write(
                "deleteReportSchedule",
                .delete,
                "/reports/{report}/schedules/{schedule}",
                tag: "Schedules",
                "Delete a schedule",
                scope: .write,
                invalidates: changed
            ),
            write(
                "bulkDeleteReportSchedules",
                .delete,
                "/reports/schedules/bulk_delete",
                upstream: "/{workspace}/reports/schedules/v1/bulk_delete",
                query: [
                    .init("report", .token, "The report whose schedules to delete (the published spec names it without placing it)."),
                    .init("schedule", .token, "One schedule to delete."),
                ],
                tag: "Schedules",
                "Delete schedules in bulk",
                scope: .write,
                invalidates: [allSchedulesTag, allSubscriptionsTag, reportListsTag, datasetListsTag]
            ),
            read(
                "listScheduleSubscriptions",
                "/reports/{report}/schedules/{schedule}/subscriptions",
                list: "report_subscriptions",
                tag: "Schedules",
                "List a schedule's subscriptions",
                cache: schedules + ["subscriptions:{report}", allSubscriptionsTag]
            ),
            read(
                "listReportSubscriptions",
                "/reports/{report}/subscriptions",
                list: "report_subscriptions",
                tag: "Schedules",
                "List a report's subscriptions",
                cache: ["subscriptions:{report}"]
            ),
            write(
                "createReportSubscription",
                .post,
                "/reports/{report}/subscriptions",
                body: subscription,
                tag: "Schedules",
                "Subscribe to a report",
                scope: .write,
                invalidates: ["subscriptions:{report}"]
            ),
            read(
                "getReportSubscription",
                "/reports/{report}/subscriptions/{subscription}",
                tag: "Schedules",
                "Get a subscription",
                cache: ["subscriptions:{report}"]
            ),
            write(
                "updateReportSubscription",
                .patch,
                "/reports/{report}/subscriptions/{subscription}",
                body: subscription,
                tag: "Schedules",
                "Update a subscription",
                scope: .write,
                invalidates: ["subscriptions:{report}"]
            ),
            write(
                "deleteReportSubscription",
                .delete,
                "/reports/{report}/subscriptions/{subscription}",
                tag: "Schedules",
                "Delete a subscription",
                scope: .write,
                invalidates: ["subscriptions:{report}"]
            ),
        ]
    }()

    static let collectionRoutes: [RouteSpec] = {
        let space: RouteSpec.Body = .fields(
            wrap: "space",
            [.init("name", .string, "The collection's name.", required: true), .init("description", .string, "What it holds.")]
        )
        let member: RouteSpec.Body = .fields(
            wrap: "membership",
            [
                .init("member_type", .string, "`User` or `UserGroup`.", required: true, example: "\"User\""),
                .init("member_token", .token, "The user's or group's token.", required: true, example: "\"u-analyst\""),
            ]
        )
        let spaces = ["space:{space}", "spaces"]
        return [
            read(
                "listSpaces",
                "/spaces",
                list: "spaces",
                tag: "Collections",
                "List every collection",
                cache: ["spaces"],
                fixedQuery: "filter=all",
                details: "Sends Mode `filter=all`: without it Mode lists only the API user's own collections."
            ),
            write("createSpace", .post, "/spaces", body: space, tag: "Collections", "Create a collection", scope: .admin, invalidates: ["spaces"]),
            read(
                "getSpace",
                "/spaces/{space}",
                tag: "Collections",
                "Get a collection",
                cache: ["space:{space}"],
                details: "A collection deleted moments ago answers 403, as Mode does."
            ),
            write(
                "updateSpace",
                .post,
                "/spaces/{space}",
                body: space,
                tag: "Collections",
                "Update a collection",
                scope: .admin,
                invalidates: spaces
            ),
            write(
                "deleteSpace",
                .delete,
                "/spaces/{space}",
                tag: "Collections",
                "Delete a collection",
                scope: .admin,
                invalidates: spaces + ["space-members:{space}", datasetListsTag, reportListsTag]
            ),
            read(
                "listSpaceMemberships",
                "/spaces/{space}/memberships",
                list: "space_memberships",
                tag: "Collections",
                "List who may see a collection",
                cache: ["space-members:{space}"]
            ),
            write(
                "createSpaceMembership",
                .post,
                "/spaces/{space}/memberships",
                body: member,
                tag: "Collections",
                "Give a user or group a collection",
                scope: .admin,
                invalidates: ["space-members:{space}"]
            ),
            read(
                "getSpaceMembership",
                "/spaces/{space}/memberships/{space_membership}",
                tag: "Collections",
                "Get a collection membership",
                cache: ["space-members:{space}"]
            ),
            write(
                "deleteSpaceMembership",
                .delete,
                "/spaces/{space}/memberships/{space_membership}",
                tag: "Collections",
                "Take a collection from a user or group",
                scope: .admin,
                invalidates: ["space-members:{space}"]
            ),
        ]
    }()

    static let dataSourceRoutes: [RouteSpec] = {
        let update: RouteSpec.Body = .fields(
            wrap: "data_source",
            [
                .init("name", .string, "The data source's name."),
                .init("description", .string, "What it holds."),
                .init("password", .string, "A new password for the connection; passed to Mode, never logged."),
                .init("custom_attributes", .object, "Connection attributes, such as `connection_string` for a bridged Oracle database."),
            ]
        )
        return [
            read("listDataSources", "/data_sources", list: "data_sources", tag: "Data sources", "List the data sources", cache: ["data-sources"]),
            read("getDataSource", "/data_sources/{data_source}", tag: "Data sources", "Get a data source", cache: ["data-sources"]),
            write(
                "updateDataSource",
                .patch,
                "/data_sources/{data_source}",
                body: update,
                tag: "Data sources",
                "Update a data source",
                scope: .admin,
                invalidates: ["data-sources"]
            ),
            write(
                "purgeDataSource",
                .post,
                "/data_sources/{data_source}/purge",
                tag: "Data sources",
                "Purge a data source's stored results",
                scope: .admin,
                invalidates: ["data-sources", rowsTag]
            ),
            write(
                "refreshDataSourceSchema",
                .post,
                "/data_sources/{data_source}/schema_updates",
                tag: "Data sources",
                "Refresh a data source's schema",
                scope: .admin,
                invalidates: ["data-sources"]
            ),
        ]
    }()

    static let definitionRoutes: [RouteSpec] = {
        let fields: [RouteSpec.BodyField] = [
            .init("name", .string, "The definition's name."),
            .init("description", .string, "What it means."),
            .init("source", .string, "Its SQL.", example: "\"SELECT 1\""),
            .init("data_source_id", .integer, "The numeric id of its data source."),
        ]
        var create = fields
        create[0].required = true
        create[2].required = true
        return [
            read(
                "listDefinitions",
                "/definitions",
                list: "definitions",
                tag: "Definitions",
                "List the definitions",
                cache: ["definitions"],
                query: [
                    .init("filter", .string, "`by_tokens` to list only the `tokens` given."),
                    .init("tokens", .string, "Tokens, separated by commas."),
                ]
            ),
            write(
                "createDefinition",
                .post,
                "/definitions",
                body: .fields(wrap: "definition", create),
                tag: "Definitions",
                "Create a definition",
                scope: .write,
                invalidates: ["definitions"]
            ),
            read("getDefinition", "/definitions/{definition}", tag: "Definitions", "Get a definition", cache: ["definitions"]),
            write(
                "updateDefinition",
                .patch,
                "/definitions/{definition}",
                body: .fields(wrap: "definition", fields),
                tag: "Definitions",
                "Update a definition",
                scope: .write,
                invalidates: ["definitions"]
            ),
            write(
                "deleteDefinition",
                .delete,
                "/definitions/{definition}",
                tag: "Definitions",
                "Delete a definition",
                scope: .write,
                invalidates: ["definitions"]
            ),
        ]
    }()

    static let peopleRoutes: [RouteSpec] = {
        let group: RouteSpec.Body = .fields(wrap: "user_group", [.init("name", .string, "The group's name.", required: true)])
        let member: RouteSpec.Body = .fields(
            wrap: "membership",
            [.init("member_token", .token, "The user's token.", required: true, example: "\"u-analyst\"")]
        )
        let invite: RouteSpec.Body = .fields(
            wrap: "invite",
            [
                .init("email", .string, "Whom to invite.", required: true, upstream: ["invitee", "email"], example: "\"new.analyst@example.com\""),
                .init("message", .string, "A note for them.", required: true),
            ]
        )
        return [
            read("listMemberships", "/memberships", list: "memberships", tag: "People", "List the workspace's members", cache: ["memberships"]),
            read("getMembership", "/memberships/{membership}", tag: "People", "Get a membership", cache: ["memberships"]),
            write(
                "deleteMembership",
                .delete,
                "/memberships/{membership}",
                tag: "People",
                "Remove a member",
                scope: .admin,
                invalidates: ["memberships"]
            ),
            write(
                "createInvite",
                .post,
                "/invites",
                body: invite,
                tag: "People",
                "Invite someone to the workspace",
                scope: .admin,
                invalidates: ["memberships"],
                details: "Takes `email` and `message` flat; Mode gets `{\"invite\": {\"invitee\": {\"email\": …}, \"message\": …}}`."
            ),
            read("listGroups", "/groups", list: "user_groups", tag: "People", "List the user groups", cache: ["groups"]),
            write("createGroup", .post, "/groups", body: group, tag: "People", "Create a user group", scope: .admin, invalidates: ["groups"]),
            read("getGroup", "/groups/{group_token}", tag: "People", "Get a user group", cache: ["groups"]),
            write(
                "updateGroup",
                .patch,
                "/groups/{group_token}",
                body: group,
                tag: "People",
                "Rename a user group",
                scope: .admin,
                invalidates: ["groups"]
            ),
            write(
                "deleteGroup",
                .delete,
                "/groups/{group_token}",
                tag: "People",
                "Delete a user group",
                scope: .admin,
                invalidates: ["groups", "group-members:{group_token}"]
            ),
            read(
                "listGroupMemberships",
                "/groups/{group_token}/memberships",
                list: "user_group_memberships",
                tag: "People",
                "List a group's members",
                cache: ["group-members:{group_token}"]
            ),
            write(
                "createGroupMembership",
                .post,
                "/groups/{group_token}/memberships",
                body: member,
                tag: "People",
                "Add a user to a group",
                scope: .admin,
                invalidates: ["group-members:{group_token}"]
            ),
            read(
                "getGroupMembership",
                "/groups/{group_token}/memberships/{membership_token}",
                tag: "People",
                "Get a group membership",
                cache: ["group-members:{group_token}"]
            ),
            write(
                "deleteGroupMembership",
                .delete,
                "/groups/{group_token}/memberships/{membership_token}",
                tag: "People",
                "Remove a user from a group",
                scope: .admin,
                invalidates: ["group-members:{group_token}"]
            ),
        ]
    }()

    static let accountRoutes: [RouteSpec] = [
        read("getAccount", "/account", upstream: "/account", tag: "Account", "The gateway's Mode user", cache: ["account"]),
        read("verifyCredentials", "/verify", upstream: "/verify", tag: "Account", "Check the gateway's Mode credentials", cache: ["account"]),
        read(
            "getAuditLogs",
            "/audit_logs",
            tag: "Account",
            "The workspace's audit log",
            cache: ["audit-logs"],
            scope: .admin,
            query: [
                .init("start_timestamp", .timestamp, "The start of the time range.", required: true),
                .init("end_timestamp", .timestamp, "Its end.", required: true),
                .init("action", .string, "The kind of action."),
                .init("entity_id", .string, "The entity acted on."),
                .init("entity_type", .string, "Its type."),
                .init("entity_name", .string, "Its name."),
                .init("username", .string, "Who acted."),
                .init("ip", .string, "From where."),
                .init("event_source", .string, "Through what."),
                .init("next_token", .string, "The page after a previous answer's `next_token`."),
            ]
        ),
    ]

    /// Datasets, reports and runs beyond the data routes: fields, field descriptions, deletes,
    /// archiving, purges, query runs, form fields, clones, duplicates and the PDF export.
    static let moreDataRoutes: [RouteSpec] = {
        let describe: RouteSpec.Body = .fields(
            wrap: "field_description",
            [.init("name", .string, "The field.", required: true, example: "\"amount\""), .init("desc", .string, "What it holds.", required: true)]
        )
        let redescribe: RouteSpec.Body = .fields(wrap: "field_description", [.init("desc", .string, "What it holds.", required: true)])
        return [
            read(
                "listDatasetFields",
                "/datasets/{dataset}/fields",
                list: "fields",
                tag: "Datasets",
                "List a dataset's fields",
                cache: ["fields:{dataset}"]
            ),
            read(
                "listDatasetFieldDescriptions",
                "/datasets/{dataset}/field_descriptions",
                list: "field_descriptions",
                tag: "Datasets",
                "List a dataset's field descriptions",
                cache: ["fields:{dataset}"]
            ),
            write(
                "createDatasetFieldDescription",
                .post,
                "/datasets/{dataset}/field_descriptions",
                body: describe,
                tag: "Datasets",
                "Describe a field",
                scope: .write,
                invalidates: ["fields:{dataset}"]
            ),
            write(
                "updateDatasetFieldDescription",
                .patch,
                "/datasets/{dataset}/field_descriptions/{field_description}",
                body: redescribe,
                tag: "Datasets",
                "Change a field's description",
                scope: .write,
                invalidates: ["fields:{dataset}"]
            ),
            write(
                "deleteDatasetFieldDescription",
                .delete,
                "/datasets/{dataset}/field_descriptions/{field_description}",
                tag: "Datasets",
                "Remove a field's description",
                scope: .write,
                invalidates: ["fields:{dataset}"]
            ),
            write(
                "deleteDataset",
                .delete,
                "/datasets/{dataset}",
                tag: "Datasets",
                "Delete a dataset",
                scope: .write,
                invalidates: [
                    "dataset:{dataset}", "report:{dataset}", "schedules:{dataset}", "runs:{dataset}", "fields:{dataset}", "filters:{dataset}",
                    "report-schedules:{dataset}", "subscriptions:{dataset}", datasetListsTag, reportListsTag,
                ]
            ),
            write(
                "deleteReport",
                .delete,
                "/reports/{report}",
                tag: "Reports",
                "Delete a report",
                scope: .write,
                invalidates: reportAndLists + [
                    "runs:{report}", "queries:{report}", "filters:{report}", "report-schedules:{report}", "subscriptions:{report}",
                ]
            ),
            write(
                "archiveReport",
                .patch,
                "/reports/{report}/archive",
                tag: "Reports",
                "Archive a report",
                schema: "Report",
                scope: .write,
                invalidates: reportAndLists
            ),
            write(
                "unarchiveReport",
                .patch,
                "/reports/{report}/unarchive",
                tag: "Reports",
                "Unarchive a report",
                schema: "Report",
                scope: .write,
                invalidates: reportAndLists
            ),
            write(
                "purgeReports",
                .post,
                "/reports/purge",
                query: [
                    .init("time", .date, "Purge results stored before this date.", required: true),
                    .init("end_time", .date, "…and after this one."),
                    .init("in_progress", .boolean, "Also purge runs still in progress."),
                ],
                tag: "Reports",
                "Purge stored report results",
                scope: .write,
                invalidates: [reportListsTag, datasetListsTag, rowsTag]
            ),
            read(
                "getQueryRun",
                "/reports/{report}/runs/{run}/query_runs/{query_run}",
                tag: "Runs",
                "Get a query run",
                schema: "QueryRun",
                cache: ["runs:{report}"]
            ),
            read("getRunOptions", "/reports/{report}/runs/{run}/options", tag: "Runs", "A run's form fields", cache: ["runs:{report}"]),
            write(
                "cloneReportRun",
                .post,
                "/reports/{report}/runs/{run}/clone",
                tag: "Runs",
                "Clone a report from a run",
                schema: "Report",
                scope: .write,
                invalidates: [reportListsTag, datasetListsTag]
            ),
            write(
                "duplicateReportRun",
                .post,
                "/reports/{report}/runs/{run}/duplicates",
                query: [.init("collection_id", .string, "The collection to put the duplicate in.")],
                tag: "Runs",
                "Duplicate a run",
                scope: .write,
                invalidates: ["runs:{report}"]
            ),
            read(
                "getReportRunDuplicate",
                "/reports/{report}/runs/{run}/duplicates/{duplicate}",
                tag: "Runs",
                "Get a run duplicate",
                cache: ["runs:{report}"]
            ),
            RouteSpec(
                "downloadReportRunPDF",
                .get,
                "/reports/{report}/runs/{run}/pdf",
                upstream: "/{workspace}/reports/{report}/exports/runs/{run}/pdf/download",
                shape: .binary,
                scope: .read,
                tag: "Runs",
                summary: "Download a run's PDF export",
                details: "Mode's bytes and content type, streamed as they come; never transformed or cached.",
                schema: "Binary"
            ),
        ]
    }()
}
