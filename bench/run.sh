#!/usr/bin/env bash
# make bench: set up the anchors (bench/setup.sh), run every
# bench/*.bench.sh in one run and assemble their markdown sections into
# docs/BENCHMARKS.md. Each script writes its section to the file named by
# its first argument. Needs bash, Go, awk and /usr/bin/python3 (standard
# library); everything else is installed or made here, outside the
# checkout (see docs/BENCHMARKS.md, "How the anchors are set up").
#
#   BENCH_ONLY=import,xgb  rerun only those; the others' last sections (in
#                          bench/out) are kept in the assembled page
#   BENCH_QUICK=1          small sizes, one repeat: a check that it all runs
#   BENCH_NOTE="..."       a paragraph under the page's header (say what
#                          was unusual about the run, such as machine load)
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_OUT=${BENCH_OUT:-bench/out}
mkdir -p "$BENCH_OUT"

bash bench/setup.sh
set -a
# shellcheck disable=SC1091
. "$BENCH_OUT/anchors.env"
set +a

only=${BENCH_ONLY:-}
sections=()
for s in bench/*.bench.sh; do
	[ -e "$s" ] || continue
	name=$(basename "$s" .bench.sh)
	if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then
		if [ -s "$BENCH_OUT/$name.md" ]; then
			sections+=("$BENCH_OUT/$name.md")
		fi
		continue
	fi
	echo "== bench: $name" >&2
	if ! bash "$s" "$BENCH_OUT/$name.md"; then
		echo "bench $name failed" >&2
		printf '## %s\n\nThis benchmark failed in the last run; see the make bench log.\n' "$name" >"$BENCH_OUT/$name.md"
	fi
	sections+=("$BENCH_OUT/$name.md")
done
{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(go version | cut -d' ' -f3))."
	echo "Anchors run in the same invocation as prevoir; compare ratios, not absolute times:"
	echo "these machines are shared and noisy."
	if [ "${BENCH_QUICK:-0}" = 1 ]; then
		echo
		echo "**Quick run (BENCH_QUICK=1): reduced sizes and one repeat; these figures only show that every benchmark runs.**"
	fi
	if [ -n "${BENCH_NOTE:-}" ]; then
		echo
		echo "$BENCH_NOTE"
	fi
	echo
	echo "Anchors in this run: DuckDB ${ANCHOR_DUCKDB}; scikit-learn ${ANCHOR_SKLEARN}; xgboost ${ANCHOR_XGBOOST}."
	echo "How they are set up, and what each benchmark needs: see the end of this page."
	echo
	for f in "${sections[@]}"; do
		cat "$f"
		echo
	done
	cat bench/ANCHORS.md
} >docs/BENCHMARKS.md
echo "wrote docs/BENCHMARKS.md" >&2
