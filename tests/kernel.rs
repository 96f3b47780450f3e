//! Kernel behaviour, through the public library API: each fault's effect and
//! its absence, clocks, storage, and how runs end. Every test builds a tiny
//! protocol, runs it, and reads what its nodes observed.

use std::time::Duration;

use faultline::nemesis::{Fault, ScheduledFault};
use faultline::net::{Latency, LinkModel};
use faultline::sim::rng::Probability;
use faultline::sim::trace::TraceSink;
use faultline::{Sim, SimConfig, StopReason};

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;

/// What test nodes report: a received message number, a time, or a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
enum Obs {
    Got(u64),
    At(u64),
    Value(Option<Vec<u8>>),
}

/// Runs `sim` and returns (stop reason, every observation as (time, node, obs)).
fn check(sim: Sim<u64, Obs>) -> (StopReason, Vec<(u64, usize, Obs)>, faultline::sim::NetStats) {
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut sim = sim;
    let s = seen.clone();
    sim.add_invariant(Box::new(faultline::check::FnInvariant::new("record", move |t, n, o: &Obs| {
        s.borrow_mut().push((t, n, o.clone()));
        Ok(())
    })));
    let r = sim.run();
    let seen = seen.borrow().clone();
    (r.stop, seen, r.net)
}

fn config(nodes: usize, link: LinkModel) -> SimConfig {
    let mut c = SimConfig::new(42, nodes, 100 * S);
    c.link_default = link;
    c
}

fn link(loss: f64, duplicate: f64) -> LinkModel {
    LinkModel {
        latency: Latency::Uniform { min_ns: MS, max_ns: 5 * MS },
        loss: Probability::from_f64(loss),
        duplicate: Probability::from_f64(duplicate),
    }
}

/// Node 0 sends `n` numbered messages to node 1, which reports each arrival.
fn sender_receiver(c: SimConfig, n: u64) -> Sim<u64, Obs> {
    let mut sim = Sim::new(c, TraceSink::Off);
    sim.set_entry(0, move |ctx| async move {
        for i in 0..n {
            ctx.send(1, i);
            ctx.sleep(Duration::from_micros(100)).await;
        }
    });
    sim.set_entry(1, |ctx| async move {
        loop {
            let m = ctx.recv().await;
            ctx.emit(Obs::Got(m.msg));
        }
    });
    sim
}

#[test]
fn loss_drops_about_the_configured_fraction_and_nothing_when_off() {
    let (_, got, net) = check(sender_receiver(config(2, link(0.1, 0.0)), 20_000));
    let lost = 20_000 - got.len();
    assert!((1_700..2_300).contains(&lost), "lost {lost} of 20000 at p=0.1");
    assert_eq!(net.lost as usize, lost);
    let (_, got, net) = check(sender_receiver(config(2, link(0.0, 0.0)), 20_000));
    assert_eq!(got.len(), 20_000);
    assert_eq!(net.lost, 0);
}

#[test]
fn duplicates_arrive_twice_only_when_enabled() {
    let count_twice = |got: &[(u64, usize, Obs)]| {
        let mut ids: Vec<u64> = got
            .iter()
            .map(|(_, _, o)| match o {
                Obs::Got(i) => *i,
                _ => unreachable!(),
            })
            .collect();
        ids.sort_unstable();
        ids.windows(2).filter(|w| w[0] == w[1]).count()
    };
    let (_, got, _) = check(sender_receiver(config(2, link(0.0, 0.2)), 5_000));
    let twice = count_twice(&got);
    assert!((800..1_200).contains(&twice), "{twice} duplicates of 5000 at p=0.2");
    let (_, got, _) = check(sender_receiver(config(2, link(0.0, 0.0)), 5_000));
    assert_eq!(count_twice(&got), 0);
    assert_eq!(got.len(), 5_000);
}

#[test]
fn jitter_reorders_and_constant_latency_does_not() {
    let in_order = |got: &[(u64, usize, Obs)]| {
        got.windows(2).all(|w| match (&w[0].2, &w[1].2) {
            (Obs::Got(a), Obs::Got(b)) => a < b,
            _ => false,
        })
    };
    let jittery = LinkModel { latency: Latency::Uniform { min_ns: MS, max_ns: 10 * MS }, ..LinkModel::default() };
    let (_, got, _) = check(sender_receiver(config(2, jittery), 1_000));
    assert!(!in_order(&got), "uniform jitter should reorder some messages");
    let (_, got, _) = check(sender_receiver(config(2, LinkModel::default()), 1_000));
    assert!(in_order(&got));
}

