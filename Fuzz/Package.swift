// swift-tools-version:6.2
// libFuzzer harnesses for vitals' parsers. Not part of the main build (a fuzzer target has no
// `main`); run them with `bash Fuzz/run.sh`, which builds with `-sanitize=fuzzer,address`.
import PackageDescription

let package = Package(
    name: "vitals-fuzz",
    dependencies: [.package(name: "vitals", path: "..")],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzTimingLog", dependencies: ["FuzzDriver", .product(name: "Vitals", package: "vitals")]),
        .executableTarget(name: "FuzzConfiguration", dependencies: ["FuzzDriver", .product(name: "Vitals", package: "vitals")]),
        .executableTarget(name: "FuzzPostgresLog", dependencies: ["FuzzDriver", .product(name: "Vitals", package: "vitals")]),
        .executableTarget(name: "FuzzFingerprint", dependencies: ["FuzzDriver", .product(name: "Vitals", package: "vitals")]),
        .executableTarget(name: "FuzzRedaction", dependencies: ["FuzzDriver", .product(name: "Vitals", package: "vitals")]),
        .executableTarget(name: "FuzzRedis", dependencies: ["FuzzDriver", .product(name: "Vitals", package: "vitals")]),
    ]
)
