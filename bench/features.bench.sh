#!/usr/bin/env bash
# Churn feature build time and peak memory: prevoir beside DuckDB running
# bench/anchors/rfm.sql on the same Parquet parts, in one run, size by size
# (DuckDB, then prevoir, so both see the same machine load). Data: `kit
# orders` at 1M and 10M lines, imported with `prevoir datasets import`;
# cutoff 2024-12-01, 730-day lookback, 30-day label. Checks that both
# tables agree (`kit rfmcmp`) and writes a markdown section to $1 (default
# bench/out/features.md).
#
#   bash bench/features.bench.sh [out.md]
#   SIZES=1m,10m REPEATS=3 (defaults)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out=${1:-$BENCH_OUT/features.md}
repeats=${REPEATS:-3}
sizes=${SIZES:-1m,10m}
if [ "$BENCH_QUICK" = 1 ]; then repeats=${REPEATS:-1}; sizes=${SIZES:-100k}; fi
data=$BENCH_DATA/features
mkdir -p "$data"
: >"$data/run.log"
duck=0
anchor_ok duckdb && duck=1

rows=()
for size in ${sizes//,/ }; do
	csv=$(orders "$size")
	store=$data/store_$size
	if [ ! -s "$store/datasets/g$size/orders/_manifest.json" ] || [ "$csv" -nt "$store/datasets/g$size/orders/_manifest.json" ]; then
		rm -rf "$store"
		"$PREVOIR" --store "$store" datasets import --dataset "g$size" "$csv" >&2
	fi
	glob="$store/datasets/g$size/orders/**/*.parquet"
	build="$PREVOIR --store $store features build --dataset g$size --as-of 2024-12-01 --lookback 730d --horizon 30d --labels --force"
	export_="$PREVOIR --store $store features export --dataset g$size --as-of 2024-12-01"

	if [ $duck = 1 ]; then
		d=$(timeit -n "$repeats" -warmup 1 -label "duckdb $size" -log "$data/run.log" -- node bench/anchors/duckdb.mjs rfm \
			--in "$glob" --out "$data/duckdb_$size.csv" --cutoff 2024-12-01 --label-days 30 --threads 2)
		echo "$d" >&2
		dcell="$(field "$d" wall) s, $(field "$d" peak_mib) MiB"
	else
		dcell="anchor unavailable"
	fi
	# The spec depends only on the parameters: learn it once, outside the timing.
	spec=$("$KIT" field "$($build --feature-set rfm-anchor --json)" spec)
	rfm=$(timeit -n "$repeats" -warmup 1 -label "prevoir rfm $size" -log "$data/run.log" -- sh -c "$build --feature-set rfm-anchor >/dev/null && $export_ --spec $spec $data/prevoir_$size.csv")
	echo "$rfm" >&2
	full=$(timeit -n "$repeats" -warmup 1 -label "prevoir churn $size" -log "$data/run.log" -- sh -c "$build >/dev/null")
	echo "$full" >&2
	rw=$(field "$rfm" wall); rm_=$(field "$rfm" peak_mib)
	fw=$(field "$full" wall); fm=$(field "$full" peak_mib)
	if [ $duck = 1 ]; then
		cmp=$("$KIT" rfmcmp "$data/duckdb_$size.csv" "$data/prevoir_$size.csv" || true)
		tr="$(ratio "$rw" "$(field "$d" wall)")x"
		mr="$(ratio "$rm_" "$(field "$d" peak_mib)")x"
	else
		cmp="-" tr="-" mr="-"
	fi
	rows+=("| $size | $dcell | $rw s, $rm_ MiB | $tr | $mr | $fw s, $fm MiB | $cmp |")
done

{
	echo "## Churn features: prevoir vs DuckDB (bench/anchors/rfm.sql on the same Parquet parts)"
	echo
	echo "Median of $repeats runs after a warm-up, whole processes (\`kit timeit\`), $(nproc) CPUs, $(date -u +%Y-%m-%d)."
	echo "Cutoff 2024-12-01, lookback 730d, 30-day label. prevoir RFM = \`features build --feature-set rfm-anchor --labels\` plus \`features export\` to CSV"
	echo "(the anchor's columns and names, label = 1 - churn); full churn = every churn feature, Parquet only."
	if [ $duck = 1 ]; then
		echo "DuckDB $(anchor_version duckdb), 2 threads, \`bench/anchors/duckdb.mjs rfm\` (process start included)."
	else
		echo "DuckDB: anchor unavailable (${ANCHOR_DUCKDB#unavailable: }); prevoir's figures only."
	fi
	echo "Targets: RFM time at most 1.5x DuckDB's, peak memory at most 0.5x."
	echo
	echo "| lines | DuckDB (build + CSV) | prevoir RFM (build + CSV) | time ratio | memory ratio | prevoir full churn table | kit rfmcmp |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
} >"$out"
cat "$out"
