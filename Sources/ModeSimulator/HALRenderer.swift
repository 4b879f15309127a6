/// Renders the simulator's world the way Mode's API does: HAL documents with `_links` (relative,
/// absolute and templated hrefs), `_forms` and `_embedded`.
struct HALRenderer: Sendable {
    let workspace: String
    /// Mode's web host, for the absolute links Mode puts next to its relative API links.
    let webBase = "https://app.mode.com"

    func link(_ href: String, templated: Bool = false) -> JSONValue {
        templated ? .object([("href", .string(href)), ("templated", .bool(true))]) : .object([("href", .string(href))])
    }

    /// How much of a dataset Mode puts in a document.
    enum Detail {
        /// `GET` of one dataset: every link, the forms, and the embedded creator.
        case full
        /// The answer to a `PATCH`: links and forms.
        case updated
        /// An item of a list: the fields and a few links, as Mode's collections carry them.
        case summary
    }

    /// A report or dataset, with what its runs say of it: `last_run_*` and `last_successful_run_*`.
    func report(_ dataset: SimReport, detail: Detail, lastRun: SimRun? = nil, lastSuccessfulRun: SimRun? = nil) -> JSONValue {
        let embedded = detail == .full
        let api = "/api/\(self.workspace)/reports/\(dataset.token)"
        let web = "\(self.webBase)/\(self.workspace)/reports/\(dataset.token)"
        var members: [(String, JSONValue)] = [
            ("token", .string(dataset.token)),
            ("id", .int(dataset.id)),
            ("name", .string(dataset.name)),
            ("description", .string(dataset.description)),
            ("created_at", .string(SimTime.iso8601(dataset.createdAt))),
            ("updated_at", .string(SimTime.iso8601(dataset.updatedAt))),
            ("published_at", .null),
            ("edited_at", .string(SimTime.iso8601(dataset.updatedAt))),
            ("type", .string(dataset.type)),
            ("last_successful_sync_at", .null),
            ("last_saved_at", .string(SimTime.iso8601(dataset.updatedAt))),
            ("archived", .bool(dataset.archived)),
            ("space_token", .string(dataset.spaceToken)),
            ("data_source_token", .string(dataset.dataSourceToken)),
            ("account_id", .int(1)),
            ("account_username", .string(self.workspace)),
            ("public", .bool(false)),
            ("manual_run_disabled", .bool(false)),
            ("drill_anywhere_enabled", .bool(true)),
            ("run_privately", .bool(false)),
            ("drilldowns_enabled", .bool(false)),
            ("expected_runtime", .double(Double(dataset.id % 97) / 10 + 0.25)),
            ("last_successfully_run_at", lastSuccessfulRun.map { .string(SimTime.iso8601(Int($0.completedAt))) } ?? .null),
            ("last_run_at", lastRun.map { .string(SimTime.iso8601(Int($0.createdAt))) } ?? .null),
            ("last_successful_run_token", lastSuccessfulRun.map { .string($0.token) } ?? .null),
            ("query_count", .int(dataset.queries.count)),
            ("max_query_count", .int(160)),
            ("runs_count", .int(dataset.id % 500)),
            ("schedules_count", .int(dataset.id % 3 == 2 ? 0 : 1)),
            ("query_preview", .string("SELECT date_trunc('day', created_at) AS day, count(*) FROM events GROUP BY 1")),
            ("view_count", .int(dataset.id % 1000)),
            ("thoughtspot_published_at", .null),
            // The rest of Mode's Report fields, so that sizes match what Mode sends.
            ("theme_id", .int(1)),
            ("color_mappings", .object([])),
            ("full_width", .bool(false)),
            ("layout", .string("default")),
            ("is_embedded", .bool(false)),
            ("is_signed", .bool(false)),
            ("shared", .bool(false)),
            ("imported_datasets", .array([])),
            ("web_preview_image", .string("\(web)/preview.png")),
            ("github_link", .null),
            ("chart_count", .int(0)),
            ("flamingo_signature", .null),
            (
                "_links",
                .object([
                    ("self", self.link(api)),
                    ("web", self.link(web)),
                    ("web_edit", self.link("\(web)/edit")),
                    ("account", self.link("/api/\(self.workspace)")),
                    ("report_run", self.link("\(api)/runs/{id}?embed[result]=1", templated: true)),
                    ("space", self.link("/api/\(self.workspace)/spaces/\(dataset.spaceToken)")),
                    ("queries", self.link("\(api)/queries")),
                    ("report_runs", self.link("\(api)/runs{?page,per_page}", templated: true)),
                    ("report_pins", self.link("\(api)/pins")),
                    ("report_schedules", self.link("\(api)/schedules")),
                    ("report_filters", self.link("\(api)/filters")),
                    ("report_subscriptions", self.link("\(api)/subscriptions")),
                    ("report_theme", self.link("/api/\(self.workspace)/report_themes/1")),
                    ("report_index_web", self.link("\(self.webBase)/\(self.workspace)/spaces/\(dataset.spaceToken)")),
                    ("space_links", self.link("/api/\(self.workspace)/spaces/\(dataset.spaceToken)/links")),
                    ("share", self.link("\(web)/share")),
                    ("validate_email_subscriber", self.link("\(api)/validate_email_subscriber{?email}", templated: true)),
                    ("last_run", self.link("\(api)/runs/\(lastRun?.token ?? "none")")),
                    ("last_successful_run", self.link("\(api)/runs/\(lastSuccessfulRun?.token ?? "none")")),
                    ("perspective_email_subscription_memberships", self.link("\(api)/subscriptions")),
                    ("last_successful_github_sync", self.link("\(api)/github_syncs/last")),
                    ("creator", self.link("/api/analyst")),
                    ("dataset_dependencies", self.link("\(api)/dataset_dependencies")),
                ])
            ),
            (
                "_forms",
                .object([
                    (
                        "edit",
                        .object([
                            ("method", .string("patch")),
                            ("action", .string(api)),
                            (
                                "input",
                                .object([
                                    (
                                        "report",
                                        .object([
                                            ("name", .object([("type", .string("text")), ("value", .string(dataset.name))])),
                                            ("description", .object([("type", .string("text")), ("value", .string(dataset.description))])),
                                        ])
                                    )
                                ])
                            ),
                        ])
                    ),
                    ("destroy", .object([("method", .string("delete")), ("action", .string(api))])),
                ])
            ),
        ]
        if detail == .summary {
            let kept: Set<String> = ["self", "web", "space", "account", "report_runs"]
            members = members.compactMap { name, value in
                switch (name, value) {
                case ("_forms", _): return nil
                case ("_links", .object(let links)): return (name, .object(links.filter { kept.contains($0.0) }))
                default: return (name, value)
                }
            }
        }
        if embedded {
            members.append(
                (
                    "_embedded",
                    .object([
                        (
                            "creator",
                            .object([
                                ("username", .string("analyst")),
                                ("name", .string("Ada Analyst")),
                                ("_links", .object([("self", self.link("/api/analyst")), ("web", self.link("\(self.webBase)/analyst"))])),
                            ])
                        )
                    ])
                )
            )
        }
        return .object(members)
    }

