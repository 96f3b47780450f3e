//! What Raft replicates, and how it lives inside a larger protocol.
//!
//! Raft orders commands; a [`StateMachine`] gives them meaning. The node
//! code in [`super::node`] is generic over it and monomorphised for each
//! one, so the key-value store ([`super::kv::Kv`]) costs no dynamic call,
//! and another service (the coordination tree behind `zk-lock`,
//! `crate::protocols::lock::zk`) reuses the same consensus instead of a
//! second one. A state machine is deterministic: every replica applies the
//! same committed commands in log order and computes the same state and
//! the same replies; only the leader sends the replies.
//!
//! A service may also need things that are not commands: a client's
//! heartbeat is answered by the leader from its own volatile state, and
//! the leader proposes commands of its own (a session that stopped
//! heartbeating expires by a command, so every replica agrees when). The
//! leader-side hooks ([`StateMachine::on_leader_start`],
//! [`StateMachine::serve`], [`StateMachine::propose`]) are for that; the
//! key-value store leaves them empty.
//!
//! [`Carries`] lets Raft's messages travel inside a protocol's own message
//! enum (Raft's servers, a fencing storage server and lock clients in one
//! simulation); every type carries itself, so the key-value Raft's message
//! type is Raft's own and wrapping costs nothing.

use super::invariants::Obs;
use super::msg::{Command, LogOp};
use crate::sim::NodeId;

/// What applying a command produces, besides the new state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect<R, B> {
    /// A message for client `client`: the answer to its request `seq`, or
    /// (with a `seq` the machine reserves) a message it did not ask for.
    /// The leader sends it; followers drop it.
    Reply {
        /// The client process.
        client: NodeId,
        /// The request answered.
        seq: u64,
        /// The answer.
        response: R,
    },
    /// An observation for the checkers, emitted by every replica that applies.
    Observe(B),
}

/// The observations of a state machine that reports none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum NoObs {}

impl From<NoObs> for Obs {
    fn from(never: NoObs) -> Obs {
        match never {}
    }
}

/// A deterministic state machine replicated by Raft's log.
pub trait StateMachine: 'static {
    /// What a client asks, carried in requests and log entries.
    type Op: LogOp;
    /// What a client is told.
    type Response: Clone + std::fmt::Debug + PartialEq + Eq + std::hash::Hash + 'static;
    /// What every replica needs to build its state machine.
    type Config: 'static;
    /// What applying reports to the checkers ([`NoObs`] for nothing).
    type Obs: 'static;

    /// Whether the machine uses the leader-side hooks below; `false` skips
    /// them (and the clock reads they need) in the node's hot path.
    const SERVICE: bool = false;

    /// An empty state machine.
    fn new(config: &Self::Config) -> Self;

    /// Applies the committed command at log index `index` and hands what
    /// it produces to `effects`: the answer to the command's own request,
    /// anything else the change causes for clients (a watch notification),
    /// and observations. With `dedup` false (Raft's `no-dedup` bug) a
    /// repeated request must take effect again. `now_ns` is the applying
    /// node's clock (0 unless [`StateMachine::SERVICE`]), for observations
    /// only: the state must not depend on it.
    fn apply<F: FnMut(Effect<Self::Response, Self::Obs>)>(
        &mut self,
        index: u64,
        now_ns: u64,
        cmd: &Command<Self::Op>,
        dedup: bool,
        effects: &mut F,
    );

    /// The answer of a node that is not the leader: try `leader`, if known.
    fn redirect(leader: Option<NodeId>) -> Self::Response;

    /// The answer to a read-only `op` from local state alone, if the
    /// machine can give one: used only by Raft's `stale-local-read` bug.
    fn read_local(&self, _op: &Self::Op) -> Option<Self::Response> {
        None
    }

    /// This node just became leader at local time `now_ns`: reset any
    /// volatile state its service keeps (a new leader gives every session
    /// a fresh timeout).
    fn on_leader_start(&mut self, _now_ns: u64) {}

    /// Sees every client request that reaches the leader, before it is
    /// appended; answers one that needs no log entry (a heartbeat) with
    /// `Some`, which the leader sends at once.
    fn serve(&mut self, _client: NodeId, _op: &Self::Op, _now_ns: u64) -> Option<Self::Response> {
        None
    }

    /// On every heartbeat tick of the leader: an operation the leader
    /// proposes on its own (called until it returns `None`). It is
    /// appended as a command of client `leader` and sequence number 0.
    fn propose(&mut self, _now_ns: u64) -> Option<Self::Op> {
        None
    }
}

/// A message type that can carry `T`: Raft's messages inside a larger
/// protocol's enum. Every type carries itself.
pub trait Carries<T>: Sized {
    /// Wraps `inner`.
    fn wrap(inner: T) -> Self;
    /// The carried message, or the message back if it is something else.
    fn unwrap(self) -> Result<T, Self>;
}

impl<T> Carries<T> for T {
    #[inline]
    fn wrap(inner: T) -> T {
        inner
    }
    #[inline]
    fn unwrap(self) -> Result<T, T> {
        Ok(self)
    }
}
