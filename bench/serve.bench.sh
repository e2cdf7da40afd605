#!/usr/bin/env bash
# The scoring server ([serve]): customer lookups/s and one-row predictions/s
# with p50/p99 latency (bench/loadgen on the same machine, over loopback),
# the same under a republication and alias moves (errors and mixed
# responses counted), a full `scores pull` of the churn publication (checked
# byte-identical to `scores export`), and the server's memory after load.
# Targets: lookups >= 20,000/s with p99 < 5 ms, predictions >= 10,000/s with
# p99 < 5 ms, the pull of 1M rows < 5 s, 0 errors. Writes a markdown section
# to $1 (default bench/out/serve.md).
#
# It serves the store of bench/score.bench.sh (which runs before it in
# make bench) and runs that script first when its publication is missing.
#
#   bash bench/serve.bench.sh [out.md]
#   CUSTOMERS=1000000 DURATION=20s CONC=32 REPEATS=3 (BENCH_QUICK=1: 20000, 5s, 1)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out=${1:-$BENCH_OUT/serve.md}
customers=${CUSTOMERS:-1000000}
dur=${DURATION:-20s}
conc=${CONC:-32}
repeats=${REPEATS:-3}
if [ "$BENCH_QUICK" = 1 ]; then customers=${CUSTOMERS:-20000}; dur=${DURATION:-5s}; repeats=${REPEATS:-1}; fi
store=$BENCH_DATA/score/store_$customers
ds=g$customers
data=$BENCH_DATA/serve
log=$data/run.log
mkdir -p "$data"
: >"$log"
P="$PREVOIR --store $store"
LOADGEN=$BENCH_DATA/bin/loadgen
go build -o "$LOADGEN" ./bench/loadgen

if [ ! -s "$store/scores/$ds/churn/LATEST" ]; then
	echo "no churn publication in $store: running bench/score.bench.sh first" >&2
	CUSTOMERS=$customers bash bench/score.bench.sh "$data/score.md" >>"$log" 2>&1
fi

token=tok-bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export PREVOIR_TOKENS="$token scores:read,customers:read,predict,admin" PREVOIR_TOKEN=$token LOADGEN_TOKEN=$token
port=$((20000 + $$ % 20000))
url=http://127.0.0.1:$port
$P serve --dataset "$ds" --addr "127.0.0.1:$port" --poll 1s --max-streams 64 >>"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
ready() { "$REPORT_PYTHON" -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('$url/readyz').status == 200 else 1)" 2>/dev/null; }
for _ in $(seq 1 600); do ready && break; sleep 0.5; done
ready || { echo "serve never became ready; see $log" >&2; exit 1; }
rss_mib=$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

lg() { "$LOADGEN" -url "$url" -c "$conc" -d "$dur" "$@"; }
look=$(lg -mode lookup)
echo "$look" >&2
pred=$(lg -mode predict -model churn@champion)
echo "$pred" >&2

# Lookups and predictions while the publication is replaced and aliases
# move, until the server has swapped in the new publication.
loaded() { "$REPORT_PYTHON" -c "import json,urllib.request; print(json.load(urllib.request.urlopen('$url/readyz'))['loaded_at'])"; }
stop=$data/swap.stop
rm -f "$stop"
"$LOADGEN" -url "$url" -d 1h -stop-file "$stop" -mode lookup -c $((conc / 2)) >"$data/swap-lookup.json" &
l1=$!
"$LOADGEN" -url "$url" -d 1h -stop-file "$stop" -mode predict -c $((conc / 2)) -model churn@champion >"$data/swap-predict.json" &
l2=$!
sleep 2
before=$(loaded)
$P models promote churn@champion --alias bench-canary >>"$log" 2>&1
$P score --dataset "$ds" --task churn --model churn@champion >>"$log" 2>&1
$P models promote churn@latest --alias bench-canary >>"$log" 2>&1
for _ in $(seq 1 600); do [ "$(loaded)" != "$before" ] && break; sleep 0.5; done
sleep 3 # a further reload for the last alias move
touch "$stop"
wait $l1 $l2
swapl=$(cat "$data/swap-lookup.json") swapp=$(cat "$data/swap-predict.json")
echo "$swapl" >&2
echo "$swapp" >&2

# A full pull, then the same bytes as scores export.
pull=$("$KIT" timeit -n "$repeats" -warmup 1 -label "pull $customers" -log "$log" -- \
	$PREVOIR scores pull churn --from "$url" -o "$data/pull.csv")
echo "$pull" >&2
$P scores export churn --dataset "$ds" --format csv -o "$data/export.csv"
if cmp -s "$data/pull.csv" "$data/export.csv"; then same="byte-identical to scores export"; else same="DIFFERENT from scores export"; fi
rows=$(($(wc -l <"$data/export.csv") - 1))
kill -TERM $pid
wait $pid || true
trap - EXIT
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

"$REPORT_PYTHON" - "$out" "$customers" "$rows" "$rss_mib" "$dur" "$conc" "$same" "$load_before" "$load_after" \
	"$look" "$pred" "$swapl" "$swapp" "$pull" <<'PY'
import json, sys, datetime, os
out, customers, rows, rss, dur, conc, same, lb, la = sys.argv[1:10]
look, pred, swapl, swapp, pull = (json.loads(x) for x in sys.argv[10:15])
customers, rows, rss = int(customers), int(rows), float(rss)
def row(name, r, target_rate):
    clean = r["errors"] == 0 and r["mixed"] == 0
    if target_rate:
        met = r["per_second"] >= target_rate and r["p99_ms"] < 5 and clean
        target = f"{'met' if met else 'missed'} ({target_rate:,}/s, p99 < 5 ms, 0 errors)"
    else:
        target = f"{'met' if clean else 'missed'} (0 errors, 0 mixed)"
    return (f"| {name} | {r['concurrency']} | {r['requests']:,} | {r['per_second']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['errors']} | {r['mixed']} | {target} |")
pw = pull["wall"]["median"]
lines = [
    f"## Scoring server: lookups, predictions and pulls over {customers:,} customers (no anchor)",
    "",
    f"`prevoir serve` on loopback, {os.cpu_count()} CPUs shared with the load generator (`bench/loadgen`: a keep-alive connection per client, {dur} per row), {datetime.date.today()}.",
    f"The churn publication of the score benchmark ({rows:,} rows) and its champion model; lookups cycle over the first 100,000 customers;",
    "predictions post one row built from the champion's card. The swap rows run half the clients each for lookups and predictions while",
    "`score` replaces the publication and an alias moves, until the server has swapped both in (polling every second): errors and responses",
    "mixing two publications count.",
    (f"Load average (1, 5, 15 min) {lb} before, {la} after. Server memory after loading: {rss:.0f} MiB RSS" + (f" ({rss * 1e6 / rows:.0f} MiB per million published customers, runtime included)." if rows >= 500000 else " (too few customers for a per-million figure: see docs/SERVING.md).")),
    "",
    "| load | clients | requests | per second | p50 ms | p99 ms | errors | mixed | target |",
    "|---|---|---|---|---|---|---|---|---|",
    row("customer lookups", look, 20000),
    row("one-row predictions", pred, 10000),
    row("lookups during swaps", swapl, 0),
    row("predictions during swaps", swapp, 0),
    "",
    f"Full pull (`scores pull churn`, median of {pull['n']} after a warm-up): {rows:,} rows in {pw:.2f} s "
    f"({rows / pw:,.0f} rows/s), {'met' if pw < 5 and customers >= 1000000 else ('n/a at this size' if customers < 1000000 else 'missed')} (target < 5 s for 1M rows); {same}.",
]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
