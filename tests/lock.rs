//! `lease-lock` and `redlock` end to end: scenarios from `scenarios/lock/`
//! run through the runner the CLI uses, plus hand-fed reports that the
//! lock checks must reject or accept. Each scenario test is data for the one
//! `check` helper: a scenario, a seed range, bugs on or off, what must come
//! out. Seed ranges are small; `scripts/sweep-lock-bugs.sh` runs the wide
//! sweeps (every bug over 0..200, the correct protocols over 0..1000).

use std::ops::Range;
use std::path::Path;

use faultline::check::Invariant;
use faultline::nemesis::FaultLog;
use faultline::protocols::lock::invariants::{fenced_writes, mutual_exclusion, FENCED_WRITES, MUTUAL_EXCLUSION};
use faultline::protocols::lock::{itself, LockObs};
use faultline::runner::{outcome, Outcome, Overrides, Prepared, ProtocolRun};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;

mod common;
use common::seeds::{check_scenario, failing_check, load, prepare, Expect};

fn check(file: &str, seeds: Range<u64>, no_bugs: bool, expect: Expect) -> (u64, ProtocolRun) {
    check_scenario(load(file), file, seeds, no_bugs, expect)
}

fn stat(run: &ProtocolRun, name: &str) -> u64 {
    run.result.extras.stats.get(name).and_then(|v| v.as_u64()).unwrap_or_else(|| panic!("no stat {name}"))
}

