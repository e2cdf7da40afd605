#!/usr/bin/env bash
# Logistic regression fit time: prevoir (train.Fit, Newton and L-BFGS)
# beside scikit-learn (newton-cholesky and lbfgs) on the same matrices, in
# one run. Writes a markdown section to $1 (default bench/out/logreg.md).
#
#   bash bench/logreg.bench.sh [out.md]
#   REPEATS=5 DATASETS=dense32,dense128,bank bash bench/logreg.bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/out/logreg.md}
mkdir -p "$(dirname "$out")"
data=${LOGREG_DATA:-/tmp/bench-data/logreg}
repeats=${REPEATS:-5}
datasets=${DATASETS:-dense32,dense128,bank}
anchor=../shared/bench/anchor_logreg.py
python=${PYTHON:-/usr/bin/python3}

# scikit-learn first: it also makes the matrices (under $data, not in the repository).
OPENBLAS_NUM_THREADS=$(nproc) OMP_NUM_THREADS=$(nproc) "$python" "$anchor" \
	--datasets "$datasets" --solvers newton-cholesky,lbfgs --repeats "$repeats" \
	--data-dir "$data" --results-dir "$data/results" >&2
go build -o "$data/logreg-bench" ./bench/logreg
"$data/logreg-bench" -data "$data" -datasets "$datasets" -repeats "$repeats" -markdown "$out" >&2
cat "$out"
