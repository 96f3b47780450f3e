//! The lock timeline: a [`Reporter`] that draws, for any lock protocol, who
//! believed it held the lock when, what each lock server granted, and what
//! the storage let through, as one span chart named `locks` in the run's
//! `report.html` (and `locks.svg`). It reads [`LockObs`] through the same
//! projection the checks take, so `zk-lock` draws the same chart.
//!
//! Lanes, top to bottom:
//! - `two believers`: red where two or more clients believed at once;
//! - one lane per client: a span from `Acquired` to `Believes { held:
//!   false }` (or to the client's crash), in the client's colour, and a red
//!   mark where the storage fenced off one of its writes;
//! - one lane per lock server: each grant from the grant to its expiry or
//!   release as that server reported it (or to the server's crash, which
//!   forgets it), in the colour of the client granted, labelled by token;
//! - the storage: a green mark per accepted write and a red one per
//!   rejected write (drawn on top), labelled by token.
//!
//! Each lane names its node, so fault windows hitting it are shaded on it.
//! The stats go to `summary.json`'s `protocol_stats`: counts of grants,
//! expiries, releases, acquisitions, accepted and rejected writes, the most
//! clients that believed at once, and how long two or more did.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use super::{short, LeaseId, LockObs, Token};
use crate::check::{Extras, Mark, Reporter, RunEnd, Span, SpanChart, SpanLane};
use crate::sim::{Nanos, NodeId};

/// One colour per client, in client order (repeating after eight).
const PALETTE: [&str; 8] = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f"];
const ACCEPTED: &str = "#2ca02c";
const REJECTED: &str = "#d62728";
const OVERLAP: &str = "#d62728";

/// A grant a server still holds, as drawn.
#[derive(Clone, Debug)]
struct OpenGrant {
    start_ns: Nanos,
    client: NodeId,
    token: Token,
    expires_local_ns: Option<Nanos>,
}

/// A span whose end depends on the fault log (a crash), settled at the end.
#[derive(Clone, Debug)]
struct Cut {
    lane: NodeId,
    start_ns: Nanos,
    /// The end if no crash of `lane` started before it.
    end_ns: Nanos,
    label: String,
    color: String,
}

/// The `locks` chart and the lock stats of a run.
pub struct LockTimeline<O, P> {
    servers: Vec<NodeId>,
    storage: NodeId,
    clients: Vec<NodeId>,
    project: P,
    /// Per server: grants open now.
    open: BTreeMap<NodeId, BTreeMap<LeaseId, OpenGrant>>,
    /// Per client: its belief open now (lease, start).
    believing: BTreeMap<NodeId, (LeaseId, Nanos)>,
    /// Finished spans per lane node.
    spans: BTreeMap<NodeId, Vec<Span>>,
    /// Spans that a crash may have cut short.
    cuts: Vec<Cut>,
    /// Storage marks.
    marks: Vec<Mark>,
    /// Per client: its rejected writes.
    client_marks: BTreeMap<NodeId, Vec<Mark>>,
    /// Belief intervals for the overlap lane and stats.
    beliefs: Vec<(Nanos, Option<Nanos>, NodeId)>,
    counts: BTreeMap<&'static str, u64>,
    _o: PhantomData<fn(&O)>,
}

impl<O, P: Fn(&O) -> Option<&LockObs>> LockTimeline<O, P> {
    /// A timeline of lock servers `servers`, storage server `storage` and
    /// clients `clients`, reading observations through `project`.
    pub fn new(servers: Vec<NodeId>, storage: NodeId, clients: Vec<NodeId>, project: P) -> Self {
        LockTimeline {
            servers,
            storage,
            clients,
            project,
            open: BTreeMap::new(),
            believing: BTreeMap::new(),
            spans: BTreeMap::new(),
            cuts: Vec::new(),
            marks: Vec::new(),
            client_marks: BTreeMap::new(),
            beliefs: Vec::new(),
            counts: BTreeMap::new(),
            _o: PhantomData,
        }
    }

    fn color(&self, client: NodeId) -> String {
        let i = self.clients.iter().position(|c| *c == client).unwrap_or(client);
        PALETTE[i % PALETTE.len()].to_string()
    }

    fn count(&mut self, what: &'static str) {
        *self.counts.entry(what).or_insert(0) += 1;
    }

    fn close_grant(&mut self, server: NodeId, lease: LeaseId, end_ns: Nanos, how: &str) {
        let Some(g) = self.open.get_mut(&server).and_then(|m| m.remove(&lease)) else { return };
        let label = format!("n{} t{} ({how})", g.client, g.token);
        let color = self.color(g.client);
        self.spans.entry(server).or_default().push(Span { start_ns: g.start_ns, end_ns, label, color });
    }

    fn close_by_clock(&mut self, server: NodeId, time_ns: Nanos, local_ns: Nanos) {
        let due: Vec<LeaseId> = self
            .open
            .get(&server)
            .map(|m| {
                m.iter().filter(|(_, g)| g.expires_local_ns.is_some_and(|e| e <= local_ns)).map(|(l, _)| *l).collect()
            })
            .unwrap_or_default();
        for lease in due {
            self.close_grant(server, lease, time_ns, "expired");
        }
    }

