//! The coroutine primitives, through the public API: channel order, capacity
//! and closing; a crash dropping a node's channels and waiters; `select!`
//! choosing the first ready branch the same way every run; join handles;
//! `call` timing out and dropping late replies; `quorum` under duplication,
//! loss and refusals; and the step budget stopping tasks that wake each
//! other forever. Each test records what its nodes saw as observations and
//! compares them with what the primitive promises.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use faultline::coro::{Correlated, RequestId, Tally, TryRecvError, TrySendError};
use faultline::nemesis::{Fault, ScheduledFault};
use faultline::net::{Latency, LinkModel};
use faultline::sim::rng::Probability;
use faultline::sim::trace::TraceSink;
use faultline::{select, Ctx, Sim, SimConfig, StopReason};

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;

type Seen = Rc<RefCell<Vec<String>>>;

/// Runs `sim`, returning its result and every observation's text, in order.
fn check<M>(mut sim: Sim<M, String>) -> (faultline::RunResult, Vec<String>)
where
    M: Clone + std::fmt::Debug + std::hash::Hash + 'static,
{
    let seen: Seen = Rc::default();
    let s = seen.clone();
    sim.add_invariant(Box::new(faultline::check::FnInvariant::new("record", move |_, _, o: &String| {
        s.borrow_mut().push(o.clone());
        Ok(())
    })));
    let r = sim.run();
    let seen = seen.borrow().clone();
    (r, seen)
}

fn config(nodes: usize) -> SimConfig {
    SimConfig::new(7, nodes, 10 * S)
}

