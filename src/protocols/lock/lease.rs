//! `lease-lock`: one lock server with the semantics of Redis's
//! `SET key value NX PX ttl`, a storage server with a fence, and clients
//! that take the lock, write while they believe they hold it, and let it
//! go. The lock server and the client are written for any number of
//! servers and any quorum, so `redlock` runs the same code on five.
//!
//! Node layout: the lock servers first (`lease-lock`: node 0), then the
//! storage server, then the clients (every node after it).
//!
//! - The **lock server** holds at most one lease: a holder, its value, its
//!   fencing token and its expiry on the server's clock. An `Acquire` takes
//!   the lock if it is free or expired (`NX`), for the TTL asked, capped at
//!   the server's own; a `Release` deletes it only if it holds the caller's
//!   value (compare-and-delete). A timer reports the expiry the moment the
//!   server's clock reaches it. Leases live in memory only, as in a Redis
//!   without persistence: a crash forgets them all. The fencing counter
//!   does not forget: it is written and synced before each grant. A
//!   restarted server therefore stays unavailable for one TTL before it
//!   grants again (a *delayed restart*), so that every lease it forgot has
//!   run out by then.
//! - A **client** waits a while, then acquires: it reads its clock, asks
//!   every server with a fresh random value, and holds the lock if a
//!   quorum granted it and the time left is positive. It believes it holds
//!   the lock until `start + TTL - drift - margin` on its own clock, where
//!   `drift` is `TTL * clock_drift + 2 ms`. While it believes so it works:
//!   it checks its clock, works for one step, then writes a value to the
//!   storage with its fencing token, up to a random number of writes. It
//!   lets the lock go when it is done, when its time is up, when the
//!   storage fences it off, or when its clock has gone back since the last
//!   reading (a clock that steps back cannot be trusted to time a lease).
//!   Then it releases on every server. A failed acquire releases on every
//!   server too, and the client retries after a random backoff whose cap
//!   doubles with each failure in a row, up to the TTL.
//!
//! Planted bugs, each marked `// BUG(name):`: `no-fencing` (in `storage.rs`),
//! `trust-local-lease`, `restart-without-delay` (see [`super::BUGS`]).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use super::invariants::{fenced_writes, mutual_exclusion, FENCED_WRITES, MUTUAL_EXCLUSION};
use super::report::LockTimeline;
use super::storage::{self, StorageConfig, Write, WriteReply};
use super::{itself, Bugs, Config, LeaseId, LockObs, Msg, MsgCodec, Options, Token, BUGS};
use crate::coro::Tally;
use crate::kit::{Invalid, Named, Needs, Protocol, Setup, LIVENESS};
use crate::node::Ctx;
use crate::scenario::Scenario;
use crate::sim::{Nanos, NodeId};

/// The lease a lock server holds.
#[derive(Clone, Copy, Debug)]
struct Current {
    client: NodeId,
    lease: LeaseId,
    token: Token,
    expires_local_ns: Nanos,
}

/// A lock server's memory.
#[derive(Debug)]
struct ServerState {
    current: Option<Current>,
    /// The next fencing token (its durable copy is in storage).
    next_token: Token,
    /// False during a restart delay.
    serving: bool,
}

const BOOTED_KEY: &str = "lock/booted";
const TOKEN_KEY: &str = "lock/next_token";

/// Frees the lock if its lease ran out by the server's clock, and reports it.
fn expire_if_due(ctx: &Ctx<Msg, LockObs>, state: &RefCell<ServerState>) {
    let now = ctx.now_ns();
    let mut st = state.borrow_mut();
    if let Some(c) = st.current {
        if now >= c.expires_local_ns {
            st.current = None;
            ctx.emit(LockObs::Expired { server: ctx.id(), client: c.client, lease: c.lease, local_ns: now });
        }
    }
}

