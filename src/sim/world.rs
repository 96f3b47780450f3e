//! The state of a running simulation that node code may touch through its
//! context: time, the event queue, the network, every process's mailbox,
//! clock, disk and RNG, the trace and the checkers.
//!
//! The world is shared between the driver and node contexts as
//! `Rc<RefCell<World>>`. The driver never holds a borrow while it polls or
//! drops a task, and context calls borrow only for the call, so a borrow
//! conflict is a kernel bug (and panics).

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::Waker;

use crate::net::{Fate, Latency, Network};
use crate::sim::clock::LocalClock;
use crate::sim::observe::{Invariant, Violation};
use crate::sim::queue::{Event, EventQueue, Nanos, TaskKey};
use crate::sim::rng::Prng;
use crate::sim::slab::Slab;
use crate::sim::trace::{debug_label, stable_hash, EventKind, Trace, TraceLine};
use crate::storage::Disk;

pub use crate::sim::types::NodeId;

/// A message as its target receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope<M> {
    /// Who sent it.
    pub from: NodeId,
    /// The message.
    pub msg: M,
}

/// A task waiting for something: our own task (fast path) or a foreign waker.
pub(crate) enum Waiter {
    Task(TaskKey),
    Waker(Waker),
}

impl Waiter {
    pub(crate) fn wake(self, ready: &mut Vec<TaskKey>) {
        match self {
            Waiter::Task(k) => ready.push(k),
            Waiter::Waker(w) => w.wake(),
        }
    }
}

pub(crate) struct Proc<M> {
    pub up: bool,
    pub paused: bool,
    pub incarnation: u32,
    pub mailbox: VecDeque<Envelope<M>>,
    pub recv_waiters: Vec<Waiter>,
    pub fsync_waiters: Vec<Waiter>,
    /// Extra latency of each fsync while a slow-disk fault is in force.
    pub fsync_extra_ns: Nanos,
    /// Tasks woken while paused; they run on resume.
    pub deferred: Vec<TaskKey>,
    pub clock: LocalClock,
    pub rng: Prng,
    pub disk: Disk,
    /// Calls waiting for replies ([`crate::Ctx::call`]), by request id; a
    /// handful at most, so a vector.
    pub calls: Vec<PendingCall<M>>,
}

/// A call waiting for replies: replies to `id` land in `inbox`, not in the mailbox.
pub(crate) struct PendingCall<M> {
    pub id: u64,
    pub inbox: VecDeque<Envelope<M>>,
    pub waiter: Option<Waiter>,
}

/// What node-local primitives (channels, join handles) need of the world,
/// without its message and observation types: to learn how the polled task
/// is woken, and to wake a task (a wake is a trace event).
pub(crate) trait Core {
    /// How a primitive polled with `waker` should be woken.
    fn waiter_for(&self, waker: &Waker) -> Waiter;
    /// Wakes `waiter`, a task of process `node`, now.
    fn wake_local(&mut self, node: NodeId, waiter: Waiter);
}

struct InFlight<M> {
    from: u32,
    to: u32,
    id: u64,
    msg: M,
}

/// Message counters for the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NetStats {
    /// Messages handed to the network.
    pub sent: u64,
    /// Copies delivered to a mailbox.
    pub delivered: u64,
    /// Messages lost by the loss model.
    pub lost: u64,
    /// Copies lost on a cut link.
    pub cut: u64,
    /// Copies lost because the target was down.
    pub down: u64,
    /// Replies dropped on arrival because no call waited for them any more.
    pub late: u64,
    /// Duplicate copies made.
    pub duplicated: u64,
}

/// An observation as recorded for reports: time, process, the observation
/// as JSON data (serde's form of the protocol's type) and as `Debug` text
/// (for labels).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ObservationRecord {
    /// Global time in nanoseconds.
    pub time_ns: Nanos,
    /// The emitting process.
    pub node: NodeId,
    /// The observation as data.
    pub obs: serde_json::Value,
    /// The observation's `Debug` text.
    pub text: String,
    /// Its short label, the protocol's summary (`leader t3`).
    pub label: String,
}

/// How the trace text labels messages and observations: the protocol's
/// short forms (`kit::Protocol::msg_label`, `obs_label`), by default the
/// first word of the `Debug` text. Called only where text is written.
pub(crate) struct Labels<M, O> {
    pub msg: fn(&M) -> String,
    pub obs: fn(&O) -> String,
}

