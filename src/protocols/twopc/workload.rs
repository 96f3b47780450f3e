//! The transaction clients and their history.
//!
//! Each client process (ids after the nodes) runs one transaction at a
//! time against the coordinator, paced like the key-value workload: gaps
//! drawn exponential with mean `clients / rate`, from a schedule, so a slow
//! system is offered the same rate. An op is a *transfer* (weight
//! `mix.write`): `amount` from one account to one account on each of 1..
//! other participants (the payer's leg is `-amount * (k - 1)`), the
//! participants and accounts drawn uniformly; or a *read-balances*
//! (weight `mix.read`) of every account.
//!
//! The client sends `Begin` with its request number and waits
//! `workload.timeout` for the outcome; then it sends the same request
//! again (the coordinator answers a duplicate from its log, and never runs
//! it twice). After three timeouts it gives up: the op is `info` (its fate
//! unknown) and the client continues under a new history process id, as
//! the key-value workload does. Committed is `ok` (a read carries the
//! balances), aborted is `fail`. A client that learns an outcome also
//! reports it (`Obs::Told`), which `agreement-with-client` compares with
//! the participants' outcomes.
//!
//! [`TxRecorder`] is the history: shared (an `Rc`) between the clients,
//! which write it, and the end-of-run checks and the run folder, which read
//! it. Its JSON Lines use `f` = `transfer` (value: the legs as
//! `[[account, amount], ...]`, on the invoke and every completion) and
//! `read-balances` (value `null` on the invoke, the balances in account
//! order on an `ok`).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use super::model::{self, TxOutcome};
use super::{Config, Leg, Msg, Obs, TxOp, COORDINATOR};
use crate::check::history::{HistoryLine, LineKind};
use crate::node::Ctx;
use crate::sim::Nanos;

/// One recorded operation.
#[derive(Clone, Debug)]
pub struct TxRecord {
    /// History process id.
    pub process: u64,
    /// The op (shared with the messages that carry it).
    pub op: Rc<TxOp>,
    /// Invoke time (global ns) and event position.
    pub invoke: (Nanos, usize),
    /// Completion time, position and outcome; `None` while pending.
    pub complete: Option<(Nanos, usize, TxOutcome)>,
}

/// The clients' shared history.
#[derive(Debug, Default)]
pub struct TxRecorder {
    client_count: usize,
    ops: Vec<TxRecord>,
    events: usize,
    /// Per client index: how many times it changed process id.
    generation: BTreeMap<usize, u64>,
    ok_times_ns: Vec<Nanos>,
}

impl TxRecorder {
    /// An empty history for `client_count` clients.
    pub fn new(client_count: usize) -> TxRecorder {
        TxRecorder { client_count, ..TxRecorder::default() }
    }

    /// Records an invoke by client `client_index`; returns the op's handle.
    pub fn invoke(&mut self, client_index: usize, op: Rc<TxOp>, now_ns: Nanos) -> usize {
        let generation = self.generation.get(&client_index).copied().unwrap_or(0);
        let process = client_index as u64 + generation * self.client_count as u64;
        self.events += 1;
        self.ops.push(TxRecord { process, op, invoke: (now_ns, self.events), complete: None });
        self.ops.len() - 1
    }

    /// Records the completion of op `handle`; an `info` moves the client to a new process id.
    pub fn complete(&mut self, handle: usize, client_index: usize, outcome: TxOutcome, now_ns: Nanos) {
        assert!(self.ops[handle].complete.is_none(), "an op completes once");
        match outcome {
            TxOutcome::Info => *self.generation.entry(client_index).or_insert(0) += 1,
            TxOutcome::Ok(_) => self.ok_times_ns.push(now_ns),
            TxOutcome::Fail => {}
        }
        self.events += 1;
        self.ops[handle].complete = Some((now_ns, self.events, outcome));
    }

    /// Every op recorded so far.
    pub fn ops(&self) -> &[TxRecord] {
        &self.ops
    }

