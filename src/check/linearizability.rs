//! The linearizability checker: the search (Wing & Gong's tree search with
//! Lowe's memoisation, "WGL"), per-key scheduling within a budget, violation
//! reports and history shrinking.
//!
//! # The algorithm
//! Each operation becomes a *call* entry at its invoke position and, if it
//! completed ok, a *return* entry at its completion position, in one doubly
//! linked list ordered by real time. The search walks the list from the
//! head: at a call it tries to apply the op to the model state; if the model
//! accepts and the configuration (set of linearized ops, new state) has not
//! been seen before, the op is *lifted* out of the list (both entries),
//! pushed on a stack, and the walk restarts from the head. The calls before
//! the first return are the *window*: the ops that may go next. Reaching a
//! return means that op's deadline passed without it being linearized, so
//! the search backtracks: it pops the last op, restores its entries and
//! state, and tries the next call after it. The memo of configurations is
//! what makes this practical: two orders that linearize the same ops into the
//! same state need exploring once. See Lowe, "Testing for linearizability"
//! (2017), and Porcupine. One difference: a configuration enters the memo
//! when the search leaves it, not when it arrives. The set of linearized ops
//! only grows along a path, so no path meets a configuration it is still in;
//! what the memo must hold is the configurations already explored in full.
//! A search that never backtracks (a sequential history) then never touches
//! more than an empty table.
//!
//! # Why it is shaped so: no step does work that grows with the history
//! A checker that is quick at 1,000 ops can be hopeless at 100,000 if a step
//! scans the history, keeps a bitset of all ops per memo entry, or copies
//! the stack. Here a search step costs about the window's size (the ops in
//! flight at that point), whatever the history's length:
//! - Ops are numbered in *return order* (ok ops by completion, then open
//!   ops). The first return left in the list is then always the lowest
//!   unlinearized op, the *frontier*; every op below it is linearized. So a
//!   configuration is the frontier plus the few linearized ops *ahead* of it
//!   (at most one per client in flight there, plus open ops), and that is
//!   what the memo stores and compares. Its hash is a Zobrist hash (XOR of a
//!   random key per linearized op) updated in O(1) per step.
//! - Dead ends are found from counters, not scans (see below).
//! - The longest partial linearization, for the report, is kept as a copy of
//!   the stack that shares its prefix, updated only where they differ.
//!
//! A sequential history is then checked in one step per op, and a history
//! with c clients in flight costs a few steps per op when it is
//! linearizable. A violation the search must find costs exploring every
//! configuration it can reach before it: the pruning keeps that small at
//! moderate concurrency, but it grows exponentially with the clients in
//! flight, which is why the commonest violation is caught before searching.
//!
//! # Pruning
//! Two refinements of plain WGL, both sound:
//! - A partial-order reduction: a read in the window that reads the current
//!   state is linearized at once, as the only choice at that node. A read
//!   does not change the state and every op that must precede it is already
//!   linearized, so any linearization from the node can be rewritten with
//!   the read first.
//! - Dead nodes: every ok read *needs* the key to hold its value at some
//!   point, and so does every ok cas its old value. Per value the search
//!   counts the must ops still to linearize that need it and the ops still
//!   to linearize that can *produce* it (a write or cas of it, or with
//!   appends of any prefix of it). A value needed that nothing left can
//!   produce is an *orphan*; orphans sit in an ordered set. After a step
//!   that changes the state, the node is dead when an orphan is not the
//!   current state (nor, with appends, reachable from it by appending): no
//!   linearization continues from there. Keeping the counts costs O(1) per
//!   step and the test O(log n); scanning the pending reads instead made the
//!   old checker cubic in the ops per key.
//!
//! # The real-time pre-pass
//! For keys without appends, before searching, `Search::forced_order`
//! looks for a must op that needs a value v while real time alone rules v
//! out: the last op writing v completed before an op writing something else
//! was invoked, which completed before the needer was. That is a stale read
//! (or cas) no order can explain, found in O(n log n) however many clients
//! were in flight, where the search would have to rule out every order of
//! everything before it. Its report is that chain of three ops
//! ([`Violation::forced_order`]). A key it passes is searched as usual; the
//! pre-pass never says "linearizable".
//!
//! # Open operations
//! An `info` op, or one that never completed, may take effect at any point
//! after its invoke, or never. It has no return entry (its return is at
//! +infinity), so it never forces a backtrack and can be linearized anywhere
//! after its call; and the search succeeds as soon as the frontier passes
//! the last op that completed `ok`, whatever open ops remain, which is how an
//! open op gets to "never" take effect. Failed ops and open reads constrain
//! nothing and are dropped before the search.
//!
//! # Keys, scheduling and budgets
//! For model `kv` each key is checked on its own (P-compositionality: a
//! history is linearizable iff every key's sub-history is). Each key's search
//! is a resumable state machine; [`check`] runs them round-robin, in key
//! order, in fixed slices of steps, so one hard key cannot hide another key's
//! easy violation. Work is bounded by a [`Budget`]: a number of steps, which
//! makes the verdict (and which violation is reported) a pure function of
//! the history, the same on any machine; or a wall-clock deadline, for
//! interactive use, read at least once per slice and between keys. A
//! shrink spends one budget across all its checks, and returns the smallest
//! failing history found when the budget runs out.
//!
//! # Shrinking
//! [`shrink`] is delta debugging over whole ops (halves, quarters, ... then
//! single ops), each candidate closed first: ops whose needed value no
//! longer has a writer that may precede them (invoked before they
//! completed) go too, so the witness explains itself (a lone read of a
//! value from nowhere, or from a later write, would be true and useless).
//!
//! # Model states
//! Values are interned per key to `u32` ids (0 = absent) before searching, so
//! a model step is an integer compare. An append's result is hash-consed
//! (a chain of appends with a rolling hash, compared exactly on a hash match)
//! once per (state, argument) pair and then looked up, so appends never copy
//! the growing string during the search.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::str::FromStr;
use std::time::Instant;

use serde::Serialize;

use crate::check::history::{seconds, short, Call, History, Op, Outcome, Value};

/// The sequential specification histories are checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Model {
    /// One register: every op acts on the same value, keys are ignored.
    /// Supports read, write, cas (and append, with the kv meaning).
    Register,
    /// A map of independent registers, one per key (a missing key is one more
    /// key of its own): read, write, cas, append. Checked key by key.
    Kv,
}

impl FromStr for Model {
    type Err = String;

    /// Parses `register` or `kv`.
    fn from_str(s: &str) -> Result<Model, String> {
        match s {
            "register" => Ok(Model::Register),
            "kv" => Ok(Model::Kv),
            _ => Err(format!("unknown model \"{s}\" (expected register or kv)")),
        }
    }
}

impl fmt::Display for Model {
    /// `register` or `kv`, as on the command line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Model::Register => "register",
            Model::Kv => "kv",
        })
    }
}

/// The answer of [`check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Some order of the ops respects real time and the model.
    Linearizable,
    /// No such order exists; the report explains one key's failure.
    NotLinearizable(Box<Violation>),
    /// The budget ran out before the search reached a verdict.
    Unknown,
}

/// An operation named in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpRef {
    /// Position of the op in [`History::ops`].
    pub index: usize,
    /// One-line description (process, call, result, event positions).
    pub text: String,
}

/// One step of a partial linearization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinearizedStep {
    /// The op applied.
    pub op: OpRef,
    /// The key's value after applying it (`Null` = absent).
    pub state: Value,
}

/// An op that could have been linearized next, and why that led nowhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// The op tried.
    pub op: OpRef,
    /// Why the model refused it (`read k3 -> 4 but the value is 1`), or that it
    /// was accepted but no linearization continues from there.
    pub reason: String,
}

/// Why a history is not linearizable: a bug report for one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The model checked.
    pub model: Model,
    /// The key that failed (`None`: the single register).
    pub key: Option<String>,
    /// The op whose completion came before it could be linearized, at the end
    /// of the longest partial linearization.
    pub first_unlinearizable: OpRef,
    /// The last op of the longest partial linearization, if any.
    pub last_linearized: Option<OpRef>,
    /// The end of the longest partial linearization found (its last
    /// [`Violation::STEPS_KEPT_MAX`] steps at most), with the state after each op.
    pub linearization: Vec<LinearizedStep>,
    /// The length of that whole partial linearization (`linearization`
    /// holds its end).
    pub linearization_len: usize,
    /// The ops that could go next after that partial linearization, each with
    /// the reason it failed.
    pub attempts: Vec<Attempt>,
    /// True when `linearization` is not a search's partial linearization but
    /// a chain real time alone forces (each op completed before the next was
    /// invoked, and before `first_unlinearizable` was): an op that writes the
    /// value `first_unlinearizable` needs, then one that overwrites it. Every
    /// other op writing that value is overwritten before it in the same way.
    pub forced_order: bool,
    /// The failure in one sentence a person reads in one go, naming the
    /// ops, their times and the node that answered where the history
    /// knows them: `p3 read k0 -> 7 (invoked 9.480 s, answered by n4), but
    /// p1's write of 8 had completed at 9.453 s, ...`.
    pub culprit: String,
}

impl Violation {
    /// The longest partial linearization is shown only up to this many steps
    /// (its end, where the failure is): enough to see the run-up, short
    /// enough that a failing run's terminal output stays under 60 lines.
    const STEPS_SHOWN_MAX: usize = 12;
    /// And kept up to this many: describing a million steps would cost more
    /// than the search that found them.
    pub const STEPS_KEPT_MAX: usize = 1000;