/// Nodes 0 and 1 each send one message to the other every millisecond for 100 ms.
fn chatter(c: SimConfig) -> Sim<u64, Obs> {
    let mut sim = Sim::new(c, TraceSink::Off);
    sim.set_node_entry(|ctx| async move {
        let other = 1 - ctx.id();
        let c2 = ctx.clone();
        ctx.spawn(async move {
            loop {
                let m = c2.recv().await;
                c2.emit(Obs::Got(m.msg));
            }
        });
        for i in 0..100 {
            ctx.send(other, i);
            ctx.sleep(Duration::from_millis(1)).await;
        }
    });
    sim
}

#[test]
fn one_way_cut_blocks_one_direction_only() {
    let mut c = config(2, LinkModel::default());
    c.faults.push(ScheduledFault { at_ns: 0, fault: Fault::Cut { source: 0, target: 1 } });
    let (_, got, net) = check(chatter(c));
    assert!(got.iter().all(|(_, node, _)| *node == 0), "nothing reaches n1");
    assert_eq!(got.len(), 100, "n1 -> n0 still delivers everything");
    assert_eq!(net.cut, 100);
}

#[test]
fn partition_blocks_across_groups_until_healed() {
    let mut c = config(2, LinkModel::default());
    c.faults.push(ScheduledFault { at_ns: 20 * MS, fault: Fault::Partition(vec![vec![0], vec![1]]) });
    c.faults.push(ScheduledFault { at_ns: 60 * MS, fault: Fault::Heal });
    let (_, got, net) = check(chatter(c));
    // Arrivals (1 ms after sending) in [20 ms, 60 ms) are lost, both ways.
    assert!(got.iter().all(|(t, _, _)| *t < 20 * MS || *t >= 60 * MS));
    assert!(got.iter().any(|(t, _, _)| *t >= 60 * MS), "traffic resumes after heal");
    assert_eq!(net.cut, 2 * 40);
}

#[test]
fn a_cut_is_checked_at_delivery_time() {
    // Latency 10 ms; the link is cut during [5 ms, 12 ms).
    let mut c = config(2, LinkModel { latency: Latency::Constant { ns: 10 * MS }, ..LinkModel::default() });
    c.faults.push(ScheduledFault { at_ns: 5 * MS, fault: Fault::Cut { source: 0, target: 1 } });
    c.faults.push(ScheduledFault { at_ns: 12 * MS, fault: Fault::Heal });
    let mut sim = Sim::new(c, TraceSink::Off);
    sim.set_entry(0, |ctx| async move {
        ctx.send(1, 0); // sent before the cut, arrives at 10 ms while cut: lost
        ctx.sleep(Duration::from_millis(6)).await;
        ctx.send(1, 1); // sent during the cut, arrives at 16 ms after heal: delivered
    });
    sim.set_entry(1, |ctx| async move {
        loop {
            let m = ctx.recv().await;
            ctx.emit(Obs::Got(m.msg));
        }
    });
    let (_, got, _) = check(sim);
    assert_eq!(got, vec![(16 * MS, 1, Obs::Got(1))]);
}

#[test]
fn crash_loses_unsynced_writes_and_keeps_synced_ones() {
    let mut c = config(1, LinkModel::default());
    c.faults.push(ScheduledFault { at_ns: 100 * MS, fault: Fault::Crash(0) });
    c.faults.push(ScheduledFault { at_ns: 200 * MS, fault: Fault::Restart(0) });
    let mut sim = Sim::new(c, TraceSink::Off);
    sim.set_entry(0, |ctx| async move {
        let disk = ctx.storage();
        ctx.emit(Obs::Value(disk.get("synced")));
        ctx.emit(Obs::Value(disk.get("unsynced")));
        if disk.get("synced").is_none() {
            disk.put("synced", b"a");
            disk.sync().await;
            disk.put("unsynced", b"b");
            ctx.emit(Obs::Value(disk.get("unsynced")));
        }
        ctx.sleep(Duration::from_secs(1_000)).await;
    });
    let (_, got, _) = check(sim);
    let values: Vec<_> = got.iter().map(|(t, _, o)| (*t, o.clone())).collect();
    assert_eq!(
        values,
        vec![
            (0, Obs::Value(None)),
            (0, Obs::Value(None)),
            (MS, Obs::Value(Some(b"b".to_vec()))), // reads see the unsynced write before the crash
            (200 * MS, Obs::Value(Some(b"a".to_vec()))), // synced: survives
            (200 * MS, Obs::Value(None)),          // unsynced: lost
        ]
    );
}

