//! A check sees only the kinds of observation it wants
//! ([`Invariant::wants`]), every observation of them, and still catches a
//! violation among them; a check that says nothing sees everything.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use faultline::check::{FnInvariant, Invariant};
use faultline::sim::trace::TraceSink;
use faultline::{NodeId, Sim, SimConfig};

const S: u64 = 1_000_000_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
enum Obs {
    Tick(u64),
    Tock(u64),
    Other,
}

/// Per kind (tick, tock, other): how many observations a check was shown.
type Seen = Rc<RefCell<[u64; 3]>>;

/// Which kinds a check wants.
type Wants = fn(&Obs) -> bool;

/// Counts what it is shown, per kind, into `seen`.
struct Counter {
    name: &'static str,
    wants: Wants,
    seen: Seen,
}

impl Invariant<Obs> for Counter {
    fn name(&self) -> &str {
        self.name
    }
    fn on_observe(&mut self, _: u64, _: NodeId, o: &Obs, _: &faultline::nemesis::FaultLog) -> Result<(), String> {
        let i = match o {
            Obs::Tick(_) => 0,
            Obs::Tock(_) => 1,
            Obs::Other => 2,
        };
        self.seen.borrow_mut()[i] += 1;
        Ok(())
    }
    fn wants(&self, o: &Obs) -> bool {
        (self.wants)(o)
    }
}

/// Node 0 emits, each second, a tick, a tock and an other, for `seconds`.
fn sim(seconds: u64) -> Sim<u64, Obs> {
    let mut sim: Sim<u64, Obs> = Sim::new(SimConfig::new(1, 2, seconds * S), TraceSink::Off);
    sim.set_entry(0, |ctx| async move {
        for i in 0.. {
            ctx.emit(Obs::Tick(i));
            ctx.emit(Obs::Tock(i));
            ctx.emit(Obs::Other);
            ctx.sleep(Duration::from_secs(1)).await;
        }
    });
    sim
}

#[test]
fn each_check_sees_exactly_the_kinds_it_wants() {
    let mut sim = sim(10);
    let counters: Vec<(Wants, Seen)> = vec![
        (|_| true, Rc::default()),
        (|o| matches!(o, Obs::Tick(_)), Rc::default()),
        (|o| matches!(o, Obs::Tock(_) | Obs::Other), Rc::default()),
        (|_| false, Rc::default()),
    ];
    for (i, (wants, seen)) in counters.iter().enumerate() {
        let name = ["all", "ticks", "tocks-and-others", "none"][i];
        sim.add_invariant(Box::new(Counter { name, wants: *wants, seen: seen.clone() }));
    }
    let r = sim.run();
    assert!(r.violation.is_none());
    let seen: Vec<[u64; 3]> = counters.iter().map(|(_, s)| *s.borrow()).collect();
    // Ticks at 0..=10 s: eleven of each kind.
    assert_eq!(seen, [[11, 11, 11], [11, 0, 0], [0, 11, 11], [0, 0, 0]]);
}

#[test]
fn a_check_that_wants_one_kind_still_fails_on_it_and_one_that_says_nothing_sees_all() {
    let mut sim = sim(10);
    let seen = Rc::new(RefCell::new(0u64));
    let count = seen.clone();
    sim.add_invariant(Box::new(FnInvariant::new("sees-all", move |_, _, _: &Obs| {
        *count.borrow_mut() += 1;
        Ok(())
    })));
    sim.add_invariant(Box::new(FnInvariant::only(
        "tocks-below-five",
        |o| matches!(o, Obs::Tock(_)),
        |_, _, o: &Obs| match o {
            Obs::Tock(i) if *i >= 5 => Err(format!("tock {i}")),
            Obs::Tock(_) => Ok(()),
            other => panic!("shown {other:?}, which it does not want"),
        },
    )));
    let r = sim.run();
    let v = r.violation.expect("tock 5 breaks it");
    assert_eq!((v.check.as_str(), v.detail.as_str(), v.time_ns), ("tocks-below-five", "tock 5", 5 * S));
    // Up to the violation: six ticks, six tocks and five others (the
    // run stops at tock 5, before the sixth other).
    assert_eq!(*seen.borrow(), 17);
}
