#!/usr/bin/env bash
# The nightly job ([nightly]): `prevoir run` on 1,000,000 generated
# customers with baskets of 15 lines on average (about 48M order lines;
# the generator's default, 2.6, gives about 9M), wall time and peak
# memory of the whole run, and the time and rows of each stage (from the
# run's --json summary). Target: under 10
# minutes and under 4 GiB on a 2-core machine. No anchor. Writes a
# markdown section to $1 (default bench/out/nightly.md).
#
# The churn, propensity, demand and clv models are trained on a second,
# 20,000-customer dataset in the same store, as make run trains them, and
# promoted to champion (a task's feature schema is the same for every
# dataset). The config is deploy/prevoir.yaml's tasks and
# rules. Datasets, store and model are kept under $BENCH_DATA/nightly;
# each timed run starts without the scoring feature table (removed), as a
# real night does on new data.
#
#   bash bench/nightly.bench.sh [out.md]
#   CUSTOMERS=1000000 BASKET_LINES=15 REPEATS=1 (defaults; BENCH_QUICK=1: 20000)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out=${1:-$BENCH_OUT/nightly.md}
customers=${CUSTOMERS:-1000000}
repeats=${REPEATS:-1}
basket=${BASKET_LINES:-15}
if [ "$BENCH_QUICK" = 1 ]; then customers=${CUSTOMERS:-20000}; repeats=1; fi
generated_store nightly "$customers" --basket-lines "$basket"

train_dataset
if ! grep -q '"champion"' "$store/models/churn/aliases.json" 2>/dev/null; then
	$P train --task churn --dataset train --as-of 2024-10-01 --cutoffs 3 --step 90d --name churn --promote champion >>"$log" 2>&1
fi
# The other tasks of deploy/prevoir.yaml, trained as make run trains them.
if ! grep -q '"champion"' "$store/models/propensity/aliases.json" 2>/dev/null; then
	$P train --task propensity --dataset train --as-of 2024-12-01 --cutoffs 3 --step 30d --name propensity --promote champion >>"$log" 2>&1
fi
if ! grep -q '"champion"' "$store/models/demand/aliases.json" 2>/dev/null; then
	$P train --task demand --dataset train --as-of 2024-12-01 --cutoffs 4 --step 4w --top-products 200 --name demand --promote champion >>"$log" 2>&1
fi
if ! grep -q '"champion"' "$store/models/clv/aliases.json" 2>/dev/null; then
	$P train --task clv --dataset train --as-of 2024-10-01 --horizon 13w --name clv --promote champion >>"$log" 2>&1
fi
cp deploy/triggers.yaml deploy/offers.yaml "$data/"
sed -e "s/^dataset: .*/dataset: $ds/" deploy/prevoir.yaml >"$data/prevoir.yaml"

lines=$(grep -m1 -E '"rows"' "$store/datasets/$ds/orders/_manifest.json" | tr -dc '0-9')
load_before=$(load)
rm -rf "$store/features/$ds/"*/2025-01-01
: >"$data/summary.json"
run=$(timeit -n "$repeats" -warmup 0 -label "run $customers" -log "$data/stderr.log" -- \
	sh -c "rm -rf '$store/features/$ds/'*/2025-01-01; $P run --config '$data/prevoir.yaml' --json >'$data/summary.json'")
echo "$run" >&2
load_after=$(load)

r1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
w=$(field "$run" wall) c=$(r1 "$(field "$run" cpu)") m=$(printf '%.0f' "$(field "$run" peak_mib)")
verdict=$(awk -v w="$w" -v m="$m" 'BEGIN {
	t = (w < 600) ? "met" : "missed"; g = (m < 4096) ? "met" : "missed"
	printf "time %s (%.1f s against 600 s), memory %s (%.0f MiB against 4096 MiB)", t, w, g, m }')
stages=$(/usr/bin/python3 - "$data/summary.json" <<'PY'
import json, re, sys
s = json.load(open(sys.argv[1]))
def secs(d):
    t = 0.0
    for n, u in re.findall(r'([0-9.]+)(ns|µs|us|ms|s|m|h)', d):
        t += float(n) * {'ns': 1e-9, 'µs': 1e-6, 'us': 1e-6, 'ms': 1e-3, 's': 1, 'm': 60, 'h': 3600}[u]
    return t
for st in s["stages"]:
    name = st["stage"] + (" " + st["task"] if st.get("task") else "")
    e = secs(st["elapsed"])
    rate = "%.0f" % (st["rows"] / e) if e > 0 and st["rows"] else "-"
    print("| %s | %d | %.1f s | %s |" % (name, st["rows"], e, rate))
PY
)
{
	echo "## The nightly job: $customers customers (no anchor)"
	echo
	echo "$repeats run(s) of \`prevoir run --config deploy/prevoir.yaml\` (churn, propensity, demand, clv and segments, and the six trigger rules), whole process (\`kit timeit\`), $(nproc) CPUs, $(date -u +%Y-%m-%d)."
	echo "Dataset: \`prevoir datasets generate --customers $customers --basket-lines $basket\` (seed 42, 730 days to 2025-01-01; $lines order lines); the five"
	echo "models are trained on a second generated dataset of 20,000 customers (as make run trains them) and promoted to champion. Each run"
	echo "builds the scoring feature tables (removed before), publishes every task, checks quality, evaluates the rules (reading orders,"
	echo "loyalty, events and consent) and runs store gc. Load average (1, 5, 15 min) $load_before before, $load_after after."
	echo "Target: under 10 minutes and under 4 GiB. This run: $verdict (wall $(r1 "$w") s, CPU $c s, peak $m MiB)."
	echo
	echo "| stage | rows | wall | rows/s |"
	echo "|---|---|---|---|"
	echo "$stages"
} >"$out"
cat "$out"
