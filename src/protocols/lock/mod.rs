//! `lease-lock` and `redlock`: distributed locks built on leases, the
//! fencing token that makes them safe, and Redlock, which has none. The
//! lock vocabulary ([`LockObs`]), the storage server ([`storage`]), the
//! checks ([`invariants`]) and the lock timeline ([`report`]) are shared by
//! every lock protocol here, `zk-lock` included.
//!
//! # Locks, leases and why they are not enough
//! A distributed lock lets one client at a time do something the others
//! must not do at once: write a file, run a job, charge a card. A lock
//! server cannot wait for ever on a holder that may have crashed, so it
//! grants a *lease*: the lock is the holder's for a time to live (TTL), and
//! after that anyone may take it. Redis's `SET key value NX PX ttl` is the
//! common one. It sets the key only if it is absent (or its TTL ran out),
//! and the value is a random string of the holder's, so that a release is a
//! compare-and-delete: it deletes the key only if it still holds that
//! holder's value, never a successor's.
//!
//! A lease ties safety to clocks and to timing. The server ends the lease
//! by *its* clock; the holder decides it still has the lock by *its own*
//! clock, from the moment it sent the request, minus an allowance for the
//! two clocks drifting apart and a safety margin. Three things break that:
//! - **A process pause.** The holder checks that its lease is good, then
//!   stalls (a GC pause, a page fault, a stopped VM) for longer than the
//!   lease. The server hands the lock to the next client. The first one
//!   wakes up and does its write anyway: it checked, and cannot check again
//!   atomically with the write. No TTL is long enough, and no client-side
//!   check closes the gap.
//! - **A clock that runs at the wrong rate or jumps.** A holder whose clock
//!   runs slow believes its lease lasts longer than the server does. A
//!   server whose clock jumps forward (an NTP step) ends every lease at once.
//! - **Lost state.** A lock server that keeps its leases in memory only
//!   forgets every one of them in a crash: restarted, it grants the lock
//!   again at once while the old holder still works. Redis's answer is to
//!   keep a restarted server unavailable for one maximum TTL (a *delayed
//!   restart*), so that every lease it had granted has run out first.
//!
//! # Fencing tokens
//! The fix is not a better lease but a check where the damage is done
//! (Kleppmann, "How to do distributed locking", 2016). With every grant the
//! lock server returns a *fencing token*, a number that grows with every
//! grant and survives restarts. The holder sends its token with every
//! write, and the storage server rejects a write whose token is lower than
//! the highest it has accepted. A paused holder's late write then bounces
//! off the storage instead of overwriting its successor's. The lease still
//! decides who *may* write; the token decides whose write *counts*.
//!
//! # Redlock
//! Redlock (the Redis documentation's "Distributed locks with Redis") runs
//! `N = 5` independent lock servers with no replication between them. A
//! client reads its clock, asks every server for the key with the same
//! random value and TTL, and holds the lock if a majority granted it while
//! the time left, `TTL - elapsed - drift`, is still positive, where the
//! drift allowance is `TTL * clock_drift` plus 2 ms. Otherwise it releases
//! on every server and retries later. It releases on every server when done.
//!
//! Redlock's safety argument is that two majorities share a server, and a
//! server grants a key to one client at a time. That holds only while
//! every server's lease lasts at least as long as its client thinks. One
//! server's clock jumping forward ends its lease early; a second client can
//! then take that server and two more while the first still counts on its
//! majority. Redlock has no fencing token either: five independent counters
//! give no number that grows across successive majorities. So a process
//! pause breaks it as it breaks any lease, and there is nothing at the
//! storage to stop the stale write. `scenarios/lock/redlock-clock-jump.json`
//! shows the first: two clients each holding a majority at once.
//!
//! # The observation vocabulary
//! Lock protocols report in one vocabulary, [`LockObs`], so that the checks
//! and the timeline are written once. A protocol whose observation type is
//! not `LockObs` itself passes a projection `fn(&O) -> Option<&LockObs>`.
//! Lock servers report grants, expiries and releases with their *local*
//! clock readings; clients report when they act as the holder; the storage
//! reports the writes it accepted and rejected.
//!
//! # Invariants promised (see [`invariants`])
//! - `mutual-exclusion`: no two clients hold the lock at once, judged from
//!   the grants and expiries the lock servers report, by the servers' own
//!   clocks. A grant on a server is *live* from the server's grant until the
//!   server reports that it expired or was released, or reports a local
//!   time at or past the grant's expiry (a restart does not end it: the
//!   holder does not know the server forgot it). A client *acts as the
//!   holder* when it reports that it acquired the lock, or that it checked
//!   its lease before a write and went on. A client *holds the lock* from
//!   its acquisition for as long as its grants are live on a quorum of the
//!   servers (the one server for `lease-lock`, a majority of five for
//!   `redlock`); servers grant one client at a time and quorums intersect,
//!   so at most one client holds it at any instant. The check fails if (a) a
//!   server grants while another client's grant on it is live, or (b) a
//!   client acts as the holder while *another* client holds the lock: two
//!   clients then act on the lock at once, one of them with the servers'
//!   backing and one by its own reckoning. This is the property Redlock
//!   claims. A client that acts after its grants ran out while nobody else
//!   has the lock yet is not yet a violation; the next client's acquisition
//!   makes it one at the first client's next check. It is judged at the
//!   instant of each check, not at the write that follows: a client that
//!   checks in time and is then paused passes it, and only the fence can
//!   stop its late write.
//! - `fenced-writes`: the storage never accepts a write under an older lock
//!   grant once it has accepted one under a newer grant. Grants are ordered
//!   by when each reached its quorum of live grants, by the servers'
//!   reports, not by the tokens, so a broken token counter cannot hide it.
//!   Redlock does not promise it: it has no token to fence with.
//! - `liveness` (the library's): after the last heal, a client acquires the
//!   lock within the scenario's window.

