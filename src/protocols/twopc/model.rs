//! The bank model: what a history of `transfer` and `read-balances`
//! operations must look like, and the end-of-run check `bank-history`
//! that holds the clients' history to it.
//!
//! The bank starts with `account_count` accounts holding `initial_balance`
//! each. A transfer adds each of its legs' amounts to its account, and its
//! legs sum to zero, so the total never changes. A read-balances returns
//! every balance at once. The check is a pure function of the history
//! (line order is real-time order; `ok` took effect, `fail` did not, `info`
//! and ops never completed may have taken effect or not), and it checks
//! exactly this:
//!
//! 1. Every transfer is well formed: at least two legs, on distinct
//!    accounts of the bank, summing to zero (a malformed one fails the
//!    check, naming its line).
//! 2. Every read-balances that completed `ok` returned one non-negative
//!    balance per account, summing to the initial total.
//! 3. Every such read R is *explained* by a set of transfers S(R): its
//!    balances are the initial ones plus the legs of exactly the transfers
//!    in S(R), where S(R)
//!    - holds every transfer that completed `ok` before R was invoked,
//!    - holds no transfer that completed `fail`, and none invoked after R completed,
//!    - is closed under real-time order among transfers: if transfer B is in
//!      S(R) and transfer A completed `ok` before B was invoked, A is in S(R).
//!
//!    The search for S(R) branches account by account over the transfers
//!    whose fate at R is open (concurrent with R, or `info`), within a step
//!    budget; past it the verdict is `unknown`.
//! 4. Reads agree with one serial order: for two reads R1 and R2 whose
//!    explanations are each unique, if R1 completed before R2 was invoked
//!    then S(R1) is a subset of S(R2), and in any case one of S(R1), S(R2)
//!    contains the other (the reads see prefixes of one order). Reads with
//!    more than one explanation are checked by 1 to 3 only.
//!
//! Together these say that every read saw a state reached by applying
//! some serial order of the committed transfers, consistent with real time,
//! and reflecting only transfers that could have committed. A transfer
//! told `ok` but lost at one participant, one told `fail` but applied, a
//! lost update, or a torn read all break one of them as soon as a read
//! covers the accounts involved.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use super::workload::TxRecorder;
use super::{Account, Config, Leg, TxOp};
use crate::check::history::{HistoryLine, LineKind};
use crate::check::{Invariant, RunEnd, Verdict};

/// How an operation completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxOutcome {
    /// Took effect; a read-balances carries the balances, in account order.
    Ok(Option<Rc<[i64]>>),
    /// Did not take effect.
    Fail,
    /// Unknown: it may take effect at any time after its invoke, or never.
    Info,
}

/// One operation of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    /// The client process.
    pub process: u64,
    /// The operation.
    pub op: TxOp,
    /// Its invoke's position in real-time order (the history line, 1-based).
    pub invoke_index: usize,
    /// Its completion's position, if it completed.
    pub complete_index: Option<usize>,
    /// Its outcome (`Info` if it never completed).
    pub outcome: TxOutcome,
}

/// The bank a history runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bank {
    /// Accounts `0..account_count`.
    pub account_count: u32,
    /// Every account's starting balance.
    pub initial_balance: i64,
}

impl Bank {
    /// The constant total.
    pub fn total(&self) -> i64 {
        self.initial_balance * i64::from(self.account_count)
    }
}

/// Search steps one check may take by default (per read, at most).
pub const STEPS_MAX: u64 = 1_000_000;

/// Parses a history in the JSON Lines format (only `transfer` and
/// `read-balances`). Errors name the 1-based line.
pub fn parse_jsonl(text: &str) -> Result<Vec<Op>, String> {
    let mut ops: Vec<Op> = Vec::new();
    let mut open: std::collections::BTreeMap<u64, usize> = std::collections::BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let l: HistoryLine<'_> = serde_json::from_str(raw).map_err(|e| format!("line {line}: {e}"))?;
        let f = l.f.as_deref().unwrap_or("");
        let read = match f {
            "transfer" => false,
            "read-balances" => true,
            _ => return Err(format!("line {line}: expected f transfer or read-balances, got {f:?}")),
        };
        match l.kind {
            LineKind::Invoke => {
                if open.contains_key(&l.process) {
                    return Err(format!("line {line}: process {} invokes while an op is in flight", l.process));
                }
                let op = if read { TxOp::ReadBalances } else { TxOp::Transfer(parse_legs(&l.value, line)?) };
                open.insert(l.process, ops.len());
                ops.push(Op {
                    process: l.process,
                    op,
                    invoke_index: line,
                    complete_index: None,
                    outcome: TxOutcome::Info,
                });
            }
            kind => {
                let Some(at) = open.remove(&l.process) else {
                    return Err(format!("line {line}: process {} completes an op it never invoked", l.process));
                };
                let op = &mut ops[at];
                if matches!(op.op, TxOp::ReadBalances) != read {
                    return Err(format!("line {line}: the completion's f differs from its invoke's"));
                }
                op.complete_index = Some(line);
                op.outcome = match kind {
                    LineKind::Ok if read => TxOutcome::Ok(Some(parse_balances(&l.value, line)?.into())),
                    LineKind::Ok => TxOutcome::Ok(None),
                    LineKind::Fail => TxOutcome::Fail,
                    _ => TxOutcome::Info,
                };
            }
        }
    }
    Ok(ops)
}

