#!/usr/bin/env bash
# Logistic regression fit time: prevoir (train.Fit, Newton and L-BFGS)
# beside scikit-learn (newton-cholesky and lbfgs) on the same matrices, in
# one run, data set by data set (anchor, then prevoir) so that both see
# the same machine load. Writes a markdown section to $1 (default
# bench/out/logreg.md).
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
anchor=${ANCHOR:-../shared/bench/anchor_logreg.py}
python=${PYTHON:-/usr/bin/python3}
threads=$(nproc)

mkdir -p "$data"
go build -o "$data/logreg-bench" ./bench/logreg
runs="$data/prevoir-runs.jsonl"
: > "$runs"
for ds in ${datasets//,/ }; do
	# scikit-learn first: it also makes the matrices (under $data, never in the repository).
	OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads "$python" "$anchor" \
		--datasets "$ds" --solvers newton-cholesky,lbfgs --repeats "$repeats" \
		--data-dir "$data" --results-dir "$data/results" >&2
	"$data/logreg-bench" -data "$data" -datasets "$ds" -repeats "$repeats" -json | tee -a "$runs" >&2
done
"$data/logreg-bench" -data "$data" -report "$runs" -markdown "$out"
cat "$out"
