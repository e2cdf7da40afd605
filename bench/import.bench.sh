#!/usr/bin/env bash
# CSV import benchmark: `prevoir datasets import` against DuckDB's
# COPY (SELECT * FROM read_csv(...)) TO '...parquet' (zstd) on the same
# files in the same run, at 1M and 10M lines made by
# ../shared/bench/gen_orders.py (deterministic). Writes a markdown section
# to $1 (default bench/out/import.md; bench/run.sh assembles
# docs/BENCHMARKS.md) and checks that DuckDB reads prevoir's parts back
# with the same counts and sums.
#
# Usage: bash bench/import.bench.sh [out.md]
# Environment: BENCH_RUNS (default 3), BENCH_SIZES (default "1m 10m"),
#   BENCH_DATA (default /tmp/bench-data), DUCKDB_NODE_DIR (default
#   /tmp/duckdb-node), SHARED (default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-bench/out/import.md}
mkdir -p "$(dirname "$OUT")"
SHARED=${SHARED:-$ROOT/../shared}
DATA=${BENCH_DATA:-/tmp/bench-data}
RUNS=${BENCH_RUNS:-3}
SIZES=${BENCH_SIZES:-1m 10m}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/prevoir-import-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

if [ ! -f "$SHARED/bench/gen_orders.py" ]; then
	echo "bench/import.sh: $SHARED/bench/gen_orders.py is missing (set SHARED)" >&2
	exit 1
fi
DUCK=${DUCKDB_NODE_DIR:-/tmp/duckdb-node}
if [ ! -d "$DUCK/node_modules/@duckdb/node-api" ]; then
	echo "installing @duckdb/node-api into $DUCK" >&2
	mkdir -p "$DUCK" && (cd "$DUCK" && npm init -y >/dev/null && npm install @duckdb/node-api@1.5.6-r.1 >/dev/null)
fi

mkdir -p "$DATA"
gen() { # size customers lines
	local f="$DATA/orders_$1.csv"
	if [ ! -s "$f" ]; then
		echo "generating $f" >&2
		"$PY" "$SHARED/bench/gen_orders.py" --customers "$2" --lines "$3" --seed 42 --out "$f" >&2
	fi
}
for s in $SIZES; do
	case $s in
	1m) gen 1m 50000 1000000 ;;
	10m) gen 10m 500000 10000000 ;;
	*) echo "unknown size $s (1m, 10m)" >&2; exit 2 ;;
	esac
done

go build -o "$WORK/prevoir" ./cmd/prevoir
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
for s in $SIZES; do
	csv=$DATA/orders_$s.csv
	store=$WORK/store-$s
	# Runs alternate (prevoir, DuckDB, prevoir, ...): on a shared machine
	# whose speed drifts, both tools see the same drift.
	for r in $(seq "$RUNS"); do
		echo "prevoir import $s (run $r)" >&2
		"$PY" "$SHARED/bench/timeit_proc.py" -n 1 --warmup 0 --label "prevoir $s" --log "$WORK/log" -- \
			sh -c "rm -rf '$store' && exec '$WORK/prevoir' --store '$store' datasets import --name bench '$csv'" >>"$RESULTS"
		echo "duckdb copy $s (run $r)" >&2
		"$PY" "$SHARED/bench/timeit_proc.py" -n 1 --warmup 0 --label "duckdb $s" --log "$WORK/log" -- \
			node "$ROOT/bench/import_duckdb.mjs" --in "$csv" --out "$WORK/duck-$s.parquet" --threads 2 >>"$RESULTS"
	done
	# Readability: DuckDB reads prevoir's parts with the counts describe gives.
	"$WORK/prevoir" --store "$store" datasets describe --json >"$WORK/describe-$s.json"
	node "$ROOT/bench/import_duckdb.mjs" --check "$store/datasets/bench/orders/**/*.parquet" >"$WORK/check-$s.json"
done

