import Foundation
import Testing
import Vitals

/// grafana/dashboard-linter's rules (and mixtool's use of them), mirrored for dashboards/*.json:
/// the Go linter cannot be built here. Each check names the linter rule it stands for.
@Suite struct DeploymentDashboardLintTests {
    static let datasource = ["type": "prometheus", "uid": "${datasource}"]

    /// Grafana's unit ids (dashboard-linter `panel-units-rule` list, the ones we may use).
    static let validUnits: Set<String> = [
        "none", "short", "percent", "percentunit", "s", "ms", "µs", "ns", "m", "h", "d", "dtdurations", "bytes", "decbytes",
        "Bps", "binBps", "ops", "reqps", "rps", "wps", "iops", "cps", "cpm", "opm", "rpm", "dateTimeAsIso", "dateTimeFromNow",
        "bool", "bool_yes_no", "bool_on_off", "string",
    ]

    /// Gauges whose names end like counters (postgres_exporter's names).
    static let gaugesWithCounterSuffix: Set<String> = ["pg_stat_activity_count", "pg_locks_count", "pg_locks_waiting_count"]

    /// Counters without a counter suffix (postgres_exporter's names): they, too, may only appear in rate().
    static let countersWithoutSuffix: Set<String> =
        Set(
            ["xact_commit", "xact_rollback", "blks_read", "blks_hit", "tup_returned", "tup_fetched", "tup_inserted", "tup_updated",
             "tup_deleted", "conflicts", "temp_files", "temp_bytes", "deadlocks", "blk_read_time", "blk_write_time"].map { "pg_stat_database_" + $0 })
        .union(
            ["seq_scan", "seq_tup_read", "idx_scan", "idx_tup_fetch", "n_tup_ins", "n_tup_upd", "n_tup_del", "n_tup_hot_upd",
             "vacuum_count", "autovacuum_count", "analyze_count", "autoanalyze_count"].map { "pg_stat_user_tables_" + $0 })
        .union(indexAndArchiverCounters)

    static let indexAndArchiverCounters: [String] = {
        let indexes: [String] = ["idx_scan", "idx_tup_read", "idx_tup_fetch"].map { "pg_stat_user_indexes_" + $0 }
        let statio: [String] = ["heap", "idx", "toast", "tidx"].flatMap { (part: String) -> [String] in
            ["pg_statio_user_tables_\(part)_blocks_read", "pg_statio_user_tables_\(part)_blocks_hit"]
        }
        return indexes + statio + ["pg_stat_archiver_archived_count", "pg_stat_archiver_failed_count"]
    }()

    static func isCounter(_ name: String) -> Bool {
        if gaugesWithCounterSuffix.contains(name) { return false }
        if countersWithoutSuffix.contains(name) { return true }
        return ["_total", "_count", "_sum", "_bucket"].contains { name.hasSuffix($0) }
    }

    @Test func thereAreTheThreeDashboards() throws {
        let names = try DeploymentFiles.dashboardNames()
        #expect(names == ["vitals-overview.json", "vitals-postgres.json", "vitals-redis.json"])
    }

