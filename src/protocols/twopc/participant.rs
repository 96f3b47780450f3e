//! A participant (Gray and Lamport's resource manager): nodes `1..nodes`,
//! each holding `accounts_per_participant` accounts.
//!
//! One loop handles everything, one message or tick at a time, so a
//! transaction's state changes never interleave with another's: PREPARE
//! (lock, log the after-images, sync, vote), decisions from the coordinator
//! (install or drop the after-images, log the outcome, sync, release,
//! acknowledge), answers to its own inquiries, and, with cooperative
//! termination, other participants' inquiries. A ticker task wakes the
//! loop every `inquiry_every` to ask about transactions it is in doubt on.
//!
//! On disk, one record per transaction, `p/<tx>`: the prepared transaction
//! (participants, after-images), overwritten by its outcome once applied. A
//! commit's outcome record keeps the after-images with a commit sequence
//! number, so a restart rebuilds the balances (each account's latest
//! after-image), the prepared transactions with their locks, and the
//! outcomes, and asks about every prepared transaction at once. Outcome
//! records stay: a PREPARE that arrives after its transaction finished here
//! (a duplicate, or a retry overtaken by the decision) must not be prepared
//! again.
//!
//! A transaction's locks are every account of the participant for a
//! read-balances, and the accounts it writes for a transfer; locks are
//! exclusive and never waited for (a held lock is a NO vote), so there are
//! no deadlocks.
//!
//! A decision for a transaction it has no record of means it never voted
//! YES (in the correct protocol): it never prepared it, so nothing of the
//! transaction was applied here, and it records and reports an abort.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use super::log::{Key, TxRecord};
use super::{Account, Config, Msg, NoReason, Obs, Parts, TxId, TxOp, TxTable, COORDINATOR};
use crate::coro::RequestId;
use crate::node::Ctx;
use crate::sim::NodeId;

/// A transaction prepared here.
struct Prepared {
    parts: Parts,
    read: bool,
    /// After-images: `(account, balance after commit)`.
    writes: Vec<(Account, i64)>,
    /// Local time it was prepared (or rebuilt after a restart).
    since_ns: u64,
    /// Asked for the outcome at least once.
    in_doubt: bool,
    /// Local time of the last inquiry.
    asked_ns: u64,
}

/// A participant's volatile state (rebuilt from its disk on restart).
struct Participant {
    cfg: Rc<Config>,
    me: NodeId,
    first: Account,
    /// Committed balances of its accounts, by local index.
    balances: Vec<i64>,
    /// The transaction holding each account's lock, by local index.
    locks: Vec<Option<TxId>>,
    prepared: BTreeMap<TxId, Prepared>,
    /// Outcomes applied durably.
    resolved: TxTable<bool>,
    /// Commits applied so far (the last commit record's sequence number).
    commits: u64,
}

/// A participant's entry point, at start and after every restart.
pub async fn run(ctx: Ctx<Msg, Obs>, cfg: Rc<Config>) {
    let mut p = Participant::recover(&ctx, cfg.clone());
    let (tick, mut ticks) = ctx.bounded::<()>(1);
    let every = Duration::from_nanos(cfg.inquiry_every_ns);
    let c = ctx.clone();
    ctx.spawn(async move {
        loop {
            c.sleep(every).await;
            // A tick still queued covers this one.
            let _ = tick.try_send(());
        }
    });
    loop {
        crate::select! {
            env = ctx.recv() => p.on_message(&ctx, env.from, env.msg).await,
            _ = ticks.recv() => p.on_tick(&ctx).await,
        }
    }
}

impl Participant {
    /// Rebuilds the state from the disk and asks about every prepared transaction.
    fn recover(ctx: &Ctx<Msg, Obs>, cfg: Rc<Config>) -> Participant {
        let me = ctx.id();
        let k = cfg.accounts_per_participant as usize;
        let first = cfg.first_account(me);
        let mut p = Participant {
            me,
            first,
            balances: vec![cfg.initial_balance; k],
            locks: vec![None; k],
            prepared: BTreeMap::new(),
            resolved: TxTable::default(),
            commits: 0,
            cfg: cfg.clone(),
        };
        let disk = ctx.storage();
        let now = ctx.now_ns();
        // Per account: the sequence number of the commit whose after-image it holds.
        let mut image_seq = vec![0u64; k];
        for key in disk.keys_with_prefix("p/") {
            match TxRecord::decode(&disk.get(&key).expect("listed keys exist")) {
                TxRecord::Outcome { tx, commit, seq, writes } => {
                    p.resolved.insert(tx, commit);
                    p.commits = p.commits.max(seq);
                    for (a, after) in writes {
                        let i = p.local(a);
                        if seq > image_seq[i] {
                            image_seq[i] = seq;
                            p.balances[i] = after;
                        }
                    }
                }
                // BUG(no-recovery): with the bug on, the log's prepared transactions are
                // ignored: their locks are free and their outcome is never asked for.
                TxRecord::Prepared(_) if cfg.bugs.no_recovery => {}
                TxRecord::Prepared(r) => {
                    p.lock(r.tx, r.read, &r.writes);
                    let prep = Prepared {
                        parts: r.parts,
                        read: r.read,
                        writes: r.writes,
                        since_ns: now,
                        in_doubt: true,
                        asked_ns: now,
                    };
                    p.prepared.insert(r.tx, prep);
                }
            }
        }
        let balances = p.balances.iter().enumerate().map(|(i, &b)| (first + i as Account, b)).collect();
        ctx.emit(Obs::Recovered { prepared: p.prepared.keys().copied().collect(), balances });
        for (&tx, prep) in &p.prepared {
            ctx.emit(Obs::InDoubt { tx });
            p.ask(ctx, tx, prep.parts);
        }
        p
    }

