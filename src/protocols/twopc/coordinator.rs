//! The coordinator (Gray and Lamport's transaction manager), node 0.
//!
//! Its main loop takes client requests and inquiries; each transaction
//! runs in a task of its own ([`run_tx`]): phase 1 over [`Ctx::quorum`]
//! (every participant must say YES), the decision written and synced, the
//! client answered, then phase 2, re-sending the decision to the
//! participants that have not acknowledged it until all have.
//!
//! What it keeps, and why:
//! - `epoch`, bumped and synced at every start before anything is served:
//!   transaction ids carry it, so a restarted coordinator can tell a
//!   transaction of an earlier incarnation that it never decided (aborted,
//!   by presumption) from one of its own still voting.
//! - `d/<tx>`, one record per decision, with the client request it answers:
//!   synced before the decision leaves the node, so every decision anyone
//!   heard of survives a crash, and a client's retry after a crash gets the
//!   same answer instead of a second execution. Aborts are logged too for
//!   that reason.
//! - which decisions every participant has acknowledged, so that a restart
//!   re-sends only the others: each decision record carries the epoch's
//!   *done watermark* at the time it was written (every transaction of the
//!   epoch numbered below it had finished phase 2). A restart re-sends the
//!   decisions at or above the latest watermark of their epoch; one it
//!   re-sends gets an explicit `done` mark once acknowledged (written
//!   lazily, unsynced: losing it only costs another re-send). This is 2PC's
//!   lazily written END record, without a write per transaction.
//!
//! A client request is known by (client, seq): a duplicate of a request in
//! progress is ignored (the answer will come), one already decided is
//! answered again. A request not in the log after a restart starts afresh:
//! any earlier attempt of it was never decided, hence never committed.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use super::log::{self, Decision, Key};
use super::{Config, Msg, Obs, Parts, TxId, TxOp, TxTable};
use crate::coro::{RequestId, Tally};
use crate::node::Ctx;
use crate::sim::NodeId;

/// The request id of a message that answers no call (its acknowledgement is dropped as late).
const NO_CALL: RequestId = RequestId::MAX;

/// The coordinator's volatile state, shared by its main loop and transaction tasks.
struct State {
    epoch: u32,
    /// Transactions begun in this epoch.
    next: u32,
    /// Decisions: logged ones (recovered or made in this epoch).
    decided: TxTable<Decision>,
    /// Client request (client, seq) -> its transaction.
    requests: BTreeMap<(NodeId, u64), TxId>,
    /// Numbers of this epoch's transactions not through phase 2 yet.
    unfinished: BTreeSet<u32>,
}

impl State {
    /// Every transaction of this epoch numbered below this has finished phase 2.
    fn done_below(&self) -> u32 {
        self.unfinished.first().copied().unwrap_or(self.next)
    }
}

/// The coordinator's entry point, at start and after every restart.
pub async fn run(ctx: Ctx<Msg, Obs>, cfg: Rc<Config>) {
    let disk = ctx.storage();
    let epoch = disk.get("epoch").map_or(0, |b| log::Reader(&b).u32()) + 1;
    let mut w = log::Writer::default();
    w.u32(epoch);
    disk.put("epoch", w.0);
    disk.sync().await;
    let mut state =
        State { epoch, next: 0, decided: TxTable::default(), requests: BTreeMap::new(), unfinished: BTreeSet::new() };
    // Per epoch: the latest done watermark written.
    let mut done_below: BTreeMap<u32, u32> = BTreeMap::new();
    for key in disk.keys_with_prefix("d/") {
        let d = Decision::decode(&disk.get(&key).expect("listed keys exist"));
        let w = done_below.entry(d.tx.epoch).or_insert(0);
        *w = (*w).max(d.done_below);
        state.requests.insert((d.client, d.seq), d.tx);
        state.decided.insert(d.tx, d);
    }
    let resend: Vec<(TxId, bool, Parts)> = state
        .decided
        .iter()
        .filter(|(tx, d)| !d.done && tx.n >= done_below[&tx.epoch])
        .map(|(tx, d)| (tx, d.commit, d.parts))
        .collect();
    ctx.emit(Obs::Started { epoch, recovered: state.decided.len(), resending: resend.len() });
    let state = Rc::new(RefCell::new(state));
    for (tx, commit, parts) in resend {
        let (c, cfg, st) = (ctx.clone(), cfg.clone(), state.clone());
        ctx.spawn(async move {
            phase2(&c, &cfg, tx, commit, parts).await;
            // Re-sent and acknowledged: say so, lazily.
            let mut st = st.borrow_mut();
            let d = st.decided.get_mut(tx).expect("a re-sent decision is logged");
            d.done = true;
            c.storage().put(Key::new(b'd', tx).as_str(), d.encode());
        });
    }
    loop {
        let env = ctx.recv().await;
        match env.msg {
            Msg::Begin { seq, op } => {
                let client = env.from;
                let mut st = state.borrow_mut();
                if let Some(tx) = st.requests.get(&(client, seq)).copied() {
                    // A duplicate: answer it again if decided; if not, the answer is on its way.
                    if let Some(d) = st.decided.get(tx) {
                        let balances = d.balances.as_ref().map(|b| b.as_slice().into());
                        ctx.send(client, Msg::Reply { seq, tx, commit: d.commit, balances });
                    }
                    continue;
                }
                let tx = TxId { epoch: st.epoch, n: st.next };
                st.next += 1;
                st.requests.insert((client, seq), tx);
                st.unfinished.insert(tx.n);
                drop(st);
                let (c, cfg, st) = (ctx.clone(), cfg.clone(), state.clone());
                ctx.spawn(async move { run_tx(&c, &cfg, &st, tx, client, seq, op).await });
            }
            Msg::Inquire { tx } => {
                let st = state.borrow();
                match st.decided.get(tx) {
                    Some(d) => ctx.send(env.from, Msg::Outcome { tx, commit: d.commit }),
                    // Presumed abort: an earlier epoch's transaction that was never decided.
                    None if tx.epoch < st.epoch => ctx.send(env.from, Msg::Outcome { tx, commit: false }),
                    // Still voting in this epoch: the decision will be sent.
                    None => {}
                }
            }
            _ => {}
        }
    }
}

