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
//!
//! Both tables are small (a scenario's keys, its clients) and touched on
//! every apply by every replica, so they are vectors sorted by key and
//! searched by bisection ([`SortedMap`]) rather than B-trees.

use super::machine::{Effect, NoObs, StateMachine};
use super::msg::Command;
use crate::sim::NodeId;
use crate::workload::{KvOp, Response};

/// The key-value state machine.
#[derive(Clone, Debug, Default)]
pub struct Kv {
    data: SortedMap<u32, i64>,
    /// Per client: last applied request number and its response.
    sessions: SortedMap<NodeId, (u64, Response)>,
}

/// A map kept as a vector sorted by key: for the few keys a state machine holds.
#[derive(Clone, Debug)]
struct SortedMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap(Vec::new())
    }
}

impl<K: Ord + Copy, V> SortedMap<K, V> {
    fn get(&self, key: &K) -> Option<&V> {
        self.0.binary_search_by(|(k, _)| k.cmp(key)).ok().map(|i| &self.0[i].1)
    }

    fn insert(&mut self, key: K, value: V) {
        match self.0.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sorted_map_behaves_as_a_map() {
        let mut m: SortedMap<u32, i64> = SortedMap::default();
        let mut reference = std::collections::BTreeMap::new();
        let mut rng = crate::sim::rng::Prng::stream(3, "kv-map");
        for _ in 0..2000 {
            let (k, v) = (rng.index(40) as u32, rng.index(1000) as i64);
            if rng.index(2) == 0 {
                m.insert(k, v);
                reference.insert(k, v);
            }
            assert_eq!(m.get(&k), reference.get(&k));
        }
        assert_eq!(m.0, reference.into_iter().collect::<Vec<_>>(), "sorted by key, one entry per key");
    }

    #[test]
    fn a_repeated_request_takes_effect_once_unless_dedup_is_off() {
        let write = |seq, value| Command { client: 7, seq, op: KvOp::Write { key: 1, value } };
        let cas = Command { client: 8, seq: 1, op: KvOp::Cas { key: 1, old: Some(5), new: 6 } };
        let mut kv = Kv::default();
        assert_eq!(kv.apply(&write(1, 5), true), Response::Ok(None));
        assert_eq!(kv.apply(&cas, true), Response::Ok(None));
        assert_eq!(kv.apply(&write(1, 5), true), Response::Ok(None), "a repeat answers as before");
        assert_eq!(kv.get(1), Some(6), "and has no effect");
        assert_eq!(kv.apply(&write(1, 5), false), Response::Ok(None));
        assert_eq!(kv.get(1), Some(5), "without dedup the repeat takes effect again");
        assert_eq!(kv.apply(&cas, true), Response::Ok(None), "a repeated cas answers from its record");
        assert_eq!(kv.get(1), Some(5), "and does not apply again");
    }
}
