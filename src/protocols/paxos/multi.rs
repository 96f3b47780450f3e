//! `multipaxos`: Multi-Paxos replicating Raft's key-value state machine
//! ([`crate::protocols::raft::kv`]) for the shared client workload.
//!
//! Every node is a proposer, an acceptor and a learner. The log is a row of
//! slots, each an instance of Paxos, and all of them share one promise: a
//! candidate runs phase 1 once, for every slot from the first one it does
//! not know to be chosen. An acceptor's promise covers the whole log, and
//! its answer carries every proposal it accepted from that slot on. With a
//! quorum of promises the candidate leads. It re-proposes, in its own
//! ballot, the highest-ballot value reported for every open slot, fills the
//! gaps with no-ops, and then runs only phase 2 per new client command: one
//! round trip to a quorum. The node code is in
//! [`super::multi_node`], and this file holds its messages, observations,
//! options and checks.
//!
//! The leader answers a client when it applies the command. Commands are
//! applied in slot order, and the state machine deduplicates retried
//! requests per client, so a request chosen in two slots takes effect once.
//! Reads go through the log too, so a deposed leader cannot answer one from
//! a stale state.
//!
//! Planted bugs (see [`BUGS`]): `amnesiac-acceptor`, `accept-below-promise`,
//! `ignore-accepted-value` (a new leader fills open slots with no-ops
//! instead of the reported values), `leader-skips-recovery` (a new leader
//! proposes in open slots without phase 1) and `no-dedup`.
//!
//! Options (`options` in the scenario): `election_timeout`
//! (`["150ms", "300ms"]`) and `heartbeat` (`"50ms"`), as for Raft.

use std::fmt;
use std::ops::Range;
use std::rc::Rc;

use serde::Deserialize;

use super::invariants::{Agreement, PromiseKept, SharedQuorums, Validity};
use super::{majority, multi_node, Ballot, Slot};
use crate::check::{FnInvariant, Invariant};
use crate::kit::{Invalid, Named, Needs, Protocol, Setup, LINEARIZABILITY_CHECK, LIVENESS};
use crate::protocols::raft::msg::Command;
use crate::scenario::{Dur, Scenario};
use crate::sim::NodeId;
use crate::workload::{ClientCodec, KvOp, Response};

/// What a slot holds: a client command, or a no-op that fills a gap.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Value {
    /// Fills a slot a new leader found empty.
    Noop,
    /// A client's command.
    Cmd(Command),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Value::Cmd(c) = self else {
            return write!(f, "no-op");
        };
        write!(f, "n{}#{} ", c.client, c.seq)?;
        match c.op {
            KvOp::Read { key } => write!(f, "read k{key}"),
            KvOp::Write { key, value } => write!(f, "write k{key}={value}"),
            KvOp::Cas { key, old: Some(old), new } => write!(f, "cas k{key} {old}->{new}"),
            KvOp::Cas { key, old: None, new } => write!(f, "cas k{key} absent->{new}"),
        }
    }
}

/// Multi-Paxos messages, and the client request/reply pair.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    /// Phase 1a for every slot from `from_slot` on.
    Prepare {
        /// The candidate's ballot.
        ballot: Ballot,
        /// The first slot the candidate does not know to be chosen.
        from_slot: Slot,
    },
    /// Phase 1b: the promise, with every proposal accepted from `from_slot`
    /// on. For slots this node already knows to be chosen it reports the
    /// chosen value instead, which outranks any proposal: a proposal of a
    /// higher ballot in that slot could only carry the same value.
    Promise {
        /// The ballot promised.
        ballot: Ballot,
        /// `(slot, value)` of each slot from `from_slot` on known chosen, by slot.
        chosen: Vec<(Slot, Value)>,
        /// `(slot, ballot, value)` of each accepted proposal in the slots above those, by slot.
        accepted: Vec<(Slot, Ballot, Value)>,
    },
    /// Phase 2a for `entries` (none: a heartbeat). Also tells followers that
    /// every slot up to `chosen_upto` is chosen.
    Accept {
        /// The leader's ballot.
        ballot: Ballot,
        /// `(slot, value)` pairs to accept, for consecutive slots. Shared
        /// between the copies sent to each acceptor.
        entries: Rc<[(Slot, Value)]>,
        /// The leader's chosen prefix: slots `1..=chosen_upto` are chosen.
        chosen_upto: Slot,
    },
    /// Phase 2b: the slots accepted in `ballot`.
    Accepted {
        /// The ballot.
        ballot: Ballot,
        /// The slots of the accept just handled.
        slots: Range<Slot>,
        /// The first slot below the leader's chosen prefix that this node
        /// cannot learn by itself (it holds no proposal of the leader's
        /// ballot there): the leader sends it in a [`Msg::Decide`].
        need: Option<Slot>,
    },
    /// A refused prepare or accept.
    Nack {
        /// The ballot refused.
        ballot: Ballot,
        /// The higher ballot this acceptor promised.
        promised: Ballot,
    },
    /// Chosen values, sent by the leader to a follower that lags behind.
    Decide {
        /// `(slot, value)` pairs, each chosen.
        entries: Vec<(Slot, Value)>,
    },
    /// A client request `(client, seq)`.
    ClientRequest {
        /// The client's request number (the client is the sender).
        seq: u64,
        /// The operation.
        op: KvOp,
    },
    /// The answer to a client request.
    ClientReply {
        /// The request answered.
        seq: u64,
        /// The result, or a redirect.
        response: Response,
    },
}

