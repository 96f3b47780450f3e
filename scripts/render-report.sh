#!/usr/bin/env bash
# Renders RUN_DIR/report.html (or a sweep folder's sweep.html) to a PNG of
# the whole page with headless Chromium, to look at a report without a
# browser. Needs chromium (not needed by CI): apt-get install chromium
#   scripts/render-report.sh RUN_DIR [WIDTH]      -> RUN_DIR/report.png
#
# Why two passes: --screenshot captures the window, not the page, and
# Debian's chromium has no flag for a full-page shot. So the first pass
# loads a copy of the page with one line of script added that writes the
# laid-out height into the DOM, which --dump-dom prints; the second pass
# takes the screenshot with the window that tall. (A CDP script would do it
# in one pass but needs a websocket client, which python's stdlib lacks.)
# The reports are self-contained (inline CSS and SVG), so the copy lays out
# exactly as the page does.
set -euo pipefail
dir=${1:?usage: scripts/render-report.sh RUN_DIR [WIDTH]}
width=${2:-1400}
width=${width%%x*} # an old WIDTHxHEIGHT argument: the height is measured now
page=report.html
[ -f "$dir/$page" ] || page=sweep.html
[ -f "$dir/$page" ] || { echo "render-report: no report.html or sweep.html in $dir" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "render-report: no chromium found (apt-get install chromium)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chrome() {
  "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$tmp/profile" "$@" 2>/dev/null
}
sed 's|</body>|<script>document.body.setAttribute("data-height",Math.ceil(document.documentElement.scrollHeight))</script></body>|' \
  "$dir/$page" >"$tmp/measure.html"
height=$(chrome --window-size="$width,800" --dump-dom "file://$tmp/measure.html" |
  grep -o 'data-height="[0-9]*"' | head -1 | grep -o '[0-9]*' || true)
[ -n "$height" ] || { echo "render-report: could not measure the page height of $dir/$page" >&2; exit 1; }
# Chromium caps a window at 16384 px; a taller page is cut there (and says so).
max=16384
if [ "$height" -gt "$max" ]; then
  echo "render-report: the page is $height px tall; the image stops at $max px" >&2
  height=$max
fi
out="$dir/${page%.html}.png"
chrome --window-size="$width,$height" --screenshot="$out" "file://$(cd "$dir" && pwd)/$page"
echo "$out (${width}x$height)"
