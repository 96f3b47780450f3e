//! The Paxos checks, written once for both protocols. Each judges a stream
//! of reports keyed by an instance (single-decree) or a slot (Multi-Paxos).
//! Each protocol feeds them from its own observation type (see
//! `single::agreement` and `multi::agreement`).
//!
//! - [`Agreement`]: counts the acceptors' `accepted` reports into quorums
//!   per (key, ballot, value). A value is chosen the moment a quorum of
//!   distinct acceptors report accepting it in one ballot, which is
//!   Lamport's definition. A second, different value chosen at the same
//!   key is a violation. The check never asks a learner: a learner that
//!   misses messages must not hide two values being chosen.
//! - [`Validity`]: every chosen value was proposed as new at that key by
//!   some proposer (adopted values were proposed as new before).
//! - [`PromiseKept`]: no acceptor accepts below a ballot it promised, in the
//!   scope the promise covers (one instance, or the whole log).
//!
//! The tables are vectors indexed by key (keys are dense, numbered from 0
//! or 1), so a report costs an index and a scan of the few ballots seen at
//! that key. Votes are counted by the value's stable hash, so a long run
//! keeps a few words per key; only the first chosen value is kept whole,
//! for the message that reports a second one.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;

use super::{Ballot, NodeSet};
use crate::sim::trace::stable_hash;
use crate::sim::NodeId;

/// A value that became chosen: where, in which ballot, and by whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen<V> {
    /// The instance or slot.
    pub key: u64,
    /// The ballot whose quorum chose it.
    pub ballot: Ballot,
    /// The value.
    pub value: V,
    /// The quorum of acceptors that accepted it in that ballot.
    pub acceptors: NodeSet,
}

/// Acceptors that accepted one value (named by its hash) in one ballot at one key.
#[derive(Clone, Debug)]
struct Vote {
    ballot: Ballot,
    value_hash: u64,
    acceptors: NodeSet,
    counted: bool,
}

fn at<T: Default>(table: &mut Vec<T>, key: u64) -> &mut T {
    let i = usize::try_from(key).expect("a key fits in memory");
    if table.len() <= i {
        table.resize_with(i + 1, T::default);
    }
    &mut table[i]
}

fn names(nodes: &NodeSet) -> String {
    nodes.to_vec().iter().map(|n| format!("n{n}")).collect::<Vec<_>>().join(" ")
}

/// The votes at one key. Nearly every key sees one (ballot, value), so the
/// first is kept inline and only later ones allocate.
#[derive(Clone, Debug, Default)]
struct KeyVotes {
    first: Option<Vote>,
    more: Vec<Vote>,
}

/// Counts `accepted` reports into quorums.
#[derive(Clone, Debug)]
pub struct Quorums {
    quorum: usize,
    votes: Vec<KeyVotes>,
}

impl Quorums {
    /// Quorums of `quorum` acceptors (a majority of the acceptors).
    pub fn new(quorum: usize) -> Self {
        assert!(quorum > 0, "a quorum has at least one acceptor");
        Quorums { quorum, votes: Vec::new() }
    }

    /// Records that `acceptor` accepted `value` in `ballot` at `key`.
    /// Returns the chosen value if this report completes a quorum (once per
    /// key, ballot and value; repeats from one acceptor count once).
    pub fn record<V: Clone + Hash>(
        &mut self,
        key: u64,
        acceptor: NodeId,
        ballot: Ballot,
        value: &V,
    ) -> Option<Chosen<V>> {
        let value_hash = stable_hash(value);
        let votes = at(&mut self.votes, key);
        let matches = |v: &Vote| v.ballot == ballot && v.value_hash == value_hash;
        let fresh = || Vote { ballot, value_hash, acceptors: NodeSet::default(), counted: false };
        let vote = match &mut votes.first {
            None => votes.first.insert(fresh()),
            Some(v) if matches(v) => v,
            Some(_) => match votes.more.iter().position(matches) {
                Some(i) => &mut votes.more[i],
                None => {
                    votes.more.push(fresh());
                    votes.more.last_mut().expect("just pushed")
                }
            },
        };
        if vote.counted || !vote.acceptors.insert(acceptor) || vote.acceptors.len() < self.quorum {
            return None;
        }
        vote.counted = true;
        Some(Chosen { key, ballot, value: value.clone(), acceptors: vote.acceptors.clone() })
    }
}

/// `agreement`: at most one value is chosen per key.
#[derive(Clone, Debug)]
pub struct Agreement<V> {
    /// "instance" or "slot", for messages.
    key_name: &'static str,
    quorums: Quorums,
    first: Vec<Option<Chosen<V>>>,
}

