#!/usr/bin/env python3
"""Generates vitals' Grafana dashboards (stdlib only).

    python3 scripts/gen-dashboards.py [OUTPUT_DIR]     # default: dashboards/

Writes vitals-overview.json, vitals-postgres.json and vitals-redis.json. The
committed files under dashboards/ are this script's output; a Swift test
(Tests/VitalsTests/Deployment) regenerates them into a temporary directory and
fails when they differ, so edit this file and re-run it, never the JSON.

Every dashboard follows grafana/dashboard-linter's rules:
  * a `datasource` variable (type datasource, query prometheus), used as
    {"type": "prometheus", "uid": "${datasource}"} by every panel, target and
    query variable; no __inputs, so the same file imports through the UI and
    loads by file provisioning;
  * `job` and `instance` query variables (multi, include All, allValue ".+",
    refresh on time-range change) matched in every selector of every query;
  * $__rate_interval in every rate/irate/increase; counters only inside them;
  * a title, a description and a unit on every panel; a stable uid;
    editable: false (the provisioned copy is read-only; "Save as" to change it).
"""

import json
import os
import sys

SCHEMA_VERSION = 39  # Grafana 10.3/10.4 export format; newer Grafana migrates it forward
DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job=~"$job",instance=~"$instance"'
RI = "$__rate_interval"

# Bucket bounds of vitals' default request histogram that make sensible SLO
# thresholds. Integer bounds are left out on purpose: their `le` label is "1" in
# the text format but "1.0" in OpenMetrics (Prometheus 2.x scrapes OpenMetrics),
# so le="$slo" would match nothing on one of the two.
SLO_CHOICES = ["0.05", "0.1", "0.12", "0.2", "0.25", "0.3", "0.35", "0.5", "0.6"]
SLO_DEFAULT = "0.2"

# docs/runbook.md on GitHub, as the alerts' runbook_url (deploy/prometheus/rules.yml) link it.
RUNBOOK = "https://github.com/vitals/vitals/blob/main/docs/runbook.md#"


def sel(*extra):
    """The label matchers every selector carries, plus extra ones."""
    return "{" + ",".join([SEL] + list(extra)) + "}"


def rate(metric, *extra, fn="rate"):
    return "%s(%s%s[%s])" % (fn, metric, sel(*extra), RI)


# Histograms vitals also serves as native histograms. A Prometheus 2.42 started with
# --enable-feature=native-histograms ingests only the native one (no _bucket,
# _count or _sum), so their queries are `<classic> or <native>`: whichever exists.
NATIVE = {"http_request_duration_seconds"}


def quantile(q, metric, by, *extra):
    """histogram_quantile over a histogram aggregated by `by` (le always kept)."""
    labels = ", ".join(["le"] + list(by))
    classic = "histogram_quantile(%s, sum by (%s) (%s))" % (q, labels, rate(metric + "_bucket", *extra))
    if metric not in NATIVE:
        return classic
    grouping = "sum by (%s) " % ", ".join(by) if by else "sum "
    return "%s or histogram_quantile(%s, %s(%s))" % (classic, q, grouping, rate(metric, *extra))


# ---------------------------------------------------------------- panels


class Dashboard:
    def __init__(self, uid, title, description, tags, variables):
        self.uid = uid
        self.title = title
        self.description = description
        self.tags = tags
        self.variables = variables
        self.panels = []
        self.next_id = 1
        self.x = 0
        self.y = 0
        self.row_height = 0

    def _place(self, w, h):
        if self.x + w > 24:
            self.x = 0
            self.y += self.row_height
            self.row_height = 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_height = max(self.row_height, h)
        return pos

    def _id(self):
        value = self.next_id
        self.next_id += 1
        return value

    def row(self, title, description):
        if self.x > 0 or self.row_height:
            self.y += self.row_height
        self.x = 0
        self.row_height = 0
        self.panels.append({
            "collapsed": False,
            "description": description,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
            "id": self._id(),
            "panels": [],
            "title": title,
            "type": "row",
        })
        self.y += 1

    def add(self, panel, w, h):
        panel["id"] = self._id()
        panel["gridPos"] = self._place(w, h)
        self.panels.append(panel)

    def to_json(self):
        return {
            "annotations": {"list": [{
                "builtIn": 1,
                "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                "enable": True,
                "hide": True,
                "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts",
                "type": "dashboard",
            }]},
            "description": self.description,
            "editable": False,
            "fiscalYearStartMonth": 0,
            "graphTooltip": 1,
            "id": None,
            "links": [{
                "asDropdown": True,
                "icon": "external link",
                "includeVars": True,
                "keepTime": True,
                "tags": ["vitals"],
                "targetBlank": False,
                "title": "vitals dashboards",
                "type": "dashboards",
            }],
            "liveNow": False,
            "panels": self.panels,
            "refresh": "30s",
            "schemaVersion": SCHEMA_VERSION,
            "tags": self.tags,
            "templating": {"list": self.variables},
            "time": {"from": "now-1h", "to": "now"},
            "timepicker": {},
            "timezone": "",
            "title": self.title,
            "uid": self.uid,
            "version": 1,
            "weekStart": "",
        }


def targets(queries, instant=False, fmt=None):
    out = []
    for index, query in enumerate(queries):
        expr, legend = query
        target = {
            "datasource": DS,
            "editorMode": "code",
            "expr": expr,
            "legendFormat": legend,
            "range": not instant,
            "instant": instant,
            "refId": chr(ord("A") + index),
        }
        if fmt:
            target["format"] = fmt
        out.append(target)
    return out


def thresholds(steps):
    """steps: [(None, 'green'), (0.8, 'orange'), ...]"""
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for value, color in steps]}


def timeseries(title, description, unit, queries, minimum=None, maximum=None, stack=False, steps=None, decimals=None):
    defaults = {
        "color": {"mode": "palette-classic"},
        "custom": {
            "axisBorderShow": False,
            "axisPlacement": "auto",
            "drawStyle": "line",
            "fillOpacity": 10,
            "gradientMode": "none",
            "lineInterpolation": "linear",
            "lineWidth": 1,
            "pointSize": 4,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"group": "A", "mode": "normal" if stack else "none"},
            "thresholdsStyle": {"mode": "line" if steps else "off"},
        },
        "thresholds": thresholds(steps or [(None, "green")]),
        "unit": unit,
    }
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "datasource": DS,
        "description": description,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"calcs": ["mean", "max", "lastNotNull"], "displayMode": "table", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": targets(queries),
        "title": title,
        "type": "timeseries",
    }


