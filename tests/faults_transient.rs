//! The transient faults and the disk faults, through scenario files: a
//! clog holds messages and releases them in one burst, a delay adds its
//! latency, a loss burst drops what is sent during it, a slow disk makes
//! fsyncs slower, and torn writes make a crash keep, lose or corrupt each
//! unsynced write. Each has a run with it and one without.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use faultline::check::FnInvariant;
use faultline::kit::{AnyProtocol, Named, NoOptions, Protocol, Setup};
use faultline::runner::{Overrides, Prepared};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;
use faultline::sim::Nanos;
use faultline::Ctx;

const MS: u64 = 1_000_000;

#[derive(Clone, Debug, Hash, serde::Serialize, PartialEq)]
enum Obs {
    /// Node 1 got message n (sent at the given time).
    Got { n: u64, sent_ns: Nanos },
    /// An fsync took this long.
    Synced(Nanos),
    /// After a restart, the disk held this for key i (its value was `i` repeated).
    Read { i: u8, value: Option<Vec<u8>> },
}

struct Probe;

type Seen = Rc<RefCell<Vec<(Nanos, Obs)>>>;

thread_local! {
    static SEEN: Seen = Rc::default();
}

impl Protocol for Probe {
    type Msg = (u64, Nanos);
    type Obs = Obs;
    type Options = NoOptions;
    fn name(&self) -> &'static str {
        "probe"
    }
    fn about(&self) -> &'static str {
        "node 0 streams messages to node 1 and writes to its disk"
    }
    fn checks(&self) -> &'static [Named] {
        const CHECKS: &[Named] = &[Named::new("record", "records what happened")];
        CHECKS
    }
    fn setup(&self, s: &mut Setup<'_, Self>) {
        s.role([0], |ctx: Ctx<(u64, Nanos), Obs>| async move {
            if ctx.storage().get("sync").is_some() {
                for i in 0..20u8 {
                    ctx.emit(Obs::Read { i, value: ctx.storage().get(&format!("k{i}")) });
                }
                return;
            }
            for n in 0.. {
                ctx.send(1, (n, ctx.now_ns()));
                if n % 10 == 0 {
                    let start = ctx.now_ns();
                    ctx.storage().put("sync", vec![1]);
                    ctx.storage().sync().await;
                    ctx.emit(Obs::Synced(ctx.now_ns() - start));
                }
                if n == 295 {
                    // Unsynced writes for the torn-write test's crash at 3 s.
                    for i in 0..20u8 {
                        ctx.storage().put(&format!("k{i}"), vec![i; 16]);
                    }
                }
                ctx.sleep(Duration::from_millis(10)).await;
            }
        });
        s.role([1], |ctx: Ctx<(u64, Nanos), Obs>| async move {
            loop {
                let (n, sent_ns) = ctx.recv().await.msg;
                ctx.emit(Obs::Got { n, sent_ns });
            }
        });
        let seen = SEEN.with(|s| s.clone());
        s.invariant("record", move || {
            Box::new(FnInvariant::new("record", move |t, _, o: &Obs| {
                seen.borrow_mut().push((t, o.clone()));
                Ok(())
            }))
        });
    }
}

/// Runs 5 s of the probe with `extra` scenario fields; returns what it saw.
fn run(extra: &str) -> Vec<(Nanos, Obs)> {
    let text = format!(
        r#"{{ "name": "probe", "protocol": "probe", "nodes": 2, "duration": "5s",
             "network": {{ "latency": {{ "dist": "constant", "value": "1ms" }} }}, {extra} }}"#
    );
    let scenario = Scenario::parse(&text, "probe.json").unwrap_or_else(|e| panic!("{e}"));
    let protocols: [&dyn AnyProtocol; 1] = [&Probe];
    let p = Prepared::new(scenario, "probe.json", &protocols, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    SEEN.with(|s| s.borrow_mut().clear());
    let r = p.run(0, TraceSink::Off, false).unwrap().result;
    assert!(r.violation.is_none());
    SEEN.with(|s| s.borrow().clone())
}

fn arrivals(seen: &[(Nanos, Obs)]) -> Vec<(Nanos, u64, Nanos)> {
    seen.iter()
        .filter_map(|(t, o)| if let Obs::Got { n, sent_ns } = o { Some((*t, *n, *sent_ns)) } else { None })
        .collect()
}

