/// Mode-shaped HAL documents for benchmarks: the same renderer the simulator serves with.
public enum SamplePayloads {
    /// One dataset as `GET /{workspace}/datasets/{token}` answers it, `_embedded` included.
    public static func dataset(workspace: String = "demo") -> String {
        let world = SimulatorWorld.demo(workspace: workspace, datasetCount: 1)
        let run = world.runs(of: world.datasets[0].token).last
        return HALRenderer(workspace: workspace).report(world.datasets[0], detail: .full, lastRun: run, lastSuccessfulRun: run).serialized
    }

    /// One page holding `count` datasets, as a list route answers it (the whole list on one page).
    public static func datasetList(count: Int, workspace: String = "demo") -> String {
        let world = SimulatorWorld.demo(workspace: workspace, datasetCount: count)
        let renderer = HALRenderer(workspace: workspace)
        let items = world.datasets.filter { !$0.restricted }.map { dataset in
            let run = world.runs(of: dataset.token).last
            return renderer.report(dataset, detail: .summary, lastRun: run, lastSuccessfulRun: run)
        }
        return renderer.collection(
            items: items,
            itemsKey: "reports",
            selfPath: "/api/\(workspace)/spaces/sp-finance/datasets",
            page: 1,
            hasNext: false,
            totalCount: items.count,
            pageSize: items.count
        ).serialized
    }
}
