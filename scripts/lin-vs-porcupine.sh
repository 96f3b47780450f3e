#!/usr/bin/env bash
# Checks faultline-format histories (JSON Lines, DESIGN.md §4) with Porcupine
# (github.com/anishathalye/porcupine), for side-by-side timings with
# `faultline check`.
#
#   scripts/lin-vs-porcupine.sh PORCUPINE_CHECKOUT FILE.jsonl...
#
# Needs Go (1.19 is enough) and a Porcupine checkout; nothing is downloaded.
# The harness reads the file with faultline's semantics: failed ops are
# dropped, an open (info or never completed) read is dropped, an open write
# or cas may take effect at any point after its invoke or never (return at
# +infinity, any outcome), and a file with keys is partitioned by key, as
# `faultline check` does (Porcupine's P-compositionality). Porcupine checks
# partitions in parallel goroutines (faultline uses one thread).
#
# Prints one line per file: name, verdict (linearizable, not linearizable,
# unknown), seconds reading and parsing, seconds checking. Timeout per file:
# $TIMEOUT seconds (default 60).
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 PORCUPINE_CHECKOUT FILE.jsonl..." >&2
    exit 2
fi
porcupine=$(cd "$1" && pwd)
shift
timeout_s=${TIMEOUT:-60}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/go.mod" <<EOF
module linbench

go 1.19

require github.com/anishathalye/porcupine v0.0.0
replace github.com/anishathalye/porcupine => $porcupine
EOF
cat >"$work/main.go" <<'EOF'
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/anishathalye/porcupine"
)

type line struct {
	Process uint64          `json:"process"`
	Type    string          `json:"type"`
	F       string          `json:"f"`
	Key     *string         `json:"key"`
	Value   json.RawMessage `json:"value"`
}

type input struct {
	f, arg1, arg2 string // arguments as canonical value text ("null" = absent)
}

type output struct {
	value   string // a read's result
	unknown bool   // an open op: any outcome
}

// canon renders a JSON value as text that is equal iff the values are.
func canon(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v interface{}
	if err := d.Decode(&v); err != nil {
		panic(err)
	}
	switch x := v.(type) {
	case nil:
		return "null"
	case json.Number:
		return x.String()
	case string:
		return strconv.Quote(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func step(state, in, out interface{}) (bool, interface{}) {
	s, i, o := state.(string), in.(input), out.(output)
	switch i.f {
	case "read":
		return o.unknown || o.value == s, s
	case "write":
		return true, i.arg1
	case "cas":
		if s == i.arg1 {
			return true, i.arg2
		}
		return o.unknown, s
	case "append":
		a, _ := strconv.Unquote(i.arg1)
		switch {
		case s == "null":
			return true, strconv.Quote(a)
		case len(s) > 0 && s[0] == '"':
			b, _ := strconv.Unquote(s)
			return true, strconv.Quote(b + a)
		default:
			return o.unknown, s
		}
	}
	panic("unknown f " + i.f)
}

func main() {
	timeout, _ := strconv.Atoi(os.Args[1])
	path := os.Args[2]
	start := time.Now()
	file, err := os.Open(path)
	if err != nil {
		panic(err)
	}
	scanner := bufio.NewScanner(file)
	scanner.Buffer(make([]byte, 1<<20), 1<<30)
	type pending struct {
		at  int
		key string
		in  input
	}
	inFlight := map[uint64]pending{}
	var ops []porcupine.Operation
	keys := []string{}
	keyOf := map[string]int{}
	partOf := []int{}
	add := func(key string, op porcupine.Operation) {
		k, ok := keyOf[key]
		if !ok {
			k = len(keys)
			keyOf[key] = k
			keys = append(keys, key)
		}
		ops = append(ops, op)
		partOf = append(partOf, k)
	}
	n := 0
	for scanner.Scan() {
		n++
		if len(bytes.TrimSpace(scanner.Bytes())) == 0 {
			continue
		}
		var l line
		if err := json.Unmarshal(scanner.Bytes(), &l); err != nil {
			panic(fmt.Sprintf("line %d: %v", n, err))
		}
		key := ""
		if l.Key != nil {
			key = *l.Key
		}
		if l.Type == "invoke" {
			in := input{f: l.F}
			switch l.F {
			case "write", "append":
				in.arg1 = canon(l.Value)
			case "cas":
				var pair []json.RawMessage
				if err := json.Unmarshal(l.Value, &pair); err != nil {
					panic(err)
				}
				in.arg1, in.arg2 = canon(pair[0]), canon(pair[1])
			}
			inFlight[l.Process] = pending{n, key, in}
			continue
		}
		p := inFlight[l.Process]
		delete(inFlight, l.Process)
		switch l.Type {
		case "fail":
		case "info":
			if p.in.f != "read" {
				add(p.key, porcupine.Operation{ClientId: int(l.Process), Input: p.in, Call: int64(p.at),
					Output: output{unknown: true}, Return: math.MaxInt64})
			}
		case "ok":
			add(p.key, porcupine.Operation{ClientId: int(l.Process), Input: p.in, Call: int64(p.at),
				Output: output{value: canon(l.Value)}, Return: int64(n)})
		}
	}
	for proc, p := range inFlight { // never completed: open
		if p.in.f != "read" {
			add(p.key, porcupine.Operation{ClientId: int(proc), Input: p.in, Call: int64(p.at),
				Output: output{unknown: true}, Return: math.MaxInt64})
		}
	}
	parsed := time.Now()
	model := porcupine.Model{
		Init:  func() interface{} { return "null" },
		Step:  step,
		Equal: func(a, b interface{}) bool { return a.(string) == b.(string) },
		Hash: func(s interface{}) uint64 {
			h := fnv.New64a()
			h.Write([]byte(s.(string)))
			return h.Sum64()
		},
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			parts := make([][]porcupine.Operation, len(keys))
			for i, op := range history {
				parts[partOf[i]] = append(parts[partOf[i]], op)
			}
			return parts
		},
	}
	res := porcupine.CheckOperationsTimeout(model, ops, time.Duration(timeout)*time.Second)
	checked := time.Now()
	verdict := map[porcupine.CheckResult]string{porcupine.Ok: "linearizable", porcupine.Illegal: "not linearizable",
		porcupine.Unknown: "unknown"}[res]
	fmt.Printf("%s\t%s\t%.2f\t%.2f\n", path, verdict, parsed.Sub(start).Seconds(), checked.Sub(parsed).Seconds())
}
EOF
(cd "$work" && GOFLAGS=-mod=mod GOPROXY=off go build -o linbench . )
for f in "$@"; do
    "$work/linbench" "$timeout_s" "$f"
done
