//! Paxos and Multi-Paxos end to end: scenarios from `scenarios/paxos/` run
//! through the same runner the CLI uses, plus hand-fed reports that the
//! checks must reject. Each scenario test is data for the one `check`
//! helper: a scenario, a seed range, bugs on or off, and what must come out.
//! Seed ranges are small (each contains a known failing seed) so the file
//! stays fast; `scripts/sweep-paxos-bugs.sh` runs the wide sweeps.

use std::path::Path;

use faultline::check::Invariant;
use faultline::nemesis::FaultLog;
use faultline::protocols::paxos::{multi, single, Ballot};
use faultline::protocols::raft::msg::Command;
use faultline::runner::{Overrides, Prepared, ProtocolRun};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;
use faultline::workload::KvOp;
use faultline::Verdict;

mod common;
use common::seeds::{check, check_with, load, prepare, Expect};

fn names(run: &ProtocolRun) -> Vec<&str> {
    run.result.checks.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn dueling_proposers_decide_and_pass_every_check() {
    let file = "scenarios/paxos/dueling.json";
    check(file, 0..3, false, Expect::Clean);
    let run = prepare(load(file), file, false).run(0, TraceSink::Off, true).unwrap();
    assert_eq!(names(&run), ["agreement", "validity", "promise-kept", "liveness"]);
    assert!(run.result.checks.iter().all(|(_, v)| *v == Verdict::Pass), "{:?}", run.result.checks);
    assert!(run.history.is_none(), "single-decree Paxos has no clients");
    // Instances open every 500 ms for 20 s; learners see most of them decided.
    let chosen: Vec<&str> =
        run.result.observations.iter().filter(|o| o.text.starts_with("chosen ")).map(|o| o.text.as_str()).collect();
    assert!(chosen.len() >= 60, "two learners learn most of 40 instances, got {}", chosen.len());
    assert!(chosen[0].starts_with("chosen \"v") && chosen[0].contains(" at instance 0 in b("), "{}", chosen[0]);
}

#[test]
fn multipaxos_calm_passes_every_check() {
    let file = "scenarios/paxos/multi-calm.json";
    check(file, 0..2, false, Expect::Clean);
    let run = prepare(load(file), file, false).run(0, TraceSink::Off, false).unwrap();
    assert_eq!(
        names(&run),
        ["agreement", "validity", "promise-kept", "state-machine-safety", "linearizability", "liveness"]
    );
    assert!(run.result.checks.iter().all(|(_, v)| *v == Verdict::Pass), "{:?}", run.result.checks);
    assert!(run.ops > 800, "a calm run completes most ops, got {}", run.ops);
}

#[test]
fn fault_scenarios_pass() {
    for s in ["lossy", "crash-restart", "partitions", "clock-skew", "pauses"] {
        check(&format!("scenarios/paxos/{s}.json"), 0..3, false, Expect::Clean);
    }
    for s in ["lossy", "leader-isolation", "crash-restart", "partitions", "clock-skew", "pause-leader"] {
        check(&format!("scenarios/paxos/multi-{s}.json"), 0..2, false, Expect::Clean);
    }
}

#[test]
fn planted_bugs_are_caught_and_the_correct_protocols_are_clean() {
    let bugs = [
        ("bug-amnesiac-acceptor", "agreement"),
        ("bug-ignore-accepted-value", "agreement"),
        ("bug-accept-below-promise", "promise-kept"),
        ("multi-bug-amnesiac-acceptor", "agreement"),
        ("multi-bug-accept-below-promise", "promise-kept"),
        ("multi-bug-ignore-accepted-value", "agreement"),
        ("multi-bug-leader-skips-recovery", "state-machine-safety"),
        ("multi-bug-no-dedup", "linearizability"),
    ];
    for (name, check_name) in bugs {
        let file = format!("scenarios/paxos/{name}.json");
        let seed = check(&file, 0..5, false, Expect::Caught(check_name));
        // The correct protocol passes the same scenario, on seeds up to the failing one.
        check(&file, 0..seed + 1, true, Expect::Clean);
    }
}

#[test]
fn other_checks_catch_the_bugs_too() {
    // Each scenario leaves a check out so that the named one shows; with
    // only the other check, that one must catch the bug as well.
    let cases: [(&str, &[&str], &str); 6] = [
        ("bug-amnesiac-acceptor", &["promise-kept"], "promise-kept"),
        ("bug-accept-below-promise", &["agreement"], "agreement"),
        ("multi-bug-accept-below-promise", &["agreement"], "agreement"),
        ("multi-bug-amnesiac-acceptor", &["state-machine-safety"], "state-machine-safety"),
        ("multi-bug-leader-skips-recovery", &["agreement"], "agreement"),
        ("multi-bug-leader-skips-recovery", &["linearizability"], "linearizability"),
    ];
    for (name, checks, caught) in cases {
        let file = format!("scenarios/paxos/{name}.json");
        check_with(&file, Some(checks), 0..10, false, Expect::Caught(caught));
    }
}

fn ballot(round: u64, node: usize) -> Ballot {
    Ballot::new(round, node)
}

/// Feeds observations `(node, obs)` to `check`; returns the first error.
fn feed<O>(mut check: Box<dyn Invariant<O>>, reports: &[(usize, O)]) -> Result<(), String> {
    let faults = FaultLog::default();
    for (i, (node, obs)) in reports.iter().enumerate() {
        check.on_observe(i as u64, *node, obs, &faults)?;
    }
    Ok(())
}

#[test]
fn agreement_fails_on_two_chosen_values_and_passes_on_one() {
    let v = |node, round| single::Value { node, round };
    let accepted = |instance, b: Ballot, value| single::Obs::Accepted { instance, ballot: b, value };
    // Five acceptors, quorums of three. b(1,0) gets v0-1 accepted by n0 n1 n2: chosen.
    let first = [(0, accepted(7, ballot(1, 0), v(0, 1))), (1, accepted(7, ballot(1, 0), v(0, 1)))];
    let quorum_one = [&first[..], &[(2, accepted(7, ballot(1, 0), v(0, 1)))]].concat();
    // A later ballot that carries the same value: still one value chosen.
    let same = [
        (2, accepted(7, ballot(2, 1), v(0, 1))),
        (3, accepted(7, ballot(2, 1), v(0, 1))),
        (4, accepted(7, ballot(2, 1), v(0, 1))),
    ];
    assert_eq!(feed(single::agreement(3), &[&quorum_one[..], &same[..]].concat()), Ok(()));
    // Two acceptors of another value, and a repeat, are no quorum.
    let short = [
        (3, accepted(7, ballot(2, 1), v(1, 2))),
        (4, accepted(7, ballot(2, 1), v(1, 2))),
        (4, accepted(7, ballot(2, 1), v(1, 2))),
    ];
    assert_eq!(feed(single::agreement(3), &[&quorum_one[..], &short[..]].concat()), Ok(()));
    // The same quorum size in another instance is another decision.
    let elsewhere: Vec<_> = (2..5).map(|n| (n, accepted(8, ballot(2, 1), v(1, 2)))).collect();
    assert_eq!(feed(single::agreement(3), &[&quorum_one[..], &elsewhere[..]].concat()), Ok(()));
    // A quorum for a second value in the same instance: two values chosen.
    let second: Vec<_> = (2..5).map(|n| (n, accepted(7, ballot(2, 1), v(1, 2)))).collect();
    let err = feed(single::agreement(3), &[&quorum_one[..], &second[..]].concat()).unwrap_err();
    assert_eq!(
        err,
        "two values chosen at instance 7: \"v0-1\" in b(1,0) (accepted by n0 n1 n2) \
         and \"v1-2\" in b(2,1) (accepted by n2 n3 n4)"
    );
    // Multi-Paxos judges slots the same way.
    let cmd = |client, value| multi::Value::Cmd(Command { client, seq: 1, op: KvOp::Write { key: 0, value } });
    let m = |n, b, value| (n, multi::Obs::Accepted { slot: 12, ballot: b, value });
    let two = [
        m(0, ballot(1, 0), cmd(5, 10)),
        m(1, ballot(1, 0), cmd(5, 10)),
        m(1, ballot(2, 2), multi::Value::Noop),
        m(2, ballot(2, 2), multi::Value::Noop),
    ];
    let err = feed(multi::agreement(2), &two).unwrap_err();
    assert!(err.starts_with("two values chosen at slot 12: n5#1 write k0=10 in b(1,0)"), "{err}");
    assert_eq!(feed(multi::agreement(2), &two[..3]), Ok(()));
}

#[test]
fn validity_and_promise_kept_fail_on_their_violations() {
    let v = |node, round| single::Value { node, round };
    let proposed = |value, fresh| single::Obs::Proposed { instance: 0, ballot: ballot(1, 0), value, fresh };
    let accepted = |value| single::Obs::Accepted { instance: 0, ballot: ballot(1, 0), value };
    let chosen_fresh = [(0, proposed(v(0, 1), true)), (1, accepted(v(0, 1))), (2, accepted(v(0, 1)))];
    assert_eq!(feed(single::validity(2), &chosen_fresh), Ok(()));
    // An adopted value is no proposal of its own: nobody proposed v9-9 as new.
    let invented = [(0, proposed(v(9, 9), false)), (1, accepted(v(9, 9))), (2, accepted(v(9, 9)))];
    let err = feed(single::validity(2), &invented).unwrap_err();
    assert!(err.starts_with("\"v9-9\" was chosen at instance 0 in b(1,0)"), "{err}");

    let promised = |instance, b| single::Obs::Promised { instance, ballot: b };
    let accept = |instance, b| single::Obs::Accepted { instance, ballot: b, value: v(0, 1) };
    let kept = [(1, promised(0, ballot(2, 1))), (1, accept(0, ballot(2, 1))), (1, accept(1, ballot(1, 0)))];
    assert_eq!(feed(single::promise_kept(), &kept), Ok(()));
    let broken = [(1, promised(0, ballot(2, 1))), (1, accept(0, ballot(1, 0)))];
    assert_eq!(
        feed(single::promise_kept(), &broken),
        Err("n1 accepted b(1,0) at instance 0 after promising b(2,1)".to_string())
    );
    // A Multi-Paxos promise covers every slot.
    let m = [
        (3, multi::Obs::Promised { ballot: ballot(4, 2), from_slot: 10 }),
        (3, multi::Obs::Accepted { slot: 2, ballot: ballot(3, 0), value: multi::Value::Noop }),
    ];
    assert_eq!(feed(multi::promise_kept(), &m), Err("n3 accepted b(3,0) after promising b(4,2)".to_string()));
}

#[test]
fn state_machine_safety_fails_when_nodes_apply_different_values() {
    let cmd = multi::Value::Cmd(Command { client: 6, seq: 2, op: KvOp::Read { key: 1 } });
    let applied = |slot, value| multi::Obs::Applied { slot, value };
    let same = [(0, applied(3, cmd.clone())), (1, applied(3, cmd.clone())), (2, applied(4, multi::Value::Noop))];
    assert_eq!(feed(multi::state_machine_safety(), &same), Ok(()));
    let diverge = [(0, applied(3, cmd.clone())), (1, applied(3, multi::Value::Noop))];
    assert_eq!(
        feed(multi::state_machine_safety(), &diverge),
        Err("n1 applied no-op at slot 3, but n0 applied n6#2 read k1 there".to_string())
    );
}

#[test]
fn observations_read_as_labels() {
    let b = ballot(3, 1);
    let v7 = single::Value { node: 7, round: 3 };
    for (obs, label) in [
        (single::Obs::Promised { instance: 4, ballot: b }, "promised b(3,1) at instance 4"),
        (single::Obs::Accepted { instance: 4, ballot: b, value: v7 }, "accepted \"v7-3\" in b(3,1) at instance 4"),
        (single::Obs::Chosen { instance: 4, ballot: b, value: v7 }, "chosen \"v7-3\" at instance 4 in b(3,1)"),
        (
            single::Obs::Proposed { instance: 4, ballot: b, value: v7, fresh: false },
            "proposed \"v7-3\" (adopted) in b(3,1) at instance 4",
        ),
    ] {
        assert_eq!(format!("{obs:?}"), label);
    }
    let cas = multi::Value::Cmd(Command { client: 5, seq: 3, op: KvOp::Cas { key: 0, old: None, new: 10005 } });
    for (obs, label) in [
        (multi::Obs::Promised { ballot: b, from_slot: 12 }, "promised b(3,1) from slot 12"),
        (
            multi::Obs::Chosen { slot: 12, ballot: b, value: cas.clone() },
            "chosen n5#3 cas k0 absent->10005 at slot 12 in b(3,1)",
        ),
        (
            multi::Obs::Elected { ballot: b, from_slot: 12, recovered: 2, noops: 1 },
            "leads in b(3,1): 2 slots recovered from slot 12, 1 no-ops",
        ),
        (multi::Obs::Applied { slot: 12, value: multi::Value::Noop }, "applied no-op at slot 12"),
    ] {
        assert_eq!(format!("{obs:?}"), label);
    }
}

/// Runs dueling.json with its `faults` and `liveness` lines replaced.
fn liveness_verdict(liveness: &str, faults: &str) -> Verdict {
    let file = "scenarios/paxos/dueling.json";
    let base = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
    let text = base.replace(
        r#""liveness": { "within_after_heal": "5s" },"#,
        &format!(r#""liveness": {{ "within_after_heal": "{liveness}" }}, "faults": {faults},"#),
    );
    assert_ne!(text, base);
    let scenario = Scenario::parse(&text, file).unwrap();
    let run = prepare(scenario, file, false).run(1, TraceSink::Off, false).unwrap();
    run.result.checks.into_iter().find(|(n, _)| n == "liveness").expect("liveness runs").1
}

#[test]
fn liveness_passes_fails_and_says_unknown() {
    // The acceptors' majority is cut off from every proposer for a second.
    let cut = r#"[{ "at": "5s", "partition": [[0, 1, 2], [3, 4]], "for": "1s" }]"#;
    assert_eq!(liveness_verdict("5s", cut), Verdict::Pass);
    assert!(matches!(liveness_verdict("1us", cut), Verdict::Fail(_)));
    let forever = r#"[{ "at": "5s", "partition": [[0, 1, 2], [3, 4]] }]"#;
    assert_eq!(liveness_verdict("5s", forever), Verdict::Unknown("faults never healed".to_string()));
}

#[test]
fn bad_options_name_their_field() {
    for (file, replace, options, path) in [
        ("dueling", r#""options": { "proposers": 3,"#, r#""options": { "proposers": 9,"#, "options.proposers"),
        (
            "dueling",
            r#""options": { "proposers": 3,"#,
            r#""options": { "acceptors": 0, "proposers": 3,"#,
            "options.acceptors",
        ),
        (
            "dueling",
            r#""options": { "proposers": 3,"#,
            r#""options": { "backoff": ["9ms", "1ms"], "proposers": 3,"#,
            "options.backoff",
        ),
        (
            "dueling",
            r#""options": { "proposers": 3,"#,
            r#""options": { "leader": 1, "proposers": 3,"#,
            "options.leader",
        ),
        ("dueling", r#""liveness""#, r#""workload": { "clients": 1, "rate": 10 }, "liveness""#, "workload"),
        ("multi-calm", r#""heartbeat": "50ms""#, r#""heartbeat": "400ms""#, "options.heartbeat"),
        ("multi-calm", r#""heartbeat": "50ms""#, r#""heartbeat": "50ms", "pre_vote": true"#, "options.pre_vote"),
    ] {
        let name = format!("scenarios/paxos/{file}.json");
        let base = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&name)).unwrap();
        let text = base.replacen(replace, options, 1);
        assert_ne!(text, base, "{name}: {replace} not found");
        let scenario = Scenario::parse(&text, &name).unwrap();
        let protocols = faultline::protocols::builtin();
        let err =
            Prepared::new(scenario, &name, &protocols, &Overrides::default()).err().expect("bad options are an error");
        assert_eq!(err.path, path, "{err}");
    }
}