#[test]
fn channel_delivers_in_order_from_every_sender_and_closes_when_they_are_gone() {
    let mut sim: Sim<u64, String> = Sim::new(config(1), TraceSink::Off);
    sim.set_entry(0, |ctx| async move {
        let (tx, mut rx) = ctx.channel::<u64>();
        for base in [100, 200] {
            let tx = tx.clone();
            let c = ctx.clone();
            ctx.spawn(async move {
                for i in 0..3 {
                    tx.send(base + i).await.unwrap();
                    c.sleep(Duration::from_millis(1)).await;
                }
            });
        }
        drop(tx);
        while let Some(v) = rx.recv().await {
            ctx.emit(format!("{v}"));
        }
        ctx.emit("closed".into());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
    let (r, seen) = check(sim);
    assert_eq!(seen, ["100", "200", "101", "201", "102", "202", "closed"]);
    assert_eq!(r.stop, StopReason::Quiescent { blocked: 0 });
}

#[test]
fn bounded_channel_makes_senders_wait_and_wakes_them_first_come_first_served() {
    let mut sim: Sim<u64, String> = Sim::new(config(1), TraceSink::Off);
    sim.set_entry(0, |ctx| async move {
        let (tx, mut rx) = ctx.bounded::<String>(1);
        tx.try_send("first".into()).unwrap();
        assert!(matches!(tx.try_send("no room".into()), Err(TrySendError::Full(_))));
        for name in ["a", "b", "c"] {
            let (tx, c) = (tx.clone(), ctx.clone());
            ctx.spawn(async move {
                tx.send(name.to_string()).await.unwrap();
                c.emit(format!("{name} sent"));
            });
        }
        drop(tx);
        // Let all three block on the full channel, in spawn order.
        ctx.sleep(Duration::from_millis(1)).await;
        while let Some(v) = rx.recv().await {
            ctx.emit(format!("got {v}"));
        }
    });
    let (_, seen) = check(sim);
    assert_eq!(seen, ["got first", "a sent", "got a", "b sent", "got b", "c sent", "got c"]);
}

#[test]
fn a_send_to_a_dropped_receiver_fails_and_returns_the_value() {
    let mut sim: Sim<u64, String> = Sim::new(config(1), TraceSink::Off);
    sim.set_entry(0, |ctx| async move {
        let (tx, rx) = ctx.channel::<u64>();
        drop(rx);
        ctx.emit(format!("{:?}", tx.send(5).await));
        let (one_tx, one_rx) = ctx.oneshot::<u64>();
        drop(one_tx);
        ctx.emit(format!("{:?}", one_rx.await));
    });
    let (_, seen) = check(sim);
    assert_eq!(seen, ["Err(SendError(5))", "Err(Canceled)"]);
}

/// Drops record themselves, so a test sees which futures a crash destroyed.
struct Guard(Seen, &'static str);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.borrow_mut().push(format!("dropped {}", self.1));
    }
}

#[test]
fn a_crash_drops_the_nodes_channels_and_the_tasks_waiting_on_them() {
    let mut c = config(1);
    c.faults = vec![ScheduledFault { at_ns: 5 * MS, fault: Fault::Crash(0) }];
    let outside: Rc<RefCell<Option<faultline::coro::Sender<u64>>>> = Rc::default();
    let drops: Seen = Rc::default();
    let mut sim: Sim<u64, String> = Sim::new(c, TraceSink::Off);
    let (keep, d) = (outside.clone(), drops.clone());
    sim.set_entry(0, move |ctx| {
        let (keep, d) = (keep.clone(), d.clone());
        async move {
            let (tx, mut rx) = ctx.channel::<u64>();
            *keep.borrow_mut() = Some(tx.clone());
            let c = ctx.clone();
            let d2 = d.clone();
            ctx.spawn(async move {
                let _g = Guard(d2, "waiter");
                while let Some(v) = rx.recv().await {
                    c.emit(format!("got {v}"));
                }
            });
            tx.send(1).await.unwrap();
            let _g = Guard(d, "main");
            ctx.sleep(Duration::from_secs(1)).await;
            ctx.emit("survived the crash".into());
        }
    });
    let (_, seen) = check(sim);
    assert_eq!(seen, ["got 1"]);
    let mut drops = drops.borrow().clone();
    drops.sort();
    assert_eq!(drops, ["dropped main", "dropped waiter"]);
    let tx = outside.borrow_mut().take().unwrap();
    assert!(tx.is_closed(), "the receiver died with its node");
    assert!(matches!(tx.try_send(2), Err(TrySendError::Closed(2))));
}

/// A node with a message in its mailbox and a value in a channel at once:
/// `select!` takes whichever branch is written first.
fn both_ready(channel_first: bool) -> (u64, Vec<String>) {
    let mut c = config(2);
    c.link_default = LinkModel { latency: Latency::Constant { ns: MS }, ..LinkModel::default() };
    let mut sim: Sim<u64, String> = Sim::new(c, TraceSink::Off);
    sim.set_entry(0, |ctx| async move { ctx.send(1, 9) });
    sim.set_entry(1, move |ctx| async move {
        let (tx, mut rx) = ctx.channel::<u64>();
        tx.try_send(7).unwrap();
        ctx.sleep(Duration::from_millis(2)).await;
        for _ in 0..2 {
            if channel_first {
                select! {
                    v = rx.recv() => ctx.emit(format!("channel {v:?}")),
                    env = ctx.recv() => ctx.emit(format!("message {}", env.msg)),
                }
            } else {
                select! {
                    env = ctx.recv() => ctx.emit(format!("message {}", env.msg)),
                    v = rx.recv() => ctx.emit(format!("channel {v:?}")),
                    () = ctx.sleep(Duration::from_secs(1)) => ctx.emit("timeout".into()),
                }
            }
        }
    });
    let (r, seen) = check(sim);
    (r.trace_hash, seen)
}

#[test]
fn select_takes_the_first_ready_branch_in_written_order_and_loses_nothing() {
    let (h1, seen) = both_ready(true);
    assert_eq!(seen, ["channel Some(7)", "message 9"]);
    let (h2, seen) = both_ready(false);
    assert_eq!(seen, ["message 9", "channel Some(7)"]);
    assert_eq!(both_ready(true).0, h1, "same run, same hash");
    assert_ne!(h1, h2);
}

#[test]
fn select_times_out_when_nothing_else_comes() {
    let mut sim: Sim<u64, String> = Sim::new(config(1), TraceSink::Off);
    sim.set_entry(0, |ctx| async move {
        let (_tx, mut rx) = ctx.channel::<u64>();
        let started = ctx.now();
        select! {
            _ = rx.recv() => ctx.emit("value".into()),
            env = ctx.recv() => ctx.emit(format!("message {}", env.msg)),
            () = ctx.sleep(Duration::from_millis(30)) => ctx.emit(format!("timeout after {:?}", ctx.now() - started)),
        }
    });
    let (_, seen) = check(sim);
    assert_eq!(seen, ["timeout after 30ms"]);
}

#[test]
fn join_handles_return_results_cancel_tasks_and_join_waits_for_all() {
    let drops: Seen = Rc::default();
    let mut sim: Sim<u64, String> = Sim::new(config(1), TraceSink::Off);
    let d = drops.clone();
    sim.set_entry(0, move |ctx| {
        let d = d.clone();
        async move {
            let c = ctx.clone();
            let answer = ctx.spawn(async move {
                c.sleep(Duration::from_millis(5)).await;
                42u64
            });
            let c = ctx.clone();
            let slow = ctx.spawn(async move {
                let _g = Guard(d, "slow");
                c.sleep(Duration::from_secs(5)).await;
                c.emit("slow finished".into());
            });
            ctx.emit(format!("answer {:?}", answer.await));
            slow.cancel();
            ctx.emit(format!("slow {:?}", slow.await));
            let c = ctx.clone();
            let (a, b) = faultline::join(c.sleep(Duration::from_millis(3)), async { 1 }).await;
            ctx.emit(format!("join {a:?} {b}"));
            let waits = [3u64, 1, 2].map(|ms| {
                let c = ctx.clone();
                async move {
                    c.sleep(Duration::from_millis(ms)).await;
                    ms
                }
            });
            ctx.emit(format!("join_all {:?} at {:?}", faultline::join_all(waits).await, ctx.now()));
        }
    });
    let (_, seen) = check(sim);
    assert_eq!(seen, ["answer Ok(42)", "slow Err(Canceled)", "join () 1", "join_all [3, 1, 2] at 11ms"]);
    assert_eq!(*drops.borrow(), ["dropped slow"]);
}

/// Request/reply messages: a request carries the library's id, a reply echoes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Rpc {
    Ask { id: RequestId, delay_ms: u64 },
    Answer { id: RequestId, yes: bool },
    Other(u64),
}

