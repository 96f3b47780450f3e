//! A simulator crash inside a sweep is a finding, not the end of the sweep:
//! a seed whose simulation panics is reported with its message and counted
//! apart from check failures, and the other seeds still run.

use faultline::explore::sweep::{sweep, Tally};
use faultline::kit::{Named, NoOptions, Protocol, Setup};
use faultline::runner::{Outcome, Overrides, Prepared};
use faultline::scenario::Scenario;

/// Each node draws a number at start and panics on a zero: some seeds crash.
struct Fragile;

impl Protocol for Fragile {
    type Msg = ();
    type Obs = ();
    type Options = NoOptions;
    fn name(&self) -> &'static str {
        "fragile"
    }
    fn about(&self) -> &'static str {
        "panics on some seeds"
    }
    fn checks(&self) -> &'static [Named] {
        &[]
    }
    fn setup(&self, s: &mut Setup<'_, Self>) {
        s.nodes(|ctx| async move {
            ctx.sleep(std::time::Duration::from_millis(5)).await;
            if ctx.rng().index(4) == 0 {
                panic!("n{} drew a zero", ctx.id());
            }
        });
    }
}

#[test]
fn a_panicking_seed_is_reported_and_the_sweep_goes_on() {
    let scenario = Scenario::parse(
        r#"{ "name": "fragile", "protocol": "fragile", "nodes": 2, "duration": "1s" }"#,
        "fragile.json",
    )
    .unwrap();
    let protocols: Vec<&dyn faultline::kit::AnyProtocol> = vec![&Fragile];
    let prepared = Prepared::new(scenario, "fragile.json", &protocols, &Overrides::default()).unwrap();
    let results = sweep(&prepared, 0..40, 2, false, &|_| {}).expect("the sweep itself succeeds");
    assert_eq!(results.len(), 40, "every seed ran");
    let tally = Tally::of(&results);
    assert!(tally.simulator_bugs > 0 && tally.clean > 0, "{tally:?}");
    assert_eq!(tally.failed, 0, "a crash is not a check failure: {tally:?}");
    assert_eq!(tally.clean + tally.simulator_bugs, 40);
    assert_eq!(tally.exit_code(), 1);
    let crashed = results.iter().find(|r| r.simulator_bug.is_some()).unwrap();
    assert_eq!(crashed.outcome, Outcome::Failed);
    let message = crashed.simulator_bug.as_deref().unwrap();
    assert!(message.contains("drew a zero") && message.contains("tests/sweep_panic.rs:"), "{message}");
    // The same seed crashes again: a crash is reproducible like any failure.
    let again = sweep(&prepared, crashed.seed..crashed.seed + 1, 1, false, &|_| {}).unwrap();
    assert!(again[0].simulator_bug.is_some());
}
