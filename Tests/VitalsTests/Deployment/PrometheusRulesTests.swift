import Foundation
import Testing
import Vitals

/// deploy/prometheus: promtool check/test, mixtool's alert conventions, runbook links, test coverage.
@Suite struct DeploymentPrometheusRulesTests {
    static let rulesFile = "deploy/prometheus/rules.yml"
    static let runbookBase = "https://github.com/vitals/vitals/blob/main/docs/runbook.md#"

    static func rules() throws -> [[String: Any]] {
        let groups = try DeploymentFiles.yaml(rulesFile)["groups"] as? [[String: Any]] ?? []
        return groups.flatMap { $0["rules"] as? [[String: Any]] ?? [] }
    }

    static func alerts() throws -> [[String: Any]] { try rules().filter { $0["alert"] != nil } }

    static func testFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: DeploymentFiles.path("deploy/prometheus/tests"))
            .filter { $0.hasSuffix(".yml") }.sorted().map { "deploy/prometheus/tests/" + $0 }
    }

    @Test func promtoolChecksTheRules() async throws {
        let (status, output) = try await DeploymentTools.run(try DeploymentTools.promtool(), ["check", "rules", DeploymentFiles.path(Self.rulesFile)])
        #expect(status == 0, "promtool check rules:\n\(output)")
        #expect(output.contains("SUCCESS"))
    }

    @Test func promtoolUnitTestsPass() async throws {
        let files = try Self.testFiles()
        try #require(!files.isEmpty)
        let (status, output) = try await DeploymentTools.run(try DeploymentTools.promtool(), ["test", "rules"] + files.map(DeploymentFiles.path))
        print("promtool test rules \(files.joined(separator: " ")):\n\(output)")
        #expect(status == 0, "promtool test rules:\n\(output)")
        #expect(output.components(separatedBy: "SUCCESS").count - 1 == files.count)
    }

    /// The multi-target example: promtool accepts it, each job relabels its targets into
    /// ?target= and sends the scrape to vitals, and the auth module is named, never a password.
    @Test func promtoolChecksTheProbeScrapeConfig() async throws {
        let (status, output) = try await DeploymentTools.run(
            try DeploymentTools.promtool(), ["check", "config", DeploymentFiles.path("deploy/prometheus/probe.yml")])
        #expect(status == 0, "promtool check config:\n\(output)")
        let config = try DeploymentFiles.yaml("deploy/prometheus/probe.yml")
        let jobs = config["scrape_configs"] as? [[String: Any]] ?? []
        for (name, path) in [("postgres", "/probe"), ("redis", "/scrape")] {
            let job = try #require(jobs.first { $0["job_name"] as? String == name })
            #expect(job["metrics_path"] as? String == path)
            #expect((job["params"] as? [String: Any])?["auth_module"] != nil)
            let relabel = job["relabel_configs"] as? [[String: Any]] ?? []
            #expect(relabel.first?["target_label"] as? String == "__param_target")
            #expect(relabel.contains { $0["target_label"] as? String == "__address__" && $0["replacement"] as? String == "127.0.0.1:10188" })
        }
        #expect(!(try DeploymentFiles.text("deploy/prometheus/probe.yml")).contains("password:"))
        // The example credentials file is what vitals reads.
        let modules = try ProbeAuthModule.parse(try DeploymentFiles.text("deploy/auth-modules.example.yml"))
        #expect(modules["prod"]?.username == "monitor")
    }

    @Test func promtoolChecksTheExampleScrapeConfig() async throws {
        let (status, output) = try await DeploymentTools.run(
            try DeploymentTools.promtool(), ["check", "config", DeploymentFiles.path("deploy/prometheus/prometheus.yml")])
        #expect(status == 0, "promtool check config:\n\(output)")
        let config = try DeploymentFiles.yaml("deploy/prometheus/prometheus.yml")
        let jobs = (config["scrape_configs"] as? [[String: Any]] ?? []).compactMap { $0["job_name"] as? String }
        #expect(jobs.contains("vitals"), "the alerts look for job=\"vitals\"")
    }

    /// Every alert is exercised with a firing expectation by some `promtool test rules` case.
    @Test func everyAlertHasAFiringTest() throws {
        var fired: Set<String> = []
        for file in try Self.testFiles() {
            for test in try DeploymentFiles.yaml(file)["tests"] as? [[String: Any]] ?? [] {
                for alertTest in test["alert_rule_test"] as? [[String: Any]] ?? [] {
                    if !(alertTest["exp_alerts"] as? [Any] ?? []).isEmpty, let name = alertTest["alertname"] as? String {
                        fired.insert(name)
                    }
                }
            }
        }
        let alerts = Set(try Self.alerts().compactMap { $0["alert"] as? String })
        #expect(alerts.count >= 15)
        #expect(alerts.subtracting(fired).isEmpty, "alerts without a firing promtool test: \(alerts.subtracting(fired).sorted())")
    }

    /// mixtool lint: CamelCase names; severity critical, warning or info; a static summary that is
    /// a sentence; a templated description; plus a runbook_url to an existing runbook section.
    @Test func alertsFollowMixtoolConventions() throws {
        let runbook = try DeploymentFiles.text("docs/runbook.md")
        let anchors = Set(runbook.split(separator: "\n").filter { $0.hasPrefix("## ") }.map { $0.dropFirst(3).lowercased() })
        var names: Set<String> = []
        for alert in try Self.alerts() {
            let name = alert["alert"] as? String ?? ""
            #expect(names.insert(name).inserted, "duplicate alert \(name)")
            #expect(name.range(of: #"^[A-Z][A-Za-z0-9]+$"#, options: .regularExpression) != nil, "\(name): not CamelCase")
            let labels = alert["labels"] as? [String: String] ?? [:]
            #expect(["critical", "warning", "info"].contains(labels["severity"] ?? ""), "\(name): severity \(labels["severity"] ?? "none")")
            let annotations = alert["annotations"] as? [String: String] ?? [:]
            let summary = annotations["summary"] ?? ""
            #expect(summary.first?.isUppercase == true, "\(name): summary must start with a capital")
            #expect(summary.hasSuffix("."), "\(name): summary must end with a full stop")
            #expect(!summary.contains("{{"), "\(name): summary must not be templated")
            let description = annotations["description"] ?? ""
            #expect(description.contains("{{"), "\(name): description should be templated")
            let runbookURL = annotations["runbook_url"] ?? ""
            #expect(runbookURL == Self.runbookBase + name.lowercased(), "\(name): runbook_url \(runbookURL)")
            #expect(anchors.contains(name.lowercased()), "\(name): docs/runbook.md has no '## \(name)' section")
            #expect(!(alert["expr"] as? String ?? "").isEmpty)
        }
    }

    /// Recording rules are named level:metric:operations, and the brief's names exist.
    @Test func recordingRulesAreNamedLevelMetricOperations() throws {
        let records = try Self.rules().compactMap { $0["record"] as? String }
        for record in records {
            #expect(record.range(of: #"^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$"#, options: .regularExpression) != nil, "\(record)")
        }
        for quantile in ["p50", "p95", "p99"] {
            #expect(records.contains("job_route:http_request_duration_seconds:\(quantile)_rate5m"))
        }
        #expect(records.contains("job_route:http_requests:slo_ratio_rate5m"))
        for window in ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] {
            #expect(records.contains("job:http_request_slo_errors:ratio_rate\(window)"), "burn-rate window \(window)")
        }
    }

    /// The p99 threshold alerts read the shares slower than T, which on classic buckets are the
    /// exact bucket form at bucket bounds of vitals' histogram.
    @Test func latencyAlertsUseBucketBounds() throws {
        let rules = try Self.rules()
        let alerts = try Self.alerts()
        for (name, record) in [
            ("HTTPRouteP99LatencyHigh", "job_route:http_requests_slower_than_500ms:ratio_rate5m"),
            ("HTTPRouteP99LatencyAboveSLO", "job_route:http_requests_slower_than_200ms:ratio_rate5m"),
        ] {
            let expr = try #require(alerts.first { $0["alert"] as? String == name }?["expr"] as? String)
            #expect(expr.contains(record + " > 0.01"), "\(name): p99 > T means more than 1% slower than T")
            #expect(expr.contains("job_route:http_request_duration_seconds_count:rate5m > "), "\(name): traffic guard")
        }
        for record in ["job_route:http_requests_slower_than_500ms:ratio_rate5m", "job_route:http_requests:slo_ratio_rate5m"] {
            let expr = try #require(rules.first { $0["record"] as? String == record }?["expr"] as? String)
            let le = try #require(DeploymentPromQL.selectors(in: expr).flatMap(\.matchers).first { $0.label == "le" }?.value)
            #expect(VitalsDefaultBuckets.contains(le), "\(record): le=\"\(le)\" is not a bucket bound")
        }
    }

    /// With native histograms on, Prometheus 2.42 keeps no `_bucket`, `_count` or `_sum`: every rule
    /// that reads the request histogram has a native form beside its classic one, and no alert
    /// reads the raw series (only recording rules that have both).
    @Test func latencyRulesReadClassicOrNative() throws {
        for rule in try Self.rules() {
            let name = rule["record"] as? String ?? rule["alert"] as? String ?? "?"
            let expr = rule["expr"] as? String ?? ""
            let classic = DeploymentPromQL.selectors(in: expr).filter {
                ["http_request_duration_seconds_bucket", "http_request_duration_seconds_count", "http_request_duration_seconds_sum"].contains($0.name)
            }
            if rule["alert"] != nil {
                #expect(classic.isEmpty && !expr.contains("http_request_duration_seconds{"), "\(name) reads the raw histogram")
                continue
            }
            guard !classic.isEmpty, name != "job_route:http_request_duration_seconds_bucket:rate5m" else { continue }
            #expect(expr.contains("\nor\n") && expr.contains("rate(http_request_duration_seconds["), "\(name) has no native form")
        }
    }
}

/// vitals' default request-duration bounds; integer bounds are left out (their `le` is "1" in the
/// text format but "1.0" in OpenMetrics).
enum VitalsDefaultBuckets {
    static func contains(_ le: String) -> Bool {
        guard let value = Double(le) else { return false }
        return TimingLogConfiguration.defaultBuckets.contains(value) && value != value.rounded() && le == String(value)
    }
}
