#!/usr/bin/env bash
# Propensity features, offer scoring and publishing ([offers]): wall time
# and peak memory for 100,000 generated customers and the generator's
# 5,000 products, at product level. Stage (a) builds the propensity
# scoring feature table (`features build --task propensity --as-of latest
# --level product`); stage (b) scores every candidate row and publishes
# each customer's top 12 offers (`score --task propensity --model
# offers@champion`), reusing (a)'s table. Target: (a) + (b) under 60 s and
# each under 2 GiB on this machine. No anchor: no other tool does this
# step. Writes a markdown section to $1 (default bench/out/propensity.md).
#
# The model is trained at product level on a second, 20,000-customer
# dataset in the same store (the propensity schema is the same for every
# dataset) and promoted to champion; its card's level, assoc_k and
# popular_k are the ones (a) uses. Datasets, store and model are kept
# under $BENCH_DATA/propensity and reused by later runs.
#
#   bash bench/propensity.bench.sh [out.md]
#   CUSTOMERS=100000 REPEATS=1 (defaults; BENCH_QUICK=1: 10000)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out=${1:-$BENCH_OUT/propensity.md}
customers=${CUSTOMERS:-100000}
repeats=${REPEATS:-1}
if [ "$BENCH_QUICK" = 1 ]; then customers=${CUSTOMERS:-10000}; repeats=1; fi
generated_store propensity "$customers"

train_dataset
if ! grep -q '"champion"' "$store/models/offers/aliases.json" 2>/dev/null; then
	$P train --task propensity --dataset train --level product --as-of 2024-12-01 --cutoffs 3 --step 30d --name offers >>"$log" 2>&1
	$P models promote offers@latest --alias champion >>"$log" 2>&1
fi

load_before=$(load)
feat=$(timeit -n "$repeats" -warmup 0 -label "propensity features $customers" -log "$log" -- \
	$P features build --dataset "$ds" --task propensity --level product --as-of latest --force)
echo "$feat" >&2
frows=$(grep -E '^built .*: [0-9]+ rows' "$log" | tail -1 | sed -E 's/.*: ([0-9]+) rows.*/\1/')
: >"$data/score.log"
sc=$(timeit -n "$repeats" -warmup 0 -label "offers $customers" -log "$data/score.log" -- \
	$P score --dataset "$ds" --task propensity --model offers@champion --top 12)
echo "$sc" >&2
cat "$data/score.log" >>"$log"
load_after=$(load)
if ! grep -q '(reused)' "$data/score.log"; then
	echo "score did not reuse the feature table of stage (a); see $log" >&2
	exit 1
fi
srows=$(grep -E '^published .*: [0-9]+ rows' "$data/score.log" | tail -1 | sed -E 's/.*: ([0-9]+) rows.*/\1/')

r1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
fw=$(field "$feat" wall) fc=$(r1 "$(field "$feat" cpu)") fm=$(printf '%.0f' "$(field "$feat" peak_mib)")
sw=$(field "$sc" wall) sc_=$(r1 "$(field "$sc" cpu)") sm=$(printf '%.0f' "$(field "$sc" peak_mib)")
verdict=$(awk -v a="$fw" -v b="$sw" -v ma="$fm" -v mb="$sm" 'BEGIN {
	w = a + b; m = (ma > mb) ? ma : mb
	t = (w < 60) ? "met" : "missed"; g = (m < 2048) ? "met" : "missed"
	printf "time %s (%.1f s against 60 s), memory %s (%.0f MiB peak against 2048 MiB)", t, w, g, m }')

{
	echo "## Propensity features and offers: $customers customers x 5,000 products (no anchor)"
	echo
	echo "Median of $repeats run(s), whole processes (\`kit timeit\`), $(nproc) CPUs, $(date -u +%Y-%m-%d)."
	echo "Dataset: \`prevoir datasets generate --customers $customers\` (seed 42, 730 days to 2025-01-01, 5,000 products);"
	echo "the model is a propensity logistic regression trained at product level on a second generated dataset of"
	echo "20,000 customers (\`train --task propensity --level product --as-of 2024-12-01 --cutoffs 3 --step 30d\`)."
	echo "(a) \`features build --task propensity --level product --as-of latest --force\` (lookback 365d, no labels, 20"
	echo "associated and 20 popular candidates per customer besides their own items); (b) \`score --task propensity"
	echo "--model offers@champion --top 12\` reuses that table, scores every candidate row and publishes each customer's top"
	echo "12 (Parquet parts, manifest, LATEST). Load average (1, 5, 15 min) $load_before before, $load_after after."
	echo "Target: (a) + (b) under 60 s and under 2 GiB. This run: $verdict."
	echo
	echo "| stage | rows | wall | CPU | peak memory |"
	echo "|---|---|---|---|---|"
	echo "| (a) feature table (customer x candidate rows) | $frows | $(r1 "$fw") s | $fc s | $fm MiB |"
	echo "| (b) score, select and publish (offer rows) | $srows | $(r1 "$sw") s | $sc_ s | $sm MiB |"
} >"$out"
cat "$out"
