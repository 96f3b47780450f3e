//! The checks and numbers only `zk-lock` has, and the adapters that let it
//! use the shared ones.
//!
//! - `no-orphans` (end of run): no sequential znode under the lock node
//!   belongs to a client that no longer waits for it. A znode is owned
//!   while its client says it holds or waits on it (`Owns` to `Disowns`,
//!   or to its next `Owns`). One that is live at the end and has been
//!   unowned for longer than `grace` (two session timeouts: an abandoned
//!   session's znodes are gone within one) is an orphan. A znode whose
//!   client never learned of it (a create whose answer was lost) is
//!   unowned from its creation.
//! - `no-herd` (safety): a release, the deletion of the holder's znode by
//!   its client or by its session's expiry, fires at most one watch (the
//!   watches on that znode and on the lock node's children). The recipe
//!   has each waiter watch its own predecessor, so only the next waiter
//!   wakes; a recipe that has every waiter watch the lock node wakes them
//!   all (the herd effect).
//! - [`HerdStats`], a reporter: watch notifications per release, as
//!   `herd_size_max`, `herd_size_mean` and `herd_releases` (releases
//!   counted) in `summary.json`.
//!
//! The service's reports come from every replica at apply; these read each
//! one once, from the first node that reports its entry ([`FirstReports`]),
//! which is the leader that committed it. The lock checks of `lock/`
//! (`mutual-exclusion`, `fenced-writes`) and the lock timeline read the
//! same way through [`lock_view`]. Raft's own checks run on the service's
//! nodes through [`Raft`].

use std::cell::Cell;
use std::collections::BTreeMap;

use super::tree::{Event, Report};
use super::{ClientEvent, Obs};
use crate::check::{Extras, Invariant, Reporter, RunEnd, Verdict};
use crate::nemesis::FaultLog;
use crate::protocols::lock::{secs, LockObs};
use crate::protocols::raft::invariants::Obs as RaftObs;
use crate::sim::{Nanos, NodeId};

/// The name of the orphan check.
pub const NO_ORPHANS: &str = "no-orphans";
/// The name of the herd check.
pub const NO_HERD: &str = "no-herd";

/// Passes each service report once: the first time its `(index, part)` is
/// seen. Entries are first applied in log order (by the leader that commits
/// them), and every replica reports an entry's parts in one step, so a
/// report is new exactly when it is above every report passed before.
#[derive(Debug, Default)]
pub struct FirstReports {
    highest: Cell<Option<(u64, u32)>>,
}

impl FirstReports {
    /// Whether `report` is the first of its `(index, part)`.
    pub fn first(&self, report: &Report) -> bool {
        let key = Some((report.index, report.part));
        if key > self.highest.get() {
            self.highest.set(key);
            true
        } else {
            false
        }
    }
}

/// The projection of `zk-lock`'s observations onto the shared lock
/// vocabulary: clients' and the storage's reports as they come, the
/// service's once each. Each check gets its own (they keep state).
pub fn lock_view() -> impl Fn(&Obs) -> Option<&LockObs> + 'static {
    let seen = FirstReports::default();
    move |o: &Obs| match o {
        Obs::Lock(l) => Some(l),
        Obs::Service(r @ Report { event: Event::Lock(l), .. }) if seen.first(r) => Some(l),
        _ => None,
    }
}

/// A Raft check run on the service's nodes' Raft reports.
pub struct Raft(pub Box<dyn Invariant<RaftObs>>);

impl Invariant<Obs> for Raft {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn on_observe(&mut self, time_ns: Nanos, node: NodeId, obs: &Obs, faults: &FaultLog) -> Result<(), String> {
        match obs {
            Obs::Raft(o) => self.0.on_observe(time_ns, node, o, faults),
            _ => Ok(()),
        }
    }
    fn on_finish(&mut self, end: &RunEnd<'_>) -> Verdict {
        self.0.on_finish(end)
    }
}

/// A lock znode as `no-orphans` tracks it.
#[derive(Clone, Debug)]
struct Znode {
    client: NodeId,
    created_ns: Nanos,
    /// Since when no client owns it, if one did.
    unowned_since_ns: Option<Nanos>,
}

/// `no-orphans`: at the end, every live lock znode is owned, or was owned until recently.
pub struct NoOrphans {
    grace_ns: Nanos,
    seen: FirstReports,
    live: BTreeMap<String, Znode>,
    /// Per client: the znode it holds or waits on.
    owned: BTreeMap<NodeId, String>,
}

impl NoOrphans {
    /// The check, allowing an unowned znode `grace_ns` to vanish.
    pub fn new(grace_ns: Nanos) -> NoOrphans {
        NoOrphans { grace_ns, seen: FirstReports::default(), live: BTreeMap::new(), owned: BTreeMap::new() }
    }

