//! The liveness phase (`liveness.after`, `within`, `core`), as TigerBeetle's
//! VOPR has it: at `after` faults stop, a core of nodes heals (its crashed
//! nodes restart, paused ones resume, the links among them heal), faults
//! outside it stay for good, and the protocol must make progress within
//! `within`. A run with faults that never heal still gets a verdict, and a
//! failure names the faults that stayed.

use faultline::check::Verdict;
use faultline::runner::{Overrides, Prepared};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;

/// Tickets (node 0 sequences, 1 and 2 request) with `faults` and `liveness`.
fn run(faults: &str, liveness: &str) -> (Verdict, faultline::RunResult) {
    let text = format!(
        r#"{{ "name": "t", "protocol": "tickets", "nodes": 3, "duration": "10s",
             "network": {{ "latency": {{ "dist": "constant", "value": "2ms" }} }},
             "liveness": {liveness}, "faults": {faults} }}"#
    );
    let scenario = Scenario::parse(&text, "t.json").unwrap_or_else(|e| panic!("{e}"));
    let protocols = faultline::protocols::builtin();
    let prepared = Prepared::new(scenario, "t.json", &protocols, &Overrides::default()).unwrap();
    let result = prepared.run(0, TraceSink::Off, false).unwrap().result;
    let verdict = result.checks.iter().find(|(n, _)| n == "liveness").expect("liveness runs").1.clone();
    (verdict, result)
}

const SEQUENCER_CRASHES: &str = r#"[{ "at": "2s", "crash": 0 }]"#;

#[test]
fn a_fault_that_never_heals_gets_a_verdict_in_a_phase() {
    // Without a phase, a crash that is never undone leaves nothing to judge.
    let (v, _) = run(SEQUENCER_CRASHES, r#"{ "within_after_heal": "2s" }"#);
    assert_eq!(v, Verdict::Unknown("faults never healed".into()));
    // A core with the sequencer restarts it: progress resumes.
    let (v, r) = run(SEQUENCER_CRASHES, r#"{ "after": "4s", "within": "2s", "core": "all" }"#);
    assert_eq!(v, Verdict::Pass);
    assert!(r.faults.iter().any(|w| w.kind == "crash" && w.end_ns == Some(4_000_000_000)), "{:?}", r.faults);
}

#[test]
fn a_core_without_the_needed_node_fails_and_names_what_stayed() {
    let (v, _) = run(SEQUENCER_CRASHES, r#"{ "after": "4s", "within": "2s", "core": [1, 2] }"#);
    let Verdict::Fail(why) = v else { panic!("expected a failure, got {v:?}") };
    assert!(why.contains("after the liveness phase began at 4s"), "{why}");
    assert!(why.contains("faults that stayed outside the core: crash n0"), "{why}");
}

#[test]
fn no_fault_starts_or_ends_in_the_phase() {
    let faults = r#"[{ "at": "1s", "partition": [[0], [1, 2]], "for": "8s" }, { "at": "6s", "crash": 1 }]"#;
    let (v, r) = run(faults, r#"{ "after": "3s", "within": "2s", "core": "all" }"#);
    assert_eq!(v, Verdict::Pass, "the core heals the partition at 3s");
    assert!(r.faults.iter().all(|w| w.kind != "crash"), "the crash at 6s never happens: {:?}", r.faults);
    let partition = r.faults.iter().find(|w| w.kind == "partition").unwrap();
    assert_eq!(partition.end_ns, Some(3_000_000_000));
}

#[test]
fn a_majority_core_is_drawn_from_the_seed_and_bad_fields_name_their_path() {
    let (_, r) = run("[]", r#"{ "after": "3s", "within": "2s" }"#);
    assert!(r.violation.is_none());
    for (liveness, path) in [
        (r#"{ "after": "3s" }"#, "liveness.within"),
        (r#"{ "within": "3s" }"#, "liveness.after"),
        (r#"{ "after": "30s", "within": "1s" }"#, "liveness.after"),
        (r#"{ "after": "3s", "within": "1s", "core": [7] }"#, "liveness.core[0]"),
        (r#"{ "after": "3s", "within": "1s", "core": "most" }"#, "liveness.core"),
        (r#"{ }"#, "liveness"),
    ] {
        let text = format!(
            r#"{{ "name": "t", "protocol": "tickets", "nodes": 3, "duration": "10s", "liveness": {liveness} }}"#
        );
        let e = Scenario::parse(&text, "t.json").and_then(|s| s.resolve("t.json", 0).map(|_| ())).unwrap_err();
        assert_eq!(e.path, path, "{liveness}: {e}");
    }
}

/// Failing seeds of `0..n` of a shipped scenario.
fn failing(file: &str, n: u64) -> Vec<u64> {
    let path = format!("{}/scenarios/raft/{file}", env!("CARGO_MANIFEST_DIR"));
    let scenario = Scenario::load(std::path::Path::new(&path)).unwrap();
    let protocols = faultline::protocols::builtin();
    let p = Prepared::new(scenario, &path, &protocols, &Overrides::default()).unwrap();
    (0..n)
        .filter(|&seed| {
            let r = p.run(seed, TraceSink::Off, false).unwrap().result;
            faultline::runner::outcome(&r) == faultline::runner::Outcome::Failed
        })
        .collect()
}

#[test]
fn the_phase_finds_the_deaf_node_livelock_and_pre_vote_fixes_it() {
    // 12 of seeds 0..200 fail, the first at seed 3 (scripts/sweep-raft-bugs.sh has the long range).
    let off = failing("liveness-deaf-node.json", 40);
    assert!(!off.is_empty(), "a deaf node outside the core keeps deposing leaders");
    assert_eq!(failing("liveness-deaf-node-prevote.json", 40), Vec::<u64>::new());
}
