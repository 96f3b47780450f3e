//! The checks of two-phase commit, judged from the observations of the
//! coordinator, the participants and the clients (see the essay in
//! [`super`] for what each promises).
//!
//! They judge what the nodes *report* having done durably: a participant
//! emits `Committed` or `Aborted` only once the outcome is on its disk,
//! and `Prepared` only once it votes YES. The checks keep one small entry
//! per transaction (in a [`TxTable`], indexed by transaction number) and
//! per account, so they cost little per event and iterate in a fixed order.

use std::collections::BTreeMap;

use super::{Account, Config, Leg, Obs, Parts, TxId, TxTable};
use crate::check::{Invariant, RunEnd, Verdict};
use crate::nemesis::FaultLog;
use crate::sim::{Nanos, NodeId};

/// A time as seconds with millisecond precision, as the messages print it.
fn secs(ns: Nanos) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

fn word(commit: bool) -> &'static str {
    if commit {
        "committed"
    } else {
        "aborted"
    }
}

/// Per transaction: where it committed and where it aborted.
#[derive(Clone, Copy, Default)]
struct Outcomes {
    committed: Parts,
    aborted: Parts,
}

impl Outcomes {
    /// Records `commit` at `p`; returns the participant that did the opposite, if any.
    fn record(&mut self, p: NodeId, commit: bool) -> Option<NodeId> {
        let (mine, other) =
            if commit { (&mut self.committed, self.aborted) } else { (&mut self.aborted, self.committed) };
        mine.insert(p);
        other.iter().next()
    }
}

/// `atomicity`: no transaction commits at one participant and aborts at
/// another, nor at one participant before and after a crash.
#[derive(Default)]
pub struct Atomicity {
    outcomes: TxTable<Outcomes>,
}

impl Invariant<Obs> for Atomicity {
    fn name(&self) -> &str {
        "atomicity"
    }
    fn on_observe(&mut self, _t: Nanos, node: NodeId, obs: &Obs, _f: &FaultLog) -> Result<(), String> {
        let (tx, commit) = match obs {
            Obs::Committed { tx, .. } => (*tx, true),
            Obs::Aborted { tx } => (*tx, false),
            _ => return Ok(()),
        };
        match self.outcomes.entry(tx).record(node, commit) {
            Some(q) if q == node => {
                Err(format!("n{node} {} {tx:?}, which it had {} before", word(commit), word(!commit)))
            }
            Some(q) => Err(format!("n{node} {} {tx:?}, which n{q} {}", word(commit), word(!commit))),
            None => Ok(()),
        }
    }
}

/// `agreement-with-client`: what a client is told matches what the
/// participants do. Safety as outcomes arrive; at the end, every
/// participant of a transaction told committed has committed it or still
/// holds it prepared.
#[derive(Default)]
pub struct AgreementWithClient {
    txs: TxTable<Told>,
}

/// What [`AgreementWithClient`] knows of one transaction.
#[derive(Default)]
struct Told {
    /// What a client was told, if anything.
    commit: Option<bool>,
    outcomes: Outcomes,
    parts: Parts,
    /// Participants holding it prepared, as they report it.
    prepared: Parts,
}

