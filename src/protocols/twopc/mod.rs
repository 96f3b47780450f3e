//! `twopc`: two-phase commit of bank transfers across participants, with
//! durable logs, recovery, optional cooperative termination, and the
//! classic blocking problem drawn as a chart. The terms are those of Gray
//! and Lamport, "Consensus on Transaction Commit" (2006): one transaction
//! manager (here the *coordinator*) and N resource managers (the
//! *participants*).
//!
//! # The algorithm
//! Node 0 is the coordinator; nodes `1..nodes` are participants. Each
//! participant holds a partition of the bank's accounts (participant `p`
//! holds accounts `(p-1)*k .. p*k` for `k = accounts_per_participant`),
//! and client processes (ids after the nodes) submit transactions to the
//! coordinator: a *transfer* moves money between accounts of two or more
//! participants, a *read-balances* reads every account at once.
//!
//! 1. **Prepare.** The coordinator names the transaction `t<epoch>.<n>`
//!    and sends PREPARE to every participant it touches. A participant that
//!    can apply it takes an exclusive lock on each of its accounts in the
//!    transaction (no waiting: a lock held by another transaction, or a
//!    balance that would go negative, is a NO vote), writes a PREPARED
//!    record with the *after-images* of its writes (the balances the
//!    accounts will hold) to its log, syncs, and votes YES. A YES vote is a
//!    promise: from then on the participant may neither commit nor abort on
//!    its own; it is *prepared* until it learns the decision.
//! 2. **Decide.** The coordinator decides COMMIT only if every participant
//!    voted YES (a NO, or votes missing after `prepare_attempts` rounds of
//!    `prepare_timeout`, is ABORT). It writes the decision to its log and
//!    syncs *before* anyone hears of it, then answers the client.
//! 3. **Commit.** The coordinator sends the decision to every participant
//!    until each acknowledges it. A participant installs the after-images
//!    (on COMMIT) or drops them (on ABORT), logs the outcome, syncs,
//!    releases its locks and acknowledges. Installing after-images is
//!    idempotent, so a decision that arrives twice, or again after a
//!    crash, applies once.
//!
//! **Recovery.** Every coordinator start is a new *epoch*, durable before
//! it serves. A restarted coordinator re-sends every logged decision not
//! yet acknowledged by all, and aborts every transaction of an earlier
//! epoch that it never decided: *presumed abort*, since no one can have
//! heard of a decision that was never logged. A restarted participant
//! rebuilds its prepared transactions from its log, keeps their locks, and
//! asks the coordinator for their outcome at once.
//!
//! **Blocking.** A participant prepared for longer than `in_doubt_after`
//! is *in doubt*: it asks the coordinator every `inquiry_every` and waits.
//! While the coordinator is down or cut off, nothing else can tell it the
//! outcome, so its locks stay held: this is the blocking of 2PC that
//! Gray and Lamport's Paxos Commit removes, and the report draws it (see
//! [`report`]). With `cooperative_termination`, a participant in doubt
//! also asks the transaction's other participants; one that knows the
//! outcome says it, and one that never voted YES aborts on the spot
//! (durably) and says so. That resolves some in-doubt transactions while
//! the coordinator is away, never those every participant voted YES on.
//!
//! # Invariants promised (see [`invariants`] and [`model`])
//! - `atomicity`: no transaction commits at one participant and aborts at
//!   another (or at the same one, before and after a crash).
//! - `agreement-with-client`: a client told "committed" means committed at
//!   every participant (checked as outcomes arrive and, at the end, that
//!   each participant committed or is still prepared); "aborted" means
//!   committed nowhere.
//! - `isolation`: no two transactions prepared at once at a participant (as
//!   that participant knows them: its recovered set after a restart) hold
//!   a lock on the same account.
//! - `conservation`: the balances the participants report, with the
//!   transfers of every decided but not yet applied commit added, always
//!   sum to the initial total.
//! - `termination`: once the last fault heals (the coordinator up, the
//!   network whole), every transaction prepared at a participant resolves
//!   there within the scenario's `liveness.within_after_heal`, the bound
//!   the library's liveness uses too (with a liveness phase, its `within`,
//!   from the phase's start). So the check needs a `liveness` section.
//! - `bank-history`: the clients' history fits the bank model
//!   ([`model`]): every read-balances is explained by the committed
//!   transfers.
//! - `liveness`, the library's: after the last heal, a transaction commits
//!   and a client operation completes within the window.
//!
//! Planted bugs, each marked `// BUG(name):` in the code (see [`BUGS`]):
//! `unlogged-prepare`, `decide-before-log`, `presume-commit-on-timeout`,
//! `early-lock-release`, `no-recovery`.
//!
//! Options (`options` in the scenario; every field optional):
//! `accounts_per_participant` (4), `initial_balance` (100), `amount_max`
//! (10), `transfer_participants` (`[2, 3]`: how many participants one
//! transfer touches, drawn uniformly), `prepare_timeout` (`"100ms"`),
//! `prepare_attempts` (2), `decision_resend` (`"100ms"`), `in_doubt_after`
//! (`"250ms"`), `inquiry_every` (`"100ms"`), `cooperative_termination`
//! (false), `presume_after` (`"500ms"`, used only by the
//! `presume-commit-on-timeout` bug). The `workload` section's `clients`,
//! `rate` and `timeout` mean what they mean for the key-value workload;
//! `mix.read` weighs read-balances and `mix.write` transfers (`mix.cas`
//! and `keys` do not apply).

