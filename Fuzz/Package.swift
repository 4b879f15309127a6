// swift-tools-version: 6.1
// libFuzzer targets for the HAL rewriter and the query parser. A package of its own, because
// they are built with `-sanitize=fuzzer,address -parse-as-library`, flags the gateway's own build must not see,
// and link only with libFuzzer. Build and run them with scripts/fuzz.sh.
import PackageDescription

let package = Package(
    name: "mode-gateway-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "mode-gateway", path: "..")],
    targets: [
        .target(name: "CFuzzer"),
        .executableTarget(name: "FuzzHAL", dependencies: ["CFuzzer", .product(name: "GatewayFuzzing", package: "mode-gateway")]),
        .executableTarget(name: "FuzzQuery", dependencies: ["CFuzzer", .product(name: "GatewayFuzzing", package: "mode-gateway")]),
    ]
)