pub mod invariants;
pub mod lease;
pub mod redlock;
pub mod report;
pub mod storage;
pub mod zk;

use std::fmt;

use serde::Deserialize;

use crate::coro::{Correlated, RequestId};
use crate::scenario::Dur;
use crate::sim::{Nanos, NodeId};

pub use lease::LeaseLock;
pub use redlock::Redlock;
pub use storage::{StorageCodec, Write, WriteReply};
pub use zk::ZkLock;

/// A fencing token: grows with every grant of one lock server, across restarts.
pub type Token = u64;

/// The random value a client acquires with (Redis's lock value): it names
/// one acquisition, on every server asked, and a release must present it.
pub type LeaseId = u64;

/// What lock protocols report, in one vocabulary for the checks and the
/// timeline. Server-side events carry the server's local clock reading
/// (`local_ns`), so the checks can judge leases by the servers' clocks.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub enum LockObs {
    /// Lock server `server` granted the lock to `client` for `lease`: it is
    /// theirs until the server's clock reads `expires_local_ns` (`None`: until
    /// released or reported expired, as a session-based lock is).
    Granted {
        /// The lock server.
        server: NodeId,
        /// The client granted.
        client: NodeId,
        /// The acquisition's value.
        lease: LeaseId,
        /// The fencing token of this grant.
        token: Token,
        /// The server's clock at the grant.
        local_ns: Nanos,
        /// When the grant ends, on the server's clock.
        expires_local_ns: Option<Nanos>,
    },
    /// The server's clock passed the grant's expiry: the lock is free there.
    Expired {
        /// The lock server.
        server: NodeId,
        /// The client whose grant it was.
        client: NodeId,
        /// The acquisition's value.
        lease: LeaseId,
        /// The server's clock.
        local_ns: Nanos,
    },
    /// The holder released its grant (the compare-and-delete matched).
    Released {
        /// The lock server.
        server: NodeId,
        /// The client whose grant it was.
        client: NodeId,
        /// The acquisition's value.
        lease: LeaseId,
        /// The server's clock.
        local_ns: Nanos,
    },
    /// The lock server started again after a crash, with no leases in memory.
    Restarted {
        /// The lock server.
        server: NodeId,
        /// The server's clock.
        local_ns: Nanos,
    },
    /// The restarted lock server grants again (after its restart delay).
    Serving {
        /// The lock server.
        server: NodeId,
        /// The server's clock.
        local_ns: Nanos,
    },
    /// The client concluded that it holds the lock: it acts as the holder
    /// from now on, until it reports `Believes { held: false }`.
    Acquired {
        /// The client.
        client: NodeId,
        /// The acquisition's value.
        lease: LeaseId,
        /// Its fencing token, if the protocol has one.
        token: Option<Token>,
        /// How many servers granted it.
        grants: u32,
    },
    /// `held: true`: the client checked its lease (before a write) and still
    /// holds the lock, so it acts as the holder at this instant. `held:
    /// false`: it stopped believing it holds the lock (done, out of time by
    /// its clock, or fenced off).
    Believes {
        /// The client.
        client: NodeId,
        /// The acquisition's value.
        lease: LeaseId,
        /// Whether it holds the lock as of now.
        held: bool,
    },
    /// The storage accepted a write.
    WriteAccepted {
        /// The writer.
        client: NodeId,
        /// The writer's acquisition.
        lease: LeaseId,
        /// The token it carried.
        token: Option<Token>,
        /// The value written.
        value: i64,
    },
    /// The storage rejected a write: its token is below the highest accepted.
    WriteRejected {
        /// The writer.
        client: NodeId,
        /// The writer's acquisition.
        lease: LeaseId,
        /// The token it carried.
        token: Option<Token>,
        /// The highest token accepted so far.
        highest: Token,
        /// The value refused.
        value: i64,
    },
}

