//! `paxos` and `multipaxos`: Lamport's Paxos ("Paxos Made Simple", 2001),
//! single-decree and multi-decree, with durable acceptors.
//!
//! # The algorithm
//! Paxos lets a set of processes agree on one value although messages are
//! lost, duplicated and reordered and processes crash and come back. It
//! has three roles. *Proposers* suggest values, *acceptors* vote on them,
//! and *learners* find out which value won. A value is **chosen** once a
//! majority of the acceptors (a *quorum*) have accepted it in the same
//! *ballot*. A ballot is a pair (round, proposer id). Pairs are compared
//! round first, so two proposers never use the same ballot and every
//! proposer can always pick a ballot above any it has seen. Two quorums
//! always share an acceptor, and everything below follows from that.
//!
//! A proposer with ballot `b` runs two phases.
//! 1. **Prepare / promise.** It asks the acceptors to *promise* `b`. An
//!    acceptor that has promised nothing higher promises never to accept a
//!    ballot below `b`. Its answer carries the proposal it has accepted
//!    before, if any: that proposal's ballot and value.
//! 2. **Accept / accepted.** With promises from a quorum, the proposer must
//!    propose the value of the *highest-ballot* proposal reported in them.
//!    Only if no promise reported one may it propose a value of its own.
//!    An acceptor accepts `(b, v)` unless it has promised a higher ballot.
//!    It tells the proposer, and the learners, that it has.
//!
//! The value rule is the whole trick. Suppose `v` was chosen in ballot
//! `b0`. Then every quorum contains an acceptor that accepted `v` in `b0`,
//! and by induction on ballots every proposal above `b0` carries `v`. So
//! once one value is chosen, no other ever is, whatever arrives late or
//! twice. For this, an acceptor's promise and its accepted proposal must
//! outlive a crash. Both are written to storage and synced before the reply
//! that reveals them. An acceptor that forgets them on a restart (the
//! `amnesiac-acceptor` bug) breaks the quorum intersection.
//!
//! Safety never depends on timing. Progress does: two proposers can keep
//! pre-empting each other's ballots forever (*dueling proposers*). Our
//! proposers back off for a random, exponentially growing time after a
//! failed round, so once the faults stop, one of them gets both phases
//! through.
//!
//! [`single`] runs single-decree Paxos as written above. To test many
//! decisions per run, a run decides a sequence of independent *instances*,
//! one opening every `instance_every`. [`multi`] is Multi-Paxos. There, a
//! log of *slots* holds key-value commands. A stable leader runs phase 1
//! once for every slot above those it knows are chosen, and then phase 2 per
//! slot. It replicates the same state machine and client workload that
//! Raft does.
//!
//! # Invariants promised (see [`invariants`])
//! - `agreement`: at most one value is chosen per instance or slot. It is
//!   judged from the acceptors' reports of what they accepted, counted into
//!   quorums per (instance or slot, ballot), not from what learners believe.
//! - `validity`: a chosen value was proposed as new by some proposer (for
//!   Multi-Paxos, a client command or a no-op put in that slot by a leader).
//! - `promise-kept`: no acceptor accepts a ballot below one it promised.
//! - `state-machine-safety` (Multi-Paxos): no two nodes apply different
//!   commands in one slot.
//! - `linearizability` of the client history (Multi-Paxos, the library's).
//! - `liveness`, also the library's: after the last heal, a value is chosen
//!   (and, with clients, a client operation completes) within the window.

pub mod invariants;
pub mod multi;
pub mod multi_node;
pub mod single;

use std::fmt;

use crate::sim::NodeId;

pub use multi::MultiPaxos;
pub use single::Paxos;

/// A ballot's round number. Round 0 is "no ballot": proposers start at 1.
pub type Round = u64;

/// An instance of single-decree Paxos (numbered from 0).
pub type Instance = u64;

/// A Multi-Paxos log slot (numbered from 1; slot 0 is the empty prefix).
pub type Slot = u64;

/// A ballot, also called a proposal number: a round and the id of the
/// proposer that owns it. Ordered by round, then by proposer, so two
/// proposers never share a ballot. `Debug` prints `b(3,1)`.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Ballot {
    /// The round; compared first.
    pub round: Round,
    /// The proposer that owns the ballot.
    pub node: NodeId,
}

impl Ballot {
    /// Below every real ballot: what an acceptor that promised nothing holds.
    pub const ZERO: Ballot = Ballot { round: 0, node: 0 };

    /// Ballot `round` of proposer `node`.
    pub fn new(round: Round, node: NodeId) -> Ballot {
        Ballot { round, node }
    }
}

impl fmt::Debug for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b({},{})", self.round, self.node)
    }
}

/// The node ids that hold a role: the first `count` nodes.
pub(crate) fn role_ids(count: usize) -> Vec<NodeId> {
    (0..count).collect()
}

/// The size of a majority of `n` acceptors.
pub(crate) fn majority(n: usize) -> usize {
    assert!(n > 0, "Paxos needs at least one acceptor");
    n / 2 + 1
}

/// A set of node ids that does not allocate for ids below 64 (every
/// acceptor of a typical run): one bit each, and a list for the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSet {
    low: u64,
    high: Vec<NodeId>,
}

impl NodeSet {
    /// Adds `n`; returns false if it was there already.
    pub fn insert(&mut self, n: NodeId) -> bool {
        if n < 64 {
            let bit = 1u64 << n;
            let new = self.low & bit == 0;
            self.low |= bit;
            new
        } else if self.high.contains(&n) {
            false
        } else {
            self.high.push(n);
            true
        }
    }

    /// Whether `n` is in the set.
    pub fn contains(&self, n: NodeId) -> bool {
        if n < 64 {
            self.low & (1u64 << n) != 0
        } else {
            self.high.contains(&n)
        }
    }

    /// The number of ids in the set.
    pub fn len(&self) -> usize {
        self.low.count_ones() as usize + self.high.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids, in increasing order.
    pub fn to_vec(&self) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = (0..64).filter(|&n| self.low & (1u64 << n) != 0).collect();
        let mut high = self.high.clone();
        high.sort_unstable();
        out.extend(high);
        out
    }
}