pub mod coordinator;
pub mod invariants;
mod log;
pub mod model;
pub mod participant;
pub mod report;
pub mod workload;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use serde::Deserialize;

use crate::coro::{Correlated, RequestId};
use crate::kit::{Invalid, Named, Needs, Protocol, Setup, LIVENESS};
use crate::scenario::{Dur, Scenario};
use crate::sim::NodeId;

/// A bank account, numbered from 0 across all participants.
pub type Account = u32;

/// One leg of a transfer: an account and the amount added to it (negative
/// for the account paying). A transfer's legs sum to zero.
pub type Leg = (Account, i64);

/// A transaction's name: the coordinator's epoch (its incarnation, durable
/// and increasing) and a counter within the epoch. `Debug` prints `t2.17`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct TxId {
    /// The coordinator's epoch that began the transaction (from 1).
    pub epoch: u32,
    /// Its number within the epoch (from 0).
    pub n: u32,
}

impl fmt::Debug for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}.{}", self.epoch, self.n)
    }
}

/// A map from transaction ids to values, dense per epoch: the coordinator
/// numbers an epoch's transactions 0, 1, 2, ..., so a vector per epoch
/// indexed by number replaces a search tree, for the per-transaction state
/// that checks and nodes look up on every message. Iterates in id order.
#[derive(Clone, Debug)]
pub struct TxTable<T> {
    /// Per epoch, in increasing order: values by transaction number. A run
    /// has a handful of epochs and mostly touches the newest, so a vector
    /// searched from its end beats a tree.
    epochs: Vec<(u32, Vec<Option<T>>)>,
    len: usize,
}

impl<T> Default for TxTable<T> {
    fn default() -> Self {
        TxTable { epochs: Vec::new(), len: 0 }
    }
}

/// The largest transaction number a [`TxTable`] holds: far above what a run makes.
const TX_NUMBER_MAX: u32 = 1 << 26;

impl<T> TxTable<T> {
    fn row(&self, epoch: u32) -> Option<&Vec<Option<T>>> {
        self.epochs.iter().rev().find(|(e, _)| *e == epoch).map(|(_, row)| row)
    }
    fn row_mut(&mut self, epoch: u32) -> Option<&mut Vec<Option<T>>> {
        self.epochs.iter_mut().rev().find(|(e, _)| *e == epoch).map(|(_, row)| row)
    }
    /// The value of `tx`, if any.
    pub fn get(&self, tx: TxId) -> Option<&T> {
        self.row(tx.epoch)?.get(tx.n as usize)?.as_ref()
    }
    /// The value of `tx`, mutably, if any.
    pub fn get_mut(&mut self, tx: TxId) -> Option<&mut T> {
        self.row_mut(tx.epoch)?.get_mut(tx.n as usize)?.as_mut()
    }
    /// Whether `tx` has a value.
    pub fn contains(&self, tx: TxId) -> bool {
        self.get(tx).is_some()
    }
    /// `tx`'s slot in `epochs`, made if absent (a function of the field
    /// alone, so callers can update `len` while holding it).
    fn slot(epochs: &mut Vec<(u32, Vec<Option<T>>)>, tx: TxId) -> &mut Option<T> {
        assert!(tx.n < TX_NUMBER_MAX, "transaction number {} out of range", tx.n);
        let at = match epochs.iter().rposition(|(e, _)| *e == tx.epoch) {
            Some(at) => at,
            None => {
                let at = epochs.partition_point(|(e, _)| *e < tx.epoch);
                epochs.insert(at, (tx.epoch, Vec::new()));
                at
            }
        };
        let row = &mut epochs[at].1;
        if row.len() <= tx.n as usize {
            row.resize_with(tx.n as usize + 1, || None);
        }
        &mut row[tx.n as usize]
    }
    /// Sets `tx`'s value; returns the old one.
    pub fn insert(&mut self, tx: TxId, value: T) -> Option<T> {
        let old = Self::slot(&mut self.epochs, tx).replace(value);
        self.len += usize::from(old.is_none());
        old
    }
    /// Removes `tx`'s value.
    pub fn remove(&mut self, tx: TxId) -> Option<T> {
        let old = self.row_mut(tx.epoch)?.get_mut(tx.n as usize)?.take();
        self.len -= usize::from(old.is_some());
        old
    }
    /// `tx`'s value, made with `make` if absent.
    pub fn get_or_insert_with(&mut self, tx: TxId, make: impl FnOnce() -> T) -> &mut T {
        let slot = Self::slot(&mut self.epochs, tx);
        self.len += usize::from(slot.is_none());
        slot.get_or_insert_with(make)
    }
    /// The number of values.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The values in id order.
    pub fn iter(&self) -> impl Iterator<Item = (TxId, &T)> {
        self.epochs.iter().flat_map(|(epoch, row)| {
            let epoch = *epoch;
            row.iter().enumerate().filter_map(move |(n, v)| Some((TxId { epoch, n: n as u32 }, v.as_ref()?)))
        })
    }
    /// The values in id order, mutably.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.epochs.iter_mut().flat_map(|(_, row)| row.iter_mut().filter_map(|v| v.as_mut()))
    }
}