/// Seconds with millisecond precision, for labels.
pub(crate) fn secs(ns: Nanos) -> String {
    format!("{:.3}s", ns as f64 / 1e9)
}

/// A lease id in labels: its low 16 bits in hex are enough to tell them apart.
pub(crate) fn short(lease: LeaseId) -> String {
    format!("{:04x}", lease & 0xffff)
}

fn token_text(token: &Option<Token>) -> String {
    token.map_or_else(|| "no token".to_string(), |t| format!("token {t}"))
}

impl fmt::Debug for LockObs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockObs::Granted { server, client, lease, token, local_ns, expires_local_ns } => {
                let until = expires_local_ns.map_or_else(|| "released".to_string(), secs);
                write!(
                    f,
                    "n{server} granted n{client} lease {} token {token} at {} until {until} (server clock)",
                    short(*lease),
                    secs(*local_ns)
                )
            }
            LockObs::Expired { server, client, lease, local_ns } => {
                write!(
                    f,
                    "n{server}: lease {} of n{client} expired at {} (server clock)",
                    short(*lease),
                    secs(*local_ns)
                )
            }
            LockObs::Released { server, client, lease, .. } => {
                write!(f, "n{server}: n{client} released lease {}", short(*lease))
            }
            LockObs::Restarted { server, local_ns } => {
                write!(f, "n{server} restarted with no leases at {} (its clock)", secs(*local_ns))
            }
            LockObs::Serving { server, local_ns } => {
                write!(f, "n{server} grants again at {} (its clock)", secs(*local_ns))
            }
            LockObs::Acquired { client, lease, token, grants } => {
                write!(f, "n{client} acquired lease {} ({}, {grants} grants)", short(*lease), token_text(token))
            }
            LockObs::Believes { client, lease, held: true } => {
                write!(f, "n{client} checks lease {}: still held", short(*lease))
            }
            LockObs::Believes { client, lease, held: false } => {
                write!(f, "n{client} lets lease {} go", short(*lease))
            }
            LockObs::WriteAccepted { client, token, value, .. } => {
                write!(f, "storage accepted {value} from n{client} ({})", token_text(token))
            }
            LockObs::WriteRejected { client, token, highest, value, .. } => {
                write!(f, "storage rejected {value} from n{client} ({} < {highest})", token_text(token))
            }
        }
    }
}

impl LockObs {
    /// The lock server an observation is from, for server-side events.
    pub fn server(&self) -> Option<NodeId> {
        match self {
            LockObs::Granted { server, .. }
            | LockObs::Expired { server, .. }
            | LockObs::Released { server, .. }
            | LockObs::Restarted { server, .. }
            | LockObs::Serving { server, .. } => Some(*server),
            _ => None,
        }
    }

    /// The server's clock reading of a server-side event.
    pub fn server_local_ns(&self) -> Option<Nanos> {
        match self {
            LockObs::Granted { local_ns, .. }
            | LockObs::Expired { local_ns, .. }
            | LockObs::Released { local_ns, .. }
            | LockObs::Restarted { local_ns, .. }
            | LockObs::Serving { local_ns, .. } => Some(*local_ns),
            _ => None,
        }
    }
}