/// A lock server's entry point.
pub async fn lock_server(ctx: Ctx<Msg, LockObs>, cfg: Rc<Config>) {
    let me = ctx.id();
    let disk = ctx.storage();
    let restarted = disk.get_json::<bool>(BOOTED_KEY).is_some();
    let next_token = disk.get_json::<Token>(TOKEN_KEY).unwrap_or(1);
    if !restarted {
        disk.put_json(BOOTED_KEY, &true);
        disk.sync().await;
    }
    let state = Rc::new(RefCell::new(ServerState { current: None, next_token, serving: true }));
    if restarted {
        ctx.emit(LockObs::Restarted { server: me, local_ns: ctx.now_ns() });
        if cfg.bugs.restart_without_delay {
            // BUG(restart-without-delay): the server grants at once, although the
            // leases it granted before the crash may still be running.
            ctx.emit(LockObs::Serving { server: me, local_ns: ctx.now_ns() });
        } else {
            state.borrow_mut().serving = false;
            let (c, st, until) = (ctx.clone(), state.clone(), ctx.now_ns() + cfg.ttl_ns);
            ctx.spawn(async move {
                c.sleep_until_ns(until).await;
                st.borrow_mut().serving = true;
                c.emit(LockObs::Serving { server: c.id(), local_ns: c.now_ns() });
            });
        }
    }
    loop {
        let env = ctx.recv().await;
        match env.msg {
            Msg::Acquire { id, lease, ttl_ns } => {
                expire_if_due(&ctx, &state);
                let token = {
                    let mut st = state.borrow_mut();
                    if !st.serving || st.current.is_some() {
                        drop(st);
                        ctx.send(env.from, Msg::Refuse { id });
                        continue;
                    }
                    st.next_token += 1;
                    st.next_token - 1
                };
                // The counter is durable before the token is revealed, so no
                // token is ever handed out twice, restarts or not.
                disk.put_json(TOKEN_KEY, &(token + 1));
                disk.sync().await;
                let now = ctx.now_ns();
                let expires_local_ns = now + ttl_ns.min(cfg.ttl_ns);
                let client = env.from;
                state.borrow_mut().current = Some(Current { client, lease, token, expires_local_ns });
                ctx.emit(LockObs::Granted {
                    server: me,
                    client,
                    lease,
                    token,
                    local_ns: now,
                    expires_local_ns: Some(expires_local_ns),
                });
                let (c, st) = (ctx.clone(), state.clone());
                ctx.spawn(async move {
                    c.sleep_until_ns(expires_local_ns).await;
                    let mine = st.borrow().current.is_some_and(|cur| cur.token == token);
                    if mine {
                        expire_if_due(&c, &st);
                    }
                });
                ctx.send(client, Msg::Grant { id, token });
            }
            Msg::Release { lease } => {
                expire_if_due(&ctx, &state);
                let mut st = state.borrow_mut();
                if let Some(c) = st.current.filter(|c| c.lease == lease) {
                    st.current = None;
                    drop(st);
                    ctx.emit(LockObs::Released { server: me, client: c.client, lease, local_ns: ctx.now_ns() });
                }
            }
            // Replies go to the calls that wait for them; writes go to the storage.
            Msg::Grant { .. } | Msg::Refuse { .. } | Msg::Write { .. } | Msg::WriteDone { .. } => {}
        }
    }
}

/// Until when (local clock) a client that started acquiring at `start_ns` believes it holds the lock.
fn hold_until(cfg: &Config, start_ns: Nanos) -> Nanos {
    if cfg.bugs.trust_local_lease {
        // BUG(trust-local-lease): the whole TTL by the client's own clock, as if
        // its clock and the server's ran at one rate and no work step or write
        // could outlast the check.
        return start_ns + cfg.ttl_ns;
    }
    (start_ns + cfg.ttl_ns).saturating_sub(cfg.drift_ns + cfg.margin_ns)
}

fn release_all(ctx: &Ctx<Msg, LockObs>, cfg: &Config, lease: LeaseId) {
    for &s in &cfg.servers {
        ctx.send(s, Msg::Release { lease });
    }
}

fn between(ctx: &Ctx<Msg, LockObs>, (lo, hi): (Nanos, Nanos)) -> Duration {
    Duration::from_nanos(ctx.rng().between(lo, hi))
}

/// An acquisition that succeeded.
struct Acquired {
    lease: LeaseId,
    token: Option<Token>,
    hold_until_ns: Nanos,
}

