#!/usr/bin/env bash
# Times `faultline check` on generated register and key-value histories, and
# optionally an older faultline binary and Porcupine on the same files.
#
#   scripts/lin-bench.sh [--old PATH/TO/faultline] [--porcupine PORCUPINE_CHECKOUT] [--out DIR]
#
# The histories come from the generator in tests/lin_scaling.rs (seeded, so
# the same files every time): linearizable by construction, or with a planted
# violation (`-stale`: a stale read real time gives away; `-lostcas`: two
# concurrent cas from one value that both succeed, which takes a search).
# Each check runs with `--time-limit 60s` (and is killed at 120 s if it
# does not honour it); times are wall seconds, with CPU
# seconds (user + system) beside them, since other work on the machine
# inflates wall time. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

old="" porcupine="" out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --old) old=$2; shift 2 ;;
        --porcupine) porcupine=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "usage: $0 [--old FAULTLINE] [--porcupine CHECKOUT] [--out DIR]" >&2; exit 2 ;;
    esac
done
target=${CARGO_TARGET_DIR:-target}
out=${out:-$(mktemp -d)}
mkdir -p "$out"

cargo build --release --quiet --bin faultline
LIN_BENCH_OUT="$out" cargo test --release --quiet --test lin_scaling write_bench_histories >/dev/null
new="$target/release/faultline"

# Runs a faultline binary on a file: prints "verdict<TAB>wall<TAB>cpu".
run() {
    local bin=$1 file=$2
    # The outer timeout catches a binary that does not honour --time-limit.
    /usr/bin/time -f '%e %U %S' -o "$out/.time" timeout 120 \
        "$bin" check "$file" --time-limit 60s --witness "$out/.witness.jsonl" >"$out/.stdout" 2>&1 || true
    local verdict
    verdict=$(head -1 "$out/.stdout" | sed 's/:.*//')
    grep -q 'status 124' "$out/.time" && verdict="killed at 120 s"
    tail -1 "$out/.time" | awk -v verdict="$verdict" \
        '{ printf "%s\t%.2f\t%.2f\n", verdict, $1, $2 + $3 }'
}

header="| history | ops | clients | keys | verdict | faultline s (cpu) |"
rule="|---|---|---|---|---|---|"
[ -n "$old" ] && header="$header before s (cpu) |" && rule="$rule---|"
[ -n "$porcupine" ] && header="$header Porcupine s (parse + check) |" && rule="$rule---|"
echo "$header"
echo "$rule"
for file in "$out"/*.jsonl; do
    name=$(basename "$file" .jsonl)
    ops=$(grep -c '"invoke"' "$file" || true)
    clients=$( (grep -o '"process":[0-9]*' "$file" || true) | sort -u | wc -l)
    keys=$( (grep -o '"key":"[^"]*"' "$file" || true) | sort -u | wc -l)
    IFS=$'\t' read -r verdict wall cpu <<<"$(run "$new" "$file")"
    row="| $name | $ops | $clients | $((keys > 0 ? keys : 1)) | $verdict | $wall ($cpu) |"
    if [ -n "$old" ]; then
        IFS=$'\t' read -r v_old wall_old cpu_old <<<"$(run "$old" "$file")"
        [ "$v_old" != "$verdict" ] && wall_old="$wall_old, $v_old"
        row="$row $wall_old ($cpu_old) |"
    fi
    if [ -n "$porcupine" ]; then
        IFS=$'\t' read -r _ v_p parse_p check_p <<<"$(scripts/lin-vs-porcupine.sh "$porcupine" "$file")"
        [ "$v_p" != "$verdict" ] && check_p="$check_p, $v_p"
        row="$row $parse_p + $check_p |"
    fi
    echo "$row"
done
