//! Faults: what they are, the scripted schedule, the random nemesis, and the
//! log of fault windows that reports shade.
//!
//! Faults injected: crash (and restart), process pause (and resume),
//! partitions of any grouping, one-way link cuts, heal, clock skew (a rate)
//! and clock jumps. The kernel applies them (`sim`); this file only decides
//! which and when. The random nemesis draws from its own `nemesis` stream, so
//! turning it on never changes the network's or the nodes' draws.

use serde::Serialize;

pub use crate::net::TransientKind;
use crate::sim::rng::{Prng, Probability};
use crate::sim::world::NodeId;
use crate::sim::Nanos;

/// One fault action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The node stops: tasks, timers, mailbox and unsynced writes are gone.
    Crash(NodeId),
    /// A crashed node runs its entry point again on its durable state.
    Restart(NodeId),
    /// No task of the node runs; messages and timers wait.
    Pause(NodeId),
    /// A paused node runs again.
    Resume(NodeId),
    /// Links between different groups are cut both ways.
    Partition(Vec<Vec<NodeId>>),
    /// The one link `source -> target` is cut; the reverse still works.
    Cut {
        /// Sending side.
        source: NodeId,
        /// Receiving side.
        target: NodeId,
    },
    /// Every cut link (partitions and one-way cuts) is restored.
    Heal,
    /// The nemesis cuts these directed links (a partition or cut of one
    /// of its target modes); its [`Fault::MendLinks`] undoes exactly this.
    CutLinks {
        /// `partition` or `cut`, as fault windows name it.
        kind: &'static str,
        /// The directed links (source, target).
        links: Vec<(NodeId, NodeId)>,
        /// What it is, e.g. `bridge n0->n2 n2->n0`.
        label: String,
    },
    /// A transient fault on these directed links: a clog (messages held,
    /// then released in a burst when it ends), extra delay, or a loss burst.
    Transient {
        /// What it does.
        kind: TransientKind,
        /// The directed links (source, target).
        links: Vec<(NodeId, NodeId)>,
        /// What it is, e.g. `n0->n1 n0->n2`.
        label: String,
    },
    /// Ends one [`Fault::Transient`] (a clog releases what it held).
    TransientEnd {
        /// As in the start.
        kind: TransientKind,
        /// As in the start.
        links: Vec<(NodeId, NodeId)>,
        /// As in the start.
        label: String,
    },
    /// The node's fsyncs take `extra_ns` longer (0: back to normal).
    SlowDisk {
        /// The node.
        node: NodeId,
        /// Extra latency of each fsync.
        extra_ns: Nanos,
    },
    /// Undoes one [`Fault::CutLinks`]: a link works again once no other
    /// fault still cuts it.
    MendLinks {
        /// As in the cut.
        kind: &'static str,
        /// As in the cut.
        links: Vec<(NodeId, NodeId)>,
        /// As in the cut.
        label: String,
    },
    /// The node's clock runs at `rate_ppm` millionths of real speed.
    ClockRate {
        /// The node.
        node: NodeId,
        /// Speed in parts per million (1,000,000 = exact).
        rate_ppm: u64,
    },
    /// The node's clock steps by `by_ns` (negative = back).
    ClockJump {
        /// The node.
        node: NodeId,
        /// Step in nanoseconds.
        by_ns: i64,
    },
}

impl Fault {
    /// A short human description, used in traces and reports.
    pub fn describe(&self) -> String {
        match self {
            Fault::Crash(n) => format!("crash n{n}"),
            Fault::Restart(n) => format!("restart n{n}"),
            Fault::Pause(n) => format!("pause n{n}"),
            Fault::Resume(n) => format!("resume n{n}"),
            Fault::Partition(groups) => format!("partition {groups:?}"),
            Fault::Cut { source, target } => format!("cut n{source} -> n{target}"),
            Fault::Heal => "heal".to_string(),
            Fault::CutLinks { kind, label, .. } => format!("{kind} {label}"),
            Fault::Transient { kind, label, .. } => format!("{} {label}", transient_text(*kind)),
            Fault::TransientEnd { kind, label, .. } => format!("end {} {label}", transient_text(*kind)),
            Fault::SlowDisk { node, extra_ns: 0 } => format!("disk n{node} normal"),
            Fault::SlowDisk { node, extra_ns } => format!("slow disk n{node} +{:.3}s", *extra_ns as f64 / 1e9),
            Fault::MendLinks { kind, label, .. } => format!("mend {kind} {label}"),
            Fault::ClockRate { node, rate_ppm } => {
                format!("clock rate n{node} x{:.3}", *rate_ppm as f64 / 1e6)
            }
            Fault::ClockJump { node, by_ns } => {
                format!("clock jump n{node} {:+.3}s", *by_ns as f64 / 1e9)
            }
        }
    }

