//! `zk-lock`: the ZooKeeper lock recipe on a coordination service that is
//! replicated with faultline's own Raft.
//!
//! # The service
//! ZooKeeper keeps a small tree of *znodes* consistent on a few servers
//! and gives clients sessions, ephemeral and sequential znodes and
//! one-shot watches; recipes build locks, barriers and elections out of
//! those. Here the tree ([`tree`]) is a [`StateMachine`] that Raft's node
//! code replicates exactly as it replicates the key-value store: Raft was
//! made generic over its state machine rather than written a second time
//! (see `protocols/raft/machine.rs`). The service runs on nodes
//! `0..servers`; clients talk to its leader, which answers heartbeats
//! from its own volatile clocks, proposes the expiry of sessions that went
//! silent (a command, so every replica expires a session at the same point
//! of the log), and sends the watch notifications of the changes it applies.
//!
//! # The lock recipe
//! From "ZooKeeper Recipes and Solutions": every client that wants the lock
//! creates an ephemeral sequential znode under `/lock`, lists the
//! children, and holds the lock if its znode has the lowest sequence
//! number. Otherwise it watches only the znode just below its own, so that
//! a release wakes exactly one waiter (watching the lock node itself wakes
//! all of them at each change: the *herd effect*). A holder that crashes or
//! is cut off loses its session after the session timeout, and with it its
//! znode: the lock passes on without anyone releasing it. That is also its
//! danger: a holder that is merely paused for longer than the timeout
//! comes back still believing it holds the lock. The client keeps a lease on
//! its session (two thirds of the timeout after its last answered
//! heartbeat) and checks it before each write, and the storage server it
//! writes to fences writes by the znode's sequence number, which grows
//! with every holder. See [`client`] for the client and the recipe.
//!
//! Node layout: the service's servers first (`servers`, default 3), then
//! the fencing storage server (`lock/storage.rs`, shared with `lease-lock`),
//! then the lock clients (every node after it).
//!
//! # Invariants promised
//! - `mutual-exclusion` and `fenced-writes`, the shared lock checks of
//!   `lock/invariants.rs`, with the service as the one lock server: it
//!   grants the lock to the owner of the lowest child of `/lock` when the
//!   committing leader applies the change, and the grant ends when that
//!   znode is deleted (released) or its session expires (expired).
//! - `no-orphans` (end of run): no sequential znode belongs to a client
//!   that no longer waits for it.
//! - `no-herd`: no release wakes more than one waiter; the measured herd
//!   size (watch notifications per release) is in `summary.json` as
//!   `herd_size_max` and `herd_size_mean`.
//! - `liveness` (the library's): after the last heal, a client acquires
//!   the lock within the scenario's window.
//! - Raft's `election-safety`, `log-matching`, `leader-completeness` and
//!   `state-machine-safety` on the service's nodes.
//!
//! # Planted bugs
//! `herd`, `blind-retry-create`, `ignore-session-expiry` (see [`BUGS`] and
//! the `// BUG(name):` marks in [`client`]).
//!
//! # Options (`options` in the scenario)
//! `servers` (3), `session_timeout` (`"1s"`), `ping_every` (a third of the
//! timeout), `request_timeout` (`"200ms"`), `fencing` (`true`: the storage
//! rejects stale tokens), `work` (`"20ms"`), `writes` (3), `idle`
//! (`["50ms", "300ms"]`), `write_timeout` (`"100ms"`), and Raft's
//! `election_timeout` (`["150ms", "300ms"]`) and `heartbeat` (`"50ms"`).

pub mod client;
pub mod invariants;
pub mod tree;

use std::fmt;
use std::rc::Rc;

use serde::Deserialize;

use super::invariants::{fenced_writes, mutual_exclusion, FENCED_WRITES, MUTUAL_EXCLUSION};
use super::report::LockTimeline;
use super::storage::{self, StorageCodec, StorageConfig, Write, WriteReply};
use super::LockObs;
use crate::coro::{Correlated, RequestId};
use crate::kit::{Invalid, Named, Needs, Protocol, Setup, LIVENESS};
use crate::protocols::raft;
use crate::protocols::raft::machine::Carries;
use crate::scenario::{Dur, Scenario};
use crate::sim::NodeId;
use invariants::{HerdStats, NoHerd, NoOrphans, NO_HERD, NO_ORPHANS};
use tree::{Report, TreeConfig, ZkOp, ZkReply, ZkTree, PUSH_SEQ, SERVICE};

