//! The coordination service's client side, and the ZooKeeper lock recipe
//! on it ("Recipes and Solutions" in the ZooKeeper documentation).
//!
//! # The client API
//! [`Conn`] sends a request to the node it believes leads, follows
//! redirects, and rotates to the next server on a timeout. A redirect means
//! the request was not taken, so it is retried; a timeout means the client
//! cannot know (the request may be in the log), so the caller is told
//! [`Failure::Unknown`] and decides, as a ZooKeeper client after a
//! connection loss. Requests and replies are matched by the kernel's call
//! ids (`Ctx::call`), which double as the requests' sequence numbers.
//!
//! A [`Session`] is opened by a command and kept alive by a heartbeat task
//! that pings the leader every `ping_every`. The client keeps a *lease* on
//! its session: a ping sent at `t` and answered extends it to `t +
//! lease`, where `lease` is two thirds of the session timeout (ZooKeeper's
//! client declares itself disconnected after the same), and only if the
//! lease was still running at `t`: a lapsed lease is never revived. The
//! service expires a session no earlier than one timeout after the last
//! request it heard (by its leader's clock), so a client whose lease runs
//! knows its session, and its ephemeral znodes, are still there. The
//! remaining third covers the message delays and a deposed leader that
//! still answers pings for a moment. A client whose lease lapsed, or who
//! is told `SessionExpired`, abandons the session and opens another.
//!
//! # The lock recipe
//! To acquire, a client creates an ephemeral sequential znode
//! `/lock/c-<client>-<session>-<seq>` (the client and session in the name
//! are its "GUID": they let it find its own znode), lists the children of
//! `/lock`, and holds the lock if its znode is the lowest. Otherwise it
//! sets an exists watch on the znode just below its own, its predecessor,
//! and waits for it to fire (or for the heartbeat to say it fired), then
//! lists again. Each waiter watches a different znode, so a release wakes
//! one waiter, not the herd. If a create's reply is lost, the client lists
//! the children and looks for a znode with its own name prefix before it
//! creates another; it deletes any second znode of its own it finds.
//!
//! A holder writes to the fencing storage server (`lock/storage.rs`) with
//! its znode's sequence number as the fencing token. Right before each
//! write it checks its session lease and stops being the holder if it ran
//! out; the check and the write's send happen in one step. It releases
//! by deleting its znode.
//!
//! Planted bugs, each marked `// BUG(name):` below: `herd` (waiters watch
//! the lock node's children), `blind-retry-create` (a lost create reply
//! makes a second znode), `ignore-session-expiry` (a holder whose session
//! lease ran out goes on writing).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use super::tree::{sequence_of, SessionId, WatchCheck, WatchKind, ZkOp, ZkReply, PUSH_SEQ};
use super::{ClientEvent, Msg, Obs, RaftMsg, StoreCodec};
use crate::coro::Sender;
use crate::node::Ctx;
use crate::protocols::lock::storage::{self, Write, WriteReply};
use crate::protocols::lock::{LockObs, Token};
use crate::sim::{Nanos, NodeId};

/// Planted bugs of the clients, each off in the correct recipe.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bugs {
    /// Waiters watch the lock node's children instead of their predecessor.
    pub herd: bool,
    /// A client whose create reply was lost creates again without looking.
    pub blind_retry_create: bool,
    /// A holder does not check its session lease before a write.
    pub ignore_session_expiry: bool,
}

/// Everything a lock client needs.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The service's nodes are `0..servers`.
    pub servers: usize,
    /// The storage server.
    pub storage: NodeId,
    /// The lock node.
    pub lock_path: String,
    /// The session timeout asked for, ns.
    pub session_timeout_ns: Nanos,
    /// The client's lease on its session after an answered ping, ns.
    pub lease_ns: Nanos,
    /// Time between heartbeats, ns.
    pub ping_every_ns: Nanos,
    /// How long a request waits for its answer, ns.
    pub request_timeout_ns: Nanos,
    /// How long a write waits for the storage's answer, ns.
    pub write_timeout_ns: Nanos,
    /// Work between two writes of a holder, ns.
    pub work_ns: Nanos,
    /// Most writes per acquisition (each draws `1..=writes_max`).
    pub writes_max: u32,
    /// `[min, max]` wait between releasing and acquiring again, ns.
    pub idle_ns: (Nanos, Nanos),
    /// Whether writes carry the fencing token.
    pub fenced: bool,
    /// Planted bugs.
    pub bugs: Bugs,
}