impl Invariant<Obs> for AgreementWithClient {
    fn name(&self) -> &str {
        "agreement-with-client"
    }
    fn on_observe(&mut self, _t: Nanos, node: NodeId, obs: &Obs, _f: &FaultLog) -> Result<(), String> {
        match obs {
            Obs::Began { tx, parts, .. } => self.txs.entry(*tx).parts = *parts,
            Obs::Prepared { tx, .. } => self.txs.entry(*tx).prepared.insert(node),
            Obs::Recovered { prepared, .. } => {
                for t in self.txs.values_mut() {
                    t.prepared.0 &= !(1 << node);
                }
                for tx in prepared {
                    self.txs.entry(*tx).prepared.insert(node);
                }
            }
            Obs::Told { tx, commit } => {
                let t = self.txs.entry(*tx);
                t.commit = Some(*commit);
                let against = if *commit { t.outcomes.aborted } else { t.outcomes.committed };
                if let Some(p) = against.iter().next() {
                    return Err(format!("a client was told {} {tx:?}, which n{p} {}", word(*commit), word(!*commit)));
                }
            }
            Obs::Committed { tx, .. } | Obs::Aborted { tx } => {
                let commit = matches!(obs, Obs::Committed { .. });
                let t = self.txs.entry(*tx);
                t.outcomes.record(node, commit);
                t.prepared.0 &= !(1 << node);
                if t.commit == Some(!commit) {
                    return Err(format!("n{node} {} {tx:?}, but a client was told it {}", word(commit), word(!commit)));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn on_finish(&mut self, _end: &RunEnd<'_>) -> Verdict {
        for (tx, t) in self.txs.iter().filter(|(_, t)| t.commit == Some(true)) {
            if let Some(p) = t.parts.iter().find(|&p| !t.outcomes.committed.contains(p) && !t.prepared.contains(p)) {
                return Verdict::Fail(format!(
                    "a client was told committed {tx:?}, but n{p} neither committed it nor holds it prepared"
                ));
            }
        }
        Verdict::Pass
    }
}

/// `isolation`: no two transactions prepared at once at a participant hold
/// a lock on the same account. A participant's prepared set is what it
/// reports: `Prepared` adds, an outcome removes, and a restart replaces it
/// with the recovered set. A read-balances locks every account of the
/// participant, a transfer the accounts it writes there.
pub struct Isolation {
    accounts_per_participant: u32,
    /// Per account: the prepared transaction locking it. Accounts are
    /// partitioned by participant, so this is the whole state.
    held: Vec<Option<TxId>>,
}

impl Isolation {
    /// The check for the bank of `cfg`.
    pub fn new(cfg: &Config) -> Isolation {
        Isolation {
            accounts_per_participant: cfg.accounts_per_participant,
            held: vec![None; cfg.account_count() as usize],
        }
    }

    /// The accounts of participant `node`, as indices.
    fn range(&self, node: NodeId) -> std::ops::Range<usize> {
        let k = self.accounts_per_participant as usize;
        (node - 1) * k..node * k
    }

    /// Releases the locks at `node` of the transactions `drop` selects.
    fn release(&mut self, node: NodeId, mut drop: impl FnMut(TxId) -> bool) {
        let range = self.range(node);
        for slot in &mut self.held[range] {
            if slot.is_some_and(&mut drop) {
                *slot = None;
            }
        }
    }
}

impl Invariant<Obs> for Isolation {
    fn name(&self) -> &str {
        "isolation"
    }
    fn on_observe(&mut self, _t: Nanos, node: NodeId, obs: &Obs, _f: &FaultLog) -> Result<(), String> {
        match obs {
            Obs::Prepared { tx, read, writes } => {
                let all = if *read { self.range(node) } else { 0..0 };
                let accounts = || all.clone().chain(writes.iter().map(|w| w.0 as usize));
                if let Some((a, other)) = accounts().find_map(|a| Some((a, self.held[a].filter(|o| o != tx)?))) {
                    return Err(format!(
                        "n{node} prepared {tx:?} locking a{a} while {other:?}, prepared there too, holds it"
                    ));
                }
                for a in accounts() {
                    self.held[a] = Some(*tx);
                }
            }
            Obs::Committed { tx, .. } | Obs::Aborted { tx } => self.release(node, |t| t == *tx),
            Obs::Recovered { prepared, .. } => self.release(node, |t| !prepared.contains(&t)),
            _ => {}
        }
        Ok(())
    }
}

/// `conservation`: the balances the participants report, plus the legs of
/// every transaction decided commit and not yet applied where they belong,
/// sum to the initial total, after every observation that changes them.
pub struct Conservation {
    accounts_per_participant: u32,
    total: i64,
    balances: Vec<i64>,
    /// Sum of `balances`.
    sum: i64,
    /// Legs of transactions begun and not yet decided.
    begun: TxTable<Vec<Leg>>,
    /// Legs of transactions decided commit, not yet applied at their participant.
    pending: TxTable<Vec<Leg>>,
    /// Sum of the amounts in `pending`.
    pending_sum: i64,
}

impl Conservation {
    /// The check for the bank of `cfg`.
    pub fn new(cfg: &Config) -> Conservation {
        let n = cfg.account_count() as usize;
        Conservation {
            accounts_per_participant: cfg.accounts_per_participant,
            total: cfg.total(),
            balances: vec![cfg.initial_balance; n],
            sum: cfg.total(),
            begun: TxTable::default(),
            pending: TxTable::default(),
            pending_sum: 0,
        }
    }

    fn set(&mut self, a: Account, v: i64) {
        let slot = &mut self.balances[a as usize];
        self.sum += v - *slot;
        *slot = v;
    }

    /// Drops `tx`'s pending legs at participant `node` (its decision was applied there).
    fn applied(&mut self, node: NodeId, tx: TxId) {
        let k = self.accounts_per_participant;
        let here = |a: Account| 1 + (a / k) as NodeId == node;
        if let Some(legs) = self.pending.get_mut(tx) {
            self.pending_sum -= legs.iter().filter(|l| here(l.0)).map(|l| l.1).sum::<i64>();
            legs.retain(|l| !here(l.0));
            if legs.is_empty() {
                self.pending.remove(tx);
            }
        }
    }

    fn judge(&self, node: NodeId, what: impl FnOnce() -> String) -> Result<(), String> {
        let projected = self.sum + self.pending_sum;
        if projected == self.total {
            return Ok(());
        }
        Err(format!(
            "after n{node} {}, the balances sum to {} and the {} decided commits not yet applied add {}: \
             {projected}, not the constant total {}",
            what(),
            self.sum,
            self.pending.len(),
            self.pending_sum,
            self.total
        ))
    }
}

impl Invariant<Obs> for Conservation {
    fn name(&self) -> &str {
        "conservation"
    }
    fn on_observe(&mut self, _t: Nanos, node: NodeId, obs: &Obs, _f: &FaultLog) -> Result<(), String> {
        match obs {
            Obs::Began { tx, legs, .. } if !legs.is_empty() => {
                self.begun.insert(*tx, legs.clone());
            }
            Obs::Decided { tx, commit } => {
                if let Some(legs) = self.begun.remove(*tx) {
                    if *commit {
                        self.pending_sum += legs.iter().map(|l| l.1).sum::<i64>();
                        self.pending.insert(*tx, legs);
                    }
                }
            }
            Obs::Committed { tx, writes, .. } => {
                for &(a, v) in writes {
                    self.set(a, v);
                }
                self.applied(node, *tx);
                return self.judge(node, || format!("committed {tx:?}"));
            }
            Obs::Aborted { tx } if self.pending.contains(*tx) => {
                self.applied(node, *tx);
                return self.judge(node, || format!("aborted {tx:?}, decided commit"));
            }
            Obs::Recovered { balances, .. } => {
                for &(a, v) in balances {
                    self.set(a, v);
                }
                return self.judge(node, || "restarted".to_string());
            }
            _ => {}
        }
        Ok(())
    }
}

/// `termination`: once every fault has healed, every transaction prepared
/// at a participant resolves there within `within_ns` (the scenario's
/// `liveness.within_after_heal`, or its liveness phase's `within`, counted
/// from the phase's start; participants left faulted outside the phase's
/// core are not judged, and the coordinator left faulted makes it unknown). A participant's prepared interval runs
/// from its `Prepared` to its outcome, across crashes (a restarted
/// participant that forgot a transaction has not resolved it).
pub struct Termination {
    within_ns: Nanos,
    /// Prepared and unresolved: (participant, transaction) -> since.
    open: BTreeMap<(NodeId, TxId), Nanos>,
    /// Resolved intervals longer than the bound (the only ones that can fail it).
    long: Vec<(NodeId, TxId, Nanos, Nanos)>,
}

impl Termination {
    /// The check with bound `within_ns`.
    pub fn new(within_ns: Nanos) -> Termination {
        Termination { within_ns, open: BTreeMap::new(), long: Vec::new() }
    }
}

impl Invariant<Obs> for Termination {
    fn name(&self) -> &str {
        "termination"
    }
    fn on_observe(&mut self, t: Nanos, node: NodeId, obs: &Obs, _f: &FaultLog) -> Result<(), String> {
        match obs {
            Obs::Prepared { tx, .. } => {
                self.open.entry((node, *tx)).or_insert(t);
            }
            Obs::Committed { tx, .. } | Obs::Aborted { tx } => {
                if let Some(since) = self.open.remove(&(node, *tx)) {
                    if t - since > self.within_ns {
                        self.long.push((node, *tx, since, t));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn on_finish(&mut self, end: &RunEnd<'_>) -> Verdict {
        // As the library's liveness: with a liveness phase, the bound runs from
        // its start, and nodes left faulted outside its core are not judged.
        let (heal, since_what) = match (end.converged_ns, end.last_heal_ns) {
            (Some(t), _) => (t, "the liveness phase began"),
            (None, Some(t)) => (t, "the last heal"),
            (None, None) => return Verdict::Unknown("faults never healed".to_string()),
        };
        let stayed: Vec<NodeId> = end.faults.still_open().flat_map(|w| w.nodes.iter().copied()).collect();
        if stayed.contains(&super::COORDINATOR) {
            return Verdict::Unknown("the coordinator stayed faulted: nothing can resolve".to_string());
        }
        let deadline = heal.saturating_add(self.within_ns);
        if end.end_ns < deadline {
            return Verdict::Unknown(format!(
                "the run ended {} after {since_what}, before the {} bound",
                secs(end.end_ns - heal),
                secs(self.within_ns)
            ));
        }
        let open = self.open.iter().map(|(&(p, tx), &since)| (p, tx, since, None));
        let long = self.long.iter().map(|&(p, tx, since, until)| (p, tx, since, Some(until)));
        for (p, tx, since, until) in long.chain(open).filter(|(p, ..)| !stayed.contains(p)) {
            let due = since.max(heal).saturating_add(self.within_ns);
            let late = match until {
                Some(u) => u > due,
                None => due <= end.end_ns,
            };
            if late {
                let how = match until {
                    Some(u) => format!("resolved only at {}", secs(u)),
                    None => "was still unresolved at the end".to_string(),
                };
                return Verdict::Fail(format!(
                    "n{p} prepared {tx:?} at {} and {how}: more than {} after {} ({since_what} at {})",
                    secs(since),
                    secs(self.within_ns),
                    if since > heal { "it was prepared" } else { since_what },
                    secs(heal)
                ));
            }
        }
        Verdict::Pass
    }
}