/// What Multi-Paxos nodes report. `Debug` gives the labels of the report:
/// `promised b(3,1) from slot 12`, `chosen n5#3 write k0=10005 at slot 12 in b(3,1)`.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Obs {
    /// This node's acceptor promised `ballot` for every slot (durable by now).
    Promised {
        /// The ballot.
        ballot: Ballot,
        /// The first slot the prepare asked about.
        from_slot: Slot,
    },
    /// This node's acceptor accepted `value` in `ballot` at `slot` (durable by now).
    Accepted {
        /// The slot.
        slot: Slot,
        /// The ballot.
        ballot: Ballot,
        /// The value.
        value: Value,
    },
    /// A leader proposed a new value (a client command, or a no-op for a
    /// gap) at `slot`. Re-proposals of recovered values are not reported.
    Proposed {
        /// The slot.
        slot: Slot,
        /// The ballot.
        ballot: Ballot,
        /// The value.
        value: Value,
    },
    /// This node leads in `ballot`, having recovered the open slots.
    Elected {
        /// The ballot.
        ballot: Ballot,
        /// The first slot it recovered.
        from_slot: Slot,
        /// Open slots it re-proposed with a reported value.
        recovered: u64,
        /// Open slots it filled with a no-op.
        noops: u64,
    },
    /// This node stopped leading in `ballot`.
    SteppedDown {
        /// The ballot.
        ballot: Ballot,
    },
    /// The leader learned that `value` is chosen at `slot` (a quorum accepted it in `ballot`).
    Chosen {
        /// The slot.
        slot: Slot,
        /// The ballot.
        ballot: Ballot,
        /// The value.
        value: Value,
    },
    /// This node applied `slot`'s value to its state machine.
    Applied {
        /// The slot.
        slot: Slot,
        /// The value.
        value: Value,
    },
}

impl fmt::Debug for Obs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Obs::Promised { ballot, from_slot } => write!(f, "promised {ballot:?} from slot {from_slot}"),
            Obs::Accepted { slot, ballot, value } => write!(f, "accepted {value:?} in {ballot:?} at slot {slot}"),
            Obs::Proposed { slot, ballot, value } => write!(f, "proposed {value:?} in {ballot:?} at slot {slot}"),
            Obs::Elected { ballot, from_slot, recovered, noops } => {
                write!(f, "leads in {ballot:?}: {recovered} slots recovered from slot {from_slot}, {noops} no-ops")
            }
            Obs::SteppedDown { ballot } => write!(f, "stepped down from {ballot:?}"),
            Obs::Chosen { slot, ballot, value } => write!(f, "chosen {value:?} at slot {slot} in {ballot:?}"),
            Obs::Applied { slot, value } => write!(f, "applied {value:?} at slot {slot}"),
        }
    }
}

/// The `options` object.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// Election timeout range `[min, max]` on the local clock, drawn uniformly:
    /// a node that hears no leader for that long runs phase 1.
    pub election_timeout: [Dur; 2],
    /// Leader heartbeat and retransmission period (and a candidate's prepare re-send period).
    pub heartbeat: Dur,
}

impl Default for Options {
    fn default() -> Self {
        Options { election_timeout: [Dur(150_000_000), Dur(300_000_000)], heartbeat: Dur(50_000_000) }
    }
}

/// The protocol.
pub struct MultiPaxos;

/// Multi-Paxos's checks.
pub const CHECKS: &[Named] = &[
    Named::new("agreement", "at most one value is chosen per slot (counted from the acceptors' reports)"),
    Named::new("validity", "a chosen value is a client command or a no-op that a leader proposed in that slot"),
    Named::new("promise-kept", "no acceptor accepts a ballot below one it promised"),
    Named::new("state-machine-safety", "no two nodes apply different values in one slot"),
    LINEARIZABILITY_CHECK,
    Named::new(LIVENESS, "after the last heal, a value is chosen and a client op completes within the window")
        .needing(Needs::Liveness),
];

