//! The discrete-event kernel: virtual time, the event queue, the executor
//! that polls node coroutines, RNG streams and the trace.
//!
//! A run is a pure function of its [`SimConfig`] (and so of the scenario and
//! seed): one thread, no wall clock, no hash-order iteration. The loop pops
//! the earliest event, advances time to it, applies it (a message arrives, a
//! timer fires, a fault strikes), then polls every task it made ready, in
//! the order they became ready. The kernel knows nothing of any protocol.

pub(crate) mod clock;
pub(crate) mod executor;
pub mod nemesis;
pub mod observe;
pub(crate) mod queue;
pub mod rng;
pub(crate) mod slab;
pub mod trace;
pub mod types;
pub(crate) mod wheel;
pub(crate) mod world;

use std::cell::RefCell;
use std::hash::Hash;
use std::rc::Rc;

use crate::net::{Latency, LinkModel, Network};
use executor::{Executor, LocalFuture, Polled};
use nemesis::{Fault, FaultWindow, Nemesis, NemesisConfig, NemesisView, ScheduledFault};
use observe::{Extras, Invariant, Reporter, RunEnd, Verdict, Violation};
use queue::{Event, TaskKey};
use trace::{EventKind, Trace, TraceLine, TraceSink};
pub use types::{Nanos, NodeId};
use world::World;
pub use world::{observation_kind, Envelope, NetStats, ObservationRecord, NOTABLE_KIND_MAX};

/// Everything that defines a run (the scenario, resolved).
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Master seed; every RNG stream derives from it.
    pub seed: u64,
    /// Number of protocol nodes (ids `0..node_count`).
    pub node_count: usize,
    /// Number of workload clients (ids after the nodes).
    pub client_count: usize,
    /// Simulated time at which the run ends.
    pub duration_ns: Nanos,
    /// Most events the run may process before it stops inconclusive.
    pub steps_max: u64,
    /// Most events pending in the queue at once.
    pub pending_events_max: u64,
    /// Most messages in the network at once, and most unread in one mailbox.
    pub messages_in_flight_max: u64,
    /// Most bytes of trace text kept or written (`trace.jsonl`, `timeline.jsonl`).
    pub output_bytes_max: u64,
    /// Most faults (fault windows) one run may apply.
    pub fault_windows_max: u64,
    /// Behaviour of every link not overridden.
    pub link_default: LinkModel,
    /// Per-link overrides: (sources, targets, model), later ones win.
    pub link_overrides: Vec<(Vec<NodeId>, Vec<NodeId>, LinkModel)>,
    /// Latency of one fsync.
    pub fsync_latency: Latency,
    /// Scripted faults.
    pub faults: Vec<ScheduledFault>,
    /// The random nemesis, if any.
    pub nemesis: Option<NemesisConfig>,
    /// Order same-time events by the `sched` stream instead of FIFO.
    pub shuffle_ties: bool,
    /// A crash loses, keeps or tears each unsynced write (else loses all).
    pub torn_writes: bool,
    /// The liveness phase, if any: at this time faults stop, and a core
    /// of nodes heals while faults outside it stay for good.
    pub converge: Option<(Nanos, Core)>,
}

/// Which nodes heal in the liveness phase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Core {
    /// A majority of the nodes, drawn from the seed.
    Majority,
    /// Every node: everything heals.
    All,
    /// These nodes.
    Ids(Vec<NodeId>),
}

impl SimConfig {
    /// A calm configuration: `node_count` nodes, 1 ms links, 1 ms fsync, no faults.
    pub fn new(seed: u64, node_count: usize, duration_ns: Nanos) -> SimConfig {
        SimConfig {
            seed,
            node_count,
            client_count: 0,
            duration_ns,
            steps_max: 100_000_000,
            pending_events_max: 1_000_000,
            messages_in_flight_max: 1_000_000,
            output_bytes_max: u64::MAX,
            fault_windows_max: 100_000,
            link_default: LinkModel::default(),
            link_overrides: Vec::new(),
            fsync_latency: Latency::Constant { ns: 1_000_000 },
            faults: Vec::new(),
            nemesis: None,
            shuffle_ties: false,
            torn_writes: false,
            converge: None,
        }
    }
}