fn parse_legs(v: &serde_json::Value, line: usize) -> Result<Vec<Leg>, String> {
    let bad = || format!("line {line}: expected a transfer's legs as [[account, amount], ...]");
    let legs = v.as_array().ok_or_else(bad)?;
    legs.iter()
        .map(|leg| match leg.as_array().map(|l| l.as_slice()) {
            Some([a, d]) => {
                let a = a.as_u64().and_then(|a| Account::try_from(a).ok()).ok_or_else(bad)?;
                Ok((a, d.as_i64().ok_or_else(bad)?))
            }
            _ => Err(bad()),
        })
        .collect()
}

fn parse_balances(v: &serde_json::Value, line: usize) -> Result<Vec<i64>, String> {
    let bad = || format!("line {line}: expected read-balances' result as an array of integers");
    v.as_array().ok_or_else(bad)?.iter().map(|b| b.as_i64().ok_or_else(bad)).collect()
}

/// Why a read is not explained, or how it is.
enum Explained {
    /// No set of transfers explains it.
    Never,
    /// Exactly one: the open transfers chosen (indices into the history).
    Unique(Vec<usize>),
    /// More than one.
    Ambiguous,
    /// The step budget ran out.
    OutOfSteps,
}

/// Checks `ops` against `bank` with at most `steps_max` search steps per read.
pub fn check(ops: &[Op], bank: &Bank, steps_max: u64) -> Verdict {
    let n = bank.account_count as usize;
    let describe =
        |i: usize| format!("{} of process {} (line {})", kind(&ops[i].op), ops[i].process, ops[i].invoke_index);
    // 1. Transfers are well formed.
    for (i, op) in ops.iter().enumerate() {
        if let TxOp::Transfer(legs) = &op.op {
            let accounts: BTreeSet<Account> = legs.iter().map(|l| l.0).collect();
            if legs.len() < 2 || accounts.len() != legs.len() || accounts.iter().any(|&a| a >= bank.account_count) {
                return Verdict::Fail(format!("{} has malformed legs {legs:?}", describe(i)));
            }
            let sum: i64 = legs.iter().map(|l| l.1).sum();
            if sum != 0 {
                return Verdict::Fail(format!(
                    "{} creates {sum} from nothing: its legs {legs:?} do not sum to 0",
                    describe(i)
                ));
            }
        }
    }
    let transfers: Vec<usize> = (0..ops.len()).filter(|&i| matches!(ops[i].op, TxOp::Transfer(_))).collect();
    let ok_done = |t: usize, before: usize| {
        matches!(ops[t].outcome, TxOutcome::Ok(_)) && ops[t].complete_index.is_some_and(|c| c < before)
    };
    // Reads that completed ok, in invoke order.
    let mut reads: Vec<(usize, Rc<[i64]>)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if let (TxOp::ReadBalances, TxOutcome::Ok(b)) = (&op.op, &op.outcome) {
            let Some(b) = b else {
                return Verdict::Fail(format!("{} completed ok without balances", describe(i)));
            };
            reads.push((i, b.clone()));
        }
    }
    reads.sort_by_key(|(i, _)| ops[*i].invoke_index);
    let mut unique: Vec<Option<Vec<usize>>> = Vec::with_capacity(reads.len());
    let mut out_of_steps = 0;
    for (r, balances) in &reads {
        let r = *r;
        // 2. The shape and total of what it read.
        if balances.len() != n {
            return Verdict::Fail(format!("{} returned {} balances for {n} accounts", describe(r), balances.len()));
        }
        if let Some(a) = balances.iter().position(|&b| b < 0) {
            return Verdict::Fail(format!("{} saw a{a} at {}: below zero", describe(r), balances[a]));
        }
        let sum: i64 = balances.iter().sum();
        if sum != bank.total() {
            return Verdict::Fail(format!(
                "{} saw balances summing to {sum}, not the constant total {}: {balances:?}",
                describe(r),
                bank.total()
            ));
        }
        // 3. Explained by the transfers definitely before it and some of those open at it.
        let (invoke, complete) = (ops[r].invoke_index, ops[r].complete_index.expect("an ok read completed"));
        let mut residual: Vec<i64> = balances.iter().map(|b| b - bank.initial_balance).collect();
        let mut before = 0;
        let mut open: Vec<usize> = Vec::new();
        for &t in &transfers {
            if ok_done(t, invoke) {
                before += 1;
                for &(a, d) in legs(&ops[t]) {
                    residual[a as usize] -= d;
                }
            } else if ops[t].outcome != TxOutcome::Fail && ops[t].invoke_index < complete {
                open.push(t);
            }
        }
        match explain(ops, &open, &mut residual.clone(), steps_max) {
            Explained::Never => {
                let needed: Vec<String> =
                    residual.iter().enumerate().filter(|(_, d)| **d != 0).map(|(a, d)| format!("a{a}{d:+}")).collect();
                return Verdict::Fail(format!(
                    "{} saw {balances:?}, which no set of committed transfers explains: beyond the {before} \
                     transfers that completed ok before it, it shows [{}], and no subset of the {} transfers \
                     open at it ({}) gives that in a real-time order",
                    describe(r),
                    needed.join(" "),
                    open.len(),
                    open.iter().map(|&t| format!("line {}", ops[t].invoke_index)).collect::<Vec<_>>().join(", ")
                ));
            }
            Explained::Unique(chosen) => unique.push(Some(chosen)),
            Explained::Ambiguous => unique.push(None),
            Explained::OutOfSteps => {
                out_of_steps += 1;
                unique.push(None);
            }
        }
    }
    // 4. Reads with unique explanations see prefixes of one order.
    let mut ok_by_completion: Vec<(usize, usize)> = transfers
        .iter()
        .filter(|&&t| matches!(ops[t].outcome, TxOutcome::Ok(_)))
        .filter_map(|&t| Some((ops[t].complete_index?, t)))
        .collect();
    ok_by_completion.sort_unstable();
    let sees = |read: usize, chosen: &[usize], t: usize| {
        ok_done(t, ops[read].invoke_index) || chosen.binary_search(&t).is_ok()
    };
    for (x, (r1, _)) in reads.iter().enumerate() {
        let Some(s1) = &unique[x] else { continue };
        for (y, (r2, _)) in reads.iter().enumerate().skip(x + 1) {
            let Some(s2) = &unique[y] else { continue };
            if s1.is_empty() && s2.is_empty() {
                continue; // both saw exactly what completed before them: nested by invoke order
            }
            let (r1, r2) = (*r1, *r2);
            // Transfers that can be in one set and not the other: the open ones, and
            // those that completed between the two invokes.
            let (lo, hi) =
                (ops[r1].invoke_index.min(ops[r2].invoke_index), ops[r1].invoke_index.max(ops[r2].invoke_index));
            let from = ok_by_completion.partition_point(|&(c, _)| c < lo);
            let to = ok_by_completion.partition_point(|&(c, _)| c < hi);
            let between = ok_by_completion[from..to].iter().map(|&(_, t)| t);
            let candidates: BTreeSet<usize> = s1.iter().chain(s2.iter()).copied().chain(between).collect();
            let only1 = candidates.iter().find(|&&t| sees(r1, s1, t) && !sees(r2, s2, t));
            let only2 = candidates.iter().find(|&&t| sees(r2, s2, t) && !sees(r1, s1, t));
            let r1_first = ops[r1].complete_index.is_some_and(|c| c < ops[r2].invoke_index);
            let torn = match (only1, only2) {
                (Some(&t), _) if r1_first => Some((t, None)),
                (Some(&t), Some(&u)) => Some((t, Some(u))),
                _ => None,
            };
            if let Some((t, u)) = torn {
                let detail = match u {
                    None => format!(
                        "the later {} does not see the {} that the earlier {} saw",
                        describe(r2),
                        describe(t),
                        describe(r1)
                    ),
                    Some(u) => format!(
                        "{} and {} see no common order: the first sees the {} and not the {}, the second the reverse",
                        describe(r1),
                        describe(r2),
                        describe(t),
                        describe(u)
                    ),
                };
                return Verdict::Fail(detail);
            }
        }
    }
    if out_of_steps > 0 {
        return Verdict::Unknown(format!(
            "{out_of_steps} read-balances could not be explained within {steps_max} search steps each"
        ));
    }
    Verdict::Pass
}