impl ObservationRecord {
    /// Its kind: the variant name if it is an enum, else the first word of its text.
    pub fn kind(&self) -> &str {
        match observation_kind(&self.obs) {
            "" => self.text.split([' ', '{', '(']).next().unwrap_or(""),
            k => k,
        }
    }
}

/// Observation kinds emitted at most this often over a run are notable
/// (a new leader, a decision); more frequent kinds (per-entry events) are not.
pub const NOTABLE_KIND_MAX: usize = 100;

/// Picks the observations that say their node leads.
pub type ShowsLeader<O> = Box<dyn Fn(&O) -> bool>;

/// The observations of notable kinds, kept for reports: a kind's records
/// are dropped once it is seen more than [`NOTABLE_KIND_MAX`] times, so the
/// memory is bounded by the number of kinds, not the length of the run.
#[derive(Default)]
pub struct Notables {
    counts: std::collections::BTreeMap<String, usize>,
    records: Vec<ObservationRecord>,
}

impl Notables {
    fn push(&mut self, record: ObservationRecord) {
        let count = match self.counts.get_mut(record.kind()) {
            Some(c) => c,
            None => self.counts.entry(record.kind().to_string()).or_insert(0),
        };
        *count += 1;
        match (*count).cmp(&NOTABLE_KIND_MAX) {
            std::cmp::Ordering::Greater if *count == NOTABLE_KIND_MAX + 1 => {
                let kind = record.kind().to_string();
                self.records.retain(|r| r.kind() != kind);
            }
            std::cmp::Ordering::Greater => {}
            _ => self.records.push(record),
        }
    }

    /// The records kept, in emission order.
    pub fn into_records(self) -> Vec<ObservationRecord> {
        self.records
    }
}

/// The kind of an observation as data: the variant name of an enum
/// (serde writes `{"Variant": ...}` or `"Variant"`), else empty.
pub fn observation_kind(obs: &serde_json::Value) -> &str {
    match obs {
        serde_json::Value::String(s) => s,
        serde_json::Value::Object(m) if m.len() == 1 => m.keys().next().map_or("", |k| k.as_str()),
        _ => "",
    }
}

pub(crate) struct World<M, O> {
    pub now: Nanos,
    pub queue: EventQueue,
    msgs: Slab<InFlight<M>>,
    wakers: Slab<Waker>,
    pub net: Network,
    pub procs: Vec<Proc<M>>,
    pub node_count: usize,
    pub ready: Vec<TaskKey>,
    pub spawned: Vec<(NodeId, crate::sim::executor::LocalFuture)>,
    /// Rung by the first cancel of a task handle: until then no task's poll
    /// reads its handle's state ([`crate::coro::task`]).
    pub(crate) cancel_bell: Rc<Cell<bool>>,
    /// The task being polled and its waker's data pointer: a primitive that
    /// is handed this waker can register the task itself instead of a clone.
    pub current_task: TaskKey,
    pub current_waker_data: *const (),
    pub rng_net: Prng,
    pub rng_disk: Prng,
    pub fsync_latency: Latency,
    pub trace: Trace,
    pub(crate) checkers: Vec<Box<dyn Invariant<O>>>,
    /// Per kind of observation seen so far (its enum variant), which of the
    /// first 64 checkers want it ([`Invariant::wants`], one bit each), so an
    /// observation is shown only to them. [`World::add_checker`] empties it.
    interest: Vec<(std::mem::Discriminant<O>, u64)>,
    /// When the liveness phase began, if it has.
    pub converged_ns: Option<Nanos>,
    /// Messages held on clogged links, in arrival order.
    pub held: Vec<u32>,
    /// Whether a crash tears unsynced writes instead of losing them all.
    pub torn_writes: bool,
    /// Picks the observations that say their node leads (for the nemesis).
    pub leader_shown: Option<ShowsLeader<O>>,
    /// The node whose observation last said it leads.
    pub leader: Option<NodeId>,
    /// Reporters (they see every observation, also after a violation).
    pub reporters: Vec<Box<dyn crate::sim::observe::Reporter<O>>>,
    pub violation: Option<Violation>,
    /// Every fault applied so far, as windows: the checks may ask.
    pub faults: crate::sim::nemesis::FaultLog,
    pub stats: NetStats,
    next_msg_id: u64,
    pub observations: Option<Notables>,
    /// How to read the request id a reply answers; set by the first call.
    pub reply_to: Option<fn(&M) -> Option<u64>>,
    pub next_request_id: u64,
    /// Most messages in the network, or unread in one mailbox (`limits.messages_in_flight`).
    pub messages_in_flight_max: usize,
    /// Most messages in the network at once so far.
    pub peak_in_flight: usize,
    /// A bound reached inside a step; the driver stops the run at the next one.
    pub limit_hit: Option<super::LimitHit>,
    /// How the trace text labels messages and observations.
    pub labels: Labels<M, O>,
}