impl Correlated for Rpc {
    fn reply_to(&self) -> Option<RequestId> {
        match self {
            Rpc::Answer { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// Nodes `1..` answer every `Ask` after its delay; node `n` says no when `n` is in `refuse`.
async fn server(ctx: Ctx<Rpc, String>, refuse: Vec<usize>) {
    loop {
        let env = ctx.recv().await;
        if let Rpc::Ask { id, delay_ms } = env.msg {
            let c = ctx.clone();
            let yes = !refuse.contains(&ctx.id());
            ctx.spawn(async move {
                c.sleep(Duration::from_millis(delay_ms)).await;
                c.send(env.from, Rpc::Answer { id, yes });
            });
        }
    }
}

fn rpc_sim(nodes: usize, link: LinkModel, refuse: Vec<usize>) -> Sim<Rpc, String> {
    let mut c = config(nodes);
    c.link_default = link;
    let mut sim = Sim::new(c, TraceSink::Off);
    for n in 1..nodes {
        let refuse = refuse.clone();
        sim.set_entry(n, move |ctx| server(ctx, refuse.clone()));
    }
    sim
}

fn constant_link() -> LinkModel {
    LinkModel { latency: Latency::Constant { ns: MS }, ..LinkModel::default() }
}

#[test]
fn call_times_out_and_a_late_reply_is_matched_to_nothing() {
    let mut sim = rpc_sim(2, constant_link(), vec![]);
    sim.set_entry(0, |ctx| async move {
        let timeout = Duration::from_millis(10);
        let slow = ctx.call(1, |id| Rpc::Ask { id, delay_ms: 20 }, timeout).await;
        ctx.emit(format!("slow {slow:?}"));
        let fast = ctx.call(1, |id| Rpc::Ask { id, delay_ms: 1 }, timeout).await;
        ctx.emit(format!("fast {fast:?}"));
        // The slow answer arrives at about 22 ms: nobody may receive it.
        ctx.send(0, Rpc::Other(1));
        select! {
            env = ctx.recv() => ctx.emit(format!("recv {:?}", env.msg)),
            () = ctx.sleep(Duration::from_millis(50)) => ctx.emit("quiet".into()),
        }
        select! {
            env = ctx.recv() => ctx.emit(format!("recv {:?}", env.msg)),
            () = ctx.sleep(Duration::from_millis(50)) => ctx.emit("quiet".into()),
        }
    });
    let (r, seen) = check(sim);
    assert_eq!(seen[0], "slow Err(Timeout)");
    assert!(seen[1].starts_with("fast Ok(Answer { id: 1, yes: true })"), "{seen:?}");
    assert_eq!(seen[2..], ["recv Other(1)", "quiet"]);
    assert_eq!(r.net.late, 1, "the slow answer was dropped as late");
}

#[test]
fn quorum_counts_each_node_once_despite_duplicates() {
    let link = LinkModel { duplicate: Probability::from_f64(1.0), ..constant_link() };
    let mut sim = rpc_sim(4, link, vec![]);
    sim.set_entry(0, |ctx| async move {
        let tally = |e: &faultline::Envelope<Rpc>| match e.msg {
            Rpc::Answer { yes: true, .. } => Tally::Yes,
            _ => Tally::No,
        };
        let got = ctx.quorum(&[1, 2, 3], 3, |id| Rpc::Ask { id, delay_ms: 1 }, tally, Duration::from_secs(1)).await;
        let from: Vec<usize> = got.unwrap().iter().map(|e| e.from).collect();
        ctx.emit(format!("quorum from {} distinct nodes: {}", from.len(), from.len() == 3));
    });
    let (r, seen) = check(sim);
    assert_eq!(seen, ["quorum from 3 distinct nodes: true"]);
    assert!(r.net.duplicated > 0);
}

#[test]
fn quorum_succeeds_without_a_lost_node_and_times_out_when_too_many_are_lost() {
    let lossy = LinkModel { loss: Probability::from_f64(1.0), ..constant_link() };
    for (need, expect) in [(2, "ok [1, 2]"), (3, "timed out with 2 yes")] {
        let mut c = config(4);
        c.link_default = constant_link();
        c.link_overrides = vec![(vec![0], vec![3], lossy.clone())];
        let mut sim = Sim::new(c, TraceSink::Off);
        for n in 1..4 {
            sim.set_entry(n, move |ctx| server(ctx, vec![]));
        }
        sim.set_entry(0, move |ctx| async move {
            let yes = |_: &faultline::Envelope<Rpc>| Tally::Yes;
            let r =
                ctx.quorum(&[1, 2, 3], need, |id| Rpc::Ask { id, delay_ms: 1 }, yes, Duration::from_millis(50)).await;
            ctx.emit(match r {
                Ok(v) => format!("ok {:?}", v.iter().map(|e| e.from).collect::<Vec<_>>()),
                Err(e) => format!("timed out with {} yes{}", e.yes.len(), if e.timed_out { "" } else { " (refused?)" }),
            });
        });
        let (_, seen) = check(sim);
        assert_eq!(seen, [expect], "need {need}");
    }
}

#[test]
fn quorum_fails_early_once_refusals_make_it_impossible() {
    let mut sim = rpc_sim(4, constant_link(), vec![2, 3]);
    sim.set_entry(0, |ctx| async move {
        let tally = |e: &faultline::Envelope<Rpc>| match e.msg {
            Rpc::Answer { yes: true, .. } => Tally::Yes,
            _ => Tally::No,
        };
        let started = ctx.now();
        let r = ctx.quorum(&[1, 2, 3], 2, |id| Rpc::Ask { id, delay_ms: 1 }, tally, Duration::from_secs(1)).await;
        let e = r.unwrap_err();
        ctx.emit(format!(
            "timed_out {} yes {} no {} after {:?}",
            e.timed_out,
            e.yes.len(),
            e.no.len(),
            ctx.now() - started
        ));
    });
    let (_, seen) = check(sim);
    assert_eq!(seen, ["timed_out false yes 1 no 2 after 3ms"]);
}

#[test]
fn tasks_waking_each_other_forever_hit_the_step_budget() {
    let mut c = config(1);
    c.steps_max = 10_000;
    let mut sim: Sim<u64, String> = Sim::new(c, TraceSink::Off);
    sim.set_entry(0, |ctx| async move {
        let (to_b, mut at_b) = ctx.channel::<u64>();
        let (to_a, mut at_a) = ctx.channel::<u64>();
        ctx.spawn(async move {
            while let Some(n) = at_b.recv().await {
                let _ = to_a.send(n + 1).await;
            }
        });
        to_b.send(0).await.unwrap();
        while let Some(n) = at_a.recv().await {
            let _ = to_b.send(n + 1).await;
        }
    });
    let (r, _) = check(sim);
    assert_eq!(r.stop, StopReason::StepLimit);
}