    /// The one node this fault concerns, if it concerns exactly one.
    pub fn node(&self) -> Option<NodeId> {
        match self {
            Fault::Crash(n) | Fault::Restart(n) | Fault::Pause(n) | Fault::Resume(n) => Some(*n),
            Fault::ClockRate { node, .. } | Fault::ClockJump { node, .. } => Some(*node),
            Fault::Partition(_) | Fault::Cut { .. } | Fault::Heal => None,
            Fault::CutLinks { .. } | Fault::MendLinks { .. } => None,
            Fault::Transient { .. } | Fault::TransientEnd { .. } => None,
            Fault::SlowDisk { node, .. } => Some(*node),
        }
    }

    /// A stable numeric code for the trace hash.
    pub fn code(&self) -> u64 {
        match self {
            Fault::Crash(_) => 1,
            Fault::Restart(_) => 2,
            Fault::Pause(_) => 3,
            Fault::Resume(_) => 4,
            Fault::Partition(_) => 5,
            Fault::Cut { .. } => 6,
            Fault::Heal => 7,
            Fault::ClockRate { .. } => 8,
            Fault::ClockJump { .. } => 9,
            Fault::CutLinks { .. } => 10,
            Fault::MendLinks { .. } => 11,
            Fault::Transient { .. } => 12,
            Fault::TransientEnd { .. } => 13,
            Fault::SlowDisk { .. } => 14,
        }
    }
}

/// A fault at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledFault {
    /// Global time at which it applies.
    pub at_ns: Nanos,
    /// What happens.
    pub fault: Fault,
}

/// Kinds of fault the random nemesis may inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NemesisKind {
    /// A random minority/majority split, healed after the window.
    Partition,
    /// A random node crashes and restarts after the window.
    Crash,
    /// A random node pauses and resumes after the window.
    Pause,
    /// A random one-way cut, healed after the window.
    Cut,
    /// A random node's clock runs fast or slow for the window.
    Skew,
    /// A random node's clock jumps.
    Jump,
    /// A random node's links clog: messages to and from it are held, then
    /// released in one burst when the clog ends.
    Clog,
    /// A random node's links slow down by a random extra delay.
    Delay,
    /// A random node's links lose a random share of messages (0.3 to 1).
    Loss,
    /// A random node's fsyncs take a random extra time.
    SlowDisk,
}

impl NemesisKind {
    /// Every kind with its scenario name.
    pub const ALL: [(NemesisKind, &'static str); 10] = [
        (NemesisKind::Partition, "partition"),
        (NemesisKind::Crash, "crash"),
        (NemesisKind::Pause, "pause"),
        (NemesisKind::Cut, "cut"),
        (NemesisKind::Skew, "skew"),
        (NemesisKind::Jump, "jump"),
        (NemesisKind::Clog, "clog"),
        (NemesisKind::Delay, "delay"),
        (NemesisKind::Loss, "loss"),
        (NemesisKind::SlowDisk, "slow-disk"),
    ];

    /// The kind's name in a scenario.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(k, _)| *k == self).map(|(_, n)| *n).expect("every kind is listed")
    }

    /// The kind named `name` in a scenario.
    pub fn from_name(name: &str) -> Option<NemesisKind> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }
}

/// How the nemesis spaces its faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// One fault every `every`, on a fixed grid.
    Fixed,
    /// Exponential gaps of mean `every` (a Poisson process): faults bunch
    /// up and spread out, so two may land close together.
    Poisson,
    /// Gaps drawn uniformly from (0, 2 * `every`].
    Uniform,
}

/// How the nemesis picks what a fault hits. Each fault draws one of the
/// scenario's modes that applies to its kind; a kind no listed mode
/// applies to hits as it always has (`One` node, a `Split`, a `OneWay` cut).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// Node faults: one random eligible node.
    One,
    /// Node faults: a random minority of the eligible nodes, all at once;
    /// partitions: a random minority cut off from the rest.
    Minority,
    /// Node faults: the node the protocol last reported as leader
    /// (`Setup::leader_shown`), else a random one; partitions: that node
    /// isolated.
    Leader,
    /// Partitions: the eligible nodes shuffled into two non-empty groups.
    Split,
    /// Partitions: one node cut off from every other.
    Isolate,
    /// Partitions: two halves that cannot talk, both still talking to one
    /// bridge node (Jepsen's bridge).
    Bridge,
    /// Partitions: each node hears only its two neighbours on a random ring.
    Ring,
    /// Cuts: one random one-way link.
    OneWay,
    /// Cuts: every link into one node, so it sends but never hears (the
    /// asymmetric fault that makes a node depose leaders forever).
    Deaf,
}

