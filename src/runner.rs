//! One run of a scenario: resolve it, check the protocol's names, run the
//! simulation, and gather what the CLI prints and saves. No printing here.

use crate::check::Verdict;
pub use crate::kit::ProtocolRun;
use crate::kit::{AnyProtocol, Needs, RunSpec};
use crate::scenario::{Scenario, ScenarioError};
use crate::sim::trace::TraceSink;
use crate::sim::RunResult;

/// How the command line modifies a scenario.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--bug NAME` (added to the scenario's list).
    pub bugs: Vec<String>,
    /// `--no-bugs`: clear the scenario's list.
    pub no_bugs: bool,
    /// `--swarm`: each seed draws its own fault configuration.
    pub swarm: bool,
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
    } else if r.stop.is_limit() || r.checks.iter().any(|(_, v)| matches!(v, Verdict::Unknown(_))) {
        Outcome::Inconclusive
    } else {
        Outcome::Clean
    }
}

/// A scenario ready to run: parsed, its protocol found, and everything a
/// run resolves (options, node count, bugs, checks, faults) resolved, so
/// `validate` accepts exactly the scenarios `run` starts.
pub struct Prepared<'p> {
    /// The scenario.
    pub scenario: Scenario,
    /// Its file name.
    pub file: String,
    /// The protocol.
    pub protocol: &'p dyn AnyProtocol,
    /// Bugs switched on (after overrides).
    pub bugs: Vec<String>,
    /// Checks selected: exactly those the scenario lists; all the protocol's
    /// (that the scenario can feed) when it lists none.
    pub checks: Vec<String>,
    /// Whether each seed runs its own swarm draw of the scenario.
    pub swarm: bool,
}

impl<'p> Prepared<'p> {
    /// Finds the protocol and resolves the scenario against it.
    pub fn new(
        scenario: Scenario,
        file: &str,
        protocols: &[&'p dyn AnyProtocol],
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
        let feeds = |needs: Needs| match needs {
            Needs::Nothing => None,
            Needs::Workload if scenario.workload.is_none() => {
                Some("a `workload` section (it judges the client history)")
            }
            Needs::Liveness if scenario.liveness.is_none() => Some("a `liveness` section"),
            Needs::Workload | Needs::Liveness => None,
        };
        let checks = match &scenario.checks {
            Some(listed) => {
                for (i, c) in listed.iter().enumerate() {
                    let Some(named) = protocol.checks().iter().find(|n| n.name == c) else {
                        return Err(err(
                            &format!("checks[{i}]"),
                            format!(
                                "expected a check of {} ({}), got {c:?}",
                                protocol.name(),
                                list_or_none(&check_names)
                            ),
                        ));
                    };
                    if let Some(missing) = feeds(named.needs) {
                        return Err(err(&format!("checks[{i}]"), format!("check {c} needs {missing}")));
                    }
                }
                listed.clone()
            }
            // No list: every check the scenario can feed.
            None => protocol.checks().iter().filter(|c| feeds(c.needs).is_none()).map(|c| c.name.to_string()).collect(),
        };
        // Resolve once with the default seed so range errors surface before any run.
        scenario.resolve(file, scenario.seed)?;
        protocol.check_scenario(&scenario, file)?;
        Ok(Prepared { scenario, file: file.to_string(), protocol, bugs, checks, swarm: overrides.swarm })
    }

    /// Runs seed `seed` with trace sink `sink`.
    pub fn run(&self, seed: u64, sink: TraceSink, record_observations: bool) -> Result<ProtocolRun, ScenarioError> {
        let scenario = self.scenario_for(seed);
        let config = scenario.resolve(&self.file, seed)?;
        let spec = RunSpec {
            scenario: &scenario,
            config,
            bugs: &self.bugs,
            checks: &self.checks,
            declared_bugs: self.protocol.bugs(),
            record_observations,
        };
        Ok(self.protocol.run(&spec, sink))
    }
}

impl Prepared<'_> {
    /// The scenario seed `seed` runs: the file's, or under `--swarm` its
    /// draw for that seed ([`crate::explore::swarm::draw`]).
    pub fn scenario_for(&self, seed: u64) -> std::borrow::Cow<'_, Scenario> {
        if self.swarm {
            std::borrow::Cow::Owned(crate::explore::swarm::draw(&self.scenario, seed))
        } else {
            std::borrow::Cow::Borrowed(&self.scenario)
        }
    }
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "it has none".to_string()
    } else {
        names.join(", ")
    }
}
