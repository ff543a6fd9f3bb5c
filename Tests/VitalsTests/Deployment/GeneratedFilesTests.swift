import Foundation
import Testing

/// The committed dashboards and PrometheusRule are exactly what their generators produce.
@Suite struct DeploymentGeneratedFilesTests {
    @Test func dashboardsMatchTheirGenerator() async throws {
        let directory = try TemporaryDirectory()
        let (status, output) = try await DeploymentTools.run(
            try DeploymentTools.python(), [DeploymentFiles.path("scripts/gen-dashboards.py"), directory.path])
        try #require(status == 0, "gen-dashboards.py failed: \(output)")
        let generated = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(generated == (try DeploymentFiles.dashboardNames()), "dashboards/ and the generator's output list different files")
        for name in generated {
            let fresh = try String(contentsOfFile: directory.path + "/" + name, encoding: .utf8)
            let committed = try DeploymentFiles.text("dashboards/" + name)
            #expect(fresh == committed, "dashboards/\(name) is stale: run python3 scripts/gen-dashboards.py and commit the result")
        }
    }

    @Test func prometheusRuleMatchesItsGeneratorAndTheRulesFile() async throws {
        let directory = try TemporaryDirectory()
        let output = directory.path + "/prometheusrule.yaml"
        let (status, log) = try await DeploymentTools.run(
            try DeploymentTools.python(), [DeploymentFiles.path("scripts/gen-prometheusrule.py"), output])
        try #require(status == 0, "gen-prometheusrule.py failed: \(log)")
        let fresh = try String(contentsOfFile: output, encoding: .utf8)
        let committed = try DeploymentFiles.text("deploy/kubernetes/prometheusrule.yaml")
        #expect(fresh == committed, "deploy/kubernetes/prometheusrule.yaml is stale: run python3 scripts/gen-prometheusrule.py and commit it")

        // Structurally: the CR's spec is the rules file.
        let rule = try DeploymentFiles.yaml("deploy/kubernetes/prometheusrule.yaml")
        let rules = try DeploymentFiles.yaml("deploy/prometheus/rules.yml")
        #expect(rule["apiVersion"] as? String == "monitoring.coreos.com/v1")
        #expect(rule["kind"] as? String == "PrometheusRule")
        #expect(deploymentValuesEqual(rule["spec"], rules), "PrometheusRule spec differs from deploy/prometheus/rules.yml")
        let labels = (rule["metadata"] as? [String: Any])?["labels"] as? [String: String] ?? [:]
        #expect(labels["release"] == "kube-prometheus-stack", "kube-prometheus-stack selects rules by its release label")

        // And the spec, extracted into a plain rule file, passes promtool.
        let specFile = directory.path + "/spec.yml"
        try String(fresh[fresh.range(of: "spec:\n")!.upperBound...]).split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("  ") ? String($0.dropFirst(2)) : String($0) }.joined(separator: "\n")
            .write(toFile: specFile, atomically: true, encoding: .utf8)
        let (checkStatus, checkOutput) = try await DeploymentTools.run(try DeploymentTools.promtool(), ["check", "rules", specFile])
        #expect(checkStatus == 0, "promtool check rules on the PrometheusRule spec: \(checkOutput)")
    }

    @Test func prometheusRuleLabelsCanBeChanged() async throws {
        let (status, output) = try await DeploymentTools.run(
            try DeploymentTools.python(),
            [DeploymentFiles.path("scripts/gen-prometheusrule.py"), "--label", "release=monitoring", "--namespace", "observability", "-"])
        try #require(status == 0, "\(output)")
        let parsed = try #require(try DeploymentFiles.yamlText(output) as? [String: Any])
        let metadata = parsed["metadata"] as? [String: Any] ?? [:]
        #expect(metadata["namespace"] as? String == "observability")
        #expect(metadata["labels"] as? [String: String] == ["release": "monitoring"])
    }
}
