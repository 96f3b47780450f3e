//! Raft end to end: scenarios from `scenarios/raft/` run through the same
//! runner the CLI uses. Each test is data for the one `check` helper: a
//! scenario, a seed range, bugs on or off, and what must come out.
//! Seed ranges are small so the file stays fast; `scripts/sweep-raft-bugs.sh`
//! runs the wide sweeps.

use std::path::Path;

use faultline::check::lin::{check as check_lin, parse_history, Model, Verdict as LinVerdict};
use faultline::protocols::raft::kv::Kv;
use faultline::protocols::raft::msg::{Command, Entry};
use faultline::runner::{Overrides, Prepared};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;
use faultline::workload::{KvOp, Response};
use faultline::Verdict;

mod common;
use common::seeds::{check, failing_check, load, Expect};

fn prepare(file: &str, no_bugs: bool) -> Prepared<'static> {
    common::seeds::prepare(load(file), file, no_bugs)
}

#[test]
fn calm_passes_every_check() {
    check("scenarios/raft/calm.json", 0..3, false, Expect::Clean);
    let run = prepare("scenarios/raft/calm.json", false).run(0, TraceSink::Off, false).unwrap();
    let names: Vec<&str> = run.result.checks.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "election-safety",
            "log-matching",
            "leader-completeness",
            "state-machine-safety",
            "linearizability",
            "liveness"
        ]
    );
    assert!(run.result.checks.iter().all(|(_, v)| *v == Verdict::Pass), "{:?}", run.result.checks);
    assert!(run.ops > 500, "a calm run completes most ops, got {}", run.ops);
    let history = run.history_jsonl().expect("raft records a history");
    let parsed = parse_history(&history).expect("the history parses");
    assert!(parsed.len() as u64 >= run.ops);
    assert!(history.lines().next().unwrap().contains("\"time\":"), "history lines carry times");
}

#[test]
fn fault_scenarios_pass() {
    for s in [
        "lossy",
        "leader-isolation",
        "partitions",
        "one-way",
        "crash-restart",
        "pause-leader",
        "clock-skew",
        "torn-writes",
    ] {
        check(&format!("scenarios/raft/{s}.json"), 0..3, false, Expect::Clean);
    }
}

#[test]
fn planted_bugs_are_caught_and_the_correct_raft_is_clean() {
    let bugs = [
        ("commit-previous-term", "state-machine-safety"),
        ("forget-vote", "election-safety"),
        ("stale-local-read", "linearizability"),
        ("skip-prev-log-check", "log-matching"),
        ("no-dedup", "linearizability"),
        ("no-log-checksum", "log-matching"),
    ];
    for (bug, check_name) in bugs {
        let file = format!("scenarios/raft/bug-{bug}.json");
        check(&file, 0..20, false, Expect::Caught(check_name));
        // The correct protocol passes the same scenario, on the same seeds.
        check(&file, 0..20, true, Expect::Clean);
    }
}

#[test]
fn the_history_file_reproduces_the_verdict() {
    let file = "scenarios/raft/bug-no-dedup.json";
    let seed = check(file, 0..20, false, Expect::Caught("linearizability"));
    let run = prepare(file, false).run(seed, TraceSink::Off, false).unwrap();
    let history = parse_history(run.history_jsonl().as_deref().unwrap()).expect("the history parses");
    assert!(matches!(check_lin(&history, Model::Kv, None), LinVerdict::NotLinearizable(_)));
    let clean = prepare(file, true).run(seed, TraceSink::Off, false).unwrap();
    let history = parse_history(clean.history_jsonl().as_deref().unwrap()).expect("the history parses");
    assert_eq!(check_lin(&history, Model::Kv, None), LinVerdict::Linearizable);
}

#[test]
fn same_seed_same_trace() {
    for file in ["scenarios/raft/calm.json", "scenarios/raft/crash-restart.json"] {
        let prepared = prepare(file, false);
        let a = prepared.run(7, TraceSink::Off, false).unwrap();
        let b = prepared.run(7, TraceSink::Off, false).unwrap();
        assert_eq!(a.result.trace_hash, b.result.trace_hash, "{file}");
        assert_eq!(a.history_jsonl(), b.history_jsonl(), "{file}");
        let c = prepared.run(8, TraceSink::Off, false).unwrap();
        assert_ne!(a.result.trace_hash, c.result.trace_hash, "{file}: another seed, another run");
    }
}

