#!/usr/bin/env bash
# Renders RUN_DIR/report.html to RUN_DIR/report.png with headless Chromium,
# to look at a report without a browser. Needs chromium (not needed by CI):
#   apt-get install chromium
set -euo pipefail
dir=${1:?usage: scripts/render-report.sh RUN_DIR [WIDTHxHEIGHT]}
size=${2:-1200x4000}
[ -f "$dir/report.html" ] || { echo "render-report: $dir/report.html not found" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "render-report: no chromium found (apt-get install chromium)" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size="${size/x/,}" \
  --screenshot="$dir/report.png" "file://$(cd "$dir" && pwd)/report.html" 2>/dev/null
echo "$dir/report.png"
