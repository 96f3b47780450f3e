//! `zk-lock` end to end: the scenarios of `scenarios/lock/zk-*.json` run
//! through the same runner the CLI uses, plus hand-fed reports that its own
//! checks must reject. Each scenario test is data for the one `check`
//! helper: a scenario, a seed range, bugs on or off, and what must come
//! out. Seed ranges are small (each bug's range holds a known failing seed)
//! so the file stays fast; `scripts/sweep-zk-lock-bugs.sh` runs the wide
//! sweeps.

use std::path::Path;

use faultline::check::{Invariant, RunEnd, Verdict};
use faultline::nemesis::FaultLog;
use faultline::protocols::lock::zk::invariants::{lock_view, NoHerd, NoOrphans};
use faultline::protocols::lock::zk::tree::{Event, Report};
use faultline::protocols::lock::zk::{ClientEvent, Obs};
use faultline::protocols::lock::LockObs;
use faultline::runner::{Overrides, Prepared, ProtocolRun};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;

mod common;
use common::seeds::{check, check_with, load, prepare, Expect};

fn stat(run: &ProtocolRun, key: &str) -> serde_json::Value {
    run.result.extras.stats.get(key).cloned().unwrap_or_else(|| panic!("no stat {key}: {:?}", run.result.extras))
}

#[test]
fn calm_passes_every_check_and_wakes_one_waiter_per_release() {
    let file = "scenarios/lock/zk-calm.json";
    check(file, 0..2, false, Expect::Clean);
    let run = prepare(load(file), file, false).run(0, TraceSink::Off, false).unwrap();
    let names: Vec<&str> = run.result.checks.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "mutual-exclusion",
            "fenced-writes",
            "no-orphans",
            "no-herd",
            "liveness",
            "election-safety",
            "log-matching",
            "leader-completeness",
            "state-machine-safety"
        ]
    );
    assert!(run.result.checks.iter().all(|(_, v)| *v == Verdict::Pass), "{:?}", run.result.checks);
    // Six clients take turns for 30 s: hundreds of acquisitions, each release waking one waiter.
    let acquisitions = stat(&run, "acquisitions").as_u64().unwrap();
    assert!(acquisitions > 150, "got {acquisitions} acquisitions");
    assert_eq!(stat(&run, "herd_size_max"), 1);
    assert!(stat(&run, "herd_releases").as_u64().unwrap() >= acquisitions - 1);
    assert_eq!(stat(&run, "rejected_writes"), 0);
    assert_eq!(stat(&run, "max_concurrent_believers"), 1);
}

#[test]
fn fault_scenarios_pass() {
    for s in ["holder-pause", "lost-replies", "leader-crash", "partitions"] {
        check(&format!("scenarios/lock/zk-{s}.json"), 0..3, false, Expect::Clean);
    }
    // A paused holder loses its session: expiries happen, and the lock passes on.
    let file = "scenarios/lock/zk-holder-pause.json";
    let run = prepare(load(file), file, false).run(0, TraceSink::Off, false).unwrap();
    assert!(stat(&run, "expiries").as_u64().unwrap() >= 1, "{:?}", run.result.extras.stats);
}

#[test]
fn planted_bugs_are_caught_and_the_correct_recipe_is_clean() {
    let bugs = [
        ("bug-herd", "no-herd"),
        ("bug-blind-retry-create", "no-orphans"),
        ("bug-ignore-session-expiry", "fenced-writes"),
    ];
    for (name, check_name) in bugs {
        let file = format!("scenarios/lock/zk-{name}.json");
        let seed = check(&file, 0..10, false, Expect::Caught(check_name));
        // The correct recipe passes the same scenario, on seeds up to the failing one and a few more.
        check(&file, 0..seed + 3, true, Expect::Clean);
    }
}

#[test]
fn other_checks_catch_the_bugs_too() {
    // A holder that ignores its lapsed session also acts as the holder while
    // the service grants the lock to the next client.
    let file = "scenarios/lock/zk-bug-ignore-session-expiry.json";
    check_with(file, Some(&["mutual-exclusion"]), 0..10, false, Expect::Caught("mutual-exclusion"));
    // With fencing on, the storage turns the stale holder's writes away.
    let mut scenario = load(file);
    scenario.options = serde_json::json!({ "writes": 8, "work": "50ms" });
    let prepared = prepare(scenario, file, false);
    let mut rejected = 0;
    for seed in 0..5 {
        let run = prepared.run(seed, TraceSink::Off, false).unwrap();
        let fenced = run.result.checks.iter().find(|(n, _)| n == "fenced-writes").expect("selected");
        assert_eq!(fenced.1, Verdict::Pass, "seed {seed}: the fence holds");
        rejected += stat(&run, "rejected_writes").as_u64().unwrap();
    }
    assert!(rejected > 0, "some stale write was fenced off");
}

#[test]
fn every_scenario_runs_twice_to_the_same_trace() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lock");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("zk-") && n.ends_with(".json"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    for name in files {
        let file = format!("scenarios/lock/{name}");
        let prepared = prepare(load(&file), &file, false);
        let a = prepared.run(1, TraceSink::Off, false).unwrap().result.trace_hash;
        let b = prepared.run(1, TraceSink::Off, false).unwrap().result.trace_hash;
        assert_eq!(a, b, "{file}: the same seed gave two traces");
    }
}

