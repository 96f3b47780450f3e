//! Two-phase commit end to end: scenarios from `scenarios/twopc/` run
//! through the same runner the CLI uses, hand-fed observations that the
//! checks must accept or reject, hand-written histories for the bank
//! model, and the blocking report. Each scenario test is data for the one
//! `check` helper: a scenario, a seed range, bugs on or off, and what must
//! come out. Seed ranges are small so the file stays fast;
//! `scripts/sweep-twopc-bugs.sh` runs the wide sweeps.

use std::path::Path;

use faultline::check::{Invariant, Reporter, RunEnd};
use faultline::nemesis::FaultLog;
use faultline::protocols::twopc::model::{self, Bank};
use faultline::protocols::twopc::report::{Blocking, IN_DOUBT_COLOR, PREPARED_COLOR};
use faultline::protocols::twopc::{invariants, Bugs, Config, NoReason, Obs, Options, Parts, TxId};
use faultline::runner::{outcome, Outcome, Overrides, Prepared, ProtocolRun};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;
use faultline::Verdict;

mod common;
use common::seeds::{check, check_with, load, prepare, Expect};

const SCENARIOS: [&str; 11] = [
    "calm",
    "lossy",
    "coordinator-crash-before-prepare",
    "coordinator-crash-after-votes",
    "coordinator-crash-after-decision",
    "coordinator-crash-during-commit",
    "participant-crash-restart",
    "partitions",
    "pauses",
    "chaos",
    "cooperative",
];

#[test]
fn calm_runs_every_check_and_commits() {
    let file = "scenarios/twopc/calm.json";
    let run = prepare(load(file), file, false).run(0, TraceSink::Off, true).unwrap();
    let names: Vec<&str> = run.result.checks.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["atomicity", "agreement-with-client", "isolation", "conservation", "termination", "bank-history", "liveness"]
    );
    assert!(run.result.checks.iter().all(|(_, v)| *v == Verdict::Pass), "{:?}", run.result.checks);
    assert!(run.ops > 800, "four clients at 80 ops/s for 20 s complete most, got {}", run.ops);
    let stats = &run.result.extras.stats;
    assert!(stats["txs_committed"].as_u64().unwrap() > 800, "{stats:?}");
    assert_eq!(stats["in_doubt_count"], 0, "nothing fails, so nothing is in doubt: {stats:?}");
    let history = run.history_jsonl().expect("clients record a history");
    assert!(history.contains(r#""f":"transfer""#) && history.contains(r#""f":"read-balances""#));
    let ops = model::parse_jsonl(&history).expect("the history parses back");
    assert_eq!(model::check(&ops, &Bank { account_count: 32, initial_balance: 100 }, model::STEPS_MAX), Verdict::Pass);
}

#[test]
fn fault_scenarios_are_clean() {
    for s in SCENARIOS {
        check(&format!("scenarios/twopc/{s}.json"), 0..3, false, Expect::Clean);
    }
}

#[test]
fn every_scenario_replays_its_trace_hash() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/twopc");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    assert_eq!(files.len(), SCENARIOS.len() + BUGS.len(), "{files:?}");
    for path in files {
        let file = path.to_str().unwrap();
        let prepared = prepare(Scenario::load(&path).unwrap(), file, false);
        let a = prepared.run(1, TraceSink::Off, false).unwrap().result.trace_hash;
        let b = prepared.run(1, TraceSink::Off, false).unwrap().result.trace_hash;
        assert_eq!(a, b, "{file}: the same seed gave two trace hashes");
    }
}

/// Each bug's scenario and the check it shows.
const BUGS: [(&str, &str); 5] = [
    ("unlogged-prepare", "atomicity"),
    ("decide-before-log", "atomicity"),
    ("presume-commit-on-timeout", "atomicity"),
    ("early-lock-release", "isolation"),
    ("no-recovery", "atomicity"),
];

#[test]
fn planted_bugs_are_caught_and_the_correct_protocol_is_clean() {
    for (bug, check_name) in BUGS {
        let file = format!("scenarios/twopc/bug-{bug}.json");
        let seed = check(&file, 0..10, false, Expect::Caught(check_name));
        // The correct protocol passes the same scenario, on seeds up to the failing one.
        check(&file, 0..seed + 1, true, Expect::Clean);
    }
}

