#!/usr/bin/env bash
# The speed table, side by side: each `faultline bench` workload as the
# median of 5 runs, next to the same workload on the peer simulators
# (turmoil, madsim) and the bare-heap yardstick when a peers folder is
# given, then a sweep's seeds per core-hour with `--jobs 1` and `--jobs 2`.
# Everything runs in one go on one machine, so the figures compare; on a
# busy machine they still move by tens of percent from run to run, which is
# why `scripts/profile.sh` (instruction counts) is the tool for a single change.
#
# Usage: scripts/bench.sh [PEERS_DIR]
#   PEERS_DIR  a folder with turmoil-bench, madsim-bench and heap-bench
#              (a Cargo workspace, built here first), e.g. ../shared/peers
# Environment:
#   SWEEP_SEEDS  seeds of the sweep measurement (default 0..2000)
#   RUNS         runs per median (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
peers="${1:-}"
runs="${RUNS:-5}"
seeds="${SWEEP_SEEDS:-0..2000}"
scenario=scenarios/raft/leader-isolation.json

cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/faultline"

# The median of the numbers on standard input.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The value of `key=` in a line.
field() { grep -o "$1=[^ ]*" | head -n 1 | cut -d= -f2; }
# Median per_sec of RUNS runs of a command that prints a bench line last.
median_rate() {
    for _ in $(seq "$runs"); do "$@" | tail -n 1 | field per_sec; done | median
}

if [[ -n "$peers" ]]; then
    [[ -d "$peers" ]] || { echo "bench.sh: peers folder '$peers' not found" >&2; exit 2; }
    peers_target="${PEERS_TARGET_DIR:-$peers/target}"
    (cd "$peers" && CARGO_TARGET_DIR="$peers_target" cargo build --release --quiet)
fi

printf '%-10s %14s %14s %14s %16s %8s\n' workload faultline turmoil madsim heap "vs best peer"
for w in pingpong broadcast timers; do
    ours=$("$bin" bench "$w" --repeat "$runs" 2>/dev/null | tail -n 1 | field per_sec)
    turmoil=- madsim=- heap=- ratio=-
    if [[ -n "$peers" ]]; then
        turmoil=$(median_rate "$peers_target/release/turmoil-bench" "$w")
        madsim=$(median_rate "$peers_target/release/madsim-bench" "$w")
        best=$(printf '%s\n%s\n' "$turmoil" "$madsim" | sort -g | tail -n 1)
        ratio=$(awk -v a="$ours" -v b="$best" 'BEGIN { printf "%.1fx", a / b }')
        if [[ "$w" == timers ]]; then
            heap=$(median_rate "$peers_target/release/heap-bench" hold 10000)
            timers_vs_heap=$(awk -v a="$ours" -v b="$heap" 'BEGIN { printf "%.2fx", a / b }')
        fi
    fi
    printf '%-10s %14.0f %14s %14s %16s %8s\n' "$w" "$ours" "$turmoil" "$madsim" "$heap" "$ratio"
done
if [[ -n "${timers_vs_heap:-}" ]]; then
    echo "timers     $timers_vs_heap the bare heap's events/s (heap-bench hold 10000: the same 10,000 pending, pop and push)"
fi

raft=$("$bin" bench raft --repeat "$runs" 2>/dev/null | tail -n 1)
echo "raft       $(echo "$raft" | field sim_per_wall) simulated s per wall s ($(echo "$raft" | field per_sec) deliveries/s)"

# Seeds per core-hour: CPU seconds (user + system) of the whole sweep.
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count=$(("${seeds#*..}" - "${seeds%..*}"))
for jobs in 1 2; do
    /usr/bin/time -f '%e %U %S' -o "$out/time-$jobs" \
        "$bin" sweep "$scenario" --seeds "$seeds" --jobs "$jobs" --out "$out/sweep-$jobs" >/dev/null 2>&1 || true
    read -r wall user sys <"$out/time-$jobs"
    awk -v n="$count" -v j="$jobs" -v w="$wall" -v u="$user" -v s="$sys" 'BEGIN {
        printf "sweep      --jobs %d: %d seeds in %.2f s wall, %.0f seeds per core-hour (CPU), %.0f seeds per hour (wall)\n",
            j, n, w, n * 3600 / (u + s), n * 3600 / w }'
done
w1=$(cut -d' ' -f1 "$out/time-1")
w2=$(cut -d' ' -f1 "$out/time-2")
awk -v a="$w1" -v b="$w2" 'BEGIN { printf "sweep      --jobs 2 is %.2fx --jobs 1 in wall time\n", a / b }'
if cmp -s "$out/sweep-1/sweep.json" "$out/sweep-2/sweep.json"; then
    echo "sweep      sweep.json is byte-identical with --jobs 1 and --jobs 2"
else
    echo "sweep      sweep.json DIFFERS between --jobs 1 and --jobs 2" >&2
    exit 1
fi
