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

/// A Mode dataset (Mode's API calls it a report of type Dataset).
public struct SimDataset: Sendable, Equatable {
    public var id: Int
    public var token: String
    public var name: String
    public var description: String
    public var spaceToken: String
    public var dataSourceToken: String
    /// Seconds since 1970.
    public var createdAt: Int
    public var updatedAt: Int
    /// When set, Mode forbids this dataset to the API user (403).
    public var restricted = false
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
    public var datasets: [SimDataset]
    public var schedules: [SimSchedule]

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
        var datasets: [SimDataset] = []
        for index in 0..<datasetCount {
            let topic = topics[index % topics.count]
            datasets.append(
                SimDataset(
                    id: 10_000 + index,
                    token: index == 0 ? "ds0001" : "ds" + Self.pad(index + 1, to: 4),
                    name: "\(topic) by \(["day", "week", "month", "region"][index % 4]) #\(index + 1)",
                    description: "Seeded dataset \(index + 1): \(topic.lowercased()) figures, \"quoted\" and ünïcödé.",
                    spaceToken: spaces[index % 3].token,
                    dataSourceToken: dataSources[index % 2].token,
                    createdAt: base + index * 86_400,
                    updatedAt: base + (datasetCount - index) * 43_200 + 1_000_000
                )
            )
        }
        datasets.append(
            SimDataset(
                id: 99_999,
                token: "restricted",
                name: "Payroll",
                description: "Visible to HR only.",
                spaceToken: "sp-finance",
                dataSourceToken: "ds-warehouse",
                createdAt: base,
                updatedAt: base,
                restricted: true
            )
        )
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
            schedules: schedules
        )
    }

    static func pad(_ number: Int, to width: Int) -> String {
        let text = String(number)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
