#!/usr/bin/env bash
# Demand ([demand]): features + fit + scoring time and peak memory for a
# generated history of 10,000 products in 20 warehouses over 104 weeks
# (`datasets generate --products 10000 --warehouses 20 --days 728`), with
# scikit-learn's PoissonRegressor fitted on the same design in the same run
# (bench/anchors/sklearn_poisson.py on the two training tables, exported).
# Stages: (a) `features build --task demand` as of the last week, every
# series with a sale in the 365-day lookback, no labels; (b) `train --task
# demand` on 3 origins 4 weeks apart (builds the 3 labelled tables, fits on
# the two earlier ones, whose horizons end by the latest, backtests on it); (c) `score --task demand` (the
# scoring table of (a) reused; both tables published). Target: (a) + (b) +
# (c) under 60 s and each under 2 GiB. Writes a markdown section to $1
# (default bench/out/demand.md).
#
#   bash bench/demand.bench.sh [out.md]
#   CUSTOMERS=400000 PRODUCTS=10000 REPEATS=1 (BENCH_QUICK=1: 20000, 500)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out=${1:-$BENCH_OUT/demand.md}
customers=${CUSTOMERS:-400000}
products=${PRODUCTS:-10000}
repeats=${REPEATS:-1}
if [ "$BENCH_QUICK" = 1 ]; then customers=${CUSTOMERS:-20000}; products=${PRODUCTS:-500}; fi
data=$BENCH_DATA/demand
store=$data/store_${customers}_$products
ds=d$customers
log=$data/run.log
mkdir -p "$data"
: >"$log"
P="$PREVOIR --store $store"
r1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }

if [ ! -s "$store/datasets/$ds/orders/_manifest.json" ]; then
	echo "generating $customers customers, $products products, 20 warehouses, 728 days into $store" >&2
	$P datasets generate --dataset "$ds" --customers "$customers" --products "$products" --warehouses 20 --days 728 --replace >>"$log" 2>&1
fi
lines=$($P --json datasets describe --dataset "$ds" 2>>"$log" | "$REPORT_PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d.get("lines", "?"))' 2>/dev/null || echo "?")
asof=2024-12-31
origin=2024-12-03

feat=$(timeit -n "$repeats" -warmup 0 -label "demand features" -log "$log" -- \
	$P features build --dataset "$ds" --task demand --as-of "$asof" --force)
frows=$(grep -E '^built .*: [0-9]+ rows' "$log" | tail -1 | sed -E 's/.*: ([0-9]+) rows.*/\1/')
tr=$(timeit -n 1 -warmup 0 -label "demand train" -log "$log" -- \
	$P train --dataset "$ds" --task demand --as-of "$origin" --cutoffs 3 --step 4w --name demand --promote champion)
trows=$(grep -E '^split: ' "$log" | tail -1 | sed -E 's/.*\(([0-9]+) rows\)$/\1/')
sc=$(timeit -n "$repeats" -warmup 0 -label "demand score" -log "$log" -- \
	$P score --dataset "$ds" --task demand --model demand@champion --as-of "$asof")
srows=$(grep -E '^published .* forecast rows' "$log" | tail -1 | sed -E 's/.* ([0-9]+) forecast rows.*/\1/')

anchor="scikit-learn: anchor unavailable (${ANCHOR_SKLEARN#unavailable: })"
if anchor_ok sklearn; then
	tabs=()
	for o in 2024-11-05 2024-10-08; do
		spec=$(grep -l '"labels": true' "$store"/features/"$ds"/demand/$o/*/_manifest.json | head -1 | xargs dirname | xargs basename)
		$P features export --dataset "$ds" --task demand --as-of $o --spec "$spec" "$data/train_$o.csv" >>"$log" 2>&1
		tabs+=(--table "$data/train_$o.csv")
	done
	if res=$("$BENCH_PYTHON" bench/anchors/sklearn_poisson.py "${tabs[@]}" 2>>"$log"); then
		anchor=$(echo "$res" | "$REPORT_PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print("scikit-learn %s PoissonRegressor(newton-cholesky) on the same design (%d rows x %d columns, the two training tables): fit %.2f s, %d iterations" % (d["sklearn"], d["rows"], d["columns"], d["fit_s"], d["n_iter"]))')
	else
		anchor="scikit-learn: the anchor failed; see $log"
	fi
fi
fit=$(grep -E '^fit: Poisson' "$log" | tail -1)

fw=$(field "$feat" wall) tw=$(field "$tr" wall) sw=$(field "$sc" wall)
fm=$(printf '%.0f' "$(field "$feat" peak_mib)") tm=$(printf '%.0f' "$(field "$tr" peak_mib)") sm=$(printf '%.0f' "$(field "$sc" peak_mib)")
total=$(awk -v a="$fw" -v b="$tw" -v c="$sw" 'BEGIN { printf "%.1f", a + b + c }')
verdict=$(awk -v t="$total" -v a="$fm" -v b="$tm" -v c="$sm" 'BEGIN {
	m = a; if (b > m) m = b; if (c > m) m = c
	printf "time %s (%.1f s against 60 s), memory %s (%.0f MiB at most against 2048 MiB)", (t < 60) ? "met" : "missed", t, (m < 2048) ? "met" : "missed", m }')
{
	echo "## Demand: $products products x 20 warehouses x 104 weeks (anchor: scikit-learn PoissonRegressor)"
	echo
	echo "Whole processes (\`kit timeit\`, median of $repeats for (a) and (c), one run for (b)), $(nproc) CPUs, $(date -u +%Y-%m-%d)."
	echo "Dataset: \`prevoir datasets generate --customers $customers --products $products --warehouses 20 --days 728\` ($lines order lines)."
	echo "(a) \`features build --task demand --as-of $asof --force\`: every series with a sale in the lookback, 4 weekly steps."
	echo "(b) \`train --task demand --as-of $origin --cutoffs 3 --step 4w\`: 3 labelled tables, the fit on the two earlier origins"
	echo "(their horizons end by the holdout), the backtest on $origin. prevoir's $fit"
	echo "(c) \`score --task demand --model demand@champion --as-of $asof\`: the table of (a) reused, both tables published."
	echo "Target: (a) + (b) + (c) under 60 s, each under 2 GiB. This run: $verdict."
	echo "$anchor."
	echo
	echo "| stage | rows | wall | peak memory |"
	echo "|---|---|---|---|"
	echo "| (a) demand features | $frows | $(r1 "$fw") s | $fm MiB |"
	echo "| (b) train (3 tables, fit, backtest) | $trows training rows | $(r1 "$tw") s | $tm MiB |"
	echo "| (c) score and publish | $srows forecast rows | $(r1 "$sw") s | $sm MiB |"
} >"$out"
cat "$out"