#[test]
fn other_checks_catch_the_bugs_too() {
    let cases: [(&str, &[&str], &str); 7] = [
        ("early-lock-release", &["conservation"], "conservation"),
        ("early-lock-release", &["bank-history"], "bank-history"),
        ("unlogged-prepare", &["agreement-with-client"], "agreement-with-client"),
        ("unlogged-prepare", &["conservation"], "conservation"),
        ("no-recovery", &["termination"], "termination"),
        ("presume-commit-on-timeout", &["agreement-with-client"], "agreement-with-client"),
        ("decide-before-log", &["conservation"], "conservation"),
    ];
    for (bug, checks, caught) in cases {
        let file = format!("scenarios/twopc/bug-{bug}.json");
        check_with(&file, Some(checks), 0..10, false, Expect::Caught(caught));
    }
}

/// The run of seed `seed` of `file`, observations recorded.
fn recorded(file: &str, seed: u64) -> ProtocolRun {
    prepare(load(file), file, false).run(seed, TraceSink::Off, true).unwrap()
}

#[test]
fn a_coordinator_crash_after_the_votes_blocks_participants_and_the_report_shows_it() {
    let file = "scenarios/twopc/coordinator-crash-after-votes.json";
    for seed in 0..2 {
        let run = recorded(file, seed);
        assert_eq!(outcome(&run.result), Outcome::Clean, "{:?}", run.result.checks);
        let stats = &run.result.extras.stats;
        let count = stats["in_doubt_count"].as_u64().unwrap();
        let (p99, max) = (stats["in_doubt_ms_p99"].as_f64().unwrap(), stats["in_doubt_ms_max"].as_f64().unwrap());
        assert!(count >= 4, "seed {seed}: four crashes leave participants in doubt: {stats:?}");
        assert!(p99 <= max && max > 500.0 && max < 1_500.0, "blocked for about the 1 s crash: {stats:?}");
        let [chart] = &run.result.extras.charts[..] else { panic!("one chart: {:?}", run.result.extras.charts) };
        assert_eq!((chart.name.as_str(), &chart.shade[..]), ("in-doubt", &[0][..]));
        assert_eq!(chart.lanes.len(), 4, "one lane per participant");
        // Every long in-doubt span overlaps a coordinator crash window.
        let crashes: Vec<(u64, u64)> = run
            .result
            .faults
            .iter()
            .filter(|w| w.kind == "crash" && w.nodes == [0])
            .map(|w| (w.start_ns, w.end_ns.unwrap()))
            .collect();
        assert_eq!(crashes.len(), 4);
        let long: Vec<_> = chart
            .lanes
            .iter()
            .flat_map(|l| &l.spans)
            .filter(|s| s.color == IN_DOUBT_COLOR && s.end_ns - s.start_ns > 300_000_000)
            .collect();
        assert!(!long.is_empty());
        for s in long {
            assert!(crashes.iter().any(|&(a, b)| s.start_ns < b && s.end_ns > a), "{s:?} outside {crashes:?}");
            assert!(s.label.starts_with('t'), "labelled by transaction: {s:?}");
        }
    }
}

#[test]
fn the_crash_scenarios_hit_their_phase() {
    // Before PREPARE: requests are lost, no participant is ever in doubt.
    let run = recorded("scenarios/twopc/coordinator-crash-before-prepare.json", 0);
    assert_eq!(run.result.extras.stats["in_doubt_count"], 0, "{:?}", run.result.extras.stats);
    // After the decision is logged: the restarted coordinator re-sends decisions.
    for file in ["coordinator-crash-after-decision", "coordinator-crash-during-commit"] {
        let run = recorded(&format!("scenarios/twopc/{file}.json"), 0);
        let resent = run
            .result
            .observations
            .iter()
            .filter(|o| o.text.starts_with("coordinator epoch") && !o.text.ends_with(" 0 re-sent"))
            .count();
        assert!(resent >= 3, "{file}: most restarts re-send logged decisions: {resent}");
    }
    // Cooperative termination: participants tell each other outcomes.
    let run = recorded("scenarios/twopc/cooperative.json", 0);
    assert!(run.result.observations.iter().any(|o| o.text.starts_with("told n")), "no participant helped another");
}

// ---- the checks, fed by hand

fn tx(epoch: u32, n: u32) -> TxId {
    TxId { epoch, n }
}