    func schedule(_ schedule: SimSchedule, dataset: SimReport) -> JSONValue {
        let api = "/api/\(self.workspace)/reports/\(dataset.token)/schedules/\(schedule.token)"
        return .object([
            ("token", .string(schedule.token)),
            ("name", .string(schedule.name)),
            ("parameters", .object([])),
            ("created_at", .string(SimTime.iso8601(schedule.createdAt))),
            ("updated_at", .string(SimTime.iso8601(schedule.createdAt))),
            ("cron", .object([("freq", .string("custom")), ("value", .string(schedule.cron)), ("time_zone", .string("UTC"))])),
            ("retry_state", .string("inactive")),
            ("retry_count", .int(0)),
            ("retry_delay", .int(300)),
            ("timeout", .int(900)),
            ("last_run_at", .string(SimTime.iso8601(schedule.createdAt + 86_400))),
            ("last_succeeded_at", .string(SimTime.iso8601(schedule.createdAt + 86_400))),
            ("last_scheduled_run", .string(SimTime.iso8601(schedule.createdAt + 86_400))),
            ("next_scheduled_run", .string(SimTime.iso8601(schedule.createdAt + 2 * 86_400))),
            ("report_name", .string(dataset.name)),
            ("delivery", .string("none")),
            ("report_token", .string(dataset.token)),
            ("report_type", .string("DatasetReport")),
            ("subscribed", .bool(false)),
            ("subscriber_count", .int(0)),
            (
                "_links",
                .object([
                    ("self", self.link(api)),
                    ("account", self.link("/api/\(self.workspace)")),
                    ("creator", self.link("/api/analyst")),
                    ("report", self.link("/api/\(self.workspace)/reports/\(dataset.token)")),
                    ("report_web", self.link("\(self.webBase)/\(self.workspace)/reports/\(dataset.token)")),
                    ("report_runs", self.link("/api/\(self.workspace)/reports/\(dataset.token)/runs{?page}", templated: true)),
                    ("report_subscriptions", self.link("\(api)/subscriptions")),
                ])
            ),
        ])
    }