impl Target {
    /// Every mode with its scenario name.
    pub const ALL: [(Target, &'static str); 9] = [
        (Target::One, "one"),
        (Target::Minority, "minority"),
        (Target::Leader, "leader"),
        (Target::Split, "split"),
        (Target::Isolate, "isolate"),
        (Target::Bridge, "bridge"),
        (Target::Ring, "ring"),
        (Target::OneWay, "one-way"),
        (Target::Deaf, "deaf"),
    ];

    /// The mode named `name` in a scenario.
    pub fn from_name(name: &str) -> Option<Target> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(t, _)| *t)
    }

    fn applies_to(self, kind: NemesisKind) -> bool {
        match kind {
            NemesisKind::Partition => {
                matches!(
                    self,
                    Target::Minority | Target::Leader | Target::Split | Target::Isolate | Target::Bridge | Target::Ring
                )
            }
            NemesisKind::Cut => matches!(self, Target::OneWay | Target::Deaf | Target::Leader),
            _ => matches!(self, Target::One | Target::Minority | Target::Leader),
        }
    }
}

/// Which processes the nemesis may hit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Eligible {
    /// The protocol's nodes, not the clients.
    Servers,
    /// Every process, clients included.
    All,
    /// These process ids.
    Ids(Vec<NodeId>),
}

/// The random nemesis's options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NemesisConfig {
    /// Kinds to draw from, uniformly (a kind listed twice is drawn twice as often).
    pub kinds: Vec<NemesisKind>,
    /// Mean time between the starts of two faults.
    pub every_ns: Nanos,
    /// How long each fault lasts before it is undone: the shortest...
    pub for_ns: Nanos,
    /// ...and the longest (equal for a fixed duration); drawn uniformly.
    pub for_max_ns: Nanos,
    /// How starts are spaced.
    pub arrival: Arrival,
    /// Most nemesis faults in force at once (`None`: no cap); a start that
    /// would exceed it is skipped.
    pub overlap: Option<usize>,
    /// Target modes to draw from; empty: each kind's classic target.
    pub targets: Vec<Target>,
    /// Which processes may be hit.
    pub eligible: Eligible,
    /// No fault starts before this time.
    pub start_ns: Nanos,
    /// No fault starts at or after this time (the run may then converge).
    pub stop_ns: Nanos,
}

impl NemesisConfig {
    /// The classic nemesis: `kinds` on a fixed grid, each fault lasting `for_ns`.
    pub fn fixed(kinds: Vec<NemesisKind>, every_ns: Nanos, for_ns: Nanos, start_ns: Nanos, stop_ns: Nanos) -> Self {
        NemesisConfig {
            kinds,
            every_ns,
            for_ns,
            for_max_ns: for_ns,
            arrival: Arrival::Fixed,
            overlap: None,
            targets: Vec::new(),
            eligible: Eligible::Servers,
            start_ns,
            stop_ns,
        }
    }

    /// One line for the run header: `crash x2+pause every 2s (poisson) for
    /// 200ms..5s, overlap 2, targets leader/minority`.
    pub fn describe(&self) -> String {
        let mut kinds: Vec<(NemesisKind, usize)> = Vec::new();
        for &k in &self.kinds {
            match kinds.iter_mut().find(|(x, _)| *x == k) {
                Some((_, n)) => *n += 1,
                None => kinds.push((k, 1)),
            }
        }
        let kinds: Vec<String> = kinds
            .iter()
            .map(|(k, n)| if *n > 1 { format!("{} x{n}", k.name()) } else { k.name().to_string() })
            .collect();
        let ms = |ns: Nanos| {
            let s = format!("{:.3}", ns as f64 / 1e9);
            format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
        };
        let mut out = format!("{} every {}", kinds.join("+"), ms(self.every_ns));
        match self.arrival {
            Arrival::Fixed => {}
            Arrival::Poisson => out.push_str(" (poisson)"),
            Arrival::Uniform => out.push_str(" (uniform)"),
        }
        if self.for_max_ns > self.for_ns {
            out.push_str(&format!(" for {}..{}", ms(self.for_ns), ms(self.for_max_ns)));
        } else {
            out.push_str(&format!(" for {}", ms(self.for_ns)));
        }
        if let Some(cap) = self.overlap {
            out.push_str(&format!(", overlap {cap}"));
        }
        if !self.targets.is_empty() {
            let names: Vec<&str> =
                self.targets.iter().filter_map(|t| Target::ALL.iter().find(|(x, _)| x == t).map(|(_, n)| *n)).collect();
            out.push_str(&format!(", targets {}", names.join("/")));
        }
        match &self.eligible {
            Eligible::Servers => {}
            Eligible::All => out.push_str(", clients too"),
            Eligible::Ids(ids) => out.push_str(&format!(", only {ids:?}")),
        }
        out
    }

    /// Whether this is the classic fixed-grid nemesis, which draws exactly
    /// as faultline always has (old seeds replay the same runs).
    fn is_classic(&self) -> bool {
        self.arrival == Arrival::Fixed
            && self.for_max_ns == self.for_ns
            && self.overlap.is_none()
            && self.targets.is_empty()
            && self.eligible == Eligible::Servers
    }
}

