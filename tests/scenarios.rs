//! Scenario files: bad input gets a one-line error naming the file, the field
//! and what was expected; every shipped scenario is deterministic (run twice,
//! same trace hash) and matches its golden hash in `tests/golden/`.
//! Rewrite the golden file with `UPDATE_GOLDEN=1 cargo test --release`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use faultline::protocols::builtin;
use faultline::runner::{Overrides, Prepared};
use faultline::scenario::Scenario;
use faultline::sim::trace::{hash_hex, TraceSink};

const GOOD: &str = r#"{
  "name": "t", "protocol": "tickets", "nodes": 3, "duration": "1s",
  "network": { "latency": { "dist": "uniform", "min": "1ms", "max": "5ms" }, "loss": 0.1 },
  "faults": [ { "at": "100ms", "crash": 0, "restart_after": "50ms" } ]
}"#;

/// Parses and prepares `text` as `bad.json`; returns the error line, or "ok".
fn check(text: &str) -> String {
    match Scenario::parse(text, "bad.json")
        .and_then(|s| Prepared::new(s, "bad.json", &builtin(), &Overrides::default()))
    {
        Ok(_) => "ok".to_string(),
        Err(e) => e.to_string(),
    }
}

/// `GOOD` with `from` replaced by `to` (which must occur).
fn edit(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "test bug: {from} not in GOOD");
    GOOD.replacen(from, to, 1)
}

#[test]
fn a_good_scenario_is_accepted() {
    assert_eq!(check(GOOD), "ok");
}