/// The projection for a protocol whose observations are [`LockObs`] themselves.
pub fn itself(o: &LockObs) -> Option<&LockObs> {
    Some(o)
}

/// The messages of `lease-lock` and `redlock`: the lock server's
/// `SET NX PX` and compare-and-delete, and the storage's fenced writes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    /// `SET key lease NX PX ttl`: take the lock if it is free or expired.
    Acquire {
        /// The call.
        id: RequestId,
        /// The client's random value for this acquisition.
        lease: LeaseId,
        /// The lease's time to live, ns (the server caps it at its own TTL).
        ttl_ns: Nanos,
    },
    /// The lock is the caller's, with this fencing token.
    Grant {
        /// The call answered.
        id: RequestId,
        /// The fencing token.
        token: Token,
    },
    /// Someone else holds the lock (or the server is not serving yet).
    Refuse {
        /// The call answered.
        id: RequestId,
    },
    /// Compare-and-delete: free the lock if it still holds `lease`. No reply.
    Release {
        /// The value the lock must hold.
        lease: LeaseId,
    },
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

impl Correlated for Msg {
    fn reply_to(&self) -> Option<RequestId> {
        match self {
            Msg::Grant { id, .. } | Msg::Refuse { id } | Msg::WriteDone { id, .. } => Some(*id),
            Msg::Acquire { .. } | Msg::Release { .. } | Msg::Write { .. } => None,
        }
    }
}

/// How `lease-lock` and `redlock` speak to the storage server.
#[derive(Clone, Copy, Debug, Default)]
pub struct MsgCodec;

impl StorageCodec<Msg> for MsgCodec {
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

/// The `options` object of `lease-lock` and `redlock`.
#[derive(Clone, Debug, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// Number of lock servers (`redlock` only; absent: 5).
    pub servers: Option<usize>,
    /// The lease's time to live, which clients ask for and servers cap at
    /// (absent: 1 s). A restarted server waits this long before it grants.
    pub ttl: Option<Dur>,
    /// The clock drift clients allow for, as a fraction of the TTL (absent:
    /// 0.01, Redis's figure); 2 ms are added to it, as Redis does.
    pub clock_drift: Option<f64>,
    /// How long before its lease's end, by its clock, a client stops acting
    /// as the holder (absent: 100 ms). It must cover one work step, a write's
    /// round trip and a clock step back between two checks.
    pub safety_margin: Option<Dur>,
    /// How long a client works between its check and its write (absent: 20 ms).
    pub work: Option<Dur>,
    /// The most writes a client does per lease (absent: 50); each lease
    /// draws a number in `1..=writes`.
    pub writes: Option<u32>,
    /// `[min, max]` time a client waits between using the lock and asking
    /// for it again (absent: 50 ms and 300 ms).
    pub idle: Option<[Dur; 2]>,
    /// `[min, max]` time a client waits after a failed acquire (absent: 10 ms
    /// and 100 ms); `max` doubles with each failure in a row, up to the TTL.
    pub retry: Option<[Dur; 2]>,
    /// How long a client waits for the lock servers' answers (absent: 50 ms).
    pub acquire_timeout: Option<Dur>,
    /// How long a client waits for the storage's answer (absent: 100 ms).
    pub write_timeout: Option<Dur>,
}

/// Everything a lock client and server need, resolved from [`Options`].
#[derive(Clone, Debug)]
pub struct Config {
    /// The lock servers.
    pub servers: Vec<NodeId>,
    /// Grants needed to hold the lock (1, or a majority of the servers).
    pub quorum: usize,
    /// The storage server.
    pub storage: NodeId,
    /// The clients.
    pub clients: Vec<NodeId>,
    /// Lease TTL, ns.
    pub ttl_ns: Nanos,
    /// Drift allowance, ns: `ttl * clock_drift + 2 ms`.
    pub drift_ns: Nanos,
    /// Safety margin, ns.
    pub margin_ns: Nanos,
    /// One work step, ns.
    pub work_ns: Nanos,
    /// Most writes per lease.
    pub writes_max: u32,
    /// Idle time bounds between leases, ns.
    pub idle_ns: (Nanos, Nanos),
    /// Retry backoff bounds after a failed acquire, ns.
    pub retry_ns: (Nanos, Nanos),
    /// Acquire timeout, ns.
    pub acquire_timeout_ns: Nanos,
    /// Write timeout, ns.
    pub write_timeout_ns: Nanos,
    /// Whether grants carry a fencing token the client sends with its writes.
    pub fenced: bool,
    /// Planted bugs.
    pub bugs: Bugs,
}

