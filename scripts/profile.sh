#!/usr/bin/env bash
# Records where the time goes in one workload, by instruction counts
# (callgrind, the default) or by samples (perf), and prints the total and
# the top entries: the number to quote before and after a speed change.
# Instruction counts barely move with machine load, so they compare runs on
# a busy machine where wall-clock numbers cannot.
#
# Usage: scripts/profile.sh WORKLOAD [TOP]
#   WORKLOAD  a `faultline bench` workload (pingpong, broadcast, channels,
#             timers, raft, multipaxos, twopc, zk-lock), or
#             sweep-raft           a 10-seed sweep of scenarios/raft/leader-isolation.json, or
#             sweep:FILE[:SEEDS]   a sweep of any scenario (SEEDS as A..B, default 0..10)
#   TOP       entries to print (default 25)
# Environment:
#   TOOL=callgrind|perf  (default callgrind; perf samples wall time, callers included)
#   OUT=DIR              where the profile is kept (default reports/profile)
#   CARGO_TARGET_DIR     the build (default target/profile: a release build with
#                        line tables, kept apart so the plain release build is untouched)
# The build is `cargo build --release` with CARGO_PROFILE_RELEASE_DEBUG=line-tables-only:
# the same code as the release build (assertions on), with line tables for names.
# Read a kept callgrind profile further with
#   callgrind_annotate --inclusive=yes OUT/WORKLOAD.callgrind | less
#   callgrind_annotate --tree=caller OUT/WORKLOAD.callgrind   (who calls what)
set -euo pipefail
cd "$(dirname "$0")/.."

workload="${1:?usage: scripts/profile.sh WORKLOAD [TOP]   (see the comment at the top)}"
top="${2:-25}"
tool="${TOOL:-callgrind}"
out="${OUT:-reports/profile}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/profile}"
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only

case "$tool" in
    callgrind) need=valgrind ;;
    perf) need=perf ;;
    *) echo "profile.sh: TOOL must be callgrind or perf, got '$tool'" >&2; exit 2 ;;
esac
if ! command -v "$need" >/dev/null; then
    echo "profile.sh: $need is not installed (Debian: apt-get install $need)" >&2
    exit 2
fi

name="$workload"
case "$workload" in
    pingpong|broadcast|channels|timers|raft|multipaxos|twopc|zk-lock)
        args=(bench "$workload") ;;
    sweep-raft)
        args=(sweep scenarios/raft/leader-isolation.json --seeds 0..10 --jobs 1 --check-determinism 0) ;;
    sweep:*)
        spec="${workload#sweep:}"
        file="${spec%%:*}"
        seeds=0..10
        [[ "$spec" == *:* ]] && seeds="${spec#*:}"
        [[ -f "$file" ]] || { echo "profile.sh: scenario file '$file' not found" >&2; exit 2; }
        name="sweep-$(basename "$file" .json)-$seeds"
        args=(sweep "$file" --seeds "$seeds" --jobs 1 --check-determinism 0) ;;
    *)
        echo "profile.sh: unknown workload '$workload' (a bench workload, sweep-raft, or sweep:FILE[:SEEDS])" >&2
        exit 2 ;;
esac

cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/faultline"
mkdir -p "$out"
if [[ "${args[0]}" == sweep ]]; then
    args+=(--out "$out/$name-sweep")
fi

# Groups a callgrind_annotate listing by function: inlined code is listed
# once per source file it came from, and this adds those rows back up.
by_function() {
    perl -ne '
        if (/^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+?):(.+?)(?: \[[^\]]*\])?\s*$/) {
            my ($n, $f) = ($1, $3); $n =~ s/,//g; $f =~ s/ \(\d[\d,]*x\)$//; $t{$f} += $n;
        } elsif (/^\s*([\d,]+)\s+\(\s*100\.0%\)\s+PROGRAM TOTALS/) { ($total = $1) =~ s/,//g; }
        END {
            my @k = sort { $t{$b} <=> $t{$a} } keys %t;
            for my $f (@k[0 .. ($ENV{TOP} - 1 < $#k ? $ENV{TOP} - 1 : $#k)]) {
                printf "%14s %6.2f%%  %s\n", commify($t{$f}), 100 * $t{$f} / ($total || 1), substr($f, 0, 150);
            }
            sub commify { my $x = reverse shift; $x =~ s/(\d{3})(?=\d)/$1,/g; return scalar reverse $x }
        }'
}

case "$tool" in
    callgrind)
        file="$out/$name.callgrind"
        echo "== $name: valgrind --tool=callgrind $bin ${args[*]}"
        valgrind --tool=callgrind --callgrind-out-file="$file" "$bin" "${args[@]}" 2>"$out/$name.valgrind.log" |
            tail -n 1
        total=$(grep -m1 -oP '^summary: \K\d+' "$file" || grep -oP 'Collected : \K\d+' "$out/$name.valgrind.log")
        printf '== instructions: %s\n' "$(echo "$total" | rev | sed 's/\([0-9]\{3\}\)/\1,/g; s/,$//' | rev)"
        echo "== top $top by own instructions (inlined code counted in its caller)"
        callgrind_annotate "$file" 2>/dev/null | TOP="$top" by_function
        echo "== top $top by inclusive instructions (a function's code from each source file it inlines is a row)"
        callgrind_annotate --inclusive=yes "$file" 2>/dev/null |
            grep -E '^\s*[0-9,]+ \(.*faultline::' |
            grep -vE 'lang_start|backtrace|faultline::main|cli::|runner::|bench::run_|AnyProtocol' |
            head -n "$top" | sed -E 's/ \[[^]]*\]$//' | cut -c1-200
        echo "== kept: $file"
        ;;
    perf)
        file="$out/$name.perf.data"
        echo "== $name: perf record $bin ${args[*]}"
        perf record -F 2000 -o "$file" "$bin" "${args[@]}" 2>"$out/$name.perf.log" | tail -n 1
        echo "== top $top by samples (own time, inlined code counted in its caller)"
        perf report -i "$file" --no-children --stdio 2>/dev/null | grep -vE '^#|^$' | head -n "$top"
        echo "== kept: $file"
        ;;
esac
