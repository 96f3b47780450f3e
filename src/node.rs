//! The node context: everything protocol code may do. A node's entry point is
//! an `async fn` taking a [`Ctx`]; all its effects go through these calls.
//!
//! Time here is the process's *local* clock, which clock faults distort:
//! `now()` reads it and `sleep(d)` waits until it has advanced by `d`.
//! Everything a node keeps in local variables is volatile (gone on crash);
//! only [`Storage`] survives a restart, and only what was synced.

use std::cell::RefCell;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::coro::{JoinHandle, OneshotReceiver, OneshotSender, Receiver, Sender};
use crate::sim::executor::LocalFuture;
use crate::sim::world::{Core, Envelope, NodeId, World};
use crate::sim::Nanos;

/// Converts a duration to nanoseconds, saturating (a sleep of years is just "forever").
#[inline]
pub fn duration_ns(d: Duration) -> Nanos {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX / 2)
}

/// The handle a process's code uses to reach the simulated world.
///
/// `M` is the protocol's message type, `O` its observation type. Cloning is
/// cheap (a reference count); clone it into tasks made with [`Ctx::spawn`].
pub struct Ctx<M, O> {
    pub(crate) world: Rc<RefCell<World<M, O>>>,
    id: NodeId,
}

impl<M, O> Clone for Ctx<M, O> {
    fn clone(&self) -> Self {
        Ctx { world: self.world.clone(), id: self.id }
    }
}

impl<M, O> Ctx<M, O>
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    pub(crate) fn new(world: Rc<RefCell<World<M, O>>>, id: NodeId) -> Self {
        Ctx { world, id }
    }

    /// This process's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Number of protocol nodes (ids `0..node_count()`).
    pub fn node_count(&self) -> usize {
        self.world.borrow().node_count
    }

    /// The other protocol nodes, in id order.
    pub fn peers(&self) -> Vec<NodeId> {
        (0..self.node_count()).filter(|&p| p != self.id).collect()
    }

    /// The local clock: time since the start of the run as this process sees it.
    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.now_ns())
    }

    /// The local clock in nanoseconds.
    #[inline]
    pub fn now_ns(&self) -> Nanos {
        self.world.borrow().local_now(self.id)
    }

    /// Sends `msg` to process `to` over the simulated network (fire and forget).
    #[inline]
    pub fn send(&self, to: NodeId, msg: M) {
        self.world.borrow_mut().send(self.id, to, msg);
    }

    /// Waits for the next message in this process's mailbox.
    #[inline]
    pub fn recv(&self) -> Recv<'_, M, O> {
        Recv { ctx: self }
    }

    /// Waits for the next message, or `None` once `timeout` has passed on the local clock.
    pub fn recv_timeout(&self, timeout: Duration) -> RecvTimeout<'_, M, O> {
        RecvTimeout { ctx: self, deadline_local: self.now_ns().saturating_add(duration_ns(timeout)), armed_at: None }
    }

    /// Waits until the local clock has advanced by `d`.
    #[inline]
    pub fn sleep(&self, d: Duration) -> Sleep<'_, M, O> {
        self.sleep_until_ns(self.now_ns().saturating_add(duration_ns(d)))
    }

    /// Waits until the local clock reads `deadline_ns`.
    #[inline]
    pub fn sleep_until_ns(&self, deadline_ns: Nanos) -> Sleep<'_, M, O> {
        Sleep { ctx: self, deadline_local: deadline_ns, armed_at: None }
    }

    /// Waits for the next message for which `wanted` is true, leaving the
    /// others in the mailbox, in order, for later receives.
    pub fn recv_where<F: FnMut(&Envelope<M>) -> bool>(&self, wanted: F) -> RecvWhere<'_, M, O, F> {
        RecvWhere { ctx: self, wanted }
    }

    /// Starts another task on this process; it dies with the process. The
    /// handle awaits its output or cancels it; dropping the handle detaches it.
    pub fn spawn<T: 'static>(&self, task: impl Future<Output = T> + 'static) -> JoinHandle<T> {
        let bell = self.world.borrow().cancel_bell.clone();
        let (future, handle) = crate::coro::task::wrap(self.core(), bell, self.id, task);
        self.world.borrow_mut().spawned.push((self.id, Box::pin(future)));
        handle
    }

    /// An unbounded channel between this node's tasks (gone with the node on a crash).
    pub fn channel<T>(&self) -> (Sender<T>, Receiver<T>) {
        crate::coro::chan::make(self.core(), self.id, usize::MAX)
    }

    /// A channel holding at most `capacity` values; `send` waits for room.
    pub fn bounded<T>(&self, capacity: usize) -> (Sender<T>, Receiver<T>) {
        crate::coro::chan::make(self.core(), self.id, capacity)
    }

    /// A channel for one value, e.g. a task's answer to another.
    pub fn oneshot<T>(&self) -> (OneshotSender<T>, OneshotReceiver<T>) {
        crate::coro::chan::make_oneshot(self.core(), self.id)
    }

    fn core(&self) -> Rc<RefCell<dyn Core>> {
        self.world.clone()
    }

    /// This process's own random stream.
    #[inline]
    pub fn rng(&self) -> NodeRng<'_, M, O> {
        NodeRng { ctx: self }
    }

    /// This process's durable storage.
    pub fn storage(&self) -> Storage<'_, M, O> {
        Storage { ctx: self }
    }

    /// Reports an observation to the checkers (and the trace).
    pub fn emit(&self, observation: O) {
        self.world.borrow_mut().observe(self.id, &observation);
    }

    /// Stops the run at a bound of `limits` (a library-side bound such as
    /// the history's size); the driver stops before the next event.
    pub(crate) fn hit_limit(&self, limit: crate::sim::Limit, cap: u64) {
        self.world.borrow_mut().hit(limit, cap);
    }
}

