//! The lock checks, written once for every lock protocol: `mutual-exclusion`
//! and `fenced-writes` (their definitions are in the module essay of
//! `lock/mod.rs`). Each judges [`LockObs`] reports; a protocol whose
//! observation type is not `LockObs` passes a projection
//! `Fn(&O) -> Option<&LockObs>` that picks them out (see [`super::itself`]).
//!
//! Both rest on a [`Book`] of live grants, kept from the lock servers'
//! reports alone. A grant on a server is live from its `Granted` until the
//! server reports it `Expired` or `Released`, or reports any local clock
//! reading at or past the grant's expiry. The servers' timers report an
//! expiry the instant their clock reaches it (a clock fault re-arms them),
//! so a grant's life in global time is its life by the server's clock. Two
//! cases stretch it, both on the strict side: a paused server reports its
//! expiries when it runs again, and a crashed server's grants live on until
//! it reports a clock reading past them after its restart. Neither can hide
//! a second client: a paused or down server grants nothing meanwhile.
//!
//! A lock (one acquisition, named by its [`LeaseId`]) is *held* while it is
//! live on `quorum` servers. The book numbers acquisitions in the order in
//! which each first became held: that is the grant order `fenced-writes`
//! judges the storage's accepted writes by.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;

use super::{secs, short, LeaseId, LockObs, Token};
use crate::check::Invariant;
use crate::nemesis::FaultLog;
use crate::sim::{Nanos, NodeId};

/// The name of the mutual-exclusion check.
pub const MUTUAL_EXCLUSION: &str = "mutual-exclusion";
/// The name of the fenced-writes check.
pub const FENCED_WRITES: &str = "fenced-writes";

/// One live grant on one server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveGrant {
    /// The client granted.
    pub client: NodeId,
    /// Its fencing token.
    pub token: Token,
    /// Expiry on the server's clock (`None`: until released or expired).
    pub expires_local_ns: Option<Nanos>,
    /// Global time of the grant.
    pub granted_ns: Nanos,
}

/// An acquisition that became held: when, by whom, and its place in the order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// Its place in the grant order, from 1.
    pub order: u64,
    /// The client.
    pub client: NodeId,
    /// The token of the grant that completed its quorum.
    pub token: Token,
    /// Global time it became held.
    pub since_ns: Nanos,
}

/// The live grants per server and the grant order of acquisitions, kept
/// from the lock servers' reports.
#[derive(Clone, Debug)]
pub struct Book {
    quorum: usize,
    /// Per server: its live grants by acquisition.
    live: BTreeMap<NodeId, BTreeMap<LeaseId, LiveGrant>>,
    /// Acquisitions that became held, by lease.
    held: BTreeMap<LeaseId, Held>,
    /// How each (lease, server) grant ended: global time and why.
    ended: BTreeMap<(LeaseId, NodeId), (Nanos, &'static str)>,
    /// Every server heard from.
    servers: BTreeSet<NodeId>,
}

impl Book {
    /// A book in which a lock is held with grants live on `quorum` servers.
    pub fn new(quorum: usize) -> Book {
        assert!(quorum > 0, "a lock needs at least one grant");
        Book { quorum, live: BTreeMap::new(), held: BTreeMap::new(), ended: BTreeMap::new(), servers: BTreeSet::new() }
    }

    /// Ends the grants on `server` whose expiry its clock reading `local_ns` has reached.
    fn expire_by_clock(&mut self, time_ns: Nanos, server: NodeId, local_ns: Nanos) {
        let Some(grants) = self.live.get_mut(&server) else { return };
        let ended = &mut self.ended;
        grants.retain(|lease, g| {
            let over = g.expires_local_ns.is_some_and(|e| e <= local_ns);
            if over {
                ended.insert((*lease, server), (time_ns, "expired"));
            }
            !over
        });
    }

    fn end(&mut self, time_ns: Nanos, server: NodeId, lease: LeaseId, why: &'static str) {
        if let Some(grants) = self.live.get_mut(&server) {
            if grants.remove(&lease).is_some() {
                self.ended.insert((lease, server), (time_ns, why));
            }
        }
    }

