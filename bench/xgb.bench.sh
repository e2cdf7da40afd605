#!/usr/bin/env bash
# XGBoost prediction: prevoir (gbdt.Import of an XGBoost JSON model through
# models/gbdt/internal/xgbjson, scored with XGBoost's float32 arithmetic) beside xgboost's inplace_predict,
# on a 300-tree depth-6 model over 32 features with 10% missing values, in
# one run: anchor first, then prevoir, on the same model file and rows.
# The rows come from `kit dense -missing 0.1`; xgboost trains the model
# (bench/anchors/xgb_predict.py), so without xgboost there is nothing for
# prevoir to score and the section says so. Writes a markdown section to
# $1 (default bench/out/xgb.md).
#
#   bash bench/xgb.bench.sh [out.md]
#   ROWS=1000000 REPEATS=5 LATENCY_CALLS=10000 TREES=300 (defaults)
#
# Data and models go under $BENCH_DATA/xgb, never into the repository; the
# model is trained once and reused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out=${1:-$BENCH_OUT/xgb.md}
data=$BENCH_DATA/xgb
rows=${ROWS:-1000000}
repeats=${REPEATS:-5}
calls=${LATENCY_CALLS:-10000}
trees=${TREES:-300}
if [ "$BENCH_QUICK" = 1 ]; then rows=${ROWS:-100000}; repeats=${REPEATS:-1}; calls=${LATENCY_CALLS:-2000}; trees=${TREES:-100}; fi

if ! anchor_ok xgboost; then
	{
		echo "## XGBoost prediction: $trees trees, depth 6, 32 features, 10% missing"
		echo
		echo "Skipped: xgboost anchor unavailable (${ANCHOR_XGBOOST#unavailable: })."
		echo "xgboost trains the model both tools score, so prevoir's side cannot run without it either."
	} >"$out"
	cat "$out"
	exit 0
fi
mkdir -p "$data/models" "$data/results"
# Training rows: same known model (beta seed 42), other rows (seed 43).
"$KIT" dense -n 200000 -d 32 -seed 43 -beta-seed 42 -missing 0.1 -out "$data/dense_200000x32_train"
"$KIT" dense -n 1000000 -d 32 -seed 42 -missing 0.1 -out "$data/dense_1000000x32"
go build -o "$data/xgbpredict" ./bench/xgbpredict
model=$data/models/xgb_d6_$trees.json
if [ ! -e "$model" ] || [ "$data/dense_200000x32_train.json" -nt "$model" ]; then
	OMP_NUM_THREADS=2 "$BENCH_PYTHON" bench/anchors/xgb_predict.py --phase train --trees "$trees" \
		--data-dir "$data" --models-dir "$data/models" --results-dir "$data/results" >&2
fi
rm -f "$data/results/xgb_predict.json"
OMP_NUM_THREADS=2 "$BENCH_PYTHON" bench/anchors/xgb_predict.py --phase predict --trees "$trees" \
	--rows "$rows" --repeats "$repeats" --latency-calls "$calls" \
	--data-dir "$data" --models-dir "$data/models" --results-dir "$data/results" >&2
"$data/xgbpredict" -model "$model" -ref "$data/models/xgb_d6_$trees.pred_first10k.csv" \
	-x "$data/dense_1000000x32.X.f64" -rows "$rows" -trees "$trees" -repeats "$repeats" -latency-calls "$calls" \
	-json "$data/results/prevoir.json" -anchor "$data/results/xgb_predict.json" -markdown "$out"
