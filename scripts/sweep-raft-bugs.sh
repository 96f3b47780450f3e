#!/usr/bin/env bash
# Sweeps every planted Raft bug's scenario over a seed range, with the bug on
# and with `--no-bugs` (the correct protocol must stay clean on the same seeds).
# Each bug is swept with its scenario's own nemesis and again with `--swarm`
# (a fault configuration drawn per seed). Then the liveness phase's deaf-node
# livelock: found with pre_vote and check_quorum off, clean with them on.
# Usage: scripts/sweep-raft-bugs.sh [SEEDS] [JOBS]   (defaults: 0..200, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${1:-0..200}"
jobs="${2:-2}"
cargo build --release --quiet
for bug in commit-previous-term forget-vote stale-local-read skip-prev-log-check no-dedup no-log-checksum; do
    scenario="scenarios/raft/bug-$bug.json"
    echo "== $bug: with the bug"
    cargo run --release --quiet -- sweep "$scenario" --seeds "$seeds" --jobs "$jobs" || true
    echo "== $bug: --no-bugs"
    cargo run --release --quiet -- sweep "$scenario" --seeds "$seeds" --jobs "$jobs" --no-bugs || true
    echo "== $bug: with the bug, --swarm"
    cargo run --release --quiet -- sweep "$scenario" --seeds "$seeds" --jobs "$jobs" --swarm || true
    echo "== $bug: --no-bugs --swarm"
    cargo run --release --quiet -- sweep "$scenario" --seeds "$seeds" --jobs "$jobs" --no-bugs --swarm || true
done
for scenario in liveness-deaf-node liveness-deaf-node-prevote; do
    echo "== $scenario"
    cargo run --release --quiet -- sweep "scenarios/raft/$scenario.json" --seeds "$seeds" --jobs "$jobs" || true
done