    /// A multi-line human-readable report.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let subject = match &self.key {
            Some(k) => format!("key {}", Value::Str(k.clone())),
            None => "the register".to_string(),
        };
        out.push_str(&format!("not linearizable: {subject} (model {})\n", self.model));
        out.push_str(&format!("  {}\n", self.culprit));
        out.push_str(&format!("  first op that cannot be linearized: {}\n", self.first_unlinearizable.text));
        match &self.last_linearized {
            Some(op) => out.push_str(&format!("  last op linearized before it:       {}\n", op.text)),
            None => out.push_str("  no op could be linearized before it\n"),
        }
        if self.forced_order {
            out.push_str(
                "real time alone orders these ops, each completed before the next was invoked \
                 (value after each),\nand every other op that writes the value it needs is \
                 overwritten before it in the same way:\n",
            );
        } else {
            out.push_str(&format!(
                "longest partial linearization ({} ops, value after each):\n",
                self.linearization_len
            ));
        }
        let skip = self.linearization.len().saturating_sub(Self::STEPS_SHOWN_MAX);
        let (first, hidden) = (self.linearization_len - self.linearization.len(), skip);
        if first + hidden > 0 {
            out.push_str(&format!("  ... {} earlier steps not shown\n", first + hidden));
        }
        for (i, step) in self.linearization.iter().enumerate().skip(skip).map(|(i, s)| (first + i, s)) {
            out.push_str(&format!("  {:>4}. {}  => {}\n", i + 1, step.op.text, short(&step.state)));
        }
        let state = self.linearization.last().map_or(Value::Null, |s| s.state.clone());
        out.push_str(&format!("then, with the value {}, every op that could go next fails:\n", short(&state)));
        for a in &self.attempts {
            out.push_str(&format!("  - {}\n      {}\n", a.op.text, a.reason));
        }
        if out.contains("[@") {
            out.push_str("(@N = event position: the line number for a parsed file)\n");
        }
        out
    }
}

/// How much searching a [`check`] (or a [`shrink`], for all its checks
/// together) may do before it gives up with [`Verdict::Unknown`].
///
/// A step is one entry of the history visited by the search: one attempt to
/// linearize an op at a node of the search tree, or one backtrack. Every step
/// costs a bounded amount of work, whatever the history's length, so steps
/// measure work done. A step budget makes the verdict a pure function of the
/// history, the same on a fast machine and a slow one; a deadline does not,
/// and is for interactive use (`faultline check --time-limit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// At most this many search steps in all.
    Steps(u64),
    /// Until this instant of the wall clock. The clock is read at least once
    /// every [`SLICE_STEPS`] steps, and between pieces of work that are not
    /// search steps (setting up a key's search, one candidate of a shrink).
    Until(Instant),
    /// No limit.
    Unlimited,
}

impl From<Option<Instant>> for Budget {
    /// A deadline, or none: `None` is [`Budget::Unlimited`].
    fn from(deadline: Option<Instant>) -> Budget {
        deadline.map_or(Budget::Unlimited, Budget::Until)
    }
}

/// Steps one key's search runs before the scheduler moves to the next key;
/// also the most steps between two readings of the clock.
pub const SLICE_STEPS: u64 = 4096;

/// A budget being spent, by one check or by all the checks of a shrink.
struct Meter {
    /// Steps spent so far.
    steps: u64,
    /// The step cap (`u64::MAX`: none).
    steps_max: u64,
    deadline: Option<Instant>,
    /// Steps spent since the clock was last read.
    steps_unclocked: u64,
    /// Set once the budget is spent; stays set.
    spent: bool,
}

impl Meter {
    fn new(budget: Budget) -> Meter {
        let (steps_max, deadline) = match budget {
            Budget::Steps(n) => (n, None),
            Budget::Until(t) => (u64::MAX, Some(t)),
            Budget::Unlimited => (u64::MAX, None),
        };
        Meter { steps: 0, steps_max, deadline, steps_unclocked: 0, spent: false }
    }

    /// How many steps the next slice of search may take; 0 once the budget
    /// is spent. Reads the clock when a slice's worth of steps went by
    /// since it was last read.
    fn allowance(&mut self) -> u64 {
        if self.steps_unclocked >= SLICE_STEPS {
            self.read_clock();
        }
        if self.steps >= self.steps_max {
            self.spent = true;
        }
        if self.spent {
            return 0;
        }
        (self.steps_max - self.steps).min(SLICE_STEPS)
    }

    fn spend(&mut self, steps: u64) {
        self.steps += steps;
        self.steps_unclocked += steps;
    }

    /// Reads the clock now (between pieces of work that are not steps);
    /// true once the budget is spent.
    fn expired(&mut self) -> bool {
        self.read_clock();
        self.spent
    }

    fn read_clock(&mut self) {
        self.steps_unclocked = 0;
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.spent = true;
        }
    }
}

/// Checks `history` against `model` within `budget` (a [`Budget`], or an
/// `Option<Instant>` deadline); when the budget runs out before a verdict,
/// the result is [`Verdict::Unknown`].
pub fn check(history: &History, model: Model, budget: impl Into<Budget>) -> Verdict {
    check_steps(history, model, budget).0
}

/// [`check`], also returning the number of search steps it took (all keys
/// together). With a [`Budget::Steps`] budget both are pure functions of the
/// history and the budget.
pub fn check_steps(history: &History, model: Model, budget: impl Into<Budget>) -> (Verdict, u64) {
    let mut meter = Meter::new(budget.into());
    let verdict = check_with(history, model, &mut meter);
    (verdict, meter.steps)
}

/// The check, spending from `meter`. Each key's search is resumable; they
/// run round-robin in key order, a slice of at most [`SLICE_STEPS`] steps
/// each, so one hard key cannot hide another key's easy violation, and which
/// violation is reported depends on the history alone.
fn check_with(history: &History, model: Model, meter: &mut Meter) -> Verdict {
    let mut searches: Vec<Option<Search>> = Vec::new();
    for (key, ops) in partition(history, model) {
        if meter.expired() {
            return Verdict::Unknown;
        }
        searches.push(Some(Search::new(history, key, ops)));
    }
    let mut active: Vec<usize> = (0..searches.len()).collect();
    while !active.is_empty() {
        let mut still = Vec::with_capacity(active.len());
        for &i in &active {
            let allowance = meter.allowance();
            if allowance == 0 {
                return Verdict::Unknown;
            }
            let search = searches[i].as_mut().expect("an active search is kept");
            let (status, steps) = search.run(allowance);
            meter.spend(steps);
            match status {
                Status::Running => still.push(i),
                // A key that passed frees its memo at once.
                Status::Linearizable => searches[i] = None,
                Status::Violated => return Verdict::NotLinearizable(Box::new(search.violation(history, model))),
            }
        }
        active = still;
    }
    Verdict::Linearizable
}

/// What [`shrink`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shrunk {
    /// The smallest failing history found: the input itself when nothing
    /// could be removed, or when it is not (known to be) non-linearizable.
    pub history: History,
    /// False when the budget ran out first: `history` still fails, but the
    /// shrink did not get to try every removal, so a smaller witness may exist.
    pub complete: bool,
}

/// Removes operations while the history stays non-linearizable (delta
/// debugging: halves, quarters, ... then single ops, until no single op can
/// go). `violation` is what [`check`] said of `history`; for model `kv` the
/// shrink starts from its key alone. The whole shrink, every check in it,
/// spends one `budget`; when it runs out the smallest failing history found
/// so far is returned, with [`Shrunk::complete`] false.
pub fn shrink(history: &History, model: Model, violation: &Violation, budget: impl Into<Budget>) -> Shrunk {
    let mut meter = Meter::new(budget.into());
    let given_up = |meter: &Meter| Shrunk { history: history.clone(), complete: !meter.spent };
    if meter.expired() {
        return given_up(&meter);
    }
    // A witness stays faithful: every value an ok read returns, or an ok cas
    // expects, is still written by an op that may precede it in real time
    // (invoked before the read completed). Otherwise the cheapest "witness"
    // is a lone read (or cas) of a value from nowhere, or of a value written
    // only later, which is true but explains nothing. Each candidate is closed
    // by dropping the ops it orphans, so a cut does not fail to apply merely
    // because a read beside it lost its write. An op whose value nothing in
    // the original explains is the anomaly itself and exempt. With appends a
    // read's value is a concatenation: it must still be built from a write
    // (or the empty start) and appends that may precede it.
    let appends = history.ops().iter().any(|op| matches!(op.call, Call::Append(_)));
    let must: BTreeSet<usize> = if appends {
        history.ops().iter().filter(|op| needed(op).is_some() && built(op, history)).map(|op| op.invoke_index).collect()
    } else {
        let w = writers(history);
        history.ops().iter().filter(|op| needed(op).is_some() && explained(op, &w)).map(|op| op.invoke_index).collect()
    };
    if meter.expired() {
        return given_up(&meter);
    }
    let closing = |h: History| if appends { close_appends(&h, &must) } else { close(&h, &must) };
    // A candidate must fail for the same reason: on the same op, the one
    // the whole history's check could not place. Another op failing instead
    // would mean the cut made a new anomaly (or exposed another one), and
    // the witness would explain something the run did not report.
    // (A violation of another history names no op of this one: any failure goes.)
    let target = history.ops().get(violation.first_unlinearizable.index).map(|op| op.invoke_index);
    let fails = |h: &History, meter: &mut Meter| match check_with(h, model, meter) {
        Verdict::NotLinearizable(v) => target.is_none_or(|t| h.ops()[v.first_unlinearizable.index].invoke_index == t),
        _ => false,
    };
    // Ops the search ignores (failed ops, open reads), and for kv the other
    // keys, cannot matter; dropping them first is safe and cheap.
    let kept = |_: usize, op: &Op| relevant(op) && (model == Model::Register || op.key == violation.key);
    // The violation says where to look: the ops it names, or for a search's
    // partial linearization everything from the end it kept on. Tried first
    // (a candidate like any other), it spares a long history most of the
    // rounds of halving.
    let named: Vec<usize> = violation
        .linearization
        .iter()
        .map(|s| s.op.index)
        .chain(violation.attempts.iter().map(|a| a.op.index))
        .chain([violation.first_unlinearizable.index])
        .collect();
    let from = named.iter().copied().min().unwrap_or(0);
    let near = closing(
        history.filter(|i, op| kept(i, op) && if violation.forced_order { named.contains(&i) } else { i >= from }),
    );
    let mut current = near;
    if !fails(&current, &mut meter) {
        if meter.expired() {
            return given_up(&meter);
        }
        current = closing(history.filter(kept));
        if !fails(&current, &mut meter) {
            if meter.expired() {
                return given_up(&meter);
            }
            current = history.clone();
            if !fails(&current, &mut meter) {
                return given_up(&meter);
            }
        }
    }
    let mut chunks = 2usize;
    while current.len() >= 2 && !meter.expired() {
        let size = current.len().div_ceil(chunks);
        let mut removed = false;
        let mut start = 0;
        while start < current.len() && !meter.expired() {
            let end = (start + size).min(current.len());
            let candidate = closing(current.filter(|i, _| i < start || i >= end));
            if fails(&candidate, &mut meter) {
                current = candidate;
                removed = true;
            } else {
                start = end;
            }
        }
        if removed {
            chunks = chunks.saturating_sub(1).max(2);
        } else if size == 1 {
            break;
        } else {
            chunks = (chunks * 2).min(current.len());
        }
    }
    Shrunk { history: current, complete: !meter.spent }
}