    /// Takes one report in. For a grant made while another client's grant
    /// is live on the same server, returns that other grant's lease and client.
    pub fn record(&mut self, time_ns: Nanos, obs: &LockObs) -> Option<(LeaseId, LiveGrant)> {
        let (Some(server), Some(local_ns)) = (obs.server(), obs.server_local_ns()) else { return None };
        self.servers.insert(server);
        self.expire_by_clock(time_ns, server, local_ns);
        match *obs {
            LockObs::Granted { client, lease, token, expires_local_ns, .. } => {
                let grants = self.live.entry(server).or_default();
                let conflict = grants.iter().find(|(l, g)| **l != lease && g.client != client);
                let conflict = conflict.map(|(l, g)| (*l, g.clone()));
                grants.insert(lease, LiveGrant { client, token, expires_local_ns, granted_ns: time_ns });
                if !self.held.contains_key(&lease) && self.live_on(lease).len() >= self.quorum {
                    let order = self.held.len() as u64 + 1;
                    self.held.insert(lease, Held { order, client, token, since_ns: time_ns });
                }
                conflict
            }
            LockObs::Expired { lease, .. } => {
                self.end(time_ns, server, lease, "expired");
                None
            }
            LockObs::Released { lease, .. } => {
                self.end(time_ns, server, lease, "released");
                None
            }
            _ => None,
        }
    }

    /// The servers on which `lease` is live now.
    pub fn live_on(&self, lease: LeaseId) -> Vec<NodeId> {
        self.live.iter().filter(|(_, g)| g.contains_key(&lease)).map(|(s, _)| *s).collect()
    }

    /// Whether `lease` is live on a quorum of servers now.
    pub fn holds(&self, lease: LeaseId) -> bool {
        self.live_on(lease).len() >= self.quorum
    }

    /// The acquisitions other than `lease` that are held now, with their clients.
    pub fn other_holders(&self, lease: LeaseId) -> Vec<(LeaseId, NodeId)> {
        let mut out: BTreeMap<LeaseId, NodeId> = BTreeMap::new();
        for grants in self.live.values() {
            for (l, g) in grants {
                if *l != lease {
                    out.insert(*l, g.client);
                }
            }
        }
        out.into_iter().filter(|(l, _)| self.holds(*l)).collect()
    }

    /// The acquisition `lease`, once it became held.
    pub fn held(&self, lease: LeaseId) -> Option<&Held> {
        self.held.get(&lease)
    }

    /// How the grant of `lease` on `server` ended, if it did.
    pub fn ended(&self, lease: LeaseId, server: NodeId) -> Option<(Nanos, &'static str)> {
        self.ended.get(&(lease, server)).copied()
    }

    /// The grants needed to hold the lock.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// The servers heard from so far.
    pub fn servers(&self) -> Vec<NodeId> {
        self.servers.iter().copied().collect()
    }
}

fn node_list(nodes: &[NodeId]) -> String {
    if nodes.is_empty() {
        return "no server".to_string();
    }
    nodes.iter().map(|n| format!("n{n}")).collect::<Vec<_>>().join(" ")
}

/// `mutual-exclusion` over the reports `project` picks out: no server
/// grants while another client's grant on it is live, and while one client
/// holds the lock (it acquired it, and its grants are live on `quorum`
/// servers by their clocks), no other client acts as the holder.
pub struct MutualExclusion<O, P> {
    book: Book,
    /// Acquisitions whose client reported `Acquired`.
    acquired: BTreeSet<LeaseId>,
    project: P,
    _o: PhantomData<fn(&O)>,
}

impl<O, P: Fn(&O) -> Option<&LockObs>> MutualExclusion<O, P> {
    /// The check, for locks held with grants on `quorum` servers.
    pub fn new(quorum: usize, project: P) -> Self {
        MutualExclusion { book: Book::new(quorum), acquired: BTreeSet::new(), project, _o: PhantomData }
    }