fn parts(ids: &[usize]) -> Parts {
    let mut p = Parts::default();
    ids.iter().for_each(|&i| p.insert(i));
    p
}

/// A bank of 2 participants with 2 accounts each (a0 a1 at n1, a2 a3 at n2), 10 in each.
fn config() -> Config {
    let scenario = Scenario::parse(
        r#"{ "name": "t", "protocol": "twopc", "nodes": 3, "duration": "1s",
             "options": { "accounts_per_participant": 2, "initial_balance": 10, "transfer_participants": [2, 2] } }"#,
        "t.json",
    )
    .unwrap();
    let options = Options { accounts_per_participant: 2, initial_balance: 10, ..Options::default() };
    Config::new(&options, &scenario, Bugs::default())
}

/// Feeds `(node, obs)` to `check`; returns the first error.
fn feed(check: &mut dyn Invariant<Obs>, reports: &[(usize, Obs)]) -> Result<(), String> {
    let faults = FaultLog::default();
    for (i, (node, obs)) in reports.iter().enumerate() {
        check.on_observe(i as u64 * 1_000_000, *node, obs, &faults)?;
    }
    Ok(())
}

fn committed(t: TxId, writes: &[(u32, i64)]) -> Obs {
    Obs::Committed { tx: t, writes: writes.to_vec(), presumed: false }
}

fn prepared(t: TxId, writes: &[(u32, i64)]) -> Obs {
    Obs::Prepared { tx: t, read: false, writes: writes.to_vec() }
}

#[test]
fn atomicity_fails_on_mixed_outcomes() {
    let t = tx(1, 0);
    let same = [(1, committed(t, &[(0, 7)])), (2, committed(t, &[(2, 13)])), (2, committed(t, &[(2, 13)]))];
    assert_eq!(feed(&mut invariants::Atomicity::default(), &same), Ok(()));
    let mixed = [(1, committed(t, &[(0, 7)])), (2, Obs::Aborted { tx: t })];
    assert_eq!(feed(&mut invariants::Atomicity::default(), &mixed), Err("n2 aborted t1.0, which n1 committed".into()));
    let flip = [(1, Obs::Aborted { tx: t }), (1, committed(t, &[(0, 7)]))];
    assert_eq!(
        feed(&mut invariants::Atomicity::default(), &flip),
        Err("n1 committed t1.0, which it had aborted before".into())
    );
}

#[test]
fn agreement_with_client_fails_when_the_client_was_told_otherwise() {
    let t = tx(1, 3);
    let began = (0, Obs::Began { tx: t, parts: parts(&[1, 2]), legs: vec![(0, -3), (2, 3)] });
    let told = |commit| (4, Obs::Told { tx: t, commit });
    let lied = [began.clone(), told(true), (1, Obs::Aborted { tx: t })];
    assert_eq!(
        feed(&mut invariants::AgreementWithClient::default(), &lied),
        Err("n1 aborted t1.3, but a client was told it committed".into())
    );
    let late = [began.clone(), (2, committed(t, &[(2, 13)])), told(false)];
    assert_eq!(
        feed(&mut invariants::AgreementWithClient::default(), &late),
        Err("a client was told aborted t1.3, which n2 committed".into())
    );
    // At the end: told committed, n1 committed, n2 neither committed nor prepared.
    let end_faults = FaultLog::default();
    let end = RunEnd { end_ns: 10, last_heal_ns: Some(0), converged_ns: None, completed: true, faults: &end_faults };
    let mut check = invariants::AgreementWithClient::default();
    feed(&mut check, &[began.clone(), told(true), (1, committed(t, &[(0, 7)]))]).unwrap();
    assert!(matches!(check.on_finish(&end), Verdict::Fail(m) if m.contains("n2 neither committed it")));
    // Still prepared at n2 (say, cut off at the end): that is termination's business.
    let mut check = invariants::AgreementWithClient::default();
    feed(&mut check, &[began, (2, prepared(t, &[(2, 13)])), told(true), (1, committed(t, &[(0, 7)]))]).unwrap();
    assert_eq!(check.on_finish(&end), Verdict::Pass);
}

