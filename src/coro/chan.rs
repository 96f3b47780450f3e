//! Channels between the tasks of one node: unbounded and bounded
//! multi-producer single-consumer channels, and a oneshot.
//!
//! A channel is node-local volatile state, like a local variable: it lives in
//! the futures of the node's tasks, so a crash, which drops every task of the
//! node, drops the channel and every task waiting on it. A sender kept
//! anywhere else sees the channel closed.
//!
//! Waiting is deterministic. A receiver, or a sender waiting for room in a
//! full bounded channel, registers its task; a send wakes the receiver and a
//! receive wakes the first waiting sender (FIFO). A wake puts the task on the
//! kernel's ready list at the current instant, behind the tasks already
//! there, and is recorded in the trace (`local-wake`), so the order in which
//! tasks wake each other is part of the run's hash. Values never pass
//! through the network or the event queue: a hand-off costs a borrow, a
//! `VecDeque` push and a ready-list push.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::sim::world::{Core, Waiter};
use crate::sim::NodeId;

/// Why a value could not be sent: the receiver is gone. The value comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// Why [`Sender::try_send`] did not send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// A bounded channel is at capacity (or senders are already waiting for room).
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

/// Why [`Receiver::try_recv`] returned nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing queued, but a sender may still send.
    Empty,
    /// Nothing queued and every sender is gone.
    Closed,
}

/// The other end of a oneshot or a join handle went away without a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Canceled;

struct State<T> {
    queue: VecDeque<T>,
    /// Most values queued at once (`usize::MAX`: unbounded).
    capacity: usize,
    senders: usize,
    receiver_alive: bool,
    receiver: Option<Waiter>,
    /// Senders waiting for room, oldest first: (ticket, waiter).
    blocked: VecDeque<(u64, Option<Waiter>)>,
    next_ticket: u64,
}

struct Shared<T> {
    core: Rc<RefCell<dyn Core>>,
    node: NodeId,
    state: RefCell<State<T>>,
}

impl<T> Shared<T> {
    fn wake(&self, waiter: Option<Waiter>) {
        if let Some(w) = waiter {
            self.core.borrow_mut().wake_local(self.node, w);
        }
    }

    /// Wakes the first blocked sender if there is room for it.
    fn wake_next_sender(&self) {
        let waiter = {
            let mut s = self.state.borrow_mut();
            if s.queue.len() < s.capacity {
                s.blocked.front_mut().and_then(|(_, w)| w.take())
            } else {
                None
            }
        };
        self.wake(waiter);
    }
}

/// The sending half; clone it for more producers.
pub struct Sender<T> {
    shared: Rc<Shared<T>>,
}

/// The receiving half (one consumer).
pub struct Receiver<T> {
    shared: Rc<Shared<T>>,
}

pub(crate) fn make<T>(core: Rc<RefCell<dyn Core>>, node: NodeId, capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "a bounded channel needs room for at least one value");
    let shared = Rc::new(Shared {
        core,
        node,
        state: RefCell::new(State {
            queue: VecDeque::new(),
            capacity,
            senders: 1,
            receiver_alive: true,
            receiver: None,
            blocked: VecDeque::new(),
            next_ticket: 0,
        }),
    });
    (Sender { shared: shared.clone() }, Receiver { shared })
}

impl<T> Sender<T> {
    /// Queues `value` now if there is room; never waits.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let waiter = {
            let mut s = self.shared.state.borrow_mut();
            if !s.receiver_alive {
                return Err(TrySendError::Closed(value));
            }
            // FIFO: a sender that finds others waiting for room queues behind them.
            if s.queue.len() >= s.capacity || !s.blocked.is_empty() {
                return Err(TrySendError::Full(value));
            }
            s.queue.push_back(value);
            s.receiver.take()
        };
        self.shared.wake(waiter);
        Ok(())
    }

    /// Sends `value`, waiting for room in a bounded channel (an unbounded one
    /// never waits). Fails only if the receiver is gone.
    pub fn send(&self, value: T) -> Send<'_, T> {
        Send { sender: self, value: Some(value), ticket: None }
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        !self.shared.state.borrow().receiver_alive
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.state.borrow_mut().senders += 1;
        Sender { shared: self.shared.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waiter = {
            let mut s = self.shared.state.borrow_mut();
            s.senders -= 1;
            if s.senders == 0 {
                s.receiver.take()
            } else {
                None
            }
        };
        self.shared.wake(waiter);
    }
}