    fn end_belief(&mut self, client: NodeId, time_ns: Nanos, crashed: bool) {
        let Some((lease, start_ns)) = self.believing.remove(&client) else { return };
        let label = format!("lease {}", short(lease));
        let color = self.color(client);
        if crashed {
            self.cuts.push(Cut { lane: client, start_ns, end_ns: time_ns, label, color });
            self.beliefs.push((start_ns, None, client));
        } else {
            self.spans.entry(client).or_default().push(Span { start_ns, end_ns: time_ns, label, color });
            self.beliefs.push((start_ns, Some(time_ns), client));
        }
    }

    fn observe(&mut self, time_ns: Nanos, obs: &LockObs) {
        if let (Some(server), Some(local_ns)) = (obs.server(), obs.server_local_ns()) {
            self.close_by_clock(server, time_ns, local_ns);
        }
        match *obs {
            LockObs::Granted { server, client, lease, token, expires_local_ns, .. } => {
                self.count("grants");
                let g = OpenGrant { start_ns: time_ns, client, token, expires_local_ns };
                self.open.entry(server).or_default().insert(lease, g);
            }
            LockObs::Expired { server, lease, .. } => {
                self.count("expiries");
                self.close_grant(server, lease, time_ns, "expired");
            }
            LockObs::Released { server, lease, .. } => {
                self.count("releases");
                self.close_grant(server, lease, time_ns, "released");
            }
            LockObs::Restarted { server, .. } => {
                self.count("server_restarts");
                // The server forgot these at its crash: settled against the fault log at the end.
                let forgotten: Vec<(LeaseId, OpenGrant)> =
                    self.open.get_mut(&server).map(std::mem::take).unwrap_or_default().into_iter().collect();
                for (_, g) in forgotten {
                    let label = format!("n{} t{} (forgotten in a crash)", g.client, g.token);
                    let color = self.color(g.client);
                    self.cuts.push(Cut { lane: server, start_ns: g.start_ns, end_ns: time_ns, label, color });
                }
            }
            LockObs::Serving { .. } => {}
            LockObs::Acquired { client, lease, .. } => {
                self.count("acquisitions");
                // A belief still open was cut short by a crash of the client.
                self.end_belief(client, time_ns, true);
                self.believing.insert(client, (lease, time_ns));
            }
            LockObs::Believes { client, lease, held: false } => {
                if self.believing.get(&client).is_some_and(|(l, _)| *l == lease) {
                    self.end_belief(client, time_ns, false);
                }
            }
            LockObs::Believes { held: true, .. } => self.count("checks"),
            LockObs::WriteAccepted { client, token, .. } => {
                self.count("accepted_writes");
                let label = token.map_or_else(|| format!("n{client}"), |t| format!("t{t}"));
                self.marks.push(Mark {
                    time_ns,
                    label: format!("{label} accepted (n{client})"),
                    color: ACCEPTED.into(),
                });
            }
            LockObs::WriteRejected { client, token, highest, .. } => {
                self.count("rejected_writes");
                let label = token.map_or_else(|| format!("n{client}"), |t| format!("t{t}"));
                let label = format!("{label} rejected (n{client}, highest t{highest})");
                self.marks.push(Mark { time_ns, label: label.clone(), color: REJECTED.into() });
                self.client_marks.entry(client).or_default().push(Mark { time_ns, label, color: REJECTED.into() });
            }
        }
    }

    /// The end of a span that `lane`'s crash may have cut: the first crash
    /// of `lane` that started in `[start, end]`, else `end`.
    fn settle(end: &RunEnd<'_>, lane: NodeId, start_ns: Nanos, end_ns: Nanos) -> Nanos {
        end.faults
            .windows
            .iter()
            .filter(|w| w.kind == "crash" && w.nodes == [lane] && w.start_ns >= start_ns && w.start_ns <= end_ns)
            .map(|w| w.start_ns)
            .min()
            .unwrap_or(end_ns)
    }