    @Test(arguments: try! DeploymentFiles.dashboardNames())
    func dashboardFollowsTheLinterRules(_ file: String) throws {
        let dashboard = DeploymentDashboard(file: file, json: try DeploymentFiles.json("dashboards/" + file))
        let json = dashboard.json

        // Stable identity; importable and provisionable (no __inputs / ${DS_...} references).
        #expect(dashboard.uid == String(file.dropLast(".json".count)), "uid should be the file's name")
        #expect(!dashboard.uid.isEmpty && dashboard.uid.count <= 40)
        #expect(json["id"] is NSNull, "id must be null so imports do not clash")
        #expect(json["__inputs"] == nil && json["__requires"] == nil, "__inputs are ignored by file provisioning")
        let text = try DeploymentFiles.text("dashboards/" + file)
        #expect(!text.contains("${DS_"), "a datasource input reference breaks file provisioning")
        #expect(json["editable"] as? Bool == false, "uneditable-dashboard")
        #expect(!(json["title"] as? String ?? "").isEmpty)
        #expect((json["description"] as? String ?? "").count > 10)
        #expect((json["schemaVersion"] as? Int ?? 0) >= 36)

        // template-datasource-rule
        let datasources = dashboard.variables.filter { $0["type"] as? String == "datasource" }
        #expect(datasources.count == 1, "one datasource variable")
        if let ds = datasources.first {
            #expect(ds["name"] as? String == "datasource")
            #expect(ds["label"] as? String == "Data source")
            #expect(ds["query"] as? String == "prometheus")
        }

        // template-job-rule, template-instance-rule, template-on-time-change-reload-rule, template-label-promql-rule
        for name in ["job", "instance"] {
            let variable = try #require(dashboard.variable(name), "\(file): no \(name) variable")
            #expect(variable["label"] as? String == name.capitalized)
        }
        var variableNames: Set<String> = ["__rate_interval", "__interval", "__range"]
        for variable in dashboard.variables {
            let name = variable["name"] as? String ?? ""
            variableNames.insert(name)
            guard variable["type"] as? String == "query" else { continue }
            #expect(variable["datasource"] as? [String: String] == Self.datasource, "\(file) $\(name): datasource")
            #expect(variable["multi"] as? Bool == true, "\(file) $\(name): multi-select")
            #expect(variable["includeAll"] as? Bool == true, "\(file) $\(name): include All")
            #expect(variable["allValue"] as? String == ".+", "\(file) $\(name): allValue .+")
            #expect(variable["refresh"] as? Int == 2, "\(file) $\(name): refresh on time-range change")
            let query = variable["query"] as? String ?? ""
            #expect(query.hasPrefix("label_values(") && query.hasSuffix(")"), "\(file) $\(name): label_values query")
        }

        // Layout: inside 24 columns, no two panels overlap.
        var cells: [String: String] = [:]
        for panel in dashboard.panels {
            let grid = panel["gridPos"] as? [String: Int] ?? [:]
            let (x, y, w, h) = (grid["x"] ?? -1, grid["y"] ?? -1, grid["w"] ?? 0, grid["h"] ?? 0)
            let title = panel["title"] as? String ?? "?"
            #expect(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24, "\(file) \(title): bad gridPos \(grid)")
            for cx in x..<max(x, x + w) {
                for cy in y..<max(y, y + h) {
                    if let other = cells["\(cx),\(cy)"] { Issue.record("\(file): \(title) overlaps \(other)") }
                    cells["\(cx),\(cy)"] = title
                }
            }
        }

        var ids: Set<Int> = []
        for panel in dashboard.panels {
            let title = panel["title"] as? String ?? ""
            let type = panel["type"] as? String ?? ""
            #expect(ids.insert(panel["id"] as? Int ?? -1).inserted, "\(file) \(title): duplicate panel id")
            // panel-title-description-rule
            #expect(!title.isEmpty, "\(file): a panel without title")
            #expect((panel["description"] as? String ?? "").count > 10, "\(file) \(title): no description")
            if type == "row" { continue }
            // panel-datasource-rule
            #expect(panel["datasource"] as? [String: String] == Self.datasource, "\(file) \(title): panel datasource")
            // panel-units-rule
            let unit = ((panel["fieldConfig"] as? [String: Any])?["defaults"] as? [String: Any])?["unit"] as? String ?? ""
            #expect(Self.validUnits.contains(unit), "\(file) \(title): unit '\(unit)'")
            // panel-no-targets-rule
            let targets = panel["targets"] as? [[String: Any]] ?? []
            #expect(!targets.isEmpty, "\(file) \(title): no targets")
            #expect(Set(targets.compactMap { $0["refId"] as? String }).count == targets.count, "\(file) \(title): refIds not unique")
            for target in targets {
                #expect(target["datasource"] as? [String: String] == Self.datasource, "\(file) \(title): target datasource")
                #expect(!(target["expr"] as? String ?? "").isEmpty, "\(file) \(title): empty expr")
            }
        }

        for target in dashboard.targets {
            checkExpression(target.expr, where: target.description, variables: variableNames)
        }
    }

