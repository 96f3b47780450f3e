//! Raft's observations and the checks that consume them.
//!
//! Observations are kept cheap: a new leader reports a run-length summary of
//! its log's terms, a node whose log grew reports the chain hash of its last
//! new entry (a hash of the whole prefix), a leader reports each advance of
//! its commit index, and every node reports each entry it applies.
//!
//! Safety checks (fail at the offending observation):
//! - `election-safety`: at most one leader per term.
//! - `log-matching`: two logs with an entry of the same index and term are
//!   identical up to it (equal chain hashes).
//! - `leader-completeness`: a leader of term T holds every entry committed
//!   by a leader of an earlier term (checked at the highest such index; log
//!   matching covers the prefix).
//! - `state-machine-safety`: no two nodes apply different entries at one index.
//!
//! End-of-run checks are the library's: `linearizability` of the client
//! history and `liveness` (after the last fault heals, a leader commits,
//! which Raft declares as its progress, and a client op completes within
//! `liveness.within_after_heal`).

use std::collections::BTreeMap;

use crate::check::{FnInvariant, Invariant};
use crate::sim::NodeId;

/// What Raft nodes report to the checkers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Obs {
    /// This node won the election for `term`.
    BecameLeader {
        /// The term.
        term: u64,
        /// Index of its last log entry.
        last_index: u64,
        /// Its log's terms, run-length encoded: `(first index, term)` per run.
        term_starts: Vec<(u64, u64)>,
    },
    /// This node stopped being leader of `term`.
    SteppedDown {
        /// The term.
        term: u64,
    },
    /// This node's log now holds, at `index`, an entry of `term` whose
    /// prefix hashes to `chain`.
    Appended {
        /// Log index.
        index: u64,
        /// The entry's term.
        term: u64,
        /// Hash of entries `1..=index`.
        chain: u64,
    },
    /// A leader of `leader_term` advanced its commit index to `index`.
    Committed {
        /// The new commit index.
        index: u64,
        /// Term of the entry at `index`.
        entry_term: u64,
        /// The committing leader's term.
        leader_term: u64,
    },
    /// This node applied the entry at `index`.
    Applied {
        /// Log index.
        index: u64,
        /// The entry's term.
        term: u64,
        /// Hash of the command.
        cmd_hash: u64,
    },
}

/// By hand, to be inlined where the kernel hashes each observation into
/// the trace (several per log entry); the derived impl was a call each. It
/// writes exactly the words `#[derive(Hash)]` writes (the variant index as
/// an `isize`, then the fields in order), so no trace hash changed; a test
/// holds it to that.
impl std::hash::Hash for Obs {
    #[inline(always)]
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        match self {
            Obs::BecameLeader { term, last_index, term_starts } => {
                h.write_isize(0);
                h.write_u64(*term);
                h.write_u64(*last_index);
                std::hash::Hash::hash(term_starts, h);
            }
            Obs::SteppedDown { term } => {
                h.write_isize(1);
                h.write_u64(*term);
            }
            Obs::Appended { index, term, chain } => three_words(h, 2, [*index, *term, *chain]),
            Obs::Committed { index, entry_term, leader_term } => three_words(h, 3, [*index, *entry_term, *leader_term]),
            Obs::Applied { index, term, cmd_hash } => three_words(h, 4, [*index, *term, *cmd_hash]),
        }
    }
}

/// The derived hash of a variant (number `variant`) of three `u64` fields.
#[inline(always)]
fn three_words<H: std::hash::Hasher>(h: &mut H, variant: isize, [a, b, c]: [u64; 3]) {
    h.write_isize(variant);
    h.write_u64(a);
    h.write_u64(b);
    h.write_u64(c);
}

/// `election-safety`: at most one leader per term.
pub fn election_safety() -> Box<dyn Invariant<Obs>> {
    let mut leaders: BTreeMap<u64, NodeId> = BTreeMap::new();
    Box::new(FnInvariant::only(
        "election-safety",
        |o| matches!(o, Obs::BecameLeader { .. }),
        move |_, node, obs: &Obs| {
            if let Obs::BecameLeader { term, .. } = obs {
                match leaders.get(term) {
                    Some(&other) if other != node => {
                        return Err(format!("n{node} became leader of term {term}, which n{other} already leads"));
                    }
                    _ => {
                        leaders.insert(*term, node);
                    }
                }
            }
            Ok(())
        },
    ))
}

/// The slot for log index `index` in an index-addressed table (log indices
/// are dense, so a vector beats a map keyed by index on the hot path).
fn slot<T: Default>(table: &mut Vec<T>, index: u64) -> &mut T {
    let i = usize::try_from(index).expect("log index fits in memory");
    if table.len() <= i {
        table.resize_with(i + 1, T::default);
    }
    &mut table[i]
}

