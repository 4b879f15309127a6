/// A Mode space (the UI calls them collections).
public struct SimSpace: Sendable, Equatable {
    public var token: String
    public var name: String
}

/// A Mode data source (a warehouse connection).
public struct SimDataSource: Sendable, Equatable {
    public var token: String
    public var name: String
    public var adapter: String
}

/// A Mode report; a dataset is a report of type `DatasetReport` with one query.
public struct SimReport: Sendable, Equatable {
    public var id: Int
    public var token: String
    public var name: String
    public var description: String
    public var spaceToken: String
    public var dataSourceToken: String
    /// Seconds since 1970.
    public var createdAt: Int
    public var updatedAt: Int
    /// When set, Mode forbids this report to the API user (403).
    public var restricted = false
    /// `DatasetReport` for a dataset, `Report` otherwise.
    public var type = "DatasetReport"
    /// The report's queries, in order.
    public var queries: [SimQuery] = []
    /// The datasets a report is built on.
    public var datasetTokens: [String] = []
    /// Rows each query gives when a run names no `rows` parameter.
    public var defaultRows = 5
    public var archived = false

    public var isDataset: Bool { self.type == "DatasetReport" }
}

/// A query of a report.
public struct SimQuery: Sendable, Equatable {
    public var token: String
    public var name: String
    public var rawQuery: String
}

/// A run of a report (or dataset). Its state is a function of time: enqueued, running, then
/// succeeded or failed once `duration` has passed since it was created.
public struct SimRun: Sendable, Equatable {
    public var token: String
    public var reportToken: String
    /// The run's parameters, as the POST gave them.
    public var parameters: JSONValue
    /// The `rows` parameter, when given: how many rows each query gives.
    public var rows: Int?
    /// Seconds since 1970, with a fraction.
    public var createdAt: Double
    /// How long it runs; zero for a run that was already finished when the world was made.
    public var duration: Double
    /// Whether it ends failed.
    public var fails: Bool

    /// The run's state at `now` (seconds since 1970).
    public func state(at now: Double) -> String {
        let elapsed = now - self.createdAt
        if elapsed >= self.duration { return self.fails ? "failed" : "succeeded" }
        return elapsed < self.duration * 0.3 ? "enqueued" : "running"
    }

    /// When it finished (or will).
    public var completedAt: Double { self.createdAt + self.duration }

    /// The rows each query of this run gives: the `rows` parameter when set, else the report's default.
    public func rowCount(default fallback: Int) -> Int {
        min(max(self.rows ?? fallback, 0), 5_000_000)
    }

    /// The token of this run's query run for the query at `index`.
    public func queryRunToken(_ index: Int) -> String { "qr\(index + 1)-\(self.token)" }
}

/// A schedule that refreshes a dataset.
public struct SimSchedule: Sendable, Equatable {
    public var token: String
    public var name: String
    public var datasetToken: String
    public var cron: String
    public var createdAt: Int
}

/// The simulator's seeded world: one workspace of spaces, data sources, datasets and schedules.
public struct SimulatorWorld: Sendable {
    public var workspace: String
    public var spaces: [SimSpace]
    public var dataSources: [SimDataSource]
    public var datasets: [SimReport]
    public var schedules: [SimSchedule]
    /// Reports that are not datasets.
    public var reports: [SimReport] = []
    /// Every run, oldest first.
    public var runs: [SimRun] = []

    /// A report or dataset by token.
    public func report(_ token: String) -> SimReport? {
        self.reports.first { $0.token == token } ?? self.datasets.first { $0.token == token }
    }

    /// The runs of a report, oldest first.
    public func runs(of report: String) -> [SimRun] { self.runs.filter { $0.reportToken == report } }

    /// The latest run of a report that has succeeded by `now`.
    public func lastSuccessfulRun(of report: String, at now: Double) -> SimRun? {
        self.runs(of: report).last { $0.state(at: now) == "succeeded" }
    }