    /// Operations invoked so far.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether no op was invoked.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The history as the bank model reads it (pending ops are open).
    pub fn history(&self) -> Vec<model::Op> {
        self.ops
            .iter()
            .map(|r| model::Op {
                process: r.process,
                op: (*r.op).clone(),
                invoke_index: r.invoke.1,
                complete_index: r.complete.as_ref().map(|c| c.1),
                outcome: r.complete.as_ref().map_or(TxOutcome::Info, |c| c.2.clone()),
            })
            .collect()
    }

    /// The history as JSON Lines (DESIGN section 4 format); ops pending at
    /// `end_ns` are completed `info` there.
    pub fn to_jsonl(&self, end_ns: Nanos) -> String {
        use serde_json::Value as Json;
        let legs_json =
            |legs: &[Leg]| Json::Array(legs.iter().map(|&(a, d)| Json::from(vec![i64::from(a), d])).collect());
        let mut events: Vec<(usize, String)> = Vec::with_capacity(self.ops.len() * 2);
        for r in &self.ops {
            let (f, invoke_value) = match &*r.op {
                TxOp::Transfer(legs) => ("transfer", legs_json(legs)),
                TxOp::ReadBalances => ("read-balances", Json::Null),
            };
            let line = |kind: LineKind, value: Json, time: Nanos| {
                HistoryLine { time: Some(time), ..HistoryLine::new(r.process, kind, Cow::Borrowed(f), value) }.to_json()
            };
            events.push((r.invoke.1, line(LineKind::Invoke, invoke_value.clone(), r.invoke.0)));
            let (time, index, outcome) = match &r.complete {
                Some((t, i, o)) => (*t, *i, o.clone()),
                None => (end_ns, usize::MAX, TxOutcome::Info),
            };
            let (kind, value) = match outcome {
                TxOutcome::Ok(Some(b)) => (LineKind::Ok, Json::from(b.to_vec())),
                TxOutcome::Ok(None) => (LineKind::Ok, invoke_value),
                TxOutcome::Fail => (LineKind::Fail, invoke_value),
                TxOutcome::Info => (LineKind::Info, invoke_value),
            };
            events.push((index, line(kind, value, time)));
        }
        events.sort_by_key(|(i, _)| *i);
        let mut out = String::with_capacity(events.iter().map(|(_, l)| l.len() + 1).sum());
        for (_, l) in events {
            out.push_str(&l);
            out.push('\n');
        }
        out
    }

    /// Completed `ok` ops.
    pub fn ok_count(&self) -> u64 {
        self.ok_times_ns.len() as u64
    }

    /// Times of `ok` completions, in order.
    pub fn ok_times_ns(&self) -> Vec<Nanos> {
        self.ok_times_ns.clone()
    }

    /// Per op kind (`transfer`, `read-balances`): p50, p90, p99 and max latency of `ok` ops, in ms.
    pub fn latency_ms(&self) -> BTreeMap<String, [f64; 4]> {
        let mut by_kind: BTreeMap<&'static str, Vec<Nanos>> = BTreeMap::new();
        for r in &self.ops {
            if let Some((t, _, TxOutcome::Ok(_))) = &r.complete {
                let kind = if matches!(*r.op, TxOp::ReadBalances) { "read-balances" } else { "transfer" };
                by_kind.entry(kind).or_default().push(t - r.invoke.0);
            }
        }
        by_kind.into_iter().map(|(k, v)| (k.to_string(), crate::stats::quantiles_ms(&v))).collect()
    }
}

impl crate::kit::ClientHistory for RefCell<TxRecorder> {
    fn to_jsonl(&self, end_ns: Nanos) -> String {
        self.borrow().to_jsonl(end_ns)
    }
    fn ok_count(&self) -> u64 {
        self.borrow().ok_count()
    }
    fn latency_ms(&self) -> BTreeMap<String, [f64; 4]> {
        self.borrow().latency_ms()
    }
    fn ok_times_ns(&self) -> Vec<Nanos> {
        self.borrow().ok_times_ns()
    }
}