/// A key and a value of it.
type KeyValue<'h> = (&'h Option<String>, &'h Value);

/// The non-null value an ok op needs to find its key holding: a read's
/// result, a cas's old value.
fn needed(op: &Op) -> Option<KeyValue<'_>> {
    match (&op.call, &op.outcome) {
        (Call::Read, Outcome::Ok(v)) | (Call::Cas(v, _), Outcome::Ok(_)) if *v != Value::Null => Some((&op.key, v)),
        _ => None,
    }
}

/// The value an op writes, whatever its outcome (a write, a cas's new value).
fn writes(op: &Op) -> Option<KeyValue<'_>> {
    match &op.call {
        Call::Write(v) | Call::Cas(_, v) => Some((&op.key, v)),
        _ => None,
    }
}

/// The ops of `history` that write each (key, value), by the real-time
/// position of their invoke (unique per op, and the same in every
/// sub-history, so it names the op across shrink candidates).
fn writers(history: &History) -> HashMap<KeyValue<'_>, BTreeSet<usize>, BuildHasherDefault<IdHasher>> {
    let mut all: HashMap<KeyValue<'_>, BTreeSet<usize>, BuildHasherDefault<IdHasher>> = HashMap::default();
    for op in history.ops() {
        if let Some(kv) = writes(op) {
            all.entry(kv).or_default().insert(op.invoke_index);
        }
    }
    all
}

/// Whether the value `op` needs (see [`needed`]) is written by another op
/// that may precede it: one invoked before `op` completed.
fn explained(op: &Op, writers: &HashMap<KeyValue<'_>, BTreeSet<usize>, BuildHasherDefault<IdHasher>>) -> bool {
    let (Some(kv), Some(done)) = (needed(op), op.complete_index) else { return true };
    writers.get(&kv).is_some_and(|w| w.range(..done).any(|&i| i != op.invoke_index))
}

/// Whether the value `op` needs is still made by ops of `history` that may
/// precede it, for a history with appends: a string read must be a write's
/// value (or the empty start) followed by appends, each invoked before the
/// read completed; any other needed value, written by such an op.
fn built(op: &Op, history: &History) -> bool {
    let (Some((key, value)), Some(done)) = (needed(op), op.complete_index) else { return true };
    let before = || {
        history
            .ops()
            .iter()
            .filter(move |w| w.key == *key && w.invoke_index < done && w.invoke_index != op.invoke_index)
    };
    let Value::Str(text) = value else { return before().any(|w| writes(w) == Some((key, value))) };
    let mut pieces: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut lengths = BTreeSet::new();
    let mut reach = vec![false; text.len() + 1];
    reach[0] = true;
    for w in before() {
        match &w.call {
            Call::Write(Value::Str(v)) | Call::Cas(_, Value::Str(v)) if text.starts_with(v.as_str()) => {
                reach[v.len()] = true
            }
            Call::Append(a) if !a.is_empty() && text.contains(a.as_str()) => {
                pieces.insert(a.as_str());
                lengths.insert(a.len());
            }
            _ => {}
        }
    }
    // Positions reachable by a prefix and appends; set lookups per distinct
    // piece length keep this linear in what is reachable.
    for at in 0..text.len() {
        if !reach[at] {
            continue;
        }
        for &len in &lengths {
            if text.get(at..at + len).is_some_and(|piece| pieces.contains(piece)) {
                reach[at + len] = true;
            }
        }
    }
    reach[text.len()]
}

/// [`close`] for a history with appends: drops each op of `must` that is
/// no longer [`built`], until every one left is (a dropped cas writes
/// nothing any more, so others may follow it).
fn close_appends(history: &History, must: &BTreeSet<usize>) -> History {
    let mut current = history.clone();
    loop {
        let dropped: BTreeSet<usize> = current
            .ops()
            .iter()
            .filter(|op| must.contains(&op.invoke_index) && !built(op, &current))
            .map(|op| op.invoke_index)
            .collect();
        if dropped.is_empty() {
            return current;
        }
        current = current.filter(|_, op| !dropped.contains(&op.invoke_index));
    }
}

/// The largest sub-history in which every op of `must` (by invoke
/// position) is still [`explained`]: drops each that is not, and so on (a
/// dropped cas writes nothing any more).
pub(crate) fn close(history: &History, must: &BTreeSet<usize>) -> History {
    let ops = history.ops();
    let mut w = writers(history);
    let mut needers: HashMap<KeyValue<'_>, Vec<usize>, BuildHasherDefault<IdHasher>> = HashMap::default();
    let mut work = Vec::new();
    for (i, op) in ops.iter().enumerate().filter(|(_, op)| must.contains(&op.invoke_index)) {
        if let Some(kv) = needed(op) {
            needers.entry(kv).or_default().push(i);
            work.push(i);
        }
    }
    let mut keep = vec![true; ops.len()];
    while let Some(i) = work.pop() {
        if !keep[i] || explained(&ops[i], &w) {
            continue;
        }
        keep[i] = false;
        let Some(kv) = writes(&ops[i]) else { continue };
        if let Some(set) = w.get_mut(&kv) {
            set.remove(&ops[i].invoke_index);
        }
        work.extend(needers.get(&kv).into_iter().flatten().copied().filter(|&j| keep[j]));
    }
    history.filter(|i, _| keep[i])
}

/// Whether the search looks at `op` at all: failed ops did not happen, and an
/// open read returned nothing to check.
fn relevant(op: &Op) -> bool {
    match op.outcome {
        Outcome::Ok(_) => true,
        Outcome::Fail => false,
        Outcome::Info | Outcome::Open => op.call != Call::Read,
    }
}

/// Groups the relevant ops (indices into `history.ops()`) by key, in key order.
fn partition(history: &History, model: Model) -> Vec<(Option<String>, Vec<usize>)> {
    let mut parts: BTreeMap<Option<&str>, Vec<usize>> = BTreeMap::new();
    for (i, op) in history.ops().iter().enumerate() {
        if !relevant(op) {
            continue;
        }
        let key = match model {
            Model::Register => None,
            Model::Kv => op.key.as_deref(),
        };
        parts.entry(key).or_default().push(i);
    }
    parts.into_iter().map(|(key, ops)| (key.map(str::to_string), ops)).collect()
}

/// A model step on interned values.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// The state must equal this id.
    Read(u32),
    /// The state becomes this id.
    Write(u32),
    /// If the state is `old`, it becomes `new`.
    Cas { old: u32, new: u32 },
    /// The state (absent or a string) gets this string id appended.
    Append(u32),
}

/// How an interned value is stored.
#[derive(Clone, Debug)]
enum Stored {
    Null,
    Int(i64),
    /// A string given in the history (written, read, cas'd or appended).
    Literal(String),
    /// A string made by appending `arg` (a `Literal` id) to `base`; kept as a
    /// chain so an append step costs O(1) instead of copying the string.
    Concat {
        base: u32,
        arg: u32,
    },
}

/// What two equal values certainly share: the integer, or a string's length
/// and polynomial hash. Equal keys are then compared exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ValueKey {
    Null,
    Int(i64),
    Str { len: u64, hash: u64 },
}

/// The Mersenne prime 2^61 - 1, modulus of the string hash.
const HASH_MODULUS: u64 = (1 << 61) - 1;
/// The base of the polynomial string hash.
const HASH_BASE: u64 = 0x1F3D_5B79_A3C4_E5F7 % HASH_MODULUS;

