#!/usr/bin/env bash
# Runs every kernel benchmark 5 times and prints each median line.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
for w in pingpong broadcast timers; do
  ./target/release/faultline bench "$w" --repeat 5
done