/// Planted bugs, each off in the correct protocols.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bugs {
    /// The storage accepts every write, whatever its token.
    pub no_fencing: bool,
    /// Clients hold a lease for the whole TTL by their clock: no drift allowance, no margin.
    pub trust_local_lease: bool,
    /// A restarted lock server grants at once, having forgotten its leases.
    pub restart_without_delay: bool,
}

/// Planted bugs' names and what each does.
pub const BUGS: &[crate::kit::Named] = &[
    crate::kit::Named::new("no-fencing", "the storage accepts every write, whatever its fencing token"),
    crate::kit::Named::new(
        "trust-local-lease",
        "clients hold the lock for the whole TTL by their own clock: no drift allowance, no safety margin",
    ),
    crate::kit::Named::new(
        "restart-without-delay",
        "a restarted lock server grants at once, although it forgot the leases it had granted",
    ),
];

impl Options {
    /// Resolves the options for `servers` lock servers, a storage server and
    /// `clients` clients laid out in that order.
    pub fn resolve(&self, server_count: usize, quorum: usize, node_count: usize, fenced: bool, bugs: Bugs) -> Config {
        let ttl_ns = self.ttl.map_or(1_000_000_000, |d| d.0);
        let drift = self.clock_drift.unwrap_or(0.01);
        let pair = |p: Option<[Dur; 2]>, lo: Nanos, hi: Nanos| p.map_or((lo, hi), |[a, b]| (a.0, b.0));
        Config {
            servers: (0..server_count).collect(),
            quorum,
            storage: server_count,
            clients: (server_count + 1..node_count).collect(),
            ttl_ns,
            drift_ns: (ttl_ns as f64 * drift) as Nanos + 2_000_000,
            margin_ns: self.safety_margin.map_or(100_000_000, |d| d.0),
            work_ns: self.work.map_or(20_000_000, |d| d.0),
            writes_max: self.writes.unwrap_or(50),
            idle_ns: pair(self.idle, 50_000_000, 300_000_000),
            retry_ns: pair(self.retry, 10_000_000, 100_000_000),
            acquire_timeout_ns: self.acquire_timeout.map_or(50_000_000, |d| d.0),
            write_timeout_ns: self.write_timeout.map_or(100_000_000, |d| d.0),
            fenced,
            bugs,
        }
    }

    /// Checks fields against each other.
    pub fn check(&self) -> Result<(), crate::kit::Invalid> {
        use crate::kit::Invalid;
        for (path, d) in [
            ("options.ttl", self.ttl),
            ("options.work", self.work),
            ("options.acquire_timeout", self.acquire_timeout),
            ("options.write_timeout", self.write_timeout),
        ] {
            if d.is_some_and(|d| d.0 == 0) {
                return Err(Invalid::new(path, "expected a positive duration"));
            }
        }
        if let Some(d) = self.clock_drift {
            if !(0.0..0.5).contains(&d) {
                return Err(Invalid::new("options.clock_drift", format!("expected a fraction in [0, 0.5), got {d}")));
            }
        }
        if self.writes == Some(0) {
            return Err(Invalid::new("options.writes", "expected at least 1 write per lease"));
        }
        for (path, p) in [("options.idle", self.idle), ("options.retry", self.retry)] {
            if let Some([lo, hi]) = p {
                if lo > hi {
                    return Err(Invalid::new(path, "expected [min, max] with min <= max"));
                }
            }
        }
        let ttl = self.ttl.map_or(1_000_000_000, |d| d.0);
        let margin = self.safety_margin.map_or(100_000_000, |d| d.0);
        if margin >= ttl {
            return Err(Invalid::new("options.safety_margin", "expected a margin shorter than the ttl"));
        }
        Ok(())
    }
}