fn mul_mod(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    let r = (p as u64 & HASH_MODULUS) + (p >> 61) as u64;
    if r >= HASH_MODULUS {
        r - HASH_MODULUS
    } else {
        r
    }
}

fn add_mod(a: u64, b: u64) -> u64 {
    let r = a + b;
    if r >= HASH_MODULUS {
        r - HASH_MODULUS
    } else {
        r
    }
}

/// Per-key value interning, exact: two ids are equal iff their values are.
/// Id 0 is absent. Strings built by appends are hash-consed chains: the hash
/// of `s + a` follows from the hashes of `s` and `a`, and only a hash match
/// (almost always a true match) costs an exact comparison.
struct Values {
    stored: Vec<Stored>,
    keys: Vec<ValueKey>,
    /// For each string literal id, `HASH_BASE^len` (to extend hashes by it).
    powers: HashMap<u32, u64, BuildHasherDefault<IdHasher>>,
    /// The last id added with each key; `same_key` chains each id to the
    /// one added before it with the same key (`NIL`: none).
    by_key: HashMap<ValueKey, u32, BuildHasherDefault<IdHasher>>,
    same_key: Vec<u32>,
    /// Memo of append steps: (state << 32 | arg) -> new state, or `None`
    /// when the state is an integer (append refused).
    appends: HashMap<u64, Option<u32>, BuildHasherDefault<IdHasher>>,
    /// For string values that reads expect on a growing key: the hash of
    /// each prefix (entry k = first k bytes).
    prefixes: HashMap<u32, Vec<u64>, BuildHasherDefault<IdHasher>>,
}

impl Values {
    fn new() -> Values {
        let mut by_key = HashMap::default();
        by_key.insert(ValueKey::Null, 0);
        Values {
            stored: vec![Stored::Null],
            keys: vec![ValueKey::Null],
            powers: HashMap::default(),
            by_key,
            same_key: vec![NIL],
            appends: HashMap::default(),
            prefixes: HashMap::default(),
        }
    }

    /// Prepares [`Values::reaches`] for `target`.
    fn index_prefixes(&mut self, target: u32) {
        if let Stored::Literal(s) = &self.stored[target as usize] {
            let mut hashes = Vec::with_capacity(s.len() + 1);
            let mut h = 0;
            hashes.push(h);
            for b in s.bytes() {
                h = add_mod(mul_mod(h, HASH_BASE), u64::from(b) + 1);
                hashes.push(h);
            }
            self.prefixes.insert(target, hashes);
        }
    }

    /// Whether `from` can become `target` by appends alone (none at all when
    /// `appends` is false). A string must be a prefix of `target`; that test
    /// compares prefix hashes, so a collision can say true wrongly (costing
    /// search time only), never false wrongly.
    fn reaches(&self, from: u32, target: u32, appends: bool) -> bool {
        if from == target {
            return true;
        }
        if !appends {
            return false;
        }
        match (self.keys[from as usize], self.keys[target as usize]) {
            (ValueKey::Null, ValueKey::Str { .. }) => true,
            (ValueKey::Str { len, hash }, ValueKey::Str { len: target_len, .. }) => {
                len <= target_len && self.prefixes[&target][len as usize] == hash
            }
            _ => false,
        }
    }

    /// A string's length in bytes (0 for absent and integers).
    fn len(&self, id: u32) -> u64 {
        match self.keys[id as usize] {
            ValueKey::Str { len, .. } => len,
            _ => 0,
        }
    }

    /// The id of a value from the history.
    fn intern(&mut self, v: &Value) -> u32 {
        match v {
            Value::Null => 0,
            // An integer's key is the integer: a key match is a value match.
            Value::Int(n) => self.find_or_add(ValueKey::Int(*n), || Stored::Int(*n), |_, _| true),
            Value::Str(s) => {
                let hash = s.bytes().fold(0, |h, b| add_mod(mul_mod(h, HASH_BASE), u64::from(b) + 1));
                let key = ValueKey::Str { len: s.len() as u64, hash };
                let count = self.stored.len();
                let id = self.find_or_add(
                    key,
                    || Stored::Literal(s.clone()),
                    |values, id| match &values.stored[id as usize] {
                        Stored::Literal(l) => l == s,
                        _ => values.value(id) == *v,
                    },
                );
                if self.stored.len() > count {
                    let power = (0..s.len()).fold(1, |p, _| mul_mod(p, HASH_BASE));
                    self.powers.insert(id, power);
                }
                id
            }
        }
    }

    /// The id of the value with this key that `equal` accepts, or a new id
    /// for the value `stored` makes.
    fn find_or_add(
        &mut self,
        key: ValueKey,
        stored: impl FnOnce() -> Stored,
        equal: impl Fn(&Values, u32) -> bool,
    ) -> u32 {
        let first = self.by_key.get(&key).copied().unwrap_or(NIL);
        let mut id = first;
        while id != NIL {
            if equal(self, id) {
                return id;
            }
            id = self.same_key[id as usize];
        }
        let id = u32::try_from(self.stored.len()).ok().filter(|&id| id != NIL).expect("fewer than 2^32 values per key");
        self.stored.push(stored());
        self.keys.push(key);
        self.same_key.push(first);
        self.by_key.insert(key, id);
        id
    }

    /// The value of an id (strings built by appends are materialised).
    fn value(&self, id: u32) -> Value {
        match &self.stored[id as usize] {
            Stored::Null => Value::Null,
            Stored::Int(n) => Value::Int(*n),
            Stored::Literal(s) => Value::Str(s.clone()),
            Stored::Concat { .. } => {
                let mut parts = Vec::new();
                let mut at = id;
                while let Stored::Concat { base, arg } = self.stored[at as usize] {
                    parts.push(arg);
                    at = base;
                }
                let mut s = match &self.stored[at as usize] {
                    Stored::Literal(s) => s.clone(),
                    _ => String::new(),
                };
                for &arg in parts.iter().rev() {
                    if let Stored::Literal(a) = &self.stored[arg as usize] {
                        s.push_str(a);
                    }
                }
                Value::Str(s)
            }
        }
    }

    /// Applies a step to a state; `None` when the model refuses it.
    fn apply(&mut self, state: u32, step: Step) -> Option<u32> {
        match step {
            Step::Read(v) => (state == v).then_some(state),
            Step::Write(v) => Some(v),
            Step::Cas { old, new } => (state == old).then_some(new),
            Step::Append(arg) => {
                let memo_key = u64::from(state) << 32 | u64::from(arg);
                if let Some(&next) = self.appends.get(&memo_key) {
                    return next;
                }
                let next = self.append(state, arg);
                self.appends.insert(memo_key, next);
                next
            }
        }
    }

    fn append(&mut self, state: u32, arg: u32) -> Option<u32> {
        if state == 0 {
            return Some(arg);
        }
        let (ValueKey::Str { len, hash }, ValueKey::Str { len: arg_len, hash: arg_hash }) =
            (self.keys[state as usize], self.keys[arg as usize])
        else {
            return None;
        };
        let key = ValueKey::Str { len: len + arg_len, hash: add_mod(mul_mod(hash, self.powers[&arg]), arg_hash) };
        let id = self.find_or_add(
            key,
            || Stored::Concat { base: state, arg },
            |values, id| {
                let Value::Str(joined) = values.value(state) else { unreachable!("a string key belongs to a string") };
                let Value::Str(a) = values.value(arg) else { unreachable!("append arguments are strings") };
                let Value::Str(other) = values.value(id) else { unreachable!("a string key belongs to a string") };
                other.len() == joined.len() + a.len() && other.starts_with(&joined) && other.ends_with(&a)
            },
        );
        Some(id)
    }
}

/// A hasher for integer keys: one round of splitmix64 on the integer.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = mix(self.0 ^ u64::from(b));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = mix(self.0 ^ u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = mix(self.0 ^ n);
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = mix(self.0 ^ n as u64);
    }
}