/// What the nemesis knows of the run when it draws.
#[derive(Clone, Copy, Debug, Default)]
pub struct NemesisView {
    /// Protocol nodes (ids `0..node_count`).
    pub node_count: usize,
    /// All processes, clients included.
    pub process_count: usize,
    /// The node the protocol last reported as leader, if any.
    pub leader: Option<NodeId>,
}

/// The random nemesis: draws one fault per tick and its undoing.
pub struct Nemesis {
    config: NemesisConfig,
    rng: Prng,
    /// When each of its faults still in force ends.
    active: Vec<Nanos>,
    /// Per node: until when a crash or pause of the nemesis holds it.
    held_until: std::collections::BTreeMap<NodeId, Nanos>,
}

impl Nemesis {
    /// A nemesis with its own stream of the run's seed.
    pub fn new(config: NemesisConfig, seed: u64) -> Nemesis {
        assert!(!config.kinds.is_empty() && config.every_ns > 0, "nemesis needs kinds and a period");
        assert!(config.for_ns <= config.for_max_ns, "a duration range runs low to high");
        Nemesis { config, rng: Prng::stream(seed, "nemesis"), active: Vec::new(), held_until: Default::default() }
    }

    /// Time of the first tick.
    pub fn first_tick(&self) -> Nanos {
        self.config.start_ns.max(self.config.every_ns)
    }

    /// At tick time `now`, draws the faults to apply (with their times) and the next tick.
    pub fn tick(&mut self, now: Nanos, view: NemesisView) -> (Vec<ScheduledFault>, Option<Nanos>) {
        let out = if self.config.is_classic() { self.classic(now, view.node_count) } else { self.draw(now, view) };
        let c = &self.config;
        let gap = match c.arrival {
            Arrival::Fixed => c.every_ns,
            Arrival::Poisson => {
                let g = -(self.rng.unit_open().ln()) * c.every_ns as f64;
                (g.min(u64::MAX as f64 / 4.0) as Nanos).max(1)
            }
            Arrival::Uniform => self.rng.between(1, c.every_ns.saturating_mul(2)),
        };
        let next = now.saturating_add(gap);
        (out, (next < c.stop_ns).then_some(next))
    }

    /// The fixed-grid nemesis, drawing in the order it always has.
    fn classic(&mut self, now: Nanos, node_count: usize) -> Vec<ScheduledFault> {
        let c = &self.config;
        let mut out = Vec::new();
        if now < c.stop_ns && node_count > 0 {
            let kind = c.kinds[self.rng.index(c.kinds.len())];
            let end = now + c.for_ns;
            let node = self.rng.index(node_count);
            let at = |at_ns, fault| ScheduledFault { at_ns, fault };
            match kind {
                NemesisKind::Partition if node_count > 1 => {
                    let mut order: Vec<NodeId> = (0..node_count).collect();
                    shuffle(&mut self.rng, &mut order);
                    let split = 1 + self.rng.index(node_count - 1);
                    let (a, b) = order.split_at(split);
                    let (mut a, mut b) = (a.to_vec(), b.to_vec());
                    a.sort_unstable();
                    b.sort_unstable();
                    out.push(at(now, Fault::Partition(vec![a, b])));
                    out.push(at(end, Fault::Heal));
                }
                NemesisKind::Cut if node_count > 1 => {
                    let other = (node + 1 + self.rng.index(node_count - 1)) % node_count;
                    out.push(at(now, Fault::Cut { source: node, target: other }));
                    out.push(at(end, Fault::Heal));
                }
                NemesisKind::Partition | NemesisKind::Cut => {}
                _ => {
                    let all: Vec<NodeId> = (0..node_count).collect();
                    self.node_fault(kind, node, &all, now, end, &mut out)
                }
            }
        }
        out
    }

