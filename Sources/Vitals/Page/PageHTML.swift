#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `GET /`: the summary as one self-contained HTML page. Charts are SVG drawn here, the style is
/// inline, and the only script re-fetches the page to refresh it: nothing comes from the
/// internet, so the page works offline and behind the same TLS and basic auth as `/metrics`.
public struct PageHTML: Sendable {
    public var summary: PageSummary
    public var refreshSeconds: Int
    /// The links at the top: `/metrics` (its configured path), `/ready`, and the sources' endpoints.
    public var links: [(path: String, title: String)]

    public init(summary: PageSummary, refreshSeconds: Int, links: [(path: String, title: String)]) {
        self.summary = summary
        self.refreshSeconds = refreshSeconds
        self.links = links
    }

    // MARK: The page

    public func render() -> String {
        let s = summary
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>vitals</title>
            <style>\(Self.style)</style></head>
            <body>
            <header><h1>vitals</h1><nav>\(links.map { "<a href=\"\(HTMLText.escape($0.path))\">\(HTMLText.escape($0.title))</a>" }.joined(separator: " "))</nav></header>
            <main id="page" data-generated="\(HTMLText.escape(SlowQueryTime.iso8601(s.generatedAt)))">
            <p class="meta">Target: p\(HumanUnits.count(s.settings.targetQuantile * 100)) under \(HumanUnits.duration(s.settings.targetLatency)). \
            Numbers over the last \(HumanUnits.span(s.windowSeconds)); updated \(HTMLText.escape(SlowQueryTime.iso8601(s.generatedAt))).</p>

            """
        html += findingsSection()
        html += routesSection()
        html += chartsSection()
        html += statementsSection()
        html += healthSection()
        html += """
            </main>
            <script>\(Self.script(refreshSeconds: refreshSeconds))</script>
            </body></html>

            """
        return html
    }

    func findingsSection() -> String {
        let findings = summary.findings
        var html = "<section id=\"findings\"><h2>Findings</h2>\n"
        if summary.findingsEvaluatedAt == nil {
            return html + "<p class=\"quiet\">Not evaluated yet (or <code>--findings.enabled=false</code>).</p></section>\n"
        }
        if findings.isEmpty { return html + "<p class=\"ok\">Nothing found: no route over target, no known bottleneck.</p></section>\n" }
        html += "<table><thead><tr><th>Kind</th><th>Subject</th><th>Impact</th><th>Evidence</th><th>Suggested action</th></tr></thead><tbody>\n"
        for finding in findings {
            let evidence = finding.evidence.prefix(3).map { "\(HTMLText.escape($0.name)) \(HumanUnits.evidence($0))" }.joined(separator: "; ")
            html += "<tr class=\"finding\" data-kind=\"\(finding.kind.rawValue)\"><td><span class=\"bad\">\(finding.kind.rawValue)</span></td>"
            html += "<td>\(HTMLText.escape(finding.subject))</td>"
            html += "<td class=\"num\">\(finding.impactSecondsPerMinute.map { HumanUnits.duration($0) + "/min" } ?? "–")</td>"
            html += "<td>\(evidence)</td><td><code>\(HTMLText.escape(finding.action))</code></td></tr>\n"
        }
        return html + "</tbody></table></section>\n"
    }


    func routesSection() -> String {
        var html = "<section id=\"routes\"><h2>Routes</h2>\n"
        guard !summary.routes.isEmpty else { return html + "<p class=\"quiet\">No requests yet.</p></section>\n" }
        html += "<table><thead><tr><th>Route</th><th>Requests</th><th>Rate</th><th>p50</th><th>p95</th><th>p99</th></tr></thead><tbody>\n"
        for route in summary.routes {
            let mark = route.overTarget ? " class=\"bad\"" : ""
            html += "<tr class=\"route\" data-route=\"\(HTMLText.escape(route.name))\" data-requests=\"\(route.requests)\"><td>\(HTMLText.escape(route.name))</td>"
            html += "<td class=\"num\">\(route.requests)</td><td class=\"num\">\(HumanUnits.rate(route.ratePerSecond))</td>"
            html += "<td class=\"num\">\(HumanUnits.duration(route.p50))</td><td class=\"num\"><span\(mark)>\(HumanUnits.duration(route.p95))</span></td>"
            html += "<td class=\"num\">\(HumanUnits.duration(route.p99))</td></tr>\n"
        }
        return html + "</tbody></table></section>\n"
    }

    func chartsSection() -> String {
        var html = "<section id=\"charts\"><h2>The last hour</h2>\n"
        guard summary.historyTimes.count >= 2, !summary.history.isEmpty else {
            return html + "<p class=\"quiet\">The charts fill in as vitals collects (one point per interval).</p></section>\n"
        }
        html += "<div class=\"charts\">\n"
        for (index, series) in summary.history.enumerated() { html += latencyChart(series, index: index) }
        html += rateChart()
        return html + "</div></section>\n"
    }

    static let chartWidth = 360.0
    static let chartHeight = 140.0
    static let margin = (left: 44.0, right: 8.0, top: 10.0, bottom: 18.0)

    private func x(_ index: Int) -> Double {
        let times = summary.historyTimes
        guard let first = times.first, let last = times.last, last > first else { return Self.margin.left }
        return Self.margin.left + (times[index] - first) / (last - first) * (Self.chartWidth - Self.margin.left - Self.margin.right)
    }

    private static func y(_ value: Double, max: Double) -> Double {
        let plot = chartHeight - margin.top - margin.bottom
        return margin.top + plot - min(value, max) / max * plot
    }

    /// Polylines broken where a value is missing, so a gap is not drawn as a line.
    private func path(_ values: [Double?], max: Double) -> String {
        var d = ""
        var drawing = false
        for (index, value) in values.enumerated() {
            guard let value else {
                drawing = false
                continue
            }
            d += (drawing ? "L" : "M") + HumanUnits.fixed(x(index), digits: 1) + " " + HumanUnits.fixed(Self.y(value, max: max), digits: 1) + " "
            drawing = true
        }
        return d
    }

    private func frame(title: String, maxLabel: String) -> String {
        let times = summary.historyTimes
        let span = (times.last ?? 0) - (times.first ?? 0)
        return """
            <text class="title" x="\(Self.margin.left)" y="9">\(HTMLText.escape(title))</text>\
            <line class="axis" x1="\(Self.margin.left)" y1="\(Self.chartHeight - Self.margin.bottom)" x2="\(Self.chartWidth - Self.margin.right)" y2="\(Self.chartHeight - Self.margin.bottom)"/>\
            <text class="tick" x="\(Self.margin.left - 4)" y="\(Self.margin.top + 8)" text-anchor="end">\(maxLabel)</text>\
            <text class="tick" x="\(Self.margin.left - 4)" y="\(Self.chartHeight - Self.margin.bottom)" text-anchor="end">0</text>\
            <text class="tick" x="\(Self.margin.left)" y="\(Self.chartHeight - 4)">−\(HumanUnits.span(span))</text>\
            <text class="tick" x="\(Self.chartWidth - Self.margin.right)" y="\(Self.chartHeight - 4)" text-anchor="end">now</text>
            """
    }

    /// One route's p95 and p99 against the target. The p95 line is drawn twice: whole in its own
    /// colour, and in red clipped to the band above the target, so only the stretches over the
    /// target are red.
    func latencyChart(_ series: PageHistory.Series, index: Int) -> String {
        let target = summary.settings.targetLatency
        let highest = (series.p99 + series.p95).compactMap { $0 }.max() ?? 0
        let top = Swift.max(target * 1.5, highest * 1.1)
        let targetY = HumanUnits.fixed(Self.y(target, max: top), digits: 1)
        let p95 = path(series.p95, max: top)
        let over = series.p95.contains { ($0 ?? 0) > target }
        let overPath = over ? "<clipPath id=\"over\(index)\"><rect x=\"0\" y=\"0\" width=\"\(Int(Self.chartWidth))\" height=\"\(targetY)\"/></clipPath>" + "<path class=\"p95 over\" clip-path=\"url(#over\(index))\" d=\"\(p95)\"/>" : ""
        return """
            <figure class="chart"><svg viewBox="0 0 \(Int(Self.chartWidth)) \(Int(Self.chartHeight))" role="img" aria-label="\(HTMLText.escape(series.route)) latency">\
            \(frame(title: series.route, maxLabel: HumanUnits.duration(top)))\
            <line class="target" x1="\(Self.margin.left)" y1="\(targetY)" x2="\(Self.chartWidth - Self.margin.right)" y2="\(targetY)"><title>target \(HumanUnits.duration(target))</title></line>\
            <path class="p99" d="\(path(series.p99, max: top))"/>\
            <path class="p95" d="\(p95)"/>\(overPath)\
            </svg><figcaption><span class="key p95"></span>p95 <span class="key p99"></span>p99 <span class="key target"></span>target</figcaption></figure>

            """
    }

    func rateChart() -> String {
        let highest = summary.history.flatMap { $0.rate.compactMap { $0 } }.max() ?? 0
        let top = Swift.max(highest * 1.1, 0.1)
        var body = frame(title: "Requests per second", maxLabel: HumanUnits.rate(top))
        for (index, series) in summary.history.enumerated() {
            body += "<path class=\"rate c\(index % 6)\" d=\"\(path(series.rate, max: top))\"><title>\(HTMLText.escape(series.route))</title></path>"
        }
        let legend = summary.history.enumerated().map { "<span class=\"key c\($0.offset % 6)\"></span>\(HTMLText.escape($0.element.route))" }.joined(separator: " ")
        return """
            <figure class="chart"><svg viewBox="0 0 \(Int(Self.chartWidth)) \(Int(Self.chartHeight))" role="img" aria-label="request rate">\(body)</svg>\
            <figcaption>\(legend)</figcaption></figure>

            """
    }

    func statementsSection() -> String {
        var html = "<section id=\"statements\"><h2>Slowest statements</h2>\n"
        guard !summary.statements.isEmpty else {
            return html + "<p class=\"quiet\">None yet (the slow-query plugin reads the Postgres log: <code>--slow-query.log-path</code>).</p></section>\n"
        }
        html += "<table><thead><tr><th>Statement</th><th>Calls</th><th>Total</th><th>Mean</th><th>p99</th></tr></thead><tbody>\n"
        for stats in summary.statements {
            html += "<tr><td><code title=\"\(HTMLText.escape(stats.id))\">\(HTMLText.escape(String(stats.text.prefix(200))))</code></td>"
            html += "<td class=\"num\">\(stats.count)</td><td class=\"num\">\(HumanUnits.duration(stats.totalSeconds))</td>"
            html += "<td class=\"num\">\(HumanUnits.duration(stats.meanSeconds))</td><td class=\"num\">\(HumanUnits.duration(stats.p99Seconds))</td></tr>\n"
        }
        return html + "</tbody></table></section>\n"
    }

    func healthSection() -> String {
        var html = "<section id=\"health\"><h2>Cache, connections, event loop, sources</h2><div class=\"cards\">\n"
        if let cache = summary.cache {
            html += "<div class=\"card\"><h3>Redis cache</h3><p class=\"big\"><span\(cache.low ? " class=\"bad\"" : "")>\(HumanUnits.percent(cache.hitRatio))</span> hits</p>"
            html += "<p>\(HumanUnits.rate(cache.hitsPerSecond)) hits, \(HumanUnits.rate(cache.missesPerSecond)) misses; \(HumanUnits.count(cache.evictedKeys)) evicted</p></div>\n"
        }
        if let connections = summary.connections {
            let full = (connections.used ?? 0) >= 0.9 * (connections.max ?? .infinity)
            html += "<div class=\"card\"><h3>Postgres connections</h3><p class=\"big\"><span\(full ? " class=\"bad\"" : "")>\(HumanUnits.count(connections.used))</span> of \(HumanUnits.count(connections.max))</p>"
            html += "<p>\(connections.byState.map { "\(HTMLText.escape($0.state)) \(HumanUnits.count($0.sessions))" }.joined(separator: ", "))</p>"
            let idle = connections.idleInTransactionMaxSeconds ?? 0
            if idle > 0 {
                html += "<p><span\(idle >= summary.settings.idleInTransactionSeconds ? " class=\"bad\"" : "")>idle in transaction for \(HumanUnits.duration(idle))</span></p>"
            }
            if let waiting = connections.lockWaitingSessions, waiting > 0 { html += "<p><span class=\"bad\">\(HumanUnits.count(waiting)) waiting for a lock</span></p>" }
            html += "</div>\n"
        }
        if let loop = summary.eventLoop {
            html += "<div class=\"card\"><h3>Event loop</h3>"
            if loop.probeP99 != nil {
                html += "<p class=\"big\"><span\(loop.slow ? " class=\"bad\"" : "")>\(HumanUnits.duration(loop.probeP99))</span> app probe p99</p>"
            }
            if let blocked = loop.blockedCallbacks {
                html += "<p><span\(blocked > 0 ? " class=\"bad\"" : "")>\(HumanUnits.count(blocked))</span> blocking callbacks logged</p>"
            }
            html += "<p>vitals' own loops: \(HumanUnits.duration(loop.ownLagP99)) p99 lag</p></div>\n"
        }
        html += "<div class=\"card\"><h3>Sources</h3><ul class=\"sources\">"
        for source in summary.sources {
            let name = source.instance.map { "\(source.source) (\($0))" } ?? source.source
            let down = source.state != .up
            html += "<li><span class=\"\(down ? "bad" : "ok")\">\(source.state.rawValue)</span> \(HTMLText.escape(name))"
            if down, let error = source.lastError { html += " <small>\(HTMLText.escape(error))</small>" }
            html += "</li>"
        }
        return html + "</ul></div>\n</div></section>\n"
    }

    static let style = """
        :root{--fg:#1d2430;--muted:#6b7380;--line:#e3e6ea;--bad:#c62828;--ok:#2e7d32;--p95:#1f5fbf;--p99:#8fa8d6}
        body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);margin:0;background:#fafbfc}
        header{display:flex;flex-wrap:wrap;align-items:baseline;gap:1em;padding:.6em 1em;background:#fff;border-bottom:1px solid var(--line)}
        header h1{font-size:1.3em;margin:0}nav a{margin-right:.8em;color:var(--p95)}
        main{padding:0 1em 2em;max-width:1200px}h2{font-size:1.1em;margin:1.4em 0 .4em}h3{font-size:.95em;margin:0 0 .3em}
        .meta,.quiet,figcaption,small,.tick{color:var(--muted)}
        table{border-collapse:collapse;width:100%;background:#fff;display:block;overflow-x:auto}
        th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid var(--line);vertical-align:top}
        td.num,th:nth-child(n+2){text-align:right;white-space:nowrap}#findings th,#statements th:first-child{text-align:left}
        code{font-size:.85em;word-break:break-word}
        .bad{color:var(--bad);font-weight:600}.ok{color:var(--ok)}
        .charts,.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:.8em}
        .chart,.card{background:#fff;border:1px solid var(--line);border-radius:6px;margin:0;padding:.5em}
        svg{width:100%;height:auto;display:block}svg .title{font-size:9px;fill:var(--fg)}svg .tick{font-size:8px;fill:var(--muted)}
        .axis{stroke:var(--line)}.target{stroke:var(--bad);stroke-dasharray:4 3;stroke-width:1}
        path{fill:none;stroke-width:1.5}.p95{stroke:var(--p95)}.p95.over{stroke:var(--bad)}.p99{stroke:var(--p99)}
        .c0{stroke:#1f5fbf;background:#1f5fbf}.c1{stroke:#e08e0b;background:#e08e0b}.c2{stroke:#2e7d32;background:#2e7d32}
        .c3{stroke:#7b3fb2;background:#7b3fb2}.c4{stroke:#00838f;background:#00838f}.c5{stroke:#6d4c41;background:#6d4c41}
        .key{display:inline-block;width:.9em;height:.25em;margin:0 .3em 0 .6em;vertical-align:middle}
        .key.p95{background:var(--p95)}.key.p99{background:var(--p99)}.key.target{background:var(--bad)}
        .big{font-size:1.4em;margin:.1em 0}.card p{margin:.2em 0}.sources{list-style:none;padding:0;margin:0}
        @media (max-width:600px){body{font-size:14px}main{padding:0 .5em 2em}}
        """

    /// Refresh only: fetch the page again and swap the main section, so a failed fetch keeps
    /// what is shown (and says so) instead of blanking it. The URL is rebuilt from the origin:
    /// opened as `http://user:password@host/`, the page's own URL carries credentials, which
    /// `fetch` refuses; the browser resends those it already holds for the origin. `<html
    /// data-refreshes>` counts the refreshes that worked.
    static func script(refreshSeconds: Int) -> String {
        """
        (function(){var every=\(max(1, refreshSeconds) * 1000);
        function refresh(){fetch(location.origin+location.pathname,{credentials:"same-origin",cache:"no-store"}).then(function(r){
        if(!r.ok){throw new Error("HTTP "+r.status)}return r.text()}).then(function(text){
        var next=new DOMParser().parseFromString(text,"text/html").getElementById("page");
        if(next){document.getElementById("page").replaceWith(next);var d=document.documentElement.dataset;d.refreshes=(+d.refreshes||0)+1}}).catch(function(e){
        var meta=document.querySelector(".meta");if(meta){meta.textContent="Not refreshed: "+e.message}});}
        setInterval(refresh,every);})();
        """
    }
}