UP_MAPPINGS = [{"type": "value", "options": {
    "0": {"color": "red", "index": 0, "text": "Down"},
    "1": {"color": "green", "index": 1, "text": "Up"},
}}]


def stat(title, description, unit, expr, legend="", steps=None, mappings=None, text_mode="auto", decimals=None,
         color_mode="value", graph=True):
    defaults = {
        "color": {"mode": "thresholds"},
        "mappings": mappings or [],
        "thresholds": thresholds(steps or [(None, "green")]),
        "unit": unit,
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "datasource": DS,
        "description": description,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "colorMode": color_mode,
            "graphMode": "area" if graph else "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showPercentChange": False,
            "textMode": text_mode,
            "wideLayout": True,
        },
        "targets": targets([(expr, legend)]),
        "title": title,
        "type": "stat",
    }


def heatmap(title, description, expr):
    return {
        "datasource": DS,
        "description": description,
        "fieldConfig": {"defaults": {
            "custom": {"hideFrom": {"legend": False, "tooltip": False, "viz": False}, "scaleDistribution": {"type": "linear"}},
            "unit": "s",
        }, "overrides": []},
        "options": {
            "calculate": False,
            "cellGap": 1,
            "color": {"exponent": 0.5, "fill": "dark-orange", "mode": "scheme", "reverse": False, "scale": "exponential",
                      "scheme": "Oranges", "steps": 64},
            "exemplars": {"color": "rgba(255,0,255,0.7)"},
            "filterValues": {"le": 1e-09},
            "legend": {"show": True},
            "rowsFrame": {"layout": "auto", "value": "Requests"},
            "tooltip": {"mode": "single", "showColorScale": False, "yHistogram": True},
            "yAxis": {"axisPlacement": "left", "reverse": False, "unit": "s"},
        },
        "targets": targets([(expr, "{{le}}")], fmt="heatmap"),
        "title": title,
        "type": "heatmap",
    }


def table(title, description, unit, queries, columns, sort_by=None, links=None):
    """Instant queries in table format, merged on their common labels into one table.

    columns: [(source column, display name)] in order; the `Time` column and any
    `Value #X` not listed are hidden. links: {display name: [data link]}.
    """
    shown = [name for name, _ in columns]
    hidden = {"Time": True}
    hidden.update({"Value #%s" % chr(ord("A") + index): True for index in range(len(queries))
                   if "Value #%s" % chr(ord("A") + index) not in shown})
    overrides = [{
        "matcher": {"id": "byName", "options": display},
        "properties": [{"id": "links", "value": value}],
    } for display, value in sorted((links or {}).items())]
    return {
        "datasource": DS,
        "description": description,
        "fieldConfig": {"defaults": {
            "color": {"mode": "thresholds"},
            "custom": {"align": "auto", "cellOptions": {"type": "auto"}, "filterable": True, "inspect": False},
            "mappings": [],
            "thresholds": thresholds([(None, "green")]),
            "unit": unit,
        }, "overrides": overrides},
        "options": {
            "cellHeight": "sm",
            "footer": {"countRows": False, "fields": "", "reducer": ["sum"], "show": False},
            "showHeader": True,
            "sortBy": [{"desc": True, "displayName": sort_by}] if sort_by else [],
        },
        "targets": targets(queries, instant=True, fmt="table"),
        "title": title,
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {
                "excludeByName": hidden,
                "indexByName": {name: index for index, name in enumerate(shown)},
                "renameByName": {name: display for name, display in columns},
            }},
        ],
        "type": "table",
    }


# ---------------------------------------------------------------- variables


def datasource_variable():
    return {
        "current": {},
        "hide": 0,
        "includeAll": False,
        "label": "Data source",
        "multi": False,
        "name": "datasource",
        "options": [],
        "query": "prometheus",
        "refresh": 1,
        "regex": "",
        "skipUrlSync": False,
        "type": "datasource",
    }


def query_variable(name, label, query, hide=0):
    return {
        "allValue": ".+",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "datasource": DS,
        "definition": query,
        "hide": hide,
        "includeAll": True,
        "label": label,
        "multi": True,
        "name": name,
        "options": [],
        "query": query,
        "refresh": 2,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }


def common_variables():
    return [
        datasource_variable(),
        query_variable("job", "Job", "label_values(vitals_build_info, job)"),
        query_variable("instance", "Instance", 'label_values(vitals_build_info{job=~"$job"}, instance)'),
    ]


def slo_variable():
    return {
        "current": {"selected": True, "text": SLO_DEFAULT, "value": SLO_DEFAULT},
        "description": "Latency objective in seconds; each choice is a bucket bound of vitals' default histogram, so "
                       "the share of requests under it is exact, not interpolated.",
        "hide": 0,
        "includeAll": False,
        "label": "SLO threshold (s)",
        "multi": False,
        "name": "slo",
        "options": [{"selected": value == SLO_DEFAULT, "text": value, "value": value} for value in SLO_CHOICES],
        "query": ",".join(SLO_CHOICES),
        "skipUrlSync": False,
        "type": "custom",
    }


# ---------------------------------------------------------------- shared queries

# vitals' Postgres and Redis sources add a `target` label (host:port[/db])
# only when one vitals watches several servers; grouping by it is harmless
# when it is absent.
PG_SATURATION = "max by (instance, target) (pg_connections_used_ratio%s)" % sel()
PG_HIT = ('sum by (instance, target) (%s) / (sum by (instance, target) (%s) + sum by (instance, target) (%s))'
          % (rate("pg_stat_database_blks_hit"), rate("pg_stat_database_blks_hit"), rate("pg_stat_database_blks_read")))
REDIS_HIT = ('sum by (instance, target) (%s) / (sum by (instance, target) (%s) + sum by (instance, target) (%s))'
             % (rate("redis_keyspace_hits_total"), rate("redis_keyspace_hits_total"), rate("redis_keyspace_misses_total")))
REDIS_CLIENTS = ("max by (instance, target) (redis_connected_clients%s) / max by (instance, target) (redis_config_maxclients%s)"
                 % (sel(), sel()))

PCT_GOOD_HIGH = [(None, "red"), (0.9, "orange"), (0.95, "green")]
PCT_BAD_HIGH = [(None, "green"), (0.8, "orange"), (0.9, "red")]


