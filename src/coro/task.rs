//! Handles to spawned tasks: await a task's result, or cancel it.
//!
//! [`crate::Ctx::spawn`] wraps the task's future in a small `async` block
//! that shares a state with the [`JoinHandle`]: the result once there is one, a
//! cancel flag, and who to wake. Cancelling sets the flag and wakes the task;
//! its next poll drops the inner future (running its destructors) and ends,
//! so cancellation takes effect at the current instant, at a deterministic
//! place in the ready list. Dropping a handle detaches the task: it runs on.
//! A task dies with its node like any other; a handle held by a task of the
//! same node dies with it too.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

pub use super::chan::Canceled;
use crate::sim::world::{Core, Waiter};
use crate::sim::NodeId;

struct State<T> {
    result: Option<T>,
    /// The task ended: with a result, or cancelled, or dropped by a crash.
    done: bool,
    /// The task itself, to wake for a cancel.
    task: Option<Waiter>,
    /// Whoever awaits the handle.
    joiner: Option<Waiter>,
}

struct Shared<T> {
    core: Rc<RefCell<dyn Core>>,
    node: NodeId,
    /// Read on every poll of the task, so a `Cell` apart from the rest.
    cancel: Cell<bool>,
    state: RefCell<State<T>>,
}

impl<T> Shared<T> {
    fn wake(&self, waiter: Option<Waiter>) {
        if let Some(w) = waiter {
            self.core.borrow_mut().wake_local(self.node, w);
        }
    }

    /// Marks the task ended and wakes the joiner.
    fn end(&self, result: Option<T>) {
        let joiner = {
            let mut s = self.state.borrow_mut();
            s.done = true;
            s.result = result;
            s.task = None;
            s.joiner.take()
        };
        self.wake(joiner);
    }
}

/// Awaits a spawned task's output (`Err(Canceled)` if it was cancelled), or
/// cancels it. Dropping the handle lets the task run on.
pub struct JoinHandle<T> {
    shared: Rc<Shared<T>>,
}

/// Ends the task's shared state if the task is dropped before it finished
/// (a crash, or the end of the run).
struct EndOnDrop<T>(Rc<Shared<T>>);

impl<T> Drop for EndOnDrop<T> {
    fn drop(&mut self) {
        if !self.0.state.borrow().done {
            self.0.end(None);
        }
    }
}

/// Wraps `future` as the task the executor runs, and makes its handle. The
/// wrapper is an `async` block, so the task's future lives inline in it.
pub(crate) fn wrap<F: Future + 'static>(
    core: Rc<RefCell<dyn Core>>,
    node: NodeId,
    future: F,
) -> (impl Future<Output = ()>, JoinHandle<F::Output>) {
    let shared = Rc::new(Shared {
        core,
        node,
        cancel: Cell::new(false),
        state: RefCell::new(State { result: None, done: false, task: None, joiner: None }),
    });
    let guard = EndOnDrop(shared.clone());
    let task = async move {
        let output = {
            let mut future = std::pin::pin!(future);
            let mut registered = false;
            std::future::poll_fn(|cx| {
                if guard.0.cancel.get() {
                    return Poll::Ready(None);
                }
                if !registered {
                    registered = true;
                    guard.0.state.borrow_mut().task = Some(guard.0.core.borrow().waiter_for(cx.waker()));
                }
                future.as_mut().poll(cx).map(Some)
            })
            .await
            // A cancelled future is dropped here, before the joiner hears of it.
        };
        guard.0.end(output);
    };
    (task, JoinHandle { shared })
}

impl<T> JoinHandle<T> {
    /// Cancels the task: at its next poll, this instant, its future is
    /// dropped. A task that already finished keeps its result.
    pub fn cancel(&self) {
        let task = {
            let mut s = self.shared.state.borrow_mut();
            if s.done {
                return;
            }
            self.shared.cancel.set(true);
            s.task.take()
        };
        // A task not polled yet is on the ready list already and sees the flag.
        self.shared.wake(task);
    }

    /// Whether the task has ended (finished, cancelled or dropped).
    pub fn is_finished(&self) -> bool {
        self.shared.state.borrow().done
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, Canceled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, Canceled>> {
        let mut s = self.shared.state.borrow_mut();
        if s.done {
            return Poll::Ready(s.result.take().ok_or(Canceled));
        }
        s.joiner = Some(self.shared.core.borrow().waiter_for(cx.waker()));
        Poll::Pending
    }
}
