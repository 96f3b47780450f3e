#!/usr/bin/env bash
# A sharded sweep with GNU parallel, on this machine's cores or on ssh hosts,
# then the merge: the same command line a Slurm array task or a Kubernetes
# Indexed Job pod runs, one shard per parallel job.
#
# Usage: scripts/cluster/parallel/sweep.sh SCENARIO SEEDS SHARDS OUT
#   e.g. scripts/cluster/parallel/sweep.sh scenarios/raft/leader-isolation.json 0..100000 8 results/li
# Environment:
#   FAULTLINE  the faultline binary (default: target/release/faultline, built if missing)
#   HOSTS      ssh hosts for parallel --sshlogin, e.g. "4/alice@node1,4/node2"
#   HOSTFILE   or a file of them for --sshloginfile; neither: local cores. Each
#              host needs the binary and scenarios at the same paths under this
#              folder's path, and OUT on a shared filesystem (or RETURN=1 to copy
#              each shard's file back here when it ends).
#   JOBS       parallel jobs at once (default: one per core of each host)
# Exit code: merge's (0 clean, 1 a seed failed, 2 bad input, 3 seeds missing
# or inconclusive); a shard that found failures exits 1, which is not an error here.
set -euo pipefail
if [ $# -ne 4 ]; then
    sed -n '5,6p' "$0" | sed 's/^# //' >&2
    exit 2
fi
scenario=$1 seeds=$2 shards=$3 out=$4
command -v parallel >/dev/null || { echo "GNU parallel is not installed (Debian: apt-get install parallel)" >&2; exit 2; }
faultline=${FAULTLINE:-target/release/faultline}
if [ -z "${FAULTLINE:-}" ] && [ ! -x "$faultline" ]; then cargo build --release --quiet; fi
mkdir -p "$out"
where=()
if [ -n "${HOSTFILE:-}" ]; then where=(--sshloginfile "$HOSTFILE" --workdir "$PWD"); fi
if [ -n "${HOSTS:-}" ]; then where=(--sshlogin "$HOSTS" --workdir "$PWD"); fi
if [ -n "${RETURN:-}" ]; then where+=(--return "$out/shard-{}-of-$shards.jsonl"); fi
# One shard per job; each shard uses one thread. --resume makes a rerun of
# this script continue killed shards instead of starting them anew.
status=0
parallel --will-cite --line-buffer --tagstring 'shard {}' ${JOBS:+--jobs "$JOBS"} "${where[@]}" \
    --joblog "$out/parallel-joblog.tsv" \
    "$faultline" sweep "$scenario" --seeds "$seeds" --shard "{}/$shards" --out "$out" --jobs 1 --resume \
    ::: $(seq 0 $((shards - 1))) >"$out/parallel.log" 2>&1 || status=$?
echo "parallel: $shards shards done ($status exited non-zero: 1 = failing seeds found; details in $out/parallel.log)"
exec "$faultline" merge "$out"
