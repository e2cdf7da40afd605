#!/usr/bin/env bash
# Customer value ([clv]): BG/NBD + Gamma-Gamma fit and clv scoring and
# publishing for 1,000,000 generated customers. Stages: (a) the clv
# summary table (`features build --task clv --as-of latest`, days); (b)
# `train --task clv` on that table (reused): reading it and fitting
# BG/NBD, MBG/NBD and Gamma-Gamma, with the fits' own times from the card;
# (c) `score --task clv` (p_alive, expected purchases and CLV over 12
# calendar months, discounted monthly) and publishing. Targets: fit under
# 2 s, (c) under 10 s. The Python lifetimes package is the natural anchor
# but cannot be installed on this machine (no package index reachable):
# see bench/clv-reference.md for what is known about it. Writes a markdown
# section to $1 (default bench/out/clv.md).
#
#   bash bench/clv.bench.sh [out.md]
#   CUSTOMERS=1000000 REPEATS=3 (defaults; BENCH_QUICK=1: 20000 and 1)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out=${1:-$BENCH_OUT/clv.md}
customers=${CUSTOMERS:-1000000}
repeats=${REPEATS:-3}
if [ "$BENCH_QUICK" = 1 ]; then customers=${CUSTOMERS:-20000}; repeats=${REPEATS:-1}; fi
generated_store clv "$customers"

load_before=$(load)
feat=$(timeit -n "$repeats" -warmup 0 -label "clv features $customers" -log "$log" -- \
	$P features build --dataset "$ds" --task clv --as-of latest --force)
echo "$feat" >&2
frows=$(grep -E '^built .*: [0-9]+ rows' "$log" | tail -1 | sed -E 's/.*: ([0-9]+) rows.*/\1/')
fit=$(timeit -n "$repeats" -warmup 0 -label "clv train $customers" -log "$log" -- \
	$P train --dataset "$ds" --task clv --as-of latest --name clv --promote champion --force)
echo "$fit" >&2
card=$($P models show clv@champion --json)
fitsec() { printf '%s' "$card" | /usr/bin/python3 -c "import json,sys; print('%.2f' % json.load(sys.stdin)['metrics']['fits']['$1']['seconds'])"; }
bg=$(fitsec bgnbd) mbg=$(fitsec mbgnbd) gg=$(fitsec gamma-gamma)
groups=$(printf '%s' "$card" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['metrics']['fits']['bgnbd']['groups'])")
: >"$data/score.log"
sc=$(timeit -n "$repeats" -warmup 1 -label "clv score $customers" -log "$data/score.log" -- \
	$P score --dataset "$ds" --task clv --model clv@champion)
echo "$sc" >&2
cat "$data/score.log" >>"$log"
load_after=$(load)
srows=$(grep -E '^published .*: [0-9]+ rows' "$data/score.log" | tail -1 | sed -E 's/.*: ([0-9]+) rows.*/\1/')

r1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
fw=$(field "$feat" wall) fc=$(r1 "$(field "$feat" cpu)") fm=$(printf '%.0f' "$(field "$feat" peak_mib)")
tw=$(field "$fit" wall) tc=$(r1 "$(field "$fit" cpu)") tm=$(printf '%.0f' "$(field "$fit" peak_mib)")
sw=$(field "$sc" wall) sc_=$(r1 "$(field "$sc" cpu)") sm=$(printf '%.0f' "$(field "$sc" peak_mib)")
verdict=$(awk -v f="$(awk -v a="$bg" -v b="$gg" 'BEGIN { print a + b }')" -v s="$sw" 'BEGIN {
	printf "fit %s (BG/NBD + Gamma-Gamma %.2f s against 2 s), scoring and publishing %s (%.1f s against 10 s)",
		(f < 2) ? "met" : "missed", f, (s < 10) ? "met" : "missed", s }')
{
	echo "## Customer value (BG/NBD + Gamma-Gamma): $customers customers (anchor: reference notes)"
	echo
	echo "Median of $repeats run(s), whole processes (\`kit timeit\`), $(nproc) CPUs, $(date -u +%Y-%m-%d)."
	echo "Dataset: \`prevoir datasets generate --customers $customers\`. (a) \`features build --task clv --as-of latest --force\`"
	echo "(the summary in days over the whole history); (b) \`train --task clv --as-of latest\` reuses it: reads the table and fits"
	echo "BG/NBD, MBG/NBD and Gamma-Gamma ($groups distinct summaries); (c) \`score --task clv\` reuses it, scores p_alive, expected"
	echo "purchases, expected value and the 12-month CLV of every customer and publishes the parts, the manifest and LATEST."
	echo "Load average (1, 5, 15 min) $load_before before, $load_after after. This run: $verdict."
	echo "lifetimes, the usual Python reference, is not installed here: see [bench/clv-reference.md](../bench/clv-reference.md)."
	echo
	echo "| stage | rows | wall | CPU | peak memory |"
	echo "|---|---|---|---|---|"
	echo "| (a) clv summary table | $frows | $(r1 "$fw") s | $fc s | $fm MiB |"
	echo "| (b) train (read + three fits) | $frows | $(r1 "$tw") s | $tc s | $tm MiB |"
	echo "| of which BG/NBD, MBG/NBD, Gamma-Gamma fits | | $bg s, $mbg s, $gg s | | |"
	echo "| (c) score and publish | $srows | $(r1 "$sw") s | $sc_ s | $sm MiB |"
} >"$out"
cat "$out"