    fn finish(&mut self, end: &RunEnd<'_>) -> Extras {
        let end_ns = end.end_ns;
        // Beliefs and grants still open at the end: cut by a crash, or open until the end.
        for client in self.believing.keys().copied().collect::<Vec<_>>() {
            self.end_belief(client, end_ns, true);
        }
        for server in self.open.keys().copied().collect::<Vec<_>>() {
            let leases: Vec<LeaseId> = self.open[&server].keys().copied().collect();
            for lease in leases {
                let g = self.open.get_mut(&server).and_then(|m| m.remove(&lease)).expect("listed above");
                let label = format!("n{} t{}", g.client, g.token);
                let color = self.color(g.client);
                self.cuts.push(Cut { lane: server, start_ns: g.start_ns, end_ns, label, color });
            }
        }
        for cut in std::mem::take(&mut self.cuts) {
            let e = Self::settle(end, cut.lane, cut.start_ns, cut.end_ns);
            let span = Span { start_ns: cut.start_ns, end_ns: e, label: cut.label, color: cut.color };
            self.spans.entry(cut.lane).or_default().push(span);
        }
        let beliefs: Vec<(Nanos, Nanos)> =
            self.beliefs.iter().map(|&(s, e, c)| (s, e.unwrap_or_else(|| Self::settle(end, c, s, end_ns)))).collect();
        let (overlaps, most) = overlaps(&beliefs);
        let overlap_ns: Nanos = overlaps.iter().map(|(s, e)| e - s).sum();

        let mut lanes = Vec::new();
        lanes.push(SpanLane {
            label: "two believers".into(),
            node: None,
            spans: overlaps
                .iter()
                .map(|&(start_ns, end_ns)| Span {
                    start_ns,
                    end_ns,
                    label: "two clients believe they hold the lock".into(),
                    color: OVERLAP.into(),
                })
                .collect(),
            marks: Vec::new(),
        });
        let mut lane = |node: NodeId, label: String, spans: &mut BTreeMap<NodeId, Vec<Span>>, marks: Vec<Mark>| {
            let mut s = spans.remove(&node).unwrap_or_default();
            s.sort_by_key(|s| (s.start_ns, s.end_ns));
            lanes.push(SpanLane { label, node: Some(node), spans: s, marks });
        };
        for &c in &self.clients {
            let marks = self.client_marks.remove(&c).unwrap_or_default();
            lane(c, format!("n{c} client"), &mut self.spans, marks);
        }
        for &s in &self.servers {
            lane(s, format!("n{s} lock server"), &mut self.spans, Vec::new());
        }
        // Rejected writes last, so that they are drawn over the accepted ones.
        let mut marks = std::mem::take(&mut self.marks);
        marks.sort_by_key(|m| (m.color == REJECTED, m.time_ns));
        lanes.push(SpanLane {
            label: format!("n{} storage", self.storage),
            node: Some(self.storage),
            spans: Vec::new(),
            marks,
        });

        let mut stats: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        for key in [
            "grants",
            "expiries",
            "releases",
            "acquisitions",
            "checks",
            "accepted_writes",
            "rejected_writes",
            "server_restarts",
        ] {
            stats.insert(key.to_string(), self.counts.get(key).copied().unwrap_or(0).into());
        }
        stats.insert("max_concurrent_believers".into(), most.into());
        stats.insert("two_believers_ms".into(), serde_json::json!((overlap_ns as f64 / 1e6 * 1000.0).round() / 1000.0));
        let chart = SpanChart {
            name: "locks".into(),
            title: "Lock timeline".into(),
            about: "Client lanes: when each client believed it held the lock, with a red mark where the storage \
                    fenced off one of its writes. Server lanes: each grant, from grant to expiry or release by that \
                    server's clock, in the colour of the client granted, labelled by fencing token. Storage: \
                    accepted writes green, rejected red. The top lane is red where two clients believed at once; \
                    fault windows are shaded on the lanes they hit."
                .into(),
            shade: Vec::new(),
            lanes,
        };
        Extras { stats, charts: vec![chart] }
    }
}

/// The stretches where two or more of `spans` overlap, and the most that
/// overlap at one instant.
fn overlaps(spans: &[(Nanos, Nanos)]) -> (Vec<(Nanos, Nanos)>, u64) {
    let mut edges: Vec<(Nanos, i64)> = Vec::with_capacity(spans.len() * 2);
    for &(s, e) in spans {
        if e > s {
            edges.push((s, 1));
            edges.push((e, -1));
        }
    }
    // Ends before starts at one instant: touching spans do not overlap.
    edges.sort();
    let (mut depth, mut most, mut from) = (0i64, 0i64, None);
    let mut out = Vec::new();
    for (t, d) in edges {
        depth += d;
        most = most.max(depth);
        match (depth >= 2, from) {
            (true, None) => from = Some(t),
            (false, Some(f)) => {
                if t > f {
                    out.push((f, t));
                }
                from = None;
            }
            _ => {}
        }
    }
    (out, most.max(0) as u64)
}

impl<O, P: Fn(&O) -> Option<&LockObs>> Reporter<O> for LockTimeline<O, P> {
    fn on_observe(&mut self, time_ns: Nanos, _node: NodeId, obs: &O) {
        if let Some(o) = (self.project)(obs) {
            self.observe(time_ns, o);
        }
    }
    fn on_finish(&mut self, end: &RunEnd<'_>) -> Extras {
        self.finish(end)
    }
}

#[cfg(test)]
mod tests {
    use super::overlaps;

    #[test]
    fn overlaps_are_where_two_or_more_spans_meet() {
        assert_eq!(overlaps(&[(0, 10), (10, 20)]), (vec![], 1), "touching spans do not overlap");
        assert_eq!(overlaps(&[(0, 10), (5, 20), (6, 7)]), (vec![(5, 10)], 3));
        assert_eq!(overlaps(&[]), (vec![], 0));
    }
}