fn mix(mut x: u64) -> u64 {
    // splitmix64's finaliser: a fixed, well-spread hash of an integer.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The memo: the set of configurations explored in full, as an
/// open-addressing table of (hash, state, entry) slots over a list of entries.
///
/// A configuration is (set of linearized ops, state). Every op before the
/// frontier is linearized, so the set is stored as the frontier and the few
/// linearized ops beyond it (at most one per client with an op in flight
/// there, plus linearized open ops): an entry costs a few words whatever the
/// history's length, where a bitset of all ops would cost one bit per op.
struct Memo {
    slots: Vec<MemoSlot>,
    /// Per entry: (frontier, start of its `ahead` list in the arena, length).
    entries: Vec<[u32; 3]>,
    /// The `ahead` lists of all entries, end to end.
    arena: Vec<u32>,
}

#[derive(Clone, Copy)]
struct MemoSlot {
    hash: u64,
    state: u32,
    /// Index into `entries`; `NIL` = an empty slot.
    entry: u32,
}

const EMPTY_SLOT: MemoSlot = MemoSlot { hash: 0, state: 0, entry: NIL };

impl Memo {
    fn new() -> Memo {
        Memo { slots: vec![EMPTY_SLOT; 16], entries: Vec::new(), arena: Vec::new() }
    }

    /// Where the configuration is in the table: `Ok(slot)` if there,
    /// `Err(slot)` with the empty slot it would go in if not.
    fn find(&self, hash: u64, state: u32, frontier: u32, ahead: &[u32]) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot.entry == NIL {
                return Err(i);
            }
            if slot.hash == hash && slot.state == state {
                let [f, at, count] = self.entries[slot.entry as usize];
                if f == frontier && self.arena[at as usize..(at + count) as usize] == *ahead {
                    return Ok(i);
                }
            }
            i = (i + 1) & mask;
        }
    }

    fn contains(&self, hash: u64, state: u32, frontier: u32, ahead: &[u32]) -> bool {
        self.find(hash, state, frontier, ahead).is_ok()
    }

    /// Adds the configuration (if it is not there yet).
    fn insert(&mut self, hash: u64, state: u32, frontier: u32, ahead: &[u32]) {
        let Err(i) = self.find(hash, state, frontier, ahead) else { return };
        let entry = u32::try_from(self.entries.len()).ok().filter(|&e| e != NIL).expect("fewer than 2^32 memo entries");
        let at = u32::try_from(self.arena.len()).expect("fewer than 2^32 words of memo");
        self.arena.extend_from_slice(ahead);
        self.entries.push([frontier, at, ahead.len() as u32]);
        self.slots[i] = MemoSlot { hash, state, entry };
        if self.entries.len() * 2 > self.slots.len() {
            self.grow();
        }
    }

    fn grow(&mut self) {
        let capacity = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![EMPTY_SLOT; capacity]);
        let mask = capacity - 1;
        for slot in old.into_iter().filter(|s| s.entry != NIL) {
            let mut i = slot.hash as usize & mask;
            while self.slots[i].entry != NIL {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }
}

const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Running,
    Linearizable,
    Violated,
}

/// One linearized op on the search stack, with what linearizing it changed.
#[derive(Clone, Copy)]
struct Frame {
    /// The op's call entry.
    call: u32,
    /// The local op.
    op: u32,
    /// The state and the frontier before it.
    state: u32,
    frontier: u32,
    /// A read of the current state, taken as the node's only choice.
    forced: bool,
}

/// One key's WGL search, resumable: [`Search::run`] does a bounded number of
/// steps and can be called again.
///
/// Local ops are numbered in *return order*: ops that completed ok (which
/// must be linearized) by their completion position, then open ops (which
/// may be) by invoke position. The first entry that is a return in the list
/// is then always the return of the lowest-numbered unlinearized op, the
/// *frontier*: every op below it is linearized, and the search succeeds when
/// the frontier passes the last must op.
struct Search {
    key: Option<String>,
    /// History op index of each local op.
    ops: Vec<usize>,
    steps: Vec<Step>,
    /// Ops `0..must_count` completed ok; the rest are open.
    must_count: u32,
    values: Values,
    /// True when the key has appends (values can grow).
    appends: bool,
    /// Per op: the value it needs to find the key holding (an ok read's
    /// value, an ok cas's old value), or `NIL`.
    needs: Vec<u32>,
    /// Per op: the needed values it can produce (its written value, or with
    /// appends every needed value that value is a prefix of), as ranges
    /// `feeds_at[op]..feeds_at[op + 1]` of `feeds`.
    feeds_at: Vec<u32>,
    feeds: Vec<u32>,
    /// Per history value: unlinearized must ops that need it, and
    /// unlinearized ops that can produce it.
    need: Vec<u32>,
    source: Vec<u32>,
    /// The values needed that nothing left can produce, by (length, id);
    /// `orphan` is membership per value.
    orphans: BTreeSet<(u64, u32)>,
    orphan: Vec<bool>,
    /// Linked list over entries in real-time order; entry 0 is the head
    /// sentinel. Open ops have a call entry only (their return is at
    /// +infinity, which the search never reaches).
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Local op of each entry.
    entry_op: Vec<u32>,
    /// Per op: its return entry (`NIL` for an open op).
    ret_entry: Vec<u32>,
    /// The current configuration: state, frontier, the linearized ops above
    /// the frontier (in descending order), and the Zobrist hash of the set
    /// of linearized ops.
    state: u32,
    frontier: u32,
    ahead: Vec<u32>,
    hash: u64,
    /// Per-op random keys of that hash.
    op_hash: Vec<u64>,
    memo: Memo,
    stack: Vec<Frame>,
    cursor: u32,
    /// The longest partial linearization seen (local ops, in order); its
    /// first `longest_shared` ops are the stack's too.
    longest: Vec<u32>,
    longest_shared: usize,
    status: Status,
    /// Set when [`Search::forced_order`] found the key not linearizable
    /// before any search.
    forced: Option<Forced>,
}

/// A violation real time alone proves (see [`Search::forced_order`]).
#[derive(Clone, Copy, Debug)]
struct Forced {
    /// The must op that needs a value it can never find.
    needer: u32,
    /// The last op to write that value (`None`: the value is the initial
    /// absent one).
    writer: Option<u32>,
    /// An op that writes another value, invoked after `writer` completed and
    /// completed before `needer` was invoked.
    overwriter: u32,
}

impl Search {
    /// The search of the ops `by_invoke` (indices into `history.ops()`, in
    /// invoke order) of one key.
    fn new(history: &History, key: Option<String>, by_invoke: Vec<usize>) -> Search {
        let all = history.ops();
        // Local op numbers: `rank[p]` for the op at `by_invoke[p]`.
        // Ok ops by completion, then the others by invoke: each op's key
        // is computed once (the top bit says which group) and the pairs
        // sort as plain integers (the keys are distinct, so no ties).
        let mut keyed: Vec<(u64, u32)> = by_invoke
            .iter()
            .enumerate()
            .map(|(p, &i)| {
                let op = &all[i];
                let key = match op.outcome {
                    Outcome::Ok(_) => op.complete_index.expect("an ok op completed") as u64,
                    _ => 1 << 63 | op.invoke_index as u64,
                };
                (key, p as u32)
            })
            .collect();
        keyed.sort_unstable();
        let order: Vec<u32> = keyed.into_iter().map(|(_, p)| p).collect();
        let ops: Vec<usize> = order.iter().map(|&p| by_invoke[p as usize]).collect();
        let mut rank = vec![0u32; ops.len()];
        for (local, &p) in order.iter().enumerate() {
            rank[p as usize] = local as u32;
        }
        let must_count = ops.iter().filter(|&&i| matches!(all[i].outcome, Outcome::Ok(_))).count();
        let must_count = u32::try_from(must_count).ok().filter(|&n| n != NIL).expect("fewer than 2^32 ops per key");
        let mut values = Values::new();
        let steps: Vec<Step> = ops
            .iter()
            .map(|&i| match (&all[i].call, &all[i].outcome) {
                (Call::Read, Outcome::Ok(v)) => Step::Read(values.intern(v)),
                (Call::Read, _) => unreachable!("open and failed reads are not searched"),
                (Call::Write(v), _) => Step::Write(values.intern(v)),
                (Call::Cas(old, new), _) => Step::Cas { old: values.intern(old), new: values.intern(new) },
                (Call::Append(s), _) => Step::Append(values.intern(&Value::Str(s.clone()))),
            })
            .collect();
        let appends = steps.iter().any(|s| matches!(s, Step::Append(_)));
        let needs: Vec<u32> = (0..steps.len())
            .map(|op| match steps[op] {
                _ if op as u32 >= must_count => NIL,
                Step::Read(v) | Step::Cas { old: v, .. } => v,
                Step::Write(_) | Step::Append(_) => NIL,
            })
            .collect();
        let value_count = values.stored.len();
        let mut need = vec![0u32; value_count];
        for &v in needs.iter().filter(|&&v| v != NIL) {
            if need[v as usize] == 0 && appends {
                values.index_prefixes(v);
            }
            need[v as usize] += 1;
        }
        let produced = if appends { producers(&values, &need, &steps) } else { HashMap::new() };
        let mut feeds_at = Vec::with_capacity(steps.len() + 1);
        let mut feeds = Vec::new();
        for step in &steps {
            feeds_at.push(feeds.len() as u32);
            if let Step::Write(w) | Step::Cas { new: w, .. } = *step {
                if appends {
                    feeds.extend_from_slice(produced.get(&w).map_or(&[][..], Vec::as_slice));
                } else if need[w as usize] > 0 {
                    feeds.push(w);
                }
            }
        }
        feeds_at.push(u32::try_from(feeds.len()).expect("fewer than 2^32 (op, value) pairs"));
        let mut source = vec![0u32; value_count];
        for &v in &feeds {
            source[v as usize] += 1;
        }
        // Entries in real-time order: every op's call, and the return of
        // every op that completed ok. Calls come in invoke order and returns
        // in local order, so a merge puts them in order.
        let n = ops.len() + must_count as usize + 1;
        let mut entry_op = Vec::with_capacity(n);
        entry_op.push(NIL);
        let mut ret_entry = vec![NIL; ops.len()];
        let (mut call, mut ret) = (0usize, 0u32);
        while entry_op.len() < n {
            let call_at = by_invoke.get(call).map_or(usize::MAX, |&i| all[i].invoke_index);
            let ret_at = if ret < must_count { all[ops[ret as usize]].complete_index.unwrap_or(0) } else { usize::MAX };
            if call_at < ret_at {
                entry_op.push(rank[call]);
                call += 1;
            } else {
                ret_entry[ret as usize] = entry_op.len() as u32;
                entry_op.push(ret);
                ret += 1;
            }
        }
        let next: Vec<u32> = (0..n as u32).map(|e| if e + 1 < n as u32 { e + 1 } else { NIL }).collect();
        let prev: Vec<u32> = (0..n as u32).map(|e| if e == 0 { NIL } else { e - 1 }).collect();
        let mut search = Search {
            key,
            op_hash: (0..ops.len() as u64).map(|i| mix(i ^ 0x5EED)).collect(),
            ops,
            steps,
            must_count,
            values,
            appends,
            needs,
            feeds_at,
            feeds,
            need,
            source,
            orphans: BTreeSet::new(),
            orphan: vec![false; value_count],
            next,
            prev,
            entry_op,
            ret_entry,
            state: 0,
            frontier: 0,
            ahead: Vec::new(),
            hash: 0,
            memo: Memo::new(),
            stack: Vec::new(),
            cursor: NIL,
            longest: Vec::new(),
            longest_shared: 0,
            status: Status::Running,
            forced: None,
        };
        for v in 0..value_count as u32 {
            search.refresh(v);
        }
        search.cursor = search.matching_read().unwrap_or(search.next[HEAD as usize]);
        if !appends {
            search.forced = search.forced_order(all);
            if search.forced.is_some() {
                search.status = Status::Violated;
            }
        }
        search
    }