impl<T: Default> TxTable<T> {
    /// `tx`'s value, a default one if absent.
    pub fn entry(&mut self, tx: TxId) -> &mut T {
        self.get_or_insert_with(tx, T::default)
    }
}

/// A set of participant ids (below 64): one bit each. `Debug` prints `[n1 n3]`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Parts(pub u64);

impl Parts {
    /// Adds participant `p`.
    pub fn insert(&mut self, p: NodeId) {
        assert!(p < 64, "participant ids are below 64");
        self.0 |= 1 << p;
    }
    /// Whether `p` is in the set.
    pub fn contains(self, p: NodeId) -> bool {
        p < 64 && self.0 & (1 << p) != 0
    }
    /// The number of participants.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The participants, in increasing order (one step per member).
    pub fn iter(self) -> impl Iterator<Item = NodeId> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            let p = bits.trailing_zeros();
            (p < 64).then(|| {
                bits &= bits - 1;
                p as NodeId
            })
        })
    }
}

impl fmt::Debug for Parts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, p) in self.iter().enumerate() {
            write!(f, "{}n{p}", if i == 0 { "" } else { " " })?;
        }
        write!(f, "]")
    }
}

/// What a client asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TxOp {
    /// Add each leg's amount to its account; the legs sum to zero and name
    /// accounts of at least two participants.
    Transfer(Vec<Leg>),
    /// Read every account's balance, as one transaction over all participants.
    ReadBalances,
}

/// Messages between clients, the coordinator and participants. Replies to
/// the coordinator's calls carry the request id (see [`Correlated`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    /// Client to coordinator: run `op` as request `seq` of this client
    /// (a retry repeats `seq`).
    Begin {
        /// The client's request number.
        seq: u64,
        /// What to run.
        op: Rc<TxOp>,
    },
    /// Coordinator to client: the outcome of request `seq`.
    Reply {
        /// The request answered.
        seq: u64,
        /// The transaction that ran it.
        tx: TxId,
        /// Committed (else aborted).
        commit: bool,
        /// For a committed read-balances: every account's balance.
        balances: Option<Rc<[i64]>>,
    },
    /// Phase 1: prepare `tx` (the participant applies the legs on its own accounts).
    Prepare {
        /// The call.
        id: RequestId,
        /// The transaction.
        tx: TxId,
        /// Every participant of the transaction (for cooperative termination).
        parts: Parts,
        /// What it does.
        op: Rc<TxOp>,
    },
    /// A participant's vote.
    Vote {
        /// The call answered.
        id: RequestId,
        /// YES: prepared, durably.
        yes: bool,
        /// With a YES to a read-balances: this participant's balances, in account order.
        balances: Option<Rc<[i64]>>,
    },
    /// Phase 2: the decision, re-sent until acknowledged.
    Decide {
        /// The call.
        id: RequestId,
        /// The transaction.
        tx: TxId,
        /// Commit (else abort).
        commit: bool,
    },
    /// A participant has applied a decision durably.
    Ack {
        /// The call answered.
        id: RequestId,
    },
    /// A participant in doubt asks for the outcome (of the coordinator, or
    /// of another participant in cooperative termination).
    Inquire {
        /// The transaction.
        tx: TxId,
    },
    /// The answer to an inquiry: a known outcome (no acknowledgement expected).
    Outcome {
        /// The transaction.
        tx: TxId,
        /// Commit (else abort).
        commit: bool,
    },
}

impl Correlated for Msg {
    fn reply_to(&self) -> Option<RequestId> {
        match self {
            Msg::Vote { id, .. } | Msg::Ack { id } => Some(*id),
            _ => None,
        }
    }
}