/// `log-matching`: an (index, term) pair always has the same prefix.
pub fn log_matching() -> Box<dyn Invariant<Obs>> {
    // Per index: (term, prefix hash, first node seen) of the first term seen
    // there, inline; the other terms seen at an index (an overwritten
    // entry, rare) in a map, so the common case allocates nothing per index.
    let mut first: Vec<Option<(u64, u64, NodeId)>> = Vec::new();
    let mut others: BTreeMap<u64, Vec<(u64, u64, NodeId)>> = BTreeMap::new();
    Box::new(FnInvariant::only(
        "log-matching",
        |o| matches!(o, Obs::Appended { .. }),
        move |_, node, obs: &Obs| {
            if let Obs::Appended { index, term, chain } = *obs {
                let seen = match slot(&mut first, index) {
                    Some((t, c, other)) if *t == term => Some((*c, *other)),
                    Some(_) => {
                        let terms = others.entry(index).or_default();
                        let seen = terms.iter().find(|(t, _, _)| *t == term).map(|&(_, c, other)| (c, other));
                        if seen.is_none() {
                            terms.push((term, chain, node));
                        }
                        seen
                    }
                    empty => {
                        *empty = Some((term, chain, node));
                        None
                    }
                };
                if let Some((c, other)) = seen.filter(|&(c, _)| c != chain) {
                    return Err(format!(
                        "n{node} and n{other} both hold an entry of term {term} at index {index}, \
                     but their logs differ before it (prefix hashes {chain:016x} and {c:016x})"
                    ));
                }
            }
            Ok(())
        },
    ))
}

/// `leader-completeness`: every new leader holds the entries committed in earlier terms.
pub fn leader_completeness() -> Box<dyn Invariant<Obs>> {
    // Per committing leader's term: the highest index committed and its entry's term.
    let mut commits: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    Box::new(FnInvariant::only(
        "leader-completeness",
        |o| matches!(o, Obs::Committed { .. } | Obs::BecameLeader { .. }),
        move |_, node, obs: &Obs| {
            match obs {
                Obs::Committed { index, entry_term, leader_term } => {
                    let c = commits.entry(*leader_term).or_insert((0, 0));
                    if *index > c.0 {
                        *c = (*index, *entry_term);
                    }
                }
                Obs::BecameLeader { term, last_index, term_starts } => {
                    let Some(&(index, entry_term)) = commits.range(..*term).map(|(_, c)| c).max() else {
                        return Ok(());
                    };
                    let held = if index > *last_index {
                        None
                    } else {
                        term_starts.iter().take_while(|(start, _)| *start <= index).last().map(|&(_, t)| t)
                    };
                    if held != Some(entry_term) {
                        let held = held.map_or("no entry".to_string(), |t| format!("an entry of term {t}"));
                        return Err(format!(
                            "n{node} became leader of term {term} with {held} at index {index}, \
                         where an entry of term {entry_term} was committed in an earlier term"
                        ));
                    }
                }
                _ => {}
            }
            Ok(())
        },
    ))
}

/// `state-machine-safety`: every node applies the same entry at each index.
pub fn state_machine_safety() -> Box<dyn Invariant<Obs>> {
    let mut applied: Vec<Option<(u64, u64, NodeId)>> = Vec::new();
    Box::new(FnInvariant::only(
        "state-machine-safety",
        |o| matches!(o, Obs::Applied { .. }),
        move |_, node, obs: &Obs| {
            if let Obs::Applied { index, term, cmd_hash } = *obs {
                let first = slot(&mut applied, index);
                match *first {
                    Some((t, h, other)) if (t, h) != (term, cmd_hash) => {
                        return Err(format!(
                            "n{node} applied an entry of term {term} (command {cmd_hash:016x}) at index {index}, \
                         but n{other} applied one of term {t} (command {h:016x}) there"
                        ));
                    }
                    Some(_) => {}
                    None => *first = Some((term, cmd_hash, node)),
                }
            }
            Ok(())
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::trace::stable_hash;

    /// `Obs`'s shape with the derived `Hash`: what the hand-written impl
    /// must hash the same as, or every Raft trace hash changes.
    #[derive(Hash)]
    #[allow(dead_code)]
    enum Derived {
        BecameLeader { term: u64, last_index: u64, term_starts: Vec<(u64, u64)> },
        SteppedDown { term: u64 },
        Appended { index: u64, term: u64, chain: u64 },
        Committed { index: u64, entry_term: u64, leader_term: u64 },
        Applied { index: u64, term: u64, cmd_hash: u64 },
    }

    #[test]
    fn obs_hashes_as_the_derived_impl_would() {
        let starts = vec![(1, 1), (5, 3)];
        let cases = [
            (
                Obs::BecameLeader { term: 3, last_index: 9, term_starts: starts.clone() },
                Derived::BecameLeader { term: 3, last_index: 9, term_starts: starts },
            ),
            (
                Obs::BecameLeader { term: 1, last_index: 0, term_starts: vec![] },
                Derived::BecameLeader { term: 1, last_index: 0, term_starts: vec![] },
            ),
            (Obs::SteppedDown { term: 4 }, Derived::SteppedDown { term: 4 }),
            (
                Obs::Appended { index: 7, term: 2, chain: u64::MAX },
                Derived::Appended { index: 7, term: 2, chain: u64::MAX },
            ),
            (
                Obs::Committed { index: 7, entry_term: 2, leader_term: 3 },
                Derived::Committed { index: 7, entry_term: 2, leader_term: 3 },
            ),
            (Obs::Applied { index: 7, term: 2, cmd_hash: 11 }, Derived::Applied { index: 7, term: 2, cmd_hash: 11 }),
        ];
        for (obs, derived) in &cases {
            assert_eq!(stable_hash(obs), stable_hash(derived), "{obs:?}");
        }
        let all: std::collections::BTreeSet<u64> = cases.iter().map(|(obs, _)| stable_hash(obs)).collect();
        assert_eq!(all.len(), cases.len(), "the cases tell each other apart");
    }
}
