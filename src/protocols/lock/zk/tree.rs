//! The coordination service's state machine: a ZooKeeper-like tree of
//! znodes with sessions, ephemeral and sequential nodes, `get_children`,
//! `exists` and one-shot watches, replicated by faultline's Raft (it is
//! Raft's second [`StateMachine`], beside the key-value store).
//!
//! # The tree
//! Znodes are named by absolute paths (`/lock/c-4-17-0000000003`) and kept
//! in one ordered map, so the children of a node are a range of it. Each
//! znode records the zxids (here: log indices) of its last change (znodes
//! carry no data, so that is its creation) and of its last child change,
//! its owner session if it is ephemeral, and the counter that numbers its
//! sequential children (ten digits, as ZooKeeper's). A session is created by a command and named by that
//! command's log index; its ephemeral znodes are deleted, and its watches
//! dropped, when it expires.
//!
//! # Time, replicated
//! The state never reads a clock: every replica applies the same commands
//! and reaches the same state. Time enters only through the leader, which
//! keeps the service's volatile side (the leader-side hooks of
//! [`StateMachine`]): when it last heard from each session (any request of
//! the session, a heartbeat included, counts), and which sessions it has
//! proposed to expire. On its heartbeat tick it proposes `Expire` for a
//! session silent for longer than its timeout; the command expires it on
//! every replica at the same log position. A new leader starts every
//! session's silence afresh, so a leader change never expires anyone
//! early. Heartbeats (`Ping`) are answered by the leader from this volatile
//! state and never enter the log; a session the leader has proposed to
//! expire, or that is gone, gets `SessionExpired`.
//!
//! # Watches
//! `get_children(watch)` and `exists(watch)` leave a one-shot watch for the
//! session: a child created or deleted fires the parent's children
//! watches, a znode created or deleted fires its exists watches. Firing
//! removes the watch on every replica. Notifications are sent by the node
//! that applies the change and serves the session: the leader, which
//! serves every session (clients talk only to it, as Raft's clients do).
//! Followers apply the same change and send nothing. The notification is
//! a [`ZkReply::Event`] in a `ClientReply` with the reserved sequence
//! number [`PUSH_SEQ`] (ZooKeeper's xid -1). A notification lost on the
//! network, or never sent because the leader crashed just after applying,
//! is recovered through the heartbeat: a `Ping` names the watch the client
//! waits on and the zxid it was set at, and the leader answers whether it
//! has fired since (ZooKeeper's `SetWatches` on reconnection does the
//! same with the last zxid the client saw).
//!
//! # What it reports
//! Every replica reports, at apply, the lock view of the recipe that runs
//! on it (the service itself knows nothing of locks): the lowest
//! sequential child of the lock node holds the lock, so a change of the
//! lowest child is reported as a `Granted` to its owner, ended by
//! `Released` (deleted by its client) or `Expired` (its session expired),
//! with the fencing token and lease id both the znode's sequence number.
//! It also reports the lock node's children created and deleted, and per
//! release how many watches it fired (the herd size). Each report carries
//! its log index and its place among the reports of that entry; every
//! replica makes the same reports, and the checks read each once, from
//! whichever node applied the entry first (the leader that committed it).
//!
//! Requests are deduplicated per client process: a command whose
//! `(client, seq)` is not newer than the last applied one of that client
//! (a duplicated network message) gets the first answer again. A client
//! that timed out never retries a request under the same number: as in
//! ZooKeeper after a connection loss, it cannot know whether the request
//! took effect and must find out (the lock recipe lists the children).

use std::collections::{BTreeMap, BTreeSet};

use super::super::{LockObs, Token};
use crate::protocols::raft::machine::{Effect, StateMachine};
use crate::protocols::raft::msg::{Command, LogOp};
use crate::sim::NodeId;

/// A session, named by the log index of the command that created it.
pub type SessionId = u64;

/// A change's position in the replicated order: the log index of its command.
pub type Zxid = u64;