/// Raft's messages for the coordination tree.
pub type RaftMsg = raft::Msg<ZkOp, ZkReply>;

/// Everything that travels in a `zk-lock` run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    /// Raft between the service's nodes, and client requests and replies.
    Raft(RaftMsg),
    /// A write to the storage server.
    Write {
        /// The call.
        id: RequestId,
        /// The write.
        write: Write,
    },
    /// The storage's answer.
    WriteDone {
        /// The call answered.
        id: RequestId,
        /// Accepted or fenced off.
        reply: WriteReply,
    },
}

impl Carries<RaftMsg> for Msg {
    fn wrap(inner: RaftMsg) -> Msg {
        Msg::Raft(inner)
    }
    fn unwrap(self) -> Result<RaftMsg, Msg> {
        match self {
            Msg::Raft(m) => Ok(m),
            other => Err(other),
        }
    }
}

impl Correlated for Msg {
    fn reply_to(&self) -> Option<RequestId> {
        match self {
            Msg::Raft(RaftMsg::ClientReply { seq, .. }) if *seq != PUSH_SEQ => Some(*seq),
            Msg::WriteDone { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// How `zk-lock` carries the storage's writes.
#[derive(Clone, Copy, Debug, Default)]
pub struct StoreCodec;

impl StorageCodec<Msg> for StoreCodec {
    fn write_of(&self, msg: &Msg) -> Option<(RequestId, Write)> {
        match msg {
            Msg::Write { id, write } => Some((*id, write.clone())),
            _ => None,
        }
    }
    fn request(&self, id: RequestId, write: Write) -> Msg {
        Msg::Write { id, write }
    }
    fn reply(&self, id: RequestId, reply: WriteReply) -> Msg {
        Msg::WriteDone { id, reply }
    }
    fn reply_of(&self, msg: &Msg) -> Option<WriteReply> {
        match msg {
            Msg::WriteDone { reply, .. } => Some(reply.clone()),
            _ => None,
        }
    }
}

/// What a lock client says about its own znode, for `no-orphans`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ClientEvent {
    /// The client holds or waits on this znode.
    Owns {
        /// The client.
        client: NodeId,
        /// The znode's path.
        path: String,
    },
    /// The client no longer does (it released it, or gave its session up).
    Disowns {
        /// The client.
        client: NodeId,
        /// The znode's path.
        path: String,
    },
}

/// What `zk-lock`'s nodes report.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Obs {
    /// The service's Raft.
    Raft(raft::invariants::Obs),
    /// Lock clients and the storage, in the shared lock vocabulary.
    Lock(LockObs),
    /// The service's tree, from every replica at apply.
    Service(Report),
    /// A lock client about its znode.
    Client(ClientEvent),
}

impl fmt::Debug for Obs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Obs::Raft(o) => write!(f, "{o:?}"),
            Obs::Lock(o) => write!(f, "{o:?}"),
            Obs::Service(r) => write!(f, "#{} {:?}", r.index, r.event),
            Obs::Client(c) => write!(f, "{c:?}"),
        }
    }
}

impl From<raft::invariants::Obs> for Obs {
    fn from(o: raft::invariants::Obs) -> Obs {
        Obs::Raft(o)
    }
}

impl From<LockObs> for Obs {
    fn from(o: LockObs) -> Obs {
        Obs::Lock(o)
    }
}

impl From<Report> for Obs {
    fn from(r: Report) -> Obs {
        Obs::Service(r)
    }
}

/// The `options` object.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// The coordination service's nodes: processes `0..servers`.
    pub servers: usize,
    /// The session timeout clients ask for.
    pub session_timeout: Dur,
    /// Time between a client's heartbeats (absent: a third of the session timeout).
    pub ping_every: Option<Dur>,
    /// How long a client waits for the service's answer.
    pub request_timeout: Dur,
    /// The storage rejects writes with a token below the highest it accepted.
    pub fencing: bool,
    /// A holder's work between two writes.
    pub work: Dur,
    /// Most writes per acquisition (each draws `1..=writes`).
    pub writes: u32,
    /// `[min, max]` wait between releasing and acquiring again.
    pub idle: [Dur; 2],
    /// How long a holder waits for the storage's answer.
    pub write_timeout: Dur,
    /// Raft's election timeout range on the service.
    pub election_timeout: [Dur; 2],
    /// Raft's heartbeat period on the service.
    pub heartbeat: Dur,
}

