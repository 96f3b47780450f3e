//! The key-value state machine: a map of integer registers with per-client
//! deduplication. Every node applies the same committed commands in log
//! order, so every node computes the same results; the leader sends them.
//! It is Raft's (and Multi-Paxos's) [`StateMachine`] for the shared client
//! workload.
//!
//! Deduplication is what makes a retried request (same `(client, seq)`)
//! take effect once: the machine keeps, per client, the last applied `seq`
//! and its result, and answers a repeat from that record. A client has one
//! request in flight at a time, so one record per client suffices.

use std::collections::BTreeMap;

use super::machine::{Effect, NoObs, StateMachine};
use super::msg::Command;
use crate::sim::NodeId;
use crate::workload::{KvOp, Response};

/// The key-value state machine.
#[derive(Clone, Debug, Default)]
pub struct Kv {
    data: BTreeMap<u32, i64>,
    /// Per client: last applied request number and its response.
    sessions: BTreeMap<NodeId, (u64, Response)>,
}

impl Kv {
    /// Applies `cmd` and returns the client's response. With `dedup` false
    /// (the `no-dedup` bug) a repeated request takes effect again.
    pub fn apply(&mut self, cmd: &Command, dedup: bool) -> Response {
        if dedup {
            if let Some((seq, response)) = self.sessions.get(&cmd.client) {
                if cmd.seq <= *seq {
                    // A repeat of an applied request: no effect, same answer.
                    return response.clone();
                }
            }
        }
        let response = match cmd.op {
            KvOp::Read { key } => Response::Ok(self.data.get(&key).copied()),
            KvOp::Write { key, value } => {
                self.data.insert(key, value);
                Response::Ok(None)
            }
            KvOp::Cas { key, old, new } => {
                if self.data.get(&key).copied() == old {
                    self.data.insert(key, new);
                    Response::Ok(None)
                } else {
                    Response::CasFailed
                }
            }
        };
        self.sessions.insert(cmd.client, (cmd.seq, response.clone()));
        response
    }

    /// The current value of `key` (for the `stale-local-read` bug).
    pub fn get(&self, key: u32) -> Option<i64> {
        self.data.get(&key).copied()
    }
}

impl StateMachine for Kv {
    type Op = KvOp;
    type Response = Response;
    type Config = ();
    type Obs = NoObs;

    fn new(_config: &()) -> Kv {
        Kv::default()
    }

    #[inline]
    fn apply<F: FnMut(Effect<Response, NoObs>)>(
        &mut self,
        _index: u64,
        _now_ns: u64,
        cmd: &Command,
        dedup: bool,
        effects: &mut F,
    ) {
        let response = Kv::apply(self, cmd, dedup);
        effects(Effect::Reply { client: cmd.client, seq: cmd.seq, response });
    }

    fn redirect(leader: Option<NodeId>) -> Response {
        Response::Redirect(leader)
    }

    fn read_local(&self, op: &KvOp) -> Option<Response> {
        match *op {
            KvOp::Read { key } => Some(Response::Ok(self.get(key))),
            _ => None,
        }
    }
}