#[test]
fn crash_drops_mailbox_timers_and_tasks_and_restart_reruns_entry() {
    let mut c = config(2, LinkModel::default());
    c.faults.push(ScheduledFault { at_ns: 50 * MS, fault: Fault::Crash(1) });
    c.faults.push(ScheduledFault { at_ns: 80 * MS, fault: Fault::Restart(1) });
    let (_, got, net) = check(chatter(c));
    let to_n1: Vec<u64> = got.iter().filter(|(_, n, _)| *n == 1).map(|(t, _, _)| *t).collect();
    assert!(to_n1.iter().all(|t| *t < 50 * MS || *t >= 80 * MS), "nothing received while down");
    assert!(net.down > 0);
    // After restart n1 runs its entry again: it sends 100 more messages from 80 ms.
    let from_n1_after = got.iter().filter(|(t, n, _)| *n == 0 && *t > 80 * MS).count();
    assert!(from_n1_after >= 99, "restarted n1 sends again ({from_n1_after})");
}

#[test]
fn pause_delays_messages_and_timers_but_drops_nothing() {
    let mut c = config(2, LinkModel::default());
    c.faults.push(ScheduledFault { at_ns: 10 * MS, fault: Fault::Pause(1) });
    c.faults.push(ScheduledFault { at_ns: 500 * MS, fault: Fault::Resume(1) });
    let mut sim = sender_receiver(c.clone(), 1_000);
    sim.set_entry(1, |ctx| async move {
        ctx.sleep(Duration::from_millis(20)).await;
        ctx.emit(Obs::At(ctx.now_ns()));
        loop {
            let m = ctx.recv().await;
            ctx.emit(Obs::Got(m.msg));
        }
    });
    let (_, got, net) = check(sim);
    assert_eq!(got[0], (500 * MS, 1, Obs::At(500 * MS)), "the 20 ms timer waits for the resume");
    assert_eq!(got.iter().filter(|(_, _, o)| matches!(o, Obs::Got(_))).count(), 1_000, "nothing dropped");
    assert!(got.iter().all(|(t, _, _)| *t >= 500 * MS), "nothing runs while paused");
    assert_eq!(net.lost + net.cut + net.down, 0);
}

#[test]
fn skew_and_jumps_shift_only_the_faulted_nodes_clock() {
    let mut c = config(2, LinkModel::default());
    c.faults.push(ScheduledFault { at_ns: S, fault: Fault::ClockRate { node: 1, rate_ppm: 2_000_000 } });
    c.faults.push(ScheduledFault { at_ns: 3 * S, fault: Fault::ClockJump { node: 0, by_ns: 5 * S as i64 } });
    let mut sim = Sim::new(c, TraceSink::Off);
    sim.set_node_entry(|ctx| async move {
        for _ in 0..4 {
            // Both sleep one *local* second at a time.
            ctx.sleep(Duration::from_secs(1)).await;
            ctx.emit(Obs::At(ctx.now_ns()));
        }
    });
    let (_, got, _) = check(sim);
    let of =
        |n: usize| got.iter().filter(|(_, node, _)| *node == n).map(|(t, _, o)| (*t, o.clone())).collect::<Vec<_>>();
    // n0: exact until the +5 s jump at 3 s, which ends its 3rd sleep early.
    assert_eq!(of(0), vec![(S, Obs::At(S)), (2 * S, Obs::At(2 * S)), (3 * S, Obs::At(8 * S)), (4 * S, Obs::At(9 * S))]);
    // n1: double speed from 1 s on, so each local second takes half a global one.
    assert_eq!(
        of(1),
        vec![(S, Obs::At(S)), (S + S / 2, Obs::At(2 * S)), (2 * S, Obs::At(3 * S)), (2 * S + S / 2, Obs::At(4 * S))]
    );
}

