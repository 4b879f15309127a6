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

    func dataset(_ dataset: SimDataset, detail: Detail) -> JSONValue {
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
            ("type", .string("DatasetReport")),
            ("last_successful_sync_at", .null),
            ("last_saved_at", .string(SimTime.iso8601(dataset.updatedAt))),
            ("archived", .bool(false)),
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
            ("last_successfully_run_at", .string(SimTime.iso8601(dataset.updatedAt + 600))),
            ("last_run_at", .string(SimTime.iso8601(dataset.updatedAt + 600))),
            ("last_successful_run_token", .string("run\(dataset.id)")),
            ("query_count", .int(1)),
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
                    ("last_run", self.link("\(api)/runs/run\(dataset.id)")),
                    ("last_successful_run", self.link("\(api)/runs/run\(dataset.id)")),
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

    func schedule(_ schedule: SimSchedule, dataset: SimDataset) -> JSONValue {
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