    /// A pre-pass for keys without appends, O(n log n), that catches the
    /// commonest violation (a stale read) without searching, however many
    /// clients are in flight: a must op that needs value v (a read of v, a
    /// cas from v) cannot be linearized when the last op to write v (or, for
    /// the absent value, the start) completed before some op writing another
    /// value was invoked, and that op completed before the needer was
    /// invoked. Real time then orders every writer of v before an overwrite
    /// before the needer, so the key never holds v when the needer runs.
    /// (The last writer suffices: the earliest overwrite after a time only
    /// gets later as the time does.) Returns the first such needer by
    /// completion.
    fn forced_order(&self, all: &[Op]) -> Option<Forced> {
        let op = |l: u32| &all[self.ops[l as usize]];
        let done = |l: u32| op(l).complete_index.expect("a must op completed");
        let written = |l: u32| match self.steps[l as usize] {
            Step::Write(w) | Step::Cas { new: w, .. } => Some(w),
            Step::Read(_) | Step::Append(_) => None,
        };
        // The must ops that set the state, by invoke; for each suffix of them
        // the one completing first, and the one completing first among those
        // writing another value than it.
        let mut setters: Vec<u32> = (0..self.must_count).filter(|&l| written(l).is_some()).collect();
        setters.sort_unstable_by_key(|&l| op(l).invoke_index);
        let mut best = vec![[NIL, NIL]; setters.len() + 1];
        let sooner = |a: u32, b: u32| b == NIL || done(a) < done(b);
        for i in (0..setters.len()).rev() {
            let ([mut first, mut second], c) = (best[i + 1], setters[i]);
            if first != NIL && written(c) == written(first) {
                if sooner(c, first) {
                    first = c;
                }
            } else if sooner(c, first) {
                (first, second) = (c, first);
            } else if sooner(c, second) {
                second = c;
            }
            best[i] = [first, second];
        }
        // The last completion of an op writing each value (open: never), and
        // that op; the absent value is written at the start, by no op.
        let mut last: Vec<Option<(usize, u32)>> = vec![None; self.need.len()];
        last[0] = Some((0, NIL));
        for l in 0..self.ops.len() as u32 {
            if let Some(w) = written(l).filter(|&w| (w as usize) < last.len()) {
                let at = if l < self.must_count { done(l) } else { usize::MAX };
                if last[w as usize].is_none_or(|(t, _)| at >= t) {
                    last[w as usize] = Some((at, l));
                }
            }
        }
        for needer in 0..self.must_count {
            let v = self.needs[needer as usize];
            let Some((t, writer)) = (if v == NIL { None } else { last[v as usize] }) else { continue };
            if t == usize::MAX {
                continue;
            }
            let [first, second] = best[setters.partition_point(|&l| op(l).invoke_index <= t)];
            let overwriter = if first != NIL && written(first) != Some(v) { first } else { second };
            if overwriter != NIL && done(overwriter) < op(needer).invoke_index {
                return Some(Forced { needer, writer: (writer != NIL).then_some(writer), overwriter });
            }
        }
        None
    }

    /// Removes a call entry and its return entry (if any) from the list.
    fn lift(&mut self, call: u32) {
        let ret = self.ret_entry[self.entry_op[call as usize] as usize];
        for e in [call, ret] {
            if e == NIL {
                continue;
            }
            let (p, n) = (self.prev[e as usize], self.next[e as usize]);
            self.next[p as usize] = n;
            if n != NIL {
                self.prev[n as usize] = p;
            }
        }
    }

    /// Puts back what [`Search::lift`] removed (in reverse order).
    fn unlift(&mut self, call: u32) {
        let ret = self.ret_entry[self.entry_op[call as usize] as usize];
        for e in [ret, call] {
            if e == NIL {
                continue;
            }
            let (p, n) = (self.prev[e as usize], self.next[e as usize]);
            self.next[p as usize] = e;
            if n != NIL {
                self.prev[n as usize] = e;
            }
        }
    }

    /// Adds `op` to the linearized set: the hash, and the frontier (which
    /// moves past it and past the ops above it already linearized) or the
    /// ops ahead of it.
    fn advance(&mut self, op: u32) {
        self.hash ^= self.op_hash[op as usize];
        if op == self.frontier {
            self.frontier += 1;
            while self.ahead.last() == Some(&self.frontier) {
                self.ahead.pop();
                self.frontier += 1;
            }
        } else {
            let at = self.ahead.partition_point(|&a| a > op);
            self.ahead.insert(at, op);
        }
    }

    /// Undoes [`Search::advance`] of `op`, made when the frontier was `frontier`.
    fn retreat(&mut self, op: u32, frontier: u32) {
        self.hash ^= self.op_hash[op as usize];
        if op == frontier {
            for a in (frontier + 1..self.frontier).rev() {
                self.ahead.push(a);
            }
            self.frontier = frontier;
        } else {
            let at = self.ahead.partition_point(|&a| a > op);
            assert_eq!(self.ahead[at], op, "a linearized op above the frontier is in `ahead`");
            self.ahead.remove(at);
        }
    }

    /// Brings the orphan set up to date for value `v`.
    fn refresh(&mut self, v: u32) {
        let orphan = self.need[v as usize] > 0 && self.source[v as usize] == 0;
        if orphan != self.orphan[v as usize] {
            self.orphan[v as usize] = orphan;
            let key = (self.values.len(v), v);
            if orphan {
                self.orphans.insert(key);
            } else {
                self.orphans.remove(&key);
            }
        }
    }

    /// Updates the need and source counts for `op` being linearized
    /// (`taken`) or put back.
    fn count(&mut self, op: u32, taken: bool) {
        let v = self.needs[op as usize];
        if v != NIL {
            let n = &mut self.need[v as usize];
            *n = if taken { *n - 1 } else { *n + 1 };
            self.refresh(v);
        }
        for i in self.feeds_at[op as usize]..self.feeds_at[op as usize + 1] {
            let v = self.feeds[i as usize];
            let n = &mut self.source[v as usize];
            *n = if taken { *n - 1 } else { *n + 1 };
            self.refresh(v);
        }
    }

    /// True when some must op not yet linearized needs a value that neither
    /// the current state (by appends, if the key has any) nor any op left
    /// can produce, so no linearization goes on from here. Looks at the
    /// shortest and the longest such value only (enough for keys without
    /// appends, where any orphan but the current state is fatal; with
    /// appends it may miss a dead end, never invent one).
    fn dead(&self) -> bool {
        let cannot = |&(_, v): &(u64, u32)| !self.values.reaches(self.state, v, self.appends);
        self.orphans.first().is_some_and(cannot) || self.orphans.last().is_some_and(cannot)
    }

    /// Linearizes the op of call entry `call` into `state`, unless the
    /// resulting configuration was seen before (then false, nothing changed).
    fn enter(&mut self, call: u32, state: u32, forced: bool) -> bool {
        let op = self.entry_op[call as usize];
        let frame = Frame { call, op, state: self.state, frontier: self.frontier, forced };
        self.advance(op);
        if self.memo.contains(self.hash ^ mix(u64::from(state)), state, self.frontier, &self.ahead) {
            self.retreat(op, frame.frontier);
            return false;
        }
        self.state = state;
        self.count(op, true);
        self.lift(call);
        self.stack.push(frame);
        let depth = self.stack.len();
        if depth > self.longest.len() {
            // Amortised O(1): the shared prefix only shrinks one op per pop.
            self.longest.truncate(self.longest_shared);
            for f in &self.stack[self.longest_shared..] {
                self.longest.push(f.op);
            }
            self.longest_shared = depth;
        } else if self.longest_shared == depth - 1 && self.longest[depth - 1] == op {
            self.longest_shared = depth;
        }
        true
    }

    /// The first call in the window (the calls before the first return) that
    /// reads the current state, if any.
    fn matching_read(&self) -> Option<u32> {
        let mut e = self.next[HEAD as usize];
        while e != NIL {
            let op = self.entry_op[e as usize];
            if self.ret_entry[op as usize] == e {
                break;
            }
            if let Step::Read(v) = self.steps[op as usize] {
                if v == self.state {
                    return Some(e);
                }
            }
            e = self.next[e as usize];
        }
        None
    }

