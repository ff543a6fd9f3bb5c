#!/usr/bin/env bash
# Ingest benchmark: vitals replay vs mtail --one_shot on the same timing log.
#
#   bash bench/ingest.sh                  # 1,000,000 lines, 5 runs per tool
#   RUNS=7 LINES=200000 bash bench/ingest.sh
#
# Environment:
#   RUNS=N                 timed runs per tool (default 5, at least 5 recommended)
#   LINES=N                log size (default 1000000; seed 1)
#   VITALS_BIN=PATH        vitals binary (default .build/release/vitals)
#   VITALS_BENCH_NO_BUILD=1  do not `swift build -c release` when the binary is missing
#
# Writes into bench/out/ (gitignored): the log + truth JSON, the rendered mtail
# program, raw runs (ingest-runs.tsv) and the Markdown report (ingest.md, also
# printed). Each run is measured with /usr/bin/time -f '%e %U %S %M'; the two
# tools alternate run by run, after one untimed warm-up each (page cache).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
LINES=${LINES:-1000000}
SEED=1
VITALS_BIN=${VITALS_BIN:-.build/release/vitals}
OUT=bench/out
LOG="$OUT/timing-${LINES}-seed${SEED}.log"
TRUTH="$OUT/timing-${LINES}-seed${SEED}.truth.json"
PROG="$OUT/timing.mtail"
RUNS_TSV="$OUT/ingest-runs.tsv"
REPORT="$OUT/ingest.md"

section() { printf '\n==== %s ====\n' "$*" >&2; }
mkdir -p "$OUT"

# ---- tools ------------------------------------------------------------------
if [[ ! -x /usr/bin/time ]] || ! command -v mtail >/dev/null 2>&1; then
  section "installing benchmark dependencies"
  bash scripts/install-deps.sh --bench </dev/null
fi

# ---- mtail program with the buckets from bench/buckets.txt ---------------------
BUCKETS=$(grep -v '^[[:space:]]*#' bench/buckets.txt | tr ',\n\t' '   ' | xargs | sed 's/ /, /g')
[[ -n $BUCKETS ]] || { echo "bench/buckets.txt has no buckets" >&2; exit 1; }
awk -v b="$BUCKETS" '
  /^histogram http_request_duration_seconds / { sub(/ buckets .*$/, " buckets " b) }
  { print }' bench/timing.mtail >"$PROG"
grep -q "buckets $BUCKETS\$" "$PROG" || { echo "could not render $PROG" >&2; exit 1; }
mtail --compile_only --logtostderr --progs "$PROG" >/dev/null 2>"$OUT/mtail-compile.err" || {
  cat "$OUT/mtail-compile.err" >&2; echo "mtail program does not compile" >&2; exit 1; }

# ---- input log ---------------------------------------------------------------------
if [[ ! -s $LOG || ! -s $TRUTH || scripts/gen-timing-log.py -nt $LOG ]]; then
  section "generating $LINES lines (seed $SEED) -> $LOG"
  python3 scripts/gen-timing-log.py "$LINES" "$SEED" --truth "$TRUTH" >"$LOG.tmp" 2>"$OUT/gen.err"
  mv "$LOG.tmp" "$LOG"
fi
cat "$LOG" >/dev/null  # warm the page cache
LOG_BYTES=$(stat -c %s "$LOG")

# ---- vitals binary ----------------------------------------------------------------
VITALS_OK=1
VITALS_SKIP_REASON=""
if [[ ! -x $VITALS_BIN ]]; then
  if [[ ${VITALS_BENCH_NO_BUILD:-0} != 1 && $VITALS_BIN == .build/release/vitals ]]; then
    section "building vitals (swift build -c release)"
    if ! swift build -c release </dev/null >"$OUT/vitals-build.log" 2>&1; then
      tail -n 20 "$OUT/vitals-build.log" >&2
      VITALS_SKIP_REASON="swift build -c release failed (see $OUT/vitals-build.log)"
    fi
  fi
  if [[ ! -x $VITALS_BIN && -z $VITALS_SKIP_REASON ]]; then
    VITALS_SKIP_REASON="binary $VITALS_BIN not found"
  fi
