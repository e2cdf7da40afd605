#!/usr/bin/env bash
# Synthetic history generator: throughput (order lines/s) and peak memory
# for 1,000,000 customers, as CSV (order lines only) and as Parquet into a local store (every
# table and the latent truth). Targets: >= 1M lines/s, < 2 GiB peak.
# Writes a markdown section to $1 (default bench/out/generate.md).
#
#   bash bench/generate.bench.sh [out.md]
#   CUSTOMERS=200000 REPEATS=1 bash bench/generate.bench.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out=${1:-$BENCH_OUT/generate.md}
data=$BENCH_DATA/generate
customers=${CUSTOMERS:-1000000}
repeats=${REPEATS:-3}
if [ "$BENCH_QUICK" = 1 ]; then customers=${CUSTOMERS:-20000}; repeats=${REPEATS:-1}; fi
mkdir -p "$data"
go build -o "$data/generate" ./bench/generate

results="$data/results.jsonl"
: > "$results"
for fmt in csv parquet; do
	target="$data/out.$fmt"
	rm -rf "$target"
	# One untimed run for the line counts (the same flags give the same rows).
	"$data/generate" -customers "$customers" -format "$fmt" -out "$target" > "$data/summary.$fmt.json"
	rm -rf "$target"
	# Each timed run starts from nothing: a rerun into the same store would
	# find the dataset and do nothing.
	cat > "$data/run-$fmt.sh" <<SH
#!/usr/bin/env bash
rm -rf "$target"
exec "$data/generate" -customers "$customers" -format "$fmt" -out "$target"
SH
	chmod +x "$data/run-$fmt.sh"
	timeit -n "$repeats" -warmup 0 -label "$fmt" -- "$data/run-$fmt.sh" | tee -a "$results" >&2
	rm -rf "$target"
done

"$REPORT_PYTHON" - "$data" "$results" "$customers" "$(nproc)" > "$out" <<'PY'
import json, sys
data, results, customers, cores = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rows = [json.loads(l) for l in open(results)]
print("## Generator (`prevoir datasets generate`)\n")
print(f"{customers:,} customers, 730 days, seed 42, {cores} cores; median (min-max) of {rows[0]['n']} runs,")
print("whole process (`kit timeit`). Lines are order lines (sales and returns); the Parquet run")
print("also writes customers, products, events, promotions, loyalty, consent and the latent truth.")
print("Targets: at least 1,000,000 lines/s, peak memory under 2 GiB.\n")
print("| output | order lines | other rows | wall s | lines/s | cpu s | peak MiB |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    s = json.load(open(f"{data}/summary.{r['label']}.json"))
    other = s["events"] + s["loyalty_entries"] + s["consent_records"] + s["customers"] if r["label"] == "parquet" else 0
    w = r["wall"]
    print(f"| {r['label']} | {s['lines']:,} | {other:,} | {w['median']:.2f} ({w['min']:.2f}-{w['max']:.2f}) "
          f"| {s['lines']/w['median']:,.0f} | {r['cpu']['median']:.2f} | {r['peak_mib']['median']:.0f} |")
PY
cat "$out"