impl Default for Options {
    fn default() -> Self {
        let raft = raft::Options::default();
        Options {
            servers: 3,
            session_timeout: Dur(1_000_000_000),
            ping_every: None,
            request_timeout: Dur(200_000_000),
            fencing: true,
            work: Dur(20_000_000),
            writes: 3,
            idle: [Dur(50_000_000), Dur(300_000_000)],
            write_timeout: Dur(100_000_000),
            election_timeout: raft.election_timeout,
            heartbeat: raft.heartbeat,
        }
    }
}

/// The lock node.
pub const LOCK_PATH: &str = "/lock";

/// `zk-lock`'s checks.
pub const CHECKS: &[Named] = &[
    Named::new(
        MUTUAL_EXCLUSION,
        "while the service grants the lock to one client (its znode is the lowest), no other client acts as the holder",
    ),
    Named::new(
        FENCED_WRITES,
        "the storage never accepts a write under an older lock grant once it accepted one under a newer grant",
    ),
    Named::new(NO_ORPHANS, "at the end, no sequential znode belongs to a client that no longer waits for it"),
    Named::new(NO_HERD, "no release wakes more than one waiter (each waiter watches only its predecessor)"),
    Named::new(LIVENESS, "after the last heal, a client acquires the lock within the window").needing(Needs::Liveness),
    Named::new("election-safety", "the service's Raft: at most one leader per term"),
    Named::new("log-matching", "the service's Raft: logs with an entry of the same index and term agree up to it"),
    Named::new("leader-completeness", "the service's Raft: a leader holds every entry committed in an earlier term"),
    Named::new("state-machine-safety", "the service's Raft: no two nodes apply different entries at one index"),
];

/// `zk-lock`'s planted bugs.
pub const BUGS: &[Named] = &[
    Named::new("herd", "every waiter watches the lock node's children instead of its predecessor"),
    Named::new(
        "blind-retry-create",
        "a client whose create reply was lost creates a second znode instead of finding its own",
    ),
    Named::new(
        "ignore-session-expiry",
        "a holder whose session lease ran out (paused past the session timeout) goes on writing",
    ),
];

/// A coordination-tree operation in a label: `create /lock/n-`, `ping s3`.
fn zk_op_label(op: &ZkOp) -> String {
    let watch = |w: bool| if w { " watch" } else { "" };
    match op {
        ZkOp::CreateSession { .. } => "create session".to_string(),
        ZkOp::Ping { session, .. } => format!("ping s{session}"),
        ZkOp::Create { path, .. } => format!("create {path}"),
        ZkOp::Delete { path, .. } => format!("delete {path}"),
        ZkOp::GetChildren { path, watch: w, .. } => format!("children {path}{}", watch(*w)),
        ZkOp::Exists { path, watch: w, .. } => format!("exists {path}{}", watch(*w)),
        ZkOp::Expire { session } => format!("expire s{session}"),
    }
}

/// A coordination-tree reply in a label: `created /lock/n-3`, `no node`.
fn zk_reply_label(reply: &ZkReply) -> String {
    match reply {
        ZkReply::Session { id } => format!("session s{id}"),
        ZkReply::Created { path } => format!("created {path}"),
        ZkReply::Deleted => "deleted".to_string(),
        ZkReply::Children { names, .. } => format!("{} children", names.len()),
        ZkReply::Stat { exists, .. } => (if *exists { "exists" } else { "absent" }).to_string(),
        ZkReply::Pong { .. } => "pong".to_string(),
        ZkReply::NoNode => "no node".to_string(),
        ZkReply::NodeExists => "node exists".to_string(),
        ZkReply::NotEmpty => "not empty".to_string(),
        ZkReply::SessionExpired => "session expired".to_string(),
        ZkReply::NotYet => "not yet".to_string(),
        ZkReply::Redirect(Some(node)) => format!("redirect n{node}"),
        ZkReply::Redirect(None) => "redirect".to_string(),
        ZkReply::Event { path, .. } => format!("watch fired {path}"),
    }
}