/// The sequence number of a `ClientReply` the leader sends unasked (a watch
/// notification): ZooKeeper's xid -1. Request ids never reach it.
pub const PUSH_SEQ: u64 = u64::MAX;

/// The id under which the service's lock reports name their "server": the
/// service's first node. The grant is the service's, not one node's.
pub const SERVICE: NodeId = 0;

/// What a watch waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum WatchKind {
    /// The znode is created or deleted.
    Exists,
    /// A child of the znode is created or deleted (or the znode is deleted).
    Children,
}

/// A watch a client waits on, as its heartbeat names it: has it fired since `zxid`?
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct WatchCheck {
    /// What it waits for.
    pub kind: WatchKind,
    /// On which znode.
    pub path: String,
    /// The zxid of the reply that set it.
    pub zxid: Zxid,
}

/// A client's request to the service.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ZkOp {
    /// Open a session that expires after `timeout_ns` without a request.
    CreateSession {
        /// The session timeout, ns.
        timeout_ns: u64,
    },
    /// A heartbeat; answered by the leader, never logged.
    Ping {
        /// The session.
        session: SessionId,
        /// The watch the client waits on, to recover a lost notification.
        check: Option<WatchCheck>,
    },
    /// Create a znode (for `sequential`, `path` is the prefix of its name).
    Create {
        /// The session.
        session: SessionId,
        /// The path, or the prefix of a sequential name.
        path: String,
        /// Deleted when the session expires.
        ephemeral: bool,
        /// Append the parent's ten-digit counter to the name.
        sequential: bool,
    },
    /// Delete a znode.
    Delete {
        /// The session.
        session: SessionId,
        /// The path.
        path: String,
    },
    /// The names of a znode's children, optionally leaving a children watch.
    GetChildren {
        /// The session.
        session: SessionId,
        /// The parent.
        path: String,
        /// Leave a watch.
        watch: bool,
    },
    /// Whether a znode exists, optionally leaving an exists watch.
    Exists {
        /// The session.
        session: SessionId,
        /// The path.
        path: String,
        /// Leave a watch.
        watch: bool,
    },
    /// The leader's own command: the session stopped heartbeating.
    Expire {
        /// The session.
        session: SessionId,
    },
}

impl ZkOp {
    /// The session the request belongs to.
    pub fn session(&self) -> Option<SessionId> {
        match self {
            ZkOp::CreateSession { .. } => None,
            ZkOp::Ping { session, .. }
            | ZkOp::Create { session, .. }
            | ZkOp::Delete { session, .. }
            | ZkOp::GetChildren { session, .. }
            | ZkOp::Exists { session, .. }
            | ZkOp::Expire { session } => Some(*session),
        }
    }
}

impl LogOp for ZkOp {
    /// JSON: the service's commands are few and small; clarity over bytes.
    fn encode(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(out, self).expect("a ZkOp serialises");
    }
    fn decode(bytes: &[u8]) -> Option<ZkOp> {
        serde_json::from_slice(bytes).ok()
    }
}

/// The service's answers, and the notifications it pushes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ZkReply {
    /// A session was opened.
    Session {
        /// Its id.
        id: SessionId,
    },
    /// A znode was created under this path (its full name).
    Created {
        /// The path.
        path: String,
    },
    /// The znode was deleted.
    Deleted,
    /// A znode's children.
    Children {
        /// Their names (not paths), in name order.
        names: Vec<String>,
        /// The zxid of this read.
        zxid: Zxid,
    },
    /// Whether the znode exists.
    Stat {
        /// It does.
        exists: bool,
        /// The zxid of this read.
        zxid: Zxid,
    },
    /// The heartbeat's answer: the session lives; `fired` if the watch named fired since its zxid.
    Pong {
        /// The watch fired.
        fired: bool,
    },
    /// No such znode (or no such parent).
    NoNode,
    /// The znode exists already.
    NodeExists,
    /// The znode has children.
    NotEmpty,
    /// The session expired (or was never opened).
    SessionExpired,
    /// The leader has not applied the session's creation yet: ask again.
    NotYet,
    /// This node is not the leader: try the hinted one, if any.
    Redirect(Option<NodeId>),
    /// A watch fired (pushed with [`PUSH_SEQ`]).
    Event {
        /// The session whose watch it was.
        session: SessionId,
        /// What it waited for.
        kind: WatchKind,
        /// On which znode.
        path: String,
    },
}