fi
if [[ -z $VITALS_SKIP_REASON ]]; then
  # smoke test on the first 1000 lines: does this build have `replay`?
  head -n 1000 "$LOG" >"$OUT/smoke.log"
  if ! "$VITALS_BIN" replay --timing-log.format starlette "$OUT/smoke.log" \
        </dev/null >"$OUT/vitals-smoke.out" 2>"$OUT/vitals-smoke.err"; then
    tail -n 5 "$OUT/vitals-smoke.err" >&2
    VITALS_SKIP_REASON="'$VITALS_BIN replay --timing-log.format starlette FILE' failed"
  fi
fi
if [[ -n $VITALS_SKIP_REASON ]]; then
  VITALS_OK=0
  echo "SKIPPING vitals half: $VITALS_SKIP_REASON" >&2
fi

VITALS_CMD=("$VITALS_BIN" replay --timing-log.format starlette "$LOG")
MTAIL_CMD=(mtail --one_shot --one_shot_format prometheus --logtostderr --progs "$PROG" --logs "$LOG")

# ---- correctness check (untimed; doubles as the warm-up run) ----------------
section "checking outputs against the generator's ground truth"
"${MTAIL_CMD[@]}" </dev/null >"$OUT/mtail.prom" 2>"$OUT/mtail.err"
if [[ $VITALS_OK == 1 ]]; then
  "${VITALS_CMD[@]}" </dev/null >"$OUT/vitals.prom" 2>"$OUT/vitals.err" || true
fi
python3 - "$TRUTH" "$OUT/mtail.prom" "$( [[ $VITALS_OK == 1 ]] && echo "$OUT/vitals.prom")" <<'EOF'
import json, re, sys
truth = json.load(open(sys.argv[1]))
rx = re.compile(r'^http_request_duration_seconds_(count|sum)\{(.*)\} (\S+)$')
def load(path):
    got = {}
    for line in open(path):
        m = rx.match(line.strip())
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
        key = "%s %s" % (labels.get("method"), labels.get("route"))
        got.setdefault(key, {})[m.group(1)] = float(m.group(3))
    return got
for name, path in (("mtail", sys.argv[2]), ("vitals", sys.argv[3])):
    if not path:
        continue
    got = load(path)
    bad = []
    for route, t in truth.items():
        g = got.get(route, {})
        if g.get("count") != t["n"]:
            bad.append("%s: count %s != %d" % (route, g.get("count"), t["n"]))
        elif abs(g.get("sum", 0) - t["sum"]) > 1e-6 * max(1.0, t["sum"]):
            bad.append("%s: sum %s != %s" % (route, g.get("sum"), t["sum"]))
    extra = sorted(set(got) - set(truth))
    total = sum(g.get("count", 0) for g in got.values())
    if bad or extra:
        print("%-6s: MISMATCH (total count %d): %s %s" % (name, total, "; ".join(bad), extra), file=sys.stderr)
    else:
        print("%-6s: ok, %d routes, count and sum per route match the truth (%d requests)"
              % (name, len(truth), total), file=sys.stderr)

# Both ran: every bucket of vitals must equal mtail's (le compared numerically,
# the `prog` label ignored), which checks the bucket boundaries (le is <=).
if sys.argv[3]:
    from decimal import Decimal
    brx = re.compile(r'^http_request_duration_seconds_bucket\{(.*)\} (\S+)$')
    def buckets(path):
        out = {}
        for line in open(path):
            m = brx.match(line.strip())
            if m:
                l = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1)))
                le = l.get("le", "")
                le = le if le == "+Inf" else str(Decimal(le).normalize())
                out[(l.get("method"), l.get("route"), le)] = float(m.group(2))
        return out
    bm, bv = buckets(sys.argv[2]), buckets(sys.argv[3])
    diff = [k for k in sorted(set(bm) | set(bv)) if bm.get(k) != bv.get(k)]
    if diff:
        print("buckets: MISMATCH vitals vs mtail in %d of %d series, e.g. %s: vitals %s, mtail %s"
              % (len(diff), len(bm), diff[0], bv.get(diff[0]), bm.get(diff[0])), file=sys.stderr)
    else:
        print("buckets: vitals and mtail agree on all %d bucket series" % len(bm), file=sys.stderr)
EOF