impl<M: Clone + std::fmt::Debug + std::hash::Hash, O: std::fmt::Debug + std::hash::Hash + serde::Serialize>
    World<M, O>
{
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        seed: u64,
        node_count: usize,
        client_count: usize,
        net: Network,
        fsync_latency: Latency,
        trace: Trace,
        record_observations: bool,
    ) -> Self {
        let procs = (0..node_count + client_count)
            .map(|i| Proc {
                up: false,
                paused: false,
                incarnation: 0,
                mailbox: VecDeque::new(),
                recv_waiters: Vec::new(),
                fsync_waiters: Vec::new(),
                fsync_extra_ns: 0,
                deferred: Vec::new(),
                clock: LocalClock::default(),
                rng: Prng::stream(seed, &format!("node/{i}")),
                disk: Disk::default(),
                calls: Vec::new(),
            })
            .collect();
        World {
            now: 0,
            queue: EventQueue::new(),
            msgs: Slab::default(),
            wakers: Slab::default(),
            net,
            procs,
            node_count,
            ready: Vec::new(),
            spawned: Vec::new(),
            cancel_bell: Rc::default(),
            current_task: TaskKey::NONE,
            current_waker_data: std::ptr::null(),
            rng_net: Prng::stream(seed, "net"),
            rng_disk: Prng::stream(seed, "disk"),
            fsync_latency,
            trace,
            checkers: Vec::new(),
            interest: Vec::new(),
            reporters: Vec::new(),
            held: Vec::new(),
            converged_ns: None,
            torn_writes: false,
            leader_shown: None,
            leader: None,
            violation: None,
            faults: Default::default(),
            stats: NetStats::default(),
            next_msg_id: 0,
            observations: record_observations.then(Notables::default),
            reply_to: None,
            next_request_id: 0,
            messages_in_flight_max: usize::MAX,
            peak_in_flight: 0,
            limit_hit: None,
            labels: Labels { msg: debug_label::<M>, obs: debug_label::<O> },
        }
    }

    /// Local time of process `p` now.
    #[inline]
    pub fn local_now(&self, p: NodeId) -> Nanos {
        self.procs[p].clock.local(self.now)
    }

    /// How a primitive polled with `waker` should be woken.
    #[inline]
    pub fn waiter(&self, waker: &Waker) -> Waiter {
        if waker.data() == self.current_waker_data {
            Waiter::Task(self.current_task)
        } else {
            Waiter::Waker(waker.clone())
        }
    }

    /// Whether `waker` is already among `waiters` (so a spurious poll does not register twice).
    #[inline]
    pub fn registered(&self, waiters: &[Waiter], waker: &Waker) -> bool {
        let fast = waker.data() == self.current_waker_data;
        waiters.iter().any(|w| match w {
            Waiter::Task(k) => fast && *k == self.current_task,
            Waiter::Waker(w) => w.will_wake(waker),
        })
    }

    /// Wakes the task behind `waker` at global time `at`.
    #[inline]
    pub fn wake_at(&mut self, at: Nanos, waker: &Waker) {
        let event = match self.waiter(waker) {
            Waiter::Task(k) => Event::Wake(k),
            Waiter::Waker(w) => Event::WakeWaker(self.wakers.insert(w)),
        };
        self.queue.push(at, event);
    }

    /// Hands a message from `from` to `to` to the network.
    pub fn send(&mut self, from: NodeId, to: NodeId, msg: M) {
        assert!(to < self.procs.len(), "send to unknown process {to}");
        let id = self.next_msg_id;
        self.next_msg_id += 1;
        self.stats.sent += 1;
        self.trace.record(EventKind::Send, self.now, from as u64, to as u64, id);
        self.trace.record_content(stable_hash(&msg));
        if self.trace.wants_text() {
            let (now, label) = (self.now, (self.labels.msg)(&msg));
            let lamport = Some(self.trace.lamport.send(from, id));
            self.trace.text(|i| msg_line(i, now, EventKind::Send, (from, to, id), &msg, &label, lamport));
        }
        match self.net.on_send(from, to, &mut self.rng_net) {
            Fate::Lost => {
                self.stats.lost += 1;
                self.trace.record(EventKind::DropLoss, self.now, from as u64, to as u64, id);
                if self.trace.wants_text() {
                    let (now, label, lamport) = (self.now, (self.labels.msg)(&msg), self.trace.lamport.stamp(id));
                    self.trace.text(|i| msg_line(i, now, EventKind::DropLoss, (from, to, id), &msg, &label, lamport));
                }
            }
            Fate::Arrives { latency, duplicate } => {
                if let Some(dup_latency) = duplicate {
                    self.stats.duplicated += 1;
                    self.trace.record(EventKind::Duplicate, self.now, from as u64, to as u64, id);
                    if self.trace.wants_text() {
                        let (now, label, lamport) = (self.now, (self.labels.msg)(&msg), self.trace.lamport.stamp(id));
                        self.trace
                            .text(|i| msg_line(i, now, EventKind::Duplicate, (from, to, id), &msg, &label, lamport));
                    }
                    let copy = InFlight { from: from as u32, to: to as u32, id, msg: msg.clone() };
                    let slot = self.msgs.insert(copy);
                    self.queue.push(self.now + dup_latency, Event::Deliver(slot));
                }
                let slot = self.msgs.insert(InFlight { from: from as u32, to: to as u32, id, msg });
                self.queue.push(self.now + latency, Event::Deliver(slot));
                let in_flight = self.msgs.len();
                if in_flight > self.peak_in_flight {
                    self.peak_in_flight = in_flight;
                    if in_flight > self.messages_in_flight_max {
                        self.hit(super::Limit::MessagesInFlight, self.messages_in_flight_max as u64);
                    }
                }
            }
        }
    }

    /// A clog ended: every held message whose link is no longer clogged
    /// arrives now, in the order it was held (the burst).
    pub fn release_held(&mut self) {
        let held = std::mem::take(&mut self.held);
        for slot in held {
            let m = self.msgs.get(slot);
            if self.net.is_clogged(m.from as usize, m.to as usize) {
                self.held.push(slot);
            } else {
                self.queue.push(self.now, Event::Deliver(slot));
            }
        }
    }

    /// Records that bound `limit` of value `cap` was reached now (the
    /// first one wins); the driver stops the run before the next event.
    #[cold]
    pub fn hit(&mut self, limit: super::Limit, cap: u64) {
        self.limit_hit.get_or_insert(super::LimitHit { limit, cap, at_ns: self.now });
    }

    /// A message arrives: the cut and the target's liveness are checked now.
    /// A reply to a call goes to that call; a reply no call waits for is dropped.
    pub fn deliver(&mut self, slot: u32) {
        if self.net.has_transient() {
            let m = self.msgs.get(slot);
            let (from, to, id) = (m.from as usize, m.to as usize, m.id);
            if self.net.is_clogged(from, to) {
                // Held on the clogged link; the clog's end delivers it again.
                self.trace.record(EventKind::Hold, self.now, from as u64, to as u64, id);
                if self.trace.wants_text() {
                    let now = self.now;
                    let msg = &self.msgs.get(slot).msg;
                    let (label, lamport) = ((self.labels.msg)(msg), self.trace.lamport.stamp(id));
                    self.trace.text(|i| msg_line(i, now, EventKind::Hold, (from, to, id), msg, &label, lamport));
                }
                self.held.push(slot);
                return;
            }
        }
        let InFlight { from, to, id, msg } = self.msgs.remove(slot);
        let (from, to) = (from as usize, to as usize);
        let mut call = None;
        let kind = if self.net.is_cut(from, to) {
            self.stats.cut += 1;
            EventKind::DropCut
        } else if !self.procs[to].up {
            self.stats.down += 1;
            EventKind::DropDown
        } else if let Some(request) = self.reply_to.and_then(|reply_to| reply_to(&msg)) {
            match self.procs[to].calls.iter().position(|c| c.id == request) {
                Some(i) => {
                    call = Some(i);
                    self.stats.delivered += 1;
                    EventKind::Deliver
                }
                None => {
                    self.stats.late += 1;
                    EventKind::DropLate
                }
            }
        } else {
            self.stats.delivered += 1;
            EventKind::Deliver
        };
        self.trace.record(kind, self.now, from as u64, to as u64, id);
        if self.trace.wants_text() {
            let (now, label) = (self.now, (self.labels.msg)(&msg));
            // A delivery is an event of its target; a lost copy is no process's.
            let lamport = match kind {
                EventKind::Deliver => Some(self.trace.lamport.receive(to, id)),
                _ => self.trace.lamport.stamp(id),
            };
            self.trace.text(|i| msg_line(i, now, kind, (from, to, id), &msg, &label, lamport));
        }
        let mut unread_over = false;
        if kind == EventKind::Deliver {
            let p = &mut self.procs[to];
            match call {
                Some(i) => {
                    let c = &mut p.calls[i];
                    c.inbox.push_back(Envelope { from, msg });
                    if let Some(w) = c.waiter.take() {
                        w.wake(&mut self.ready);
                    }
                }
                None => {
                    p.mailbox.push_back(Envelope { from, msg });
                    unread_over = p.mailbox.len() > self.messages_in_flight_max;
                    wake_all(&mut p.recv_waiters, &mut self.ready);
                }
            }
        }
        if unread_over {
            self.hit(super::Limit::Unread { node: to }, self.messages_in_flight_max as u64);
        }
    }

    /// Fires a foreign waker kept for a timer.
    pub fn wake_waker(&mut self, slot: u32) {
        self.wakers.remove(slot).wake();
    }

    /// Starts an fsync on process `p`; returns the write number to wait for.
    pub fn begin_fsync(&mut self, p: NodeId) -> u64 {
        let latency = self.fsync_latency.sample(&mut self.rng_disk) + self.procs[p].fsync_extra_ns;
        let proc = &mut self.procs[p];
        let upto = proc.disk.begin_fsync();
        let done = (self.now + latency).max(proc.disk.last_fsync_done_ns);
        proc.disk.last_fsync_done_ns = done;
        let event = Event::Fsync { proc: p as u32, inc: proc.incarnation };
        self.queue.push(done, event);
        upto
    }

    /// The oldest fsync in flight on `p` completes (unless `p` crashed since).
    pub fn complete_fsync(&mut self, p: NodeId, incarnation: u32) {
        let proc = &mut self.procs[p];
        if proc.incarnation != incarnation {
            return;
        }
        proc.disk.complete_fsync();
        self.trace.record(EventKind::Fsync, self.now, p as u64, 0, 0);
        if self.trace.wants_text() {
            let (now, lamport) = (self.now, Some(self.trace.lamport.local(p)));
            self.trace.text(|i| {
                TraceLine { node: Some(Some(p as u64)), lamport, ..TraceLine::new(i, now, EventKind::Fsync) }.to_json()
            });
        }
        wake_all(&mut proc.fsync_waiters, &mut self.ready);
    }

    /// Which of the first 64 checkers want observations of `obs`'s kind,
    /// one bit each: asked of them on the kind's first observation, then
    /// looked up (a run's protocol has a handful of kinds).
    #[inline]
    fn wanted_by(&mut self, obs: &O) -> u64 {
        let kind = std::mem::discriminant(obs);
        if let Some(&(_, wanted)) = self.interest.iter().find(|(k, _)| *k == kind) {
            return wanted;
        }
        let wanted = self.checkers.iter().take(64).enumerate().fold(0u64, |m, (i, c)| m | (c.wants(obs) as u64) << i);
        self.interest.push((kind, wanted));
        wanted
    }

    /// Adds a checker; what the checkers want is asked afresh.
    pub fn add_checker(&mut self, check: Box<dyn Invariant<O>>) {
        self.checkers.push(check);
        self.interest.clear();
    }

    /// A process emits an observation: hashed, traced, and shown to every
    /// checker that wants its kind.
    pub fn observe(&mut self, p: NodeId, obs: &O) {
        self.trace.record(EventKind::Observe, self.now, p as u64, 0, 0);
        self.trace.record_content(stable_hash(obs));
        let now = self.now;
        if self.trace.wants_text() {
            let (label, lamport) = ((self.labels.obs)(obs), Some(self.trace.lamport.local(p)));
            self.trace.text(|i| {
                TraceLine {
                    node: Some(Some(p as u64)),
                    text: Some(format!("{obs:?}").into()),
                    label: Some(label.into()),
                    lamport,
                    ..TraceLine::new(i, now, EventKind::Observe)
                }
                .with_obs(Some(obs))
                .to_json()
            });
        }
        if let Some(notable) = &mut self.observations {
            let data = serde_json::to_value(obs).unwrap_or_else(|e| serde_json::Value::String(e.to_string()));
            let label = (self.labels.obs)(obs);
            notable.push(ObservationRecord { time_ns: now, node: p, obs: data, text: format!("{obs:?}"), label });
        }
        for r in &mut self.reporters {
            r.on_observe(now, p, obs);
        }
        if self.leader_shown.as_ref().is_some_and(|shows| shows(obs)) {
            self.leader = Some(p);
        }
        if self.violation.is_some() || self.checkers.is_empty() {
            return;
        }
        let event_index = self.trace.events() - 1;
        let wanted = self.wanted_by(obs);
        for (i, c) in self.checkers.iter_mut().enumerate() {
            if i < 64 && wanted & 1 << i == 0 {
                continue;
            }
            if let Err(detail) = c.on_observe(now, p, obs, &self.faults) {
                let from = now.saturating_sub(crate::sim::observe::FAULTS_BEFORE_NS);
                self.violation = Some(Violation {
                    check: c.name().to_string(),
                    time_ns: now,
                    event_index,
                    node: Some(p),
                    detail,
                    faults_before: self.faults.overlapping(from, now).cloned().collect(),
                });
                break;
            }
        }
    }

    /// Records a fault or lifecycle event in the trace; `node` is the
    /// process it concerns, if it concerns one.
    pub fn record_fault(&mut self, kind: EventKind, code: u64, node: Option<NodeId>, text: &str) {
        self.trace.record(kind, self.now, code, node.map_or(u64::MAX, |n| n as u64), 0);
        if self.trace.wants_text() {
            let (now, lamport) = (self.now, node.map(|n| self.trace.lamport.local(n)));
            let node = node.map(|n| n as u64);
            self.trace.text(|i| {
                TraceLine { node: Some(node), what: Some(text.into()), lamport, ..TraceLine::new(i, now, kind) }
                    .to_json()
            });
        }
    }
}