/// What the service reports, at apply, on every replica.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Event {
    /// The lock view: a grant (the lowest child changed), its release or expiry.
    Lock(LockObs),
    /// A child of the lock node was created.
    Created {
        /// Its path.
        path: String,
        /// The owner session's client.
        client: NodeId,
        /// The owner session.
        session: SessionId,
    },
    /// A child of the lock node was deleted.
    Deleted {
        /// Its path.
        path: String,
        /// The owner session's client.
        client: NodeId,
    },
    /// The holder's znode `path` went (released or expired), and deleting
    /// it fired `watchers` watches (on it, and on the lock node's
    /// children): the herd it woke.
    Woken {
        /// The released znode.
        path: String,
        /// Watches fired by that entry.
        watchers: u32,
    },
}

/// One report: the entry's log index, its place among that entry's reports, and what.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Report {
    /// The log index of the entry applied.
    pub index: u64,
    /// Its place among that entry's reports, from 0.
    pub part: u32,
    /// What happened.
    pub event: Event,
}

/// What every replica's tree is built from.
#[derive(Clone, Debug)]
pub struct TreeConfig {
    /// The lock node whose lowest child holds the lock (for the reports).
    pub lock_path: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Znode {
    /// The owner session of an ephemeral znode.
    owner: Option<SessionId>,
    /// Last change of the znode itself (creation, here).
    mzxid: Zxid,
    /// Last creation or deletion of a child.
    pzxid: Zxid,
    /// The next sequential child's number.
    seq_next: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Session {
    client: NodeId,
    timeout_ns: u64,
}

/// The lock's holder in the tree: the lowest sequential child of the lock node.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Holder {
    path: String,
    seq: u64,
    client: NodeId,
}

/// The sequence number at the end of a sequential znode's name.
pub fn sequence_of(name: &str) -> Option<u64> {
    let digits = name.get(name.len().checked_sub(10)?..)?;
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

fn parent_of(path: &str) -> Option<&str> {
    match path.rfind('/') {
        Some(0) if path.len() > 1 => Some("/"),
        Some(i) if i > 0 => Some(&path[..i]),
        _ => None,
    }
}

fn child_prefix(path: &str) -> String {
    if path == "/" {
        "/".to_string()
    } else {
        format!("{path}/")
    }
}

/// The coordination tree, with the leader's volatile session clocks beside it.
#[derive(Clone, Debug)]
pub struct ZkTree {
    lock_path: String,
    nodes: BTreeMap<String, Znode>,
    sessions: BTreeMap<SessionId, Session>,
    watches: BTreeMap<(WatchKind, String), BTreeSet<SessionId>>,
    /// Per client process: its last applied request number and the answer.
    last: BTreeMap<NodeId, (u64, ZkReply)>,
    holder: Option<Holder>,
    applied: u64,
    // The leader's volatile side: not replicated, never read by `apply`.
    /// Local time each session was last heard from, since this node leads.
    heard: BTreeMap<SessionId, u64>,
    /// Sessions this leader proposed to expire.
    expiring: BTreeSet<SessionId>,
}

/// What one entry's application is producing.
struct Apply<'a, F> {
    index: u64,
    now_ns: u64,
    part: u32,
    /// Watches fired by deleting the holder's znode.
    woken: u32,
    effects: &'a mut F,
}

impl<F: FnMut(Effect<ZkReply, Report>)> Apply<'_, F> {
    fn report(&mut self, event: Event) {
        let r = Report { index: self.index, part: self.part, event };
        self.part += 1;
        (self.effects)(Effect::Observe(r));
    }
    fn send(&mut self, client: NodeId, seq: u64, response: ZkReply) {
        (self.effects)(Effect::Reply { client, seq, response });
    }
}

