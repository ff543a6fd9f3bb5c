// swift-tools-version:6.1
// Micro-benchmarks of vitals' hot paths with ordo-one/benchmark (time, CPU and allocations).
// A separate package so the main build and CI never compile the benchmark framework.
//   cd Benchmarks && swift package benchmark        (or `make bench-micro` from the root)
import PackageDescription

let package = Package(
    name: "VitalsBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        // Named: a path dependency is otherwise identified by its folder name, which differs per clone.
        .package(name: "vitals", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "VitalsBenchmarks",
            dependencies: [
                .product(name: "Vitals", package: "vitals"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/VitalsBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
