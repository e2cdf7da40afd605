# Sourced by bench/*.bench.sh: the folders, the anchors and the tools every
# benchmark uses. Nothing here reads outside the checkout except the data
# folders named below.
#
#   BENCH_DATA    scratch folder for generated inputs and stores
#                 (default /tmp/prevoir-bench; never the checkout)
#   PREVOIR_DATA  real data sets that cannot be generated (default ../shared/data);
#                 a benchmark that needs one skips that part and says so when absent
#   BENCH_OUT     where sections are written (default bench/out)
#   BENCH_QUICK=1 small sizes and one repeat: checks that everything runs,
#                 figures are not for comparison
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BENCH_OUT=${BENCH_OUT:-bench/out}
BENCH_DATA=${BENCH_DATA:-/tmp/prevoir-bench}
PREVOIR_DATA=${PREVOIR_DATA:-../shared/data}
BENCH_QUICK=${BENCH_QUICK:-0}
export BENCH_OUT BENCH_DATA PREVOIR_DATA BENCH_QUICK
mkdir -p "$BENCH_OUT" "$BENCH_DATA/bin"

# The anchors: bench/run.sh sets them up once; a script run alone does it here.
if [ -z "${ANCHOR_DUCKDB:-}" ]; then
	if [ ! -s "$BENCH_OUT/anchors.env" ] || [ -n "${BENCH_SETUP:-}" ]; then
		bash bench/setup.sh
	fi
	# shellcheck disable=SC1091
	. "$BENCH_OUT/anchors.env"
fi
export DUCKDB_NODE_DIR BENCH_PYTHON ANCHOR_DUCKDB ANCHOR_SKLEARN ANCHOR_XGBOOST

# anchor_ok duckdb|sklearn|xgboost: true when the anchor can run.
anchor_ok() {
	local v
	case $1 in
	duckdb) v=$ANCHOR_DUCKDB ;;
	sklearn) v=$ANCHOR_SKLEARN ;;
	xgboost) v=$ANCHOR_XGBOOST ;;
	*) return 1 ;;
	esac
	[[ $v == ok* ]]
}
# anchor_version duckdb|sklearn|xgboost: the version setup found.
anchor_version() {
	local v
	case $1 in
	duckdb) v=$ANCHOR_DUCKDB ;;
	sklearn) v=$ANCHOR_SKLEARN ;;
	xgboost) v=$ANCHOR_XGBOOST ;;
	esac
	echo "${v#ok }"
}

# Report tables are formatted by Python's standard library only: any python3
# does (BENCH_PYTHON, the anchors' interpreter, may be unavailable).
REPORT_PYTHON=$(command -v python3 || echo /usr/bin/python3)

# The project's own tools (bench/kit) and the prevoir binary, built once per script.
KIT=$BENCH_DATA/bin/kit
PREVOIR=$BENCH_DATA/bin/prevoir
go build -o "$KIT" ./bench/kit
go build -o "$PREVOIR" ./cmd/prevoir
# timeit ARGS -- COMMAND: kit's whole-process timer (JSON line on stdout);
# fails when a run of the command failed (pass -log FILE to keep its output).
timeit() {
	local r
	r=$("$KIT" timeit "$@") || return 1
	if [[ $r != *'"rc":[0]'* ]]; then
		echo "timeit: the command failed: $r" >&2
		return 1
	fi
	echo "$r"
}
# ratio A B: A / B with two decimals ("-" when B is zero or missing).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

# orders SIZE: the order-line CSV for 1m or 10m lines (made once, kept).
orders() {
	local args
	case $1 in
	1m) args="-customers 50000 -lines 1000000" ;;
	10m) args="-customers 500000 -lines 10000000" ;;
	100k) args="-customers 5000 -lines 100000" ;;
	*) echo "unknown size $1 (100k, 1m, 10m)" >&2; return 2 ;;
	esac
	local f=$BENCH_DATA/orders/orders_$1.csv
	mkdir -p "$BENCH_DATA/orders"
	[ -s "$f" ] || "$KIT" orders $args -seed 42 -out "$f" >&2
	echo "$f"
}

# field JSON NAME: the median of NAME in a timeit result.
field() { "$KIT" field "$1" "$2.median"; }
# load: the 1, 5 and 15 minute load averages.
load() { cut -d' ' -f1-3 /proc/loadavg; }

# generated_store NAME CUSTOMERS [GENERATE FLAGS...]: the store of a
# benchmark that runs on generated customers. Sets data ($BENCH_DATA/NAME),
# store (store_<CUSTOMERS>, then the flags, if any), ds (the dataset,
# g<CUSTOMERS>), log (emptied) and P (prevoir on the store), and generates
# the dataset when the store lacks it (kept for later runs).
generated_store() {
	local name=$1 customers=$2
	shift 2
	data=$BENCH_DATA/$name
	store=$data/store_$customers
	if [ $# -gt 0 ]; then store=${store}_$(printf '%s' "$*" | tr -d '-' | tr -c 'A-Za-z0-9.' '_'); fi
	ds=g$customers
	log=$data/run.log
	mkdir -p "$data"
	: >"$log"
	P="$PREVOIR --store $store"
	if [ ! -s "$store/datasets/$ds/orders/_manifest.json" ]; then
		echo "generating $customers customers ($*) into $store" >&2
		$P datasets generate --dataset "$ds" --customers "$customers" "$@" --replace >>"$log" 2>&1
	fi
}

# train_dataset: the 20,000-customer dataset `train` (seed 7) models are
# trained on, beside the generated one, as make run trains them.
train_dataset() {
	if [ ! -s "$store/datasets/train/orders/_manifest.json" ]; then
		$P datasets generate --dataset train --customers 20000 --seed 7 --replace >>"$log" 2>&1
	fi
}