/// Asks every server until a quorum grants the lock in time.
async fn acquire(ctx: &Ctx<Msg, LockObs>, cfg: &Config) -> Acquired {
    let timeout = Duration::from_nanos(cfg.acquire_timeout_ns);
    let mut failures: u32 = 0;
    loop {
        let lease = ctx.rng().next_u64();
        let start = ctx.now_ns();
        let ttl_ns = cfg.ttl_ns;
        let grants = ctx
            .quorum(
                &cfg.servers,
                cfg.quorum,
                |id| Msg::Acquire { id, lease, ttl_ns },
                |e| match e.msg {
                    Msg::Grant { .. } => Tally::Yes,
                    Msg::Refuse { .. } => Tally::No,
                    _ => Tally::Ignore,
                },
                timeout,
            )
            .await;
        let now = ctx.now_ns();
        let hold_until_ns = hold_until(cfg, start);
        // In time: some validity left, and a clock that did not go back meanwhile.
        if let Ok(grants) = grants {
            if now >= start && now < hold_until_ns {
                let token =
                    grants.iter().find_map(|e| if let Msg::Grant { token, .. } = e.msg { Some(token) } else { None });
                let token = if cfg.fenced { token } else { None };
                ctx.emit(LockObs::Acquired { client: ctx.id(), lease, token, grants: grants.len() as u32 });
                return Acquired { lease, token, hold_until_ns };
            }
        }
        release_all(ctx, cfg, lease);
        // A random backoff whose cap doubles with each failure in a row, up to
        // the TTL: clients that keep splitting the servers between them
        // (and the grants of lost releases that block servers until their TTL
        // runs out) thin out instead of locking each other out for ever.
        failures = failures.saturating_add(1);
        let (lo, hi) = cfg.retry_ns;
        let cap = hi.saturating_mul(1 << (failures - 1).min(16)).min(cfg.ttl_ns.max(hi));
        ctx.sleep(between(ctx, (lo, cap))).await;
    }
}

/// A client's entry point: acquire, work and write while the lease lasts, release; again.
pub async fn client(ctx: Ctx<Msg, LockObs>, cfg: Rc<Config>) {
    let me = ctx.id();
    let mut written: i64 = 0;
    let work = Duration::from_nanos(cfg.work_ns);
    let write_timeout = Duration::from_nanos(cfg.write_timeout_ns);
    loop {
        ctx.sleep(between(&ctx, cfg.idle_ns)).await;
        let Acquired { lease, token, hold_until_ns } = acquire(&ctx, &cfg).await;
        let writes = ctx.rng().between(1, u64::from(cfg.writes_max));
        let mut last = ctx.now_ns();
        for _ in 0..writes {
            let now = ctx.now_ns();
            if now < last || now >= hold_until_ns {
                break;
            }
            last = now;
            ctx.emit(LockObs::Believes { client: me, lease, held: true });
            // The work that produces the write: a pause here outlives the check.
            ctx.sleep(work).await;
            written += 1;
            let value = me as i64 * 1_000_000 + written;
            let w = Write { lease, token, value };
            match storage::write(&ctx, cfg.storage, &MsgCodec, w, write_timeout).await {
                Ok(WriteReply::Rejected { .. }) => break, // fenced off: a newer holder wrote
                Ok(WriteReply::Accepted) | Err(_) => {}
            }
        }
        ctx.emit(LockObs::Believes { client: me, lease, held: false });
        release_all(&ctx, &cfg, lease);
    }
}

/// The checks of `lease-lock`.
pub const CHECKS: &[Named] = &[
    Named::new(
        MUTUAL_EXCLUSION,
        "while a client's lease is live by the lock server's clock, no other client acts as the holder, \
         and the server never grants over a live lease",
    ),
    Named::new(
        FENCED_WRITES,
        "the storage never accepts a write under an older lock grant once it accepted one under a newer grant",
    ),
    Named::new(LIVENESS, "after the last heal, a client acquires the lock within the window").needing(Needs::Liveness),
];

/// Things both lock protocols refuse in a scenario.
pub(crate) fn validate_common(o: &Options, scenario: &Scenario, nodes_min: usize) -> Result<(), Invalid> {
    o.check()?;
    if scenario.workload.is_some() {
        return Err(Invalid::new("workload", "expected no workload: the lock clients are nodes of their own"));
    }
    if scenario.nodes < nodes_min {
        return Err(Invalid::new(
            "nodes",
            format!("expected at least {nodes_min} nodes (lock servers, the storage server, a client)"),
        ));
    }
    Ok(())
}