# ---- timed runs -------------------------------------------------------------------
section "timing $RUNS runs per tool on $LINES lines ($LOG_BYTES bytes)"
printf 'tool\trun\twall_s\tuser_s\tsys_s\tmaxrss_kb\n' >"$RUNS_TSV"
TIMEFILE=$(mktemp "$OUT/time.XXXXXX")
trap 'rm -f "$TIMEFILE"' EXIT
measure() { # measure TOOL RUN CMD...
  local tool=$1 run=$2
  shift 2
  if ! /usr/bin/time -f '%e %U %S %M' -o "$TIMEFILE" "$@" </dev/null >/dev/null 2>"$OUT/$tool.err"; then
    tail -n 5 "$OUT/$tool.err" >&2
    echo "$tool run $run failed" >&2
    return 1
  fi
  read -r wall user sys rss <"$TIMEFILE"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$run" "$wall" "$user" "$sys" "$rss" >>"$RUNS_TSV"
  printf '  %-6s run %d: wall %6ss  cpu %6ss  maxrss %7s KB\n' "$tool" "$run" "$wall" \
    "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')" "$rss" >&2
}
for ((i = 1; i <= RUNS; i++)); do
  if [[ $VITALS_OK == 1 ]]; then
    measure vitals "$i" "${VITALS_CMD[@]}" || VITALS_OK=0
  fi
  measure mtail "$i" "${MTAIL_CMD[@]}"
done

# ---- report -----------------------------------------------------------------------
MTAIL_VERSION=$(mtail --version 2>&1 | head -n1 | awk '{print $3}')
VITALS_VERSION=""
if [[ $VITALS_OK == 1 ]]; then
  VITALS_VERSION=$("$VITALS_BIN" --version 2>/dev/null | head -n1 || true)
fi
python3 - "$RUNS_TSV" "$LINES" "$LOG_BYTES" "$MTAIL_VERSION" "${VITALS_VERSION:-?}" \
    "${VITALS_SKIP_REASON}" "$(nproc)" >"$REPORT" <<'EOF'
import statistics, sys
tsv, lines, size, mtail_v, vitals_v, skip, ncpu = sys.argv[1:8]
lines, size = int(lines), int(size)
runs = {}
for row in list(open(tsv))[1:]:
    tool, _run, wall, user, sys_, rss = row.split("\t")
    runs.setdefault(tool, []).append((float(wall), float(user) + float(sys_), int(rss)))

def stats(vals):
    return statistics.median(vals), min(vals), max(vals)

def fmt(t, spec):
    return "%s (%s – %s)" % tuple(spec % v for v in t)

rows, med = [], {}
for tool in ("vitals", "mtail"):
    r = runs.get(tool)
    if not r:
        continue
    wall = stats([w for w, _, _ in r])
    cpu = stats([c for _, c, _ in r])
    lps = stats([lines / max(w, 1e-9) for w, _, _ in r])
    lpc = stats([lines / max(c, 1e-9) for _, c, _ in r])
    rss = stats([m / 1024.0 for _, _, m in r])
    med[tool] = (wall[0], cpu[0], lps[0], lpc[0], rss[0])
    rows.append("| %s | %d | %s | %s | %s | %s | %s |" % (
        tool, len(r), fmt(wall, "%.2f"), fmt(cpu, "%.2f"),
        fmt(lps, "%.0f"), fmt(lpc, "%.0f"), fmt(rss, "%.1f")))

out = []
out.append("## Ingest benchmark: %d-line Starlette timing log (%.1f MB)" % (lines, size / 1e6))
out.append("")
out.append("median (min – max) over the runs; CPU = user + sys; %s CPUs; mtail %s; vitals %s"
           % (ncpu, mtail_v, vitals_v if "vitals" in runs else "not run"))
out.append("")
out.append("| tool | runs | wall s | CPU s | lines/s | lines per CPU-s | max RSS MiB |")
out.append("|---|---|---|---|---|---|---|")
out.extend(rows)
if "vitals" in med and "mtail" in med:
    v, m = med["vitals"], med["mtail"]
    out.append("| **vitals / mtail** | | %.2fx | %.2fx | %.2fx | %.2fx | %.2fx |" % (
        v[0] / m[0], v[1] / m[1], v[2] / m[2], v[3] / m[3], v[4] / m[4]))
    out.append("")
    out.append("Ratios are of medians: below 1 is better for wall, CPU and RSS; above 1 is better for lines/s.")
else:
    out.append("")
    out.append("vitals half skipped: %s" % (skip or "it failed during the timed runs"))
out.append("")
out.append("Commands: `vitals replay --timing-log.format starlette FILE > /dev/null` and "
           "`mtail --one_shot --one_shot_format prometheus --progs bench/out/timing.mtail --logs FILE > /dev/null`.")
print("\n".join(out))
EOF
section "report ($REPORT)"
cat "$REPORT"
