#!/usr/bin/env bash
# Sweeps the two-phase commit scenarios (scenarios/twopc/) with the release
# binary: every planted bug's scenario over BUG_SEEDS with the bug on and
# with `--no-bugs` (the correct protocol must stay clean on the same seeds),
# then every scenario over CLEAN_SEEDS with the correct protocol (`--no-bugs`
# for the bug scenarios): 0 violations expected.
# Usage: scripts/sweep-twopc-bugs.sh [BUG_SEEDS] [CLEAN_SEEDS] [JOBS]
#        (defaults: 0..200, 0..1000, 2). CLEAN_SEEDS "none" skips the clean sweeps.
set -euo pipefail
cd "$(dirname "$0")/.."
bug_seeds="${1:-0..200}"
clean_seeds="${2:-0..1000}"
jobs="${3:-2}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/faultline"

# The first three failures, how many seeds each check failed, and the tally line.
summary() {
    awk '/^seed .*FAIL/ { if (shown < 3) { print; shown++ } split($0, a, "FAIL "); split(a[2], b, ":"); n[b[1]]++ }
         /seeds run/ { print } END { for (c in n) print "  failed " c ": " n[c] }'
}

for scenario in scenarios/twopc/bug-*.json; do
    echo "== $scenario: with the bug"
    "$bin" sweep "$scenario" --seeds "$bug_seeds" --jobs "$jobs" 2>&1 | summary || true
    echo "== $scenario: --no-bugs"
    "$bin" sweep "$scenario" --seeds "$bug_seeds" --jobs "$jobs" --no-bugs 2>&1 | summary || true
done

if [ "$clean_seeds" != "none" ]; then
    for scenario in scenarios/twopc/*.json; do
        echo "== $scenario: correct protocol, seeds $clean_seeds"
        "$bin" sweep "$scenario" --seeds "$clean_seeds" --jobs "$jobs" --no-bugs 2>&1 | summary || true
    done
fi