#[test]
fn a_clog_holds_messages_and_releases_them_in_one_burst() {
    let got = arrivals(&run(r#""faults": [{ "at": "1s", "clog": { "from": [0], "to": [1] }, "for": "500ms" }]"#));
    assert!(got.iter().all(|&(t, _, _)| !(1_001 * MS..1_500 * MS).contains(&t)), "nothing arrives while clogged");
    let burst = got.iter().filter(|&&(t, _, _)| t == 1_500 * MS).count();
    assert!((45..=51).contains(&burst), "the held messages arrive at the clog's end: {burst}");
    let numbers: Vec<u64> = got.iter().map(|g| g.1).collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "nothing lost, in order");
    let calm = arrivals(&run(r#""faults": []"#));
    assert_eq!(calm.iter().filter(|&&(t, _, _)| t == 1_500 * MS).count(), 0);
}

#[test]
fn a_delay_adds_its_latency_while_it_lasts() {
    let got = arrivals(&run(
        r#""faults": [{ "at": "2s", "delay": { "from": [0], "to": [1] }, "by": "200ms", "for": "1s" }]"#,
    ));
    for &(t, _, sent) in &got {
        let latency = t - sent;
        let during = (2_000 * MS..3_000 * MS).contains(&sent);
        assert_eq!(latency, if during { 201 * MS } else { MS }, "sent at {sent}");
    }
}

#[test]
fn a_loss_burst_drops_what_is_sent_during_it() {
    let got =
        arrivals(&run(r#""faults": [{ "at": "2s", "loss": { "from": [0], "to": [1], "p": 1.0 }, "for": "1s" }]"#));
    assert!(got.iter().all(|&(_, _, sent)| !(2_000 * MS..3_000 * MS).contains(&sent)));
    assert!(got.iter().any(|&(_, _, sent)| sent >= 3_000 * MS), "the link works after it");
    let bad = r#""faults": [{ "at": "2s", "loss": { "from": [0], "to": [1], "p": 2 }, "for": "1s" }]"#;
    let text = format!(r#"{{ "name": "p", "protocol": "probe", "nodes": 2, "duration": "5s", {bad} }}"#);
    let e = Scenario::parse(&text, "p.json").and_then(|s| s.resolve("p.json", 0).map(|_| ())).unwrap_err();
    assert_eq!(e.path, "faults[0].loss.p", "{e}");
}

#[test]
fn a_slow_disk_slows_fsyncs_while_it_lasts() {
    let seen = run(r#""faults": [{ "at": "1s", "slow_disk": 0, "by": "300ms", "for": "2s" }]"#);
    let syncs: Vec<(Nanos, Nanos)> =
        seen.iter().filter_map(|(t, o)| if let Obs::Synced(d) = o { Some((*t, *d)) } else { None }).collect();
    assert!(syncs.iter().any(|&(_, d)| d == 301 * MS), "fsyncs in the window take 300 ms more: {syncs:?}");
    assert!(syncs.iter().filter(|&&(t, _)| !(1_000 * MS..=3_400 * MS).contains(&t)).all(|&(_, d)| d == MS));
}

#[test]
fn torn_writes_keep_lose_or_corrupt_each_unsynced_write() {
    let crash = r#""faults": [{ "at": "3s", "crash": 0, "restart_after": "100ms" }]"#;
    let reads = |seen: Vec<(Nanos, Obs)>| -> Vec<Option<Vec<u8>>> {
        seen.into_iter().filter_map(|(_, o)| if let Obs::Read { value, .. } = o { Some(value) } else { None }).collect()
    };
    // Without torn writes the crash loses every unsynced write.
    let plain = reads(run(crash));
    assert!(plain.len() == 20 && plain.iter().all(Option::is_none), "{plain:?}");
    let torn = reads(run(&format!(r#""storage": {{ "torn_writes": true }}, {crash}"#)));
    let intact = |i: usize, v: &Option<Vec<u8>>| v.as_deref() == Some(&vec![i as u8; 16][..]);
    let kept = torn.iter().enumerate().filter(|(i, v)| intact(*i, v)).count();
    let lost = torn.iter().filter(|v| v.is_none()).count();
    let corrupt = torn.len() - kept - lost;
    assert_eq!(torn.len(), 20);
    assert!(kept > 0 && lost > 0 && corrupt > 0, "{kept} kept, {lost} lost, {corrupt} torn: {torn:?}");
}
