//! The network model: per message, whether it is lost, when it arrives, and
//! whether a duplicate copy arrives too; plus the cut matrix that partitions
//! and one-way cuts write.
//!
//! Faults injected here: loss (Bernoulli per message), duplication (an
//! independently delayed second copy), latency drawn from a distribution
//! (reordering falls out of the jitter), per-link overrides of all three,
//! partitions of any grouping and one-way cuts. A cut is checked when a
//! message *arrives*, not when it is sent, so healing a partition does not
//! resurrect messages that were in flight across it while it stood, and
//! cutting a link kills what is already on the wire.
//!
//! The model only answers questions; it never wakes a task or touches a
//! mailbox (the kernel in `sim` does that).

use crate::sim::rng::{Prng, Probability};
use crate::sim::Nanos;

/// Largest latency a distribution may produce (one hour), so a long tail can
/// never overflow virtual time.
pub const LATENCY_NS_MAX: Nanos = 3_600_000_000_000;

/// A latency distribution, in nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub enum Latency {
    /// Always `ns`.
    Constant {
        /// The latency.
        ns: Nanos,
    },
    /// Uniform in `[min_ns, max_ns]`.
    Uniform {
        /// Smallest latency.
        min_ns: Nanos,
        /// Largest latency.
        max_ns: Nanos,
    },
    /// Normal with the given mean and standard deviation, clamped below at `min_ns`.
    Normal {
        /// Mean latency.
        mean_ns: Nanos,
        /// Standard deviation.
        stddev_ns: Nanos,
        /// Floor (0 = none).
        min_ns: Nanos,
    },
    /// `min_ns` plus an exponential with mean `mean_ns`: a long tail.
    Exponential {
        /// Mean of the exponential part.
        mean_ns: Nanos,
        /// Fixed floor added to every draw (0 = none).
        min_ns: Nanos,
    },
    /// `min_ns` plus a log-normal with the given median and shape `sigma`.
    LogNormal {
        /// Median of the log-normal part.
        median_ns: Nanos,
        /// Shape (standard deviation of the underlying normal); unitless.
        sigma: f64,
        /// Fixed floor added to every draw (0 = none).
        min_ns: Nanos,
    },
}

fn to_ns(x: f64) -> Nanos {
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= LATENCY_NS_MAX as f64 {
        LATENCY_NS_MAX
    } else {
        x.round() as Nanos
    }
}

impl Latency {
    /// Draws one latency. Constant latency draws nothing from the stream.
    /// Inlined for the two plain distributions (every send draws one); the
    /// floating-point ones stay out of line.
    #[inline(always)]
    pub fn sample(&self, rng: &mut Prng) -> Nanos {
        match *self {
            Latency::Constant { ns } => ns,
            Latency::Uniform { min_ns, max_ns } => rng.between(min_ns, max_ns),
            _ => self.sample_shaped(rng),
        }
    }

    /// [`Latency::sample`] of the shaped distributions.
    #[inline(never)]
    fn sample_shaped(&self, rng: &mut Prng) -> Nanos {
        match *self {
            Latency::Constant { .. } | Latency::Uniform { .. } => unreachable!("drawn by Latency::sample"),
            Latency::Normal { mean_ns, stddev_ns, min_ns } => {
                let x = mean_ns as f64 + stddev_ns as f64 * rng.standard_normal();
                to_ns(x).max(min_ns)
            }
            Latency::Exponential { mean_ns, min_ns } => {
                let x = -(rng.unit_open().ln()) * mean_ns as f64;
                min_ns.saturating_add(to_ns(x)).min(LATENCY_NS_MAX)
            }
            Latency::LogNormal { median_ns, sigma, min_ns } => {
                let x = median_ns as f64 * (sigma * rng.standard_normal()).exp();
                min_ns.saturating_add(to_ns(x)).min(LATENCY_NS_MAX)
            }
        }
    }
}

/// How one directed link behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkModel {
    /// Latency of each copy of a message.
    pub latency: Latency,
    /// Probability that a message is lost.
    pub loss: Probability,
    /// Probability that a delivered message is delivered twice.
    pub duplicate: Probability,
}