/// Why a participant voted NO.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum NoReason {
    /// `account` is locked by transaction `by`.
    Locked {
        /// The account.
        account: Account,
        /// The transaction holding its lock.
        by: TxId,
    },
    /// `account` would go below zero.
    Funds {
        /// The account.
        account: Account,
    },
    /// The participant already aborted the transaction (in cooperative termination).
    Aborted,
}

/// What the nodes and clients report. `Debug` gives the report's labels,
/// such as `prepared t1.4 (a3=80 a9=120)` or `decided commit t1.4`.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Obs {
    /// The coordinator started epoch `epoch`, having recovered `recovered`
    /// logged decisions of which `resending` were not acknowledged by all.
    Started {
        /// The new epoch.
        epoch: u32,
        /// Decisions found in the log.
        recovered: usize,
        /// Of those, decisions it sends again.
        resending: usize,
    },
    /// The coordinator began `tx` over `parts`; `legs` is empty for a read.
    Began {
        /// The transaction.
        tx: TxId,
        /// Its participants.
        parts: Parts,
        /// A transfer's legs.
        legs: Vec<Leg>,
    },
    /// The coordinator decided (and, in the correct protocol, logged durably).
    Decided {
        /// The transaction.
        tx: TxId,
        /// Commit (else abort).
        commit: bool,
    },
    /// A participant prepared `tx` durably and votes YES: it will install
    /// `writes` (after-images) on commit, and holds their accounts' locks
    /// (every account of the participant for a read).
    Prepared {
        /// The transaction.
        tx: TxId,
        /// A read-balances.
        read: bool,
        /// `(account, balance after commit)`.
        writes: Vec<(Account, i64)>,
    },
    /// A participant voted NO.
    VotedNo {
        /// The transaction.
        tx: TxId,
        /// Why.
        why: NoReason,
    },
    /// A prepared participant has not learned the outcome in time (or just
    /// restarted) and asks for it.
    InDoubt {
        /// The transaction.
        tx: TxId,
    },
    /// A participant committed `tx` durably, installing `writes`;
    /// `presumed` if it did so on its own, without a decision.
    Committed {
        /// The transaction.
        tx: TxId,
        /// `(account, balance now)`.
        writes: Vec<(Account, i64)>,
        /// Committed without being told (only the planted bug does this).
        presumed: bool,
    },
    /// A participant aborted `tx` durably (it may never have prepared it).
    Aborted {
        /// The transaction.
        tx: TxId,
    },
    /// A participant (re)started from its log: the transactions it holds
    /// prepared, and its balances.
    Recovered {
        /// Prepared transactions rebuilt (in doubt from now).
        prepared: Vec<TxId>,
        /// `(account, balance)` of each of its accounts.
        balances: Vec<(Account, i64)>,
    },
    /// Cooperative termination: a participant told participant `peer`,
    /// in doubt, the outcome of `tx`.
    Helped {
        /// The transaction.
        tx: TxId,
        /// The participant that asked.
        peer: NodeId,
        /// Committed (else aborted).
        commit: bool,
    },
    /// A client was told the outcome of `tx`.
    Told {
        /// The transaction.
        tx: TxId,
        /// Committed (else aborted).
        commit: bool,
    },
}

fn write_accounts(f: &mut fmt::Formatter<'_>, writes: &[(Account, i64)]) -> fmt::Result {
    for (i, (a, v)) in writes.iter().enumerate() {
        write!(f, "{}a{a}={v}", if i == 0 { "" } else { " " })?;
    }
    Ok(())
}

impl fmt::Debug for Obs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = |c: bool| if c { "commit" } else { "abort" };
        match self {
            Obs::Started { epoch, recovered, resending } => {
                write!(f, "coordinator epoch {epoch}: {recovered} decisions logged, {resending} re-sent")
            }
            Obs::Began { tx, parts, legs } if legs.is_empty() => write!(f, "began {tx:?} read-balances on {parts:?}"),
            Obs::Began { tx, parts, legs } => {
                write!(f, "began {tx:?} transfer on {parts:?} (")?;
                for (i, (a, d)) in legs.iter().enumerate() {
                    write!(f, "{}a{a}{d:+}", if i == 0 { "" } else { " " })?;
                }
                write!(f, ")")
            }
            Obs::Decided { tx, commit } => write!(f, "decided {} {tx:?}", word(*commit)),
            Obs::Prepared { tx, read: true, .. } => write!(f, "prepared {tx:?} (read)"),
            Obs::Prepared { tx, writes, .. } => {
                write!(f, "prepared {tx:?} (")?;
                write_accounts(f, writes)?;
                write!(f, ")")
            }
            Obs::VotedNo { tx, why } => match why {
                NoReason::Locked { account, by } => write!(f, "voted no on {tx:?}: a{account} locked by {by:?}"),
                NoReason::Funds { account } => write!(f, "voted no on {tx:?}: a{account} would go negative"),
                NoReason::Aborted => write!(f, "voted no on {tx:?}: aborted it already"),
            },
            Obs::InDoubt { tx } => write!(f, "in doubt {tx:?}"),
            Obs::Committed { tx, writes, presumed } => {
                write!(f, "committed {tx:?}{} (", if *presumed { " on its own" } else { "" })?;
                write_accounts(f, writes)?;
                write!(f, ")")
            }
            Obs::Aborted { tx } => write!(f, "aborted {tx:?}"),
            Obs::Recovered { prepared, .. } => write!(f, "recovered with {} prepared {prepared:?}", prepared.len()),
            Obs::Helped { tx, peer, commit } => write!(f, "told n{peer} {tx:?} {}", word(*commit)),
            Obs::Told { tx, commit } => write!(f, "told {} {tx:?}", if *commit { "committed" } else { "aborted" }),
        }
    }
}