    fn local(&self, a: Account) -> usize {
        let i = a.checked_sub(self.first).expect("an account of this participant") as usize;
        assert!(i < self.balances.len(), "a{a} is not held by n{}", self.me);
        i
    }

    /// The local indices a transaction locks: every account for a read, the written ones otherwise.
    fn lock_indices<'a>(&'a self, read: bool, writes: &'a [(Account, i64)]) -> impl Iterator<Item = usize> + 'a {
        let all = if read { 0..self.balances.len() } else { 0..0 };
        all.chain(writes.iter().map(|&(a, _)| self.local(a)))
    }

    fn lock(&mut self, tx: TxId, read: bool, writes: &[(Account, i64)]) {
        let (k, first) = (self.balances.len(), self.first);
        for i in (if read { 0..k } else { 0..0 }).chain(writes.iter().map(|&(a, _)| (a - first) as usize)) {
            self.locks[i] = Some(tx);
        }
    }

    fn release(&mut self, tx: TxId, read: bool, writes: &[(Account, i64)]) {
        let k = self.balances.len();
        for i in (if read { 0..k } else { 0..0 }).chain(writes.iter().map(|&(a, _)| (a - self.first) as usize)) {
            if self.locks[i] == Some(tx) {
                self.locks[i] = None;
            }
        }
    }

