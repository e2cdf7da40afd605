#!/usr/bin/env bash
# Sets up the anchors `make bench` compares prevoir with, installing what is
# missing, and writes what it found to $BENCH_OUT/anchors.env (sourced by
# bench/lib.sh). An anchor that cannot be set up is recorded as
# "unavailable: why"; the benchmarks that need it say so in their section
# instead of failing. Nothing is installed into the checkout.
#
#   DuckDB        @duckdb/node-api (npm) in $DUCKDB_NODE_DIR, default
#                 $PREVOIR_BENCH_CACHE/duckdb-node; PREVOIR_BENCH_CACHE
#                 defaults to $HOME/.cache/prevoir/bench. Needs node and npm.
#   scikit-learn  python3-sklearn, and xgboost python3-xgboost, from apt when
#   xgboost       run as root (or with password-less sudo), for $BENCH_PYTHON
#                 (default /usr/bin/python3, the interpreter apt installs for).
#
# BENCH_INSTALL=0 checks without installing.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench/out}
mkdir -p "$out"
log=$out/setup.log
: >"$log"
cache=${PREVOIR_BENCH_CACHE:-$HOME/.cache/prevoir/bench}
duck_dir=${DUCKDB_NODE_DIR:-$cache/duckdb-node}
duck_pkg=@duckdb/node-api@1.5.6-r.1
python=${BENCH_PYTHON:-/usr/bin/python3}
install=${BENCH_INSTALL:-1}
say() { echo "bench/setup: $*" >&2; }

# --- Python anchors ---------------------------------------------------------
have_py() { [ -x "$python" ] && "$python" -c "import $1" >>"$log" 2>&1; }
missing=()
have_py sklearn || missing+=(python3-sklearn)
have_py xgboost || missing+=(python3-xgboost)
py_why=""
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""
	if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		sudo="sudo -n"
	fi
	if [ "$install" = 0 ]; then
		py_why="not installed (BENCH_INSTALL=0)"
	elif ! command -v apt-get >/dev/null; then
		py_why="not installed and no apt-get to install ${missing[*]}"
	elif [ "$(id -u)" != 0 ] && [ -z "$sudo" ]; then
		py_why="not installed; installing ${missing[*]} needs root"
	else
		say "installing ${missing[*]} with apt-get (log: $log)"
		# Other jobs may hold the dpkg lock: wait for it rather than fail.
		if ! { $sudo apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=900 "${missing[@]}"; } >>"$log" 2>&1; then
			py_why="apt-get install ${missing[*]} failed (see $log)"
		fi
	fi
fi
py_status() { # module
	if have_py "$1"; then
		echo "ok $("$python" -c "import $1; print($1.__version__)" 2>>"$log")"
	elif [ -n "$py_why" ]; then
		echo "unavailable: $1 for $python $py_why"
	else
		echo "unavailable: $1 does not import in $python (see $log)"
	fi
}
sklearn=$(py_status sklearn)
xgboost=$(py_status xgboost)

# --- DuckDB -------------------------------------------------------------------
duck_version() { DUCKDB_NODE_DIR=$duck_dir node bench/anchors/duckdb.mjs version 2>>"$log"; }
duckdb=""
if ! command -v node >/dev/null; then
	duckdb="unavailable: no node to run DuckDB's Node package"
elif ! v=$(duck_version); then
	if [ "$install" = 0 ]; then
		duckdb="unavailable: $duck_pkg is not in $duck_dir (BENCH_INSTALL=0)"
	elif ! command -v npm >/dev/null; then
		duckdb="unavailable: no npm to install $duck_pkg"
	else
		say "installing $duck_pkg into $duck_dir (log: $log)"
		mkdir -p "$duck_dir" &&
			(cd "$duck_dir" && { [ -f package.json ] || npm init -y; } &&
				npm install --no-audit --no-fund "$duck_pkg") >>"$log" 2>&1
		v=$(duck_version) || duckdb="unavailable: npm install $duck_pkg into $duck_dir failed (see $log)"
	fi
fi
if [ -z "$duckdb" ]; then
	duckdb="ok $(printf '%s' "$v" | sed -n 's/.*"duckdb":"\([^"]*\)".*/\1/p')"
fi

{
	printf 'DUCKDB_NODE_DIR=%q\n' "$duck_dir"
	printf 'BENCH_PYTHON=%q\n' "$python"
	printf 'ANCHOR_DUCKDB=%q\n' "$duckdb"
	printf 'ANCHOR_SKLEARN=%q\n' "$sklearn"
	printf 'ANCHOR_XGBOOST=%q\n' "$xgboost"
} >"$out/anchors.env"
say "DuckDB: $duckdb"
say "scikit-learn: $sklearn"
say "xgboost: $xgboost"