def vitals_source_panels(d, sources, width=8):
    """Health of vitals' own sources (source=~sources)."""
    src = 'source=~"%s"' % sources
    d.add(stat("Source up", "Whether each vitals source's last collection succeeded (vitals_source_up). A source that "
               "fails never stops vitals: it reports 0 here and its last error on /ready.",
               "none", "vitals_source_up%s" % sel(src), "{{source}} {{exported_instance}}", mappings=UP_MAPPINGS,
               steps=[(None, "red"), (1, "green")], text_mode="value_and_name", graph=False), width, 6)
    d.add(timeseries("Source errors by reason", "Errors per second met by vitals' sources, by the fixed reason set "
                     "(connect, timeout, auth, permission, query, parse, io, not_found, unsupported, config).",
                     "ops", [("sum by (source, reason) (%s)" % rate("vitals_source_errors_total", src), "{{source}} {{reason}}")],
                     minimum=0), width, 6)
    d.add(timeseries("Source collection time", "How long each source's last collection pass took "
                     "(vitals_source_collect_duration_seconds); compare with the scrape interval.",
                     "s", [("max by (source, exported_instance) (vitals_source_collect_duration_seconds%s)" % sel(src),
                            "{{source}} {{exported_instance}}")], minimum=0), width, 6)


# ---------------------------------------------------------------- vitals-overview