    /// Undoes the last linearized op and moves the cursor to the call after
    /// it. A forced read's node has no other choice to try, so undoing one
    /// undoes the op before it too. False when nothing is left to undo.
    fn backtrack(&mut self) -> bool {
        while let Some(frame) = self.stack.pop() {
            // Every way on from this configuration has been tried: remember it.
            self.memo.insert(self.hash ^ mix(u64::from(self.state)), self.state, self.frontier, &self.ahead);
            self.longest_shared = self.longest_shared.min(self.stack.len());
            self.unlift(frame.call);
            self.count(frame.op, false);
            self.retreat(frame.op, frame.frontier);
            self.state = frame.state;
            if !frame.forced {
                self.cursor = self.next[frame.call as usize];
                return true;
            }
        }
        false
    }

    /// Runs up to `budget` steps of the search; returns the status and the
    /// steps taken.
    fn run(&mut self, budget: u64) -> (Status, u64) {
        if self.forced.is_some() {
            // The pre-pass decided: reading its verdict is the one step.
            return (Status::Violated, 1);
        }
        let mut steps = 0;
        while steps < budget && self.status == Status::Running {
            steps += 1;
            if self.frontier >= self.must_count {
                self.status = Status::Linearizable;
                break;
            }
            let e = self.cursor;
            assert!(e != NIL, "the frontier op's return ends every window");
            let op = self.entry_op[e as usize];
            if self.ret_entry[op as usize] == e {
                // A return: this op's deadline passed unlinearized.
                if !self.backtrack() {
                    self.status = Status::Violated;
                }
                continue;
            }
            // A call: try to linearize it here.
            let step = self.steps[op as usize];
            let is_read = matches!(step, Step::Read(_));
            let Some(next_state) = self.values.apply(self.state, step) else {
                self.cursor = self.next[e as usize];
                continue;
            };
            if !self.enter(e, next_state, is_read) {
                if is_read {
                    // The forced read leads to a known dead end: so does this node.
                    if !self.backtrack() {
                        self.status = Status::Violated;
                    }
                } else {
                    self.cursor = self.next[e as usize];
                }
                continue;
            }
            if !is_read && self.dead() {
                if !self.backtrack() {
                    self.status = Status::Violated;
                }
                continue;
            }
            self.cursor = self.matching_read().unwrap_or(self.next[HEAD as usize]);
        }
        (self.status, steps)
    }

    /// Explains a failed search from its longest partial linearization.
    fn violation(&mut self, history: &History, model: Model) -> Violation {
        let all = history.ops();
        let op_ref = |local: u32| {
            let index = self.ops[local as usize];
            OpRef { index, text: all[index].describe() }
        };
        if let Some(Forced { needer, writer, overwriter }) = self.forced {
            let value = |l: u32| match self.steps[l as usize] {
                Step::Write(w) | Step::Cas { new: w, .. } => self.values.value(w),
                _ => unreachable!("writers and overwriters write"),
            };
            let chain = writer.into_iter().chain([overwriter]);
            let linearization: Vec<LinearizedStep> =
                chain.map(|l| LinearizedStep { op: op_ref(l), state: value(l) }).collect();
            let reason = refusal(&all[self.ops[needer as usize]], &value(overwriter));
            let at = |l: u32| &all[self.ops[l as usize]];
            let culprit = forced_culprit(at(needer), writer.map(at), at(overwriter));
            return Violation {
                model,
                key: self.key.clone(),
                first_unlinearizable: op_ref(needer),
                last_linearized: Some(op_ref(overwriter)),
                linearization_len: linearization.len(),
                linearization,
                attempts: vec![Attempt { op: op_ref(needer), reason }],
                forced_order: true,
                culprit,
            };
        }
        let longest = std::mem::take(&mut self.longest);
        let mut state = 0;
        let kept_from = longest.len().saturating_sub(Violation::STEPS_KEPT_MAX);
        let mut linearization = Vec::with_capacity(longest.len() - kept_from);
        let mut done = vec![false; self.ops.len()];
        for (i, &local) in longest.iter().enumerate() {
            state = self.values.apply(state, self.steps[local as usize]).expect("the longest linearization replays");
            done[local as usize] = true;
            if i >= kept_from {
                linearization.push(LinearizedStep { op: op_ref(local), state: self.values.value(state) });
            }
        }
        // The op that blocks: the unlinearized ok op that completes first.
        let blocking = (0..self.must_count).find(|&l| !done[l as usize]).expect("a failed search leaves an ok op");
        let deadline = all[self.ops[blocking as usize]].complete_index;
        // Needs and sources after the longest linearization.
        let mut need = vec![0u32; self.need.len()];
        let mut source = vec![0u32; self.source.len()];
        let mut needers: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut local_ops: Vec<u32> = (0..self.ops.len() as u32).filter(|&l| !done[l as usize]).collect();
        local_ops.sort_unstable_by_key(|&l| self.ops[l as usize]);
        for &l in &local_ops {
            let v = self.needs[l as usize];
            if v != NIL {
                need[v as usize] += 1;
                needers.entry(v).or_default().push(l);
            }
            for i in self.feeds_at[l as usize]..self.feeds_at[l as usize + 1] {
                source[self.feeds[i as usize] as usize] += 1;
            }
        }
        let orphans: Vec<u32> =
            (0..need.len() as u32).filter(|&v| need[v as usize] > 0 && source[v as usize] == 0).collect();
        let mut attempts = Vec::new();
        for &l in &local_ops {
            let op = &all[self.ops[l as usize]];
            if Some(op.invoke_index) > deadline {
                continue;
            }
            let reason = match self.values.apply(state, self.steps[l as usize]) {
                None => refusal(op, &self.values.value(state)),
                Some(s) => {
                    let then = short(&self.values.value(s));
                    // The values needed that nothing can produce once `l` is linearized too.
                    let fed = &self.feeds[self.feeds_at[l as usize] as usize..self.feeds_at[l as usize + 1] as usize];
                    let needed = |v: u32| need[v as usize] > u32::from(self.needs[l as usize] == v);
                    let fed_by_l = |v: u32| fed.iter().filter(|&&f| f == v).count() as u32;
                    let stranded = orphans
                        .iter()
                        .copied()
                        .chain(fed.iter().copied().filter(|&v| source[v as usize] == fed_by_l(v)))
                        .find(|&v| needed(v) && !self.values.reaches(s, v, self.appends));
                    match stranded {
                        Some(v) => {
                            let needer = needers[&v].iter().find(|&&r| r != l).expect("a needed value has a needer");
                            format!(
                                "accepted (the value becomes {then}), but then nothing left can produce the \
                                 value {} that {} needs",
                                short(&self.values.value(v)),
                                all[self.ops[*needer as usize]].describe()
                            )
                        }
                        None => {
                            format!("accepted (the value becomes {then}), but no linearization continues from there")
                        }
                    }
                }
            };
            attempts.push(Attempt { op: op_ref(l), reason });
        }
        let blocked = &all[self.ops[blocking as usize]];
        let why = attempts.iter().find(|a| a.op.index == self.ops[blocking as usize]).map(|a| a.reason.as_str());
        let last = longest.last().map(|&l| &all[self.ops[l as usize]]);
        let culprit = search_culprit(blocked, why, last, longest.len(), &self.values.value(state), model);
        Violation {
            model,
            key: self.key.clone(),
            first_unlinearizable: op_ref(blocking),
            last_linearized: longest.last().map(|&l| op_ref(l)),
            linearization_len: longest.len(),
            linearization,
            attempts,
            forced_order: false,
            culprit,
        }
    }
}

/// For a key with appends, for each value written (by a write or a cas) the
/// needed values it can produce: every needed value it is a prefix of.
fn producers(values: &Values, need: &[u32], steps: &[Step]) -> HashMap<u32, Vec<u32>> {
    let mut written: Vec<u32> = steps
        .iter()
        .filter_map(|s| match *s {
            Step::Write(w) | Step::Cas { new: w, .. } => Some(w),
            _ => None,
        })
        .collect();
    written.sort_unstable();
    written.dedup();
    let mut produced: HashMap<u32, Vec<u32>> = HashMap::new();
    // A string reaches a longer one iff it is a prefix: look each written
    // string up among the prefixes of each needed string, by length.
    let mut by_key: HashMap<ValueKey, Vec<u32>> = HashMap::new();
    let mut lengths = BTreeSet::new();
    for &w in &written {
        by_key.entry(values.keys[w as usize]).or_default().push(w);
        if let ValueKey::Str { len, .. } = values.keys[w as usize] {
            lengths.insert(len);
        }
    }
    for v in (0..need.len() as u32).filter(|&v| need[v as usize] > 0) {
        match values.keys[v as usize] {
            ValueKey::Null => {}
            ValueKey::Int(_) => {
                if by_key.contains_key(&values.keys[v as usize]) {
                    produced.entry(v).or_default().push(v);
                }
            }
            ValueKey::Str { len, .. } => {
                let prefixes = &values.prefixes[&v];
                for &l in lengths.range(..=len) {
                    let key = ValueKey::Str { len: l, hash: prefixes[l as usize] };
                    for &w in by_key.get(&key).map_or(&[][..], Vec::as_slice) {
                        produced.entry(w).or_default().push(v);
                    }
                }
            }
        }
    }
    produced
}

/// Why the model refuses `op` when the key holds `state`.
/// What an op changes, as a noun phrase: `write of 7`, `cas from 3 to 4`,
/// `append of "x"`.
fn action(op: &Op) -> String {
    match &op.call {
        Call::Write(v) => format!("write of {}", short(v)),
        Call::Cas(old, new) => format!("cas from {} to {}", short(old), short(new)),
        Call::Append(a) => format!("append of {}", short(&Value::Str(a.clone()))),
        Call::Read => match &op.outcome {
            Outcome::Ok(v) => format!("read of {}", short(v)),
            _ => "read".to_string(),
        },
    }
}