impl<V: Clone + PartialEq + Hash + Debug> Agreement<V> {
    /// The check for quorums of `quorum` acceptors; `key_name` names a key in messages.
    pub fn new(quorum: usize, key_name: &'static str) -> Self {
        Agreement { key_name, quorums: Quorums::new(quorum), first: Vec::new() }
    }

    /// An acceptor's `accepted` report. Errs when it makes a second value chosen at `key`.
    pub fn on_accepted(&mut self, key: u64, acceptor: NodeId, ballot: Ballot, value: &V) -> Result<(), String> {
        let Some(chosen) = self.quorums.record(key, acceptor, ballot, value) else {
            return Ok(());
        };
        let first = at(&mut self.first, key);
        match first {
            None => {
                *first = Some(chosen);
                Ok(())
            }
            Some(f) if f.value == chosen.value => Ok(()),
            Some(f) => Err(format!(
                "two values chosen at {} {key}: {:?} in {:?} (accepted by {}) and {:?} in {:?} (accepted by {})",
                self.key_name,
                f.value,
                f.ballot,
                names(&f.acceptors),
                chosen.value,
                chosen.ballot,
                names(&chosen.acceptors)
            )),
        }
    }
}

/// `validity`: a chosen value was proposed as new at its key.
#[derive(Clone, Debug)]
pub struct Validity<V> {
    key_name: &'static str,
    quorums: Quorums,
    /// Per key: hashes of the values proposed there (the first inline, as in [`KeyVotes`]).
    proposed: Vec<(Option<u64>, Vec<u64>)>,
    value: std::marker::PhantomData<V>,
}

impl<V: Clone + PartialEq + Hash + Debug> Validity<V> {
    /// The check for quorums of `quorum` acceptors; `key_name` names a key in messages.
    pub fn new(quorum: usize, key_name: &'static str) -> Self {
        Validity { key_name, quorums: Quorums::new(quorum), proposed: Vec::new(), value: std::marker::PhantomData }
    }

    /// A proposer put `value` forward as new (its own, not adopted) at `key`.
    pub fn on_proposed(&mut self, key: u64, value: &V) {
        let hash = stable_hash(value);
        let (first, more) = at(&mut self.proposed, key);
        match first {
            None => *first = Some(hash),
            Some(f) if *f == hash => {}
            Some(_) if more.contains(&hash) => {}
            Some(_) => more.push(hash),
        }
    }

    /// An acceptor's `accepted` report. Errs when it makes chosen a value nobody proposed at `key`.
    pub fn on_accepted(&mut self, key: u64, acceptor: NodeId, ballot: Ballot, value: &V) -> Result<(), String> {
        let Some(chosen) = self.quorums.record(key, acceptor, ballot, value) else {
            return Ok(());
        };
        let hash = stable_hash(&chosen.value);
        let (first, more) = at(&mut self.proposed, key);
        if *first == Some(hash) || more.contains(&hash) {
            return Ok(());
        }
        Err(format!(
            "{:?} was chosen at {} {key} in {:?} (accepted by {}), but no proposer proposed it there",
            chosen.value,
            self.key_name,
            chosen.ballot,
            names(&chosen.acceptors)
        ))
    }
}

/// `promise-kept`: no acceptor accepts a ballot below one it promised.
#[derive(Clone, Debug, Default)]
pub struct PromiseKept {
    key_name: &'static str,
    /// Per (acceptor, scope): the highest ballot promised. The scope is the
    /// instance for single-decree Paxos, and 0 (the whole log) for Multi-Paxos.
    promised: BTreeMap<(NodeId, u64), Ballot>,
}

impl PromiseKept {
    /// The check; `key_name` names a scope in messages ("instance", or "" for a whole log).
    pub fn new(key_name: &'static str) -> Self {
        PromiseKept { key_name, promised: BTreeMap::new() }
    }

    /// `acceptor` promised `ballot` for `scope` (in answer to a prepare).
    pub fn on_promised(&mut self, acceptor: NodeId, scope: u64, ballot: Ballot) {
        let p = self.promised.entry((acceptor, scope)).or_insert(Ballot::ZERO);
        *p = (*p).max(ballot);
    }

    /// `acceptor` accepted a proposal of `ballot` in `scope`. Errs if it promised higher there.
    pub fn on_accepted(&mut self, acceptor: NodeId, scope: u64, ballot: Ballot) -> Result<(), String> {
        match self.promised.get(&(acceptor, scope)) {
            Some(&p) if p > ballot => {
                let place =
                    if self.key_name.is_empty() { String::new() } else { format!(" at {} {scope}", self.key_name) };
                Err(format!("n{acceptor} accepted {ballot:?}{place} after promising {p:?}"))
            }
            _ => Ok(()),
        }
    }
}