/// Planted bugs, each off in the correct protocol.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bugs {
    /// A participant votes YES before its PREPARED record is synced.
    pub unlogged_prepare: bool,
    /// The coordinator sends COMMIT before its decision is durable.
    pub decide_before_log: bool,
    /// A participant in doubt commits on its own after `presume_after`.
    pub presume_commit_on_timeout: bool,
    /// A participant releases its locks when it votes YES.
    pub early_lock_release: bool,
    /// A restarted participant drops its prepared transactions.
    pub no_recovery: bool,
}

/// The scenario's `options`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// Accounts each participant holds.
    pub accounts_per_participant: u32,
    /// Every account's balance at the start.
    pub initial_balance: i64,
    /// Largest amount one transfer leg moves (amounts are uniform in `1..=amount_max`).
    pub amount_max: i64,
    /// `[fewest, most]` participants one transfer touches.
    pub transfer_participants: [usize; 2],
    /// How long the coordinator waits for votes in one round.
    pub prepare_timeout: Dur,
    /// Rounds of PREPARE to participants that have not voted, before aborting.
    pub prepare_attempts: u32,
    /// How long the coordinator waits for acknowledgements before re-sending a decision.
    pub decision_resend: Dur,
    /// How long a participant stays prepared before it is in doubt and asks.
    pub in_doubt_after: Dur,
    /// How often a participant in doubt asks again.
    pub inquiry_every: Dur,
    /// A participant in doubt also asks the transaction's other participants.
    pub cooperative_termination: bool,
    /// With the `presume-commit-on-timeout` bug: how long a participant stays
    /// prepared before it commits on its own.
    pub presume_after: Dur,
}

const MS: u64 = 1_000_000;

impl Default for Options {
    fn default() -> Self {
        Options {
            accounts_per_participant: 4,
            initial_balance: 100,
            amount_max: 10,
            transfer_participants: [2, 3],
            prepare_timeout: Dur(100 * MS),
            prepare_attempts: 2,
            decision_resend: Dur(100 * MS),
            in_doubt_after: Dur(250 * MS),
            inquiry_every: Dur(100 * MS),
            cooperative_termination: false,
            presume_after: Dur(500 * MS),
        }
    }
}

/// The resolved options and workload of a run, shared by every node and client.
#[derive(Clone, Debug)]
pub struct Config {
    /// Participants: nodes `1..=participant_count`.
    pub participant_count: usize,
    /// Accounts per participant.
    pub accounts_per_participant: u32,
    /// Every account's starting balance.
    pub initial_balance: i64,
    /// Largest amount of one transfer leg.
    pub amount_max: i64,
    /// Fewest and most participants of one transfer.
    pub transfer_participants: (usize, usize),
    /// Vote round timeout, ns.
    pub prepare_timeout_ns: u64,
    /// Vote rounds before aborting.
    pub prepare_attempts: u32,
    /// Decision re-send interval, ns.
    pub decision_resend_ns: u64,
    /// Prepared time before a participant is in doubt, ns.
    pub in_doubt_after_ns: u64,
    /// Interval between inquiries, ns.
    pub inquiry_every_ns: u64,
    /// Cooperative termination on.
    pub cooperative: bool,
    /// Prepared time before the buggy participant commits on its own, ns.
    pub presume_after_ns: u64,
    /// Planted bugs switched on.
    pub bugs: Bugs,
    /// Client processes (ids after the nodes).
    pub client_count: usize,
    /// Mean gap between one client's transactions, ns.
    pub gap_ns_mean: u64,
    /// Weights of read-balances and transfer, scaled to integers: `[read, read + transfer]`.
    pub mix_cumulative: [u64; 2],
    /// How long a client waits for the outcome before re-sending its request, ns.
    pub client_timeout_ns: u64,
    /// Timeouts after which a client gives up (the op becomes `info`).
    pub client_attempts_max: u32,
    /// Most operations the history may hold (`limits.history_ops`).
    pub ops_max: u64,
}

