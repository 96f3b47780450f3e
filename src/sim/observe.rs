//! The kernel's observer interface: what a check is ([`Invariant`]), what
//! it says ([`Verdict`], [`Violation`]), and what it is told at the end
//! ([`RunEnd`]). The kernel calls checks as observations arrive, so the
//! interface lives with the kernel; `check/` holds the checkers themselves
//! and re-exports these names.

use serde::Serialize;

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
}

/// An invariant built from a name and a closure, for small checks.
pub struct FnInvariant<O, F: FnMut(Nanos, NodeId, &O) -> Result<(), String>> {
    name: String,
    f: F,
    _o: std::marker::PhantomData<fn(&O)>,
}

impl<O, F: FnMut(Nanos, NodeId, &O) -> Result<(), String>> FnInvariant<O, F> {
    /// A safety check called `name` that runs `f` on every observation.
    pub fn new(name: &str, f: F) -> Self {
        FnInvariant { name: name.to_string(), f, _o: std::marker::PhantomData }
    }
}

impl<O, F: FnMut(Nanos, NodeId, &O) -> Result<(), String>> Invariant<O> for FnInvariant<O, F> {
    fn name(&self) -> &str {
        &self.name
    }
    fn on_observe(&mut self, time_ns: Nanos, node: NodeId, observation: &O, _faults: &FaultLog) -> Result<(), String> {
        (self.f)(time_ns, node, observation)
    }
}
