// swift-tools-version:6.2
// libFuzzer harnesses for vitals' parsers. Not part of the main build (a fuzzer target has no
// `main`); run them with `bash Fuzz/run.sh`, which builds with `-sanitize=fuzzer,address`.
import PackageDescription

let package = Package(
    name: "vitals-fuzz",
    dependencies: [.package(name: "vitals", path: "..")],
    targets: [
        .executableTarget(name: "FuzzTimingLog", dependencies: [.product(name: "Vitals", package: "vitals")]),
        .executableTarget(name: "FuzzConfiguration", dependencies: [.product(name: "Vitals", package: "vitals")]),
        .executableTarget(name: "FuzzPostgresLog", dependencies: [.product(name: "Vitals", package: "vitals")]),
        .executableTarget(name: "FuzzFingerprint", dependencies: [.product(name: "Vitals", package: "vitals")]),
        .executableTarget(name: "FuzzRedis", dependencies: [.product(name: "Vitals", package: "vitals")]),
    ]
)
