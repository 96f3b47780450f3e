#!/usr/bin/env bash
# Sweeps every planted Raft bug's scenario over a seed range, with the bug on
# and with `--no-bugs` (the correct protocol must stay clean on the same seeds).
# Usage: scripts/sweep-raft-bugs.sh [SEEDS] [JOBS]   (defaults: 0..200, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${1:-0..200}"
jobs="${2:-2}"
cargo build --release --quiet
for bug in commit-previous-term forget-vote stale-local-read skip-prev-log-check no-dedup; do
    scenario="scenarios/raft/bug-$bug.json"
    echo "== $bug: with the bug"
    cargo run --release --quiet -- sweep "$scenario" --seeds "$seeds" --jobs "$jobs" || true
    echo "== $bug: --no-bugs"
    cargo run --release --quiet -- sweep "$scenario" --seeds "$seeds" --jobs "$jobs" --no-bugs || true
done