#[test]
fn isolation_fails_on_two_prepared_transactions_locking_one_account() {
    let cfg = config();
    let (t1, t2) = (tx(1, 0), tx(1, 1));
    let after = [(1, prepared(t1, &[(0, 7)])), (1, committed(t1, &[(0, 7)])), (1, prepared(t2, &[(0, 5)]))];
    assert_eq!(feed(&mut invariants::Isolation::new(&cfg), &after), Ok(()));
    let overlap = [(1, prepared(t1, &[(0, 7)])), (1, prepared(t2, &[(0, 5)]))];
    assert_eq!(
        feed(&mut invariants::Isolation::new(&cfg), &overlap),
        Err("n1 prepared t1.1 locking a0 while t1.0, prepared there too, holds it".into())
    );
    // A read locks every account of its participant.
    let read = [(2, Obs::Prepared { tx: t1, read: true, writes: vec![] }), (2, prepared(t2, &[(3, 1)]))];
    assert!(feed(&mut invariants::Isolation::new(&cfg), &read).unwrap_err().contains("locking a3"));
    let other = [(1, Obs::Prepared { tx: t1, read: true, writes: vec![] }), (2, prepared(t2, &[(3, 1)]))];
    assert_eq!(feed(&mut invariants::Isolation::new(&cfg), &other), Ok(()));
    // A restart replaces the participant's prepared set with the one it recovered.
    let forgot = [(1, prepared(t1, &[(0, 7)])), (1, Obs::Recovered { prepared: vec![], balances: vec![] })];
    assert_eq!(
        feed(&mut invariants::Isolation::new(&cfg), &[&forgot[..], &[(1, prepared(t2, &[(0, 5)]))]].concat()),
        Ok(())
    );
    let kept = [(1, prepared(t1, &[(0, 7)])), (1, Obs::Recovered { prepared: vec![t1], balances: vec![] })];
    assert!(
        feed(&mut invariants::Isolation::new(&cfg), &[&kept[..], &[(1, prepared(t2, &[(0, 5)]))]].concat()).is_err()
    );
}

#[test]
fn conservation_fails_on_a_lost_update() {
    let cfg = config();
    let (t1, t2) = (tx(1, 0), tx(1, 1));
    let began = |t, legs: &[(u32, i64)]| (0, Obs::Began { tx: t, parts: parts(&[1, 2]), legs: legs.to_vec() });
    let decided = |t| (0, Obs::Decided { tx: t, commit: true });
    // t1 moves 3 from a0 to a2; between the two participants' commits the sum is
    // off by 3 in the balances, made up by t1's legs not yet applied.
    let fine =
        [began(t1, &[(0, -3), (2, 3)]), decided(t1), (1, committed(t1, &[(0, 7)])), (2, committed(t1, &[(2, 13)]))];
    assert_eq!(feed(&mut invariants::Conservation::new(&cfg), &fine), Ok(()));
    // t2 moves 2 from a0 to a3, but n1 computed its after-image from the balance
    // before t1: t1's update of a0 is lost.
    let lost = [&fine[..], &[began(t2, &[(0, -2), (3, 2)]), decided(t2), (1, committed(t2, &[(0, 8)]))][..]].concat();
    let err = feed(&mut invariants::Conservation::new(&cfg), &lost).unwrap_err();
    assert_eq!(
        err,
        "after n1 committed t1.1, the balances sum to 41 and the 1 decided commits not yet applied add 2: 43, \
         not the constant total 40"
    );
    // An abort of a transaction decided commit drops its legs there: the sum is off.
    let torn =
        [began(t1, &[(0, -3), (2, 3)]), decided(t1), (1, committed(t1, &[(0, 7)])), (2, Obs::Aborted { tx: t1 })];
    assert!(feed(&mut invariants::Conservation::new(&cfg), &torn)
        .unwrap_err()
        .contains("aborted t1.0, decided commit"));
}