/// Multi-Paxos's planted bugs.
pub const BUGS: &[Named] = &[
    Named::new("amnesiac-acceptor", "acceptors keep their promise and accepted proposals in memory only"),
    Named::new("accept-below-promise", "an acceptor accepts a ballot lower than the one it promised"),
    Named::new("ignore-accepted-value", "a new leader fills open slots with no-ops, ignoring the values reported"),
    Named::new("leader-skips-recovery", "a new leader proposes in open slots without running phase 1"),
    Named::new("no-dedup", "the state machine applies a retried request again"),
];

/// Client requests and replies in Multi-Paxos's message type.
#[derive(Clone)]
struct Codec;

impl ClientCodec<Msg> for Codec {
    fn request(&self, seq: u64, op: &KvOp) -> Msg {
        Msg::ClientRequest { seq, op: op.clone() }
    }
    fn response(&self, msg: &Msg) -> Option<(u64, Response)> {
        match msg {
            Msg::ClientReply { seq, response } => Some((*seq, response.clone())),
            _ => None,
        }
    }
}

/// The quorum count that [`agreement`] and [`validity`] share.
pub type Votes = Rc<std::cell::RefCell<SharedQuorums<Value>>>;

/// `agreement` over the acceptors' reports, with quorums of `quorum`.
pub fn agreement(quorum: usize) -> Box<dyn Invariant<Obs>> {
    agreement_in(SharedQuorums::new(quorum))
}

/// [`agreement`], with quorums counted in `votes` (shared with [`validity_in`]).
pub fn agreement_in(votes: Votes) -> Box<dyn Invariant<Obs>> {
    let mut check = Agreement::sharing(votes, "slot");
    Box::new(FnInvariant::only(
        "agreement",
        |o| matches!(o, Obs::Accepted { .. }),
        move |_, node, obs: &Obs| match obs {
            Obs::Accepted { slot, ballot, value } => check.on_accepted(*slot, node, *ballot, value),
            _ => Ok(()),
        },
    ))
}

/// `validity`: a chosen value was proposed as new in its slot.
pub fn validity(quorum: usize) -> Box<dyn Invariant<Obs>> {
    validity_in(SharedQuorums::new(quorum))
}

/// [`validity`], with quorums counted in `votes` (shared with [`agreement_in`]).
pub fn validity_in(votes: Votes) -> Box<dyn Invariant<Obs>> {
    let mut check = Validity::sharing(votes, "slot");
    Box::new(FnInvariant::only(
        "validity",
        |o| matches!(o, Obs::Proposed { .. } | Obs::Accepted { .. }),
        move |_, node, obs: &Obs| match obs {
            Obs::Proposed { slot, value, .. } => {
                check.on_proposed(*slot, value);
                Ok(())
            }
            Obs::Accepted { slot, ballot, value } => check.on_accepted(*slot, node, *ballot, value),
            _ => Ok(()),
        },
    ))
}

/// `promise-kept`: a promise covers the whole log.
pub fn promise_kept() -> Box<dyn Invariant<Obs>> {
    let mut check = PromiseKept::new("");
    Box::new(FnInvariant::only(
        "promise-kept",
        |o| matches!(o, Obs::Promised { .. } | Obs::Accepted { .. }),
        move |_, node, obs: &Obs| match obs {
            Obs::Promised { ballot, .. } => {
                check.on_promised(node, 0, *ballot);
                Ok(())
            }
            Obs::Accepted { ballot, .. } => check.on_accepted(node, 0, *ballot),
            _ => Ok(()),
        },
    ))
}

/// `state-machine-safety`: every node applies the same value in each slot.
pub fn state_machine_safety() -> Box<dyn Invariant<Obs>> {
    let mut applied: Vec<Option<(Value, NodeId)>> = Vec::new();
    Box::new(FnInvariant::only(
        "state-machine-safety",
        |o| matches!(o, Obs::Applied { .. }),
        move |_, node, obs: &Obs| {
            if let Obs::Applied { slot, value } = obs {
                let i = usize::try_from(*slot).expect("a slot fits in memory");
                if applied.len() <= i {
                    applied.resize(i + 1, None);
                }
                match &applied[i] {
                    Some((v, other)) if v != value => {
                        return Err(format!(
                            "n{node} applied {value:?} at slot {slot}, but n{other} applied {v:?} there"
                        ));
                    }
                    Some(_) => {}
                    None => applied[i] = Some((value.clone(), node)),
                }
            }
            Ok(())
        },
    ))
}