    fn judge(&mut self, time_ns: Nanos, obs: &LockObs) -> Result<(), String> {
        if let Some((other, g)) = self.book.record(time_ns, obs) {
            let LockObs::Granted { server, client, lease, .. } = obs else { unreachable!("only grants conflict") };
            let until = g.expires_local_ns.map_or_else(|| "its release".to_string(), secs);
            return Err(format!(
                "n{server} granted the lock to n{client} (lease {}) while n{}'s grant (lease {}, token {}, granted at {}) \
                 was still live until {until} by n{server}'s clock",
                short(*lease),
                g.client,
                short(other),
                g.token,
                secs(g.granted_ns)
            ));
        }
        let (client, lease, how) = match *obs {
            LockObs::Acquired { client, lease, .. } => (client, lease, "acquired the lock"),
            LockObs::Believes { client, lease, held: true } => (client, lease, "checked its lease and went on"),
            _ => return Ok(()),
        };
        if matches!(obs, LockObs::Acquired { .. }) {
            self.acquired.insert(lease);
        }
        if self.book.holds(lease) {
            return Ok(());
        }
        let book = &self.book;
        // Holders that know it: a grant not yet answered is not acted on yet.
        let others: Vec<(LeaseId, NodeId)> = book
            .other_holders(lease)
            .into_iter()
            .filter(|(other, holder)| *holder != client && self.acquired.contains(other))
            .collect();
        if others.is_empty() {
            // Out of time by the servers' clocks, but nobody else has the lock yet.
            return Ok(());
        }
        let live = book.live_on(lease);
        let mut detail = String::new();
        for (other, holder) in others {
            detail.push_str(&format!(
                "n{holder} holds the lock (lease {}, live on {}) ",
                short(other),
                node_list(&book.live_on(other))
            ));
        }
        detail.push_str(&format!(
            "and n{client} {how} (lease {}) at {}, holding it on {} ({} of the {} needed)",
            short(lease),
            secs(time_ns),
            node_list(&live),
            live.len(),
            book.quorum()
        ));
        let gone: Vec<String> = book
            .servers()
            .into_iter()
            .filter_map(|s| book.ended(lease, s).map(|(t, why)| format!("n{s} {why} {}", secs(t))))
            .collect();
        if !gone.is_empty() {
            detail.push_str(&format!("; its grants ended: {}", gone.join(", ")));
        }
        Err(detail)
    }
}

impl<O, P: Fn(&O) -> Option<&LockObs>> Invariant<O> for MutualExclusion<O, P> {
    fn name(&self) -> &str {
        MUTUAL_EXCLUSION
    }
    fn on_observe(&mut self, time_ns: Nanos, _node: NodeId, obs: &O, _faults: &FaultLog) -> Result<(), String> {
        match (self.project)(obs) {
            Some(o) => self.judge(time_ns, o),
            None => Ok(()),
        }
    }
}

/// `mutual-exclusion` for locks held with grants on `quorum` servers.
pub fn mutual_exclusion<O: 'static>(
    quorum: usize,
    project: impl Fn(&O) -> Option<&LockObs> + 'static,
) -> Box<dyn Invariant<O>> {
    Box::new(MutualExclusion::new(quorum, project))
}

/// The newest accepted write so far, for the message about an older one.
#[derive(Clone, Debug)]
struct Newest {
    order: u64,
    client: NodeId,
    lease: LeaseId,
    token: Option<Token>,
    value: i64,
    time_ns: Nanos,
}

/// `fenced-writes` over the reports `project` picks out: the storage never
/// accepts a write under an acquisition older (in grant order) than one it
/// already accepted a write under.
pub struct FencedWrites<O, P> {
    book: Book,
    newest: Option<Newest>,
    project: P,
    _o: PhantomData<fn(&O)>,
}

impl<O, P: Fn(&O) -> Option<&LockObs>> FencedWrites<O, P> {
    /// The check, for locks held with grants on `quorum` servers.
    pub fn new(quorum: usize, project: P) -> Self {
        FencedWrites { book: Book::new(quorum), newest: None, project, _o: PhantomData }
    }

    fn judge(&mut self, time_ns: Nanos, obs: &LockObs) -> Result<(), String> {
        self.book.record(time_ns, obs);
        let LockObs::WriteAccepted { client, lease, token, value } = *obs else { return Ok(()) };
        let tok = |t: Option<Token>| t.map_or_else(|| "no token".to_string(), |t| format!("token {t}"));
        let Some(held) = self.book.held(lease) else {
            return Err(format!(
                "the storage accepted {value} from n{client} (lease {}, {}) although that acquisition never held the lock",
                short(lease),
                tok(token)
            ));
        };
        let order = held.order;
        if let Some(n) = &self.newest {
            if order < n.order {
                return Err(format!(
                    "the storage accepted {value} from n{client} under grant #{order} (lease {}, {}, held since {}) \
                     after it had accepted {} from n{} at {} under the newer grant #{} (lease {}, {})",
                    short(lease),
                    tok(token),
                    secs(held.since_ns),
                    n.value,
                    n.client,
                    secs(n.time_ns),
                    n.order,
                    short(n.lease),
                    tok(n.token)
                ));
            }
        }
        if self.newest.as_ref().is_none_or(|n| order >= n.order) {
            self.newest = Some(Newest { order, client, lease, token, value, time_ns });
        }
        Ok(())
    }
}

impl<O, P: Fn(&O) -> Option<&LockObs>> Invariant<O> for FencedWrites<O, P> {
    fn name(&self) -> &str {
        FENCED_WRITES
    }
    fn on_observe(&mut self, time_ns: Nanos, _node: NodeId, obs: &O, _faults: &FaultLog) -> Result<(), String> {
        match (self.project)(obs) {
            Some(o) => self.judge(time_ns, o),
            None => Ok(()),
        }
    }
}

/// `fenced-writes` for locks held with grants on `quorum` servers.
pub fn fenced_writes<O: 'static>(
    quorum: usize,
    project: impl Fn(&O) -> Option<&LockObs> + 'static,
) -> Box<dyn Invariant<O>> {
    Box::new(FencedWrites::new(quorum, project))
}