/// Why a request has no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No leader took it (redirects all the way): it did not take effect.
    NotTaken,
    /// It timed out: it may or may not have taken effect.
    Unknown,
}

/// The session, or the client's hold on it, is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lost;

/// Requests to the service: the leader guess, redirects and rotation.
pub struct Conn {
    ctx: Ctx<Msg, Obs>,
    cfg: Rc<ClientConfig>,
    target: Cell<NodeId>,
}

impl Conn {
    /// A connection that first asks a random server.
    pub fn new(ctx: Ctx<Msg, Obs>, cfg: Rc<ClientConfig>) -> Conn {
        let target = ctx.rng().index(cfg.servers);
        Conn { ctx, cfg, target: Cell::new(target) }
    }

    fn rotate(&self) {
        self.target.set((self.target.get() + 1) % self.cfg.servers);
    }

    /// Sends `op` until a leader answers or the time runs out.
    pub async fn request(&self, op: &ZkOp, timeout_ns: Nanos) -> Result<ZkReply, Failure> {
        let timeout = Duration::from_nanos(timeout_ns);
        for _ in 0..3 * self.cfg.servers {
            let to = self.target.get();
            let op = op.clone();
            let reply = self.ctx.call(to, |id| Msg::Raft(RaftMsg::ClientRequest { seq: id, op }), timeout).await;
            let Ok(Msg::Raft(RaftMsg::ClientReply { response, .. })) = reply else {
                self.rotate();
                return Err(Failure::Unknown);
            };
            match response {
                ZkReply::Redirect(hint) => {
                    match hint {
                        Some(h) if h != to && h < self.cfg.servers => self.target.set(h),
                        _ => {
                            self.rotate();
                            // No leader known: give an election time before asking again.
                            self.ctx.sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                other => return Ok(other),
            }
        }
        Err(Failure::NotTaken)
    }
}

/// A session as the client sees it, shared by the recipe and the heartbeat.
pub struct Session {
    /// The session's id.
    pub id: SessionId,
    /// Until when (local clock) the session is surely alive.
    lease_end_ns: Cell<Nanos>,
    /// The service said it expired.
    expired: Cell<bool>,
    /// The watch being waited on, for the heartbeat to check.
    watching: RefCell<Option<WatchCheck>>,
    /// The heartbeat learned that the watch fired.
    fired: Cell<bool>,
}

impl Session {
    /// Whether the client can no longer count on the session.
    fn lost(&self, now_ns: Nanos) -> bool {
        self.expired.get() || now_ns >= self.lease_end_ns.get()
    }
}

/// The heartbeat: pings every `ping_every`, extends the lease, checks the watch.
async fn heartbeat(conn: Rc<Conn>, session: Rc<Session>, wake: Sender<()>) {
    let ctx = conn.ctx.clone();
    let cfg = conn.cfg.clone();
    let ping_timeout = cfg.request_timeout_ns / 2;
    loop {
        ctx.sleep(Duration::from_nanos(cfg.ping_every_ns)).await;
        loop {
            let sent = ctx.now_ns();
            if session.lost(sent) {
                let _ = wake.try_send(());
                return;
            }
            let check = session.watching.borrow().clone();
            match conn.request(&ZkOp::Ping { session: session.id, check }, ping_timeout).await {
                Ok(ZkReply::Pong { fired }) => {
                    if sent < session.lease_end_ns.get() {
                        let end = session.lease_end_ns.get().max(sent.saturating_add(cfg.lease_ns));
                        session.lease_end_ns.set(end);
                    }
                    if fired {
                        session.fired.set(true);
                        let _ = wake.try_send(());
                    }
                    break;
                }
                Ok(ZkReply::SessionExpired) => {
                    session.expired.set(true);
                    let _ = wake.try_send(());
                    return;
                }
                // Not yet known to this leader, or no answer: ask again soon.
                _ => ctx.sleep(Duration::from_millis(10)).await,
            }
        }
    }
}

/// How a wait for a watch ended.
enum Woken {
    /// The watch fired (or may have: the client lists again).
    Fired,
    /// The session is gone.
    Lost,
}

/// One lock client: its connection, its session and its writes.
struct Client {
    ctx: Ctx<Msg, Obs>,
    cfg: Rc<ClientConfig>,
    conn: Rc<Conn>,
    me: NodeId,
    written: Cell<i64>,
}

/// A session with its heartbeat task and the channel the heartbeat wakes the recipe on.
struct Live {
    session: Rc<Session>,
    heartbeat: crate::coro::JoinHandle<()>,
    wake: crate::coro::Receiver<()>,
    /// The client's znode under the lock, once it has one.
    mine: Option<String>,
}

impl Client {
    fn lost(&self, live: &Live) -> bool {
        live.session.lost(self.ctx.now_ns())
    }

    /// Opens a session (retrying until one is granted) and starts its heartbeat.
    async fn open(&self) -> Live {
        loop {
            let sent = self.ctx.now_ns();
            let op = ZkOp::CreateSession { timeout_ns: self.cfg.session_timeout_ns };
            if let Ok(ZkReply::Session { id }) = self.conn.request(&op, self.cfg.request_timeout_ns).await {
                // A session whose answer was lost simply expires: it has no znodes.
                let session = Rc::new(Session {
                    id,
                    lease_end_ns: Cell::new(sent.saturating_add(self.cfg.lease_ns)),
                    expired: Cell::new(false),
                    watching: RefCell::new(None),
                    fired: Cell::new(false),
                });
                let (tx, rx) = self.ctx.channel();
                let heartbeat = self.ctx.spawn(heartbeat(self.conn.clone(), session.clone(), tx));
                return Live { session, heartbeat, wake: rx, mine: None };
            }
            self.ctx.sleep(Duration::from_millis(10)).await;
        }
    }

    /// Gives a session up: stops its heartbeat; its znodes go when the service expires it.
    fn abandon(&self, live: Live) {
        live.heartbeat.cancel();
        if let Some(path) = live.mine {
            self.ctx.emit(Obs::Client(ClientEvent::Disowns { client: self.me, path }));
        }
    }

    /// A request that may be repeated (a read), until it is answered or the session is lost.
    async fn read(&self, live: &Live, op: ZkOp) -> Result<ZkReply, Lost> {
        loop {
            if self.lost(live) {
                return Err(Lost);
            }
            match self.conn.request(&op, self.cfg.request_timeout_ns).await {
                Ok(ZkReply::SessionExpired) => {
                    live.session.expired.set(true);
                    return Err(Lost);
                }
                Ok(reply) => return Ok(reply),
                Err(_) => {}
            }
        }
    }

    /// The lock node's children, and the zxid of the listing.
    async fn children(&self, live: &Live, watch: bool) -> Result<(Vec<String>, u64), Lost> {
        loop {
            let op = ZkOp::GetChildren { session: live.session.id, path: self.cfg.lock_path.clone(), watch };
            match self.read(live, op).await? {
                ZkReply::Children { names, zxid } => return Ok((names, zxid)),
                ZkReply::NoNode => self.make_lock_node(live).await?,
                _ => {}
            }
        }
    }

    /// Creates the (persistent) lock node if it is missing.
    async fn make_lock_node(&self, live: &Live) -> Result<(), Lost> {
        let op = ZkOp::Create {
            session: live.session.id,
            path: self.cfg.lock_path.clone(),
            ephemeral: false,
            sequential: false,
        };
        // Created or NodeExists both do; a lost answer is found out by the next listing.
        self.read(live, op).await.map(|_| ())
    }

    fn own_prefix(&self, live: &Live) -> String {
        format!("c-{}-{}-", self.me, live.session.id)
    }

    /// Creates the client's sequential znode; returns its name.
    async fn create_own(&self, live: &Live) -> Result<String, Lost> {
        let prefix = self.own_prefix(live);
        let path = format!("{}/{prefix}", self.cfg.lock_path);
        loop {
            if self.lost(live) {
                return Err(Lost);
            }
            let op = ZkOp::Create { session: live.session.id, path: path.clone(), ephemeral: true, sequential: true };
            match self.conn.request(&op, self.cfg.request_timeout_ns).await {
                Ok(ZkReply::Created { path }) => {
                    return Ok(path.rsplit('/').next().expect("a path has a name").to_string());
                }
                Ok(ZkReply::SessionExpired) => {
                    live.session.expired.set(true);
                    return Err(Lost);
                }
                Ok(ZkReply::NoNode) => self.make_lock_node(live).await?,
                Ok(_) | Err(Failure::NotTaken) => {}
                Err(Failure::Unknown) => {
                    if self.cfg.bugs.blind_retry_create {
                        // BUG(blind-retry-create): the create may have taken effect; the
                        // client creates another znode without looking for the first.
                        continue;
                    }
                    // The create may have taken effect: look for a znode of ours.
                    let (names, _) = self.children(live, false).await?;
                    if let Some(name) = lowest(names.iter().filter(|n| n.starts_with(&prefix))) {
                        return Ok(name.clone());
                    }
                }
            }
        }
    }

    /// Waits until the watch fires, the heartbeat says it did, or the session is lost.
    async fn wait(&self, live: &mut Live, check: WatchCheck) -> Woken {
        live.session.fired.set(false);
        *live.session.watching.borrow_mut() = Some(check.clone());
        let woken = loop {
            if live.session.fired.get() {
                break Woken::Fired;
            }
            if self.lost(live) {
                break Woken::Lost;
            }
            let until = live.session.lease_end_ns.get();
            let event = crate::select! {
                env = self.ctx.recv() => match env.msg {
                    Msg::Raft(RaftMsg::ClientReply { seq: PUSH_SEQ, response: ZkReply::Event { session, kind, path } }) => {
                        session == live.session.id && kind == check.kind && path == check.path
                    }
                    _ => false,
                },
                _ = live.wake.recv() => false,
                () = self.ctx.sleep_until_ns(until) => false,
            };
            if event {
                break Woken::Fired;
            }
        };
        *live.session.watching.borrow_mut() = None;
        woken
    }

    /// The recipe's acquire: returns the client's znode once it is the lowest.
    async fn acquire(&self, live: &mut Live) -> Result<(String, u64), Lost> {
        let prefix = self.own_prefix(live);
        let mine = self.create_own(live).await?;
        live.mine = Some(mine.clone());
        self.ctx.emit(Obs::Client(ClientEvent::Owns { client: self.me, path: self.path(&mine) }));
        let seq = sequence_of(&mine).expect("a sequential name");
        loop {
            // BUG(herd): with the bug, the listing leaves a watch on the lock node's children.
            let (mut names, zxid) = self.children(live, self.cfg.bugs.herd).await?;
            if !names.contains(&mine) {
                // Our znode is gone: the session expired under us.
                return Err(Lost);
            }
            if !self.cfg.bugs.blind_retry_create {
                // A second znode of ours (a create that took effect late) is deleted.
                for extra in names.iter().filter(|n| n.starts_with(&prefix) && **n != mine) {
                    let op = ZkOp::Delete { session: live.session.id, path: self.path(extra) };
                    self.read(live, op).await?;
                }
                names.retain(|n| !n.starts_with(&prefix) || *n == mine);
            }
            names.retain(|n| sequence_of(n).is_some());
            names.sort_by_key(|n| (sequence_of(n), n.clone()));
            let at = names.iter().position(|n| *n == mine).expect("ours is listed");
            if at == 0 {
                return Ok((mine, seq));
            }
            let check = if self.cfg.bugs.herd {
                // BUG(herd): wait for any change of the lock node's children, like every other waiter.
                WatchCheck { kind: WatchKind::Children, path: self.cfg.lock_path.clone(), zxid }
            } else {
                let predecessor = self.path(&names[at - 1]);
                let op = ZkOp::Exists { session: live.session.id, path: predecessor.clone(), watch: true };
                match self.read(live, op).await? {
                    ZkReply::Stat { exists: true, zxid } => {
                        WatchCheck { kind: WatchKind::Exists, path: predecessor, zxid }
                    }
                    _ => continue, // gone already: list again
                }
            };
            if let Woken::Lost = self.wait(live, check).await {
                return Err(Lost);
            }
        }
    }

    fn path(&self, name: &str) -> String {
        format!("{}/{name}", self.cfg.lock_path)
    }

    /// Holds the lock: up to `writes` writes, each right after a lease check.
    /// Returns whether the session is still good.
    async fn hold(&self, live: &Live, seq: u64) -> bool {
        let me = self.me;
        let token: Token = seq;
        if self.lost(live) {
            // The listing that made us the lowest is older than our session's lease
            // (a pause after it came in): the session may be gone, and the lock with it.
            return false;
        }
        self.ctx.emit(Obs::Lock(LockObs::Acquired { client: me, lease: seq, token: Some(token), grants: 1 }));
        let writes = self.ctx.rng().between(1, u64::from(self.cfg.writes_max));
        let timeout = Duration::from_nanos(self.cfg.write_timeout_ns);
        let mut good = true;
        for _ in 0..writes {
            if self.lost(live) {
                if self.cfg.bugs.ignore_session_expiry {
                    // BUG(ignore-session-expiry): the session lease ran out (the
                    // service may have expired the session and granted the lock
                    // to the next client), but the holder goes on writing.
                } else {
                    good = false;
                    break;
                }
            }
            // The check above and the write's send below happen in one step.
            self.ctx.emit(Obs::Lock(LockObs::Believes { client: me, lease: seq, held: true }));
            self.written.set(self.written.get() + 1);
            let value = me as i64 * 1_000_000 + self.written.get();
            let write = Write { lease: seq, token: self.cfg.fenced.then_some(token), value };
            if let Ok(WriteReply::Rejected { .. }) =
                storage::write(&self.ctx, self.cfg.storage, &StoreCodec, write, timeout).await
            {
                // Fenced off: a newer holder wrote, so our session is gone.
                good = false;
                break;
            }
            self.ctx.sleep(Duration::from_nanos(self.cfg.work_ns)).await;
        }
        self.ctx.emit(Obs::Lock(LockObs::Believes { client: me, lease: seq, held: false }));
        good && !self.lost(live)
    }

    /// Releases the lock: deletes the client's znode.
    async fn release(&self, live: &mut Live) -> Result<(), Lost> {
        let Some(mine) = live.mine.clone() else { return Ok(()) };
        let op = ZkOp::Delete { session: live.session.id, path: self.path(&mine) };
        self.read(live, op).await?;
        live.mine = None;
        self.ctx.emit(Obs::Client(ClientEvent::Disowns { client: self.me, path: self.path(&mine) }));
        Ok(())
    }
}

/// The name with the lowest sequence number.
fn lowest<'a>(names: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    names.filter(|n| sequence_of(n).is_some()).min_by_key(|n| (sequence_of(n), (*n).clone()))
}

fn between(ctx: &Ctx<Msg, Obs>, (lo, hi): (Nanos, Nanos)) -> Duration {
    Duration::from_nanos(ctx.rng().between(lo, hi))
}

/// A lock client's entry point: acquire, write, release, again; a new
/// session whenever the old one is lost.
pub async fn run(ctx: Ctx<Msg, Obs>, cfg: Rc<ClientConfig>) {
    let conn = Rc::new(Conn::new(ctx.clone(), cfg.clone()));
    let client = Client { me: ctx.id(), ctx: ctx.clone(), cfg: cfg.clone(), conn, written: Cell::new(0) };
    let mut live: Option<Live> = None;
    loop {
        ctx.sleep(between(&ctx, cfg.idle_ns)).await;
        let mut l = match live.take() {
            Some(l) if !client.lost(&l) => l,
            old => {
                if let Some(old) = old {
                    client.abandon(old);
                }
                client.open().await
            }
        };
        let ok = match client.acquire(&mut l).await {
            Ok((_, seq)) => client.hold(&l, seq).await && client.release(&mut l).await.is_ok(),
            Err(Lost) => false,
        };
        if ok {
            live = Some(l);
        } else {
            client.abandon(l);
        }
    }
}