#[test]
fn a_retried_write_applies_once() {
    let write = |client, seq, value| Command { client, seq, op: KvOp::Write { key: 0, value } };
    let read = |client, seq| Command { client, seq, op: KvOp::Read { key: 0 } };
    for (dedup, expected) in [(true, Some(20)), (false, Some(10))] {
        let mut kv = Kv::default();
        assert_eq!(kv.apply(&write(5, 1, 10), dedup), Response::Ok(None));
        assert_eq!(kv.apply(&write(6, 1, 20), dedup), Response::Ok(None));
        // Client 5 timed out and retried request 1 on another node; it is committed again.
        assert_eq!(kv.apply(&write(5, 1, 10), dedup), Response::Ok(None));
        assert_eq!(kv.apply(&read(7, 1), dedup), Response::Ok(expected), "dedup={dedup}");
    }
}

#[test]
fn entries_round_trip_through_their_disk_form() {
    for op in [
        KvOp::Read { key: 3 },
        KvOp::Write { key: 1, value: -7 },
        KvOp::Cas { key: 2, old: None, new: 9 },
        KvOp::Cas { key: 2, old: Some(0), new: 10 },
    ] {
        let e = Entry { term: 5, cmd: Command { client: 6, seq: 42, op } };
        assert_eq!(Entry::decode(&e.encode()), Some(e.clone()));
        assert_eq!(Entry::decode(&e.encode()[..20]), None);
    }
}

/// Runs calm.json with its `liveness` and `faults` lines replaced.
fn liveness_verdict(liveness: &str, faults: &str) -> Verdict {
    let base = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/raft/calm.json")).unwrap();
    let text = base.replace(
        r#""liveness": { "within_after_heal": "5s" },"#,
        &format!(r#""liveness": {{ "within_after_heal": "{liveness}" }}, "faults": {faults},"#),
    );
    assert_ne!(text, base);
    let scenario = Scenario::parse(&text, "calm.json").unwrap();
    let protocols = faultline::protocols::builtin();
    let prepared = Prepared::new(scenario, "calm.json", &protocols, &Overrides::default()).unwrap();
    let run = prepared.run(1, TraceSink::Off, false).unwrap();
    run.result.checks.into_iter().find(|(n, _)| n == "liveness").expect("liveness runs").1
}

#[test]
fn liveness_passes_fails_and_says_unknown() {
    let cut = r#"[{ "at": "5s", "partition": [[0, 1], [2, 3, 4]], "for": "1s" }]"#;
    assert_eq!(liveness_verdict("5s", cut), Verdict::Pass);
    // No op completes within a microsecond of the heal: the check must be able to fail.
    assert!(matches!(liveness_verdict("1us", cut), Verdict::Fail(_)));
    let forever = r#"[{ "at": "5s", "partition": [[0, 1], [2, 3, 4]] }]"#;
    assert_eq!(liveness_verdict("5s", forever), Verdict::Unknown("faults never healed".to_string()));
}

#[test]
fn bad_options_name_their_field() {
    let base = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/raft/calm.json")).unwrap();
    for (options, path) in [
        (r#"{ "heartbeat": "fast" }"#, "options.heartbeat"),
        (r#"{ "election_timeout": ["300ms", "150ms"] }"#, "options.election_timeout"),
        (r#"{ "pre_vote": 1 }"#, "options.pre_vote"),
        (r#"{ "heartbeat": "400ms" }"#, "options.heartbeat"),
        (r#"5"#, "options"),
        (r#"{ "leases": true }"#, "options.leases"),
    ] {
        let text = base.replace(
            r#""options": { "election_timeout": ["150ms", "300ms"], "heartbeat": "50ms" }"#,
            &format!("\"options\": {options}"),
        );
        assert_ne!(text, base);
        let scenario = Scenario::parse(&text, "calm.json").unwrap();
        let protocols = faultline::protocols::builtin();
        // Options are resolved with the scenario, before any run (so `validate` sees them too).
        let err = Prepared::new(scenario, "calm.json", &protocols, &Overrides::default())
            .err()
            .expect("bad options are an error");
        assert_eq!(err.path, path, "{err}");
    }
}

#[test]
fn leader_completeness_catches_a_leader_elected_without_a_committed_entry() {
    // The Figure 8 scenario with only leader-completeness selected: when the
    // buggy commit lets a node without the entry win an election, this check
    // fires at the election, before any state machine diverges.
    let file = "scenarios/raft/bug-commit-previous-term.json";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let mut scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    scenario.checks = Some(vec!["leader-completeness".to_string()]);
    let protocols = faultline::protocols::builtin();
    for (no_bugs, want_failure) in [(false, true), (true, false)] {
        let prepared = Prepared::new(scenario.clone(), file, &protocols, &Overrides { no_bugs, ..Default::default() })
            .unwrap_or_else(|e| panic!("{e}"));
        let failures = (0..40)
            .filter(|&seed| {
                let run = prepared.run(seed, TraceSink::Off, false).expect("scenario runs");
                failing_check(&run) == Some("leader-completeness")
            })
            .count();
        assert_eq!(failures > 0, want_failure, "no_bugs={no_bugs}: {failures} of 40 seeds failed leader-completeness");
    }
}
