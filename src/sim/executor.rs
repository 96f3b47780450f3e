//! The executor: a slab of tasks (boxed `async` blocks) and their wakers.
//!
//! Our own primitives (sleep, recv, fsync) recognise the waker of the task
//! being polled and schedule that task directly by key, so the common path
//! neither clones wakers nor takes a lock. A waker used any other way (a
//! combinator that makes its own wakers, or a clone kept by user code) goes
//! through `ForeignQueue`, which is `Sync` because `Waker` must be; it is only
//! ever touched from the simulation's own thread.
//!
//! The futures sit in an array of their own beside the slots: while one
//! timer's task is polled, [`Executor::touch`] prefetches the next one's
//! slot and future, and that array is what it must read first, so it is
//! kept small enough to stay in cache with thousands of tasks.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::sim::queue::TaskKey;
use crate::sim::world::NodeId;

/// A task's future: boxed and pinned, not `Send` (a simulation never leaves its thread).
pub type LocalFuture = Pin<Box<dyn Future<Output = ()>>>;

/// Wake-ups that arrived through a real `Waker`.
#[derive(Default)]
pub(crate) struct ForeignQueue {
    count: AtomicUsize,
    keys: Mutex<Vec<TaskKey>>,
}

impl ForeignQueue {
    /// Moves queued wake-ups into `ready`.
    #[inline(always)]
    pub fn drain_into(&self, ready: &mut Vec<TaskKey>) {
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut keys = self.keys.lock().expect("foreign queue poisoned");
        ready.append(&mut keys);
        self.count.store(0, Ordering::Relaxed);
    }
}

struct TaskWaker {
    key: TaskKey,
    queue: Arc<ForeignQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.queue.keys.lock().expect("foreign queue poisoned").push(self.key);
        self.queue.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// A task slot's bookkeeping; its future lives in [`Executor::futures`].
struct Task {
    generation: u32,
    proc: NodeId,
    waker: Option<Waker>,
}

/// What polling a task did.
pub(crate) enum Polled {
    /// The key was stale (the task has finished or its process crashed).
    Stale,
    /// The process is paused; the caller defers the task.
    Paused,
    /// The task ran and is still pending.
    Pending,
    /// The task ran to completion and was removed.
    Done,
}

/// All tasks of one simulation.
#[derive(Default)]
pub(crate) struct Executor {
    tasks: Vec<Task>,
    /// The futures by slot (`None`: a free slot), apart from the rest of a
    /// slot so that the array a wake-up's prefetch reads ([`Executor::touch`])
    /// is small enough to stay in cache with thousands of tasks.
    futures: Vec<Option<LocalFuture>>,
    free: Vec<u32>,
    pub foreign: Arc<ForeignQueue>,
    live: usize,
}

impl Executor {
    /// Adds a task for process `proc`; returns its key.
    pub fn spawn(&mut self, proc: NodeId, future: LocalFuture) -> TaskKey {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.tasks.push(Task { generation: 0, proc, waker: None });
                self.futures.push(None);
                u32::try_from(self.tasks.len() - 1).expect("too many tasks")
            }
        };
        let task = &mut self.tasks[index as usize];
        let key = TaskKey::new(index, task.generation);
        task.proc = proc;
        self.futures[index as usize] = Some(future);
        task.waker = Some(Waker::from(Arc::new(TaskWaker { key, queue: self.foreign.clone() })));
        self.live += 1;
        key
    }

    /// The process of task `key`, if it is still alive (for trace text).
    pub fn proc_of(&self, key: TaskKey) -> Option<NodeId> {
        let task = self.tasks.get(key.index())?;
        (task.generation == key.generation() && self.futures[key.index()].is_some()).then_some(task.proc)
    }

    /// A hint that task `key` is polled next: asks the CPU to fetch its
    /// slot and, through its entry in the small `futures` array, the first
    /// lines of its future, without waiting for either, so that their
    /// cache misses overlap the poll in progress.
    /// With thousands of tasks (timers) a wake-up's future is rarely in
    /// cache, and fetching it on demand was most of a wake-up's time.
    #[inline(always)]
    pub fn touch(&self, key: TaskKey) {
        if let Some(task) = self.tasks.get(key.index()) {
            prefetch((task as *const Task).cast());
        }
        if let Some(Some(future)) = self.futures.get(key.index()) {
            // Its first two lines: the wrapper's fields and the start of the
            // state machine. (Fetching a third, or asking the future's size
            // first, measured slower on `bench timers`.)
            let start: *const u8 = (&**future as *const dyn Future<Output = ()>).cast();
            prefetch(start);
            prefetch(start.wrapping_add(64));
        }
    }

    /// Polls the task `key` if it is still alive. `before_poll` is told the
    /// task's process and waker and may veto the poll (a paused process).
    #[inline]
    pub fn poll(&mut self, key: TaskKey, before_poll: impl FnOnce(NodeId, &Waker) -> bool) -> Polled {
        let task = match self.tasks.get_mut(key.index()) {
            Some(task) if task.generation == key.generation() => task,
            _ => return Polled::Stale,
        };
        let (Some(future), Some(waker)) = (self.futures[key.index()].as_mut(), task.waker.as_ref()) else {
            return Polled::Stale;
        };
        if !before_poll(task.proc, waker) {
            return Polled::Paused;
        }
        let mut cx = Context::from_waker(waker);
        match future.as_mut().poll(&mut cx) {
            Poll::Pending => Polled::Pending,
            Poll::Ready(()) => {
                drop(self.remove(key.index()));
                Polled::Done
            }
        }
    }

    fn remove(&mut self, index: usize) -> Option<LocalFuture> {
        let task = &mut self.tasks[index];
        let future = self.futures[index].take();
        task.waker = None;
        task.generation = task.generation.wrapping_add(1);
        self.free.push(index as u32);
        self.live -= 1;
        future
    }

    /// Removes every task of `proc` and returns their futures, for the caller
    /// to drop once it holds no borrow (dropping runs user `Drop` code).
    pub fn remove_proc(&mut self, proc: NodeId) -> Vec<LocalFuture> {
        let indices: Vec<usize> =
            (0..self.tasks.len()).filter(|&i| self.futures[i].is_some() && self.tasks[i].proc == proc).collect();
        indices.into_iter().filter_map(|i| self.remove(i)).collect()
    }

    /// Keys of every live task of `proc`, in slab order.
    pub fn keys_of(&self, proc: NodeId) -> Vec<TaskKey> {
        (0..self.tasks.len())
            .filter(|&i| self.futures[i].is_some() && self.tasks[i].proc == proc)
            .map(|i| TaskKey::new(i as u32, self.tasks[i].generation))
            .collect()
    }

    /// Number of live tasks.
    pub fn live(&self) -> usize {
        self.live
    }
}

/// Asks the CPU to load the cache line holding `p` and goes on at once.
/// A no-op off x86-64.
#[inline(always)]
fn prefetch(p: *const u8) {
    // SAFETY: a prefetch is only a hint to the cache: it never faults,
    // whatever the address, and reads nothing into the program, so it
    // cannot break any of Rust's rules.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