    /// A crash, pause, skew or jump of `node` from `now` to `end`.
    fn node_fault(
        &mut self,
        kind: NemesisKind,
        node: NodeId,
        peers: &[NodeId],
        now: Nanos,
        end: Nanos,
        out: &mut Vec<ScheduledFault>,
    ) {
        let at = |at_ns, fault| ScheduledFault { at_ns, fault };
        let every = self.config.every_ns;
        match kind {
            NemesisKind::Crash => {
                out.push(at(now, Fault::Crash(node)));
                out.push(at(end, Fault::Restart(node)));
            }
            NemesisKind::Pause => {
                out.push(at(now, Fault::Pause(node)));
                out.push(at(end, Fault::Resume(node)));
            }
            NemesisKind::Skew => {
                // Between half and double speed, never exactly 1.
                let rate_ppm = if self.rng.index(2) == 0 {
                    self.rng.between(500_000, 900_000)
                } else {
                    self.rng.between(1_100_000, 2_000_000)
                };
                out.push(at(now, Fault::ClockRate { node, rate_ppm }));
                out.push(at(end, Fault::ClockRate { node, rate_ppm: 1_000_000 }));
            }
            NemesisKind::Jump => {
                let by = self.rng.between(1, self.config.every_ns) as i64;
                let by_ns = if self.rng.index(2) == 0 { by } else { -by };
                out.push(at(now, Fault::ClockJump { node, by_ns }));
            }
            NemesisKind::Clog | NemesisKind::Delay | NemesisKind::Loss => {
                let kind = match kind {
                    NemesisKind::Clog => TransientKind::Clog,
                    NemesisKind::Delay => TransientKind::Delay(self.rng.between(1_000_000, (every / 2).max(2_000_000))),
                    _ => TransientKind::Loss(Probability::from_f64(self.rng.between(300, 1000) as f64 / 1000.0)),
                };
                let mut links = Vec::new();
                for &p in peers.iter().filter(|&&p| p != node) {
                    links.push((node, p));
                    links.push((p, node));
                }
                if links.is_empty() {
                    return;
                }
                let label = format!("n{node}'s links");
                out.push(at(now, Fault::Transient { kind, links: links.clone(), label: label.clone() }));
                out.push(at(end, Fault::TransientEnd { kind, links, label }));
            }
            NemesisKind::SlowDisk => {
                let extra_ns = self.rng.between(1_000_000, (every / 4).max(2_000_000));
                out.push(at(now, Fault::SlowDisk { node, extra_ns }));
                out.push(at(end, Fault::SlowDisk { node, extra_ns: 0 }));
            }
            NemesisKind::Partition | NemesisKind::Cut => unreachable!("link faults are drawn by their callers"),
        }
    }

    /// The seed-drawn nemesis: durations from a range, a cap on overlap,
    /// targets by mode among the eligible processes, nodes already held
    /// by one of its crashes or pauses left alone, and link faults that
    /// undo exactly what they cut (so overlapping ones compose).
    fn draw(&mut self, now: Nanos, view: NemesisView) -> Vec<ScheduledFault> {
        let mut out = Vec::new();
        self.active.retain(|&end| end > now);
        self.held_until.retain(|_, &mut end| end > now);
        let c = &self.config;
        let eligible: Vec<NodeId> = match &c.eligible {
            Eligible::Servers => (0..view.node_count).collect(),
            Eligible::All => (0..view.process_count).collect(),
            Eligible::Ids(ids) => ids.iter().copied().filter(|&i| i < view.process_count).collect(),
        };
        if now >= c.stop_ns || eligible.is_empty() {
            return out;
        }
        let kind = c.kinds[self.rng.index(c.kinds.len())];
        let modes: Vec<Target> = c.targets.iter().copied().filter(|t| t.applies_to(kind)).collect();
        let mode = if modes.is_empty() {
            match kind {
                NemesisKind::Partition => Target::Split,
                NemesisKind::Cut => Target::OneWay,
                _ => Target::One,
            }
        } else {
            modes[self.rng.index(modes.len())]
        };
        let length = if c.for_max_ns > c.for_ns { self.rng.between(c.for_ns, c.for_max_ns) } else { c.for_ns };
        let end = now.saturating_add(length);
        if c.overlap.is_some_and(|cap| self.active.len() >= cap) {
            return out;
        }
        let n = eligible.len();
        let leader = view.leader.filter(|l| eligible.contains(l));
        let pick_one = |rng: &mut Prng| match (mode, leader) {
            (Target::Leader, Some(l)) => l,
            _ => eligible[rng.index(n)],
        };
        let at = |at_ns, fault| ScheduledFault { at_ns, fault };
        match kind {
            NemesisKind::Partition | NemesisKind::Cut => {
                if n < 2 {
                    return out;
                }
                let links = self.links(kind, mode, &eligible, leader);
                if links.is_empty() {
                    return out;
                }
                let what: &'static str = if kind == NemesisKind::Partition { "partition" } else { "cut" };
                let label = format!(
                    "{} {}",
                    Target::ALL.iter().find(|(t, _)| *t == mode).map_or("", |(_, n)| n),
                    links_text(&links)
                );
                out.push(at(now, Fault::CutLinks { kind: what, links: links.clone(), label: label.clone() }));
                out.push(at(end, Fault::MendLinks { kind: what, links, label }));
            }
            _ => {
                let mut targets = match mode {
                    Target::Minority if n > 2 => {
                        let mut order = eligible.clone();
                        shuffle(&mut self.rng, &mut order);
                        order.truncate(1 + self.rng.index((n - 1) / 2));
                        order.sort_unstable();
                        order
                    }
                    _ => vec![pick_one(&mut self.rng)],
                };
                let holds = matches!(kind, NemesisKind::Crash | NemesisKind::Pause | NemesisKind::SlowDisk);
                if holds {
                    targets.retain(|t| !self.held_until.contains_key(t));
                }
                for node in targets {
                    if holds {
                        self.held_until.insert(node, end);
                    }
                    self.node_fault(kind, node, &eligible, now, end, &mut out);
                }
            }
        }
        if !out.is_empty() {
            self.active.push(end);
        }
        out
    }

