//! Coroutine primitives for protocol code: channels between a node's tasks,
//! [`select!`](crate::select) over any mix of futures, [`join`] and
//! [`join_all`], handles to spawned tasks, and request/reply helpers.
//!
//! Everything here runs on faultline's own executor and is deterministic:
//! `select!` polls its branches in the order written and takes the first
//! that is ready; a channel wakes its waiters in FIFO order, and every wake
//! between tasks is a trace event. Nothing here spawns a thread, reads a
//! clock other than the node's local one, or allocates per wake.
//!
//! Our primitives (mailbox receive, sleeps, channels, calls) take a value
//! only when they complete, so a branch that loses a `select!` loses
//! nothing: a message it would have taken stays for the next receive.
//!
//! - `chan`: unbounded and bounded mpsc channels and a oneshot;
//! - `task`: [`JoinHandle`] for tasks made with [`crate::Ctx::spawn`];
//! - `call`: [`crate::Ctx::call`] and [`crate::Ctx::quorum`] over [`Correlated`] messages.

pub(crate) mod call;
pub(crate) mod chan;
pub(crate) mod task;

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

pub use call::{Correlated, QuorumError, RequestId, Tally, Timeout};
pub use chan::{
    Canceled, OneshotReceiver, OneshotSender, Receiver, Recv, Send, SendError, Sender, TryRecvError, TrySendError,
};
pub use task::JoinHandle;

/// An uninhabited type: the unused branches of a [`Branch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Never {}

#[doc(hidden)]
pub fn never() -> Never {
    unreachable!("never called: it only names a type")
}

/// Which branch of a [`select!`](crate::select) completed, with its output.
/// Used by the macro; unused branches have type [`Never`].
#[doc(hidden)]
#[derive(Debug)]
pub enum Branch<A, B, C, D, E, F, G, H> {
    A(A),
    B(B),
    C(C),
    D(D),
    E(E),
    F(F),
    G(G),
    H(H),
}

/// Waits for the first of several futures to complete, polling them in the
/// order written (so the same run always picks the same branch), then runs
/// that branch's body with the output bound to its pattern. The other
/// futures are dropped before the body runs, so the body may borrow what
/// they borrowed. Up to eight branches; patterns must be irrefutable;
/// every branch but the last ends with a comma.
///
/// ```
/// # use faultline::{select, Ctx};
/// # use std::time::Duration;
/// # async fn demo(ctx: Ctx<u64, ()>, mut rx: faultline::coro::Receiver<u64>) {
/// select! {
///     env = ctx.recv() => println!("message {} from n{}", env.msg, env.from),
///     v = rx.recv() => println!("from another task: {v:?}"),
///     () = ctx.sleep(Duration::from_millis(50)) => println!("timeout"),
/// }
/// # }
/// ```
#[macro_export]
macro_rules! select {
    ($($rest:tt)+) => {
        $crate::__select!(@acc [] [A B C D E F G H] $($rest)+)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select {
    (@acc [$($done:tt)*] [$v:ident $($vs:ident)*] $p:pat = $f:expr => $b:expr, $($rest:tt)+) => {
        $crate::__select!(@acc [$($done)* ($v, $p, $f, $b)] [$($vs)*] $($rest)+)
    };
    (@acc [$($done:tt)*] [$v:ident $($vs:ident)*] $p:pat = $f:expr => $b:expr $(,)?) => {
        $crate::__select!(@run [$($done)* ($v, $p, $f, $b)] [$($vs)*])
    };
    (@run [$(($v:ident, $p:pat, $f:expr, $b:expr))+] [$($unused:ident)*]) => {{
        #[allow(non_snake_case, unreachable_code)]
        let __branch = {
            $( let mut $v = ::core::pin::pin!($f); )+
            ::core::future::poll_fn(|__cx| {
                $(
                    if let ::core::task::Poll::Ready(__out) = ::core::future::Future::poll($v.as_mut(), __cx) {
                        return ::core::task::Poll::Ready($crate::coro::Branch::$v(__out));
                    }
                )+
                $(
                    // Never taken: it only fixes the unused branches' type.
                    if false {
                        return ::core::task::Poll::Ready($crate::coro::Branch::$unused($crate::coro::never()));
                    }
                )*
                ::core::task::Poll::Pending
            })
            .await
        };
        match __branch {
            $( $crate::coro::Branch::$v($p) => $b, )+
        }
    }};
}

/// Waits for both futures and returns both outputs. Each is polled, in
/// order, only until it completes.
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    (ra.expect("ready above"), rb.expect("ready above"))
}

/// Waits for every future and returns their outputs in the given order.
pub async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    let mut left = futures.len();
    std::future::poll_fn(|cx| {
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                if let Poll::Ready(v) = f.as_mut().poll(cx) {
                    *out = Some(v);
                    left -= 1;
                }
            }
        }
        if left == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future completed")).collect()
}