"$PY" - "$RESULTS" "$WORK" "$OUT" "$SIZES" <<'EOF'
import json, os, platform, re, subprocess, sys, datetime
results, work, doc, sizes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
import statistics
runs = {}
for line in open(results):
    line = line.strip()
    if line:
        r = json.loads(line)
        if r.get("rc") not in (None, [0]):
            sys.exit(f"{r['label']}: exit status {r['rc']}")
        runs.setdefault(r["label"], []).append(r)
# One timeit line per run (runs alternate between the tools): medians.
rows = {label: {"n": len(rs), **{k: {"median": statistics.median(x[k]["median"] for x in rs)} for k in ("wall", "cpu", "peak_mib")}}
        for label, rs in runs.items()}
lines = {"1m": 1_000_000, "10m": 10_000_000}
out = []
out.append("## CSV import: `prevoir datasets import` vs DuckDB COPY to zstd Parquet")
out.append("")
cpu = "unknown"
try:
    for l in open("/proc/cpuinfo"):
        if l.startswith("model name"):
            cpu = l.split(":", 1)[1].strip(); break
except OSError:
    pass
out.append(f"Run {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on {os.cpu_count()} CPUs ({cpu}), "
           f"load average {os.getloadavg()[0]:.1f} at the end; medians of {rows[next(iter(rows))]['n']} runs "
           "(whole process, `../shared/bench/timeit_proc.py`), prevoir's and DuckDB's runs alternating. Input: `gen_orders.py --seed 42` "
           "(1M lines: 50,000 customers; 10M lines: 500,000 customers). prevoir writes sorted, "
           "month-partitioned zstd Parquet parts and a manifest; DuckDB runs "
           "`COPY (SELECT * FROM read_csv(...)) TO '...parquet' (FORMAT parquet, COMPRESSION zstd)` with 2 threads "
           "(Node package @duckdb/node-api 1.5.6, process start included).")
out.append("")
out.append("| lines | tool | wall s | lines/s | CPU s | peak MiB |")
out.append("|---:|---|---:|---:|---:|---:|")
for s in sizes:
    for tool in ("prevoir", "duckdb"):
        r = rows[f"{tool} {s}"]
        w = r["wall"]["median"]
        out.append(f"| {lines[s]:,} | {tool} | {w:.2f} | {lines[s]/w/1e6:.2f}M | {r['cpu']['median']:.2f} | {r['peak_mib']['median']:.0f} |")
out.append("")
for s in sizes:
    p, d = rows[f"prevoir {s}"], rows[f"duckdb {s}"]
    out.append(f"- {lines[s]:,} lines: prevoir is {d['wall']['median']/p['wall']['median']:.2f}x DuckDB's speed "
               f"({lines[s]/p['wall']['median']/1e6:.2f}M lines/s; target >= 1M lines/s and >= DuckDB).")
if "1m" in sizes and "10m" in sizes:
    m1, m10 = rows["prevoir 1m"]["peak_mib"]["median"], rows["prevoir 10m"]["peak_mib"]["median"]
    out.append(f"- prevoir's peak memory at 10M lines is {m10/m1:.2f}x that at 1M (target <= 1.25x): "
               "rows are sorted and written as parts every 32Ki rows, never all held, "
               "under the import's soft heap limit (`--memory-limit`, default 120 MiB).")
for s in sizes:
    desc = json.load(open(f"{work}/describe-{s}.json"))
    chk = json.load(open(f"{work}/check-{s}.json"))
    total = sum(desc["value"].values())
    ok = int(chk["lines"]) == desc["lines"] and int(chk["customers"]) == desc["customers"] and abs(float(chk["value"]) - total) < 0.01
    out.append(f"- DuckDB reads prevoir's {lines[s]:,}-line parts: {int(chk['lines']):,} lines, {int(chk['customers']):,} customers, "
               f"sum(quantity*unit_price) {float(chk['value']):,.2f} — {'same as' if ok else 'DIFFERENT FROM'} `prevoir datasets describe`.")
section = "\n".join(out) + "\n"
open(doc, "w").write(section)
print(section)
EOF
