//! Tie shuffling: with `"ties": "shuffle"` events due at the same instant
//! run in an order the seed draws (the `sched` stream), so a bug that needs
//! another order of simultaneous events is found, and the run still
//! replays by seed. `race` sends two messages that always arrive at the
//! same instant; its planted bug trusts that the first to arrive is node
//! 0's, which FIFO ties always make true and shuffled ties do not.

use std::time::Duration;

use faultline::check::FnInvariant;
use faultline::kit::{AnyProtocol, Named, NoOptions, Protocol, Setup};
use faultline::runner::{outcome, Outcome, Overrides, Prepared};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;
use faultline::Ctx;

#[derive(Clone, Debug, Hash, serde::Serialize)]
struct First(usize);

struct Race;

impl Protocol for Race {
    type Msg = ();
    type Obs = First;
    type Options = NoOptions;
    fn name(&self) -> &'static str {
        "race"
    }
    fn about(&self) -> &'static str {
        "two simultaneous messages; the bug assumes node 0's is first"
    }
    fn checks(&self) -> &'static [Named] {
        const CHECKS: &[Named] = &[Named::new("zero-first", "node 0's message arrives first")];
        CHECKS
    }
    fn setup(&self, s: &mut Setup<'_, Self>) {
        s.role([0, 1], |ctx: Ctx<(), First>| async move {
            ctx.sleep(Duration::from_millis(10)).await;
            ctx.send(2, ());
        });
        s.role([2], |ctx: Ctx<(), First>| async move {
            let first = ctx.recv().await.from;
            ctx.emit(First(first));
        });
        s.invariant("zero-first", || {
            Box::new(FnInvariant::new("zero-first", |_, _, First(n): &First| match n {
                0 => Ok(()),
                n => Err(format!("n{n}'s message arrived first")),
            }))
        });
    }
}

fn outcomes(ties: &str, seeds: u64) -> (u64, Vec<u64>) {
    let text = format!(
        r#"{{ "name": "race", "protocol": "race", "nodes": 3, "duration": "1s", {ties}
             "network": {{ "latency": {{ "dist": "constant", "value": "1ms" }} }} }}"#
    );
    let scenario = Scenario::parse(&text, "race.json").unwrap();
    let protocols: [&dyn AnyProtocol; 1] = [&Race];
    let p = Prepared::new(scenario, "race.json", &protocols, &Overrides::default()).unwrap();
    let mut failed = 0;
    let mut hashes = Vec::new();
    for seed in 0..seeds {
        let r = p.run(seed, TraceSink::Off, false).unwrap().result;
        failed += (outcome(&r) == Outcome::Failed) as u64;
        hashes.push(r.trace_hash);
    }
    (failed, hashes)
}

#[test]
fn fifo_ties_never_show_the_other_order() {
    assert_eq!(outcomes("", 50).0, 0);
    assert_eq!(outcomes(r#""ties": "fifo","#, 50).0, 0);
}

#[test]
fn shuffled_ties_find_it_and_replay_by_seed() {
    let (failed, hashes) = outcomes(r#""ties": "shuffle","#, 50);
    assert!((5..=45).contains(&failed), "about half the seeds put n1 first: {failed} of 50");
    assert_eq!(hashes, outcomes(r#""ties": "shuffle","#, 50).1, "the same seeds give the same runs");
}

#[test]
fn a_bad_ties_value_names_the_field() {
    let text = r#"{ "name": "r", "protocol": "race", "nodes": 3, "duration": "1s", "ties": "random" }"#;
    let e = Scenario::parse(text, "r.json").and_then(|s| s.resolve("r.json", 0).map(|_| ())).unwrap_err();
    assert_eq!(e.path, "ties", "{e}");
}