/// The coordinator's node id.
pub const COORDINATOR: NodeId = 0;

impl Config {
    /// Resolves `options` for `nodes` nodes and the scenario's workload, if any.
    pub fn new(o: &Options, scenario: &Scenario, bugs: Bugs) -> Config {
        let (clients, gap, mix, timeout) = match &scenario.workload {
            Some(w) => {
                let scale = |x: f64| (x * 1_000_000.0).round() as u64;
                let (r, t) = (scale(w.mix.read), scale(w.mix.write));
                (
                    w.clients,
                    ((w.clients as f64 / w.rate) * 1e9) as u64,
                    [r, r + t],
                    w.timeout.map_or(1_000 * MS, |d| d.0),
                )
            }
            None => (0, 0, [0, 1], 1_000 * MS),
        };
        Config {
            participant_count: scenario.nodes - 1,
            accounts_per_participant: o.accounts_per_participant,
            initial_balance: o.initial_balance,
            amount_max: o.amount_max,
            transfer_participants: (o.transfer_participants[0], o.transfer_participants[1]),
            prepare_timeout_ns: o.prepare_timeout.0,
            prepare_attempts: o.prepare_attempts,
            decision_resend_ns: o.decision_resend.0,
            in_doubt_after_ns: o.in_doubt_after.0,
            inquiry_every_ns: o.inquiry_every.0,
            cooperative: o.cooperative_termination,
            presume_after_ns: o.presume_after.0,
            bugs,
            client_count: clients,
            gap_ns_mean: gap.max(1),
            mix_cumulative: mix,
            client_timeout_ns: timeout,
            client_attempts_max: 3,
            ops_max: scenario.limits.clone().unwrap_or_default().history_ops,
        }
    }

    /// Number of protocol nodes: the coordinator and the participants.
    pub fn node_count(&self) -> usize {
        self.participant_count + 1
    }

    /// Number of accounts in the bank.
    pub fn account_count(&self) -> u32 {
        self.participant_count as u32 * self.accounts_per_participant
    }

    /// The sum of all balances, constant.
    pub fn total(&self) -> i64 {
        self.initial_balance * i64::from(self.account_count())
    }

    /// The participant holding account `a`.
    pub fn participant_of(&self, a: Account) -> NodeId {
        1 + (a / self.accounts_per_participant) as NodeId
    }

    /// The first account of participant `p`.
    pub fn first_account(&self, p: NodeId) -> Account {
        assert!(p >= 1 && p <= self.participant_count, "n{p} is no participant");
        (p as u32 - 1) * self.accounts_per_participant
    }

    /// The participants `op` touches.
    pub fn parts_of(&self, op: &TxOp) -> Parts {
        let mut parts = Parts::default();
        match op {
            TxOp::Transfer(legs) => legs.iter().for_each(|&(a, _)| parts.insert(self.participant_of(a))),
            TxOp::ReadBalances => (1..=self.participant_count).for_each(|p| parts.insert(p)),
        }
        parts
    }
}

/// Two-phase commit.
pub struct TwoPc;

/// The checks of `twopc`.
pub const CHECKS: &[Named] = &[
    Named::new("atomicity", "no transaction commits at one participant and aborts at another"),
    Named::new(
        "agreement-with-client",
        "a client told committed means committed at every participant; told aborted means committed nowhere",
    ),
    Named::new("isolation", "no two transactions prepared at once at a participant lock the same account"),
    Named::new("conservation", "the reported balances, with every decided commit applied, sum to the initial total"),
    Named::new(
        "termination",
        "after the last heal, every prepared transaction resolves within liveness.within_after_heal",
    )
    .needing(Needs::Liveness),
    Named::new("bank-history", "every read-balances of the client history is explained by committed transfers")
        .needing(Needs::Workload),
    Named::new(LIVENESS, "after the last heal, a transaction commits and a client op completes within the window")
        .needing(Needs::Liveness),
];

/// The planted bugs of `twopc`.
pub const BUGS: &[Named] = &[
    Named::new("unlogged-prepare", "a participant votes YES without syncing its PREPARED record"),
    Named::new("decide-before-log", "the coordinator sends COMMIT before its decision is durable"),
    Named::new("presume-commit-on-timeout", "a participant in doubt commits on its own after presume_after"),
    Named::new("early-lock-release", "a participant releases its locks when it votes, not when it learns the outcome"),
    Named::new("no-recovery", "a restarted participant drops its prepared transactions"),
];