impl Default for LinkModel {
    fn default() -> Self {
        LinkModel {
            latency: Latency::Constant { ns: 1_000_000 },
            loss: Probability::ZERO,
            duplicate: Probability::ZERO,
        }
    }
}

/// What the network decided for one sent message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Lost by the loss model; nothing arrives.
    Lost,
    /// Arrives after `latency`, and a second copy after `duplicate` if set.
    Arrives {
        /// Latency of the first copy.
        latency: Nanos,
        /// Latency of the duplicate copy, if one is made.
        duplicate: Option<Nanos>,
    },
}

/// The bit of a link's cut count that says a scripted fault cut it.
const SCRIPTED_CUT: u16 = 1 << 15;

/// The network between `process_count` processes (nodes first, then clients).
pub struct Network {
    process_count: usize,
    models: Vec<LinkModel>,
    /// Index into `models` per directed pair (source * n + target).
    link_model: Vec<u16>,
    /// Per directed link (source * n + target): [`SCRIPTED_CUT`] if a
    /// scripted fault cut it, plus how many nemesis faults in force cut it.
    /// Non-zero means cut.
    cut: Vec<u16>,
    /// Links with a non-zero `cut`.
    cut_count: usize,
    /// Transient faults in force on links (clogs, extra delay, loss
    /// bursts): rare, so a sparse map, and an empty map costs the send
    /// and deliver paths one length check.
    transient: std::collections::BTreeMap<(usize, usize), Transient>,
}

/// The transient faults in force on one directed link; each field holds
/// one entry per fault, so overlapping faults compose and end one by one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transient {
    /// Clogs in force: messages arriving now are held until none is.
    pub clogs: u16,
    /// Extra latency of each delay fault in force (the largest applies).
    pub delays: Vec<Nanos>,
    /// Loss probability of each loss burst in force (each may drop a message).
    pub losses: Vec<Probability>,
}

/// A transient link fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransientKind {
    /// Messages are held, then released in a burst when it ends.
    Clog,
    /// Messages take this much longer.
    Delay(Nanos),
    /// Messages are lost with this probability.
    Loss(Probability),
}

impl Network {
    /// A network where every link behaves like `default`.
    pub fn new(process_count: usize, default: LinkModel) -> Network {
        Network {
            process_count,
            models: vec![default],
            link_model: vec![0; process_count * process_count],
            cut: vec![0; process_count * process_count],
            cut_count: 0,
            transient: Default::default(),
        }
    }

    /// Makes every link from a process in `sources` to one in `targets` behave like `model`.
    pub fn set_links(&mut self, sources: &[usize], targets: &[usize], model: LinkModel) {
        assert!(self.models.len() < u16::MAX as usize, "too many link overrides");
        let index = self.models.len() as u16;
        self.models.push(model);
        for &s in sources {
            for &t in targets {
                let slot = self.slot(s, t);
                self.link_model[slot] = index;
            }
        }
    }

    #[inline]
    fn slot(&self, source: usize, target: usize) -> usize {
        assert!(source < self.process_count && target < self.process_count);
        source * self.process_count + target
    }

    /// The model of the directed link `source -> target`.
    #[inline]
    pub fn link(&self, source: usize, target: usize) -> &LinkModel {
        &self.models[self.link_model[self.slot(source, target)] as usize]
    }

    /// Decides the fate of one message sent now on `source -> target`.
    /// Draws happen in a fixed order (loss, latency, duplicate, duplicate
    /// latency) and only for non-trivial parts of the model.
    #[inline(always)]
    pub fn on_send(&self, source: usize, target: usize, rng: &mut Prng) -> Fate {
        let link = self.link(source, target);
        if !link.loss.is_zero() && rng.chance(link.loss) {
            return Fate::Lost;
        }
        let mut extra = 0;
        if !self.transient.is_empty() {
            if let Some(t) = self.transient.get(&(source, target)) {
                if t.losses.iter().any(|&p| rng.chance(p)) {
                    return Fate::Lost;
                }
                extra = t.delays.iter().copied().max().unwrap_or(0);
            }
        }
        let latency = link.latency.sample(rng) + extra;
        let duplicate =
            if !link.duplicate.is_zero() && rng.chance(link.duplicate) { Some(link.latency.sample(rng)) } else { None };
        Fate::Arrives { latency, duplicate }
    }