def overview():
    variables = common_variables() + [
        query_variable("route", "Route", 'label_values(http_requests_total{job=~"$job",instance=~"$instance"}, route)'),
        slo_variable(),
    ]
    d = Dashboard(
        "vitals-overview", "vitals / Overview",
        "How fast the application is (RED per route from its timing log) and why (event loops, slow queries, "
        "Postgres and Redis health), from one vitals sidecar.",
        ["vitals", "http", "postgres", "redis"], variables)
    route = 'route=~"$route"'
    known = 'status_class=~".+"'

    def share_5xx(by):
        grouping = "sum by (%s) " % by if by else "sum "
        total = grouping + "(%s)" % rate("http_requests_total", route, known)
        return "(%s(%s) or %s * 0) / %s" % (grouping, rate("http_requests_total", route, 'status_class="5xx"'), total, total)

    def under_slo(by):
        grouping = "sum by (%s) " % by if by else "sum "
        return "%s(%s) / %s(%s) or histogram_fraction(0, $slo, %s(%s))" % (
            grouping, rate("http_request_duration_seconds_bucket", route, 'le="$slo"'),
            grouping, rate("http_request_duration_seconds_count", route), grouping, rate("http_request_duration_seconds", route))

    d.row("Service level", "Request rate, errors and duration (RED) over the selected routes.")
    d.add(stat("Request rate", "Requests per second over the selected routes, counted from the application's timing log.",
               "reqps", "sum(%s)" % rate("http_requests_total", route)), 4, 5)
    d.add(stat("Requests under the SLO threshold", "Share of requests faster than $slo s: the bucket le=\"$slo\" over "
               "all requests. Exact, since $slo is a bucket bound. The objective is 95% under 200 ms.",
               "percentunit", under_slo(None), steps=[(None, "red"), (0.9, "orange"), (0.95, "green")], decimals=2), 5, 5)
    d.add(stat("5xx share", "Share of requests answered with a 5xx status. Needs a log format that records the status "
               "(nginx, json or regex with a status); with the starlette format this panel shows no data.",
               "percentunit", share_5xx(None), steps=[(None, "green"), (0.01, "orange"), (0.05, "red")], decimals=2), 5, 5)
    d.add(stat("p99 latency", "99th percentile request duration over the selected routes, interpolated by "
               "histogram_quantile within vitals' fine buckets.",
               "s", quantile(0.99, "http_request_duration_seconds", [], route),
               steps=[(None, "green"), (0.2, "orange"), (0.5, "red")]), 5, 5)
    d.add(stat("Slow requests", "Requests per second slower than vitals' --timing-log.slow-threshold (200 ms by default).",
               "reqps", "sum(%s)" % rate("http_slow_requests_total", route)), 5, 5)

    d.row("Findings", "The bottlenecks vitals names (GET /findings on vitals has each one's evidence and fix); "
          "docs/runbook.md has a section per kind.")
    finding = "kind, subject, instance"
    d.add(table("Active findings", "Findings active at the end of the range, by instance, kind and subject, with their "
                "estimated impact: seconds of request or database time per minute (empty where vitals cannot estimate "
                "it). vitals_finding_active joined with vitals_finding_impact_seconds_per_minute; at most "
                "--findings.max-per-kind per kind. The kind links to its runbook entry.",
                "s", [("max by (%s) (vitals_finding_active%s)" % (finding, sel()), ""),
                      ("max by (%s) (vitals_finding_impact_seconds_per_minute%s)" % (finding, sel()), "")],
                [("kind", "Kind"), ("subject", "Subject"), ("Value #B", "Impact (s/min)"), ("instance", "Instance")],
                sort_by="Impact (s/min)",
                links={"Kind": [{"targetBlank": True, "title": "Runbook: ${__value.text}",
                                 "url": RUNBOOK + "${__value.text}"}]}), 14, 8)
    d.add(timeseries("Active findings by kind", "Findings active per kind over time (count of vitals_finding_active), "
                     "all selected instances. A kind that stays up for 15 minutes raises VitalsFindingActive.",
                     "short", [("count by (kind) (vitals_finding_active%s)" % sel(), "{{kind}}")],
                     minimum=0, stack=True, decimals=0), 10, 8)
    d.add(timeseries("N+1 bursts per second by fingerprint", "Requests (bursts of one backend's statements) per second "
                     "that ran one statement shape at least --findings.n-plus-one.min-repeats times, per normalised "
                     "statement id: the ten fingerprints with the most. Needs the slow-query source reading every "
                     "statement (log_min_duration_statement = 0); /findings names the statement and the route.",
                     "ops", [("topk(10, sum by (fingerprint) (%s))" % rate("pg_n_plus_one_bursts_total"), "{{fingerprint}}")],
                     minimum=0), 12, 8)
    d.add(timeseries("Statement calls per request", "Postgres statement executions (pg_stat_statements calls, the "
                     "top --postgres.statements.limit statements) per request in the timing log, and those of lookups by "
                     "key alone (SELECT … WHERE <key> = $1, pg_stat_statements_single_row_lookup): what the "
                     "calls_per_request finding reads. Each statement is counted once when several vitals watch the same "
                     "server; it counts every client of the server, so read the trend: a jump after a deploy is usually "
                     "a new N+1.",
                     "short", [("sum(max by (target, datname, user, queryid) (%s)) / sum(%s)" % (
                         rate("pg_stat_statements_calls_total"), rate("http_requests_total")), "statements per request"),
                               ("sum(max by (target, datname, user, queryid) (%s * pg_stat_statements_single_row_lookup%s)) / sum(%s)" % (
                         rate("pg_stat_statements_calls_total"), sel(), rate("http_requests_total")),
                                "lookups by key per request")],
                     minimum=0, decimals=1), 12, 8)
    d.add(timeseries("Database statements per request by route", "Statements sqlcommenter tagged with the route in the "
                     "Postgres log, per request of that route in the timing log (every method of the path). Needs the "
                     "slow-query source reading every statement (log_min_duration_statement = 0) and route tags; 20 "
                     "on a page that shows one row is an N+1.",
                     "short", [("sum by (route) (%s) / sum by (route) (%s)" % (
                         rate("pg_route_statements_total", route), rate("http_requests_total", route)), "{{route}}")],
                     minimum=0, decimals=1), 12, 8)
    d.add(timeseries("Database time per request by route", "Seconds of the route's tagged statements per request: "
                     "compare with the route's latency to see how much of it is spent in the database.",
                     "s", [("sum by (route) (%s) / sum by (route) (%s)" % (
                         rate("pg_route_statement_seconds_total", route), rate("http_requests_total", route)), "{{route}}")],
                     minimum=0), 12, 8)

    d.row("Requests per route", "Traffic, errors and the SLO share for each route template.")
    d.add(timeseries("Request rate by route", "Requests per second per route template (ids and tokens templated to {id}).",
                     "reqps", [("sum by (route) (%s)" % rate("http_requests_total", route), "{{route}}")], minimum=0), 12, 8)
    d.add(timeseries("5xx share by route", "Share of each route's requests answered with a 5xx status. Only formats "
                     "that log a status fill this panel (nginx, json or regex with a status).",
                     "percentunit", [(share_5xx("route"), "{{route}}")], minimum=0), 12, 8)
    d.add(timeseries("Requests under the SLO threshold by route", "Share of each route's requests faster than $slo s "
                     "(bucket le=\"$slo\" / count). Below 0.95 the route misses the 95%-under-200 ms objective.",
                     "percentunit", [(under_slo("route"), "{{route}}")], minimum=0, maximum=1,
                     steps=[(None, "red"), (0.95, "green")]), 12, 8)
    d.add(timeseries("Slow requests by route", "Requests per second slower than the slow threshold, per route.",
                     "reqps", [("sum by (route) (%s)" % rate("http_slow_requests_total", route), "{{route}}")], minimum=0), 12, 8)

    d.row("Latency per route", "Percentiles from the request-duration histogram, per route.")
    for q, name, width in ((0.99, "p99", 8), (0.95, "p95", 8), (0.5, "p50", 8)):
        d.add(timeseries("%s latency by route" % name, "%s request duration per route: histogram_quantile(%s) over the "
                         "per-route buckets, interpolated linearly inside a bucket." % (name, q),
                         "s", [(quantile(q, "http_request_duration_seconds", ["route"], route), "{{route}}")], minimum=0), width, 8)
    d.add(timeseries("Mean latency by route", "Mean request duration per route (sum of durations / count).",
                     "s", [("sum by (route) (%s) / sum by (route) (%s) or histogram_sum(sum by (route) (%s)) / histogram_count(sum by (route) (%s))" % (
                         rate("http_request_duration_seconds_sum", route), rate("http_request_duration_seconds_count", route),
                         rate("http_request_duration_seconds", route), rate("http_request_duration_seconds", route)),
                         "{{route}}")], minimum=0), 8, 8)
    d.add(heatmap("Latency distribution", "Requests per duration bucket over time, all selected routes. Bright cells "
                  "far up the axis are the slow tail.",
                  "sum by (le) (%s)" % rate("http_request_duration_seconds_bucket", route, fn="increase")), 16, 8)

    d.row("Event loops", "Blocked asyncio loops in the application and lag on vitals' own event loops.")
    d.add(timeseries("Application event loop blocked", "Share of time the application's asyncio loop was blocked by one "
                     "slow callback (asyncio debug-mode warnings in its log; seconds blocked per second).",
                     "percentunit", [("sum by (instance) (%s)" % rate("app_event_loop_blocked_seconds_sum"), "{{instance}}")],
                     minimum=0), 6, 8)
    d.add(timeseries("Application event-loop blocks", "asyncio slow-callback warnings per second in the application's log.",
                     "ops", [("sum by (instance) (%s)" % rate("app_event_loop_blocked_total"), "{{instance}}")], minimum=0), 6, 8)
    d.add(timeseries("vitals event-loop lag p99", "99th percentile scheduling lag of vitals' own event loops: how late "
                     "a task scheduled on a loop runs. High values mean vitals itself is starved of CPU.",
                     "s", [(quantile(0.99, "vitals_event_loop_lag_seconds", ["instance"]), "{{instance}}")], minimum=0), 6, 8)
    d.add(timeseries("Application probe latency p99", "99th percentile duration of vitals' probe requests to the "
                     "application: the latency a request sees when the event loop is busy.",
                     "s", [(quantile(0.99, "app_probe_duration_seconds", ["instance"]), "{{instance}}")], minimum=0), 6, 8)

    d.row("Slow queries", "Statements from the Postgres slow-query log, grouped by normalised fingerprint.")
    d.add(timeseries("Time in slow queries by fingerprint (top 10)", "Seconds spent per second in slow statements, per "
                     "fingerprint: the ten fingerprints costing the most time.",
                     "s", [("topk(10, sum by (fingerprint) (%s))" % rate("pg_slow_query_duration_seconds_sum"), "{{fingerprint}}")],
                     minimum=0), 8, 8)
    d.add(timeseries("Slow-query p95 by fingerprint (top 10)", "95th percentile duration of each fingerprint's slow "
                     "statements: the ten slowest.",
                     "s", [("topk(10, %s)" % quantile(0.95, "pg_slow_query_duration_seconds", ["fingerprint"]), "{{fingerprint}}")],
                     minimum=0), 8, 8)
    d.add(timeseries("Slow queries by database and user", "Slow statements per second from the Postgres log, by database and user.",
                     "ops", [("sum by (datname, user) (%s)" % rate("pg_slow_queries_total"), "{{datname}} {{user}}")],
                     minimum=0), 8, 8)

    d.row("Backends", "Postgres and Redis at a glance; the vitals / Postgres and vitals / Redis dashboards have the detail.")
    d.add(stat("Postgres up", "Whether vitals' last connection to Postgres succeeded (pg_up).", "none",
               "min(pg_up%s)" % sel(), mappings=UP_MAPPINGS, steps=[(None, "red"), (1, "green")], graph=False), 3, 5)
    d.add(stat("Redis up", "Whether vitals' last connection to Redis succeeded (redis_up).", "none",
               "min(redis_up%s)" % sel(), mappings=UP_MAPPINGS, steps=[(None, "red"), (1, "green")], graph=False), 3, 5)
    d.add(stat("Postgres connections used", "Client backends over the connections ordinary roles can open (max_connections minus superuser_reserved_connections), worst server. Alerts at 80%.",
               "percentunit", "max(%s)" % PG_SATURATION, steps=PCT_BAD_HIGH, decimals=1), 4, 5)
    d.add(stat("Postgres cache hit ratio", "Share of block reads served from shared buffers over the interval "
               "(blks_hit / (blks_hit + blks_read), from rates, not lifetime counters).",
               "percentunit", "min(%s)" % PG_HIT, steps=PCT_GOOD_HIGH, decimals=2), 4, 5)
    d.add(stat("Redis cache hit ratio", "Share of key lookups that found the key over the interval (hits / (hits + misses)).",
               "percentunit", "min(%s)" % REDIS_HIT, steps=PCT_GOOD_HIGH, decimals=2), 4, 5)
    d.add(stat("Replication lag", "How far the Postgres replica's replay is behind (0 on a primary). It also grows "
               "while a primary is idle, so read it with the write rate.",
               "s", "max(pg_replication_lag_seconds%s)" % sel(), steps=[(None, "green"), (10, "orange"), (30, "red")]), 3, 5)
    d.add(stat("Redis clients used", "Connected clients over maxclients, worst instance.", "percentunit",
               "max(%s)" % REDIS_CLIENTS, steps=PCT_BAD_HIGH, decimals=1), 3, 5)
    d.add(timeseries("Connection saturation", "Postgres client backends over the connections ordinary roles can open (max_connections minus superuser_reserved_connections) and Redis clients over maxclients.",
                     "percentunit", [(PG_SATURATION, "postgres {{instance}} {{target}}"), (REDIS_CLIENTS, "redis {{instance}} {{target}}")],
                     minimum=0, steps=[(None, "green"), (0.8, "red")]), 12, 8)
    d.add(timeseries("Cache hit ratios", "Postgres buffer cache and Redis keyspace hit ratios, from rates over the interval.",
                     "percentunit", [(PG_HIT, "postgres {{instance}} {{target}}"), (REDIS_HIT, "redis {{instance}} {{target}}")], maximum=1), 12, 8)

    d.row("vitals", "The sidecar itself: its sources, log tailing and resource use.")
    vitals_source_panels(d, ".+")
    d.add(timeseries("Log lines by result", "Timing-log lines read per second: parsed, unparsed (format mismatch) or "
                     "oversized. Unparsed lines usually mean a wrong --timing-log.format.",
                     "cps", [("sum by (result) (%s)" % rate("vitals_log_lines_total"), "{{result}}")], minimum=0), 6, 8)
    d.add(timeseries("Log bytes behind", "Bytes written to followed logs but not read yet; growth means vitals cannot keep up.",
                     "bytes", [("max by (instance, source) (vitals_log_bytes_behind%s)" % sel(), "{{instance}} {{source}}")],
                     minimum=0), 6, 8)
    d.add(timeseries("vitals CPU", "CPU used by vitals, in cores (1 = one full core).",
                     "percentunit", [("sum by (instance) (%s)" % rate("process_cpu_seconds_total"), "{{instance}}")], minimum=0), 6, 8)
    d.add(timeseries("vitals memory and scrape time", "Resident memory of vitals (left) and the 99th percentile time to "
                     "write one /metrics response (right axis, seconds).",
                     "bytes", [("max by (instance) (process_resident_memory_bytes%s)" % sel(), "RSS {{instance}}"),
                               (quantile(0.99, "vitals_scrape_duration_seconds", ["instance"]), "scrape p99 {{instance}}")],
                     minimum=0), 6, 8)
    # The second target is in seconds: give it its own unit and axis.
    d.panels[-1]["fieldConfig"]["overrides"] = [{
        "matcher": {"id": "byFrameRefID", "options": "B"},
        "properties": [{"id": "unit", "value": "s"}, {"id": "custom.axisPlacement", "value": "right"}],
    }]
    return d


