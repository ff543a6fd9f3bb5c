extension FindingRules {
    /// Intervals (pairs of consecutive frames) a correlation needs before it counts.
    static let cacheCorrelationMinIntervals = 8
    /// A correlation this strong between a Redis server's misses and a route's latency, over the window.
    static let cacheCorrelationMin = 0.8

    /// The third cache signal: a slow route whose latency rises and falls with a Redis server's
    /// misses, interval by interval. A cache that misses when the route is slow is the route's
    /// bottleneck even when the overall hit ratio looks fine (one hot key expiring, a cold cache
    /// after a deploy). Only routes over target are looked at, and only with enough intervals in
    /// which both moved: a correlation of a flat series means nothing.
    static func cacheMissesTrackRoutes(_ inputs: FindingInputs, slowRoutes: [String]) -> [Finding] {
        let frames = inputs.frames
        guard frames.count > cacheCorrelationMinIntervals, !slowRoutes.isEmpty else { return [] }
        var findings: [Finding] = []
        let targets = Set(inputs.latest.scalars("redis_keyspace_misses_total").map(\.labels))
        for labels in targets {
            // Misses per second in each interval.
            var misses: [Double?] = []
            for (earlier, later) in zip(frames, frames.dropFirst()) {
                let elapsed = later.time - earlier.time
                guard elapsed > 0, let after = later.value("redis_keyspace_misses_total", labels: labels),
                    let before = earlier.value("redis_keyspace_misses_total", labels: labels), after >= before
                else {
                    misses.append(nil)
                    continue
                }
                misses.append((after - before) / elapsed)
            }
            for route in slowRoutes {
                // The route's mean latency in each interval it served requests.
                var pairs: [(Double, Double)] = []
                for (index, (earlier, later)) in zip(frames, frames.dropFirst()).enumerated() {
                    guard let missRate = misses[index], let counts = later.routes[route] else { continue }
                    let interval = counts.since(earlier.routes[route])
                    guard interval.count > 0 else { continue }
                    pairs.append((missRate, interval.sum / Double(interval.count)))
                }
                guard pairs.count >= cacheCorrelationMinIntervals, let correlation = pearson(pairs), correlation >= cacheCorrelationMin else { continue }
                let subject = (labels["target"] ?? "redis") + " for " + route
                findings.append(
                    Finding(
                        kind: .cacheIneffective, subject: subject, route: route,
                        evidence: [
                            Finding.Evidence("misses_latency_correlation", correlation, unit: "ratio", window: inputs.window),
                            Finding.Evidence("intervals", Double(pairs.count), unit: "count", window: inputs.window),
                            Finding.Evidence(
                                "misses_per_minute", (pairs.map(\.0).reduce(0, +) / Double(pairs.count)) * 60, unit: "per_minute", window: inputs.window),
                        ],
                        action: "\(route) is slow when Redis misses: its latency rose and fell with the misses over \(pairs.count) intervals (correlation \(SampleValue.format((correlation * 100).rounded() / 100))). The route falls through to the database on a miss; look at the TTLs and the expiry of the keys it reads (many expiring at once, a cold cache after a deploy), and warm or refresh them before they expire.",
                        impactSecondsPerMinute: nil))
            }
        }
        return findings
    }

    /// Pearson's correlation of the pairs; nil when either side does not vary.
    static func pearson(_ pairs: [(Double, Double)]) -> Double? {
        let count = Double(pairs.count)
        guard count > 1 else { return nil }
        let meanX = pairs.map(\.0).reduce(0, +) / count
        let meanY = pairs.map(\.1).reduce(0, +) / count
        var covariance = 0.0
        var varianceX = 0.0
        var varianceY = 0.0
        for (x, y) in pairs {
            covariance += (x - meanX) * (y - meanY)
            varianceX += (x - meanX) * (x - meanX)
            varianceY += (y - meanY) * (y - meanY)
        }
        guard varianceX > 0, varianceY > 0 else { return nil }
        return covariance / (varianceX * varianceY).squareRoot()
    }
}
