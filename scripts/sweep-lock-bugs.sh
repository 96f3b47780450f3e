#!/usr/bin/env bash
# Sweeps the lease-lock and redlock scenarios (scenarios/lock/lease-*.json,
# redlock-*.json; zk-lock's files there are not this script's) with
# the release binary: every planted bug's scenario over BUG_SEEDS with the
# bug on and with `--no-bugs` (the correct protocol must stay clean on the
# same seeds), Redlock's clock-jump scenario (it must fail: that is its
# point), then every other scenario over CLEAN_SEEDS with the correct
# protocol (`--no-bugs` for the bug scenarios): 0 violations expected.
# Usage: scripts/sweep-lock-bugs.sh [BUG_SEEDS] [CLEAN_SEEDS] [JOBS]
#        (defaults: 0..200, 0..1000, 2). CLEAN_SEEDS "none" skips the clean sweeps.
set -euo pipefail
cd "$(dirname "$0")/.."
bug_seeds="${1:-0..200}"
clean_seeds="${2:-0..1000}"
jobs="${3:-2}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/faultline"

# The first three failures and the tally line of a sweep's output.
summary() { awk '/^seed .*FAIL/ && shown < 3 { print; shown++ } /seeds run/ { print }'; }

for scenario in scenarios/lock/lease-bug-*.json scenarios/lock/redlock-bug-*.json; do
    echo "== $scenario: with the bug"
    "$bin" sweep "$scenario" --seeds "$bug_seeds" --jobs "$jobs" 2>&1 | summary || true
    echo "== $scenario: --no-bugs"
    "$bin" sweep "$scenario" --seeds "$bug_seeds" --jobs "$jobs" --no-bugs 2>&1 | summary || true
done

echo "== scenarios/lock/redlock-clock-jump.json: Redlock under a clock jump (expected to fail)"
"$bin" sweep scenarios/lock/redlock-clock-jump.json --seeds "$bug_seeds" --jobs "$jobs" 2>&1 | summary || true

if [ "$clean_seeds" != "none" ]; then
    for scenario in scenarios/lock/lease-*.json scenarios/lock/redlock-*.json; do
        [ "$scenario" = scenarios/lock/redlock-clock-jump.json ] && continue
        echo "== $scenario: correct protocol, seeds $clean_seeds"
        "$bin" sweep "$scenario" --seeds "$clean_seeds" --jobs "$jobs" --no-bugs 2>&1 | summary || true
    done
fi