# ---------------------------------------------------------------- vitals-postgres


def postgres():
    variables = common_variables() + [
        query_variable("datname", "Database",
                       'label_values(pg_stat_database_numbackends{job=~"$job",instance=~"$instance"}, datname)'),
    ]
    d = Dashboard(
        "vitals-postgres", "vitals / Postgres",
        "PostgreSQL statistics collected by vitals (postgres_exporter-compatible names): connections, throughput, "
        "cache, locks, tables, statements and the slow-query log.",
        ["vitals", "postgres"], variables)
    db = 'datname=~"$datname"'

    d.row("Overview", "Server state and the numbers to look at first.")
    d.add(stat("Up", "Whether vitals' last connection to Postgres succeeded (pg_up).", "none", "min(pg_up%s)" % sel(),
               mappings=UP_MAPPINGS, steps=[(None, "red"), (1, "green")], graph=False), 3, 4)
    d.add(stat("Version", "Server version reported by Postgres (pg_static).", "none",
               "max by (short_version) (pg_static%s)" % sel(), "{{short_version}}", text_mode="name", graph=False), 3, 4)
    d.add(stat("Uptime", "Time since the postmaster started.", "s",
               "time() - max(pg_postmaster_start_time_seconds%s)" % sel(), graph=False, decimals=0), 3, 4)
    d.add(stat("Max connections", "The max_connections setting.", "none",
               "max(pg_settings_max_connections%s)" % sel(), graph=False), 3, 4)
    d.add(stat("Connections used", "Client backends over the connections ordinary roles can open (max_connections minus superuser_reserved_connections), worst server. Alerts at 80%.",
               "percentunit", "max(%s)" % PG_SATURATION, steps=PCT_BAD_HIGH, decimals=1), 3, 4)
    d.add(stat("Cache hit ratio", "Buffer cache hit ratio over the interval, from rates (not lifetime counters).",
               "percentunit", "min(%s)" % PG_HIT, steps=PCT_GOOD_HIGH, decimals=2), 3, 4)
    d.add(stat("Transactions", "Commits plus rollbacks per second, selected databases.", "ops",
               "sum(%s) + sum(%s)" % (rate("pg_stat_database_xact_commit", db), rate("pg_stat_database_xact_rollback", db))), 3, 4)
    d.add(stat("Replication lag", "Replay lag of a replica (0 on a primary).", "s",
               "max(pg_replication_lag_seconds%s)" % sel(), steps=[(None, "green"), (10, "orange"), (30, "red")]), 3, 4)

    d.row("Settings", "Server settings that size memory and planning (pg_settings_*).")
    for name, metric, unit in (
        ("shared_buffers", "pg_settings_shared_buffers_bytes", "bytes"),
        ("effective_cache_size", "pg_settings_effective_cache_size_bytes", "bytes"),
        ("maintenance_work_mem", "pg_settings_maintenance_work_mem_bytes", "bytes"),
        ("work_mem", "pg_settings_work_mem_bytes", "bytes"),
        ("max_wal_size", "pg_settings_max_wal_size_bytes", "bytes"),
        ("random_page_cost", "pg_settings_random_page_cost", "none"),
        ("seq_page_cost", "pg_settings_seq_page_cost", "none"),
        ("max_worker_processes", "pg_settings_max_worker_processes", "none"),
        ("max_parallel_workers", "pg_settings_max_parallel_workers", "none"),
    ):
        d.add(stat(name, "The %s setting (%s)." % (name, metric), unit, "max(%s%s)" % (metric, sel()), graph=False,
                   color_mode="none"), 8 if unit == "none" and name != "random_page_cost" else 4, 3)

    d.row("Connections", "Sessions by state and long transactions.")
    d.add(timeseries("Connections used and available", "Client backends connected (all databases) and the connections "
                     "ordinary roles can open: max_connections minus superuser_reserved_connections.", "short", [
                         ("max by (instance, target) (pg_connections_used%s)" % sel(), "used {{instance}} {{target}}"),
                         ("max by (instance, target) (pg_connections_max%s)" % sel(), "available {{instance}} {{target}}"),
                     ], minimum=0), 6, 8)
    d.add(timeseries("Sessions by state", "Backends per state (active, idle, idle in transaction, ...), selected databases.",
                     "short", [("sum by (state) (pg_stat_activity_count%s)" % sel(db), "{{state}}")], minimum=0, stack=True), 6, 8)
    d.add(timeseries("Backends by database", "Connected backends per database (numbackends).",
                     "short", [("sum by (datname) (pg_stat_database_numbackends%s)" % sel(db), "{{datname}}")], minimum=0), 6, 8)
    d.add(timeseries("Longest transaction", "Age of the oldest open transaction per database; long ones hold back "
                     "vacuum and can hold locks.",
                     "s", [("max by (datname) (pg_stat_activity_max_tx_duration%s)" % sel(db), "{{datname}}")], minimum=0), 6, 8)

    d.row("Throughput", "Transactions and rows per second.")
    d.add(timeseries("Transactions", "Commits and rollbacks per second, per database.", "ops", [
        ("sum by (datname) (%s)" % rate("pg_stat_database_xact_commit", db), "commit {{datname}}"),
        ("sum by (datname) (%s)" % rate("pg_stat_database_xact_rollback", db), "rollback {{datname}}"),
    ], minimum=0), 8, 8)
    d.add(timeseries("Rollback share", "Rollbacks over all transactions per database; a rising share usually means "
                     "application errors.",
                     "percentunit", [("sum by (datname) (%s) / (sum by (datname) (%s) + sum by (datname) (%s))" % (
                         rate("pg_stat_database_xact_rollback", db), rate("pg_stat_database_xact_commit", db),
                         rate("pg_stat_database_xact_rollback", db)), "{{datname}}")], minimum=0), 8, 8)
    d.add(timeseries("Rows", "Rows fetched, returned, inserted, updated and deleted per second, selected databases.", "ops", [
        ("sum(%s)" % rate("pg_stat_database_tup_%s" % kind, db), kind)
        for kind in ("fetched", "returned", "inserted", "updated", "deleted")
    ], minimum=0), 8, 8)

    d.row("Cache and I/O", "Buffer cache, disk reads, temporary files, size and the background writer.")
    d.add(timeseries("Cache hit ratio by database", "blks_hit / (blks_hit + blks_read) per database, from rates.",
                     "percentunit", [("sum by (datname) (%s) / (sum by (datname) (%s) + sum by (datname) (%s))" % (
                         rate("pg_stat_database_blks_hit", db), rate("pg_stat_database_blks_hit", db),
                         rate("pg_stat_database_blks_read", db)), "{{datname}}")], maximum=1), 8, 8)
    d.add(timeseries("Blocks read and hit", "Blocks found in shared buffers (hit) and read from the OS (read) per second.",
                     "ops", [("sum(%s)" % rate("pg_stat_database_blks_hit", db), "hit"),
                             ("sum(%s)" % rate("pg_stat_database_blks_read", db), "read")], minimum=0), 8, 8)
    d.add(timeseries("Temporary bytes", "Bytes written to temporary files per second per database; queries whose sorts "
                     "or hashes exceed work_mem.",
                     "Bps", [("sum by (datname) (%s)" % rate("pg_stat_database_temp_bytes", db), "{{datname}}")], minimum=0), 8, 8)
    d.add(timeseries("Database size", "On-disk size per database.", "bytes",
                     [("max by (datname) (pg_database_size_bytes%s)" % sel(db), "{{datname}}")], minimum=0), 8, 8)
    d.add(timeseries("Buffers written", "Buffers written per second by checkpoints, the background writer and backends "
                     "themselves, and buffers allocated.", "ops", [
                         ("sum(%s)" % rate("pg_stat_bgwriter_buffers_checkpoint_total"), "checkpoint"),
                         ("sum(%s)" % rate("pg_stat_bgwriter_buffers_clean_total"), "background writer"),
                         ("sum(%s)" % rate("pg_stat_bgwriter_buffers_backend_total"), "backend"),
                         ("sum(%s)" % rate("pg_stat_bgwriter_buffers_alloc_total"), "allocated"),
                     ], minimum=0), 8, 8)
    d.add(timeseries("Checkpoints", "Scheduled (timed) and requested checkpoints per second; many requested ones mean "
                     "max_wal_size is too small.", "ops", [
                         ("sum(%s)" % rate("pg_stat_bgwriter_checkpoints_timed_total"), "timed"),
                         ("sum(%s)" % rate("pg_stat_bgwriter_checkpoints_req_total"), "requested"),
                     ], minimum=0), 8, 8)
    d.add(timeseries("Checkpoint write and sync time", "Milliseconds per second that checkpoints spent writing "
                     "buffers out and syncing files to disk; sync time near the write time points at slow storage.", "ms", [
                         ("sum(%s)" % rate("pg_stat_bgwriter_checkpoint_write_time_total"), "write"),
                         ("sum(%s)" % rate("pg_stat_bgwriter_checkpoint_sync_time_total"), "sync"),
                     ], minimum=0), 24, 8)
    d.add(timeseries("Transaction ID wraparound", "age(datfrozenxid) as a share of autovacuum_freeze_max_age, per "
                     "database: at 100 % an anti-wraparound autovacuum is forced; far above it, writes are at risk.",
                     "percentunit", [("max by (datname) (pg_database_wraparound_freeze_max_age_ratio%s)" % sel(db), "{{datname}}")],
                     minimum=0), 12, 8)
    d.add(timeseries("I/O by backend type (PostgreSQL 16+)", "Blocks read and written per second from pg_stat_io, by "
                     "the kind of process doing it; client backends writing much means the background writer lags.", "ops", [
                         ("sum by (backend_type) (%s)" % rate("pg_stat_io_reads_total"), "read {{backend_type}}"),
                         ("sum by (backend_type) (%s)" % rate("pg_stat_io_writes_total"), "write {{backend_type}}"),
                     ], minimum=0), 12, 8)

    d.row("Locks and conflicts", "Lock counts by mode, deadlocks and recovery conflicts.")
    d.add(timeseries("Locks by mode", "Locks held or awaited per mode, selected databases.", "short",
                     [("sum by (mode) (pg_locks_count%s)" % sel(db), "{{mode}}")], minimum=0), 12, 8)
    d.add(timeseries("Deadlocks and conflicts", "Deadlocks and recovery conflicts per second, per database.", "ops", [
        ("sum by (datname) (%s)" % rate("pg_stat_database_deadlocks", db), "deadlocks {{datname}}"),
        ("sum by (datname) (%s)" % rate("pg_stat_database_conflicts", db), "conflicts {{datname}}"),
    ], minimum=0), 12, 8)

    d.row("Tables", "Per-table statistics (pg_stat_user_tables): scans and dead tuples.")
    table = "datname, schemaname, relname"
    d.add(timeseries("Sequential scans (top 10 tables)", "Sequential scans per second: a busy table scanned "
                     "sequentially usually lacks an index.", "ops",
                     [("topk(10, sum by (%s) (%s))" % (table, rate("pg_stat_user_tables_seq_scan", db)), "{{schemaname}}.{{relname}}")],
                     minimum=0), 8, 8)
    d.add(timeseries("Index scans (top 10 tables)", "Index scans per second per table.", "ops",
                     [("topk(10, sum by (%s) (%s))" % (table, rate("pg_stat_user_tables_idx_scan", db)), "{{schemaname}}.{{relname}}")],
                     minimum=0), 8, 8)
    d.add(timeseries("Dead tuples (top 10 tables)", "Dead row versions waiting for vacuum, per table.", "short",
                     [("topk(10, max by (%s) (pg_stat_user_tables_n_dead_tup%s))" % (table, sel(db)), "{{schemaname}}.{{relname}}")],
                     minimum=0), 8, 8)
    d.add(timeseries("Dead tuple ratio (top 10 tables)", "n_dead_tup / (n_live_tup + n_dead_tup): the share of each table "
                     "that is dead rows; high values mean autovacuum is not keeping up.", "percentunit",
                     [("topk(10, max by (%s) (pg_stat_user_tables_dead_tuple_ratio%s))" % (table, sel(db)),
                       "{{schemaname}}.{{relname}}")], minimum=0, maximum=1), 12, 8)
    d.add(timeseries("Rows read by sequential scans (top 10 tables)", "Rows per second read by sequential scans: the "
                     "cost of a missing index.", "ops",
                     [("topk(10, sum by (%s) (%s))" % (table, rate("pg_stat_user_tables_seq_tup_read", db)),
                       "{{schemaname}}.{{relname}}")], minimum=0), 12, 8)

    d.row("Statements", "pg_stat_statements: where the database spends its time (needs the extension).")
    stmt = "queryid, datname, user"
    d.add(timeseries("Time by statement (top 10)", "Seconds of execution per second per statement (queryid).", "s",
                     [("topk(10, sum by (%s) (%s))" % (stmt, rate("pg_stat_statements_seconds_total", db)), "{{queryid}} {{datname}}")],
                     minimum=0), 8, 8)
    d.add(timeseries("Calls by statement (top 10)", "Executions per second per statement.", "ops",
                     [("topk(10, sum by (%s) (%s))" % (stmt, rate("pg_stat_statements_calls_total", db)), "{{queryid}} {{datname}}")],
                     minimum=0), 8, 8)
    d.add(timeseries("Mean time per call (top 10)", "Mean execution time per call over the interval, per statement.", "s",
                     [("topk(10, sum by (%s) (%s) / sum by (%s) (%s))" % (
                         stmt, rate("pg_stat_statements_seconds_total", db), stmt, rate("pg_stat_statements_calls_total", db)),
                       "{{queryid}} {{datname}}")], minimum=0), 8, 8)

    d.row("Slow-query log", "Statements slower than log_min_duration_statement, parsed from the server log.")
    d.add(timeseries("Slow queries by database and user", "Slow statements per second.", "ops",
                     [("sum by (datname, user) (%s)" % rate("pg_slow_queries_total", db), "{{datname}} {{user}}")], minimum=0), 8, 8)
    d.add(timeseries("Slow-query p95 by fingerprint (top 10)", "95th percentile duration per fingerprint.", "s",
                     [("topk(10, %s)" % quantile(0.95, "pg_slow_query_duration_seconds", ["fingerprint"]), "{{fingerprint}}")],
                     minimum=0), 8, 8)
    d.add(timeseries("Sequential scans in slow queries (top 10)", "Sequential scans per second reported by auto_explain "
                     "plans of slow statements, per relation.", "ops",
                     [("topk(10, sum by (relation) (%s))" % rate("pg_slow_query_seq_scans_total"), "{{relation}}")], minimum=0), 8, 8)

    d.row("vitals Postgres sources", "Health of vitals' postgres and slow_query sources.")
    vitals_source_panels(d, "postgres|slow_query")
    return d


