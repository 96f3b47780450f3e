#!/usr/bin/env bash
# End-to-end test of the Slurm job files on one machine: starts a one-node
# Slurm on localhost (munged, slurmctld and slurmd, all in a fresh folder
# with their own ports and munge socket, so nothing of the system's is
# touched), queues sweep.sbatch as a real array job and merge.sbatch after it
# through submit.sh, waits for both, and checks that the merged sweep.json
# and sweep.html are byte for byte those of one local sweep of the range.
# Stops the daemons it started. Installs slurm-wlm and munge with apt-get
# when they are missing and it runs as root.
# Usage: scripts/cluster/slurm/local-test.sh [SCENARIO] [SEEDS] [SHARDS]
#   (defaults: scenarios/raft/bug-stale-local-read.json 0..200 4)
# Exit code: 0 the merge equals the local sweep, 1 it does not or a job
# did not finish, 2 Slurm could not be set up here.
set -euo pipefail
cd "$(dirname "$0")/../../.."
scenario=${1:-scenarios/raft/bug-stale-local-read.json}
seeds=${2:-0..200}
shards=${3:-4}
say() { echo "local-test: $*"; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing slurm-wlm and munge"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q slurm-wlm munge >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q slurm-wlm munge >/dev/null; }
    else
        say "needs slurm-wlm and munge (Debian packages), and root to install them"
        exit 2
    fi
fi
faultline=${FAULTLINE:-$PWD/target/release/faultline}
if [ -z "${FAULTLINE:-}" ]; then cargo build --release --quiet; fi

work=$(mktemp -d /tmp/faultline-slurm.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
node=$(hostname -s)
port=$((20000 + RANDOM % 20000))

# munge, on its own key and socket.
mkdir -p "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 711 "$work/munge"
chmod 400 "$work/munge/munge.key"
munged --force --foreground --key-file="$work/munge/munge.key" --socket="$work/munge/munge.sock" \
    --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed" \
    >"$work/munge/munged.stdout" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$work/munge/munge.sock" ] && break; sleep 0.1; done
[ -S "$work/munge/munge.sock" ] || { say "munged did not start:"; cat "$work/munge/munged.stdout"; exit 2; }

mkdir -p "$work/state" "$work/spool" "$work/jobs"
cat >"$work/slurm.conf" <<CONF
ClusterName=faultline-local
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.sock
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" >"$work/slurmctld.stdout" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$work/slurmd.stdout" 2>&1 &
pids+=($!)
for _ in $(seq 60); do
    state=$(sinfo -h -o %T 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 0.5
done
if [ "$state" != idle ]; then
    say "the node did not come up (state: ${state:-none}); logs:"
    tail -n 20 "$work"/slurmctld.log "$work"/slurmd.log "$work"/*.stdout 2>/dev/null
    exit 2
fi
say "Slurm $(sinfo -V | cut -d' ' -f2) up: node $node, $(nproc) CPUs, in $work"
sinfo

out=$work/results
say "submitting $shards shards of $scenario seeds $seeds"
ids=$(FAULTLINE="$faultline" scripts/cluster/slurm/submit.sh "$scenario" "$seeds" "$shards" "$out" \
    --output="$work/jobs/%x-%j.out" --chdir="$PWD" --export=ALL)
echo "$ids"
array=$(echo "$ids" | sed -n 's/^array job \([0-9]*\).*/\1/p')
merge=$(echo "$ids" | sed -n 's/.*merge job \([0-9]*\).*/\1/p')
for _ in $(seq 600); do
    [ -z "$(squeue -h -j "$array,$merge" 2>/dev/null)" ] && break
    sleep 1
done
say "jobs done; their states (a shard that found failing seeds exits 1):"
scontrol -o show job "$array" | grep -o 'JobName=[^ ]*\|ArrayTaskId=[^ ]*\|JobState=[^ ]*\|ExitCode=[^ ]*' | paste - - - - | sed 's/^/  /'
scontrol -o show job "$merge" | grep -o 'JobName=[^ ]*\|JobState=[^ ]*\|ExitCode=[^ ]*' | paste - - - | sed 's/^/  /'
say "merge job output:"
cat "$work"/jobs/faultline-merge-*.out | grep -v '^  cargo run' | sed 's/^/  /'

say "the same sweep on this machine, for comparison"
"$faultline" sweep "$scenario" --seeds "$seeds" --out "$work/single" >"$work/single.log" 2>&1 || true
grep -E 'seeds run in|determinism' "$work/single.log" | sed 's/^/  /'
for f in sweep.json sweep.html; do
    if ! cmp -s "$work/single/$f" "$out/$f"; then
        say "FAIL: $f of the Slurm array differs from the local sweep's ($work/single/$f, $out/$f)"
        exit 1
    fi
done
say "OK: the Slurm array's merged sweep.json and sweep.html equal the local sweep's"