#[test]
fn termination_passes_fails_and_says_unknown() {
    let faults = FaultLog::default();
    let s = 1_000_000_000u64;
    let t = tx(1, 0);
    let verdict = |resolved_at: Option<u64>, heal: u64, end: u64| {
        let mut check = invariants::Termination::new(3 * s);
        check.on_observe(s, 1, &prepared(t, &[(0, 7)]), &faults).unwrap();
        if let Some(at) = resolved_at {
            check.on_observe(at, 1, &Obs::Aborted { tx: t }, &faults).unwrap();
        }
        check.on_finish(&RunEnd {
            end_ns: end,
            last_heal_ns: Some(heal),
            converged_ns: None,
            completed: true,
            faults: &faults,
        })
    };
    // In doubt from 1 s; the faults heal at 2 s; the bound is 3 s.
    assert_eq!(verdict(Some(4 * s), 2 * s, 10 * s), Verdict::Pass);
    assert!(matches!(verdict(Some(6 * s), 2 * s, 10 * s), Verdict::Fail(m) if m.contains("resolved only at 6.000 s")));
    assert!(matches!(verdict(None, 2 * s, 10 * s), Verdict::Fail(m) if m.contains("still unresolved at the end")));
    // Blocked for 8 s, but during the faults: resolved 2 s after the heal at 7 s.
    assert_eq!(verdict(Some(9 * s), 7 * s, 12 * s), Verdict::Pass);
    assert!(matches!(verdict(None, 2 * s, 4 * s), Verdict::Unknown(_)));
    let never = RunEnd { end_ns: 10 * s, last_heal_ns: None, converged_ns: None, completed: true, faults: &faults };
    assert_eq!(invariants::Termination::new(s).on_finish(&never), Verdict::Unknown("faults never healed".into()));
}

#[test]
fn the_blocking_report_draws_prepared_then_in_doubt() {
    let cfg = config();
    let mut r = Blocking::new(&cfg);
    let ms = 1_000_000u64;
    let (t1, t2) = (tx(1, 0), tx(1, 1));
    r.on_observe(0, 0, &Obs::Decided { tx: t1, commit: true });
    r.on_observe(10 * ms, 1, &prepared(t1, &[(0, 7)]));
    r.on_observe(12 * ms, 2, &prepared(t1, &[(2, 13)]));
    r.on_observe(20 * ms, 1, &committed(t1, &[(0, 7)]));
    r.on_observe(30 * ms, 2, &Obs::InDoubt { tx: t1 });
    r.on_observe(530 * ms, 2, &committed(t1, &[(2, 13)]));
    r.on_observe(600 * ms, 1, &prepared(t2, &[(1, 3)]));
    r.on_observe(900 * ms, 1, &Obs::InDoubt { tx: t2 });
    let faults = FaultLog::default();
    let extras = r.on_finish(&RunEnd {
        end_ns: 1_000 * ms,
        last_heal_ns: Some(0),
        converged_ns: None,
        completed: true,
        faults: &faults,
    });
    let s = &extras.stats;
    assert_eq!(s["in_doubt_count"], 2);
    assert_eq!(s["in_doubt_ms_max"], 500.0);
    assert_eq!(s["in_doubt_open_at_end"], 1);
    assert_eq!(s["prepared_ms_max"], 518.0);
    assert_eq!((s["txs_committed"].as_u64(), s["txs_aborted"].as_u64()), (Some(1), Some(0)));
    let chart = &extras.charts[0];
    assert_eq!(chart.lanes.len(), 2);
    let spans = |lane: usize| -> Vec<(u64, u64, &str, &str)> {
        chart.lanes[lane]
            .spans
            .iter()
            .map(|s| (s.start_ns / ms, s.end_ns / ms, s.label.as_str(), s.color.as_str()))
            .collect()
    };
    assert_eq!(
        spans(0),
        [(10, 20, "t1.0", PREPARED_COLOR), (600, 900, "t1.1", PREPARED_COLOR), (900, 1000, "t1.1", IN_DOUBT_COLOR)]
    );
    assert_eq!(spans(1), [(12, 30, "t1.0", PREPARED_COLOR), (30, 530, "t1.0", IN_DOUBT_COLOR)]);
    assert_eq!(chart.lanes[1].node, Some(2));
}

#[test]
fn observations_read_as_labels() {
    let t = tx(2, 17);
    for (obs, label) in [
        (
            Obs::Began { tx: t, parts: parts(&[1, 3]), legs: vec![(1, -5), (9, 5)] },
            "began t2.17 transfer on [n1 n3] (a1-5 a9+5)",
        ),
        (Obs::Decided { tx: t, commit: false }, "decided abort t2.17"),
        (prepared(t, &[(3, 80), (9, 120)]), "prepared t2.17 (a3=80 a9=120)"),
        (
            Obs::VotedNo { tx: t, why: NoReason::Locked { account: 4, by: tx(2, 16) } },
            "voted no on t2.17: a4 locked by t2.16",
        ),
        (Obs::InDoubt { tx: t }, "in doubt t2.17"),
        (Obs::Committed { tx: t, writes: vec![(3, 80)], presumed: true }, "committed t2.17 on its own (a3=80)"),
        (Obs::Told { tx: t, commit: true }, "told committed t2.17"),
        (Obs::Started { epoch: 3, recovered: 40, resending: 2 }, "coordinator epoch 3: 40 decisions logged, 2 re-sent"),
    ] {
        assert_eq!(format!("{obs:?}"), label);
    }
}