/// A message's short label for the diagrams: Raft's, a tree operation's, a fenced write's.
fn msg_label(msg: &Msg) -> String {
    match msg {
        Msg::Raft(m) => raft::label::msg_with(m, zk_op_label, zk_reply_label),
        Msg::Write { write, .. } => format!("Write {}", super::lease::write_label(write).trim_start_matches("write ")),
        Msg::WriteDone { reply, .. } => format!("WriteDone {}", super::lease::write_reply_label(reply)),
    }
}

/// An observation in plain words: `leader t2`, `n7 owns /lock/n-3`.
fn obs_label(obs: &Obs) -> String {
    match obs {
        Obs::Raft(o) => raft::label::obs(o),
        Obs::Lock(o) => super::lease::obs_label(o),
        Obs::Service(report) => match &report.event {
            tree::Event::Lock(o) => super::lease::obs_label(o),
            tree::Event::Created { path, client, .. } => format!("n{client} created {path}"),
            tree::Event::Deleted { path, .. } => format!("deleted {path}"),
            tree::Event::Woken { watchers, .. } => format!("woke {watchers} watchers"),
        },
        Obs::Client(ClientEvent::Owns { client, path }) => format!("n{client} owns {path}"),
        Obs::Client(ClientEvent::Disowns { client, path }) => format!("n{client} disowns {path}"),
    }
}

/// The protocol.
pub struct ZkLock;

impl Protocol for ZkLock {
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
        "zk-lock"
    }
    fn about(&self) -> &'static str {
        "the ZooKeeper lock recipe on a coordination tree replicated by Raft, with a fencing storage server"
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
        if o.servers == 0 {
            return Err(Invalid::new("options.servers", "expected at least one server"));
        }
        if scenario.nodes < o.servers.saturating_add(2) {
            return Err(Invalid::new(
                "nodes",
                format!(
                    "expected at least {} nodes ({} servers, the storage server, a client), got {}",
                    o.servers.saturating_add(2),
                    o.servers,
                    scenario.nodes
                ),
            ));
        }
        if scenario.workload.is_some() {
            return Err(Invalid::new("workload", "expected no workload: the lock clients are nodes of their own"));
        }
        for (path, d) in [
            ("options.session_timeout", o.session_timeout),
            ("options.request_timeout", o.request_timeout),
            ("options.write_timeout", o.write_timeout),
        ] {
            if d.0 == 0 {
                return Err(Invalid::new(path, "expected a positive duration"));
            }
        }
        if let Some(p) = o.ping_every {
            if p.0 == 0 || p >= o.session_timeout {
                return Err(Invalid::new("options.ping_every", "expected a positive period below the session timeout"));
            }
        }
        if o.writes == 0 {
            return Err(Invalid::new("options.writes", "expected at least 1 write per acquisition"));
        }
        if o.idle[0] > o.idle[1] {
            return Err(Invalid::new("options.idle", "expected [min, max] with min <= max"));
        }
        let raft =
            raft::Options { election_timeout: o.election_timeout, heartbeat: o.heartbeat, ..raft::Options::default() };
        raft::Raft.validate(&raft, scenario)
    }

    fn setup(&self, s: &mut Setup<'_, Self>) {
        let o = s.options().clone();
        let servers = o.servers;
        let storage_id = servers;
        let clients: Vec<NodeId> = (servers + 1..s.node_count()).collect();
        let timeout_ns = o.session_timeout.0;
        let raft_cfg = Rc::new(raft::node::Config {
            server_count: servers,
            election_timeout_ns: (o.election_timeout[0].0, o.election_timeout[1].0),
            heartbeat_ns: o.heartbeat.0,
            pre_vote: true,
            check_quorum: true,
            batch_entries_max: 64,
            bugs: raft::node::Bugs::default(),
            machine: TreeConfig { lock_path: LOCK_PATH.to_string() },
        });
        let client_cfg = Rc::new(client::ClientConfig {
            servers,
            storage: storage_id,
            lock_path: LOCK_PATH.to_string(),
            session_timeout_ns: timeout_ns,
            lease_ns: timeout_ns / 3 * 2,
            ping_every_ns: o.ping_every.map_or(timeout_ns / 3, |d| d.0),
            request_timeout_ns: o.request_timeout.0,
            write_timeout_ns: o.write_timeout.0,
            work_ns: o.work.0,
            writes_max: o.writes,
            idle_ns: (o.idle[0].0, o.idle[1].0),
            fenced: true,
            bugs: client::Bugs {
                herd: s.bug("herd"),
                blind_retry_create: s.bug("blind-retry-create"),
                ignore_session_expiry: s.bug("ignore-session-expiry"),
            },
        });
        s.role(0..servers, move |ctx| raft::node::run::<ZkTree, Msg, Obs>(ctx, raft_cfg.clone()));
        let fencing = StorageConfig { fencing: o.fencing };
        s.role([storage_id], move |ctx| storage::serve(ctx, StoreCodec, fencing));
        s.role(clients.clone(), move |ctx| client::run(ctx, client_cfg.clone()));

        s.invariant(MUTUAL_EXCLUSION, || mutual_exclusion(1, invariants::lock_view()));
        s.invariant(FENCED_WRITES, || fenced_writes(1, invariants::lock_view()));
        s.invariant(NO_ORPHANS, || Box::new(NoOrphans::new(timeout_ns.saturating_mul(2))));
        s.invariant(NO_HERD, || Box::new(NoHerd::new()));
        for (name, make) in [
            ("election-safety", raft::invariants::election_safety as fn() -> _),
            ("log-matching", raft::invariants::log_matching),
            ("leader-completeness", raft::invariants::leader_completeness),
            ("state-machine-safety", raft::invariants::state_machine_safety),
        ] {
            s.invariant(name, || Box::new(invariants::Raft(make())));
        }
        s.progress("a client acquires the lock", |o| matches!(o, Obs::Lock(LockObs::Acquired { .. })));
        s.leader_shown(|o| matches!(o, Obs::Raft(raft::invariants::Obs::BecameLeader { .. })));
        s.reporter(Box::new(LockTimeline::new(vec![SERVICE], storage_id, clients, invariants::lock_view())));
        s.reporter(Box::new(HerdStats::default()));
    }
}