    /// A report run, as `GET …/reports/{report}/runs/{run}` answers it.
    func run(_ run: SimRun, report: SimReport, now: Double, isLatest: Bool, isLatestSuccessful: Bool) -> JSONValue {
        let api = "/api/\(self.workspace)/reports/\(report.token)/runs/\(run.token)"
        let state = run.state(at: now)
        let finished = state == "succeeded" || state == "failed"
        return .object([
            ("token", .string(run.token)),
            ("state", .string(state)),
            ("parameters", run.parameters),
            ("created_at", .string(SimTime.iso8601(Int(run.createdAt)))),
            ("updated_at", .string(SimTime.iso8601(Int(min(now, run.completedAt))))),
            ("completed_at", finished ? .string(SimTime.iso8601(Int(run.completedAt))) : .null),
            ("purge_started_at", .null),
            ("purge_completed_at", .null),
            ("python_state", .string("none")),
            ("form_fields", .array([])),
            ("is_latest_report_run", .bool(isLatest)),
            ("is_latest_successful_report_run", .bool(isLatestSuccessful)),
            ("report_has_failures_since_last_success", .bool(state == "failed")),
            ("pusher_channel_name", .string("report-run-\(run.token)")),
            (
                "_links",
                .object([
                    ("self", self.link(api)),
                    ("report", self.link("/api/\(self.workspace)/reports/\(report.token)")),
                    ("query_runs", self.link("\(api)/query_runs{?page}", templated: true)),
                    ("content", self.link("\(api)/results/content{.format}", templated: true)),
                    ("web_report", self.link("\(self.webBase)/\(self.workspace)/reports/\(report.token)/runs/\(run.token)")),
                    ("clone", self.link("\(api)/clone")),
                ])
            ),
            (
                "_embedded",
                .object([("executed_by", .object([("username", .string("api-user")), ("_links", .object([("self", self.link("/api/api-user"))]))]))])
            ),
        ])
    }

    /// The run of one query within a report run.
    func queryRun(_ run: SimRun, index: Int, report: SimReport, now: Double) -> JSONValue {
        let query = report.queries[index]
        let runAPI = "/api/\(self.workspace)/reports/\(report.token)/runs/\(run.token)"
        let token = run.queryRunToken(index)
        let state = run.state(at: now)
        let finished = state == "succeeded" || state == "failed"
        // A failing run fails in its last query; the ones before it succeed.
        let failedHere = state == "failed" && index == report.queries.count - 1
        let ownState = state == "failed" && !failedHere ? "succeeded" : state
        return .object([
            ("id", .int(run.token.utf8.reduce(index) { $0 &* 31 &+ Int($1) } & 0xFFFFFF)),
            ("token", .string(token)),
            ("raw_source", .string(query.rawQuery)),
            ("statement_annotation", .null),
            ("state", .string(ownState)),
            ("created_at", .string(SimTime.iso8601(Int(run.createdAt)))),
            ("completed_at", finished ? .string(SimTime.iso8601(Int(run.completedAt))) : .null),
            ("data_source_id", .int(1)),
            ("data_source_token", .string(report.dataSourceToken)),
            ("limit", .bool(false)),
            ("query_token", .string(query.token)),
            ("query_name", .string(query.name)),
            ("query_created_at", .string(SimTime.iso8601(report.createdAt))),
            ("parameters", run.parameters),
            ("rendered_source", .string(query.rawQuery)),
            ("max_result_bytes", .int(1_073_741_824)),
            ("error_message", failedHere ? .string("ERROR: relation \"analytics.missing_table\" does not exist") : .null),
            (
                "_links",
                .object([
                    ("self", self.link("\(runAPI)/query_runs/\(token)")),
                    ("result", self.link("\(runAPI)/query_runs/\(token)/results")),
                    ("query", self.link("/api/\(self.workspace)/reports/\(report.token)/queries/\(query.token)")),
                    ("report_run", self.link(runAPI)),
                ])
            ),
        ])
    }

    /// One page of a collection. `next_page` is given on odd pages only: Mode is not consistent
    /// about it, and the gateway must not depend on it.
    func collection(
        items: [JSONValue],
        itemsKey: String,
        selfPath: String,
        page: Int,
        hasNext: Bool,
        totalCount: Int,
        pageSize: Int
    ) -> JSONValue {
        var links: [(String, JSONValue)] = [("self", self.link("\(selfPath)?page=\(page)"))]
        if hasNext && page % 2 == 1 { links.append(("next_page", self.link("\(selfPath)?page=\(page + 1)"))) }
        if page > 1 { links.append(("prev_page", self.link("\(selfPath)?page=\(page - 1)"))) }
        links.append(("search", self.link("\(selfPath){?filter,order,order_by,page}", templated: true)))
        let totalPages = max(1, (totalCount + pageSize - 1) / pageSize)
        return .object([
            (
                "pagination",
                .object([
                    ("first_page", .string("\(selfPath)?page=1")),
                    ("last_page", .string("\(selfPath)?page=\(totalPages)")),
                    ("total_pages", .int(totalPages)),
                    ("total_count", .int(totalCount)),
                ])
            ),
            ("_links", .object(links)),
            ("_embedded", .object([(itemsKey, .array(items))])),
        ])
    }

    static func error(id: String, message: String) -> JSONValue {
        .object([("id", .string(id)), ("message", .string(message))])
    }
}
