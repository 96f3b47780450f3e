//! Faults: what they are, the scripted schedule, the random nemesis, and the
//! log of fault windows that reports shade.
//!
//! Faults injected: crash (and restart), process pause (and resume),
//! partitions of any grouping, one-way link cuts, heal, clock skew (a rate)
//! and clock jumps. The kernel applies them (`sim`); this file only decides
//! which and when. The random nemesis draws from its own `nemesis` stream, so
//! turning it on never changes the network's or the nodes' draws.

use serde::Serialize;

use crate::sim::rng::Prng;
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
}

impl NemesisKind {
    /// Every kind with its scenario name.
    pub const ALL: [(NemesisKind, &'static str); 6] = [
        (NemesisKind::Partition, "partition"),
        (NemesisKind::Crash, "crash"),
        (NemesisKind::Pause, "pause"),
        (NemesisKind::Cut, "cut"),
        (NemesisKind::Skew, "skew"),
        (NemesisKind::Jump, "jump"),
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

/// The random nemesis's options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NemesisConfig {
    /// Kinds to draw from (uniformly).
    pub kinds: Vec<NemesisKind>,
    /// Time between the starts of two faults.
    pub every_ns: Nanos,
    /// How long each fault lasts before it is healed.
    pub for_ns: Nanos,
    /// No fault starts before this time.
    pub start_ns: Nanos,
    /// No fault starts at or after this time (the run may then converge).
    pub stop_ns: Nanos,
}

/// The random nemesis: draws one fault per tick and its healing.
pub struct Nemesis {
    config: NemesisConfig,
    rng: Prng,
}

impl Nemesis {
    /// A nemesis with its own stream of the run's seed.
    pub fn new(config: NemesisConfig, seed: u64) -> Nemesis {
        assert!(!config.kinds.is_empty() && config.every_ns > 0, "nemesis needs kinds and a period");
        Nemesis { config, rng: Prng::stream(seed, "nemesis") }
    }

    /// Time of the first tick.
    pub fn first_tick(&self) -> Nanos {
        self.config.start_ns.max(self.config.every_ns)
    }

    /// At tick time `now`, draws the faults to apply (with their times) and the next tick.
    pub fn tick(&mut self, now: Nanos, node_count: usize) -> (Vec<ScheduledFault>, Option<Nanos>) {
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
                    for i in (1..order.len()).rev() {
                        order.swap(i, self.rng.index(i + 1));
                    }
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
                    let by = self.rng.between(1, c.every_ns) as i64;
                    let by_ns = if self.rng.index(2) == 0 { by } else { -by };
                    out.push(at(now, Fault::ClockJump { node, by_ns }));
                }
                NemesisKind::Partition | NemesisKind::Cut => {}
            }
        }
        let next = now + c.every_ns;
        (out, (next < c.stop_ns).then_some(next))
    }
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

    #[test]
    fn nemesis_heals_what_it_breaks_and_stops() {
        let config = NemesisConfig {
            kinds: NemesisKind::ALL.iter().map(|(k, _)| *k).collect(),
            every_ns: 10,
            for_ns: 5,
            start_ns: 0,
            stop_ns: 200,
        };
        let mut n = Nemesis::new(config, 4);
        let mut log = FaultLog::default();
        let mut tick = Some(n.first_tick());
        let mut all = Vec::new();
        while let Some(t) = tick {
            let (faults, next) = n.tick(t, 5);
            all.extend(faults);
            tick = next;
        }
        assert!(!all.is_empty());
        assert!(all.iter().all(|f| f.at_ns < 200 + 5));
        all.sort_by_key(|f| f.at_ns);
        for f in &all {
            log.apply(&f.fault, f.at_ns);
        }
        assert!(log.last_heal().is_some(), "every window closes: {:?}", log.windows);
    }
}