    async fn on_message(&mut self, ctx: &Ctx<Msg, Obs>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Prepare { id, tx, parts, op } => self.on_prepare(ctx, from, id, tx, parts, &op).await,
            Msg::Decide { id, tx, commit } => {
                self.resolve(ctx, tx, commit, false).await;
                ctx.send(from, Msg::Ack { id });
            }
            Msg::Outcome { tx, commit } => self.resolve(ctx, tx, commit, false).await,
            Msg::Inquire { tx } if self.cfg.cooperative && from != COORDINATOR => {
                self.on_peer_inquiry(ctx, from, tx).await
            }
            _ => {}
        }
    }

    /// Phase 1 at this participant.
    async fn on_prepare(
        &mut self,
        ctx: &Ctx<Msg, Obs>,
        from: NodeId,
        id: RequestId,
        tx: TxId,
        parts: Parts,
        op: &TxOp,
    ) {
        let no = |why| {
            ctx.emit(Obs::VotedNo { tx, why });
            ctx.send(from, Msg::Vote { id, yes: false, balances: None });
        };
        if let Some(&commit) = self.resolved.get(tx) {
            // Finished here already: a late duplicate, or a retry overtaken by the outcome.
            if !commit {
                no(NoReason::Aborted);
            }
            return;
        }
        if let Some(prep) = self.prepared.get(&tx) {
            // A retry of a vote that was lost: vote again, nothing changed.
            let balances = prep.read.then(|| self.balances.as_slice().into());
            ctx.send(from, Msg::Vote { id, yes: true, balances });
            return;
        }
        let (read, writes) = match op {
            TxOp::ReadBalances => (true, Vec::new()),
            TxOp::Transfer(legs) => {
                let mut writes = Vec::with_capacity(legs.len());
                for &(a, delta) in legs.iter().filter(|&&(a, _)| self.cfg.participant_of(a) == self.me) {
                    let after = self.balances[self.local(a)] + delta;
                    if after < 0 {
                        return no(NoReason::Funds { account: a });
                    }
                    writes.push((a, after));
                }
                (false, writes)
            }
        };
        if let Some(i) = self.lock_indices(read, &writes).find(|&i| self.locks[i].is_some()) {
            let by = self.locks[i].expect("found held");
            return no(NoReason::Locked { account: self.first + i as Account, by });
        }
        self.lock(tx, read, &writes);
        let disk = ctx.storage();
        disk.put(Key::new(b'p', tx).as_str(), TxRecord::encode_prepared(tx, parts, read, &writes));
        if !self.cfg.bugs.unlogged_prepare {
            disk.sync().await;
        }
        // BUG(unlogged-prepare): with the bug on, the sync above is skipped: the vote
        // goes out while the PREPARED record can still be lost in a crash.
        if self.cfg.bugs.early_lock_release {
            // BUG(early-lock-release): the locks go with the vote, so another
            // transaction can prepare on these accounts while this one is in doubt.
            self.release(tx, read, &writes);
        }
        ctx.emit(Obs::Prepared { tx, read, writes: writes.clone() });
        let now = ctx.now_ns();
        self.prepared.insert(tx, Prepared { parts, read, writes, since_ns: now, in_doubt: false, asked_ns: now });
        let balances = read.then(|| self.balances.as_slice().into());
        ctx.send(from, Msg::Vote { id, yes: true, balances });
    }

    /// Applies an outcome (once): durable, then locks released and reported.
    async fn resolve(&mut self, ctx: &Ctx<Msg, Obs>, tx: TxId, commit: bool, presumed: bool) {
        if self.resolved.contains(tx) {
            return;
        }
        let disk = ctx.storage();
        let key = Key::new(b'p', tx);
        let Some(prep) = self.prepared.remove(&tx) else {
            // No record: never prepared here, so nothing of it was applied.
            disk.put(key.as_str(), TxRecord::encode_outcome(tx, false, 0, &[]));
            disk.sync().await;
            self.resolved.insert(tx, false);
            ctx.emit(Obs::Aborted { tx });
            return;
        };
        if commit {
            for &(a, after) in &prep.writes {
                let i = self.local(a);
                self.balances[i] = after;
            }
            self.commits += 1;
            disk.put(key.as_str(), TxRecord::encode_outcome(tx, true, self.commits, &prep.writes));
        } else {
            disk.put(key.as_str(), TxRecord::encode_outcome(tx, false, 0, &[]));
        }
        disk.sync().await;
        self.release(tx, prep.read, &prep.writes);
        self.resolved.insert(tx, commit);
        ctx.emit(if commit { Obs::Committed { tx, writes: prep.writes, presumed } } else { Obs::Aborted { tx } });
    }

    /// Asks the coordinator (and, cooperatively, the other participants) for `tx`'s outcome.
    fn ask(&self, ctx: &Ctx<Msg, Obs>, tx: TxId, parts: Parts) {
        ctx.send(COORDINATOR, Msg::Inquire { tx });
        if self.cfg.cooperative {
            for q in parts.iter().filter(|&q| q != self.me) {
                ctx.send(q, Msg::Inquire { tx });
            }
        }
    }

    /// Marks transactions prepared too long as in doubt and asks about them.
    async fn on_tick(&mut self, ctx: &Ctx<Msg, Obs>) {
        let now = ctx.now_ns();
        let cfg = self.cfg.clone();
        let mut asks: Vec<(TxId, Parts)> = Vec::new();
        let mut presume: Vec<TxId> = Vec::new();
        for (&tx, prep) in self.prepared.iter_mut() {
            let age = now.saturating_sub(prep.since_ns);
            if !prep.in_doubt && age >= cfg.in_doubt_after_ns {
                prep.in_doubt = true;
                ctx.emit(Obs::InDoubt { tx });
            } else if !(prep.in_doubt && now.saturating_sub(prep.asked_ns) >= cfg.inquiry_every_ns) {
                continue;
            }
            prep.asked_ns = now;
            asks.push((tx, prep.parts));
            if cfg.bugs.presume_commit_on_timeout && age >= cfg.presume_after_ns {
                presume.push(tx);
            }
        }
        for (tx, parts) in asks {
            self.ask(ctx, tx, parts);
        }
        for tx in presume {
            // BUG(presume-commit-on-timeout): in doubt for too long, the participant
            // commits on its own, although the coordinator may have decided abort.
            self.resolve(ctx, tx, true, true).await;
        }
    }

    /// Cooperative termination: another participant in doubt on `tx` asks us.
    async fn on_peer_inquiry(&mut self, ctx: &Ctx<Msg, Obs>, from: NodeId, tx: TxId) {
        if let Some(&commit) = self.resolved.get(tx) {
            ctx.emit(Obs::Helped { tx, peer: from, commit });
            ctx.send(from, Msg::Outcome { tx, commit });
            return;
        }
        if self.prepared.contains_key(&tx) {
            return; // in doubt as well: no help
        }
        // Never voted YES: abort it here (durably, so a late PREPARE is refused), and say so.
        let disk = ctx.storage();
        disk.put(Key::new(b'p', tx).as_str(), TxRecord::encode_outcome(tx, false, 0, &[]));
        disk.sync().await;
        self.resolved.insert(tx, false);
        ctx.emit(Obs::Aborted { tx });
        ctx.emit(Obs::Helped { tx, peer: from, commit: false });
        ctx.send(from, Msg::Outcome { tx, commit: false });
    }
}