    fn disown(&mut self, path: &str, time_ns: Nanos) {
        if let Some(z) = self.live.get_mut(path) {
            z.unowned_since_ns = Some(time_ns);
        }
    }
}

impl Invariant<Obs> for NoOrphans {
    fn name(&self) -> &str {
        NO_ORPHANS
    }
    fn on_observe(&mut self, time_ns: Nanos, _node: NodeId, obs: &Obs, _faults: &FaultLog) -> Result<(), String> {
        match obs {
            Obs::Service(r) if self.seen.first(r) => match &r.event {
                Event::Created { path, client, .. } => {
                    let z = Znode { client: *client, created_ns: time_ns, unowned_since_ns: None };
                    self.live.insert(path.clone(), z);
                }
                Event::Deleted { path, .. } => {
                    self.live.remove(path);
                }
                _ => {}
            },
            Obs::Client(ClientEvent::Owns { client, path }) => {
                if let Some(old) = self.owned.insert(*client, path.clone()) {
                    self.disown(&old, time_ns);
                }
                if let Some(z) = self.live.get_mut(path) {
                    z.unowned_since_ns = None;
                }
            }
            Obs::Client(ClientEvent::Disowns { client, path }) => {
                if self.owned.get(client) == Some(path) {
                    self.owned.remove(client);
                }
                self.disown(path, time_ns);
            }
            _ => {}
        }
        Ok(())
    }
    fn on_finish(&mut self, end: &RunEnd<'_>) -> Verdict {
        let mut orphans = Vec::new();
        for (path, z) in &self.live {
            if self.owned.get(&z.client) == Some(path) {
                continue;
            }
            let since = z.unowned_since_ns.unwrap_or(z.created_ns);
            if end.end_ns.saturating_sub(since) > self.grace_ns {
                let how = match z.unowned_since_ns {
                    Some(t) => format!("given up at {}", secs(t)),
                    None => format!("created at {} and never known to its client", secs(z.created_ns)),
                };
                orphans.push(format!("{path} of n{} ({how})", z.client));
            }
        }
        if orphans.is_empty() {
            Verdict::Pass
        } else {
            // One line each, the first few: a run that orphans dozens stays readable.
            const SHOWN: usize = 5;
            let more = orphans.len().saturating_sub(SHOWN);
            let mut text =
                format!("{} orphaned lock znode(s) at the end, owned by no client that waits for them:", orphans.len());
            for orphan in orphans.iter().take(SHOWN) {
                text.push_str(&format!("\n  {orphan}"));
            }
            if more > 0 {
                text.push_str(&format!("\n  and {more} more"));
            }
            Verdict::Fail(text)
        }
    }
}

/// `no-herd`: no release fires more than one watch.
pub struct NoHerd {
    seen: FirstReports,
}

impl NoHerd {
    /// The check.
    pub fn new() -> NoHerd {
        NoHerd { seen: FirstReports::default() }
    }
}

impl Default for NoHerd {
    fn default() -> Self {
        NoHerd::new()
    }
}

impl Invariant<Obs> for NoHerd {
    fn name(&self) -> &str {
        NO_HERD
    }
    fn on_observe(&mut self, _time_ns: Nanos, _node: NodeId, obs: &Obs, _faults: &FaultLog) -> Result<(), String> {
        if let Obs::Service(r) = obs {
            if self.seen.first(r) {
                if let Event::Woken { path, watchers } = &r.event {
                    if *watchers > 1 {
                        return Err(format!(
                            "the release of {path} (log index {}) fired {watchers} watches: it woke {watchers} \
                             waiters where the next one alone can take the lock",
                            r.index
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Watch notifications per release, for `summary.json`.
#[derive(Default)]
pub struct HerdStats {
    seen: FirstReports,
    sizes: Vec<u32>,
}

impl Reporter<Obs> for HerdStats {
    fn on_observe(&mut self, _time_ns: Nanos, _node: NodeId, obs: &Obs) {
        if let Obs::Service(r) = obs {
            if self.seen.first(r) {
                if let Event::Woken { watchers, .. } = r.event {
                    self.sizes.push(watchers);
                }
            }
        }
    }
    fn on_finish(&mut self, _end: &RunEnd<'_>) -> Extras {
        let mut extras = Extras::default();
        let n = self.sizes.len();
        let max = self.sizes.iter().copied().max().unwrap_or(0);
        let mean = if n == 0 { 0.0 } else { self.sizes.iter().map(|&s| f64::from(s)).sum::<f64>() / n as f64 };
        extras.stats.insert("herd_releases".into(), (n as u64).into());
        extras.stats.insert("herd_size_max".into(), max.into());
        extras.stats.insert("herd_size_mean".into(), serde_json::json!((mean * 1000.0).round() / 1000.0));
        extras
    }
}
