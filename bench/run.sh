#!/usr/bin/env bash
# make bench: run every bench/*.bench.sh in one run and assemble their
# markdown sections into docs/BENCHMARKS.md. Each script writes its
# section to the file named by its first argument.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"

# The anchors: scikit-learn, xgboost and pandas from Debian's packages
# (/usr/bin/python3); DuckDB's node package is installed by the scripts
# that use it, under /tmp/duckdb-node.
if ! /usr/bin/python3 -c "import sklearn, xgboost, pandas" 2>/dev/null; then
	echo "installing the Python anchors (python3-sklearn python3-xgboost python3-pandas)" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-sklearn python3-xgboost python3-pandas >&2
fi
# BENCH_ONLY=import,xgb reruns only those; the others' last sections (in
# bench/out) are kept in the assembled page.
only=${BENCH_ONLY:-}
sections=()
for s in bench/*.bench.sh; do
	[ -e "$s" ] || continue
	name=$(basename "$s" .bench.sh)
	if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then
		if [ -s "$out/$name.md" ]; then
			sections+=("$out/$name.md")
		fi
		continue
	fi
	echo "== bench: $name" >&2
	if bash "$s" "$out/$name.md"; then
		sections+=("$out/$name.md")
	else
		echo "bench $name failed" >&2
		printf '## %s\n\nThis benchmark failed in the last run; see the make bench log.\n' "$name" > "$out/$name.md"
		sections+=("$out/$name.md")
	fi
done
{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(go version | cut -d' ' -f3))."
	echo "Anchors run in the same invocation as prevoir; compare ratios, not absolute times:"
	echo "these machines are shared and noisy."
	echo
	for f in "${sections[@]}"; do
		cat "$f"
		echo
	done
} > docs/BENCHMARKS.md
echo "wrote docs/BENCHMARKS.md" >&2