impl ZkTree {
    fn live(&self, session: SessionId) -> bool {
        self.sessions.contains_key(&session)
    }

    fn children(&self, path: &str) -> Vec<String> {
        let prefix = child_prefix(path);
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(p, _)| p.len() > prefix.len() && !p[prefix.len()..].contains('/'))
            .map(|(p, _)| p[prefix.len()..].to_string())
            .collect()
    }

    fn lowest_lock_child(&self) -> Option<Holder> {
        let prefix = child_prefix(&self.lock_path);
        let (name, seq) = self
            .children(&self.lock_path)
            .into_iter()
            .filter_map(|n| sequence_of(&n).map(|s| (n, s)))
            .min_by_key(|(n, s)| (*s, n.clone()))?;
        let path = format!("{prefix}{name}");
        let client = self.nodes[&path].owner.and_then(|s| self.sessions.get(&s)).map_or(usize::MAX, |s| s.client);
        Some(Holder { path, seq, client })
    }

    /// Fires the watches on `path` of `kind`; returns how many.
    fn fire<F: FnMut(Effect<ZkReply, Report>)>(&mut self, a: &mut Apply<'_, F>, kind: WatchKind, path: &str) -> u32 {
        let Some(sessions) = self.watches.remove(&(kind, path.to_string())) else { return 0 };
        let mut fired = 0;
        for session in sessions {
            if let Some(s) = self.sessions.get(&session) {
                fired += 1;
                a.send(s.client, PUSH_SEQ, ZkReply::Event { session, kind, path: path.to_string() });
            }
        }
        fired
    }

    fn watch(&mut self, kind: WatchKind, path: &str, session: SessionId) {
        self.watches.entry((kind, path.to_string())).or_default().insert(session);
    }

    fn is_lock_child(&self, path: &str) -> bool {
        parent_of(path) == Some(self.lock_path.as_str())
    }

    fn client_of(&self, owner: Option<SessionId>) -> NodeId {
        owner.and_then(|s| self.sessions.get(&s)).map_or(usize::MAX, |s| s.client)
    }

    fn create<F: FnMut(Effect<ZkReply, Report>)>(
        &mut self,
        a: &mut Apply<'_, F>,
        session: SessionId,
        path: &str,
        ephemeral: bool,
        sequential: bool,
    ) -> ZkReply {
        let Some(parent) = parent_of(path).map(str::to_string) else { return ZkReply::NoNode };
        let Some(p) = self.nodes.get_mut(&parent) else { return ZkReply::NoNode };
        let name = if sequential {
            let n = format!("{path}{:010}", p.seq_next);
            p.seq_next += 1;
            n
        } else {
            path.to_string()
        };
        if self.nodes.contains_key(&name) {
            return ZkReply::NodeExists;
        }
        let index = a.index;
        self.nodes.get_mut(&parent).expect("checked above").pzxid = index;
        let owner = ephemeral.then_some(session);
        self.nodes.insert(name.clone(), Znode { owner, mzxid: index, pzxid: index, seq_next: 0 });
        if self.is_lock_child(&name) {
            let client = self.client_of(owner);
            a.report(Event::Created { path: name.clone(), client, session });
        }
        self.fire(a, WatchKind::Exists, &name);
        self.fire(a, WatchKind::Children, &parent);
        ZkReply::Created { path: name }
    }

    fn delete<F: FnMut(Effect<ZkReply, Report>)>(&mut self, a: &mut Apply<'_, F>, path: &str) -> ZkReply {
        let Some(node) = self.nodes.get(path) else { return ZkReply::NoNode };
        if path == "/" {
            return ZkReply::NotEmpty;
        }
        if !self.children(path).is_empty() {
            return ZkReply::NotEmpty;
        }
        let owner = node.owner;
        let parent = parent_of(path).expect("not the root").to_string();
        self.nodes.remove(path);
        if let Some(p) = self.nodes.get_mut(&parent) {
            p.pzxid = a.index;
        }
        if self.is_lock_child(path) {
            let client = self.client_of(owner);
            a.report(Event::Deleted { path: path.to_string(), client });
        }
        let fired = self.fire(a, WatchKind::Exists, path)
            + self.fire(a, WatchKind::Children, path)
            + self.fire(a, WatchKind::Children, &parent);
        if self.holder.as_ref().is_some_and(|h| h.path == path) {
            // The holder's znode: these are the waiters its release wakes.
            a.woken += fired;
        }
        ZkReply::Deleted
    }

    fn expire<F: FnMut(Effect<ZkReply, Report>)>(&mut self, a: &mut Apply<'_, F>, session: SessionId) {
        if !self.live(session) {
            return;
        }
        let mine: Vec<String> =
            self.nodes.iter().filter(|(_, n)| n.owner == Some(session)).map(|(p, _)| p.clone()).collect();
        // Deepest first, so that a parent goes after its children.
        for path in mine.iter().rev() {
            self.delete(a, path);
        }
        for sessions in self.watches.values_mut() {
            sessions.remove(&session);
        }
        self.watches.retain(|_, s| !s.is_empty());
        self.sessions.remove(&session);
    }

    /// After an entry: report a change of the lock's holder.
    fn update_holder<F: FnMut(Effect<ZkReply, Report>)>(&mut self, a: &mut Apply<'_, F>, expired: bool) {
        let now = self.lowest_lock_child();
        if now == self.holder {
            return;
        }
        if let Some(old) = self.holder.take() {
            if !self.nodes.contains_key(&old.path) {
                let (server, client, lease, local_ns) = (SERVICE, old.client, old.seq, a.now_ns);
                a.report(Event::Lock(if expired {
                    LockObs::Expired { server, client, lease, local_ns }
                } else {
                    LockObs::Released { server, client, lease, local_ns }
                }));
                a.report(Event::Woken { path: old.path.clone(), watchers: a.woken });
            }
        }
        if let Some(h) = &now {
            let token: Token = h.seq;
            a.report(Event::Lock(LockObs::Granted {
                server: SERVICE,
                client: h.client,
                lease: h.seq,
                token,
                local_ns: a.now_ns,
                expires_local_ns: None,
            }));
        }
        self.holder = now;
    }

    /// Whether the watch `check` names has fired since its zxid, by this node's applied state.
    fn fired_since(&self, check: &WatchCheck) -> bool {
        if self.applied < check.zxid {
            return false;
        }
        match check.kind {
            WatchKind::Exists => self.nodes.get(&check.path).is_none_or(|n| n.mzxid > check.zxid),
            WatchKind::Children => self.nodes.get(&check.path).is_none_or(|n| n.pzxid > check.zxid),
        }
    }

    /// The children of the lock node, for tests and the checks' messages.
    pub fn lock_children(&self) -> Vec<String> {
        self.children(&self.lock_path)
    }
}