/// One transaction, from PREPARE to the last acknowledgement.
async fn run_tx(
    ctx: &Ctx<Msg, Obs>,
    cfg: &Config,
    state: &RefCell<State>,
    tx: TxId,
    client: NodeId,
    seq: u64,
    op: Rc<TxOp>,
) {
    let parts = cfg.parts_of(&op);
    let read = matches!(*op, TxOp::ReadBalances);
    let legs = match &*op {
        TxOp::Transfer(legs) => legs.clone(),
        TxOp::ReadBalances => Vec::new(),
    };
    ctx.emit(Obs::Began { tx, parts, legs });

    // Phase 1: every participant must vote YES; those that have not voted are asked again.
    let mut waiting: Vec<NodeId> = parts.iter().collect();
    let mut balances: Vec<(NodeId, Rc<[i64]>)> = Vec::new();
    let mut refused = false;
    let timeout = Duration::from_nanos(cfg.prepare_timeout_ns);
    for _ in 0..cfg.prepare_attempts {
        let need = waiting.len();
        let votes = ctx
            .quorum(
                &waiting,
                need,
                |id| Msg::Prepare { id, tx, parts, op: op.clone() },
                |e| match e.msg {
                    Msg::Vote { yes: true, .. } => Tally::Yes,
                    Msg::Vote { yes: false, .. } => Tally::No,
                    _ => Tally::Ignore,
                },
                timeout,
            )
            .await;
        let (yes, done) = match votes {
            Ok(yes) => (yes, true),
            Err(e) => {
                refused = !e.no.is_empty();
                (e.yes, refused)
            }
        };
        for v in yes {
            waiting.retain(|&p| p != v.from);
            if let Msg::Vote { balances: Some(b), .. } = v.msg {
                balances.push((v.from, b));
            }
        }
        if done {
            break;
        }
    }
    let commit = !refused && waiting.is_empty();
    let balances = (commit && read).then(|| {
        balances.sort_by_key(|(p, _)| *p);
        balances.iter().flat_map(|(_, b)| b.iter().copied()).collect::<Vec<i64>>()
    });

    // The decision: durable before anyone hears of it.
    let done_below = state.borrow().done_below();
    let decision = Decision { tx, commit, done: false, done_below, parts, client, seq, balances };
    let disk = ctx.storage();
    let key = Key::new(b'd', tx);
    if cfg.bugs.decide_before_log && commit {
        // BUG(decide-before-log): COMMIT goes out before the decision is durable. A
        // crash before the sync completes leaves participants committed while the
        // restarted coordinator finds no decision and presumes abort.
        ctx.emit(Obs::Decided { tx, commit });
        for p in parts.iter() {
            ctx.send(p, Msg::Decide { id: NO_CALL, tx, commit });
        }
        disk.put(key.as_str(), decision.encode());
        disk.sync().await;
    } else {
        disk.put(key.as_str(), decision.encode());
        disk.sync().await;
        ctx.emit(Obs::Decided { tx, commit });
    }
    let reply_balances = decision.balances.as_ref().map(|b| b.as_slice().into());
    state.borrow_mut().decided.insert(tx, decision);
    ctx.send(client, Msg::Reply { seq, tx, commit, balances: reply_balances });

    phase2(ctx, cfg, tx, commit, parts).await;
    state.borrow_mut().unfinished.remove(&tx.n);
}

/// Phase 2: sends the decision to every participant until each has acknowledged it.
async fn phase2(ctx: &Ctx<Msg, Obs>, cfg: &Config, tx: TxId, commit: bool, parts: Parts) {
    let mut left: Vec<NodeId> = parts.iter().collect();
    let resend = Duration::from_nanos(cfg.decision_resend_ns);
    while !left.is_empty() {
        let need = left.len();
        let acks = ctx
            .quorum(
                &left,
                need,
                |id| Msg::Decide { id, tx, commit },
                |e| if matches!(e.msg, Msg::Ack { .. }) { Tally::Yes } else { Tally::Ignore },
                resend,
            )
            .await;
        match acks {
            Ok(_) => break,
            Err(e) => left.retain(|&p| !e.yes.iter().any(|a| a.from == p)),
        }
    }
}
