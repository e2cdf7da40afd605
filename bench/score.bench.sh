#!/usr/bin/env bash
# Churn scoring and publishing ([publish]): rows/s and peak memory per stage
# for 1,000,000 generated customers. Stage (a) builds the scoring feature
# table (`features build --task churn --as-of latest`), reported separately;
# stage (b) is the score-and-publish step (`score --task churn --model
# churn@champion`) on that table, which it reuses. Target for (b): under
# 30 s and under 1 GiB on a 2-core machine. No anchor: no other tool does
# this step. Writes a markdown section to $1 (default bench/out/score.md).
#
# The model is trained on a second, 20,000-customer dataset in the same
# store (the churn feature schema is the same for every dataset, so its
# model scores the big one) and promoted to champion. Datasets, store and
# model are kept under $BENCH_DATA/score and reused by later runs.
#
#   bash bench/score.bench.sh [out.md]
#   CUSTOMERS=1000000 REPEATS=3 (defaults; BENCH_QUICK=1: 20000 and 1)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out=${1:-$BENCH_OUT/score.md}
customers=${CUSTOMERS:-1000000}
repeats=${REPEATS:-3}
if [ "$BENCH_QUICK" = 1 ]; then customers=${CUSTOMERS:-20000}; repeats=${REPEATS:-1}; fi
generated_store score "$customers"

# Inputs, made once: the big dataset, the training dataset, the champion.
train_dataset
if ! grep -q '"champion"' "$store/models/churn/aliases.json" 2>/dev/null; then
	$P train --task churn --dataset train --as-of 2024-10-01 --cutoffs 3 --step 90d --name churn >>"$log" 2>&1
	$P models promote churn@latest --alias champion >>"$log" 2>&1
fi

load_before=$(load)
# (a) the scoring feature table, rebuilt each run (--force).
feat=$(timeit -n "$repeats" -warmup 0 -label "features $customers" -log "$log" -- \
	$P features build --dataset "$ds" --task churn --as-of latest --force)
echo "$feat" >&2
frows=$(grep -E '^built .*: [0-9]+ rows' "$log" | tail -1 | sed -E 's/.*: ([0-9]+) rows.*/\1/')
# (b) score and publish on that table; a rerun replaces the publication.
: >"$data/score.log"
sc=$(timeit -n "$repeats" -warmup 1 -label "score $customers" -log "$data/score.log" -- \
	$P score --dataset "$ds" --task churn --model churn@champion)
echo "$sc" >&2
cat "$data/score.log" >>"$log"
load_after=$(load)
# The score step must have reused the table of (a), not built its own.
if ! grep -q '(reused)' "$data/score.log"; then
	echo "score did not reuse the feature table of stage (a); see $log" >&2
	exit 1
fi
srows=$(grep -E '^published .*: [0-9]+ rows' "$data/score.log" | tail -1 | sed -E 's/.*: ([0-9]+) rows.*/\1/')

r1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
fw=$(field "$feat" wall) fc=$(r1 "$(field "$feat" cpu)") fm=$(printf '%.0f' "$(field "$feat" peak_mib)")
sw=$(field "$sc" wall) sc_=$(r1 "$(field "$sc" cpu)") sm=$(printf '%.0f' "$(field "$sc" peak_mib)")
rps() { awk -v n="$1" -v s="$2" 'BEGIN { if (s + 0 == 0) print "-"; else printf "%.0f", n / s }'; }
verdict=$(awk -v w="$sw" -v m="$sm" 'BEGIN {
	t = (w < 30) ? "met" : "missed"; g = (m < 1024) ? "met" : "missed"
	printf "time %s (%.1f s against 30 s), memory %s (%.0f MiB against 1024 MiB)", t, w, g, m }')

{
	echo "## Churn scoring and publishing: $customers customers (no anchor)"
	echo
	echo "Median of $repeats run(s), whole processes (\`kit timeit\`), $(nproc) CPUs, $(date -u +%Y-%m-%d)."
	echo "Dataset: \`prevoir datasets generate --customers $customers\` (seed 42, 730 days to 2025-01-01);"
	echo "the model is a churn logistic regression trained on a second generated dataset of 20,000 customers"
	echo "(\`train --task churn --as-of 2024-10-01 --cutoffs 3 --step 90d\`) and promoted to champion: the churn feature"
	echo "schema is the same for every dataset. Rows are the customers with an order in the 365-day lookback. (a) \`features build --task churn --as-of latest --force\` (lookback 365d, no labels)"
	echo "is reported separately; (b) \`score --task churn --model churn@champion\` reuses that table, scores every row"
	echo "(probability, band, three reasons) and publishes the Parquet parts, the manifest and LATEST (after one warm-up run)."
	echo "There is no anchor: no other tool does this step. Load average (1, 5, 15 min) $load_before before, $load_after after."
	echo "Target for (b): under 30 s and under 1 GiB. This run: $verdict."
	echo
	echo "| stage | rows | wall | CPU | rows/s (wall) | peak memory |"
	echo "|---|---|---|---|---|---|"
	echo "| (a) feature table | $frows | $(r1 "$fw") s | $fc s | $(rps "$frows" "$fw") | $fm MiB |"
	echo "| (b) score and publish | $srows | $(r1 "$sw") s | $sc_ s | $(rps "$srows" "$sw") | $sm MiB |"
} >"$out"
cat "$out"