# ---------------------------------------------------------------- vitals-redis


def redis():
    d = Dashboard(
        "vitals-redis", "vitals / Redis",
        "Redis INFO, command statistics and keyspace collected by vitals (redis_exporter-compatible names).",
        ["vitals", "redis"], common_variables())

    d.row("Overview", "Server state and the numbers to look at first.")
    d.add(stat("Up", "Whether vitals' last connection to Redis succeeded (redis_up).", "none", "min(redis_up%s)" % sel(),
               mappings=UP_MAPPINGS, steps=[(None, "red"), (1, "green")], graph=False), 3, 4)
    d.add(stat("Uptime", "Time since the Redis server started.", "s", "max(redis_uptime_in_seconds%s)" % sel(),
               graph=False, decimals=0), 3, 4)
    d.add(stat("Clients", "Connected clients.", "short", "sum(redis_connected_clients%s)" % sel()), 3, 4)
    d.add(stat("Memory used of maxmemory", "used_memory over maxmemory. No data when maxmemory is 0 (no limit): then "
               "only the host's memory bounds Redis.", "percentunit",
               "max(redis_memory_used_bytes%s / (redis_memory_max_bytes%s > 0))" % (sel(), sel()), steps=PCT_BAD_HIGH,
               decimals=1), 3, 4)
    d.add(stat("Hit ratio", "Keyspace hits / (hits + misses) over the interval.", "percentunit", "min(%s)" % REDIS_HIT,
               steps=PCT_GOOD_HIGH, decimals=2), 3, 4)
    d.add(stat("Commands", "Commands processed per second (all commands, from commandstats).", "ops",
               "sum(%s)" % rate("redis_commands_total")), 3, 4)
    d.add(stat("Fragmentation ratio", "RSS over used memory; well above 1.5 wastes memory, below 1 means swapping.",
               "none", "max(redis_mem_fragmentation_ratio%s)" % sel(),
               steps=[(None, "orange"), (1, "green"), (1.5, "orange"), (2, "red")], decimals=2), 3, 4)
    d.add(stat("Keys", "Keys in all databases.", "short", "sum(redis_db_keys%s)" % sel()), 3, 4)

    d.row("Commands", "Which commands run and how long they take (INFO commandstats).")
    d.add(timeseries("Commands by command (top 10)", "Calls per second per command.", "ops",
                     [("topk(10, sum by (cmd) (%s))" % rate("redis_commands_total"), "{{cmd}}")], minimum=0), 8, 8)
    d.add(timeseries("Average time per command (top 10)", "Server-side time per call, per command, over the interval.", "s",
                     [("topk(10, sum by (cmd) (%s) / sum by (cmd) (%s))" % (
                         rate("redis_commands_duration_seconds_total"), rate("redis_commands_total")), "{{cmd}}")], minimum=0), 8, 8)
    d.add(timeseries("Time per command (top 10)", "Seconds of server time per second spent in each command.", "s",
                     [("topk(10, sum by (cmd) (%s))" % rate("redis_commands_duration_seconds_total"), "{{cmd}}")], minimum=0), 8, 8)

    d.row("Memory and keys", "Memory against the limit, evictions and the keyspace.")
    d.add(timeseries("Memory used and limit", "used_memory and maxmemory (0 = no limit).", "bytes", [
        ("max by (instance) (redis_memory_used_bytes%s)" % sel(), "used {{instance}}"),
        ("max by (instance) (redis_memory_max_bytes%s)" % sel(), "maxmemory {{instance}}"),
    ], minimum=0), 8, 8)
    d.add(timeseries("Fragmentation ratio", "mem_fragmentation_ratio over time.", "none",
                     [("max by (instance) (redis_mem_fragmentation_ratio%s)" % sel(), "{{instance}}")], decimals=2), 8, 8)
    d.add(timeseries("Expired and evicted keys", "Keys expired by TTL and evicted under maxmemory, per second. "
                     "Evictions of a cache mean it is too small.", "ops", [
                         ("sum(%s)" % rate("redis_expired_keys_total"), "expired"),
                         ("sum(%s)" % rate("redis_evicted_keys_total"), "evicted"),
                     ], minimum=0), 8, 8)
    d.add(timeseries("Hits and misses", "Keyspace lookups per second that found (hit) or missed the key.", "ops", [
        ("sum(%s)" % rate("redis_keyspace_hits_total"), "hits"),
        ("sum(%s)" % rate("redis_keyspace_misses_total"), "misses"),
    ], minimum=0), 8, 8)
    d.add(timeseries("Keys per database", "Keys per logical database.", "short",
                     [("sum by (db) (redis_db_keys%s)" % sel(), "{{db}}")], minimum=0), 8, 8)
    d.add(timeseries("Expiring and persistent keys", "Keys with a TTL and keys without one, all databases.", "short", [
        ("sum(redis_db_keys_expiring%s)" % sel(), "expiring"),
        ("sum(redis_db_keys%s) - sum(redis_db_keys_expiring%s)" % (sel(), sel()), "persistent"),
    ], minimum=0, stack=True), 8, 8)

    d.row("Clients and network", "Connections, blocked clients, network traffic and the slow log.")
    d.add(timeseries("Clients", "Connected clients and clients blocked in BLPOP/BRPOP/WAIT and the like.", "short", [
        ("sum(redis_connected_clients%s)" % sel(), "connected"),
        ("sum(redis_blocked_clients%s)" % sel(), "blocked"),
    ], minimum=0), 6, 8)
    d.add(timeseries("Clients used of maxclients", "Connected clients over maxclients.", "percentunit",
                     [(REDIS_CLIENTS, "{{instance}}")], minimum=0, steps=[(None, "green"), (0.9, "red")]), 6, 8)
    d.add(timeseries("Network I/O", "Bytes per second received and sent by Redis.", "Bps", [
        ("sum(%s)" % rate("redis_net_input_bytes_total"), "input"),
        ("sum(%s)" % rate("redis_net_output_bytes_total"), "output"),
    ], minimum=0), 6, 8)
    d.add(timeseries("Slow log length", "Entries in SLOWLOG (commands slower than slowlog-log-slower-than).", "short",
                     [("max by (instance) (redis_slowlog_length%s)" % sel(), "{{instance}}")], minimum=0), 6, 8)

    d.row("vitals Redis source", "Health of vitals' redis source.")
    vitals_source_panels(d, "redis")
    return d


DASHBOARDS = [("vitals-overview.json", overview), ("vitals-postgres.json", postgres), ("vitals-redis.json", redis)]


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dashboards")
    os.makedirs(out_dir, exist_ok=True)
    for filename, build in DASHBOARDS:
        text = json.dumps(build().to_json(), indent=2, ensure_ascii=False) + "\n"
        with open(os.path.join(out_dir, filename), "w", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