/// Places lock servers, the storage and clients, and adds the checks (with
/// `fenced-writes` if `fence_checked`) and the timeline.
pub(crate) fn place<P: Protocol<Msg = Msg, Obs = LockObs> + ?Sized>(
    s: &mut Setup<'_, P>,
    cfg: Config,
    fence_checked: bool,
) {
    let cfg = Rc::new(cfg);
    let (servers, quorum) = (cfg.servers.clone(), cfg.quorum);
    let fencing = StorageConfig { fencing: !cfg.bugs.no_fencing };
    let c = cfg.clone();
    s.role(servers.clone(), move |ctx| lock_server(ctx, c.clone()));
    s.role([cfg.storage], move |ctx| storage::serve(ctx, MsgCodec, fencing));
    let c = cfg.clone();
    s.role(cfg.clients.clone(), move |ctx| client(ctx, c.clone()));
    s.invariant(MUTUAL_EXCLUSION, || mutual_exclusion(quorum, itself));
    if fence_checked {
        s.invariant(FENCED_WRITES, || fenced_writes(quorum, itself));
    }
    s.progress("a client acquires the lock", |o| matches!(o, LockObs::Acquired { .. }));
    s.reporter(Box::new(LockTimeline::new(servers, cfg.storage, cfg.clients.clone(), itself)));
}

/// A fenced write in a label: `write 17 token 3`.
pub(crate) fn write_label(write: &Write) -> String {
    match write.token {
        Some(token) => format!("write {} token {token}", write.value),
        None => format!("write {}", write.value),
    }
}

/// A storage reply in a label: `accepted`, `rejected (highest 3)`.
pub(crate) fn write_reply_label(reply: &WriteReply) -> String {
    match reply {
        WriteReply::Accepted => "accepted".to_string(),
        WriteReply::Rejected { highest } => format!("rejected (highest {highest})"),
    }
}

/// A lock message's short label for the diagrams (`lease-lock`, `redlock`): `Grant token 3`.
pub(crate) fn msg_label(msg: &Msg) -> String {
    match msg {
        Msg::Acquire { ttl_ns, .. } => format!("Acquire ttl {}", super::secs(*ttl_ns)),
        Msg::Grant { token, .. } => format!("Grant token {token}"),
        Msg::Refuse { .. } => "Refuse".to_string(),
        Msg::Release { .. } => "Release".to_string(),
        Msg::Write { write, .. } => format!("Write {}", write_label(write).trim_start_matches("write ")),
        Msg::WriteDone { reply, .. } => format!("WriteDone {}", write_reply_label(reply)),
    }
}

/// A lock observation in plain words: `granted n5 token 3`, `n5 acquired`.
pub(crate) fn obs_label(obs: &LockObs) -> String {
    match obs {
        LockObs::Granted { client, token, .. } => format!("granted n{client} token {token}"),
        LockObs::Expired { client, .. } => format!("lease of n{client} expired"),
        LockObs::Released { client, .. } => format!("n{client} released"),
        LockObs::Restarted { .. } => "restarted".to_string(),
        LockObs::Serving { .. } => "serving".to_string(),
        LockObs::Acquired { client, token: Some(token), .. } => format!("n{client} acquired token {token}"),
        LockObs::Acquired { client, grants, .. } => format!("n{client} acquired ({grants} grants)"),
        LockObs::Believes { client, held, .. } => {
            format!("n{client} {}", if *held { "believes it holds" } else { "knows it lost" })
        }
        LockObs::WriteAccepted { client, value, .. } => format!("n{client} write {value} accepted"),
        LockObs::WriteRejected { client, value, .. } => format!("n{client} write {value} rejected"),
    }
}

/// The protocol.
pub struct LeaseLock;

impl Protocol for LeaseLock {
    type Msg = Msg;
    type Obs = LockObs;
    type Options = Options;
    fn msg_label(msg: &Msg) -> String {
        msg_label(msg)
    }
    fn obs_label(obs: &LockObs) -> String {
        obs_label(obs)
    }

    fn name(&self) -> &'static str {
        "lease-lock"
    }
    fn about(&self) -> &'static str {
        "one lock server with Redis SET NX PX leases, fencing tokens checked by the storage server"
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
        if o.servers.is_some() {
            return Err(Invalid::new("options.servers", "expected no servers option: lease-lock has one lock server"));
        }
        validate_common(o, scenario, 3)
    }

    fn setup(&self, s: &mut Setup<'_, Self>) {
        let bugs = Bugs {
            no_fencing: s.bug("no-fencing"),
            trust_local_lease: s.bug("trust-local-lease"),
            restart_without_delay: s.bug("restart-without-delay"),
        };
        let cfg = s.options().resolve(1, 1, s.node_count(), true, bugs);
        place(s, cfg, true);
    }
}