/// A message's short label for the diagrams: `Prepare t0.3`, `Vote yes`.
fn msg_label(msg: &Msg) -> String {
    let outcome = |commit: bool| if commit { "commit" } else { "abort" };
    let op = |op: &TxOp| match op {
        TxOp::Transfer(legs) => format!("transfer {} legs", legs.len()),
        TxOp::ReadBalances => "read balances".to_string(),
    };
    match msg {
        Msg::Begin { seq, op: o } => format!("Begin #{seq} {}", op(o)),
        Msg::Reply { seq, tx, commit, .. } => format!("Reply #{seq} {tx:?} {}", outcome(*commit)),
        Msg::Prepare { tx, .. } => format!("Prepare {tx:?}"),
        Msg::Vote { yes, .. } => format!("Vote {}", if *yes { "yes" } else { "no" }),
        Msg::Decide { tx, commit, .. } => format!("Decide {tx:?} {}", outcome(*commit)),
        Msg::Ack { .. } => "Ack".to_string(),
        Msg::Inquire { tx } => format!("Inquire {tx:?}"),
        Msg::Outcome { tx, commit } => format!("Outcome {tx:?} {}", outcome(*commit)),
    }
}

/// An observation in plain words: `decided t0.3 commit`, `in doubt t0.3`.
fn obs_label(obs: &Obs) -> String {
    let outcome = |commit: bool| if commit { "commit" } else { "abort" };
    match obs {
        Obs::Started { epoch, .. } => format!("coordinator epoch {epoch}"),
        Obs::Began { tx, .. } => format!("began {tx:?}"),
        Obs::Decided { tx, commit } => format!("decided {tx:?} {}", outcome(*commit)),
        Obs::Prepared { tx, .. } => format!("prepared {tx:?}"),
        Obs::VotedNo { tx, .. } => format!("voted no {tx:?}"),
        Obs::InDoubt { tx } => format!("in doubt {tx:?}"),
        Obs::Committed { tx, .. } => format!("committed {tx:?}"),
        Obs::Aborted { tx } => format!("aborted {tx:?}"),
        Obs::Recovered { prepared, .. } => format!("recovered {} prepared", prepared.len()),
        Obs::Helped { tx, peer, commit } => format!("n{peer} told {tx:?} {}", outcome(*commit)),
        Obs::Told { tx, commit } => format!("told {tx:?} {}", outcome(*commit)),
    }
}

impl Protocol for TwoPc {
    type Msg = Msg;
    type Obs = Obs;
    type Options = Options;
    fn msg_label(msg: &Msg) -> String {
        msg_label(msg)
    }
    fn obs_label(obs: &Obs) -> String {
        obs_label(obs)
    }

