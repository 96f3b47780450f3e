//! One run of a scenario: resolve it, check the protocol's names, run the
//! simulation, and gather what the CLI prints and saves. No printing here.

use crate::check::Verdict;
use crate::protocols::Protocol;
use crate::scenario::{Scenario, ScenarioError};
use crate::sim::trace::TraceSink;
use crate::sim::{RunResult, SimConfig, StopReason};

/// Everything a protocol needs to run one simulation.
pub struct RunSpec<'a> {
    /// The scenario as written.
    pub scenario: &'a Scenario,
    /// Its file name, for errors.
    pub file: &'a str,
    /// The resolved kernel configuration (seed included).
    pub config: SimConfig,
    /// Planted bugs switched on.
    pub bugs: Vec<String>,
    /// Checks to run.
    pub checks: Vec<String>,
    /// Where the trace text goes.
    pub sink: std::cell::Cell<Option<TraceSink>>,
    /// Whether to keep every observation (reports).
    pub record_observations: bool,
}

impl RunSpec<'_> {
    /// Takes the trace sink (once).
    pub fn take_sink(&self) -> TraceSink {
        self.sink.take().unwrap_or(TraceSink::Off)
    }

    /// Whether check `name` is selected.
    pub fn wants_check(&self, name: &str) -> bool {
        self.checks.iter().any(|c| c == name)
    }

    /// Whether bug `name` is switched on.
    pub fn bug(&self, name: &str) -> bool {
        self.bugs.iter().any(|b| b == name)
    }
}

/// What a protocol's run produced.
pub struct ProtocolRun {
    /// The kernel's result.
    pub result: RunResult,
    /// The client history as JSON Lines, if the protocol has clients.
    pub history_jsonl: Option<String>,
    /// Completed client operations.
    pub ops: u64,
    /// Latency summary per operation kind, in ms: kind -> (p50, p90, p99, max).
    pub latency_ms: std::collections::BTreeMap<String, [f64; 4]>,
}

impl ProtocolRun {
    /// A run with no client workload.
    pub fn bare(result: RunResult) -> ProtocolRun {
        ProtocolRun { result, history_jsonl: None, ops: 0, latency_ms: Default::default() }
    }
}

/// How the command line modifies a scenario.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--bug NAME` (added to the scenario's list).
    pub bugs: Vec<String>,
    /// `--no-bugs`: clear the scenario's list.
    pub no_bugs: bool,
}

/// The overall verdict of a run, as an exit code maps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every check passed.
    Clean,
    /// A check failed.
    Failed,
    /// No verdict: a limit stopped the run, or a check said unknown.
    Inconclusive,
}

impl Outcome {
    /// The process exit code: 0 clean, 1 failed, 3 inconclusive.
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Clean => 0,
            Outcome::Failed => 1,
            Outcome::Inconclusive => 3,
        }
    }
}

/// The verdict of a finished run.
pub fn outcome(r: &RunResult) -> Outcome {
    if r.checks.iter().any(|(_, v)| matches!(v, Verdict::Fail(_))) || r.violation.is_some() {
        Outcome::Failed
    } else if r.stop == StopReason::StepLimit || r.checks.iter().any(|(_, v)| matches!(v, Verdict::Unknown(_))) {
        Outcome::Inconclusive
    } else {
        Outcome::Clean
    }
}

/// A scenario ready to run: parsed, its protocol found, names checked.
pub struct Prepared<'p> {
    /// The scenario.
    pub scenario: Scenario,
    /// Its file name.
    pub file: String,
    /// The protocol.
    pub protocol: &'p dyn Protocol,
    /// Bugs switched on (after overrides).
    pub bugs: Vec<String>,
    /// Checks selected.
    pub checks: Vec<String>,
}

impl<'p> Prepared<'p> {
    /// Finds the protocol and checks `bugs` and `checks` against it.
    pub fn new(
        scenario: Scenario,
        file: &str,
        protocols: &[&'p dyn Protocol],
        overrides: &Overrides,
    ) -> Result<Prepared<'p>, ScenarioError> {
        let err =
            |path: &str, message: String| ScenarioError { file: file.to_string(), path: path.to_string(), message };
        let names: Vec<&str> = protocols.iter().map(|p| p.name()).collect();
        let protocol = *protocols.iter().find(|p| p.name() == scenario.protocol).ok_or_else(|| {
            err("protocol", format!("expected one of {}, got {:?}", names.join(", "), scenario.protocol))
        })?;
        let bug_names: Vec<&str> = protocol.bugs().iter().map(|b| b.name).collect();
        let check_names: Vec<&str> = protocol.checks().iter().map(|c| c.name).collect();
        let mut bugs: Vec<String> = if overrides.no_bugs { Vec::new() } else { scenario.bugs.clone() };
        for (i, b) in scenario.bugs.iter().enumerate() {
            if !bug_names.contains(&b.as_str()) {
                return Err(err(
                    &format!("bugs[{i}]"),
                    format!("expected a bug of {} ({}), got {b:?}", protocol.name(), list_or_none(&bug_names)),
                ));
            }
        }
        for b in &overrides.bugs {
            if !bug_names.contains(&b.as_str()) {
                return Err(ScenarioError {
                    file: "command line".into(),
                    path: "--bug".into(),
                    message: format!("expected a bug of {} ({}), got {b:?}", protocol.name(), list_or_none(&bug_names)),
                });
            }
            if !bugs.contains(b) {
                bugs.push(b.clone());
            }
        }
        for (i, c) in scenario.checks.iter().enumerate() {
            if !check_names.contains(&c.as_str()) {
                return Err(err(
                    &format!("checks[{i}]"),
                    format!("expected a check of {} ({}), got {c:?}", protocol.name(), list_or_none(&check_names)),
                ));
            }
        }
        let checks = if scenario.checks.is_empty() {
            check_names.iter().map(|s| s.to_string()).collect()
        } else {
            scenario.checks.clone()
        };
        // Resolve once with the default seed so range errors surface before any run.
        scenario.resolve(file, scenario.seed)?;
        Ok(Prepared { scenario, file: file.to_string(), protocol, bugs, checks })
    }

    /// Runs seed `seed` with trace sink `sink`.
    pub fn run(&self, seed: u64, sink: TraceSink, record_observations: bool) -> Result<ProtocolRun, ScenarioError> {
        let config = self.scenario.resolve(&self.file, seed)?;
        let spec = RunSpec {
            scenario: &self.scenario,
            file: &self.file,
            config,
            bugs: self.bugs.clone(),
            checks: self.checks.clone(),
            sink: std::cell::Cell::new(Some(sink)),
            record_observations,
        };
        self.protocol.run(&spec)
    }
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "it has none".to_string()
    } else {
        names.join(", ")
    }
}