    /// target-job-rule, target-instance-rule, target-rate-interval-rule, target-counter-agg-rule.
    func checkExpression(_ expr: String, where place: String, variables: Set<String>) {
        let selectors = DeploymentPromQL.selectors(in: expr)
        #expect(!selectors.isEmpty, "\(place): no selector found in \(expr)")
        for selector in selectors {
            let matchers = selector.matchers
            #expect(matchers.contains(.init(label: "job", op: "=~", value: "$job")), "\(place): \(selector.name) lacks job=~\"$job\"")
            #expect(
                matchers.contains(.init(label: "instance", op: "=~", value: "$instance")), "\(place): \(selector.name) lacks instance=~\"$instance\"")
            if let range = selector.range {
                #expect(range == "$__rate_interval", "\(place): \(selector.name)[\(range)] should use $__rate_interval")
                #expect(["rate", "irate", "increase"].contains(selector.function ?? ""), "\(place): range of \(selector.name) outside rate/irate/increase")
            }
            if ["rate", "irate", "increase"].contains(selector.function ?? "") {
                #expect(selector.range == "$__rate_interval", "\(place): \(selector.function!)(\(selector.name)) without [$__rate_interval]")
            }
            if Self.isCounter(selector.name) {
                #expect(
                    ["rate", "irate", "increase"].contains(selector.function ?? "") && selector.range != nil,
                    "\(place): counter \(selector.name) is not inside rate/irate/increase")
            }
        }
        // Every rate(, irate( and increase( in the text has a $__rate_interval range (belt and braces).
        for function in ["rate", "irate", "increase"] {
            let call = try! NSRegularExpression(pattern: "(?<![A-Za-z0-9_:])\(function)\\s*\\(")
            let calls = call.numberOfMatches(in: expr, range: NSRange(expr.startIndex..., in: expr))
            let covered = selectors.filter { $0.function == function && $0.range == "$__rate_interval" }.count
            #expect(calls <= covered, "\(place): \(function)( without $__rate_interval")
        }
        // Only defined variables.
        let pattern = try! NSRegularExpression(pattern: #"\$\{?([A-Za-z_][A-Za-z0-9_]*)"#)
        for match in pattern.matches(in: expr, range: NSRange(expr.startIndex..., in: expr)) {
            let name = String(expr[Range(match.range(at: 1), in: expr)!])
            #expect(variables.contains(name), "\(place): unknown variable $\(name)")
        }
    }

    /// The SLO choices are bucket bounds of vitals' default histogram, and the default is 0.2.
    @Test func sloVariableOffersBucketBoundsOnly() throws {
        let overview = DeploymentDashboard(file: "vitals-overview.json", json: try DeploymentFiles.json("dashboards/vitals-overview.json"))
        let slo = try #require(overview.variable("slo"))
        #expect((slo["current"] as? [String: Any])?["value"] as? String == "0.2")
        let bounds = Set(TimingLogConfiguration.defaultBuckets)
        for option in slo["options"] as? [[String: Any]] ?? [] {
            let value = try #require(Double(option["value"] as? String ?? ""))
            #expect(bounds.contains(value), "SLO choice \(value) is not a bucket bound")
            #expect(value != value.rounded(), "integer bounds are written \"1\" in text but \"1.0\" in OpenMetrics")
        }
    }

    /// The scanner itself, on expressions shaped like the dashboards'.
    @Test func scannerFindsSelectorsFunctionsAndRanges() {
        let expr = #"histogram_quantile(0.99, sum by (le, route) (rate(x_bucket{job=~"$job",le="0.2"}[$__rate_interval]))) / on (job) max(y{a="b,c}"})"#
        let selectors = DeploymentPromQL.selectors(in: expr)
        #expect(selectors.map(\.name) == ["x_bucket", "y"])
        #expect(selectors[0].function == "rate")
        #expect(selectors[0].range == "$__rate_interval")
        #expect(selectors[0].matchers == [.init(label: "job", op: "=~", value: "$job"), .init(label: "le", op: "=", value: "0.2")])
        #expect(selectors[1].function == "max")
        #expect(selectors[1].matchers == [.init(label: "a", op: "=", value: "b,c}")])
        let bad = DeploymentPromQL.selectors(in: "sum(http_requests_total) + rate(z[5m] offset 1h)")
        #expect(bad.map(\.name) == ["http_requests_total", "z"])
        #expect(bad[0].function == "sum" && bad[0].range == nil)
        #expect(bad[1].range == "5m")
    }

    /// Every dashboard query, with its variables substituted, is valid PromQL for promtool.
    @Test func everyQueryParsesWithPromtool() async throws {
        let promtool = try DeploymentTools.promtool()
        var rules = "groups:\n  - name: dashboard-queries\n    rules:\n"
        var count = 0
        for dashboard in try DeploymentFiles.dashboards() {
            for target in dashboard.targets {
                count += 1
                let expr = DeploymentPromQL.substitute(target.expr)
                let quoted = String(data: try JSONSerialization.data(withJSONObject: [expr], options: [.withoutEscapingSlashes]), encoding: .utf8)!
                rules += "      - record: dashboard:query:\(count)\n        expr: \(quoted.dropFirst().dropLast())\n"
            }
            for variable in dashboard.variables where variable["type"] as? String == "query" {
                count += 1
                let query = DeploymentPromQL.substitute(labelValuesSelector(variable["query"] as? String ?? ""))
                rules += "      - record: dashboard:variable:\(count)\n        expr: '\(query)'\n"
            }
        }
        let directory = try TemporaryDirectory()
        let file = directory.path + "/queries.yml"
        try rules.write(toFile: file, atomically: true, encoding: .utf8)
        let (status, output) = try await DeploymentTools.run(promtool, ["check", "rules", file])
        #expect(status == 0, "promtool rejects a dashboard query:\n\(output)")
        #expect(output.contains("\(count) rules found"))
    }
}

/// `label_values(expr, label)` → `expr`; `label_values(label)` → `label`.
func labelValuesSelector(_ query: String) -> String {
    guard query.hasPrefix("label_values("), query.hasSuffix(")") else { return query }
    let inner = String(query.dropFirst("label_values(".count).dropLast())
    guard let comma = inner.lastIndex(of: ",") else { return inner }
    return String(inner[..<comma]).trimmingCharacters(in: .whitespaces)
}