impl<M: Clone + std::fmt::Debug + std::hash::Hash, O: std::fmt::Debug + std::hash::Hash + serde::Serialize> Core
    for World<M, O>
{
    #[inline]
    fn waiter_for(&self, waker: &Waker) -> Waiter {
        self.waiter(waker)
    }

    #[inline]
    fn wake_local(&mut self, node: NodeId, waiter: Waiter) {
        let task = match &waiter {
            Waiter::Task(k) => k.raw(),
            Waiter::Waker(_) => u64::MAX,
        };
        self.trace.record(EventKind::LocalWake, self.now, node as u64, 0, task);
        if self.trace.wants_text() {
            let (now, lamport) = (self.now, Some(self.trace.lamport.local(node)));
            self.trace.text(|i| {
                TraceLine {
                    node: Some(Some(node as u64)),
                    task: Some(task),
                    lamport,
                    ..TraceLine::new(i, now, EventKind::LocalWake)
                }
                .to_json()
            });
        }
        waiter.wake(&mut self.ready);
    }
}

/// Wakes every waiter, in the order they registered (one, mostly: no drain).
#[inline(always)]
fn wake_all(waiters: &mut Vec<Waiter>, ready: &mut Vec<TaskKey>) {
    if waiters.len() == 1 {
        waiters.pop().expect("one waiter").wake(ready);
    } else {
        for w in waiters.drain(..) {
            w.wake(ready);
        }
    }
}

/// The trace line of a message event on link `(from, to, message id)`.
fn msg_line<M: std::fmt::Debug>(
    i: u64,
    t: Nanos,
    ev: EventKind,
    (from, to, id): (NodeId, NodeId, u64),
    msg: &M,
    label: &str,
    lamport: Option<u64>,
) -> String {
    TraceLine {
        from: Some(from as u64),
        to: Some(to as u64),
        msg_id: Some(id),
        msg: Some(format!("{msg:?}").into()),
        label: Some(label.into()),
        lamport,
        ..TraceLine::new(i, t, ev)
    }
    .to_json()
}