    /// The directed links a partition or cut of `mode` cuts among `eligible`.
    fn links(
        &mut self,
        kind: NemesisKind,
        mode: Target,
        eligible: &[NodeId],
        leader: Option<NodeId>,
    ) -> Vec<(NodeId, NodeId)> {
        let n = eligible.len();
        let mut order = eligible.to_vec();
        shuffle(&mut self.rng, &mut order);
        let across = |a: &[NodeId], b: &[NodeId]| {
            let mut links = Vec::new();
            for &x in a {
                for &y in b {
                    links.push((x, y));
                    links.push((y, x));
                }
            }
            links
        };
        let mut links = match (kind, mode) {
            (NemesisKind::Cut, Target::Deaf) | (NemesisKind::Cut, Target::Leader) => {
                let node = match (mode, leader) {
                    (Target::Leader, Some(l)) => l,
                    _ => order[0],
                };
                eligible.iter().filter(|&&o| o != node).map(|&o| (o, node)).collect()
            }
            (NemesisKind::Cut, _) => vec![(order[0], order[1])],
            (_, Target::Isolate) | (_, Target::Leader) => {
                let node = match (mode, leader) {
                    (Target::Leader, Some(l)) => l,
                    _ => order[0],
                };
                let rest: Vec<NodeId> = eligible.iter().copied().filter(|&o| o != node).collect();
                across(&[node], &rest)
            }
            (_, Target::Minority) => {
                let size = 1 + self.rng.index((n - 1) / 2).min(n - 2);
                across(&order[..size], &order[size..])
            }
            (_, Target::Bridge) if n >= 3 => {
                // order[0] bridges; the rest splits into two halves.
                let rest = &order[1..];
                let half = rest.len() / 2;
                across(&rest[..half.max(1)], &rest[half.max(1)..])
            }
            (_, Target::Ring) if n >= 4 => {
                // Everyone keeps the links to its two ring neighbours only.
                let pos = |x: NodeId| order.iter().position(|&o| o == x).expect("on the ring");
                let mut links = Vec::new();
                for &a in eligible {
                    for &b in eligible {
                        let d = pos(a).abs_diff(pos(b));
                        if a != b && d != 1 && d != n - 1 {
                            links.push((a, b));
                        }
                    }
                }
                links
            }
            _ => {
                let split = 1 + self.rng.index(n - 1);
                across(&order[..split], &order[split..])
            }
        };
        links.sort_unstable();
        links.dedup();
        links
    }
}

fn shuffle(rng: &mut Prng, order: &mut [NodeId]) {
    for i in (1..order.len()).rev() {
        order.swap(i, rng.index(i + 1));
    }
}

/// `clog`, `delay` or `loss`: the fault window's kind.
pub fn transient_name(kind: TransientKind) -> &'static str {
    match kind {
        TransientKind::Clog => "clog",
        TransientKind::Delay(_) => "delay",
        TransientKind::Loss(_) => "loss",
    }
}

fn transient_text(kind: TransientKind) -> String {
    match kind {
        TransientKind::Clog => "clog".to_string(),
        TransientKind::Delay(ns) => format!("delay +{:.3}s", ns as f64 / 1e9),
        TransientKind::Loss(p) => format!("loss {:.2}", p.as_f64()),
    }
}

/// A short text for a set of cut links: the groups when it is a partition
/// of its nodes, else the links.
/// A short text for a set of directed links (`n0->n1 n1->n0`, or a count
/// and the nodes when there are many).
pub fn links_text(links: &[(NodeId, NodeId)]) -> String {
    if links.len() <= 6 {
        let parts: Vec<String> = links.iter().map(|(a, b)| format!("n{a}->n{b}")).collect();
        return parts.join(" ");
    }
    let mut nodes: Vec<NodeId> = links.iter().flat_map(|&(a, b)| [a, b]).collect();
    nodes.sort_unstable();
    nodes.dedup();
    format!("{} links among {}", links.len(), nodes.iter().map(|n| format!("n{n}")).collect::<Vec<_>>().join(","))
}

/// A stretch of time during which a fault was in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FaultWindow {
    /// `crash`, `pause`, `partition`, `cut`, `skew` or `jump`.
    pub kind: &'static str,
    /// The nodes it affects (for a partition, every listed node).
    pub nodes: Vec<NodeId>,
    /// Human description.
    pub detail: String,
    /// Start, global nanoseconds.
    pub start_ns: Nanos,
    /// End, global nanoseconds; `None` while still in force (at run end: until the end).
    pub end_ns: Option<Nanos>,
}

/// The log of fault windows of one run. Checks can ask it which faults were
/// in force, and when: to say "after the heal" or "while n2 was paused".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultLog {
    /// Every window, in start order.
    pub windows: Vec<FaultWindow>,
    /// Indices of the windows still open, in start order: closing a fault
    /// looks at these only, so a run's cost does not grow with its fault count.
    open: Vec<usize>,
}