/// Future of [`Sender::send`].
pub struct Send<'a, T> {
    sender: &'a Sender<T>,
    value: Option<T>,
    /// Our place among the blocked senders, once we had to wait.
    ticket: Option<u64>,
}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = &this.sender.shared;
        let waiter = {
            let mut s = shared.state.borrow_mut();
            let value = this.value.take().expect("a Send polled after it completed");
            if !s.receiver_alive {
                if let Some(t) = this.ticket.take() {
                    s.blocked.retain(|(k, _)| *k != t);
                }
                return Poll::Ready(Err(SendError(value)));
            }
            let first = match (this.ticket, s.blocked.front()) {
                (_, None) => true,
                (Some(t), Some((front, _))) => t == *front,
                (None, Some(_)) => false,
            };
            if !(first && s.queue.len() < s.capacity) {
                let w = shared.core.borrow().waiter_for(cx.waker());
                match this.ticket {
                    Some(t) => {
                        if let Some(slot) = s.blocked.iter_mut().find(|(k, _)| *k == t) {
                            slot.1 = Some(w);
                        }
                    }
                    None => {
                        let t = s.next_ticket;
                        s.next_ticket += 1;
                        s.blocked.push_back((t, Some(w)));
                        this.ticket = Some(t);
                    }
                }
                this.value = Some(value);
                return Poll::Pending;
            }
            if this.ticket.take().is_some() {
                s.blocked.pop_front();
            }
            s.queue.push_back(value);
            s.receiver.take()
        };
        shared.wake(waiter);
        // There may be room for the next blocked sender too.
        shared.wake_next_sender();
        Poll::Ready(Ok(()))
    }
}

/// `Send` keeps no self-references and never pins its value.
impl<T> Unpin for Send<'_, T> {}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        if let Some(t) = self.ticket.take() {
            let was_front = {
                let mut s = self.sender.shared.state.borrow_mut();
                let front = s.blocked.front().is_some_and(|(k, _)| *k == t);
                s.blocked.retain(|(k, _)| *k != t);
                front
            };
            if was_front {
                self.sender.shared.wake_next_sender();
            }
        }
    }
}

impl<T> Receiver<T> {
    /// Waits for the next value; `None` once the channel is empty and every
    /// sender is gone.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { receiver: self }
    }

    /// The next value if one is queued; never waits.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let value = {
            let mut s = self.shared.state.borrow_mut();
            match s.queue.pop_front() {
                Some(v) => v,
                None if s.senders == 0 => return Err(TryRecvError::Closed),
                None => return Err(TryRecvError::Empty),
            }
        };
        self.shared.wake_next_sender();
        Ok(value)
    }

    /// Values queued now.
    pub fn len(&self) -> usize {
        self.shared.state.borrow().queue.len()
    }

    /// Whether nothing is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let waiters: Vec<Waiter> = {
            let mut s = self.shared.state.borrow_mut();
            s.receiver_alive = false;
            s.receiver = None;
            s.queue.clear();
            s.blocked.iter_mut().filter_map(|(_, w)| w.take()).collect()
        };
        for w in waiters {
            self.shared.wake(Some(w));
        }
    }
}

/// Future of [`Receiver::recv`].
pub struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match self.receiver.try_recv() {
            Ok(v) => Poll::Ready(Some(v)),
            Err(TryRecvError::Closed) => Poll::Ready(None),
            Err(TryRecvError::Empty) => {
                let shared = &self.as_mut().receiver.shared;
                let w = shared.core.borrow().waiter_for(cx.waker());
                shared.state.borrow_mut().receiver = Some(w);
                Poll::Pending
            }
        }
    }
}

/// The sending half of a oneshot: sends at most one value.
pub struct OneshotSender<T>(Sender<T>);

/// The receiving half of a oneshot: a future of the value, or [`Canceled`]
/// if the sender went away without sending.
pub struct OneshotReceiver<T>(Receiver<T>);

pub(crate) fn make_oneshot<T>(core: Rc<RefCell<dyn Core>>, node: NodeId) -> (OneshotSender<T>, OneshotReceiver<T>) {
    let (tx, rx) = make(core, node, 1);
    (OneshotSender(tx), OneshotReceiver(rx))
}

impl<T> OneshotSender<T> {
    /// Sends the value; gives it back if the receiver is gone.
    pub fn send(self, value: T) -> Result<(), T> {
        self.0.try_send(value).map_err(|e| match e {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        })
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

impl<T> OneshotReceiver<T> {
    /// The value if it has been sent; never waits.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.0.try_recv()
    }
}

impl<T> Future for OneshotReceiver<T> {
    type Output = Result<T, Canceled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, Canceled>> {
        let mut recv = self.0.recv();
        Pin::new(&mut recv).poll(cx).map(|v| v.ok_or(Canceled))
    }
}