fn names(run: &ProtocolRun) -> Vec<&str> {
    run.result.checks.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn calm_runs_pass_every_check_and_draw_the_lock_timeline() {
    let (_, run) = check("scenarios/lock/lease-calm.json", 0..3, false, Expect::Clean);
    assert_eq!(names(&run), [MUTUAL_EXCLUSION, FENCED_WRITES, "liveness"]);
    assert!(stat(&run, "acquisitions") > 20, "clients take turns: {:?}", run.result.extras.stats);
    assert!(stat(&run, "accepted_writes") > 200);
    assert_eq!(stat(&run, "rejected_writes"), 0, "a calm run fences nobody off");
    assert_eq!(stat(&run, "max_concurrent_believers"), 1);
    let chart = &run.result.extras.charts[0];
    assert_eq!(chart.name, "locks");
    let labels: Vec<&str> = chart.lanes.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(labels, ["two believers", "n2 client", "n3 client", "n4 client", "n0 lock server", "n1 storage"]);
    assert!(chart.lanes[0].spans.is_empty(), "no two believers in a calm run");
    assert!(chart.lanes[1..4].iter().all(|l| !l.spans.is_empty()), "every client held the lock");
    let storage = chart.lanes.last().unwrap();
    assert!(storage.marks.iter().all(|m| m.color == "#2ca02c"), "every write accepted, drawn green");

    let (_, run) = check("scenarios/lock/redlock-calm.json", 0..3, false, Expect::Clean);
    assert_eq!(names(&run), [MUTUAL_EXCLUSION, "liveness"]);
    let lanes = &run.result.extras.charts[0].lanes;
    assert_eq!(lanes.iter().filter(|l| l.label.ends_with("lock server")).count(), 5);
    assert!(stat(&run, "acquisitions") > 20);
}

#[test]
fn the_correct_protocols_pass_every_fault_scenario() {
    for s in [
        "lease-holder-pause",
        "lease-clock-skew",
        "lease-clock-jumps",
        "lease-server-clock-jump",
        "lease-lost-replies",
        "lease-server-crash",
        "lease-partitions",
        "redlock-holder-pause",
        "redlock-clock-skew",
        "redlock-lost-replies",
        "redlock-server-crash",
        "redlock-partitions",
    ] {
        check(&format!("scenarios/lock/{s}.json"), 0..4, false, Expect::Clean);
    }
}

#[test]
fn planted_bugs_are_caught_and_the_correct_protocols_are_clean() {
    let bugs = [
        ("lease-bug-no-fencing", FENCED_WRITES),
        ("lease-bug-trust-local-lease", MUTUAL_EXCLUSION),
        ("lease-bug-restart-without-delay", MUTUAL_EXCLUSION),
        ("redlock-bug-trust-local-lease", MUTUAL_EXCLUSION),
        ("redlock-bug-restart-without-delay", MUTUAL_EXCLUSION),
    ];
    for (name, check_name) in bugs {
        let file = format!("scenarios/lock/{name}.json");
        let (seed, _) = check(&file, 0..10, false, Expect::Caught(check_name));
        // The correct protocol passes the same scenario, on the failing seed and a few more.
        check(&file, 0..seed + 4, true, Expect::Clean);
    }
}

#[test]
fn a_paused_holder_believes_with_the_next_one_and_the_fence_stops_its_write() {
    // Some early seed pauses a holder between its check and its write.
    let file = "scenarios/lock/lease-holder-pause.json";
    let prepared = prepare(load(file), file, false);
    let seed = (0..10)
        .find(|&seed| {
            let run = prepared.run(seed, TraceSink::Off, false).unwrap();
            assert_eq!(outcome(&run.result), Outcome::Clean, "seed {seed}: {:?}", run.result.checks);
            stat(&run, "rejected_writes") > 0
        })
        .expect("a stale write fenced off in seeds 0..10");
    let run = prepared.run(seed, TraceSink::Off, false).unwrap();
    assert_eq!(stat(&run, "max_concurrent_believers"), 2, "the paused holder and its successor both believed");
    let lanes = &run.result.extras.charts[0].lanes;
    assert!(!lanes[0].spans.is_empty(), "the two-believers lane shows it");
    let storage = lanes.last().unwrap();
    assert!(storage.marks.iter().any(|m| m.color == "#d62728" && m.label.contains("rejected")));
    assert!(
        lanes.iter().any(|l| l.label.ends_with("client") && l.marks.iter().any(|m| m.label.contains("rejected"))),
        "the stale writer's lane marks the write the fence stopped"
    );

    // The same pauses without the fence: the stale write lands.
    let (bug_seed, run) =
        check("scenarios/lock/lease-bug-no-fencing.json", 0..10, false, Expect::Caught(FENCED_WRITES));
    let detail = &run.result.violation.as_ref().unwrap().detail;
    assert!(detail.contains("after it had accepted") && detail.contains("newer grant"), "{detail}");
    assert!(bug_seed < 10);
}

#[test]
fn redlock_has_two_holders_at_once_when_one_server_clock_jumps() {
    let file = "scenarios/lock/redlock-clock-jump.json";
    let prepared = prepare(load(file), file, false);
    let mut failed = 0;
    for seed in 0..20 {
        let run = prepared.run(seed, TraceSink::Off, false).unwrap();
        if failing_check(&run) == Some(MUTUAL_EXCLUSION) {
            failed += 1;
            let detail = &run.result.violation.as_ref().unwrap().detail;
            assert!(detail.contains("holds the lock (lease") && detail.contains("of the 3 needed"), "{detail}");
            assert!(detail.contains("n2 expired"), "the jumping server's grant is the one gone: {detail}");
            assert_eq!(stat(&run, "max_concurrent_believers"), 2, "two clients believed at once");
        }
    }
    assert!(failed >= 15, "the clock jump breaks Redlock in most seeds, got {failed} of 20");
    // Without the jumps the same topology is safe.
    let mut calm = load(file);
    calm.faults.clear();
    check_scenario(calm, file, 0..4, false, Expect::Clean);
}

#[test]
fn a_forward_jump_of_the_lock_servers_clock_breaks_the_lease_but_not_the_fence() {
    let file = "scenarios/lock/lease-server-clock-jump.json";
    let mut with_me = load(file);
    with_me.checks = Some(vec![MUTUAL_EXCLUSION.to_string()]);
    check_scenario(with_me, file, 0..10, false, Expect::Caught(MUTUAL_EXCLUSION));
    let mut unfenced = load(file);
    unfenced.bugs = vec!["no-fencing".to_string()];
    check_scenario(unfenced, file, 0..10, false, Expect::Caught(FENCED_WRITES));
}

#[test]
fn a_slow_client_clock_without_the_fence_corrupts_the_storage_too() {
    let file = "scenarios/lock/lease-bug-trust-local-lease.json";
    let mut both = load(file);
    both.bugs = vec!["trust-local-lease".to_string(), "no-fencing".to_string()];
    both.checks = Some(vec![FENCED_WRITES.to_string()]);
    let (seed, _) = check_scenario(both, file, 0..10, false, Expect::Caught(FENCED_WRITES));
    // The fence alone, or a client that allows for drift, keeps the storage right.
    let mut fence_only = load(file);
    fence_only.bugs = vec!["no-fencing".to_string()];
    fence_only.checks = Some(vec![FENCED_WRITES.to_string()]);
    check_scenario(fence_only, file, 0..seed + 3, false, Expect::Clean);
    let mut margin_only = load(file);
    margin_only.checks = Some(vec![FENCED_WRITES.to_string()]);
    check_scenario(margin_only, file, 0..seed + 3, false, Expect::Clean);
}

#[test]
fn every_lock_scenario_replays_with_the_same_trace_hash() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lock");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            name.starts_with("lease-") || name.starts_with("redlock-")
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 20, "lease-lock and redlock scenarios");
    for path in files {
        let file = path.to_string_lossy().to_string();
        let prepared = prepare(Scenario::load(&path).unwrap(), &file, false);
        let a = prepared.run(3, TraceSink::Off, false).unwrap().result.trace_hash;
        let b = prepared.run(3, TraceSink::Off, false).unwrap().result.trace_hash;
        assert_eq!(a, b, "{file}: seed 3 gave two trace hashes");
    }
}