impl FaultLog {
    fn open(&mut self, kind: &'static str, nodes: Vec<NodeId>, detail: String, now: Nanos) {
        self.open.push(self.windows.len());
        self.windows.push(FaultWindow { kind, nodes, detail, start_ns: now, end_ns: None });
    }

    fn close(&mut self, now: Nanos, pred: impl Fn(&FaultWindow) -> bool) {
        let windows = &mut self.windows;
        self.open.retain(|&i| {
            let w = &mut windows[i];
            if pred(w) {
                w.end_ns = Some(now);
                false
            } else {
                true
            }
        });
    }

    /// Closes the open link-fault windows (partitions, cuts, clogs, delays,
    /// loss bursts) that only concern `nodes`: the liveness phase healed them.
    pub fn close_links_within(&mut self, nodes: &[NodeId], now: Nanos) {
        const LINK_KINDS: [&str; 5] = ["partition", "cut", "clog", "delay", "loss"];
        self.close(now, |w| LINK_KINDS.contains(&w.kind) && w.nodes.iter().all(|n| nodes.contains(n)));
    }

    /// The windows still in force (not closed by the end of the run).
    pub fn still_open(&self) -> impl Iterator<Item = &FaultWindow> {
        self.open.iter().map(|&i| &self.windows[i])
    }

    /// Closes the first open window whose detail is `detail`.
    fn close_first(&mut self, now: Nanos, detail: &str) {
        let windows = &mut self.windows;
        if let Some(pos) = self.open.iter().position(|&i| windows[i].detail == detail) {
            windows[self.open[pos]].end_ns = Some(now);
            self.open.remove(pos);
        }
    }

    /// Records that `fault` was applied at `now`.
    pub fn apply(&mut self, fault: &Fault, now: Nanos) {
        let detail = fault.describe();
        match fault {
            Fault::Crash(n) => self.open("crash", vec![*n], detail, now),
            Fault::Restart(n) => self.close(now, |w| w.kind == "crash" && w.nodes == [*n]),
            Fault::Pause(n) => self.open("pause", vec![*n], detail, now),
            Fault::Resume(n) => self.close(now, |w| w.kind == "pause" && w.nodes == [*n]),
            Fault::Partition(groups) => self.open("partition", groups.iter().flatten().copied().collect(), detail, now),
            Fault::Cut { source, target } => self.open("cut", vec![*source, *target], detail, now),
            Fault::Heal => self.close(now, |w| w.kind == "partition" || w.kind == "cut"),
            Fault::CutLinks { kind, links, .. } => {
                let mut nodes: Vec<NodeId> = links.iter().flat_map(|&(a, b)| [a, b]).collect();
                nodes.sort_unstable();
                nodes.dedup();
                self.open(kind, nodes, detail, now);
            }
            Fault::Transient { kind, links, .. } => {
                let mut nodes: Vec<NodeId> = links.iter().flat_map(|&(a, b)| [a, b]).collect();
                nodes.sort_unstable();
                nodes.dedup();
                self.open(transient_name(*kind), nodes, detail, now);
            }
            Fault::TransientEnd { kind, links, label } => {
                let opened = Fault::Transient { kind: *kind, links: links.clone(), label: label.clone() }.describe();
                self.close_first(now, &opened);
            }
            Fault::SlowDisk { node, extra_ns } => {
                self.close(now, |w| w.kind == "slow-disk" && w.nodes == [*node]);
                if *extra_ns > 0 {
                    self.open("slow-disk", vec![*node], detail, now);
                }
            }
            Fault::MendLinks { kind, links, label } => {
                // The first window still open of the very cut this mends.
                let opened = Fault::CutLinks { kind, links: links.clone(), label: label.clone() }.describe();
                self.close_first(now, &opened);
            }
            Fault::ClockRate { node, rate_ppm } => {
                self.close(now, |w| w.kind == "skew" && w.nodes == [*node]);
                if *rate_ppm != 1_000_000 {
                    self.open("skew", vec![*node], detail, now);
                }
            }
            Fault::ClockJump { node, .. } => {
                self.open("jump", vec![*node], detail, now);
                self.close(now, |w| w.kind == "jump");
            }
        }
    }

    /// The faults in force at `t` (started at or before it, not yet ended).
    pub fn in_force_at(&self, t: Nanos) -> impl Iterator<Item = &FaultWindow> {
        self.windows.iter().filter(move |w| w.start_ns <= t && w.end_ns.is_none_or(|e| e > t))
    }

    /// The faults in force at some time in `[from, to]`.
    pub fn overlapping(&self, from: Nanos, to: Nanos) -> impl Iterator<Item = &FaultWindow> {
        self.windows.iter().filter(move |w| w.start_ns <= to && w.end_ns.is_none_or(|e| e >= from))
    }

