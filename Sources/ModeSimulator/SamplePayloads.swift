/// Mode-shaped HAL documents for benchmarks: the same renderer the simulator serves with.
public enum SamplePayloads {
    /// One dataset as `GET /{workspace}/datasets/{token}` answers it, `_embedded` included.
    public static func dataset(workspace: String = "demo") -> String {
        let world = SimulatorWorld.demo(workspace: workspace, datasetCount: 1)
        return HALRenderer(workspace: workspace).dataset(world.datasets[0], detail: .full).serialized
    }

    /// One page holding `count` datasets, as a list route answers it (the whole list on one page).
    public static func datasetList(count: Int, workspace: String = "demo") -> String {
        let world = SimulatorWorld.demo(workspace: workspace, datasetCount: count)
        let renderer = HALRenderer(workspace: workspace)
        let items = world.datasets.filter { !$0.restricted }.map { renderer.dataset($0, detail: .summary) }
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
