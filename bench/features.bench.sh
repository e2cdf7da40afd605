#!/usr/bin/env bash
# Churn feature build time and peak memory: prevoir beside DuckDB running
# the anchor SQL (../shared/bench/anchor_rfm_duckdb.sql, as
# bench/features_rfm_duckdb.sql: same query, Parquet source) on the same
# Parquet parts, in one run, size by size (DuckDB, then prevoir, so both see
# the same machine load). Data: ../shared/bench/gen_orders.py at 1M and 10M
# lines, imported with `prevoir datasets import`; cutoff 2024-12-01, 730-day
# lookback, 30-day horizon. Checks the values with compare_rfm.py and
# writes a markdown section to $1 (default bench/out/features.md).
#
#   bash bench/features.bench.sh [out.md]
#   SIZES=1m REPEATS=3 bash bench/features.bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/out/features.md}
mkdir -p "$(dirname "$out")"
data=${FEATURES_DATA:-/tmp/bench-data/features}
repeats=${REPEATS:-3}
sizes=${SIZES:-1m,10m}
shared=${SHARED:-../shared/bench}
python=${PYTHON:-/usr/bin/python3}
export DUCKDB_NODE_DIR=${DUCKDB_NODE_DIR:-/tmp/duckdb-node}
if [ ! -d "$DUCKDB_NODE_DIR/node_modules/@duckdb/node-api" ]; then
	mkdir -p "$DUCKDB_NODE_DIR"
	(cd "$DUCKDB_NODE_DIR" && npm init -y >/dev/null && npm install @duckdb/node-api@1.5.6-r.1 >/dev/null)
fi
mkdir -p "$data"
go build -o "$data/prevoir" ./cmd/prevoir
bin=$data/prevoir
timeit() { "$python" "$shared/timeit_proc.py" -n "$repeats" --warmup 1 "$@"; }
field() { "$python" -c "import json,sys; d=json.loads(sys.argv[1]); print(d['$2']['median'])" "$1"; }

rows=()
for size in ${sizes//,/ }; do
	case $size in
	1m) args="--customers 50000 --lines 1000000 --seed 42" ;;
	10m) args="--customers 500000 --lines 10000000 --seed 42" ;;
	*) echo "unknown size $size" >&2; exit 2 ;;
	esac
	csv=$data/orders_$size.csv
	[ -s "$csv" ] || "$python" "$shared/gen_orders.py" $args --out "$csv" >&2
	store=$data/store_$size
	if [ ! -s "$store/datasets/g$size/orders/_manifest.json" ]; then
		rm -rf "$store"
		"$bin" --store "$store" datasets import --name "g$size" "$csv" >&2
	fi
	glob="$store/datasets/g$size/orders/**/*.parquet"
	build="$bin --store $store features build --dataset g$size --as-of 2024-12-01 --lookback 730d --horizon 30d --labels --force"
	export_="$bin --store $store features export --dataset g$size --as-of 2024-12-01"

	duck=$(timeit --label "duckdb $size" -- node bench/features_rfm_duckdb.mjs --in "$glob" --out "$data/duckdb_$size.csv" --cutoff 2024-12-01 --label-days 30 --threads 2)
	echo "$duck" >&2
	# The spec depends only on the parameters: learn it once, outside the timing.
	spec=$($build --feature-set rfm-anchor --json | "$python" -c 'import json,sys; print(json.load(sys.stdin)["spec"])')
	rfm=$(timeit --label "prevoir rfm $size" -- sh -c "$build --feature-set rfm-anchor >/dev/null && $export_ --spec $spec $data/prevoir_$size.csv")
	echo "$rfm" >&2
	full=$(timeit --label "prevoir churn $size" -- sh -c "$build >/dev/null")
	echo "$full" >&2
	cmp=$("$python" "$shared/compare_rfm.py" "$data/duckdb_$size.csv" "$data/prevoir_$size.csv" || true)
	dw=$(field "$duck" wall); dm=$(field "$duck" peak_mib)
	rw=$(field "$rfm" wall); rm_=$(field "$rfm" peak_mib)
	fw=$(field "$full" wall); fm=$(field "$full" peak_mib)
	rows+=("$(printf '| %s | %s s, %s MiB | %s s, %s MiB | %.2fx | %.2fx | %s s, %s MiB | %s |' "$size" "$dw" "$dm" "$rw" "$rm_" "$(echo "$rw / $dw" | bc -l)" "$(echo "$rm_ / $dm" | bc -l)" "$fw" "$fm" "$cmp")")
done

{
	echo "## Churn features: prevoir vs DuckDB (anchor_rfm_duckdb.sql on the same Parquet parts)"
	echo
	echo "Median of $repeats runs after a warm-up, whole processes (timeit_proc.py), $(nproc) CPUs, $(date -u +%Y-%m-%d)."
	echo "Cutoff 2024-12-01, lookback 730d, 30-day label. prevoir RFM = \`features build --feature-set rfm-anchor --labels\` plus \`features export\` to CSV"
	echo "(the anchor's columns and names, label = 1 - churn); full churn = every churn feature, Parquet only."
	echo "Targets: RFM time at most 1.5x DuckDB's, peak memory at most 0.5x."
	echo
	echo "| lines | DuckDB (build + CSV) | prevoir RFM (build + CSV) | time ratio | memory ratio | prevoir full churn table | compare_rfm.py |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	echo
} > "$out"
cat "$out"
