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
//! `agreement` and `validity` count the same quorums. When both run they
//! share one count ([`SharedQuorums`]): each report is counted once, by
//! whichever check sees it first, and the other is handed the same answer.
//!
//! The tables are vectors indexed by key (keys are dense, numbered from 0
//! or 1), so a report costs an index and a scan of the few ballots seen at
//! that key. Votes are counted by the value's stable hash, so a long run
//! keeps a few words per key; only the first chosen value is kept whole,
//! for the message that reports a second one.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::rc::Rc;

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

/// A [`Quorums`] count shared by the checks that judge the same
/// `accepted` reports. Each check numbers the reports it sees; every check
/// sees every report, in one order, so the first to see report `n` counts
/// it and the others are handed its answer.
#[derive(Clone, Debug)]
pub struct SharedQuorums<V> {
    quorums: Quorums,
    /// Reports counted so far.
    counted: u64,
    /// The answer for report number `counted`.
    last: Option<Chosen<V>>,
}

impl<V: Clone + Hash> SharedQuorums<V> {
    /// A count with quorums of `quorum` acceptors, to hand to several checks.
    pub fn new(quorum: usize) -> Rc<RefCell<Self>> {
        Rc::new(RefCell::new(SharedQuorums { quorums: Quorums::new(quorum), counted: 0, last: None }))
    }

    /// Report number `n` (from 1): counted if it is new, else the answer
    /// it got.
    fn record(&mut self, n: u64, key: u64, acceptor: NodeId, ballot: Ballot, value: &V) -> Option<Chosen<V>> {
        if n == self.counted + 1 {
            self.counted = n;
            self.last = self.quorums.record(key, acceptor, ballot, value);
        } else {
            assert_eq!(n, self.counted, "checks sharing a quorum count see the same reports, in order");
        }
        self.last.clone()
    }
}

/// Where a check counts quorums: alone, or in a count shared with others.
#[derive(Clone, Debug)]
enum Counter<V> {
    Own(Quorums),
    Shared {
        count: Rc<RefCell<SharedQuorums<V>>>,
        /// Reports this check has seen.
        seen: u64,
    },
}

impl<V: Clone + Hash> Counter<V> {
    fn record(&mut self, key: u64, acceptor: NodeId, ballot: Ballot, value: &V) -> Option<Chosen<V>> {
        match self {
            Counter::Own(q) => q.record(key, acceptor, ballot, value),
            Counter::Shared { count, seen } => {
                *seen += 1;
                count.borrow_mut().record(*seen, key, acceptor, ballot, value)
            }
        }
    }
}

/// `agreement`: at most one value is chosen per key.
#[derive(Clone, Debug)]
pub struct Agreement<V> {
    /// "instance" or "slot", for messages.
    key_name: &'static str,
    quorums: Counter<V>,
    first: Vec<Option<Chosen<V>>>,
}

impl<V: Clone + PartialEq + Hash + Debug> Agreement<V> {
    /// The check for quorums of `quorum` acceptors; `key_name` names a key in messages.
    pub fn new(quorum: usize, key_name: &'static str) -> Self {
        Agreement { key_name, quorums: Counter::Own(Quorums::new(quorum)), first: Vec::new() }
    }

    /// The check, counting quorums in `count` (shared with other checks).
    pub fn sharing(count: Rc<RefCell<SharedQuorums<V>>>, key_name: &'static str) -> Self {
        Agreement { key_name, quorums: Counter::Shared { count, seen: 0 }, first: Vec::new() }
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
    quorums: Counter<V>,
    /// Per key: hashes of the values proposed there (the first inline, as in [`KeyVotes`]).
    proposed: Vec<(Option<u64>, Vec<u64>)>,
    value: std::marker::PhantomData<V>,
}

impl<V: Clone + PartialEq + Hash + Debug> Validity<V> {
    /// The check for quorums of `quorum` acceptors; `key_name` names a key in messages.
    pub fn new(quorum: usize, key_name: &'static str) -> Self {
        Validity {
            key_name,
            quorums: Counter::Own(Quorums::new(quorum)),
            proposed: Vec::new(),
            value: std::marker::PhantomData,
        }
    }

    /// The check, counting quorums in `count` (shared with other checks).
    pub fn sharing(count: Rc<RefCell<SharedQuorums<V>>>, key_name: &'static str) -> Self {
        Validity {
            key_name,
            quorums: Counter::Shared { count, seen: 0 },
            proposed: Vec::new(),
            value: std::marker::PhantomData,
        }
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
    /// Per acceptor, then per scope: the highest ballot promised. The scope
    /// is the instance for single-decree Paxos, and 0 (the whole log) for
    /// Multi-Paxos. Acceptor ids are small and dense, so the outer table is
    /// a vector.
    promised: Vec<BTreeMap<u64, Ballot>>,
}

impl PromiseKept {
    /// The check; `key_name` names a scope in messages ("instance", or "" for a whole log).
    pub fn new(key_name: &'static str) -> Self {
        PromiseKept { key_name, promised: Vec::new() }
    }

    /// `acceptor` promised `ballot` for `scope` (in answer to a prepare).
    pub fn on_promised(&mut self, acceptor: NodeId, scope: u64, ballot: Ballot) {
        let p = at(&mut self.promised, acceptor as u64).entry(scope).or_insert(Ballot::ZERO);
        *p = (*p).max(ballot);
    }

    /// `acceptor` accepted a proposal of `ballot` in `scope`. Errs if it promised higher there.
    pub fn on_accepted(&mut self, acceptor: NodeId, scope: u64, ballot: Ballot) -> Result<(), String> {
        match self.promised.get(acceptor).and_then(|scopes| scopes.get(&scope)) {
            Some(&p) if p > ballot => {
                let place =
                    if self.key_name.is_empty() { String::new() } else { format!(" at {} {scope}", self.key_name) };
                Err(format!("n{acceptor} accepted {ballot:?}{place} after promising {p:?}"))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_sharing_a_count_each_get_every_answer() {
        let votes = SharedQuorums::new(2);
        let mut agreement = Agreement::sharing(votes.clone(), "slot");
        let mut validity = Validity::sharing(votes, "slot");
        validity.on_proposed(1, &"a");
        let b = Ballot::new(1, 0);
        // Each report reaches agreement first, then validity, as the kernel calls them.
        for (acceptor, value) in [(0, "a"), (1, "a"), (0, "b"), (2, "a")] {
            assert_eq!(agreement.on_accepted(1, acceptor, b, &value), Ok(()));
            assert_eq!(validity.on_accepted(1, acceptor, b, &value), Ok(()));
        }
        // "c" is chosen at slot 2 in a higher ballot: nobody proposed it there.
        let b2 = Ballot::new(2, 1);
        assert_eq!(agreement.on_accepted(2, 1, b2, &"c"), Ok(()));
        assert_eq!(validity.on_accepted(2, 1, b2, &"c"), Ok(()));
        assert_eq!(agreement.on_accepted(2, 2, b2, &"c"), Ok(()));
        let err = validity.on_accepted(2, 2, b2, &"c").unwrap_err();
        assert!(err.contains("no proposer proposed it"), "{err}");
        // And a second value chosen at slot 1 is caught by agreement.
        assert_eq!(agreement.on_accepted(1, 1, b2, &"b"), Ok(()));
        assert_eq!(validity.on_accepted(1, 1, b2, &"b"), Ok(()));
        let err = agreement.on_accepted(1, 2, b2, &"b").unwrap_err();
        assert!(err.contains("two values chosen at slot 1"), "{err}");
    }
}