/// Where an op happened: `invoked 9.480 s, answered by n4`, or for a
/// history without times `invoked at @12`.
fn served(op: &Op, digits: usize) -> String {
    let invoked = match op.meta.invoke_ns {
        Some(t) => format!("invoked {}", seconds(t, digits)),
        None => format!("invoked at @{}", op.invoke_index),
    };
    match op.meta.node {
        Some(n) => format!("{invoked}, answered by n{n}"),
        None => invoked,
    }
}

/// When an op completed (`9.453 s`, or `@15`) and when it was invoked.
fn completed_at(op: &Op, digits: usize) -> String {
    match (op.meta.complete_ns, op.complete_index) {
        (Some(t), _) => seconds(t, digits),
        (None, Some(c)) => format!("@{c}"),
        (None, None) => "never".to_string(),
    }
}

fn invoked_at(op: &Op, digits: usize) -> String {
    op.meta.invoke_ns.map_or(format!("@{}", op.invoke_index), |t| seconds(t, digits))
}

/// Decimals enough that times which real time orders print differently
/// (`pairs` of (earlier, later) ns).
fn digits_for(pairs: &[(Option<u64>, Option<u64>)]) -> usize {
    let mut digits = 3;
    while digits < 9
        && pairs
            .iter()
            .any(|&(a, b)| matches!((a, b), (Some(a), Some(b)) if a != b && seconds(a, digits) == seconds(b, digits)))
    {
        digits += 3;
    }
    digits
}

/// The sentence for a violation real time alone proves: `needer` needs the
/// value `writer` wrote (or the initial absent one), but `overwriter`
/// replaced it, entirely after `writer` and entirely before `needer`.
fn forced_culprit(needer: &Op, writer: Option<&Op>, overwriter: &Op) -> String {
    let digits = digits_for(&[
        (overwriter.meta.complete_ns, needer.meta.invoke_ns),
        (writer.and_then(|w| w.meta.complete_ns), overwriter.meta.invoke_ns),
    ]);
    let what = match needer.call {
        Call::Cas(..) => "the cas compared against a value that was already overwritten",
        _ => "the read returned a value that was already overwritten",
    };
    let before = match writer {
        Some(w) => format!(
            ", and it began ({}) after p{}'s {} had completed ({})",
            invoked_at(overwriter, digits),
            w.process,
            action(w),
            completed_at(w, digits)
        ),
        None => " (every key starts absent)".to_string(),
    };
    format!(
        "{} ({}), but p{}'s {} had completed at {}{before}: {what}.",
        needer.what(),
        served(needer, digits),
        overwriter.process,
        action(overwriter),
        completed_at(overwriter, digits)
    )
}

/// The culprit of a failure, found in a (small) history: the op to blame,
/// by position in [`History::ops`], and the sentence that says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Culprit {
    /// The op whose result cannot be (a stale read, a value come back).
    pub index: usize,
    /// The failure in words, naming the ops, their times and servers.
    pub sentence: String,
}

/// Most ops [`culprit`] looks through for a pattern (a witness is far smaller).
const CULPRIT_OPS_MAX: usize = 400;

/// Who to blame for `violation` of `history` (meant for a shrunk witness):
/// an op that needs a value (a read's result, a cas's expected value) that
/// real time proves gone, in one of two shapes the clients can see:
/// - every write of the value completed before another op replaced it,
///   and that op completed before the reader began (a stale read);
/// - the value's one write was seen by an earlier read, then replaced, and
///   is read again later (a write applied twice);
/// - only ops that failed write the value, or none does (a client told its
///   op failed, yet its value is read).
///
/// The search's op that cannot be placed is often a bystander (a cas that
/// would strand the stale read); these shapes name the op that is wrong.
/// Neither found: the violation's own sentence.
pub fn culprit(history: &History, violation: &Violation) -> Culprit {
    let fallback = Culprit { index: violation.first_unlinearizable.index, sentence: violation.culprit.clone() };
    let ops = history.ops();
    let on_key: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].key == violation.key).collect();
    if on_key.len() > CULPRIT_OPS_MAX {
        return fallback;
    }
    let took_effect = |op: &Op| matches!(op.outcome, Outcome::Ok(_));
    let done = |op: &Op| op.complete_index.unwrap_or(usize::MAX);
    for &r in &on_key {
        let reader = &ops[r];
        let Some((_, value)) = needed(reader) else { continue };
        if !took_effect(reader) {
            continue;
        }
        let all_writers: Vec<&Op> =
            on_key.iter().map(|&i| &ops[i]).filter(|w| writes(w).is_some_and(|(_, v)| v == value)).collect();
        // A failed op did not happen: its value is no one's to read.
        let writers: Vec<&Op> = all_writers.iter().copied().filter(|w| w.outcome != Outcome::Fail).collect();
        if writers.is_empty() {
            return Culprit { index: r, sentence: orphan_culprit(reader, all_writers.first().copied()) };
        }
        // An op that replaced the value and completed before the reader began.
        let replacers = on_key
            .iter()
            .map(|&i| &ops[i])
            .filter(|o| took_effect(o) && writes(o).is_some_and(|(_, v)| v != value) && done(o) < reader.invoke_index);
        for o in replacers {
            if writers.iter().all(|w| done(w) < o.invoke_index) {
                let last = writers.iter().max_by_key(|w| done(w)).copied();
                return Culprit { index: r, sentence: forced_culprit(reader, last, o) };
            }
            if let [w] = writers[..] {
                let seen = on_key.iter().map(|&i| &ops[i]).find(|e| {
                    e.invoke_index != reader.invoke_index
                        && took_effect(e)
                        && needed(e).is_some_and(|(_, v)| v == value)
                        && done(e) < o.invoke_index
                });
                if let Some(e) = seen {
                    return Culprit { index: r, sentence: came_back_culprit(reader, w, e, o) };
                }
            }
        }
    }
    fallback
}

/// The sentence for a value nothing that took effect wrote: written only
/// by `failed` (an op reported as not taking effect), or by nothing.
fn orphan_culprit(reader: &Op, failed: Option<&Op>) -> String {
    let digits = 3;
    match failed {
        Some(w) => format!(
            "{} ({}), but the only op that writes that value, p{}'s {}, was reported as not taking effect \
             (fail at {}): a client was told its op failed, yet its value was read.",
            reader.what(),
            served(reader, digits),
            w.process,
            action(w),
            completed_at(w, digits)
        ),
        None => format!(
            "{} ({}), but no operation writes that value: it came from nowhere.",
            reader.what(),
            served(reader, digits)
        ),
    }
}

/// The sentence for a value come back: `earlier` saw `writer`'s value, then
/// `replacer` replaced it, yet `reader` finds it again.
fn came_back_culprit(reader: &Op, writer: &Op, earlier: &Op, replacer: &Op) -> String {
    let digits = digits_for(&[
        (earlier.meta.complete_ns, replacer.meta.invoke_ns),
        (replacer.meta.complete_ns, reader.meta.invoke_ns),
    ]);
    let saw = match earlier.call {
        Call::Cas(..) => "compared against",
        _ => "read",
    };
    format!(
 "{} ({}), but p{} had already {saw} that value (completed {}) and p{}'s {} replaced it after that (completed {}); its one write, p{}'s {} (invoked {}), can take effect only once: the value came back, as if the write were applied twice.",
        reader.what(),
        served(reader, digits),
        earlier.process,
        completed_at(earlier, digits),
        replacer.process,
        action(replacer),
        completed_at(replacer, digits),
        writer.process,
        action(writer),
        invoked_at(writer, digits)
    )
}

/// The sentence for a violation the search found: the op no order can
/// place, and what the longest order it found leaves.
fn search_culprit(
    blocked: &Op,
    why: Option<&str>,
    last: Option<&Op>,
    len: usize,
    state: &Value,
    model: Model,
) -> String {
    let digits = 3;
    let model_word = match model {
        Model::Register => "a register",
        Model::Kv => "a key-value store",
    };
    let order = match last {
        Some(op) => format!(
            "the longest order found ({len} ops, the last p{}'s {} completed {}) leaves the value {}",
            op.process,
            action(op),
            completed_at(op, digits),
            short(state)
        ),
        None => format!("not one op can go first (the value is {})", short(state)),
    };
    let why = why.map_or(String::new(), |w| format!("; there it is refused: {w}"));
    format!(
        "{} ({}) cannot be placed in any order that respects real time and {model_word}: {order}{why}.",
        blocked.what(),
        served(blocked, digits)
    )
}

fn refusal(op: &Op, state: &Value) -> String {
    let key = op.key.as_ref().map_or(String::new(), |k| format!(" {k}"));
    let have = short(state);
    match (&op.call, &op.outcome) {
        (Call::Read, Outcome::Ok(v)) => {
            format!("read{key} -> {} but the value is {have}", short(v))
        }
        (Call::Cas(old, new), _) => format!("cas{key} [{}, {}] but the value is {have}", short(old), short(new)),
        (Call::Append(s), _) => {
            format!("append{key} {} but the value is {have}, not a string", short(&Value::Str(s.clone())))
        }
        _ => format!("{} refused with the value {have}", op.describe()),
    }
}
