//! Request/reply over the simulated network: [`Ctx::call`] asks one node and
//! waits for its answer, [`Ctx::quorum`] asks several and waits for enough
//! answers. These are the shape of every Paxos phase, 2PC vote and lock
//! acquire, so protocols need not match replies to requests by hand.
//!
//! The library allocates a request id per call (unique in the run); the
//! protocol puts it into its request message and echoes it in the reply,
//! and says where it is by implementing [`Correlated`]. From the first call
//! on, the kernel routes every arriving reply by that id: to the call that
//! waits for it, never to [`Ctx::recv`], so a node's other tasks cannot take
//! it. A reply whose call has ended (it timed out, or already has its
//! answer, or the node restarted) is dropped on arrival and traced as
//! `drop-late`: a late reply is matched to nothing. Retries are the caller's
//! business: calling again allocates a new id, so an answer to the old
//! attempt is late too.

use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::node::{arm_timer, duration_ns, Ctx};
use crate::sim::world::PendingCall;
use crate::sim::Nanos;
use crate::sim::{Envelope, NodeId};

/// The id of one call, allocated by the library.
pub type RequestId = u64;

/// A message type whose replies name the request they answer.
pub trait Correlated {
    /// The request this message answers, if it is a reply.
    fn reply_to(&self) -> Option<RequestId>;
}

/// The call's time ran out before an answer came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout;

/// How [`Ctx::quorum`] counts one reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tally {
    /// Counts toward the quorum.
    Yes,
    /// A refusal: once refusals leave too few nodes to reach the quorum, it fails.
    No,
    /// Neither (not an answer to this question); ignored.
    Ignore,
}

/// Why a quorum was not reached, with the replies counted so far.
#[derive(Clone, Debug, PartialEq)]
pub struct QuorumError<M> {
    /// True if time ran out; false if refusals made the quorum impossible.
    pub timed_out: bool,
    /// Replies tallied `Yes`, in arrival order.
    pub yes: Vec<Envelope<M>>,
    /// Replies tallied `No`, in arrival order.
    pub no: Vec<Envelope<M>>,
}

/// An open call: its slot in the kernel's routing table, removed on drop.
struct Slot<'a, M, O> {
    ctx: &'a Ctx<M, O>,
    node: NodeId,
    id: RequestId,
}

impl<'a, M, O> Slot<'a, M, O>
where
    M: Correlated + Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    fn open(ctx: &'a Ctx<M, O>) -> Self {
        let mut w = ctx.world.borrow_mut();
        w.reply_to.get_or_insert(<M as Correlated>::reply_to);
        let id = w.next_request_id;
        w.next_request_id += 1;
        w.procs[ctx.id()].calls.push(PendingCall { id, inbox: Default::default(), waiter: None });
        Slot { ctx, node: ctx.id(), id }
    }

    /// The next reply to this call, or `None` once the local clock reads `deadline_local`.
    fn next(&self, deadline_local: Nanos) -> NextReply<'_, 'a, M, O> {
        NextReply { slot: self, deadline_local, armed_at: None }
    }
}

impl<M, O> Drop for Slot<'_, M, O> {
    fn drop(&mut self) {
        // A crash clears the table first; then there is nothing to remove.
        let mut w = self.ctx.world.borrow_mut();
        let calls = &mut w.procs[self.node].calls;
        if let Some(i) = calls.iter().position(|c| c.id == self.id) {
            calls.swap_remove(i);
        }
    }
}

struct NextReply<'s, 'a, M, O> {
    slot: &'s Slot<'a, M, O>,
    deadline_local: Nanos,
    armed_at: Option<Nanos>,
}

impl<M, O> Future for NextReply<'_, '_, M, O>
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    type Output = Option<Envelope<M>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Envelope<M>>> {
        let ctx = self.slot.ctx;
        let me = ctx.id();
        let mut w = ctx.world.borrow_mut();
        let w = &mut *w;
        let Some(i) = w.procs[me].calls.iter().position(|c| c.id == self.slot.id) else {
            return Poll::Ready(None);
        };
        if let Some(env) = w.procs[me].calls[i].inbox.pop_front() {
            return Poll::Ready(Some(env));
        }
        let local = w.local_now(me);
        if local >= self.deadline_local {
            return Poll::Ready(None);
        }
        let waiter = w.waiter(cx.waker());
        w.procs[me].calls[i].waiter = Some(waiter);
        let deadline = self.deadline_local;
        arm_timer(w, me, deadline, local, &mut self.armed_at, cx);
        Poll::Pending
    }
}

impl<M, O> Ctx<M, O>
where
    M: Correlated + Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    /// Sends `request(id)` to `to` and waits for the reply that names `id`,
    /// at most `timeout` on the local clock. Replies from other nodes and
    /// duplicates are ignored; a reply after the timeout is dropped.
    pub async fn call(
        &self,
        to: NodeId,
        request: impl FnOnce(RequestId) -> M,
        timeout: Duration,
    ) -> Result<M, Timeout> {
        let slot = Slot::open(self);
        let deadline = self.now_ns().saturating_add(duration_ns(timeout));
        self.send(to, request(slot.id));
        while let Some(env) = slot.next(deadline).await {
            if env.from == to {
                return Ok(env.msg);
            }
        }
        Err(Timeout)
    }

    /// Sends `request(id)` (one id for the round) to every node of `targets`
    /// and tallies their replies, the first from each node only (duplicates
    /// and strangers are ignored). Returns the `Yes` replies as soon as there
    /// are `need` of them; fails once refusals leave too few nodes to get
    /// there, or when `timeout` passes on the local clock.
    pub async fn quorum(
        &self,
        targets: &[NodeId],
        need: usize,
        mut request: impl FnMut(RequestId) -> M,
        mut tally: impl FnMut(&Envelope<M>) -> Tally,
        timeout: Duration,
    ) -> Result<Vec<Envelope<M>>, QuorumError<M>> {
        assert!(need <= targets.len(), "a quorum of {need} out of {} nodes can never be reached", targets.len());
        let slot = Slot::open(self);
        let deadline = self.now_ns().saturating_add(duration_ns(timeout));
        for &t in targets {
            self.send(t, request(slot.id));
        }
        let mut answered: Vec<NodeId> = Vec::with_capacity(targets.len());
        let (mut yes, mut no) = (Vec::new(), Vec::new());
        if need == 0 {
            return Ok(yes);
        }
        while let Some(env) = slot.next(deadline).await {
            if !targets.contains(&env.from) || answered.contains(&env.from) {
                continue;
            }
            let from = env.from;
            match tally(&env) {
                Tally::Ignore => continue,
                Tally::Yes => yes.push(env),
                Tally::No => no.push(env),
            }
            answered.push(from);
            if yes.len() >= need {
                return Ok(yes);
            }
            if targets.len() - no.len() < need {
                return Err(QuorumError { timed_out: false, yes, no });
            }
        }
        Err(QuorumError { timed_out: true, yes, no })
    }
}
