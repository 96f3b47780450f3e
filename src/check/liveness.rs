//! `liveness`, the library's end-of-run progress check.
//!
//! Safety says nothing bad happens; liveness says something good happens
//! eventually. A simulation has a finite horizon, so "eventually" becomes a
//! bound the scenario states: once the last fault heals, the protocol must
//! make progress within `liveness.within_after_heal`. Progress is what the
//! protocol declares (an observation such as "a leader committed an entry",
//! "a value was chosen", "a lock was granted") and, when the run has
//! clients, a client operation completing `ok`. Both must happen inside
//! the window `[last heal, last heal + within]`.
//!
//! The check is a verdict only at the end of the run, because "not yet" is
//! not a failure until the window closes: a run that ends before the window
//! closes, or whose faults never heal, gives `unknown`, never a false fail.
//! It keeps one timestamp per progress observation, nothing more.

use crate::scenario::format_duration;
use crate::sim::observe::{Invariant, RunEnd, Verdict};
use crate::sim::{Nanos, NodeId};

/// The name under which the check runs.
pub const LIVENESS: &str = "liveness";

/// Times at which client operations completed `ok`, read at the end of the run.
pub type OkTimes = Box<dyn Fn() -> Vec<Nanos>>;

/// Progress a protocol declares: what it is, and which observations show it.
pub struct Progress<O> {
    /// What progress is, as a sentence fragment: "a leader commits an entry".
    pub what: &'static str,
    /// Whether an observation shows progress.
    pub shows: Box<dyn Fn(&O) -> bool>,
}

/// The check: declared progress and client completions inside the window
/// after the last heal.
pub struct Liveness<O> {
    within_ns: Nanos,
    progress: Option<Progress<O>>,
    progress_times_ns: Vec<Nanos>,
    client_ok: Option<OkTimes>,
}

impl<O> Liveness<O> {
    /// The check with window `within_ns`, judging `progress` (if declared)
    /// and client completions from `client_ok` (if the run has clients).
    pub fn new(within_ns: Nanos, progress: Option<Progress<O>>, client_ok: Option<OkTimes>) -> Self {
        Liveness { within_ns, progress, progress_times_ns: Vec::new(), client_ok }
    }
}

impl<O> Invariant<O> for Liveness<O> {
    fn name(&self) -> &str {
        LIVENESS
    }

    fn on_observe(
        &mut self,
        time_ns: Nanos,
        _node: NodeId,
        obs: &O,
        _faults: &crate::sim::nemesis::FaultLog,
    ) -> Result<(), String> {
        if let Some(p) = &self.progress {
            if (p.shows)(obs) {
                self.progress_times_ns.push(time_ns);
            }
        }
        Ok(())
    }

    fn on_finish(&mut self, end: &RunEnd<'_>) -> Verdict {
        // With a liveness phase, the window opens when the phase begins.
        let (heal, since) = match (end.converged_ns, end.last_heal_ns) {
            (Some(t), _) => (t, "the liveness phase began"),
            (None, Some(t)) => (t, "the last heal"),
            (None, None) => return Verdict::Unknown("faults never healed".to_string()),
        };
        if self.progress.is_none() && self.client_ok.is_none() {
            return Verdict::Unknown("no clients and no declared progress: nothing to judge".to_string());
        }
        let until = heal.saturating_add(self.within_ns);
        let in_window = |t: &Nanos| *t >= heal && *t <= until;
        let missing_progress =
            self.progress.as_ref().filter(|_| !self.progress_times_ns.iter().any(in_window)).map(|p| p.what);
        let missing_client = match &self.client_ok {
            Some(times) if !times().iter().any(in_window) => Some("a client op completes"),
            _ => None,
        };
        let Some(missing) = missing_progress.or(missing_client) else {
            return Verdict::Pass;
        };
        if end.end_ns < until {
            return Verdict::Unknown(format!(
                "the run ended {} after {since}, before the {} window closed",
                format_duration(end.end_ns - heal),
                format_duration(self.within_ns)
            ));
        }
        let mut why = format!(
            "no progress within {} after {since} at {} (expected: {missing})",
            format_duration(self.within_ns),
            format_duration(heal)
        );
        if end.converged_ns.is_some() {
            let stayed: Vec<&str> = end.faults.still_open().map(|w| w.detail.as_str()).collect();
            why.push_str(&match stayed.is_empty() {
                true => "; no fault stayed in force".to_string(),
                false => format!("; faults that stayed outside the core: {}", stayed.join(", ")),
            });
        }
        Verdict::Fail(why)
    }
}
