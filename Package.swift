// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "mode-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mode-gateway", targets: ["mode-gateway"]),
        .executable(name: "mode-simulator", targets: ["mode-simulator"]),
        .library(name: "ModeGateway", targets: ["ModeGateway"]),
        .library(name: "ModeSimulator", targets: ["ModeSimulator"]),
        // The properties the fuzzers in Fuzz/ check; a product so that package can link them.
        .library(name: "GatewayFuzzing", targets: ["GatewayFuzzing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: ["CommandLineArguments"]),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // A small RESP3 client on SwiftNIO, for replicas that share state through Redis.
        .target(
            name: "GatewayRedis",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ModeGateway",
            dependencies: [
                "ModeSimulator",
                "GatewayRedis",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPCompression", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("Resources/openapi-base.yaml")],
            swiftSettings: swiftSettings
        ),
        // The fuzzers' properties and Foundation's oracle for the HAL rewriter; run over the
        // corpus by the tests, and under libFuzzer by Fuzz/ (scripts/fuzz.sh).
        .target(
            name: "GatewayFuzzing",
            dependencies: ["ModeGateway"],
            swiftSettings: swiftSettings
        ),
        // zlib, for the simulator's gzip-encoded CSV (the toolchain's own zlib).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(
            name: "ModeSimulator",
            dependencies: [
                "CZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mode-gateway",
            dependencies: [
                "ModeGateway",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mode-simulator",
            dependencies: ["ModeSimulator"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mode-gateway-bench",
            dependencies: [
                "ModeGateway",
                "ModeSimulator",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/mode-gateway-bench",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ModeGatewayTests",
            dependencies: [
                "ModeGateway",
                "ModeSimulator",
                "GatewayRedis",
                "GatewayFuzzing",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayRedisTests",
            dependencies: [
                "GatewayRedis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ModeSimulatorTests",
            dependencies: [
                "ModeSimulator",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
