#!/usr/bin/env bash
# XGBoost prediction: prevoir (gbdt.Import of an XGBoost JSON model through
# models/gbdt/internal/xgbjson, scored with XGBoost's float32 arithmetic) beside xgboost 1.7.4's
# inplace_predict, on a 300-tree depth-6 model over 32 features with 10%
# missing values, in one run: anchor first, then prevoir, on the same model
# file and rows. Writes a markdown section to $1 (default bench/out/xgb.md).
#
#   bash bench/xgb.bench.sh [out.md]
#   ROWS=200000 REPEATS=3 bash bench/xgb.bench.sh      # quicker
#
# Data and models go under $XGB_DATA (default /tmp/bench-data/xgb-missing),
# never into the repository; the model is trained once and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/out/xgb.md}
mkdir -p "$(dirname "$out")"
data=${XGB_DATA:-/tmp/bench-data/xgb-missing}
rows=${ROWS:-1000000}
repeats=${REPEATS:-5}
calls=${LATENCY_CALLS:-10000}
trees=${TREES:-300}
shared=${SHARED_BENCH:-../shared/bench}
python=${PYTHON:-/usr/bin/python3}

mkdir -p "$data/models" "$data/results"
"$python" bench/xgb_data.py --data-dir "$data" --shared "$shared" >&2
go build -o "$data/xgbpredict" ./bench/xgbpredict
if [ ! -e "$data/models/xgb_d6_$trees.json" ]; then
	OMP_NUM_THREADS=2 "$python" "$shared/anchor_xgb_predict.py" --phase train --trees "$trees" \
		--data-dir "$data" --models-dir "$data/models" --results-dir "$data/results" >&2
fi
OMP_NUM_THREADS=2 "$python" "$shared/anchor_xgb_predict.py" --phase predict --trees "$trees" --no-dmatrix \
	--rows "$rows" --repeats "$repeats" --latency-calls "$calls" \
	--data-dir "$data" --models-dir "$data/models" --results-dir "$data/results" >&2
"$data/xgbpredict" -model "$data/models/xgb_d6_$trees.json" -ref "$data/models/xgb_d6_$trees.pred_first10k.csv" \
	-x "$data/dense_1000000x32.X.f64" -rows "$rows" -trees "$trees" -repeats "$repeats" -latency-calls "$calls" \
	-json "$data/results/prevoir.json" -anchor "$data/results/xgb_predict.json" -markdown "$out"