#[test]
fn bad_scenarios_name_file_field_and_expectation() {
    let cases = [
        (edit(r#""nodes": 3, "#, ""), "bad.json: missing field `nodes`"),
        (
            edit(r#""nodes": 3"#, r#""nodes": "three""#),
            "bad.json: field `nodes`: invalid type: string \"three\", expected usize",
        ),
        (
            edit(r#""nodes": 3"#, r#""nodes": 3, "colour": "red""#),
            "bad.json: field `colour`: unknown field `colour`, expected one of `name`",
        ),
        (
            edit(r#""loss": 0.1"#, r#""loss": 1.5"#),
            "bad.json: field `network.loss`: expected a probability in [0, 1], got 1.5",
        ),
        (
            edit(r#""crash": 0"#, r#""crash": 7"#),
            "bad.json: field `faults[0].crash`: expected a node id in 0..3, got 7",
        ),
        (edit(r#""tickets""#, r#""zab""#), "bad.json: field `protocol`: expected one of tickets"),
        (
            edit(r#""duration": "1s""#, r#""duration": "1 fortnight""#),
            "bad.json: field `duration`: expected a duration like \"150ms\" or \"2s\", got \"1 fortnight\"",
        ),
        (
            edit(r#""dist": "uniform""#, r#""dist": "pareto""#),
            "bad.json: field `network.latency.dist`: unknown variant `pareto`, expected one of `constant`",
        ),
        (edit(r#""max": "5ms""#, r#""max": "5ms", "mean": "2ms""#), "bad.json: field `network.latency"),
        (
            edit(r#""min": "1ms", "max": "5ms""#, r#""min": "9ms", "max": "5ms""#),
            "bad.json: field `network.latency.max`: expected max >= min",
        ),
        (
            edit(r#""crash": 0, "restart_after": "50ms""#, r#""crash": 0, "pause": 1"#),
            "bad.json: field `faults[0]`: expected exactly one of",
        ),
        (edit(r#"{ "at": "100ms", "#, "{ "), "bad.json: field `faults[0].at`: missing field"),
        // Reproducers of crashes found by fuzzing: each is now a one-line error.
        (
            edit(r#""nodes": 3"#, r#""nodes": 18446744073709551615"#),
            "bad.json: field `nodes`: expected a node count in 1..=1024, got 18446744073709551615",
        ),
        (
            edit(
                r#""nodes": 3"#,
                r#""nodes": 9223372036854775807, "faults": [{ "at": "1s", "partition": [[9223372036854775806]] }]"#,
            )
            .replacen(
                r#""faults": [ { "at": "100ms", "crash": 0, "restart_after": "50ms" } ]"#,
                r#""seed": 0"#,
                1,
            ),
            "bad.json: field `nodes`: expected a node count in 1..=1024",
        ),
        (
            edit(r#""nodes": 3"#, r#""nodes": 3, "workload": { "clients": 1, "rate": 10, "keys": 4294967296 }"#),
            "bad.json: field `workload.keys`: expected a key count in 1..=1000000, got 4294967296",
        ),
        (
            edit(
                r#""nodes": 3"#,
                r#""nodes": 3, "workload": { "clients": 1, "rate": 10, "mix": { "read": 1e300, "write": 1e300 } }"#,
            ),
            "bad.json: field `workload.mix.read`: expected a weight in [0, 1000000], got 1e300",
        ),
        (
            edit(r#""name": "t""#, r#""name": "..""#),
            "bad.json: field `name`: expected a non-empty name without slashes",
        ),
        (
            edit(r#""at": "100ms""#, r#""at": "2s""#),
            "bad.json: field `faults[0].at`: expected a time within the run's duration (1s), got 2s",
        ),
        (
            edit(r#""nodes": 3"#, r#""nodes": 1"#),
            "bad.json: field `nodes`: expected at least 2 nodes for protocol tickets",
        ),
        (edit(r#""nodes": 3"#, r#""nodes": 3, "options": { "x": 1 }"#), "bad.json: field `options"),
        (
            edit(r#""nodes": 3"#, r#""nodes": 3, "checks": ["unique"]"#),
            "bad.json: field `checks[0]`: expected a check of tickets",
        ),
        (
            edit(r#""name": "t""#, r#""name": "t", "bugs": ["typo"]"#),
            "bad.json: field `bugs[0]`: expected a bug of tickets (reply-before-sync), got \"typo\"",
        ),
        (
            edit(r#""name": "t""#, r#""name": "t", "checks": ["safety"]"#),
            "bad.json: field `checks[0]`: expected a check of tickets (unique-tickets, liveness)",
        ),
        (edit(r#""nodes": 3"#, r#""nodes": 0"#), "bad.json: field `nodes`: expected a node count in 1..=1024, got 0"),
        ("{ \"name\": ".to_string(), "bad.json: invalid JSON: EOF while parsing"),
        (format!("{GOOD} {{}}"), "bad.json: invalid JSON: trailing characters"),
    ];
    let mut wrong = Vec::new();
    for (text, want) in cases {
        let got = check(&text);
        if !got.starts_with(want) || got.lines().count() != 1 {
            wrong.push(format!(" got: {got}\nwant: {want}..."));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).expect("scenarios dir").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            scenario_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

#[test]
fn every_scenario_is_deterministic_and_matches_its_golden_hash() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    scenario_files(&root.join("scenarios"), &mut files);
    assert!(!files.is_empty());
    let mut hashes = BTreeMap::new();
    let protocols = builtin();
    for path in &files {
        let name = path.strip_prefix(&root).expect("under root").display().to_string();
        let scenario = Scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
        let seed = scenario.seed;
        let p = Prepared::new(scenario, &name, &protocols, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(!p.scenario.description.is_empty(), "{name}: every shipped scenario says what it shows");
        let a = p.run(seed, TraceSink::Off, false).expect("run").result;
        let b = p.run(seed, TraceSink::Off, false).expect("run").result;
        assert_eq!(hash_hex(a.trace_hash), hash_hex(b.trace_hash), "{name}: same seed, different trace");
        assert_eq!(a.events, b.events);
        hashes.insert(name, hash_hex(a.trace_hash));
    }
    let golden_path = root.join("tests/golden/trace-hashes.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden_path, serde_json::to_string_pretty(&hashes).expect("json") + "\n")
            .expect("write golden");
        return;
    }
    let golden: BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(&golden_path)
            .expect("tests/golden/trace-hashes.json (create it with UPDATE_GOLDEN=1)"),
    )
    .expect("golden json");
    assert_eq!(
        hashes, golden,
        "trace hashes changed: if the change is intended, rerun with UPDATE_GOLDEN=1 and commit tests/golden/trace-hashes.json"
    );
}
