//! The kernel's observer interface: what a check is ([`Invariant`]), what
//! it says ([`Verdict`], [`Violation`]), and what it is told at the end
//! ([`RunEnd`]). The kernel calls checks as observations arrive, so the
//! interface lives with the kernel; `check/` holds the checkers themselves
//! and re-exports these names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sim::nemesis::{FaultLog, FaultWindow};
use crate::sim::world::NodeId;
use crate::sim::Nanos;

/// A check that failed: which, when, where, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The check's name (as listed by `faultline list`).
    pub check: String,
    /// Global time of the offending event, in nanoseconds.
    pub time_ns: Nanos,
    /// Index of the offending event in the trace.
    pub event_index: u64,
    /// The process whose observation broke it, if any.
    pub node: Option<NodeId>,
    /// What was wrong, in one or more sentences.
    pub detail: String,
    /// The faults in force during the [`FAULTS_BEFORE_NS`] before it.
    pub faults_before: Vec<FaultWindow>,
}

/// How far back a violation lists the faults that were in force.
pub const FAULTS_BEFORE_NS: Nanos = 2_000_000_000;

/// A check's verdict for a whole run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The run satisfies the check.
    Pass,
    /// The run violates the check.
    Fail(String),
    /// The check could not decide (a time limit, or nothing to judge).
    Unknown(String),
}

impl Verdict {
    /// `pass`, `fail` or `unknown`, as `summary.json` writes it.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail(_) => "fail",
            Verdict::Unknown(_) => "unknown",
        }
    }
}

/// How a run ended, for end-of-run checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunEnd<'a> {
    /// Global time at the end of the run.
    pub end_ns: Nanos,
    /// When the last fault was healed, if every fault was healed by the end.
    pub last_heal_ns: Option<Nanos>,
    /// When the liveness phase began (`liveness.after`), if the run has one:
    /// from then on a core of nodes is healed and no fault changes.
    pub converged_ns: Option<Nanos>,
    /// Whether the run reached its full duration (false after a step limit).
    pub completed: bool,
    /// Every fault of the run and when it was in force.
    pub faults: &'a FaultLog,
}

/// A named check over a protocol's observations of type `O`.
pub trait Invariant<O> {
    /// The check's name, e.g. `election-safety`.
    fn name(&self) -> &str;

    /// Sees one observation as it is emitted; `Err` is a violation.
    /// `faults` says which faults have been in force so far, and when.
    fn on_observe(
        &mut self,
        _time_ns: Nanos,
        _node: NodeId,
        _observation: &O,
        _faults: &FaultLog,
    ) -> Result<(), String> {
        Ok(())
    }

    /// Gives the end-of-run verdict; safety checks that saw no violation pass.
    fn on_finish(&mut self, _end: &RunEnd<'_>) -> Verdict {
        Verdict::Pass
    }

    /// Whether [`Invariant::on_observe`] needs to see observations of the
    /// same kind as `observation`: the same enum variant of `O` (by
    /// [`std::mem::discriminant`]; a type that is not an enum is one kind).
    /// The kernel asks once per kind, when the first observation of it
    /// arrives, and from then on calls `on_observe` only with observations
    /// of the kinds this answered `true`; so the answer must depend on the
    /// variant alone, never on its fields. The default, `true`, sees every
    /// observation. A check that reads one or two variants of a protocol's
    /// many says which, and the run skips a call (an indirect one, which
    /// the processor often mispredicts) per observation of the others.
    fn wants(&self, _observation: &O) -> bool {
        true
    }
}

/// An invariant built from a name and a closure, for small checks.
pub struct FnInvariant<O, F: FnMut(Nanos, NodeId, &O) -> Result<(), String>> {
    name: String,
    f: F,
    /// Which kinds of observation `f` reads ([`Invariant::wants`]); `None`: all.
    wants: Option<fn(&O) -> bool>,
    _o: std::marker::PhantomData<fn(&O)>,
}

impl<O, F: FnMut(Nanos, NodeId, &O) -> Result<(), String>> FnInvariant<O, F> {
    /// A safety check called `name` that runs `f` on every observation.
    pub fn new(name: &str, f: F) -> Self {
        FnInvariant { name: name.to_string(), f, wants: None, _o: std::marker::PhantomData }
    }