#[test]
fn bad_options_are_refused_with_their_path() {
    let cases = [
        (r#""protocol": "lease-lock", "nodes": 5, "options": { "servers": 3 }"#, "options.servers"),
        (r#""protocol": "lease-lock", "nodes": 5, "options": { "safety_margin": "2s" }"#, "options.safety_margin"),
        (r#""protocol": "lease-lock", "nodes": 5, "options": { "clock_drift": 0.7 }"#, "options.clock_drift"),
        (r#""protocol": "lease-lock", "nodes": 5, "options": { "writes": 0 }"#, "options.writes"),
        (r#""protocol": "redlock", "nodes": 6"#, "nodes"),
        (r#""protocol": "redlock", "nodes": 9, "options": { "servers": 0 }"#, "options.servers"),
        (r#""protocol": "lease-lock", "nodes": 5, "workload": { "clients": 1, "rate": 1 }"#, "workload"),
    ];
    let protocols = faultline::protocols::builtin();
    for (fields, path) in cases {
        let text = format!(r#"{{ "name": "bad", "duration": "1s", {fields} }}"#);
        let err = Scenario::parse(&text, "bad.json")
            .and_then(|s| Prepared::new(s, "bad.json", &protocols, &Overrides::default()))
            .err()
            .unwrap_or_else(|| panic!("{fields} should be refused"));
        assert!(err.to_string().contains(&format!("field `{path}`")), "{fields}: {err}");
    }
}

// Hand-fed reports: the checks on their own, over a wrapper observation
// type as a protocol with its own vocabulary (zk-lock) would feed them.

#[derive(Debug)]
enum Wrapped {
    Lock(LockObs),
    Other,
}

fn project(o: &Wrapped) -> Option<&LockObs> {
    match o {
        Wrapped::Lock(l) => Some(l),
        Wrapped::Other => None,
    }
}

fn granted(server: usize, client: usize, lease: u64, token: u64, local_ns: u64, ttl_ns: u64) -> LockObs {
    LockObs::Granted { server, client, lease, token, local_ns, expires_local_ns: Some(local_ns + ttl_ns) }
}

/// Feeds `(time, obs)` to `check`; returns the first violation's text.
fn feed(check: &mut dyn Invariant<Wrapped>, events: Vec<(u64, LockObs)>) -> Option<String> {
    let faults = FaultLog::default();
    for (t, o) in events {
        check.on_observe(t, 0, &Wrapped::Other, &faults).unwrap();
        if let Err(e) = check.on_observe(t, 0, &Wrapped::Lock(o), &faults) {
            return Some(e);
        }
    }
    None
}

const S: u64 = 1_000_000_000;

#[test]
fn mutual_exclusion_judges_by_the_servers_clocks() {
    let checks = || mutual_exclusion(1, project);
    // A holder that checks within its lease, then one granted after it expired: fine.
    let fine = vec![
        (0, granted(0, 5, 1, 1, 0, S)),
        (1, LockObs::Acquired { client: 5, lease: 1, token: Some(1), grants: 1 }),
        (S / 2, LockObs::Believes { client: 5, lease: 1, held: true }),
        (S, LockObs::Expired { server: 0, client: 5, lease: 1, local_ns: S }),
        (S + 1, granted(0, 6, 2, 2, S + 1, S)),
        (S + 2, LockObs::Acquired { client: 6, lease: 2, token: Some(2), grants: 1 }),
    ];
    assert_eq!(feed(&mut *checks(), fine.clone()), None);
    // The first client checks after the server let it go: fine while nobody
    // else holds it, a violation once the next client does.
    let mut late = fine[..4].to_vec();
    late.push((S + 1, LockObs::Believes { client: 5, lease: 1, held: true }));
    assert_eq!(feed(&mut *checks(), late.clone()), None);
    // Granted to the next client but not yet acquired (its reply is on the
    // way): not yet a second holder either.
    late.push(fine[4].clone());
    late.push((S + 1, LockObs::Believes { client: 5, lease: 1, held: true }));
    assert_eq!(feed(&mut *checks(), late.clone()), None);
    late.push(fine[5].clone());
    late.push((S + 3, LockObs::Believes { client: 5, lease: 1, held: true }));
    let e = feed(&mut *checks(), late).expect("two holders");
    assert!(e.starts_with("n6 holds the lock") && e.contains("n5 checked its lease"), "{e}");
    // A grant while another client's lease is live by the server's clock.
    let twice = vec![(0, granted(0, 5, 1, 1, 0, S)), (S / 2, LockObs::Restarted { server: 0, local_ns: S / 2 })];
    let mut regrant = twice.clone();
    regrant.push((S / 2 + 1, granted(0, 6, 2, 2, S / 2 + 1, S)));
    let e = feed(&mut *checks(), regrant).expect("a double grant");
    assert!(e.contains("n0 granted the lock to n6") && e.contains("still live"), "{e}");
    // After the server's clock passed the old expiry, the same grant is fine.
    let mut later = twice;
    later.push((2 * S, granted(0, 6, 2, 2, 2 * S, S)));
    assert_eq!(feed(&mut *checks(), later), None);
}

#[test]
fn mutual_exclusion_counts_majorities_for_redlock() {
    // n5 holds n0 n1 n2; n2's clock jumps and its grant expires; n6 takes n2 n3 n4.
    let mut events = vec![];
    for s in 0..3 {
        events.push((s as u64, granted(s, 5, 1, 1, 0, S)));
    }
    events.push((3, LockObs::Acquired { client: 5, lease: 1, token: None, grants: 3 }));
    events.push((S / 4, LockObs::Expired { server: 2, client: 5, lease: 1, local_ns: 3 * S }));
    events.push((S / 4 + 1, LockObs::Believes { client: 5, lease: 1, held: true }));
    let before = events.clone();
    for s in 2..5 {
        let local_ns = if s == 2 { 3 * S } else { S / 4 };
        events.push((S / 4 + 2 + s as u64, granted(s, 6, 2, 1, local_ns, S)));
    }
    events.push((S / 4 + 10, LockObs::Acquired { client: 6, lease: 2, token: None, grants: 3 }));
    assert_eq!(feed(&mut *mutual_exclusion(3, project), events.clone()), None, "each held a majority in turn");
    events.push((S / 4 + 20, LockObs::Believes { client: 5, lease: 1, held: true }));
    let e = feed(&mut *mutual_exclusion(3, project), events).expect("two majorities at once");
    assert!(e.contains("live on n2 n3 n4") && e.contains("holding it on n0 n1 (2 of the 3 needed)"), "{e}");
    // Before n6 holds a majority, n5's check on two of three is not yet a violation.
    assert_eq!(feed(&mut *mutual_exclusion(3, project), before), None);
}

#[test]
fn fenced_writes_judges_by_grant_order_not_by_tokens() {
    let accepted = |client, lease, token| LockObs::WriteAccepted { client, lease, token: Some(token), value: 7 };
    let base = vec![
        (0, granted(0, 5, 1, 1, 0, S)),
        (1, accepted(5, 1, 1)),
        (S, LockObs::Expired { server: 0, client: 5, lease: 1, local_ns: S }),
        (S + 1, granted(0, 6, 2, 2, S + 1, S)),
        (S + 2, accepted(6, 2, 2)),
    ];
    assert_eq!(feed(&mut *fenced_writes(1, project), base.clone()), None);
    let mut stale = base.clone();
    stale.push((S + 3, accepted(5, 1, 1)));
    let e = feed(&mut *fenced_writes(1, project), stale).expect("a stale write accepted");
    assert!(e.contains("under grant #1") && e.contains("newer grant #2"), "{e}");
    // A rejected stale write is the fence working.
    let mut fenced = base.clone();
    fenced.push((S + 3, LockObs::WriteRejected { client: 5, lease: 1, token: Some(1), highest: 2, value: 8 }));
    assert_eq!(feed(&mut *fenced_writes(1, project), fenced), None);
    // Tokens that go backwards (a counter that reset) do not fool it: order is by grant.
    let reset = vec![
        (0, granted(0, 5, 1, 9, 0, S)),
        (1, accepted(5, 1, 9)),
        (S, LockObs::Expired { server: 0, client: 5, lease: 1, local_ns: S }),
        (S + 1, granted(0, 6, 2, 1, S + 1, S)),
        (S + 2, accepted(6, 2, 1)),
    ];
    assert_eq!(feed(&mut *fenced_writes(1, project), reset), None);
    // A write under an acquisition that never held the lock.
    let e = feed(&mut *fenced_writes(1, project), vec![(0, accepted(5, 3, 1))]).expect("never granted");
    assert!(e.contains("never held the lock"), "{e}");
    // The plain projection works on LockObs itself.
    let mut plain = fenced_writes(1, itself);
    assert!(plain.on_observe(0, 0, &accepted(5, 3, 1), &FaultLog::default()).is_err());
}
