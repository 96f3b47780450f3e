//! Determinism is checked, not assumed: `run` compares the trace hash of
//! its replay with the run's, and `sweep` reruns a share of its seeds. A
//! protocol that iterates a `std::collections::HashMap` (its order changes
//! from one map to the next) is caught by both.

use std::collections::HashMap;

use faultline::explore::sweep::{rechecks, sweep_rechecking, Tally};
use faultline::kit::{Named, NoOptions, Protocol, Setup};
use faultline::runner::{Outcome, Overrides, Prepared};
use faultline::scenario::Scenario;

/// Node 0 sends to its peers in the iteration order of a HashMap.
struct HashOrder {
    hash_map: bool,
}

impl Protocol for HashOrder {
    type Msg = u64;
    type Obs = ();
    type Options = NoOptions;
    fn name(&self) -> &'static str {
        "hash-order"
    }
    fn about(&self) -> &'static str {
        "sends in a map's iteration order"
    }
    fn checks(&self) -> &'static [Named] {
        &[]
    }
    fn setup(&self, s: &mut Setup<'_, Self>) {
        let (n, hash_map) = (s.node_count(), self.hash_map);
        s.role([0], move |ctx| async move {
            let peers: Vec<usize> = if hash_map {
                let map: HashMap<usize, ()> = (1..n).map(|p| (p, ())).collect();
                map.keys().copied().collect()
            } else {
                (1..n).collect()
            };
            for (i, p) in peers.into_iter().enumerate() {
                ctx.send(p, i as u64);
            }
        });
        s.role(1..n, |ctx| async move {
            let _ = ctx.recv().await;
        });
    }
}

fn prepared(p: &'static HashOrder) -> Prepared<'static> {
    let scenario = Scenario::parse(
        r#"{ "name": "hash-order", "protocol": "hash-order", "nodes": 12, "duration": "1s" }"#,
        "hash-order.json",
    )
    .unwrap();
    let protocols: &'static [&'static dyn faultline::kit::AnyProtocol] = Box::leak(Box::new([p as _]));
    Prepared::new(scenario, "hash-order.json", protocols, &Overrides::default()).unwrap()
}

static NONDETERMINISTIC: HashOrder = HashOrder { hash_map: true };
static DETERMINISTIC: HashOrder = HashOrder { hash_map: false };

#[test]
fn a_sweep_rerun_catches_a_hash_map_iteration() {
    let results = sweep_rechecking(&prepared(&NONDETERMINISTIC), 0..20, 2, false, 1.0, &|_| {}).unwrap();
    let tally = Tally::of(&results);
    assert_eq!(tally.rechecked, 20);
    assert!(tally.nondeterministic > 0, "{tally:?}");
    assert_eq!(tally.exit_code(), 1);
    let bad = results.iter().find(|r| r.nondeterminism.is_some()).unwrap();
    assert_eq!(bad.outcome, Outcome::Failed);

    let results = sweep_rechecking(&prepared(&DETERMINISTIC), 0..20, 2, false, 1.0, &|_| {}).unwrap();
    let tally = Tally::of(&results);
    assert_eq!((tally.rechecked, tally.nondeterministic, tally.clean), (20, 0, 20), "{tally:?}");
}

#[test]
fn a_run_compares_its_replay_and_fails_loudly() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("determinism-run");
    let options = faultline::run_folder::RunOptions { out: Some(dir.clone()), ..Default::default() };
    // The order differs between two maps with high probability, not always: try a few seeds.
    let caught = (0..10).any(|seed| {
        let folder =
            faultline::run_folder::run_to_folder(&prepared(&NONDETERMINISTIC), seed, &options, "r".into()).unwrap();
        folder.nondeterminism.is_some() && folder.outcome == Outcome::Failed
    });
    assert!(caught, "no run noticed that its replay differed");
    let folder = faultline::run_folder::run_to_folder(&prepared(&DETERMINISTIC), 0, &options, "r".into()).unwrap();
    assert_eq!(folder.nondeterminism, None);
    assert_eq!(folder.outcome, Outcome::Clean);
}

#[test]
fn the_rechecked_share_is_about_what_was_asked_and_the_same_everywhere() {
    let picked = (0..10_000u64).filter(|&s| rechecks(s, 0.05)).count();
    assert!((400..=600).contains(&picked), "{picked} of 10,000 seeds rechecked at 5%");
    assert_eq!((0..1000u64).filter(|&s| rechecks(s, 0.0)).count(), 0);
    assert_eq!((0..1000u64).filter(|&s| rechecks(s, 1.0)).count(), 1000);
}