    /// A safety check called `name` that runs `f` on the observations of
    /// the kinds `wants` picks (by variant only, as [`Invariant::wants`]
    /// says), e.g. `|o| matches!(o, Obs::Applied { .. })`.
    pub fn only(name: &str, wants: fn(&O) -> bool, f: F) -> Self {
        FnInvariant { name: name.to_string(), f, wants: Some(wants), _o: std::marker::PhantomData }
    }
}

impl<O, F: FnMut(Nanos, NodeId, &O) -> Result<(), String>> Invariant<O> for FnInvariant<O, F> {
    fn name(&self) -> &str {
        &self.name
    }
    fn on_observe(&mut self, time_ns: Nanos, node: NodeId, observation: &O, _faults: &FaultLog) -> Result<(), String> {
        (self.f)(time_ns, node, observation)
    }
    fn wants(&self, observation: &O) -> bool {
        self.wants.is_none_or(|wants| wants(observation))
    }
}

/// A watcher of a protocol's observations that feeds the run's report, not
/// its verdict: per-protocol numbers for `summary.json` and span charts for
/// `report.html` (a 2PC participant's in-doubt time, who believed it held a
/// lock when). It sees every observation, also after a violation, so a
/// failed run's report shows what led up to it; it never steers the run.
pub trait Reporter<O> {
    /// Sees one observation as it is emitted.
    fn on_observe(&mut self, time_ns: Nanos, node: NodeId, observation: &O);
    /// At the end of the run: its numbers and charts.
    fn on_finish(&mut self, end: &RunEnd<'_>) -> Extras;
}

/// What reporters add to a run's folder: `stats` go to `summary.json`'s
/// `protocol_stats`, `charts` to `charts.json` and `report.html`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extras {
    /// Named numbers (or any JSON value), e.g. `in_doubt_ms_p99`.
    #[serde(default)]
    pub stats: BTreeMap<String, serde_json::Value>,
    /// Span charts, drawn in this order.
    #[serde(default)]
    pub charts: Vec<SpanChart>,
}

impl Extras {
    /// Adds `other`'s stats (a later name wins) and charts.
    pub fn merge(&mut self, other: Extras) {
        self.stats.extend(other.stats);
        self.charts.extend(other.charts);
    }

    /// Whether there is nothing to add.
    pub fn is_empty(&self) -> bool {
        self.stats.is_empty() && self.charts.is_empty()
    }
}

/// A chart of intervals over simulated time, one lane per row: what held
/// when (a lock, a prepared transaction), with fault windows shaded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanChart {
    /// File stem: `in-doubt` is drawn as `in-doubt.svg`.
    pub name: String,
    /// The heading in `report.html`.
    pub title: String,
    /// A sentence or two under the heading: how to read it.
    #[serde(default)]
    pub about: String,
    /// Fault windows hitting these nodes are shaded across the whole chart.
    #[serde(default)]
    pub shade: Vec<NodeId>,
    /// The rows, top to bottom.
    #[serde(default)]
    pub lanes: Vec<SpanLane>,
}

/// One row of a [`SpanChart`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanLane {
    /// The row's label, e.g. `p1` or `client 3`.
    pub label: String,
    /// The process the row is about: its fault windows are shaded on it.
    #[serde(default)]
    pub node: Option<NodeId>,
    /// Its intervals.
    #[serde(default)]
    pub spans: Vec<Span>,
    /// Its instants.
    #[serde(default)]
    pub marks: Vec<Mark>,
}

/// An interval on a lane.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// Global start time, ns.
    pub start_ns: Nanos,
    /// Global end time, ns (the run's end if it never ended).
    pub end_ns: Nanos,
    /// Drawn inside the bar when it fits, and as its tooltip.
    #[serde(default)]
    pub label: String,
    /// A CSS colour.
    pub color: String,
}

/// An instant on a lane.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mark {
    /// Global time, ns.
    pub time_ns: Nanos,
    /// Its tooltip (and label when there is room).
    #[serde(default)]
    pub label: String,
    /// A CSS colour.
    pub color: String,
}