fn kind(op: &TxOp) -> &'static str {
    match op {
        TxOp::Transfer(_) => "transfer",
        TxOp::ReadBalances => "read-balances",
    }
}

fn legs(op: &Op) -> &[Leg] {
    match &op.op {
        TxOp::Transfer(legs) => legs,
        TxOp::ReadBalances => &[],
    }
}

/// The search of point 3: which of the `open` transfers make `residual`
/// zero, branching on the account with the fewest undecided transfers.
fn explain(ops: &[Op], open: &[usize], residual: &mut [i64], steps_max: u64) -> Explained {
    struct Search<'a> {
        ops: &'a [Op],
        open: &'a [usize],
        /// Per account: the positions (in `open`) of the transfers touching it.
        touching: Vec<Vec<usize>>,
        /// Per open transfer: in, out, or undecided.
        decided: Vec<Option<bool>>,
        steps: u64,
        steps_max: u64,
        found: Vec<Vec<usize>>,
    }
    impl Search<'_> {
        fn delta(&self, pos: usize, a: usize) -> i64 {
            legs(&self.ops[self.open[pos]]).iter().find(|l| l.0 as usize == a).map_or(0, |l| l.1)
        }
        /// Returns false to stop (two solutions found, or out of steps).
        fn go(&mut self, residual: &mut [i64]) -> bool {
            self.steps += 1;
            if self.steps > self.steps_max {
                return false;
            }
            // The account with the fewest undecided transfers; one with none must be settled.
            let mut pick: Option<(usize, usize)> = None;
            for (a, list) in self.touching.iter().enumerate() {
                let undecided = list.iter().filter(|&&p| self.decided[p].is_none()).count();
                if undecided == 0 {
                    if residual[a] != 0 {
                        return true; // a dead end
                    }
                } else if pick.is_none_or(|(_, u)| undecided < u) {
                    pick = Some((a, undecided));
                }
            }
            let Some((a, _)) = pick else {
                if self.closed() {
                    let chosen = (0..self.open.len()).filter(|&p| self.decided[p] == Some(true)).map(|p| self.open[p]);
                    self.found.push(chosen.collect());
                }
                return self.found.len() < 2;
            };
            let undecided: Vec<usize> =
                self.touching[a].iter().copied().filter(|&p| self.decided[p].is_none()).collect();
            if undecided.len() > 24 {
                self.steps = self.steps_max + 1;
                return false;
            }
            for mask in 0u32..(1 << undecided.len()) {
                let sum: i64 =
                    (0..undecided.len()).filter(|&b| mask & (1 << b) != 0).map(|b| self.delta(undecided[b], a)).sum();
                if sum != residual[a] {
                    continue;
                }
                for (b, &p) in undecided.iter().enumerate() {
                    let take = mask & (1 << b) != 0;
                    self.decided[p] = Some(take);
                    if take {
                        for &(acc, d) in legs(&self.ops[self.open[p]]) {
                            residual[acc as usize] -= d;
                        }
                    }
                }
                let go_on = self.go(residual);
                for (b, &p) in undecided.iter().enumerate() {
                    if mask & (1 << b) != 0 {
                        for &(acc, d) in legs(&self.ops[self.open[p]]) {
                            residual[acc as usize] += d;
                        }
                    }
                    self.decided[p] = None;
                }
                if !go_on {
                    return false;
                }
            }
            true
        }
        /// Real-time closure: a chosen transfer brings every ok transfer that completed before it began.
        fn closed(&self) -> bool {
            (0..self.open.len()).filter(|&p| self.decided[p] == Some(true)).all(|p| {
                let begun = self.ops[self.open[p]].invoke_index;
                (0..self.open.len()).filter(|&q| self.decided[q] == Some(false)).all(|q| {
                    let o = &self.ops[self.open[q]];
                    !(matches!(o.outcome, TxOutcome::Ok(_)) && o.complete_index.is_some_and(|c| c < begun))
                })
            })
        }
    }
    let mut touching = vec![Vec::new(); residual.len()];
    for (p, &t) in open.iter().enumerate() {
        for &(a, _) in legs(&ops[t]) {
            touching[a as usize].push(p);
        }
    }
    let mut s = Search { ops, open, touching, decided: vec![None; open.len()], steps: 0, steps_max, found: Vec::new() };
    let finished = s.go(residual);
    match s.found.len() {
        0 if !finished && s.steps > s.steps_max => Explained::OutOfSteps,
        0 => Explained::Never,
        1 if finished => Explained::Unique(s.found.pop().expect("one found")),
        1 => Explained::OutOfSteps,
        _ => Explained::Ambiguous,
    }
}

/// `bank-history`: at the end of the run, the clients' history must fit the bank model.
pub struct BankHistory {
    recorder: Rc<RefCell<TxRecorder>>,
    bank: Bank,
}

impl BankHistory {
    /// The check of `recorder`'s history for the bank of `cfg`.
    pub fn new(recorder: Rc<RefCell<TxRecorder>>, cfg: &Config) -> BankHistory {
        BankHistory {
            recorder,
            bank: Bank { account_count: cfg.account_count(), initial_balance: cfg.initial_balance },
        }
    }
}

impl<O> Invariant<O> for BankHistory {
    fn name(&self) -> &str {
        "bank-history"
    }

    fn on_finish(&mut self, _end: &RunEnd<'_>) -> Verdict {
        let history = self.recorder.borrow().history();
        check(&history, &self.bank, STEPS_MAX)
    }
}
