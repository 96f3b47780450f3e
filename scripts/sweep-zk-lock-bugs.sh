#!/usr/bin/env bash
# Sweeps the zk-lock scenarios (scenarios/lock/zk-*.json) with the release
# binary: every planted bug's scenario over BUG_SEEDS with the bug on and
# with `--no-bugs` (the correct recipe must stay clean on the same seeds),
# then every zk-lock scenario over CLEAN_SEEDS with the correct recipe
# (`--no-bugs` for the bug scenarios): 0 violations expected. Each sweep
# prints its first three failures and its tally; the bug sweeps also count
# the failures per check.
# Usage: scripts/sweep-zk-lock-bugs.sh [BUG_SEEDS] [CLEAN_SEEDS] [JOBS]
#        (defaults: 0..200, 0..1000, 2). BUG_SEEDS "none" skips the bug sweeps,
#        CLEAN_SEEDS "none" the clean ones.
set -euo pipefail
cd "$(dirname "$0")/.."
bug_seeds="${1:-0..200}"
clean_seeds="${2:-0..1000}"
jobs="${3:-2}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/faultline"

# The first three failures, the failures per check, and the tally line of a sweep's output.
summary() {
    awk '/^seed .*FAIL/ { if (shown < 3) { print; shown++ } split($0, a, "FAIL "); split(a[2], b, ":"); n[b[1]]++ }
         /seeds run/ { print } END { for (c in n) printf "   failed %s: %d\n", c, n[c] }'
}

if [ "$bug_seeds" != "none" ]; then
    for scenario in scenarios/lock/zk-bug-*.json; do
        echo "== $scenario: with the bug"
        "$bin" sweep "$scenario" --seeds "$bug_seeds" --jobs "$jobs" 2>&1 | summary || true
        echo "== $scenario: --no-bugs"
        "$bin" sweep "$scenario" --seeds "$bug_seeds" --jobs "$jobs" --no-bugs 2>&1 | summary || true
    done
fi

if [ "$clean_seeds" != "none" ]; then
    for scenario in scenarios/lock/zk-*.json; do
        echo "== $scenario: correct recipe, seeds $clean_seeds"
        "$bin" sweep "$scenario" --seeds "$clean_seeds" --jobs "$jobs" --no-bugs 2>&1 | summary || true
    done
fi
