//! Handles to spawned tasks: await a task's result, or cancel it.
//!
//! [`crate::Ctx::spawn`] wraps the task's future in a [`TaskFuture`] that
//! shares a state with the [`JoinHandle`]: the result once there is one, a
//! cancel flag, and who to wake. Cancelling sets the flag and wakes the task;
//! its next poll drops the inner future (running its destructors) and ends,
//! so cancellation takes effect at the current instant, at a deterministic
//! place in the ready list. Dropping a handle detaches the task: it runs on.
//! A task dies with its node like any other; a handle held by a task of the
//! same node dies with it too.
//!
//! The wrapper is a hand-written future, not an `async` block, for memory:
//! an `async` block stores a captured future and the pinned local it is
//! moved into side by side (twice the task's size), and every poll read the
//! cancel flag from the shared state, a separate allocation, which with
//! thousands of tasks is a cache miss per wake-up. Here the future is
//! stored once, and a poll looks at the shared state only once the
//! simulation's cancel bell has rung (some handle, anywhere, was cancelled).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

pub use super::chan::Canceled;
use pin_project_lite::pin_project;

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
    /// Read on a task's poll once the bell has rung, so a `Cell` apart from the rest.
    cancel: Cell<bool>,
    /// The simulation's cancel bell: rung by every cancel (see [`TaskFuture`]).
    bell: Rc<Cell<bool>>,
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

pin_project! {
    /// The wrapped future: running, or done (its output handed over, or cancelled).
    #[project = StageProj]
    enum Stage<F> {
        Running { #[pin] future: F },
        Done,
    }
}

pin_project! {
    /// The task the executor runs for a spawned future: polls it, hands its
    /// output to the handle, and drops it at the first poll after a cancel.
    pub(crate) struct TaskFuture<F, T> {
        #[pin]
        stage: Stage<F>,
        // Whether the task's waiter is recorded in the shared state (for a cancel's wake).
        registered: bool,
        // The simulation's cancel bell, shared by every task: reading it
        // touches memory every poll touches, unlike the shared state.
        bell: Rc<Cell<bool>>,
        // Dropped after `stage`: a future dropped by a crash is gone before
        // the joiner hears of it, as on a cancel.
        guard: EndOnDrop<T>,
    }
}

impl<F: Future<Output = T>, T> Future for TaskFuture<F, T> {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let shared = &this.guard.0;
        if this.bell.get() && shared.cancel.get() {
            // A cancelled future is dropped here, before the joiner hears of it.
            this.stage.set(Stage::Done);
            shared.end(None);
            return Poll::Ready(());
        }
        if !*this.registered {
            *this.registered = true;
            shared.state.borrow_mut().task = Some(shared.core.borrow().waiter_for(cx.waker()));
        }
        let output = match this.stage.as_mut().project() {
            StageProj::Running { future } => match future.poll(cx) {
                Poll::Ready(output) => output,
                Poll::Pending => return Poll::Pending,
            },
            StageProj::Done => return Poll::Ready(()),
        };
        // The finished future is dropped before the joiner hears of it.
        this.stage.set(Stage::Done);
        shared.end(Some(output));
        Poll::Ready(())
    }
}

/// Wraps `future` as the task the executor runs, and makes its handle;
/// `bell` is the simulation's cancel bell.
pub(crate) fn wrap<F: Future + 'static>(
    core: Rc<RefCell<dyn Core>>,
    bell: Rc<Cell<bool>>,
    node: NodeId,
    future: F,
) -> (TaskFuture<F, F::Output>, JoinHandle<F::Output>) {
    let shared = Rc::new(Shared {
        core,
        node,
        cancel: Cell::new(false),
        bell: bell.clone(),
        state: RefCell::new(State { result: None, done: false, task: None, joiner: None }),
    });
    let task =
        TaskFuture { stage: Stage::Running { future }, registered: false, bell, guard: EndOnDrop(shared.clone()) };
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
            self.shared.bell.set(true);
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