/// Future of [`Ctx::recv`].
pub struct Recv<'a, M, O> {
    ctx: &'a Ctx<M, O>,
}

impl<M, O> Future for Recv<'_, M, O>
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    type Output = Envelope<M>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Envelope<M>> {
        let mut w = self.ctx.world.borrow_mut();
        let w = &mut *w;
        let id = self.ctx.id;
        if let Some(env) = w.procs[id].mailbox.pop_front() {
            return Poll::Ready(env);
        }
        if !w.registered(&w.procs[id].recv_waiters, cx.waker()) {
            let waiter = w.waiter(cx.waker());
            w.procs[id].recv_waiters.push(waiter);
        }
        Poll::Pending
    }
}

impl<M, O> crate::sim::Sim<M, O>
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    /// Sets the entry point of process `id`: run at start and after every restart.
    pub fn set_entry<F, Fut>(&mut self, id: NodeId, entry: F)
    where
        F: Fn(Ctx<M, O>) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.set_entries([id], Rc::new(move |world, id| Box::pin(entry(Ctx::new(world, id))) as LocalFuture));
    }

    /// Sets the same entry point for every protocol node.
    pub fn set_node_entry<F, Fut>(&mut self, entry: F)
    where
        F: Fn(Ctx<M, O>) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let nodes = 0..self.node_count();
        self.set_entries(nodes, Rc::new(move |world, id| Box::pin(entry(Ctx::new(world, id))) as LocalFuture));
    }

    /// A context for process `id` (to build entry points or inspect state in tests).
    pub fn ctx(&self, id: NodeId) -> Ctx<M, O> {
        Ctx::new(self.world(), id)
    }
}

/// Future of [`Ctx::recv_where`].
pub struct RecvWhere<'a, M, O, F> {
    ctx: &'a Ctx<M, O>,
    wanted: F,
}

impl<M, O, F> Future for RecvWhere<'_, M, O, F>
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
    F: FnMut(&Envelope<M>) -> bool + Unpin,
{
    type Output = Envelope<M>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Envelope<M>> {
        let this = &mut *self;
        let mut w = this.ctx.world.borrow_mut();
        let w = &mut *w;
        let id = this.ctx.id;
        if let Some(i) = w.procs[id].mailbox.iter().position(&mut this.wanted) {
            return Poll::Ready(w.procs[id].mailbox.remove(i).expect("found above"));
        }
        if !w.registered(&w.procs[id].recv_waiters, cx.waker()) {
            let waiter = w.waiter(cx.waker());
            w.procs[id].recv_waiters.push(waiter);
        }
        Poll::Pending
    }
}

/// Future of [`Ctx::recv_timeout`].
pub struct RecvTimeout<'a, M, O> {
    ctx: &'a Ctx<M, O>,
    deadline_local: Nanos,
    armed_at: Option<Nanos>,
}

impl<M, O> Future for RecvTimeout<'_, M, O>
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    type Output = Option<Envelope<M>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Envelope<M>>> {
        let ctx = self.ctx;
        let mut w = ctx.world.borrow_mut();
        let w = &mut *w;
        let id = ctx.id;
        if let Some(env) = w.procs[id].mailbox.pop_front() {
            return Poll::Ready(Some(env));
        }
        let local = w.local_now(id);
        if local >= self.deadline_local {
            return Poll::Ready(None);
        }
        if !w.registered(&w.procs[id].recv_waiters, cx.waker()) {
            let waiter = w.waiter(cx.waker());
            w.procs[id].recv_waiters.push(waiter);
        }
        arm_timer(w, id, self.deadline_local, local, &mut self.armed_at, cx);
        Poll::Pending
    }
}

/// Schedules a wake-up for when `id`'s local clock, which reads `local_now`
/// now, reaches `deadline_local`, unless one is already scheduled for that
/// global instant (clock faults can move the instant, so it is recomputed on
/// every poll).
#[inline(always)]
pub(crate) fn arm_timer<M, O>(
    w: &mut World<M, O>,
    id: NodeId,
    deadline_local: Nanos,
    local_now: Nanos,
    armed_at: &mut Option<Nanos>,
    cx: &Context<'_>,
) where
    M: Clone + std::fmt::Debug + Hash,
    O: std::fmt::Debug + Hash + serde::Serialize,
{
    let at = w.procs[id].clock.global_for(deadline_local, w.now, local_now);
    if *armed_at != Some(at) || at <= w.now {
        w.wake_at(at.max(w.now), cx.waker());
        *armed_at = Some(at);
    }
}

