#!/usr/bin/env bash
# Queues a sharded sweep on Slurm: the array job (one task per shard) and,
# after it, the merge. Prints both job ids.
# Usage: scripts/cluster/slurm/submit.sh SCENARIO SEEDS SHARDS OUT [sbatch options...]
#   e.g. scripts/cluster/slurm/submit.sh scenarios/raft/leader-isolation.json 0..1000000 64 /shared/li --partition=batch
set -euo pipefail
if [ $# -lt 4 ]; then
    sed -n '4,5p' "$0" | sed 's/^# //' >&2
    exit 2
fi
scenario=$1 seeds=$2 shards=$3 out=$4
shift 4
here=$(dirname "$0")
mkdir -p "$out"
array=$(sbatch --parsable "$@" --array="0-$((shards - 1))" "$here/sweep.sbatch" "$scenario" "$seeds" "$out")
array=${array%%;*}
merge=$(sbatch --parsable "$@" --dependency="afterany:$array" "$here/merge.sbatch" "$out")
echo "array job $array ($shards shards), merge job ${merge%%;*}: results in $out/sweep.html"
