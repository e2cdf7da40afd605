#!/usr/bin/env bash
# Logistic regression fit time: prevoir (train.Fit, Newton and L-BFGS)
# beside scikit-learn (newton-cholesky and lbfgs) on the same matrices, in
# one run, data set by data set (anchor, then prevoir) so that both see
# the same machine load. The matrices: `kit dense` (synthetic, known
# model) and `kit bank` (UCI Bank Marketing's bank-full.csv from
# $PREVOIR_DATA/bank_marketing; skipped, and said so, when absent). Writes a
# markdown section to $1 (default bench/out/logreg.md).
#
#   bash bench/logreg.bench.sh [out.md]
#   REPEATS=5 DATASETS=dense32,dense128,bank (defaults)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out=${1:-$BENCH_OUT/logreg.md}
data=$BENCH_DATA/logreg
repeats=${REPEATS:-5}
datasets=${DATASETS:-dense32,dense128,bank}
if [ "$BENCH_QUICK" = 1 ]; then repeats=${REPEATS:-1}; datasets=${DATASETS:-dense128,bank}; fi
threads=$(nproc)
mkdir -p "$data"
go build -o "$data/logreg-bench" ./bench/logreg

runs=$data/prevoir-runs.jsonl
: >"$runs"
notes=()
anchor_ok sklearn || notes+=(-note "scikit-learn: anchor unavailable (${ANCHOR_SKLEARN#unavailable: }); prevoir's figures only.")
for ds in ${datasets//,/ }; do
	case $ds in
	dense32) "$KIT" dense -n 1000000 -d 32 -seed 42 -out "$data/dense_1000000x32" ;;
	dense128) "$KIT" dense -n 200000 -d 128 -seed 128 -out "$data/dense_200000x128" ;;
	bank)
		bank=$PREVOIR_DATA/bank_marketing/bank-full.csv
		if [ ! -f "$bank" ]; then
			echo "logreg: skipping bank: $bank not found (set PREVOIR_DATA)" >&2
			notes+=(-note "bank: skipped, it needs UCI Bank Marketing's bank-full.csv in \$PREVOIR_DATA/bank_marketing (PREVOIR_DATA=$PREVOIR_DATA has none).")
			continue
		fi
		"$KIT" bank -in "$bank" -out "$data/bank_full_design.csv"
		;;
	*) echo "unknown data set $ds (dense32, dense128, bank)" >&2; exit 2 ;;
	esac
	# An earlier run's anchor figures must not stand in for this one's.
	rm -f "$data"/logreg_"$ds"_*.json
	if anchor_ok sklearn; then
		OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads "$BENCH_PYTHON" bench/anchors/sklearn_logreg.py \
			--data-dir "$data" --datasets "$ds" --solvers newton-cholesky,lbfgs --repeats "$repeats" >&2
	fi
	"$data/logreg-bench" -data "$data" -datasets "$ds" -repeats "$repeats" -json | tee -a "$runs" >&2
done
if [ ! -s "$runs" ]; then
	{
		echo "## Logistic regression fit (\`train.Fit\`) beside scikit-learn"
		echo
		echo "No data set ran."
		for ((i = 1; i < ${#notes[@]}; i += 2)); do echo "- ${notes[i]}"; done
	} >"$out"
else
	"$data/logreg-bench" -data "$data" -report "$runs" -markdown "$out" "${notes[@]}"
fi
cat "$out"