impl StateMachine for ZkTree {
    type Op = ZkOp;
    type Response = ZkReply;
    type Config = TreeConfig;
    type Obs = Report;
    const SERVICE: bool = true;

    fn new(config: &TreeConfig) -> ZkTree {
        let root = Znode { owner: None, mzxid: 0, pzxid: 0, seq_next: 0 };
        ZkTree {
            lock_path: config.lock_path.clone(),
            nodes: BTreeMap::from([("/".to_string(), root)]),
            sessions: BTreeMap::new(),
            watches: BTreeMap::new(),
            last: BTreeMap::new(),
            holder: None,
            applied: 0,
            heard: BTreeMap::new(),
            expiring: BTreeSet::new(),
        }
    }

    fn apply<F: FnMut(Effect<ZkReply, Report>)>(
        &mut self,
        index: u64,
        now_ns: u64,
        cmd: &Command<ZkOp>,
        dedup: bool,
        effects: &mut F,
    ) {
        assert!(index > self.applied, "entries apply in log order ({} then {index})", self.applied);
        self.applied = index;
        let mut a = Apply { index, now_ns, part: 0, woken: 0, effects };
        if let ZkOp::Expire { session } = cmd.op {
            self.expiring.remove(&session);
            self.expire(&mut a, session);
            self.update_holder(&mut a, true);
            return;
        }
        if dedup {
            if let Some((seq, reply)) = self.last.get(&cmd.client) {
                if cmd.seq <= *seq {
                    // A duplicate of an applied request: no effect, the same answer.
                    let reply = reply.clone();
                    a.send(cmd.client, cmd.seq, reply);
                    return;
                }
            }
        }
        let reply = match &cmd.op {
            ZkOp::CreateSession { timeout_ns } => {
                self.sessions.insert(index, Session { client: cmd.client, timeout_ns: *timeout_ns });
                ZkReply::Session { id: index }
            }
            op if op.session().is_some_and(|s| !self.live(s)) => ZkReply::SessionExpired,
            ZkOp::Create { session, path, ephemeral, sequential } => {
                self.create(&mut a, *session, path, *ephemeral, *sequential)
            }
            ZkOp::Delete { path, .. } => self.delete(&mut a, path),
            ZkOp::GetChildren { session, path, watch } => {
                if !self.nodes.contains_key(path) {
                    ZkReply::NoNode
                } else {
                    if *watch {
                        self.watch(WatchKind::Children, path, *session);
                    }
                    ZkReply::Children { names: self.children(path), zxid: index }
                }
            }
            ZkOp::Exists { session, path, watch } => {
                if *watch {
                    self.watch(WatchKind::Exists, path, *session);
                }
                ZkReply::Stat { exists: self.nodes.contains_key(path), zxid: index }
            }
            // Heartbeats are the leader's and never logged; one that is gets no answer.
            ZkOp::Ping { .. } => ZkReply::NotYet,
            ZkOp::Expire { .. } => unreachable!("handled above"),
        };
        self.update_holder(&mut a, false);
        self.last.insert(cmd.client, (cmd.seq, reply.clone()));
        a.send(cmd.client, cmd.seq, reply);
    }