    /// The demo world: a few collections, about a hundred datasets, and schedules. Deterministic,
    /// so tests and docs can name its tokens.
    public static func demo(workspace: String = "demo", datasetCount: Int = 104) -> SimulatorWorld {
        let spaces = [
            SimSpace(token: "sp-finance", name: "Finance"),
            SimSpace(token: "sp-growth", name: "Growth"),
            SimSpace(token: "sp-product", name: "Product Analytics"),
            SimSpace(token: "sp-empty", name: "Archive"),
        ]
        let dataSources = [
            SimDataSource(token: "ds-warehouse", name: "Snowflake warehouse", adapter: "jdbc:snowflake"),
            SimDataSource(token: "ds-postgres", name: "Product Postgres", adapter: "jdbc:postgresql"),
        ]
        let topics = [
            "Revenue", "Signups", "Churn", "Active users", "Orders", "Refunds", "Sessions", "Trials",
            "Invoices", "Retention", "Funnel", "Inventory", "Latency", "Support tickets",
        ]
        let base = 1_700_000_000  // 2023-11-14T22:13:20Z
        var datasets: [SimReport] = []
        for index in 0..<datasetCount {
            let topic = topics[index % topics.count]
            datasets.append(
                SimReport(
                    id: 10_000 + index,
                    token: index == 0 ? "ds0001" : "ds" + Self.pad(index + 1, to: 4),
                    name: "\(topic) by \(["day", "week", "month", "region"][index % 4]) #\(index + 1)",
                    description: "Seeded dataset \(index + 1): \(topic.lowercased()) figures, \"quoted\" and ünïcödé.",
                    spaceToken: spaces[index % 3].token,
                    dataSourceToken: dataSources[index % 2].token,
                    createdAt: base + index * 86_400,
                    updatedAt: base + (datasetCount - index) * 43_200 + 1_000_000,
                    queries: [
                        SimQuery(
                            token: "q\(10_000 + index)",
                            name: "\(topic) query",
                            rawQuery: "SELECT * FROM \(topic.lowercased().replacingOccurrences(of: " ", with: "_"))"
                        )
                    ],
                    defaultRows: 3 + index % 5
                )
            )
        }
        datasets.append(
            SimReport(
                id: 99_999,
                token: "restricted",
                name: "Payroll",
                description: "Visible to HR only.",
                spaceToken: "sp-finance",
                dataSourceToken: "ds-warehouse",
                createdAt: base,
                updatedAt: base,
                restricted: true,
                queries: [SimQuery(token: "q99999", name: "Salaries", rawQuery: "SELECT * FROM payroll")]
            )
        )
        let reports = Self.demoReports(base: base, spaces: spaces, dataSources: dataSources, datasets: datasets)
        var runs: [SimRun] = []
        for report in datasets + reports {
            for (index, token) in Self.seededRuns(of: report).enumerated() {
                runs.append(
                    SimRun(
                        token: token,
                        reportToken: report.token,
                        parameters: .object([]),
                        rows: nil,
                        createdAt: Double(report.updatedAt + 600 * (index + 1)),
                        duration: 0,
                        fails: token.hasSuffix("-failed")
                    )
                )
            }
        }
        var schedules: [SimSchedule] = []
        for (index, dataset) in datasets.enumerated() where index % 3 != 2 {
            for slot in 0..<(index % 2 == 0 ? 2 : 1) {
                schedules.append(
                    SimSchedule(
                        token: "sch\(Self.pad(index + 1, to: 4))\(slot)",
                        name: slot == 0 ? "Nightly refresh" : "Hourly refresh",
                        datasetToken: dataset.token,
                        cron: slot == 0 ? "0 2 * * *" : "0 * * * *",
                        createdAt: dataset.createdAt + 3_600 * (slot + 1)
                    )
                )
            }
        }
        return SimulatorWorld(
            workspace: workspace,
            spaces: spaces,
            dataSources: dataSources,
            datasets: datasets,
            schedules: schedules,
            reports: reports,
            runs: runs.sorted { $0.createdAt < $1.createdAt }
        )
    }

    /// Tokens of the finished runs a report starts with: one successful run for most; a
    /// successful then a failed one for `rp-failing`; none for `rp-never`.
    static func seededRuns(of report: SimReport) -> [String] {
        switch report.token {
        case "rp-never", "restricted": []
        case "rp-failing": ["run-failing-1", "run-failing-2-failed"]
        case "rp-sales": ["run-sales-1"]
        case "rp-big": ["run-big-1"]
        default: report.isDataset ? ["run\(report.id)"] : ["run-\(report.token)-1"]
        }
    }

    /// The demo's reports: a two-query sales report, one that fails, one that never ran, one
    /// with tens of megabytes of rows, and enough plain ones to fill more than a page.
    static func demoReports(base: Int, spaces: [SimSpace], dataSources: [SimDataSource], datasets: [SimReport]) -> [SimReport] {
        func report(_ id: Int, _ token: String, _ name: String, queries: [SimQuery], space: Int, rows: Int = 5) -> SimReport {
            SimReport(
                id: id,
                token: token,
                name: name,
                description: "Seeded report: \(name.lowercased()).",
                spaceToken: spaces[space % 3].token,
                dataSourceToken: dataSources[id % 2].token,
                createdAt: base + id * 3_600,
                updatedAt: base + id * 3_600 + 86_400,
                type: "Report",
                queries: queries,
                datasetTokens: datasets.isEmpty ? [] : [datasets[id % datasets.count].token],
                defaultRows: rows
            )
        }
        var reports = [
            report(
                1,
                "rp-sales",
                "Sales overview",
                queries: [
                    SimQuery(token: "q-sales-orders", name: "Orders", rawQuery: "SELECT * FROM orders WHERE created_at > {{ since }}"),
                    SimQuery(token: "q-sales-revenue", name: "Revenue by region", rawQuery: "SELECT region, sum(amount) FROM orders GROUP BY 1"),
                ],
                space: 0
            ),
            report(
                2,
                "rp-failing",
                "Broken funnel",
                queries: [SimQuery(token: "q-funnel", name: "Funnel", rawQuery: "SELECT * FROM analytics.missing_table")],
                space: 1
            ),
            report(3, "rp-never", "Draft report", queries: [SimQuery(token: "q-draft", name: "Draft", rawQuery: "SELECT 1")], space: 2),
            // About 52 MB of JSON rows (32 MB of CSV).
            report(
                4,
                "rp-big",
                "Event export",
                queries: [SimQuery(token: "q-events", name: "Events", rawQuery: "SELECT * FROM events")],
                space: 0,
                rows: 600_000
            ),
        ]
        for index in 5...40 {
            reports.append(
                report(
                    index,
                    "rp" + Self.pad(index, to: 4),
                    "Weekly review #\(index)",
                    queries: [SimQuery(token: "q-review-\(index)", name: "Review", rawQuery: "SELECT 1")],
                    space: index
                )
            )
        }
        return reports
    }

    static func pad(_ number: Int, to width: Int) -> String {
        let text = String(number)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