#[test]
fn out_of_events_with_waiting_tasks_ends_cleanly_and_says_so() {
    let mut sim: Sim<u64, Obs> = Sim::new(config(2, LinkModel::default()), TraceSink::Off);
    sim.set_node_entry(|ctx| async move {
        let _ = ctx.recv().await;
    });
    let (stop, _, _) = check(sim);
    assert_eq!(stop, StopReason::Quiescent { blocked: 2 });
    assert!(stop.describe().contains("all nodes blocked"));
}

#[test]
fn the_step_budget_stops_a_run_inconclusive() {
    let mut c = config(2, LinkModel::default());
    c.steps_max = 100;
    let r = {
        let mut sim = chatter(c);
        sim.add_invariant(Box::new(faultline::check::FnInvariant::new("never", |_, _, _: &Obs| Ok(()))));
        sim.run()
    };
    assert_eq!(r.stop, StopReason::StepLimit);
    assert_eq!(r.steps, 100);
    assert!(matches!(r.checks[0].1, faultline::Verdict::Unknown(_)));
}

#[test]
fn a_failed_invariant_stops_the_run_with_a_violation() {
    let mut sim = sender_receiver(config(2, LinkModel::default()), 100);
    sim.add_invariant(Box::new(faultline::check::FnInvariant::new("below-50", |_, _, o: &Obs| match o {
        Obs::Got(n) if *n >= 50 => Err(format!("got {n}")),
        _ => Ok(()),
    })));
    let r = sim.run();
    assert_eq!(r.stop, StopReason::Violation);
    let v = r.violation.expect("violation");
    assert_eq!((v.check.as_str(), v.detail.as_str(), v.node), ("below-50", "got 50", Some(1)));
    assert_eq!(r.checks[0].1, faultline::Verdict::Fail("got 50".into()));
}

#[test]
fn same_seed_same_hash_other_seed_other_hash() {
    let hash = |seed| {
        let mut c = config(2, link(0.1, 0.1));
        c.seed = seed;
        sender_receiver(c, 2_000).run().trace_hash
    };
    assert_eq!(hash(1), hash(1));
    assert_ne!(hash(1), hash(2));
}

#[test]
fn nemesis_faults_are_logged_as_windows_that_all_close() {
    let mut c = config(3, LinkModel::default());
    c.nemesis = Some(faultline::nemesis::NemesisConfig::fixed(
        faultline::nemesis::NemesisKind::ALL.iter().map(|(k, _)| *k).collect(),
        100 * MS,
        50 * MS,
        0,
        2 * S,
    ));
    c.duration_ns = 3 * S;
    let mut sim: Sim<u64, Obs> = Sim::new(c, TraceSink::Off);
    sim.set_node_entry(|ctx| async move {
        loop {
            ctx.sleep(Duration::from_millis(10)).await;
        }
    });
    let r = sim.run();
    assert!(r.faults.len() >= 15, "{} windows", r.faults.len());
    assert!(r.faults.iter().all(|w| w.end_ns.is_some()), "every nemesis fault heals");
    assert!(r.faults.iter().all(|w| w.start_ns < 2 * S));
}

/// Polls its inner future with a waker of its own that forwards to the
/// outer one, as combinators like `FuturesUnordered` do.
struct ForeignWaker<F>(std::pin::Pin<Box<F>>);

struct Forward(std::task::Waker);

impl std::task::Wake for Forward {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.wake_by_ref();
    }
}

impl<F: std::future::Future> std::future::Future for ForeignWaker<F> {
    type Output = F::Output;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        let waker = std::task::Waker::from(std::sync::Arc::new(Forward(cx.waker().clone())));
        self.0.as_mut().poll(&mut std::task::Context::from_waker(&waker))
    }
}

#[test]
fn primitives_wake_tasks_through_foreign_wakers_too() {
    let mut sim = sender_receiver(config(2, LinkModel::default()), 3);
    sim.set_entry(1, |ctx| async move {
        ForeignWaker(Box::pin(ctx.sleep(Duration::from_millis(5)))).await;
        ctx.emit(Obs::At(ctx.now_ns()));
        for _ in 0..3 {
            let m = ForeignWaker(Box::pin(ctx.recv())).await;
            ctx.emit(Obs::Got(m.msg));
        }
    });
    let (stop, got, _) = check(sim);
    let obs: Vec<Obs> = got.into_iter().map(|(_, _, o)| o).collect();
    assert_eq!(obs, vec![Obs::At(5 * MS), Obs::Got(0), Obs::Got(1), Obs::Got(2)]);
    assert_eq!(stop, StopReason::Quiescent { blocked: 0 });
}