/// Why a run stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// It reached its duration.
    Duration,
    /// No event was left; `blocked` tasks were still waiting (0 = all finished).
    Quiescent {
        /// Tasks still waiting for something that will never come.
        blocked: usize,
    },
    /// A safety check failed.
    Violation,
    /// The step budget ran out before the duration: no verdict.
    StepLimit,
    /// A memory bound was reached: no verdict.
    Limit(LimitHit),
}

/// A memory bound of `limits` that stopped a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitHit {
    /// Which bound.
    pub limit: Limit,
    /// Its value.
    pub cap: u64,
    /// Simulated time when it was reached.
    pub at_ns: Nanos,
}

/// The memory bounds of a run (`limits` in a scenario).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Events pending in the queue (`limits.pending_events`).
    PendingEvents,
    /// Messages sent and not yet delivered or dropped (`limits.messages_in_flight`).
    MessagesInFlight,
    /// Messages delivered to `node` and not yet received (also `limits.messages_in_flight`).
    Unread {
        /// The process whose mailbox filled.
        node: NodeId,
    },
    /// Client operations in the history (`limits.history_ops`).
    HistoryOps,
    /// Faults applied (`limits.faults`).
    FaultWindows,
}

impl LimitHit {
    /// One line for users: which bound, when, and what it usually means.
    pub fn describe(&self) -> String {
        let cap = thousands(self.cap);
        let at = self.at_ns as f64 / 1e9;
        match self.limit {
            Limit::PendingEvents => format!(
                "limit: {cap} pending events at {at:.3}s; the protocol schedules messages and timers faster than they fall due (limits.pending_events)"
            ),
            Limit::MessagesInFlight => format!(
                "limit: {cap} messages in flight at {at:.3}s; the protocol sends faster than the network delivers (limits.messages_in_flight)"
            ),
            Limit::FaultWindows => format!(
                "limit: {cap} faults at {at:.3}s; the nemesis injects faults so often that their log would outgrow memory (limits.faults)"
            ),
            Limit::HistoryOps => format!(
                "limit: {cap} client operations at {at:.3}s; a longer history would outgrow what the checker and the report can hold (limits.history_ops)"
            ),
            Limit::Unread { node } => format!(
                "limit: {cap} unread messages in n{node}'s mailbox at {at:.3}s; n{node} receives slower than it is sent to (limits.messages_in_flight)"
            ),
        }
    }
}

/// The stop of a run that went past a bound of `limits`.
#[cold]
fn limit_stop<M, O>(w: &World<M, O>, pending_events_max: u64) -> StopReason {
    match w.limit_hit {
        Some(hit) => StopReason::Limit(hit),
        None => StopReason::Limit(LimitHit { limit: Limit::PendingEvents, cap: pending_events_max, at_ns: w.now }),
    }
}