    fn name(&self) -> &'static str {
        "twopc"
    }
    fn about(&self) -> &'static str {
        "two-phase commit of bank transfers: one coordinator, participants with durable logs, recovery"
    }
    fn checks(&self) -> &'static [Named] {
        CHECKS
    }
    fn bugs(&self) -> &'static [Named] {
        BUGS
    }
    fn nodes_min(&self) -> usize {
        3
    }

    fn validate(&self, o: &Options, scenario: &Scenario) -> Result<(), Invalid> {
        let participants = scenario.nodes - 1;
        if participants > 63 {
            return Err(Invalid::new(
                "nodes",
                format!("expected at most 64 nodes (a coordinator and 63 participants), got {}", scenario.nodes),
            ));
        }
        if o.accounts_per_participant == 0 || o.accounts_per_participant > 1024 {
            return Err(Invalid::new(
                "options.accounts_per_participant",
                format!("expected 1..=1024 accounts, got {}", o.accounts_per_participant),
            ));
        }
        if !(0..=1_000_000_000_000).contains(&o.initial_balance) {
            return Err(Invalid::new("options.initial_balance", "expected a balance in 0..=10^12"));
        }
        if !(1..=1_000_000_000).contains(&o.amount_max) {
            return Err(Invalid::new("options.amount_max", "expected an amount in 1..=10^9"));
        }
        let [lo, hi] = o.transfer_participants;
        if lo < 2 || lo > hi || hi > participants {
            return Err(Invalid::new(
                "options.transfer_participants",
                format!("expected [fewest, most] with 2 <= fewest <= most <= {participants} (the participants)"),
            ));
        }
        if o.prepare_attempts == 0 {
            return Err(Invalid::new("options.prepare_attempts", "expected at least 1"));
        }
        for (path, d) in [
            ("options.prepare_timeout", o.prepare_timeout),
            ("options.decision_resend", o.decision_resend),
            ("options.in_doubt_after", o.in_doubt_after),
            ("options.inquiry_every", o.inquiry_every),
            ("options.presume_after", o.presume_after),
        ] {
            if d.0 == 0 {
                return Err(Invalid::new(path, "expected a positive duration"));
            }
        }
        if let Some(w) = &scenario.workload {
            if w.mix.cas != 0.0 {
                return Err(Invalid::new("workload.mix.cas", "expected no cas: twopc clients transfer and read"));
            }
            if w.mix.read + w.mix.write <= 0.0 {
                return Err(Invalid::new("workload.mix", "expected a positive read or write weight"));
            }
            if w.keys != 1 {
                return Err(Invalid::new(
                    "workload.keys",
                    "expected no keys: twopc accounts are options.accounts_per_participant",
                ));
            }
        }
        Ok(())
    }

    fn setup(&self, s: &mut Setup<'_, Self>) {
        let bugs = Bugs {
            unlogged_prepare: s.bug("unlogged-prepare"),
            decide_before_log: s.bug("decide-before-log"),
            presume_commit_on_timeout: s.bug("presume-commit-on-timeout"),
            early_lock_release: s.bug("early-lock-release"),
            no_recovery: s.bug("no-recovery"),
        };
        let cfg = Rc::new(Config::new(s.options(), s.scenario(), bugs));
        let c = cfg.clone();
        s.role([COORDINATOR], move |ctx| coordinator::run(ctx, c.clone()));
        let c = cfg.clone();
        s.role(1..=cfg.participant_count, move |ctx| participant::run(ctx, c.clone()));
        let recorder = Rc::new(RefCell::new(workload::TxRecorder::new(cfg.client_count)));
        if cfg.client_count > 0 {
            let (c, r) = (cfg.clone(), recorder.clone());
            s.role(s.node_count()..s.node_count() + cfg.client_count, move |ctx| {
                workload::run_client(ctx, c.clone(), r.clone())
            });
            s.client_history(recorder.clone());
        }
        let c = cfg.clone();
        s.invariant("atomicity", || Box::new(invariants::Atomicity::default()));
        s.invariant("agreement-with-client", || Box::new(invariants::AgreementWithClient::default()));
        s.invariant("isolation", || Box::new(invariants::Isolation::new(&c)));
        s.invariant("conservation", || Box::new(invariants::Conservation::new(&c)));
        let within = s.scenario().liveness.as_ref().map_or(0, |l| l.within.map_or(l.within_after_heal.0, |d| d.0));
        s.invariant("termination", || Box::new(invariants::Termination::new(within)));
        let (c, r) = (cfg.clone(), recorder.clone());
        s.invariant("bank-history", move || Box::new(model::BankHistory::new(r, &c)));
        s.progress("the coordinator decides a commit", |obs| matches!(obs, Obs::Decided { commit: true, .. }));
        s.reporter(Box::new(report::Blocking::new(&cfg)));
    }
}

/// The `twopc` benchmark: a coordinator, 4 participants (8 accounts each)
/// and 4 clients offering 40 transactions per second (90% transfers over
/// 2 or 3 participants, 10% read-balances), 600 simulated seconds, seed 1,
/// latency uniform [1 ms, 5 ms], fsync 1 ms, the safety checks on. Counts
/// deliveries; `extra` carries `committed_txs` (commits the coordinator
/// decided), `aborted_txs`, `sim_per_wall` (simulated seconds per wall
/// second), the trace hash and the kernel's step count.
pub(crate) fn bench() -> crate::bench::BenchResult {
    let text = r#"{
        "name": "bench-twopc", "protocol": "twopc", "nodes": 5, "duration": "600s",
        "network": { "latency": { "dist": "uniform", "min": "1ms", "max": "5ms" } },
        "workload": { "clients": 4, "rate": 40, "mix": { "read": 0.1, "write": 0.9 } },
        "options": { "accounts_per_participant": 8 },
        "checks": ["atomicity", "agreement-with-client", "isolation", "conservation"]
    }"#;
    let (run, wall) = crate::bench::run_clean("twopc", text, &TwoPc);
    let sim_seconds = run.result.end_ns as f64 / 1e9;
    let stat = |name: &str| run.result.extras.stats.get(name).map_or_else(|| "?".to_string(), |v| v.to_string());
    crate::bench::BenchResult {
        workload: "twopc",
        unit: "deliveries",
        count: run.result.net.delivered,
        sim_seconds,
        wall_seconds: wall,
        extra: vec![
            ("committed_txs".to_string(), stat("txs_committed")),
            ("aborted_txs".to_string(), stat("txs_aborted")),
            ("sim_per_wall".to_string(), format!("{:.0}", sim_seconds / wall.max(1e-9))),
            ("trace_hash".to_string(), crate::sim::trace::hash_hex(run.result.trace_hash)),
            ("steps".to_string(), run.result.steps.to_string()),
        ],
    }
}