    /// Whether a message on `source -> target` is lost if it arrives now.
    #[inline]
    pub fn is_cut(&self, source: usize, target: usize) -> bool {
        self.cut_count != 0 && self.cut[self.slot(source, target)] != 0
    }

    /// Cuts the one-way link `source -> target`; the reverse still works.
    /// Cutting a cut link does nothing; a `heal` restores it.
    pub fn cut_one_way(&mut self, source: usize, target: usize) {
        let s = self.slot(source, target);
        if self.cut[s] == 0 {
            self.cut_count += 1;
        }
        self.cut[s] |= SCRIPTED_CUT;
    }

    /// One more overlapping fault cuts `source -> target` (the nemesis's
    /// cuts count, so that mending one of two faults on a link keeps it cut).
    pub fn cut_counted(&mut self, source: usize, target: usize) {
        let s = self.slot(source, target);
        if self.cut[s] == 0 {
            self.cut_count += 1;
        }
        assert!(self.cut[s] & !SCRIPTED_CUT < SCRIPTED_CUT - 1, "too many faults on one link");
        self.cut[s] += 1;
    }

    /// Undoes one [`Network::cut_counted`]; the link works again once no
    /// fault cuts it (a link a `heal` already restored stays restored).
    pub fn mend_counted(&mut self, source: usize, target: usize) {
        let s = self.slot(source, target);
        if self.cut[s] & !SCRIPTED_CUT == 0 {
            return;
        }
        self.cut[s] -= 1;
        if self.cut[s] == 0 {
            self.cut_count -= 1;
        }
    }

    /// Cuts every link between processes of different groups, both ways.
    /// Processes in no group (clients, unlisted nodes) keep all their links.
    pub fn partition(&mut self, groups: &[Vec<usize>]) {
        for (i, a) in groups.iter().enumerate() {
            for (j, b) in groups.iter().enumerate() {
                if i != j {
                    for &s in a {
                        for &t in b {
                            self.cut_one_way(s, t);
                        }
                    }
                }
            }
        }
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        self.cut.iter_mut().for_each(|c| *c = 0);
        self.cut_count = 0;
    }

    /// Whether any transient link fault is in force.
    #[inline]
    pub fn has_transient(&self) -> bool {
        !self.transient.is_empty()
    }

    /// Whether a clog holds messages arriving now on `source -> target`.
    #[inline]
    pub fn is_clogged(&self, source: usize, target: usize) -> bool {
        !self.transient.is_empty() && self.transient.get(&(source, target)).is_some_and(|t| t.clogs > 0)
    }

    /// A transient fault starts on `source -> target`.
    pub fn start_transient(&mut self, source: usize, target: usize, kind: TransientKind) {
        let t = self.transient.entry((source, target)).or_default();
        match kind {
            TransientKind::Clog => t.clogs += 1,
            TransientKind::Delay(ns) => t.delays.push(ns),
            TransientKind::Loss(p) => t.losses.push(p),
        }
    }

    /// One transient fault of `kind` on `source -> target` ends.
    pub fn end_transient(&mut self, source: usize, target: usize, kind: TransientKind) {
        let Some(t) = self.transient.get_mut(&(source, target)) else { return };
        match kind {
            TransientKind::Clog => t.clogs = t.clogs.saturating_sub(1),
            TransientKind::Delay(ns) => {
                if let Some(i) = t.delays.iter().position(|&d| d == ns) {
                    t.delays.swap_remove(i);
                }
            }
            TransientKind::Loss(p) => {
                if let Some(i) = t.losses.iter().position(|&x| x == p) {
                    t.losses.swap_remove(i);
                }
            }
        }
        if *t == Transient::default() {
            self.transient.remove(&(source, target));
        }
    }