#[test]
fn bad_options_name_their_field() {
    let base = r#"{ "name": "t", "protocol": "zk-lock", "nodes": 6, "duration": "1s" OPTIONS }"#;
    let cases = [
        (r#", "options": { "servers": 5 }"#, "field `nodes`: expected at least 7 nodes"),
        (r#", "options": { "writes": 0 }"#, "field `options.writes`: expected at least 1"),
        (r#", "options": { "ping_every": "2s" }"#, "field `options.ping_every`: expected a positive period"),
        (r#", "options": { "heartbeat": "1s" }"#, "field `options.heartbeat`"),
        (r#", "options": { "sessions": 1 }"#, "unknown field `sessions`"),
    ];
    let protocols = faultline::protocols::builtin();
    for (options, expected) in cases {
        let text = base.replace("OPTIONS", options);
        let err = Scenario::parse(&text, "bad.json")
            .and_then(|s| Prepared::new(s, "bad.json", &protocols, &Overrides::default()).map(|_| ()))
            .expect_err(options)
            .to_string();
        assert!(err.contains(expected), "{options}: {err}");
    }
}

/// Feeds `(time, node, obs)` to `check`; returns the first error.
fn feed(check: &mut dyn Invariant<Obs>, reports: &[(u64, usize, Obs)]) -> Result<(), String> {
    let faults = FaultLog::default();
    for (t, node, obs) in reports {
        check.on_observe(*t, *node, obs, &faults)?;
    }
    Ok(())
}

fn service(index: u64, part: u32, event: Event) -> Obs {
    Obs::Service(Report { index, part, event })
}

fn finish(check: &mut dyn Invariant<Obs>, end_ns: u64) -> Verdict {
    let faults = FaultLog::default();
    check.on_finish(&RunEnd { end_ns, last_heal_ns: Some(0), converged_ns: None, completed: true, faults: &faults })
}

const S: u64 = 1_000_000_000;

#[test]
fn no_orphans_fails_on_a_znode_its_client_never_knew() {
    let created =
        |index, path: &str, client| service(index, 0, Event::Created { path: path.into(), client, session: 1 });
    let owns = |client, path: &str| Obs::Client(ClientEvent::Owns { client, path: path.into() });
    let a = "/lock/c-4-1-0000000000";
    let b = "/lock/c-4-1-0000000001";
    // Every replica reports the creation; the check counts it once.
    let reports =
        [(S, 0, created(7, a, 4)), (S, 1, created(7, a, 4)), (S, 0, created(8, b, 4)), (2 * S, 4, owns(4, b))];
    let mut check = NoOrphans::new(2 * S);
    feed(&mut check, &reports).unwrap();
    // At 2.5 s the unknown znode is too young to call; at 10 s it is an orphan.
    assert_eq!(finish(&mut check, 5 * S / 2), Verdict::Pass);
    let Verdict::Fail(text) = finish(&mut check, 10 * S) else { panic!("an orphan") };
    assert!(text.contains("c-4-1-0000000000 of n4 (created at 1.000s and never known to its client)"), "{text}");
    assert!(!text.contains("0000000001"), "{text}");
    // Deleted, it is no orphan; a znode released and given up is none either.
    let mut check = NoOrphans::new(2 * S);
    let deleted = service(9, 0, Event::Deleted { path: a.into(), client: 4 });
    let disowns = Obs::Client(ClientEvent::Disowns { client: 4, path: b.into() });
    let gone = service(10, 0, Event::Deleted { path: b.into(), client: 4 });
    feed(&mut check, &[&reports[..], &[(3 * S, 0, deleted), (4 * S, 4, disowns), (4 * S, 0, gone)]].concat()).unwrap();
    assert_eq!(finish(&mut check, 10 * S), Verdict::Pass);
}

#[test]
fn no_herd_fails_when_a_release_wakes_two_waiters() {
    let woken = |index, watchers| service(index, 1, Event::Woken { path: "/lock/c-4-1-0000000000".into(), watchers });
    let mut check = NoHerd::new();
    assert_eq!(feed(&mut check, &[(S, 0, woken(5, 1)), (S, 1, woken(5, 1)), (S, 0, woken(6, 0))]), Ok(()));
    let err = feed(&mut check, &[(S, 0, woken(9, 4))]).unwrap_err();
    assert!(err.contains("fired 4 watches"), "{err}");
}

#[test]
fn the_lock_view_reads_each_service_report_once() {
    let view = lock_view();
    let granted = |index| {
        service(
            index,
            0,
            Event::Lock(LockObs::Granted {
                server: 0,
                client: 4,
                lease: 3,
                token: 3,
                local_ns: 0,
                expires_local_ns: None,
            }),
        )
    };
    let client = Obs::Lock(LockObs::Believes { client: 4, lease: 3, held: true });
    // The first replica's report passes, the others' are the same entry; a client's always passes.
    assert!(view(&granted(5)).is_some());
    assert!(view(&granted(5)).is_none());
    assert!(view(&client).is_some());
    assert!(view(&client).is_some());
    assert!(view(&granted(4)).is_none(), "an older entry, from a lagging replica");
    assert!(view(&granted(6)).is_some());
}