    fn redirect(leader: Option<NodeId>) -> ZkReply {
        ZkReply::Redirect(leader)
    }

    fn on_leader_start(&mut self, _now_ns: u64) {
        // Every session's silence starts afresh (at first sight, in `propose`).
        self.heard.clear();
        self.expiring.clear();
    }

    fn serve(&mut self, _client: NodeId, op: &ZkOp, now_ns: u64) -> Option<ZkReply> {
        let session = op.session()?;
        let live = self.live(session) && !self.expiring.contains(&session);
        if live {
            self.heard.insert(session, now_ns);
        }
        let ZkOp::Ping { check, .. } = op else { return None };
        Some(if session > self.applied {
            ZkReply::NotYet
        } else if !live {
            ZkReply::SessionExpired
        } else {
            ZkReply::Pong { fired: check.as_ref().is_some_and(|c| self.fired_since(c)) }
        })
    }

    fn propose(&mut self, now_ns: u64) -> Option<ZkOp> {
        let ZkTree { sessions, heard, expiring, .. } = self;
        for (&session, s) in sessions.iter() {
            if expiring.contains(&session) {
                continue;
            }
            let last = *heard.entry(session).or_insert(now_ns);
            if now_ns.saturating_sub(last) > s.timeout_ns {
                expiring.insert(session);
                return Some(ZkOp::Expire { session });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(tree: &mut ZkTree, index: u64, client: NodeId, op: ZkOp) -> (Vec<(NodeId, u64, ZkReply)>, Vec<Report>) {
        let (mut replies, mut reports) = (Vec::new(), Vec::new());
        let cmd = Command { client, seq: index, op };
        tree.apply(index, 0, &cmd, true, &mut |e| match e {
            Effect::Reply { client, seq, response } => replies.push((client, seq, response)),
            Effect::Observe(r) => reports.push(r),
        });
        (replies, reports)
    }

    #[test]
    fn sequential_ephemeral_nodes_watches_and_expiry() {
        let mut t = ZkTree::new(&TreeConfig { lock_path: "/lock".into() });
        assert_eq!(run(&mut t, 1, 7, ZkOp::CreateSession { timeout_ns: 1 }).0[0].2, ZkReply::Session { id: 1 });
        assert_eq!(run(&mut t, 2, 8, ZkOp::CreateSession { timeout_ns: 1 }).0[0].2, ZkReply::Session { id: 2 });
        let create = |s: SessionId, path: &str, seq| ZkOp::Create {
            session: s,
            path: path.into(),
            ephemeral: seq,
            sequential: seq,
        };
        run(&mut t, 3, 7, create(1, "/lock", false));
        let (r, rep) = run(&mut t, 4, 7, create(1, "/lock/c-7-1-", true));
        assert_eq!(r[0].2, ZkReply::Created { path: "/lock/c-7-1-0000000000".into() });
        assert!(matches!(rep[1].event, Event::Lock(LockObs::Granted { client: 7, token: 0, .. })), "{rep:?}");
        let (r, _) = run(&mut t, 5, 8, create(2, "/lock/c-8-2-", true));
        assert_eq!(r[0].2, ZkReply::Created { path: "/lock/c-8-2-0000000001".into() });
        let exists = ZkOp::Exists { session: 2, path: "/lock/c-7-1-0000000000".into(), watch: true };
        assert_eq!(run(&mut t, 6, 8, exists).0[0].2, ZkReply::Stat { exists: true, zxid: 6 });
        // Session 1 expires: its node goes, client 8's watch fires, and client 8 holds.
        let (r, rep) = run(&mut t, 7, 0, ZkOp::Expire { session: 1 });
        assert_eq!(r.len(), 1, "one notification: {r:?}");
        assert_eq!(r[0].0, 8);
        assert_eq!(r[0].1, PUSH_SEQ);
        let kinds: Vec<String> = rep.iter().map(|r| format!("{:?}", r.event)).collect();
        assert!(kinds[1].contains("expired"), "{kinds:?}");
        assert_eq!(rep[2].event, Event::Woken { path: "/lock/c-7-1-0000000000".into(), watchers: 1 });
        assert!(matches!(rep[3].event, Event::Lock(LockObs::Granted { client: 8, token: 1, .. })));
        assert_eq!(t.lock_children(), ["c-8-2-0000000001"]);
        // A request of the expired session is refused; a duplicate gets the first answer.
        assert_eq!(run(&mut t, 8, 7, create(1, "/lock/c-7-1-", true)).0[0].2, ZkReply::SessionExpired);
        let dup = Command { client: 8, seq: 5, op: create(2, "/lock/c-8-2-", true) };
        let mut replies = Vec::new();
        t.apply(9, 0, &dup, true, &mut |e| {
            if let Effect::Reply { response, .. } = e {
                replies.push(response)
            }
        });
        assert_eq!(replies, [ZkReply::Stat { exists: true, zxid: 6 }], "the last answer of client 8, again");
        assert_eq!(t.lock_children().len(), 1);
    }

    #[test]
    fn the_leader_expires_silent_sessions_and_answers_heartbeats() {
        let mut t = ZkTree::new(&TreeConfig { lock_path: "/lock".into() });
        run(&mut t, 1, 7, ZkOp::CreateSession { timeout_ns: 100 });
        t.on_leader_start(1_000);
        assert_eq!(t.propose(1_000), None, "first sight starts the clock");
        let ping = ZkOp::Ping { session: 1, check: None };
        assert_eq!(t.serve(7, &ping, 1_050), Some(ZkReply::Pong { fired: false }));
        assert_eq!(t.propose(1_140), None);
        assert_eq!(t.propose(1_151), Some(ZkOp::Expire { session: 1 }));
        assert_eq!(t.propose(1_200), None, "proposed once");
        assert_eq!(t.serve(7, &ping, 1_210), Some(ZkReply::SessionExpired));
        assert_eq!(t.serve(7, &ZkOp::Ping { session: 5, check: None }, 1_210), Some(ZkReply::NotYet));
        assert_eq!(sequence_of("c-1-2-0000000042"), Some(42));
        assert_eq!(sequence_of("x"), None);
    }
}