/// Future of [`Ctx::sleep`].
pub struct Sleep<'a, M, O> {
    ctx: &'a Ctx<M, O>,
    deadline_local: Nanos,
    armed_at: Option<Nanos>,
}

impl<M, O> Future for Sleep<'_, M, O>
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    type Output = ();
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let ctx = self.ctx;
        let mut w = ctx.world.borrow_mut();
        let w = &mut *w;
        let local = w.local_now(ctx.id);
        if local >= self.deadline_local {
            return Poll::Ready(());
        }
        let deadline = self.deadline_local;
        arm_timer(w, ctx.id, deadline, local, &mut self.armed_at, cx);
        Poll::Pending
    }
}

/// A process's random stream, borrowed for one draw at a time.
pub struct NodeRng<'a, M, O> {
    ctx: &'a Ctx<M, O>,
}

impl<M, O> NodeRng<'_, M, O> {
    /// A uniformly random `u64`.
    #[inline]
    pub fn next_u64(&self) -> u64 {
        self.ctx.world.borrow_mut().procs[self.ctx.id].rng.next_u64()
    }
    /// A uniform integer in `[low, high]`.
    #[inline]
    pub fn between(&self, low: u64, high: u64) -> u64 {
        self.ctx.world.borrow_mut().procs[self.ctx.id].rng.between(low, high)
    }
    /// A uniform duration in `[low, high]`, at nanosecond resolution.
    pub fn duration_between(&self, low: Duration, high: Duration) -> Duration {
        Duration::from_nanos(self.between(duration_ns(low), duration_ns(high)))
    }
    /// A uniform index in `[0, n)`.
    #[inline]
    pub fn index(&self, n: usize) -> usize {
        self.ctx.world.borrow_mut().procs[self.ctx.id].rng.index(n)
    }
    /// True with probability `p` (in `[0, 1]`).
    pub fn chance(&self, p: f64) -> bool {
        let p = crate::sim::rng::Probability::from_f64(p.clamp(0.0, 1.0));
        self.ctx.world.borrow_mut().procs[self.ctx.id].rng.chance(p)
    }
}

/// A process's durable key-value disk. Writes are visible to reads at once
/// but survive a crash only once a later [`Storage::sync`] has completed.
pub struct Storage<'a, M, O> {
    ctx: &'a Ctx<M, O>,
}

impl<'a, M, O> Storage<'a, M, O>
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    /// The value of `key`, including unsynced writes.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.ctx.world.borrow().procs[self.ctx.id].disk.get(key).map(std::borrow::Cow::into_owned)
    }
    /// Writes `key` (buffered until the next completed sync).
    pub fn put(&self, key: &str, value: impl AsRef<[u8]>) {
        self.ctx.world.borrow_mut().procs[self.ctx.id].disk.put(key, value);
    }
    /// Writes `key`'s current value (empty if absent) with `bytes` added at
    /// its end: a write of the whole value, as [`Storage::put`] of it would
    /// be (a torn crash tears the whole), that copies only `bytes`.
    pub fn append(&self, key: &str, bytes: &[u8]) {
        self.ctx.world.borrow_mut().procs[self.ctx.id].disk.append(key, bytes);
    }
    /// Deletes `key` (buffered until the next completed sync).
    pub fn delete(&self, key: &str) {
        self.ctx.world.borrow_mut().procs[self.ctx.id].disk.delete(key);
    }
    /// Keys starting with `prefix`, in order.
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.ctx.world.borrow().procs[self.ctx.id].disk.keys_with_prefix(prefix)
    }
    /// Reads a JSON-encoded value; `None` if absent or undecodable.
    pub fn get_json<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.get(key).and_then(|v| serde_json::from_slice(&v).ok())
    }
    /// Writes a value as JSON.
    pub fn put_json<T: serde::Serialize>(&self, key: &str, value: &T) {
        self.put(key, serde_json::to_vec(value).expect("a storage value must serialise"));
    }
    /// Waits until every write issued so far is durable (an fsync).
    pub fn sync(&self) -> Sync<'a, M, O> {
        Sync { ctx: self.ctx, upto: None }
    }
}

/// Future of [`Storage::sync`].
pub struct Sync<'a, M, O> {
    ctx: &'a Ctx<M, O>,
    upto: Option<u64>,
}

impl<M, O> Future for Sync<'_, M, O>
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let ctx = self.ctx;
        let mut w = ctx.world.borrow_mut();
        let w = &mut *w;
        let upto = match self.upto {
            Some(u) => u,
            None => {
                let u = w.begin_fsync(ctx.id);
                self.upto = Some(u);
                u
            }
        };
        if w.procs[ctx.id].disk.is_durable(upto) {
            return Poll::Ready(());
        }
        if !w.registered(&w.procs[ctx.id].fsync_waiters, cx.waker()) {
            let waiter = w.waiter(cx.waker());
            w.procs[ctx.id].fsync_waiters.push(waiter);
        }
        Poll::Pending
    }
}
