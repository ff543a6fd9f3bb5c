import Foundation
import Testing

/// deploy/: Kubernetes manifests, compose file, Dockerfile, systemd unit and Grafana provisioning.
/// Docker and a cluster are not available here, so these check structure and consistency.
@Suite struct DeploymentManifestTests {
    // MARK: Kubernetes

    @Test func kubernetesManifestsValidateAgainstTheirSchemas() async throws {
        let python = try DeploymentTools.kubernetesValidatorPython()
        let files = [
            "deploy/kubernetes/deployment.yaml", "deploy/kubernetes/podmonitor.yaml", "deploy/kubernetes/prometheusrule.yaml",
            "deploy/kubernetes/probe.yaml",
        ]
        let (status, output) = try await DeploymentTools.run(
            python, [DeploymentFiles.path("Tests/deployment/validate_k8s.py"), "--kubernetes-version", "1.33.0"] + files.map(DeploymentFiles.path))
        #expect(status == 0, "Kubernetes schema validation:\n\(output)")
        // One line per document: probe.yaml holds four (Deployment, Service, Probe, ScrapeConfig).
        #expect(output.split(separator: "\n").filter { $0.hasPrefix("OK ") }.count == files.count + 3, "\(output)")
        #expect(!output.contains("INVALID") && !output.contains("NO SCHEMA"), "\(output)")
    }