    /// Whether node `n` was crashed or paused at `t`.
    pub fn is_down_at(&self, n: NodeId, t: Nanos) -> bool {
        self.in_force_at(t).any(|w| (w.kind == "crash" || w.kind == "pause") && w.nodes == [n])
    }

    /// When the last window closed, if none is still open.
    pub fn last_heal(&self) -> Option<Nanos> {
        if !self.open.is_empty() {
            return None;
        }
        Some(self.windows.iter().filter_map(|w| w.end_ns).max().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(config: NemesisConfig, seed: u64) -> Vec<ScheduledFault> {
        let mut n = Nemesis::new(config, seed);
        let mut tick = Some(n.first_tick());
        let mut all = Vec::new();
        let view = NemesisView { node_count: 5, process_count: 7, leader: Some(3) };
        while let Some(t) = tick {
            let (faults, next) = n.tick(t, view);
            all.extend(faults);
            tick = next;
        }
        all
    }

    fn drawn(kinds: &[NemesisKind], targets: &[Target]) -> NemesisConfig {
        NemesisConfig {
            arrival: Arrival::Poisson,
            for_max_ns: 40,
            targets: targets.to_vec(),
            ..NemesisConfig::fixed(kinds.to_vec(), 10, 5, 0, 10_000)
        }
    }

    #[test]
    fn seed_drawn_timing_varies_gaps_and_durations() {
        let all = schedule(drawn(&[NemesisKind::Pause], &[]), 1);
        let starts: Vec<Nanos> = all.iter().filter(|f| matches!(f.fault, Fault::Pause(_))).map(|f| f.at_ns).collect();
        let gaps: std::collections::BTreeSet<Nanos> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.len() > 20, "exponential gaps take many values: {gaps:?}");
        // Each draw pushes its fault and then its undoing.
        let lengths: std::collections::BTreeSet<Nanos> = all
            .windows(2)
            .filter_map(|w| match (&w[0].fault, &w[1].fault) {
                (Fault::Pause(a), Fault::Resume(b)) if a == b => Some(w[1].at_ns - w[0].at_ns),
                _ => None,
            })
            .collect();
        assert!(lengths.iter().all(|l| (5..=40).contains(l)) && lengths.len() > 10, "{lengths:?}");
        // Nodes stay out of the clients' ids by default, and none is paused twice at once.
        assert!(all.iter().all(|f| f.fault.node().is_none_or(|n| n < 5)));
    }

    #[test]
    fn overlap_is_capped() {
        let config = NemesisConfig { overlap: Some(1), ..drawn(&[NemesisKind::Crash, NemesisKind::Partition], &[]) };
        let mut all = schedule(config, 2);
        all.sort_by_key(|f| f.at_ns);
        let mut log = FaultLog::default();
        let mut most = 0;
        for f in &all {
            log.apply(&f.fault, f.at_ns);
            most = most.max(log.open.len());
        }
        assert_eq!(most, 1, "never two faults at once");
        assert!(log.last_heal().is_some());
    }

    #[test]
    fn target_modes_cut_what_they_say() {
        let config =
            drawn(&[NemesisKind::Partition, NemesisKind::Cut], &[Target::Bridge, Target::Deaf, Target::Leader]);
        let all = schedule(config, 3);
        let cuts: Vec<&Fault> = all.iter().map(|f| &f.fault).filter(|f| matches!(f, Fault::CutLinks { .. })).collect();
        assert!(cuts.len() > 20);
        for f in cuts {
            let Fault::CutLinks { links, label, .. } = f else { unreachable!() };
            if label.starts_with("bridge") {
                // Five nodes: a bridge and halves of two; 2*2 links each way.
                assert_eq!(links.len(), 8, "{label}");
                let bridged: Vec<NodeId> = (0..5).filter(|n| !links.iter().any(|(a, b)| a == n || b == n)).collect();
                assert_eq!(bridged.len(), 1, "one node keeps every link: {label}");
            } else if label.starts_with("deaf") {
                let target = links[0].1;
                assert!(links.len() == 4 && links.iter().all(|l| l.1 == target), "{label}");
            } else {
                assert!(label.starts_with("leader") && links.iter().all(|&(a, b)| a == 3 || b == 3), "{label}");
            }
        }
    }

    #[test]
    fn nemesis_heals_what_it_breaks_and_stops() {
        let config = NemesisConfig::fixed(NemesisKind::ALL.iter().map(|(k, _)| *k).collect(), 10, 5, 0, 200);
        let mut all = schedule(config, 4);
        let mut log = FaultLog::default();
        assert!(!all.is_empty());
        assert!(all.iter().all(|f| f.at_ns < 200 + 5));
        all.sort_by_key(|f| f.at_ns);
        for f in &all {
            log.apply(&f.fault, f.at_ns);
        }
        assert!(log.last_heal().is_some(), "every window closes: {:?}", log.windows);
    }
}