/// The `zk-lock` benchmark (`faultline bench zk-lock`): 3 service nodes,
/// the storage and 10 clients contending for the lock on a calm network
/// (latency uniform [1 ms, 5 ms]) for 300 simulated seconds, seed 1, with
/// `mutual-exclusion`, `fenced-writes` and `no-herd` on. Counts deliveries;
/// `extra` carries `acquisitions`, `acquisitions_per_sim_sec`,
/// `sim_per_wall` (simulated seconds per wall second), the trace hash and
/// the kernel's step count.
pub fn bench() -> crate::bench::BenchResult {
    let text = r#"{
        "name": "bench-zk-lock", "protocol": "zk-lock", "nodes": 14, "duration": "300s",
        "network": { "latency": { "dist": "uniform", "min": "1ms", "max": "5ms" } },
        "checks": ["mutual-exclusion", "fenced-writes", "no-herd"]
    }"#;
    let (run, wall) = crate::bench::run_clean("zk-lock", text, &ZkLock);
    let sim_seconds = run.result.end_ns as f64 / 1e9;
    let acquisitions = run.result.extras.stats.get("acquisitions").and_then(|v| v.as_u64()).unwrap_or(0);
    crate::bench::BenchResult {
        workload: "zk-lock",
        unit: "deliveries",
        count: run.result.net.delivered,
        sim_seconds,
        wall_seconds: wall,
        extra: vec![
            ("acquisitions".to_string(), acquisitions.to_string()),
            ("acquisitions_per_sim_sec".to_string(), format!("{:.2}", acquisitions as f64 / sim_seconds.max(1e-9))),
            ("sim_per_wall".to_string(), format!("{:.0}", sim_seconds / wall.max(1e-9))),
            ("trace_hash".to_string(), crate::sim::trace::hash_hex(run.result.trace_hash)),
            ("steps".to_string(), run.result.steps.to_string()),
        ],
    }
}