/// An exponential gap with mean `mean_ns`, from the process's stream.
fn exponential_gap(ctx: &Ctx<Msg, Obs>, mean_ns: u64) -> u64 {
    let u = (ctx.rng().next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let x = -(1.0 - u).max(1e-12).ln();
    (x.min(20.0) * mean_ns as f64) as u64
}

/// Draws the next op: its kind by the mix, a transfer's participants,
/// accounts and amount uniformly.
fn next_op(ctx: &Ctx<Msg, Obs>, cfg: &Config) -> TxOp {
    let rng = ctx.rng();
    let pick = rng.between(0, cfg.mix_cumulative[1].saturating_sub(1));
    if pick < cfg.mix_cumulative[0] {
        return TxOp::ReadBalances;
    }
    let (lo, hi) = cfg.transfer_participants;
    let k = rng.between(lo as u64, hi as u64) as usize;
    // The first k of a partial shuffle of the participants (at most 63).
    let mut parts = [0usize; 63];
    for (i, p) in parts.iter_mut().enumerate() {
        *p = i + 1;
    }
    let parts = &mut parts[..cfg.participant_count];
    for i in 0..k {
        let j = i + rng.index(parts.len() - i);
        parts.swap(i, j);
    }
    let amount = rng.between(1, cfg.amount_max as u64) as i64;
    let legs = parts[..k]
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let account = cfg.first_account(p) + rng.index(cfg.accounts_per_participant as usize) as u32;
            (account, if i == 0 { -amount * (k as i64 - 1) } else { amount })
        })
        .collect();
    TxOp::Transfer(legs)
}

/// The client loop of the client whose process id is `ctx.id()`. Runs until the simulation ends.
pub async fn run_client(ctx: Ctx<Msg, Obs>, cfg: Rc<Config>, recorder: Rc<RefCell<TxRecorder>>) {
    let client_index = ctx.id() - cfg.node_count();
    let mut seq = 0u64;
    let mut next_invoke_ns = ctx.now_ns();
    loop {
        next_invoke_ns = (next_invoke_ns + exponential_gap(&ctx, cfg.gap_ns_mean)).max(ctx.now_ns());
        ctx.sleep_until_ns(next_invoke_ns).await;
        if recorder.borrow().len() as u64 >= cfg.ops_max {
            ctx.hit_limit(crate::sim::Limit::HistoryOps, cfg.ops_max);
            return;
        }
        let op = next_op(&ctx, &cfg);
        seq += 1;
        let op = Rc::new(op);
        let handle = recorder.borrow_mut().invoke(client_index, op.clone(), ctx.now_ns());
        let mut answer = None;
        for _ in 0..cfg.client_attempts_max {
            ctx.send(COORDINATOR, Msg::Begin { seq, op: op.clone() });
            let deadline = ctx.now_ns().saturating_add(cfg.client_timeout_ns);
            while answer.is_none() {
                let left = deadline.saturating_sub(ctx.now_ns());
                match ctx.recv_timeout(Duration::from_nanos(left)).await {
                    None => break,
                    Some(env) => {
                        if let Msg::Reply { seq: s, tx, commit, balances } = env.msg {
                            if s == seq {
                                answer = Some((tx, commit, balances));
                            }
                        }
                    }
                }
            }
            if answer.is_some() {
                break;
            }
        }
        let outcome = match answer {
            Some((tx, commit, balances)) => {
                ctx.emit(Obs::Told { tx, commit });
                if commit {
                    TxOutcome::Ok(balances)
                } else {
                    TxOutcome::Fail
                }
            }
            None => TxOutcome::Info,
        };
        recorder.borrow_mut().complete(handle, client_index, outcome, ctx.now_ns());
    }
}
