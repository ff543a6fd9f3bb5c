/// The timing-log source's settings, validated.
public struct TimingLogConfiguration: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case starlette, nginx, json, regex
        case gunicorn, apache, caddy, haproxy, traefik, envoy, alb, heroku
    }

    /// 14 bounds a decade from 0.5 ms to 10 s, no step wider than 21 % (1.2 to 1.45): a quantile
    /// interpolated by `histogram_quantile` lies in the true quantile's bucket, so it is off by less
    /// than one step whatever the traffic, and by far less on smooth latencies (BENCHMARKS.md). The
    /// bounds are round so the usual objectives are exact: 0.1, 0.2 (the "95 % under 200 ms" goal),
    /// 0.25, 0.3, 0.5 and 1 s are bounds, and the share of requests under them is counted, not estimated.
    public static let defaultBuckets: [Double] = [
        0.0005, 0.0006, 0.0007, 0.00084,
        0.001, 0.0012, 0.00145, 0.0017, 0.002, 0.00225, 0.0025, 0.003, 0.0035, 0.0042, 0.005, 0.006, 0.007, 0.0084,
        0.01, 0.012, 0.0145, 0.017, 0.02, 0.0225, 0.025, 0.03, 0.035, 0.042, 0.05, 0.06, 0.07, 0.084,
        0.1, 0.12, 0.145, 0.17, 0.2, 0.225, 0.25, 0.3, 0.35, 0.42, 0.5, 0.6, 0.7, 0.84,
        1, 1.2, 1.45, 1.7, 2, 2.25, 2.5, 3, 3.5, 4.2, 5, 6, 7, 8.4,
        10,
    ]

    /// The widest step of ``defaultBuckets``, as a ratio of the lower bound: the worst case of a
    /// quantile's error on the classic buckets.
    public static var defaultBucketsWidestStep: Double {
        zip(defaultBuckets, defaultBuckets.dropFirst()).map { $1 / $0 - 1 }.max() ?? 0
    }

    /// What one entry of `timing-log.inputs` may set; everything else (buckets, routes, limits)
    /// is shared by all inputs.
    public static let inputKeys = [
        "name", "path", "format", "from-beginning", "nginx.upstream-time", "starlette.status", "json.method-field", "json.path-field",
        "json.status-field", "json.duration-field", "regex", "duration-unit",
    ]

    public static let keys: [ConfigurationKey] = [
        ConfigurationKey("timing-log.path", .strings, help: "Timing log to tail; repeatable; globs allowed; - for standard input. The source is off without it."),
        ConfigurationKey(
            "timing-log.inputs", .inputs(keys: inputKeys),
            help: "Several timing logs with a format each: a list of {name, path, format, …}; series then carry an input label (the name, by default the format)."),
        ConfigurationKey("timing-log.name", .string, help: "With timing-log.inputs: the input label of one input's series."),
        ConfigurationKey("timing-log.format", .string, default: .string("starlette"), help: "Line format: starlette, nginx, gunicorn, apache, caddy, haproxy, traefik, envoy, alb, heroku, json or regex."),
        ConfigurationKey("timing-log.from-beginning", .bool, default: .bool(false), help: "Read files present at start from their beginning instead of their end."),
        ConfigurationKey("timing-log.slow-threshold", .duration, default: .duration(.milliseconds(200)), help: "Requests slower than this count in http_slow_requests_total."),
        ConfigurationKey("timing-log.buckets", .doubles, help: "Histogram bucket upper bounds in seconds, comma-separated (default: 61 bounds from 0.5ms to 10s, steps of at most 21 %)."),
        ConfigurationKey(
            "timing-log.native-histograms", .bool, default: .bool(true),
            help: "Also keep native (exponential) buckets, served to scrapers that ask for protobuf; classic buckets are always kept."),
        ConfigurationKey(
            "timing-log.native-histogram-schema", .int, default: .int(NativeHistogramOptions.defaultSchema),
            help: "Native histogram resolution, -4 to 8: each power of two splits into 2^schema buckets (5: about 2 % wide)."),
        ConfigurationKey(
            "timing-log.route", .strings,
            help: "Route template such as /markets/{id}/applications, or with its method, GET /markets/{id}, whose series then start at 0; repeatable; wins over automatic templating."),
        ConfigurationKey("timing-log.max-routes", .int, default: .int(200), help: "Distinct routes kept; requests on further routes count under route=\"__other__\"."),
        ConfigurationKey("timing-log.max-line-length", .int, default: .int(65_536), help: "Longer lines are skipped and counted as oversized."),
        ConfigurationKey("timing-log.poll-interval", .duration, default: .duration(.seconds(2)), help: "How often a log that is being written is read (standard input: 1s unless set); an idle one is read when inotify reports a change, or after 5s, growing to 1m while it stays quiet."),
        ConfigurationKey(
            "timing-log.nginx.upstream-time", .string, default: .string("absent"),
            help: "nginx format: absent (lines end with $request_time), logged (they end with $request_time $upstream_response_time; $request_time is observed) or observed (the same, observing the sum of upstream times)."),
        ConfigurationKey("timing-log.json.method-field", .string, default: .string("method"), help: "json format: the field holding the HTTP method."),
        ConfigurationKey("timing-log.json.path-field", .string, default: .string("path"), help: "json format: the field holding the request path."),
        ConfigurationKey(
            "timing-log.starlette.status", .bool, default: .bool(false),
            help: "starlette format: lines end with a status (status=500 or -> 500), published as the status_class label."),
        ConfigurationKey("timing-log.json.status-field", .string, default: .string("status"), help: "json format: the field holding the HTTP status; empty for none."),
        ConfigurationKey("timing-log.json.duration-field", .string, default: .string("duration_ms"), help: "json format: the field holding the duration."),
        ConfigurationKey("timing-log.regex", .string, help: "regex format: a pattern with named groups method, path, duration and optionally status."),
        ConfigurationKey("timing-log.duration-unit", .string, default: .string("ms"), help: "json and regex formats: the duration's unit: s, ms, us or ns."),
    ]

    public var paths: [String]
    public var format: Format
    public var fromBeginning: Bool
    public var slowThreshold: Double
    public var buckets: [Double]
    public var nativeHistogram: NativeHistogramOptions?
    /// The templates' paths, for the templater.
    public var routes: [String]
    /// Templates given with their method: their series exist from start-up, at 0, so `rate()`
    /// counts a route's first requests too.
    public var declaredRoutes: [DeclaredRoute]

    public struct DeclaredRoute: Sendable, Equatable {
        public var method: String
        public var route: String
    }
    public var maxRoutes: Int
    public var maxLineLength: Int
    public var pollInterval: Duration
    public var parser: any TimingLineParser
    /// The `input` label's value, set only when several inputs share the families.
    public var inputName: String?
    /// Whether the series carry `status_class`: the parser's status, unless another input's
    /// parser has one too (families shared by inputs have one label set; a line without status
    /// then counts under `unknown`).
    public var statusLabel: Bool

    /// One configuration per input: `timing-log.inputs`' entries, or the single input of the
    /// flags; none when no path is set.
    public static func inputs(values: ConfigurationValues) throws(ConfigurationError) -> [TimingLogConfiguration] {
        let entries = values.inputs("timing-log.inputs")
        guard !entries.isEmpty else {
            let single = try TimingLogConfiguration(values: values)
            return single.paths.isEmpty ? [] : [single]
        }
        guard !values.isSet("timing-log.path") else {
            throw ConfigurationError(.invalidValue, key: "timing-log.inputs", "set either timing-log.path or timing-log.inputs, not both")
        }
        var inputs: [TimingLogConfiguration] = []
        for (index, entry) in entries.enumerated() {
            var input: TimingLogConfiguration
            do {
                input = try TimingLogConfiguration(values: values.overlaid(with: entry))
            } catch {
                let relative = error.key.hasPrefix("timing-log.") ? String(error.key.dropFirst("timing-log.".count)) : error.key
                throw ConfigurationError(error.code, key: "timing-log.inputs[\(index)].\(relative)", error.message)
            }
            guard !input.paths.isEmpty else {
                throw ConfigurationError(.missingValue, key: "timing-log.inputs[\(index)].path", "every input needs a path")
            }
            if case .string(let name)? = entry["timing-log.name"] {
                guard !name.isEmpty, name.utf8.count <= 64 else {
                    throw ConfigurationError(.invalidValue, key: "timing-log.inputs[\(index)].name", "must be 1 to 64 bytes")
                }
                input.inputName = name
            } else {
                input.inputName = input.format.rawValue
            }
            inputs.append(input)
        }
        // Two readers of one pipe would split its lines between them, each seeing a random half.
        if inputs.filter({ $0.paths.contains(LogTailer.standardInputPattern) }).count > 1 {
            throw ConfigurationError(.invalidValue, key: "timing-log.inputs", "only one input can read standard input (-)")
        }
        let names = inputs.compactMap(\.inputName)
        if let duplicate = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw ConfigurationError(.invalidValue, key: "timing-log.inputs", "two inputs are named '\(duplicate)'; give each a distinct name")
        }
        if inputs.count == 1 {
            inputs[0].inputName = nil
        } else {
            let anyStatus = inputs.contains { $0.parser.hasStatus }
            for index in inputs.indices { inputs[index].statusLabel = anyStatus }
        }
        return inputs
    }

    public init(values: ConfigurationValues) throws(ConfigurationError) {
        paths = values.strings("timing-log.path")
        guard let format = Format(rawValue: values.string("timing-log.format") ?? "starlette") else {
            throw ConfigurationError(
                .invalidValue, key: "timing-log.format",
                "'\(values.string("timing-log.format") ?? "")' is not one of \(Format.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.format = format
        fromBeginning = values.bool("timing-log.from-beginning")
        slowThreshold = values.duration("timing-log.slow-threshold")?.seconds ?? 0.2
        let buckets = values.doubles("timing-log.buckets")
        if values.isSet("timing-log.buckets") {
            guard !buckets.isEmpty, buckets.allSatisfy({ $0 > 0 }), zip(buckets, buckets.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw ConfigurationError(.invalidValue, key: "timing-log.buckets", "bounds must be positive and strictly ascending")
            }
            guard buckets.count <= 200 else {
                throw ConfigurationError(.invalidValue, key: "timing-log.buckets", "at most 200 bounds")
            }
            self.buckets = buckets
        } else {
            self.buckets = Self.defaultBuckets
        }
        if values.bool("timing-log.native-histograms") {
            let schema = values.int("timing-log.native-histogram-schema") ?? NativeHistogramOptions.defaultSchema
            do {
                nativeHistogram = try NativeHistogramOptions(schema: schema)
            } catch {
                throw ConfigurationError(.invalidValue, key: "timing-log.native-histogram-schema", "must be between -4 and 8")
            }
        } else {
            nativeHistogram = nil
        }
        routes = []
        declaredRoutes = []
        for entry in values.strings("timing-log.route") {
            let parts = entry.split(separator: " ", omittingEmptySubsequences: true)
            let path = parts.last.map(String.init) ?? ""
            guard path.hasPrefix("/"), parts.count <= 2 else {
                throw ConfigurationError(.invalidValue, key: "timing-log.route", "'\(entry)' must be a path starting with '/', optionally after its method")
            }
            routes.append(path)
            if parts.count == 2 {
                let method = TimingLogIngester.normalizedMethod(String(parts[0]))
                guard method != "OTHER" else {
                    throw ConfigurationError(.invalidValue, key: "timing-log.route", "'\(parts[0])' is not an HTTP method")
                }
                declaredRoutes.append(DeclaredRoute(method: method, route: path))
            }
        }
        maxRoutes = values.int("timing-log.max-routes") ?? 200
        guard (1...100_000).contains(maxRoutes) else {
            throw ConfigurationError(.invalidValue, key: "timing-log.max-routes", "must be between 1 and 100000")
        }
        maxLineLength = values.int("timing-log.max-line-length") ?? 65_536
        guard (256...16_777_216).contains(maxLineLength) else {
            throw ConfigurationError(.invalidValue, key: "timing-log.max-line-length", "must be between 256 and 16777216")
        }
        // 2 s: a poll of a log being written costs about 190 us whatever it reads (the rotation
        // checks, the batch's merge, the wake-up), and Prometheus reads the histograms every 15 s.
        // Every second, polling was about a fifth of what vitals cost with a live log; every 100 ms,
        // most of it (BENCHMARKS.md "Cost to run"). Standard input keeps 1 s unless set: its writer
        // blocks once the pipe is full (1 MiB once the tailer grows it), so reading it half as often
        // would halve the log rate it takes without holding the writer up.
        if paths.contains(LogTailer.standardInputPattern), !values.isSet("timing-log.poll-interval") {
            pollInterval = .seconds(1)
        } else {
            pollInterval = values.duration("timing-log.poll-interval") ?? .seconds(2)
        }
        guard pollInterval >= .milliseconds(10) else {
            throw ConfigurationError(.invalidValue, key: "timing-log.poll-interval", "must be at least 10ms")
        }

        let unitName = values.string("timing-log.duration-unit") ?? "ms"
        guard let unit = DurationUnit(name: unitName) else {
            throw ConfigurationError(.invalidValue, key: "timing-log.duration-unit", "'\(unitName)' is not one of s, ms, us, ns")
        }
        switch format {
        case .starlette:
            parser = StarletteLineParser(readsStatus: values.bool("timing-log.starlette.status"))
        case .nginx:
            let upstreamName = values.string("timing-log.nginx.upstream-time") ?? "absent"
            guard let upstream = NginxLineParser.UpstreamTime(rawValue: upstreamName) else {
                throw ConfigurationError(
                    .invalidValue, key: "timing-log.nginx.upstream-time",
                    "'\(upstreamName)' is not one of \(NginxLineParser.UpstreamTime.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            parser = NginxLineParser(upstreamTime: upstream)
        case .gunicorn:
            parser = GunicornLineParser()
        case .apache:
            parser = ApacheLineParser()
        case .caddy:
            parser = JSONLineParser(configuration: .caddy)
        case .traefik:
            parser = JSONLineParser(configuration: .traefik)
        case .haproxy:
            parser = HAProxyLineParser()
        case .envoy:
            parser = EnvoyLineParser()
        case .alb:
            parser = ALBLineParser()
        case .heroku:
            parser = HerokuRouterLineParser()
        case .json:
            let status = values.string("timing-log.json.status-field") ?? "status"
            parser = JSONLineParser(
                configuration: .init(
                    methodField: values.string("timing-log.json.method-field") ?? "method",
                    pathField: values.string("timing-log.json.path-field") ?? "path",
                    statusField: status.isEmpty ? nil : status,
                    durationField: values.string("timing-log.json.duration-field") ?? "duration_ms",
                    durationUnit: unit))
        case .regex:
            guard let pattern = values.string("timing-log.regex") else {
                throw ConfigurationError(.missingValue, key: "timing-log.regex", "is required with --timing-log.format regex")
            }
            do {
                parser = try RegexLineParser(pattern: pattern, unit: unit)
            } catch {
                throw ConfigurationError(.invalidValue, key: "timing-log.regex", "\(error)")
            }
        }
        inputName = nil
        statusLabel = parser.hasStatus
    }
}