    @Test func appPodRunsVitalsAsAHardenedNativeSidecar() throws {
        let deployment = try DeploymentFiles.yaml("deploy/kubernetes/deployment.yaml")
        #expect(deployment["kind"] as? String == "Deployment")
        let spec = try #require(deployment["spec"] as? [String: Any])
        let template = try #require(spec["template"] as? [String: Any])
        let podLabels = (template["metadata"] as? [String: Any])?["labels"] as? [String: String] ?? [:]
        let selector = (spec["selector"] as? [String: Any])?["matchLabels"] as? [String: String] ?? [:]
        #expect(!selector.isEmpty && selector.allSatisfy { podLabels[$0.key] == $0.value }, "selector must match the pod labels")
        let pod = try #require(template["spec"] as? [String: Any])

        // Native sidecar: an init container that keeps running.
        let initContainers = pod["initContainers"] as? [[String: Any]] ?? []
        let vitals = try #require(initContainers.first { $0["name"] as? String == "vitals" }, "vitals must be an initContainers entry")
        #expect(vitals["restartPolicy"] as? String == "Always", "native sidecar: restartPolicy Always")
        let app = try #require((pod["containers"] as? [[String: Any]])?.first, "the app container")

        let ports = vitals["ports"] as? [[String: Any]] ?? []
        #expect(ports.contains { $0["name"] as? String == "metrics" && $0["containerPort"] as? Int == 10188 })
        let args = vitals["args"] as? [String] ?? []
        #expect(args.contains("--web.listen-address=:10188"))

        // Probes on the metrics port: liveness /health, readiness /ready.
        func probe(_ name: String) -> [String: Any]? { (vitals[name] as? [String: Any])?["httpGet"] as? [String: Any] }
        #expect(probe("livenessProbe")?["path"] as? String == "/health")
        #expect(probe("livenessProbe")?["port"] as? String == "metrics")
        #expect(probe("readinessProbe")?["path"] as? String == "/ready")
        #expect(probe("readinessProbe")?["port"] as? String == "metrics")

        // Resources.
        let resources = vitals["resources"] as? [String: Any] ?? [:]
        #expect((resources["requests"] as? [String: Any])?["cpu"] != nil && (resources["requests"] as? [String: Any])?["memory"] != nil)
        #expect((resources["limits"] as? [String: Any])?["memory"] != nil)

        // Non-root, no capabilities, read-only root filesystem (sidecar and app alike).
        for container in [vitals, app] {
            let name = container["name"] as? String ?? "?"
            let security = container["securityContext"] as? [String: Any] ?? [:]
            #expect(security["runAsNonRoot"] as? Bool == true, "\(name): runAsNonRoot")
            #expect(security["readOnlyRootFilesystem"] as? Bool == true, "\(name): readOnlyRootFilesystem")
            #expect(security["allowPrivilegeEscalation"] as? Bool == false, "\(name): allowPrivilegeEscalation")
            #expect((security["capabilities"] as? [String: Any])?["drop"] as? [String] == ["ALL"], "\(name): drop ALL")
        }
        #expect(((vitals["securityContext"] as? [String: Any])?["runAsUser"] as? Int ?? 0) > 0)
        #expect((pod["securityContext"] as? [String: Any])?["runAsNonRoot"] as? Bool == true)

        // The timing log is shared through an emptyDir, read-only for vitals, and vitals tails a path in it.
        let volumes = pod["volumes"] as? [[String: Any]] ?? []
        let emptyDirs = Set(volumes.filter { $0["emptyDir"] != nil }.compactMap { $0["name"] as? String })
        let vitalsMounts = vitals["volumeMounts"] as? [[String: Any]] ?? []
        let appMounts = app["volumeMounts"] as? [[String: Any]] ?? []
        let shared = try #require(vitalsMounts.first { emptyDirs.contains($0["name"] as? String ?? "") }, "vitals mounts no emptyDir")
        #expect(shared["readOnly"] as? Bool == true)
        let mountPath = shared["mountPath"] as? String ?? "?"
        #expect(appMounts.contains { $0["name"] as? String == shared["name"] as? String && $0["mountPath"] as? String == mountPath }, "app shares the log volume")
        #expect(args.contains { $0.hasPrefix("--timing-log.path=" + mountPath + "/") }, "vitals tails the shared volume")
        // Every mount names a declared volume.
        let declared = Set(volumes.compactMap { $0["name"] as? String })
        for mount in vitalsMounts + appMounts { #expect(declared.contains(mount["name"] as? String ?? ""), "undeclared volume \(mount)") }
    }

    @Test func podMonitorSelectsTheAppPodsMetricsPort() throws {
        let monitor = try DeploymentFiles.yaml("deploy/kubernetes/podmonitor.yaml")
        let deployment = try DeploymentFiles.yaml("deploy/kubernetes/deployment.yaml")
        let podLabels =
            (((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["metadata"] as? [String: Any])?["labels"] as? [String: String] ?? [:]
        let spec = try #require(monitor["spec"] as? [String: Any])
        let selector = (spec["selector"] as? [String: Any])?["matchLabels"] as? [String: String] ?? [:]
        #expect(!selector.isEmpty && selector.allSatisfy { podLabels[$0.key] == $0.value }, "PodMonitor selector must match the pod labels")
        let endpoints = spec["podMetricsEndpoints"] as? [[String: Any]] ?? []
        #expect(endpoints.first?["port"] as? String == "metrics")
        #expect(endpoints.first?["path"] as? String == "/metrics")
        let relabel = endpoints.first?["relabelings"] as? [[String: Any]] ?? []
        #expect(relabel.contains { $0["targetLabel"] as? String == "job" && $0["replacement"] as? String == "vitals" }, "job=\"vitals\" for the alerts")
        let labels = (monitor["metadata"] as? [String: Any])?["labels"] as? [String: String] ?? [:]
        #expect(labels["release"] == "kube-prometheus-stack")
    }

    @Test func kustomizationListsExistingFilesAndPatchesTheReleaseLabel() throws {
        let kustomization = try DeploymentFiles.yaml("deploy/kubernetes/kustomization.yaml")
        let resources = kustomization["resources"] as? [String] ?? []
        #expect(Set(resources) == ["deployment.yaml", "podmonitor.yaml", "prometheusrule.yaml"])
        for resource in resources { #expect(DeploymentFiles.exists("deploy/kubernetes/" + resource)) }
        let patches = kustomization["patches"] as? [[String: Any]] ?? []
        let kinds = Set(patches.compactMap { ($0["target"] as? [String: Any])?["kind"] as? String })
        #expect(kinds == ["PodMonitor", "PrometheusRule"])
        for patch in patches { #expect((patch["patch"] as? String ?? "").contains("/metadata/labels/release")) }
        #expect((kustomization["images"] as? [[String: Any]])?.first?["name"] as? String == "vitals")
    }

    // MARK: Flags used in deployment files exist

    @Test func flagsUsedInDeploymentFilesExist() async throws {
        let flags = try await DeploymentTools.vitalsFlags()
        var used: [(String, String)] = []
        let deployment = try DeploymentFiles.yaml("deploy/kubernetes/deployment.yaml")
        let pod = (((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]) ?? [:]
        for container in pod["initContainers"] as? [[String: Any]] ?? [] {
            for arg in container["args"] as? [String] ?? [] where arg.hasPrefix("--") { used.append(("deployment.yaml", arg)) }
        }
        for document in try DeploymentFiles.yamlDocuments("deploy/kubernetes/probe.yaml") where document["kind"] as? String == "Deployment" {
            let pod = (((document["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]) ?? [:]
            for container in pod["containers"] as? [[String: Any]] ?? [] {
                for arg in container["args"] as? [String] ?? [] where arg.hasPrefix("--") { used.append(("probe.yaml", arg)) }
            }
        }
        let compose = try DeploymentFiles.yaml("deploy/docker-compose.yml")
        let vitals = (compose["services"] as? [String: Any])?["vitals"] as? [String: Any] ?? [:]
        for arg in vitals["command"] as? [String] ?? [] where arg.hasPrefix("--") { used.append(("docker-compose.yml", arg)) }
        let defaults = try DeploymentFiles.text("deploy/systemd/vitals.default")
        for line in defaults.split(separator: "\n") where line.hasPrefix("ARGS=") {
            for word in line.split(whereSeparator: { $0 == " " || $0 == "\"" }) where word.hasPrefix("--") { used.append(("vitals.default", String(word))) }
        }
        #expect(used.count >= 6)
        var skipped: [String] = []
        for (file, arg) in used {
            let flag = String(arg.split(separator: "=", maxSplits: 1)[0])
            let source = flag.dropFirst(2).split(separator: ".")[0]
            // Flags of sources not merged into this build are reported, not failed.
            if !flags.contains(flag), ["postgres", "redis", "slow-query"].contains(String(source)),
                !flags.contains(where: { $0.hasPrefix("--\(source).") })
            {
                skipped.append("\(file): \(flag)")
                continue
            }
            #expect(flags.contains(flag), "\(file) uses \(flag), which vitals --help does not list")
        }
        if !skipped.isEmpty { print("Deployment flags not checked (their source is not in this build): \(skipped.joined(separator: ", "))") }
    }

    /// The multi-target setup: the Probe and the ScrapeConfig reach the vitals Service, on the
    /// endpoints vitals serves, and name an auth module instead of carrying credentials.
    @Test func probeManifestsPointAtTheVitalsService() throws {
        let documents = try DeploymentFiles.yamlDocuments("deploy/kubernetes/probe.yaml")
        func document(_ kind: String) -> [String: Any]? { documents.first { $0["kind"] as? String == kind } }
        func spec(_ kind: String) -> [String: Any] { (document(kind)?["spec"] as? [String: Any]) ?? [:] }
        let service = try #require(document("Service"))
        let metadata = service["metadata"] as? [String: Any] ?? [:]
        let address = "\(metadata["name"] as? String ?? "?").\(metadata["namespace"] as? String ?? "?").svc:10188"
        let prober = spec("Probe")["prober"] as? [String: Any] ?? [:]
        #expect(prober["url"] as? String == address)
        #expect(prober["path"] as? String == "/probe")
        let scrape = spec("ScrapeConfig")
        #expect(scrape["metricsPath"] as? String == "/scrape")
        let relabelings = scrape["relabelings"] as? [[String: Any]] ?? []
        #expect(relabelings.contains { $0["targetLabel"] as? String == "__address__" && $0["replacement"] as? String == address })
        #expect(relabelings.contains { $0["targetLabel"] as? String == "__param_target" })
        #expect((scrape["params"] as? [String: Any])?["auth_module"] != nil)
        let text = try DeploymentFiles.text("deploy/kubernetes/probe.yaml")
        #expect(!text.contains("password:") && !text.contains("@"), "no credentials in the manifests")
    }

    // MARK: Compose and image

    @Test func composeFileIsConsistent() throws {
        let compose = try DeploymentFiles.yaml("deploy/docker-compose.yml")
        let services = try #require(compose["services"] as? [String: [String: Any]])
        #expect(Set(services.keys) == ["app-log", "postgres", "redis", "vitals", "prometheus", "grafana"])
        let namedVolumes = Set((compose["volumes"] as? [String: Any] ?? [:]).keys)

        var usedVolumes: Set<String> = []
        for (name, service) in services {
            #expect(service["image"] != nil || service["build"] != nil, "\(name): image or build")
            for mount in service["volumes"] as? [String] ?? [] {
                let parts = mount.split(separator: ":").map(String.init)
                #expect(parts.count >= 2, "\(name): volume \(mount)")
                let source = parts[0]
                if source.hasPrefix(".") || source.hasPrefix("/") {
                    #expect(DeploymentFiles.exists("deploy/" + source), "\(name): bind source \(source) does not exist")
                } else {
                    usedVolumes.insert(source)
                    #expect(namedVolumes.contains(source), "\(name): volume \(source) is not declared")
                }
            }
            let dependsOn: [String]
            if let list = service["depends_on"] as? [String] {
                dependsOn = list
            } else {
                dependsOn = Array((service["depends_on"] as? [String: Any] ?? [:]).keys)
            }
            for dependency in dependsOn { #expect(services[dependency] != nil, "\(name) depends on unknown \(dependency)") }
        }
        #expect(usedVolumes == namedVolumes, "declared but unused volumes: \(namedVolumes.subtracting(usedVolumes))")

        func mountTarget(_ service: String, _ source: String) -> String? {
            for mount in services[service]?["volumes"] as? [String] ?? [] {
                let parts = mount.split(separator: ":").map(String.init)
                if parts[0] == source { return parts[1] }
            }
            return nil
        }

        // The app-log writer appends where vitals reads.
        let writer = services["app-log"]?["command"] as? [String] ?? []
        #expect(writer.contains("--rate"))
        let scriptMount = try #require(mountTarget("app-log", "../scripts/gen-timing-log.py"))
        #expect(writer.contains(scriptMount))
        let logFile = try #require(writer.firstIndex(of: "--append").map { writer[$0 + 1] })
        let writerDir = try #require(mountTarget("app-log", "app-logs"))
        let readerDir = try #require(mountTarget("vitals", "app-logs"))
        #expect(logFile.hasPrefix(writerDir + "/"))
        let vitalsCommand = services["vitals"]?["command"] as? [String] ?? []
        let tailed = try #require(vitalsCommand.first { $0.hasPrefix("--timing-log.path=") }).dropFirst("--timing-log.path=".count)
        #expect(tailed.hasPrefix(readerDir + "/"))

        // vitals: built from deploy/Dockerfile, listening on the port Prometheus scrapes.
        let build = services["vitals"]?["build"] as? [String: String] ?? [:]
        #expect(DeploymentFiles.exists("deploy/" + (build["context"] ?? "?") + "/" + (build["dockerfile"] ?? "?")))
        #expect(services["vitals"]?["read_only"] as? Bool == true)
        #expect(services["vitals"]?["cap_drop"] as? [String] == ["ALL"])
        #expect(vitalsCommand.contains("--web.listen-address=:10188"))
        #expect(vitalsCommand.contains { $0.hasPrefix("--postgres.dsn=postgresql://") && $0.contains("@postgres:5432/") })
        #expect(vitalsCommand.contains("--redis.addr=redis://redis:6379"))

        // Prometheus: its config scrapes vitals:10188 and loads the mounted rules file.
        let promConfigTarget = try #require(mountTarget("prometheus", "./compose/prometheus.yml"))
        let rulesTarget = try #require(mountTarget("prometheus", "./prometheus/rules.yml"))
        #expect((services["prometheus"]?["command"] as? [String] ?? []).contains("--config.file=" + promConfigTarget))
        let promConfig = try DeploymentFiles.yaml("deploy/compose/prometheus.yml")
        #expect(promConfig["rule_files"] as? [String] == [rulesTarget])
        let scrape = (promConfig["scrape_configs"] as? [[String: Any]] ?? []).first { $0["job_name"] as? String == "vitals" }
        let targets = ((scrape?["static_configs"] as? [[String: Any]])?.first?["targets"] as? [String]) ?? []
        #expect(targets == ["vitals:10188"])

        // Grafana: provisioning mounted where Grafana reads it; the dashboards where the provider looks.
        #expect(mountTarget("grafana", "./grafana/provisioning") == "/etc/grafana/provisioning")
        let provider = try DeploymentFiles.yaml("deploy/grafana/provisioning/dashboards/vitals.yml")
        let path = ((provider["providers"] as? [[String: Any]])?.first?["options"] as? [String: Any])?["path"] as? String
        #expect(mountTarget("grafana", "../dashboards") == path)
        let datasources = try DeploymentFiles.yaml("deploy/grafana/provisioning/datasources/vitals.yml")
        let datasource = (datasources["datasources"] as? [[String: Any]])?.first ?? [:]
        #expect(datasource["type"] as? String == "prometheus")
        #expect(!(datasource["uid"] as? String ?? "").isEmpty, "a fixed datasource uid")
        #expect(datasource["url"] as? String == "http://prometheus:9090")
        let timeInterval = (datasource["jsonData"] as? [String: Any])?["timeInterval"] as? String
        #expect(timeInterval == (promConfig["global"] as? [String: Any])?["scrape_interval"] as? String, "timeInterval = scrape interval")
        #expect(provider["apiVersion"] as? Int == 1 && datasources["apiVersion"] as? Int == 1)
        #expect((provider["providers"] as? [[String: Any]])?.first?["type"] as? String == "file")
    }

    @Test func dockerfileIsMultiStageAndNonRoot() throws {
        let text = try DeploymentFiles.text("deploy/Dockerfile")
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.hasPrefix("#") }
        let froms = lines.filter { $0.hasPrefix("FROM ") }
        #expect(froms.count == 2)
        #expect(froms.first?.hasSuffix(" AS build") == true)
        #expect(text.contains("ARG SWIFT_IMAGE=swift:6.") && text.contains("-bookworm"))
        // The image builds what `make shipped` builds, by the one script.
        #expect(text.contains("RUN bash scripts/build-shipped.sh .build /out/vitals"))
        let script = try DeploymentFiles.text("scripts/build-shipped.sh")
        #expect(script.contains("swift build -c release --product vitals") && script.contains("--static-swift-stdlib"))
        #expect(script.contains("deploy/link-order.txt") && script.contains("deploy/link-order.ld"))
        #expect(try DeploymentFiles.text("Makefile").contains("bash scripts/build-shipped.sh .build-static"))
        #expect(froms.last == "FROM debian:bookworm-slim")
        for package in ["libssl3", "libhiredis0.14", "libyaml-0-2", "zlib1g", "ca-certificates", "libgssapi-krb5-2", "libldap-2.5-0"] {
            #expect(text.contains(" \(package)"), "runtime needs \(package)")
        }
        // libpq is linked in from its static archives (scripts/build-shipped.sh), not loaded.
        #expect(!text.contains("libpq5"))
        #expect(text.contains("COPY --from=build /out/vitals /usr/bin/vitals"))
        let user = try #require(lines.last { $0.hasPrefix("USER ") })
        #expect(!user.contains("root") && !user.hasPrefix("USER 0"))
        #expect(lines.contains("EXPOSE 10188"))
        #expect(text.contains(#"ENTRYPOINT ["/usr/bin/vitals"]"#))
        // What the build copies exists, and every file of deploy/ that build-shipped.sh reads is copied.
        let readByTheScript = script.split(separator: "$ROOT/deploy/").dropFirst().map { rest in
            "deploy/" + rest.prefix { $0.isLetter || $0.isNumber || "._-".contains($0) }
        }
        #expect(Set(readByTheScript).isSuperset(of: ["deploy/link-order.txt", "deploy/libpq-optional.c", "deploy/libpq-crypto.c"]))
        for copied in ["Package.swift", "Sources", "scripts/build-shipped.sh", "scripts/static-libpq.sh"] + readByTheScript {
            #expect(DeploymentFiles.exists(copied))
            #expect(text.contains(copied.split(separator: "/").last.map(String.init) ?? copied), "the image build copies \(copied)")
        }
    }

    // MARK: systemd

    static func unitKeys(_ text: String) -> [String: [String]] {
        var keys: [String: [String]] = [:]
        var section = ""
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") { section = String(line.dropFirst().dropLast()); continue }
            guard let equals = line.firstIndex(of: "=") else { continue }
            keys["\(section).\(line[..<equals])", default: []].append(String(line[line.index(after: equals)...]))
        }
        return keys
    }

    @Test func systemdUnitIsHardened() throws {
        let keys = Self.unitKeys(try DeploymentFiles.text("deploy/systemd/vitals.service"))
        let expected: [String: String] = [
            "Service.User": "vitals",
            "Service.EnvironmentFile": "/etc/default/vitals",
            "Service.ExecReload": "/bin/kill -HUP $MAINPID",
            "Service.NoNewPrivileges": "yes",
            "Service.ProtectSystem": "strict",
            "Service.ProtectHome": "yes",
            "Service.PrivateTmp": "yes",
            "Service.CapabilityBoundingSet": "",
            "Service.Restart": "on-failure",
        ]
        for (key, value) in expected { #expect(keys[key] == [value], "\(key)=\(value), found \(keys[key] ?? [])") }
        #expect(keys["Service.ExecStart"]?.first?.hasPrefix("/usr/bin/vitals serve $ARGS") == true)
        #expect(keys["Service.ReadOnlyPaths"]?.first?.contains("/var/log/app") == true)
        #expect(keys["Install.WantedBy"] == ["multi-user.target"])

        let defaults = try DeploymentFiles.text("deploy/systemd/vitals.default")
        #expect(defaults.contains("\nARGS=\""))
        #expect(defaults.contains("\n#DATA_SOURCE_NAME="))
        #expect(defaults.contains("\n#REDIS_PASSWORD_FILE="))
    }

    /// `systemd-analyze verify` on the unit, with ExecStart pointed at the vitals just built
    /// (verify insists that the binary exists). No daemon is needed for it.
    @Test func systemdAnalyzeVerifiesTheUnit() async throws {
        let analyze = try #require(TestEnvironment.tool("systemd-analyze", variable: "VITALS_TEST_SYSTEMD_ANALYZE"), "systemd-analyze not found (Debian package systemd)")
        let directory = try TemporaryDirectory()
        let unit = try DeploymentFiles.text("deploy/systemd/vitals.service").replacingOccurrences(of: "/usr/bin/vitals", with: TestEnvironment.vitalsBinary)
        try unit.write(toFile: directory.path + "/vitals.service", atomically: true, encoding: .utf8)
        let (status, output) = try await DeploymentTools.run(analyze, ["verify", directory.path + "/vitals.service"])
        #expect(status == 0, "systemd-analyze verify:\n\(output)")
        let complaints = output.split(separator: "\n").filter { $0.contains("vitals.service") }
        #expect(complaints.isEmpty, "systemd-analyze verify complains:\n\(complaints.joined(separator: "\n"))")
    }
}