    /// Restores every link between two of `nodes`, cut or transiently
    /// faulted, whoever faulted it (the liveness phase's core heals).
    pub fn heal_within(&mut self, nodes: &[usize]) {
        for &a in nodes {
            for &b in nodes {
                if a == b {
                    continue;
                }
                let s = self.slot(a, b);
                if self.cut[s] != 0 {
                    self.cut[s] = 0;
                    self.cut_count -= 1;
                }
                self.transient.remove(&(a, b));
            }
        }
    }

    /// Whether any link is cut.
    pub fn any_cut(&self) -> bool {
        self.cut_count != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(l: &Latency, n: usize) -> Vec<Nanos> {
        let mut r = Prng::stream(3, "net");
        (0..n).map(|_| l.sample(&mut r)).collect()
    }

    #[test]
    fn distributions_respect_their_bounds_and_centres() {
        let u = draws(&Latency::Uniform { min_ns: 100, max_ns: 200 }, 10_000);
        assert!(u.iter().all(|x| (100..=200).contains(x)));
        let mean = |v: &[Nanos]| v.iter().sum::<u64>() as f64 / v.len() as f64;
        assert!((mean(&u) - 150.0).abs() < 3.0);
        let n = draws(&Latency::Normal { mean_ns: 1000, stddev_ns: 100, min_ns: 900 }, 10_000);
        assert!(n.iter().all(|x| *x >= 900));
        let e = draws(&Latency::Exponential { mean_ns: 1000, min_ns: 500 }, 20_000);
        assert!(e.iter().all(|x| *x >= 500));
        assert!((mean(&e) - 1500.0).abs() < 50.0, "exp mean {}", mean(&e));
        let mut l = draws(&Latency::LogNormal { median_ns: 1000, sigma: 0.5, min_ns: 10 }, 20_001);
        assert!(l.iter().all(|x| *x >= 10));
        l.sort_unstable();
        let median = l[10_000] as f64;
        assert!((median - 1010.0).abs() < 40.0, "lognormal median {median}");
        assert_eq!(draws(&Latency::Constant { ns: 7 }, 3), vec![7, 7, 7]);
    }

    #[test]
    fn partition_cuts_across_groups_only() {
        let mut net = Network::new(6, LinkModel::default());
        net.partition(&[vec![0, 1], vec![2, 3, 4]]);
        assert!(net.is_cut(0, 2) && net.is_cut(2, 0) && net.is_cut(1, 4));
        assert!(!net.is_cut(0, 1) && !net.is_cut(2, 4));
        assert!(!net.is_cut(5, 0) && !net.is_cut(0, 5), "unlisted process keeps its links");
        net.heal();
        assert!(!net.any_cut() && !net.is_cut(0, 2));
    }

    #[test]
    fn counted_cuts_overlap_and_a_heal_clears_them_all() {
        let mut net = Network::new(3, LinkModel::default());
        net.cut_counted(0, 1);
        net.cut_counted(0, 1);
        net.mend_counted(0, 1);
        assert!(net.is_cut(0, 1), "one of two faults on the link is still in force");
        net.mend_counted(0, 1);
        assert!(!net.is_cut(0, 1) && !net.any_cut());
        net.cut_one_way(1, 2);
        net.cut_counted(1, 2);
        net.mend_counted(1, 2);
        assert!(net.is_cut(1, 2), "a scripted cut stays until a heal");
        net.cut_counted(0, 2);
        net.heal();
        net.mend_counted(0, 2);
        assert!(!net.any_cut() && !net.is_cut(0, 2) && !net.is_cut(1, 2));
    }

    #[test]
    fn one_way_cut_keeps_the_reverse() {
        let mut net = Network::new(2, LinkModel::default());
        net.cut_one_way(0, 1);
        assert!(net.is_cut(0, 1));
        assert!(!net.is_cut(1, 0));
    }
}