/// A message's short label for the diagrams: `Accept b(3,1) 41..45 c40`.
fn msg_label(msg: &Msg) -> String {
    use crate::protocols::raft::label::{kv_op, kv_response};
    let slots = |first: Option<Slot>, last: Option<Slot>| match (first, last) {
        (Some(a), Some(b)) if a == b => format!(" {a}"),
        (Some(a), Some(b)) => format!(" {a}..{b}"),
        _ => String::new(),
    };
    match msg {
        Msg::Prepare { ballot, from_slot } => format!("Prepare {ballot:?} from {from_slot}"),
        Msg::Promise { ballot, chosen, accepted } => {
            format!("Promise {ballot:?} {} chosen {} accepted", chosen.len(), accepted.len())
        }
        Msg::Accept { ballot, entries, chosen_upto } => format!(
            "Accept {ballot:?}{} c{chosen_upto}",
            slots(entries.first().map(|e| e.0), entries.last().map(|e| e.0))
        ),
        Msg::Accepted { ballot, slots: range, .. } => {
            format!("Accepted {ballot:?}{}", slots(Some(range.start), range.end.checked_sub(1)))
        }
        Msg::Nack { ballot, promised } => format!("Nack {ballot:?} promised {promised:?}"),
        Msg::Decide { entries } => {
            format!("Decide{}", slots(entries.first().map(|e| e.0), entries.last().map(|e| e.0)))
        }
        Msg::ClientRequest { seq, op } => format!("{} #{seq}", kv_op(op)),
        Msg::ClientReply { seq, response } => format!("reply #{seq} {}", kv_response(response)),
    }
}

/// An observation in plain words: `leader b(3,1)`, `chosen slot 4`.
fn obs_label(obs: &Obs) -> String {
    match obs {
        Obs::Promised { ballot, .. } => format!("promised {ballot:?}"),
        Obs::Accepted { slot, .. } => format!("accepted slot {slot}"),
        Obs::Proposed { slot, .. } => format!("proposed slot {slot}"),
        Obs::Elected { ballot, .. } => format!("leader {ballot:?}"),
        Obs::SteppedDown { ballot } => format!("stepped down {ballot:?}"),
        Obs::Chosen { slot, .. } => format!("chosen slot {slot}"),
        Obs::Applied { slot, .. } => format!("applied slot {slot}"),
    }
}

impl Protocol for MultiPaxos {
    type Msg = Msg;
    type Obs = Obs;
    type Options = Options;

    fn name(&self) -> &'static str {
        "multipaxos"
    }
    fn about(&self) -> &'static str {
        "Multi-Paxos with a stable leader replicating a linearizable key-value store"
    }
    fn checks(&self) -> &'static [Named] {
        CHECKS
    }
    fn bugs(&self) -> &'static [Named] {
        BUGS
    }
    fn msg_label(msg: &Msg) -> String {
        msg_label(msg)
    }
    fn obs_label(obs: &Obs) -> String {
        obs_label(obs)
    }

    fn validate(&self, o: &Options, _scenario: &Scenario) -> Result<(), Invalid> {
        let [lo, hi] = o.election_timeout;
        if lo.0 == 0 || lo > hi {
            return Err(Invalid::new("options.election_timeout", "expected [min, max] with 0 < min <= max"));
        }
        if o.heartbeat.0 == 0 || o.heartbeat >= lo {
            return Err(Invalid::new(
                "options.heartbeat",
                "expected a positive heartbeat shorter than the minimum election timeout",
            ));
        }
        Ok(())
    }

    fn setup(&self, s: &mut Setup<'_, Self>) {
        let o = s.options();
        let cfg = Rc::new(multi_node::Config {
            election_timeout_ns: (o.election_timeout[0].0, o.election_timeout[1].0),
            heartbeat_ns: o.heartbeat.0,
            batch_entries_max: 64,
            bugs: multi_node::Bugs {
                amnesiac_acceptor: s.bug("amnesiac-acceptor"),
                accept_below_promise: s.bug("accept-below-promise"),
                ignore_accepted_value: s.bug("ignore-accepted-value"),
                leader_skips_recovery: s.bug("leader-skips-recovery"),
                no_dedup: s.bug("no-dedup"),
            },
        });
        let quorum = majority(s.node_count());
        s.nodes(move |ctx| multi_node::run(ctx, cfg.clone()));
        s.kv_clients(Codec);
        // One quorum count for both checks: each acceptor report is counted once.
        let votes = SharedQuorums::new(quorum);
        s.invariant("agreement", || agreement_in(votes.clone()));
        s.invariant("validity", || validity_in(votes));
        s.invariant("promise-kept", promise_kept);
        s.invariant("state-machine-safety", state_machine_safety);
        s.progress("a value is chosen", |obs| matches!(obs, Obs::Chosen { .. }));
        // The nemesis's `leader` target mode aims at the latest leader.
        s.leader_shown(|obs| matches!(obs, Obs::Elected { .. }));
    }
}