/// Moves the tasks an event made ready into the driver's empty ready list
/// (between events it is always empty): a swap of buffers, not a copy.
#[inline(always)]
fn take_ready(ready: &mut Vec<TaskKey>, made_ready: &mut Vec<TaskKey>) {
    debug_assert!(ready.is_empty(), "the ready list is drained between events");
    std::mem::swap(ready, made_ready);
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl StopReason {
    /// One line for users.
    pub fn describe(&self) -> String {
        match self {
            StopReason::Duration => "reached its duration".to_string(),
            StopReason::Quiescent { blocked: 0 } => "no events left: every task finished".to_string(),
            StopReason::Quiescent { blocked } => {
                format!("no events left, all nodes blocked ({blocked} tasks waiting for messages or timers that will never come)")
            }
            StopReason::Violation => "stopped at the first violation".to_string(),
            StopReason::StepLimit => "step limit reached before the duration (inconclusive)".to_string(),
            StopReason::Limit(hit) => format!("stopped at a {} (inconclusive)", hit.describe()),
        }
    }

    /// Whether a bound of `limits` stopped the run before a verdict.
    pub fn is_limit(&self) -> bool {
        matches!(self, StopReason::StepLimit | StopReason::Limit(_))
    }
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// Why it stopped.
    pub stop: StopReason,
    /// The trace hash.
    pub trace_hash: u64,
    /// Events processed (trace records).
    pub events: u64,
    /// Queue events popped (the step count the budget limits).
    pub steps: u64,
    /// Most events pending in the queue at once.
    pub peak_pending_events: u64,
    /// Most messages in the network at once.
    pub peak_messages_in_flight: u64,
    /// Simulated time at the end.
    pub end_ns: Nanos,
    /// Message counters.
    pub net: NetStats,
    /// The first violation, if a check failed.
    pub violation: Option<Violation>,
    /// Every check's verdict, in registration order.
    pub checks: Vec<(String, Verdict)>,
    /// Fault windows.
    pub faults: Vec<FaultWindow>,
    /// Observations of notable kinds (at most `NOTABLE_KIND_MAX` of a kind), if recording was asked for.
    pub observations: Vec<ObservationRecord>,
    /// Whether the trace text reached `output_bytes_max` and the rest was dropped.
    pub trace_cut: bool,
    /// The kept trace lines (when the trace sink was `Tail` or `Window`).
    pub trace_lines: Vec<String>,
    /// An I/O error of the trace file, if writing it failed.
    pub trace_error: Option<String>,
    /// What the reporters added: `summary.json` stats and report charts.
    pub extras: Extras,
    /// Every fault the random nemesis drew, in draw order, each with the
    /// time it applies (its undoing follows it as a fault of its own).
    pub nemesis_faults: Vec<ScheduledFault>,
}

/// A process's entry point as the kernel keeps it: given the world and the
/// process id, it makes the task to run.
pub(crate) type Entry<M, O> = Rc<dyn Fn(Rc<RefCell<World<M, O>>>, NodeId) -> LocalFuture>;

/// One simulation: the world plus its driver.
pub struct Sim<M, O> {
    world: Rc<RefCell<World<M, O>>>,
    exec: Executor,
    entries: Vec<Option<Entry<M, O>>>,
    faults: Vec<Fault>,
    nemesis: Option<Nemesis>,
    /// Every fault the nemesis drew, in draw order (what `shrink` scripts).
    drawn: Vec<ScheduledFault>,
    config: SimConfig,
    ready: Vec<TaskKey>,
    steps: u64,
}

impl<M, O> Sim<M, O>
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    /// A simulation of `config` whose trace goes to `sink`.
    pub fn new(config: SimConfig, sink: TraceSink) -> Self {
        Self::with_options(config, sink, false)
    }

    /// As [`Sim::new`]; `record_observations` keeps every observation for reports.
    pub fn with_options(config: SimConfig, sink: TraceSink, record_observations: bool) -> Self {
        let procs = config.node_count + config.client_count;
        let mut net = Network::new(procs, config.link_default.clone());
        for (s, t, m) in &config.link_overrides {
            net.set_links(s, t, m.clone());
        }
        let world = World::new(
            config.seed,
            config.node_count,
            config.client_count,
            net,
            config.fsync_latency.clone(),
            Trace::capped(sink, config.output_bytes_max),
            record_observations,
        );
        let mut faults = Vec::new();
        let mut world = world;
        world.messages_in_flight_max = usize::try_from(config.messages_in_flight_max).unwrap_or(usize::MAX);
        world.queue.set_cap(usize::try_from(config.pending_events_max).unwrap_or(usize::MAX));
        world.torn_writes = config.torn_writes;
        if config.shuffle_ties {
            world.queue.shuffle_ties(rng::Prng::stream(config.seed, "sched"));
        }
        for f in &config.faults {
            world.queue.push(f.at_ns, Event::Action(faults.len() as u32));
            faults.push(f.fault.clone());
        }
        let nemesis = config.nemesis.clone().map(|c| Nemesis::new(c, config.seed));
        if let Some(n) = &nemesis {
            world.queue.push(n.first_tick(), Event::Nemesis);
        }
        if let Some((at, _)) = &config.converge {
            world.queue.push(*at, Event::Converge);
        }
        Sim {
            world: Rc::new(RefCell::new(world)),
            exec: Executor::default(),
            entries: vec![None; procs],
            faults,
            nemesis,
            drawn: Vec::new(),
            config,
            ready: Vec::new(),
            steps: 0,
        }
    }

    /// Sets the entry point of processes `ids`: it is handed the world and
    /// the process id and returns the task to run, at start and after every
    /// restart. (`node.rs` builds the public `set_entry` on this, so the
    /// kernel does not know the node API.)
    pub(crate) fn set_entries(&mut self, ids: impl IntoIterator<Item = NodeId>, entry: Entry<M, O>) {
        for id in ids {
            self.entries[id] = Some(entry.clone());
        }
    }

    /// Number of protocol nodes.
    pub(crate) fn node_count(&self) -> usize {
        self.config.node_count
    }

    /// The shared world (for the node API's contexts).
    pub(crate) fn world(&self) -> Rc<RefCell<World<M, O>>> {
        self.world.clone()
    }

    /// Adds a checker.
    pub fn add_invariant(&mut self, check: Box<dyn Invariant<O>>) {
        self.world.borrow_mut().add_checker(check);
    }

    /// Tells the nemesis which node leads: the last one whose observation
    /// `shows` picks (its `leader` target mode aims there).
    pub fn set_leader_shown(&mut self, shows: impl Fn(&O) -> bool + 'static) {
        self.world.borrow_mut().leader_shown = Some(Box::new(shows));
    }

    /// Adds a reporter: numbers and charts for the run's report.
    pub fn add_reporter(&mut self, reporter: Box<dyn Reporter<O>>) {
        self.world.borrow_mut().reporters.push(reporter);
    }

    fn start(&mut self, id: NodeId) {
        let Some(entry) = self.entries[id].clone() else {
            return;
        };
        {
            let mut w = self.world.borrow_mut();
            w.procs[id].up = true;
            w.record_fault(EventKind::Start, 0, Some(id), &format!("start n{id}"));
        }
        let fut = entry(self.world.clone(), id);
        let key = self.exec.spawn(id, fut);
        self.ready.push(key);
    }

    /// Runs to the end and returns the result.
    pub fn run(mut self) -> RunResult {
        for id in 0..self.entries.len() {
            self.start(id);
        }
        // Polls made already at this instant (a timer's task is polled at once).
        let mut polled = 0;
        let stop = loop {
            let settled = self.run_ready(polled);
            polled = 0;
            let mut w = self.world.borrow_mut();
            if w.violation.is_some() {
                break StopReason::Violation;
            }
            if self.steps >= self.config.steps_max || !settled {
                break StopReason::StepLimit;
            }
            if w.queue.over() || w.limit_hit.is_some() {
                break limit_stop(&w, self.config.pending_events_max);
            }
            let Some(time) = w.queue.peek_time() else {
                drop(w);
                break StopReason::Quiescent { blocked: self.exec.live() };
            };
            if time > self.config.duration_ns {
                w.now = self.config.duration_ns;
                break StopReason::Duration;
            }
            let (time, event) = w.queue.pop().expect("peeked");
            w.now = time;
            self.steps += 1;
            match event {
                Event::Wake(key) => {
                    w.trace.record(EventKind::Timer, time, 0, 0, key.raw());
                    if w.trace.wants_text() {
                        // A timer is an event of its task's process, on that process's Lamport clock.
                        let lamport = self.exec.proc_of(key).map(|p| w.trace.lamport.local(p));
                        w.trace.text(|i| {
                            TraceLine { task: Some(key.raw()), lamport, ..TraceLine::new(i, time, EventKind::Timer) }
                                .to_json()
                        });
                    }
                    // The ready list is empty here, so polling the task at
                    // once is what `run_ready` would do first, without the
                    // list (the foreign queue is empty too: nothing ran since
                    // it was drained). With thousands of timers the next
                    // task's slot is far from this one in memory: load it
                    // now, so that the cache miss overlaps this poll.
                    if let Some(Event::Wake(next)) = w.queue.next_event() {
                        self.exec.touch(next);
                    }
                    drop(w);
                    debug_assert!(self.ready.is_empty());
                    self.poll(key);
                    polled = 1;
                }
                Event::WakeWaker(slot) => {
                    w.trace.record(EventKind::Timer, time, 1, 0, slot as u64);
                    if w.trace.wants_text() {
                        w.trace.text(|i| {
                            TraceLine { waker: Some(slot as u64), ..TraceLine::new(i, time, EventKind::Timer) }
                                .to_json()
                        });
                    }
                    w.wake_waker(slot);
                }
                Event::Deliver(slot) => {
                    w.deliver(slot);
                    take_ready(&mut self.ready, &mut w.ready);
                }
                Event::Fsync { proc, inc } => {
                    w.complete_fsync(proc as usize, inc);
                    take_ready(&mut self.ready, &mut w.ready);
                }
                // In the liveness phase no fault starts or ends any more.
                Event::Action(_) | Event::Nemesis if w.converged_ns.is_some() => {}
                Event::Action(i) => {
                    drop(w);
                    let fault = self.faults[i as usize].clone();
                    self.apply(fault);
                }
                Event::Nemesis => {
                    drop(w);
                    self.nemesis_tick(time);
                }
                Event::Converge => {
                    drop(w);
                    self.converge(time);
                }
            }
        };
        self.finish(stop)
    }

    /// Polls ready tasks until none is left at this instant (`polls` made
    /// already, outside the list, count to the budget). Returns false
    /// if that took more polls than the whole run's step budget: tasks that
    /// keep waking each other (through channels) while no time passes are a
    /// livelock, and the budget must stop them too.
    #[inline]
    fn run_ready(&mut self, mut polls: u64) -> bool {
        loop {
            self.exec.foreign.drain_into(&mut self.ready);
            if self.ready.is_empty() {
                return true;
            }
            if polls >= self.config.steps_max {
                return false;
            }
            let batch = std::mem::take(&mut self.ready);
            polls += batch.len() as u64;
            for &key in &batch {
                self.poll(key);
            }
            // Reuse the batch's buffer when nothing was queued meanwhile.
            if self.ready.is_empty() {
                let mut batch = batch;
                batch.clear();
                self.ready = batch;
            }
        }
    }

    #[inline]
    fn poll(&mut self, key: TaskKey) {
        let world = &self.world;
        let polled = self.exec.poll(key, |proc, waker| {
            let mut w = world.borrow_mut();
            if w.procs[proc].paused {
                w.procs[proc].deferred.push(key);
                return false;
            }
            w.current_task = key;
            w.current_waker_data = waker.data();
            true
        });
        let mut w = self.world.borrow_mut();
        w.current_waker_data = std::ptr::null();
        if !w.ready.is_empty() {
            self.ready.append(&mut w.ready);
        }
        if !w.spawned.is_empty() && matches!(polled, Polled::Pending | Polled::Done) {
            let spawned = std::mem::take(&mut w.spawned);
            drop(w);
            for (proc, fut) in spawned {
                let key = self.exec.spawn(proc, fut);
                self.ready.push(key);
            }
        }
    }

    fn nemesis_tick(&mut self, now: Nanos) {
        let mut w = self.world.borrow_mut();
        let view = NemesisView {
            node_count: self.config.node_count,
            process_count: self.config.node_count + self.config.client_count,
            leader: w.leader,
        };
        let Some(n) = &mut self.nemesis else { return };
        let (faults, next) = n.tick(now, view);
        for f in faults {
            w.queue.push(f.at_ns, Event::Action(self.faults.len() as u32));
            self.drawn.push(f.clone());
            self.faults.push(f.fault);
        }
        if let Some(t) = next {
            w.queue.push(t, Event::Nemesis);
        }
    }

    /// Applies one fault now.
    fn apply(&mut self, fault: Fault) {
        let now = self.world.borrow().now;
        {
            let mut w = self.world.borrow_mut();
            w.faults.apply(&fault, now);
            if w.faults.windows.len() as u64 > self.config.fault_windows_max {
                w.hit(Limit::FaultWindows, self.config.fault_windows_max);
            }
        }
        self.world.borrow_mut().record_fault(EventKind::Fault, fault.code(), fault.node(), &fault.describe());
        match fault {
            Fault::Crash(n) => {
                {
                    let mut w = self.world.borrow_mut();
                    let p = &mut w.procs[n];
                    if !p.up {
                        return;
                    }
                    p.up = false;
                    p.paused = false;
                    p.incarnation += 1;
                    p.mailbox.clear();
                    p.calls.clear();
                    p.recv_waiters.clear();
                    p.fsync_waiters.clear();
                    p.deferred.clear();
                    if w.torn_writes {
                        // Each crash tears from a stream of its own (node and
                        // time), not the shared disk stream: removing one crash
                        // from a scenario leaves what every other crash tears
                        // as it was, which is what lets `shrink` drop crashes.
                        let key = trace::stable_hash(&(self.config.seed, n as u64, now));
                        w.procs[n].disk.crash_torn(&mut rng::Prng::stream(key, "torn"));
                    } else {
                        w.procs[n].disk.crash();
                    }
                }
                // Dropped with no borrow held: futures' destructors may use their context.
                drop(self.exec.remove_proc(n));
            }
            Fault::Restart(n) => {
                if !self.world.borrow().procs[n].up {
                    self.start(n);
                }
            }
            Fault::Pause(n) => self.world.borrow_mut().procs[n].paused = true,
            Fault::Resume(n) => {
                let mut w = self.world.borrow_mut();
                let p = &mut w.procs[n];
                p.paused = false;
                self.ready.append(&mut p.deferred);
            }
            Fault::Partition(groups) => self.world.borrow_mut().net.partition(&groups),
            Fault::Cut { source, target } => self.world.borrow_mut().net.cut_one_way(source, target),
            Fault::Heal => self.world.borrow_mut().net.heal(),
            Fault::CutLinks { links, .. } => {
                let net = &mut self.world.borrow_mut().net;
                links.iter().for_each(|&(a, b)| net.cut_counted(a, b));
            }
            Fault::Transient { kind, links, .. } => {
                let net = &mut self.world.borrow_mut().net;
                links.iter().for_each(|&(a, b)| net.start_transient(a, b, kind));
            }
            Fault::TransientEnd { kind, links, .. } => {
                let mut w = self.world.borrow_mut();
                links.iter().for_each(|&(a, b)| w.net.end_transient(a, b, kind));
                if kind == nemesis::TransientKind::Clog {
                    w.release_held();
                }
            }
            Fault::SlowDisk { node, extra_ns } => self.world.borrow_mut().procs[node].fsync_extra_ns = extra_ns,
            Fault::MendLinks { links, .. } => {
                let net = &mut self.world.borrow_mut().net;
                links.iter().for_each(|&(a, b)| net.mend_counted(a, b));
            }
            Fault::ClockRate { node, rate_ppm } => {
                let mut w = self.world.borrow_mut();
                let now = w.now;
                w.procs[node].clock.set_rate(now, rate_ppm);
                drop(w);
                self.wake_all_of(node);
            }
            Fault::ClockJump { node, by_ns } => {
                let mut w = self.world.borrow_mut();
                let now = w.now;
                w.procs[node].clock.jump(now, by_ns);
                drop(w);
                self.wake_all_of(node);
            }
        }
    }

    /// The liveness phase begins: the core's crashed nodes restart, its
    /// paused ones resume, its clocks and disks return to normal, and the
    /// links among its nodes heal; every other fault stays in force for the
    /// rest of the run, and none starts or ends any more.
    fn converge(&mut self, now: Nanos) {
        let n = self.config.node_count;
        let core: Vec<NodeId> = match &self.config.converge {
            Some((_, Core::All)) | None => (0..n).collect(),
            Some((_, Core::Ids(ids))) => ids.clone(),
            Some((_, Core::Majority)) => {
                let mut rng = rng::Prng::stream(self.config.seed, "converge");
                let mut order: Vec<NodeId> = (0..n).collect();
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.index(i + 1));
                }
                order.truncate(n / 2 + 1);
                order.sort_unstable();
                order
            }
        };
        let text = format!("liveness phase: core {core:?} heals, other faults stay");
        self.world.borrow_mut().record_fault(EventKind::Fault, 15, None, &text);
        for &id in &core {
            let (down, paused, skewed, slow) = {
                let w = self.world.borrow();
                let p = &w.procs[id];
                (!p.up, p.paused, !p.clock.is_exact(), p.fsync_extra_ns > 0)
            };
            if down {
                self.apply(Fault::Restart(id));
            }
            if paused {
                self.apply(Fault::Resume(id));
            }
            if skewed {
                self.apply(Fault::ClockRate { node: id, rate_ppm: clock::RATE_PPM_EXACT });
            }
            if slow {
                self.apply(Fault::SlowDisk { node: id, extra_ns: 0 });
            }
        }
        let mut w = self.world.borrow_mut();
        w.net.heal_within(&core);
        w.release_held();
        w.faults.close_links_within(&core, now);
        w.converged_ns = Some(now);
    }

    /// Makes every live task of `node` ready: each timer re-arms on that
    /// spurious poll against the changed clock (a clock fault is rare, so a
    /// scan of the task slab is fine).
    fn wake_all_of(&mut self, node: NodeId) {
        let keys = self.exec.keys_of(node);
        self.ready.extend(keys);
    }

    fn finish(self, stop: StopReason) -> RunResult {
        let Sim { world, steps, exec, drawn, .. } = self;
        // Drop every task before the world: their contexts hold it.
        drop(exec);
        let end_ns = world.borrow().now;
        let log = std::mem::take(&mut world.borrow_mut().faults);
        let end = RunEnd {
            end_ns,
            last_heal_ns: log.last_heal(),
            converged_ns: world.borrow().converged_ns,
            completed: matches!(stop, StopReason::Duration | StopReason::Quiescent { .. } | StopReason::Violation),
            faults: &log,
        };
        let mut w = world.borrow_mut();
        let violation = w.violation.clone();
        let mut checkers = std::mem::take(&mut w.checkers);
        let checks = checkers
            .iter_mut()
            .map(|c| {
                let verdict = match &violation {
                    Some(v) if v.check == c.name() => Verdict::Fail(v.detail.clone()),
                    Some(_) => Verdict::Unknown("the run stopped at another check's violation".to_string()),
                    None if stop == StopReason::StepLimit => {
                        Verdict::Unknown("the step limit stopped the run".to_string())
                    }
                    None if stop.is_limit() => {
                        Verdict::Unknown(format!("a limit stopped the run: {}", stop.describe()))
                    }
                    None => c.on_finish(&end),
                };
                (c.name().to_string(), verdict)
            })
            .collect();
        let mut extras = Extras::default();
        for r in &mut w.reporters {
            extras.merge(r.on_finish(&end));
        }
        let (trace_lines, trace_error) = match w.trace.finish() {
            Ok(tail) => (tail, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        RunResult {
            stop,
            trace_hash: w.trace.hash(),
            events: w.trace.events(),
            steps,
            peak_pending_events: w.queue.peak() as u64,
            peak_messages_in_flight: w.peak_in_flight as u64,
            end_ns,
            net: w.stats,
            violation,
            checks,
            faults: log.windows.clone(),
            observations: w.observations.take().map(world::Notables::into_records).unwrap_or_default(),
            trace_cut: w.trace.was_cut(),
            trace_lines,
            trace_error,
            extras,
            nemesis_faults: drawn,
        }
    }
}