// ---- the bank model, on hand-written histories

const BANK: Bank = Bank { account_count: 4, initial_balance: 10 };

fn verdict(lines: &[&str]) -> Verdict {
    let text = lines.join("\n");
    let ops = model::parse_jsonl(&text).unwrap_or_else(|e| panic!("{e}"));
    model::check(&ops, &BANK, model::STEPS_MAX)
}

fn invoke(p: u64, f: &str, v: &str) -> String {
    format!(r#"{{"process":{p},"type":"invoke","f":"{f}","value":{v}}}"#)
}

fn done(p: u64, kind: &str, f: &str, v: &str) -> String {
    format!(r#"{{"process":{p},"type":"{kind}","f":"{f}","value":{v}}}"#)
}

const T: &str = "[[0,-3],[2,3]]";

fn transfer(p: u64, kind: &str) -> [String; 2] {
    [invoke(p, "transfer", T), done(p, kind, "transfer", T)]
}

fn read(p: u64, balances: &str) -> [String; 2] {
    [invoke(p, "read-balances", "null"), done(p, "ok", "read-balances", balances)]
}

fn history(parts: &[&[String]]) -> Vec<String> {
    parts.iter().flat_map(|p| p.iter().cloned()).collect()
}

fn lines(h: &[String]) -> Vec<&str> {
    h.iter().map(String::as_str).collect()
}

fn fails_with(h: &[String], needle: &str) {
    match verdict(&lines(h)) {
        Verdict::Fail(m) => assert!(m.contains(needle), "{m}"),
        other => panic!("expected a failure mentioning {needle:?}, got {other:?}"),
    }
}

#[test]
fn bank_model_accepts_serial_and_concurrent_histories() {
    // A transfer, then a read that sees it.
    assert_eq!(verdict(&lines(&history(&[&transfer(0, "ok"), &read(1, "[7,10,13,10]")]))), Verdict::Pass);
    // A read concurrent with the transfer may see it or not.
    for seen in ["[7,10,13,10]", "[10,10,10,10]"] {
        let h = [
            invoke(0, "transfer", T),
            invoke(1, "read-balances", "null"),
            done(1, "ok", "read-balances", seen),
            done(0, "ok", "transfer", T),
        ];
        assert_eq!(verdict(&lines(&h)), Verdict::Pass, "{seen}");
    }
    // An info transfer may take effect at any time after its invoke, or never.
    for seen in ["[7,10,13,10]", "[10,10,10,10]"] {
        let h = history(&[&transfer(0, "info"), &read(1, seen)]);
        assert_eq!(verdict(&lines(&h)), Verdict::Pass, "{seen}");
    }
    // Two reads, the second seeing what the first saw and more.
    let t2 = "[[1,-1],[3,1]]";
    let h = [
        invoke(0, "transfer", T),
        invoke(2, "transfer", t2),
        read(1, "[7,10,13,10]")[0].clone(),
        read(1, "[7,10,13,10]")[1].clone(),
        read(3, "[7,9,13,11]")[0].clone(),
        read(3, "[7,9,13,11]")[1].clone(),
        done(0, "ok", "transfer", T),
        done(2, "info", "transfer", t2),
    ];
    assert_eq!(verdict(&lines(&h)), Verdict::Pass);
    // Failed reads and transfers that did not happen are fine.
    let h = history(&[
        &transfer(0, "fail"),
        &[invoke(1, "read-balances", "null"), done(1, "fail", "read-balances", "null")],
        &read(2, "[10,10,10,10]"),
    ]);
    assert_eq!(verdict(&lines(&h)), Verdict::Pass);
}

#[test]
fn bank_model_rejects_what_no_serial_order_explains() {
    fails_with(&history(&[&transfer(0, "ok"), &read(1, "[7,10,13,11]")]), "summing to 41, not the constant total 40");
    fails_with(
        &history(&[&transfer(0, "ok"), &read(1, "[10,10,10,10]")]),
        "which no set of committed transfers explains",
    );
    fails_with(&history(&[&transfer(0, "fail"), &read(1, "[7,10,13,10]")]), "a0-3 a2+3");
    fails_with(&history(&[&read(1, "[-1,21,10,10]")]), "saw a0 at -1: below zero");
    fails_with(&history(&[&read(1, "[10,10,20]")]), "returned 3 balances for 4 accounts");
    let bad = "[[0,-3],[2,4]]";
    fails_with(&[invoke(0, "transfer", bad), done(0, "ok", "transfer", bad)], "creates 1 from nothing");
    // The later read misses what the earlier one saw.
    let h = [
        invoke(0, "transfer", T),
        read(1, "[7,10,13,10]")[0].clone(),
        read(1, "[7,10,13,10]")[1].clone(),
        read(2, "[10,10,10,10]")[0].clone(),
        read(2, "[10,10,10,10]")[1].clone(),
        done(0, "info", "transfer", T),
    ];
    fails_with(&h, "does not see the transfer of process 0");
    // Two concurrent reads that each see one of two transfers: no common order.
    let (t1, t2) = ("[[0,-1],[1,1]]", "[[2,-2],[3,2]]");
    let h = [
        invoke(0, "transfer", t1),
        invoke(1, "transfer", t2),
        invoke(2, "read-balances", "null"),
        invoke(3, "read-balances", "null"),
        done(2, "ok", "read-balances", "[9,11,10,10]"),
        done(3, "ok", "read-balances", "[10,10,8,12]"),
        done(0, "ok", "transfer", t1),
        done(1, "ok", "transfer", t2),
    ];
    fails_with(&h, "see no common order");
    // Real time among transfers: t2 began after t1 completed, so a read that sees t2 sees t1.
    let h = [
        invoke(2, "read-balances", "null"),
        invoke(0, "transfer", t1),
        done(0, "ok", "transfer", t1),
        invoke(1, "transfer", t2),
        done(1, "ok", "transfer", t2),
        done(2, "ok", "read-balances", "[10,10,8,12]"),
    ];
    fails_with(&h, "in a real-time order");
}

#[test]
fn bank_model_parse_errors_name_the_line() {
    let err =
        model::parse_jsonl(&[invoke(0, "transfer", T), done(0, "ok", "read-balances", "[1]")].join("\n")).unwrap_err();
    assert_eq!(err, "line 2: the completion's f differs from its invoke's");
    let err = model::parse_jsonl(&invoke(0, "write", "1")).unwrap_err();
    assert!(err.starts_with("line 1: expected f transfer or read-balances"), "{err}");
    let err = model::parse_jsonl(&invoke(0, "transfer", "[[0]]")).unwrap_err();
    assert!(err.starts_with("line 1: expected a transfer's legs"), "{err}");
    let err = model::parse_jsonl(&done(3, "ok", "transfer", T)).unwrap_err();
    assert_eq!(err, "line 1: process 3 completes an op it never invoked");
}

#[test]
fn bad_options_name_their_field() {
    for (replace, with, path) in [
        (r#""options": {"#, r#""options": { "transfer_participants": [2, 9],"#, "options.transfer_participants"),
        (r#""options": {"#, r#""options": { "amount_max": 0,"#, "options.amount_max"),
        (r#""accounts_per_participant": 8"#, r#""accounts_per_participant": 0"#, "options.accounts_per_participant"),
        (r#""options": {"#, r#""options": { "prepare_timeout": "0s","#, "options.prepare_timeout"),
        (r#""options": {"#, r#""options": { "leader": 1,"#, "options.leader"),
        (r#""mix": {"#, r#""mix": { "cas": 1,"#, "workload.mix.cas"),
        (r#""clients": 4,"#, r#""clients": 4, "keys": 3,"#, "workload.keys"),
        (r#""nodes": 5,"#, r#""nodes": 2,"#, "nodes"),
    ] {
        let name = "scenarios/twopc/calm.json";
        let base = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap();
        let text = base.replacen(replace, with, 1);
        assert_ne!(text, base, "{replace} not found");
        let scenario = Scenario::parse(&text, name).unwrap();
        let protocols = faultline::protocols::builtin();
        let err = Prepared::new(scenario, name, &protocols, &Overrides::default()).err().expect("an error");
        assert_eq!(err.path, path, "{err}");
    }
}
