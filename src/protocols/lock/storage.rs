//! The storage server that lock holders write to, with Kleppmann's fence:
//! it remembers the highest fencing token it has accepted and rejects a
//! write that carries a lower one. It is where a stale holder does its
//! damage, so it is where safety is decided (see the module essay in
//! `lock/mod.rs`).
//!
//! It is one `async fn`, [`serve`], that any lock protocol places on a node
//! with `s.role([id], ...)`. It is generic over the protocol's message type
//! through [`StorageCodec`] (how a write request and its reply sit in the
//! protocol's messages), as the key-value workload's `ClientCodec` is, and
//! over its observation type through `O: From<LockObs>`. Clients write with
//! [`write`], a `Ctx::call` through the same codec.
//!
//! The server holds one register. Its state (the value, the highest token
//! accepted, and the last answer per client for deduplication) is written
//! to storage and synced before every reply, so a storage crash forgets
//! nothing that was acknowledged. A write is judged as it comes:
//! - it carries a token below the highest accepted, and fencing is on:
//!   rejected, `WriteRejected`;
//! - otherwise (a token at or above the highest, no token at all, or fencing
//!   off): accepted, `WriteAccepted`. A write without a token cannot be
//!   fenced (Redlock has none), so it is always accepted.
//!
//! A retransmitted request (same client, same request id) gets the first
//! answer again and is not applied twice.

use std::collections::BTreeMap;
use std::hash::Hash;
use std::time::Duration;

use super::{LeaseId, LockObs, Token};
use crate::coro::{Correlated, RequestId, Timeout};
use crate::node::Ctx;
use crate::sim::NodeId;

/// A write to the storage server.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Write {
    /// The writer's acquisition (its lock value).
    pub lease: LeaseId,
    /// The fencing token of the writer's grant, if the protocol has one.
    pub token: Option<Token>,
    /// The value (unique per write).
    pub value: i64,
}

/// The storage's answer to a write.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WriteReply {
    /// The write took effect.
    Accepted,
    /// Fenced off: its token is below `highest`, the highest accepted.
    Rejected {
        /// The highest token accepted so far.
        highest: Token,
    },
}

/// How a protocol carries storage writes and their replies in its messages.
pub trait StorageCodec<M>: 'static {
    /// The write `msg` asks for, with its call's request id, if it is one.
    fn write_of(&self, msg: &M) -> Option<(RequestId, Write)>;
    /// The request message for `write` in call `id`.
    fn request(&self, id: RequestId, write: Write) -> M;
    /// The reply message answering call `id`.
    fn reply(&self, id: RequestId, reply: WriteReply) -> M;
    /// The answer `msg` carries, if it is a storage reply.
    fn reply_of(&self, msg: &M) -> Option<WriteReply>;
}

/// How the storage server behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageConfig {
    /// Reject writes whose token is below the highest accepted (the fix);
    /// `false` accepts every write (the `no-fencing` bug).
    pub fencing: bool,
}

/// The storage server's durable state.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct State {
    /// The register's value.
    value: Option<i64>,
    /// The highest token accepted.
    highest: Option<Token>,
    /// Per client: its last request id and the answer given.
    last: BTreeMap<NodeId, (RequestId, WriteReply)>,
}

const STATE_KEY: &str = "storage/state";

/// The storage server's entry point: answers writes for ever.
pub async fn serve<M, O, C>(ctx: Ctx<M, O>, codec: C, cfg: StorageConfig)
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: From<LockObs> + std::fmt::Debug + Hash + serde::Serialize + 'static,
    C: StorageCodec<M>,
{
    let disk = ctx.storage();
    let mut state: State = disk.get_json(STATE_KEY).unwrap_or_default();
    loop {
        let env = ctx.recv().await;
        let Some((id, write)) = codec.write_of(&env.msg) else { continue };
        let client = env.from;
        if let Some((last_id, reply)) = state.last.get(&client) {
            if *last_id == id {
                ctx.send(client, codec.reply(id, reply.clone()));
                continue;
            }
        }
        let Write { lease, token, value } = write;
        let stale = match (token, state.highest) {
            (Some(t), Some(h)) => t < h,
            _ => false,
        };
        // BUG(no-fencing): with fencing off, a stale token is let through.
        let (reply, obs) = if stale && cfg.fencing {
            let highest = state.highest.expect("a stale token is below some accepted one");
            (WriteReply::Rejected { highest }, LockObs::WriteRejected { client, lease, token, highest, value })
        } else {
            state.value = Some(value);
            if let Some(t) = token {
                state.highest = Some(state.highest.map_or(t, |h| h.max(t)));
            }
            (WriteReply::Accepted, LockObs::WriteAccepted { client, lease, token, value })
        };
        state.last.insert(client, (id, reply.clone()));
        disk.put_json(STATE_KEY, &state);
        disk.sync().await;
        ctx.emit(O::from(obs));
        ctx.send(client, codec.reply(id, reply));
    }
}

/// Writes `write` to the storage server at `storage` and waits for its
/// answer, at most `timeout` on the local clock.
pub async fn write<M, O, C>(
    ctx: &Ctx<M, O>,
    storage: NodeId,
    codec: &C,
    write: Write,
    timeout: Duration,
) -> Result<WriteReply, Timeout>
where
    M: Correlated + Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
    C: StorageCodec<M>,
{
    let reply = ctx.call(storage, |id| codec.request(id, write), timeout).await?;
    codec.reply_of(&reply).ok_or(Timeout)
}
