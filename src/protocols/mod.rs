//! The protocol registry: what `faultline run` can simulate.
//!
//! A protocol is node code written against [`crate::Ctx`], its invariants,
//! and its planted bugs. It plugs into the CLI by implementing [`Protocol`],
//! whose `run` builds a [`crate::Sim`] from the resolved scenario. A user's
//! own protocol implements the same trait and passes it to
//! [`crate::cli::main_with`].

pub mod raft;
pub mod tickets;

use crate::runner::{ProtocolRun, RunSpec};
use crate::scenario::ScenarioError;

/// A named item with a one-line description (a bug, a check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Named {
    /// The name used in scenarios and on the command line.
    pub name: &'static str,
    /// What it is.
    pub about: &'static str,
}

/// A protocol the CLI can run.
pub trait Protocol: Sync {
    /// The scenario's `protocol` value.
    fn name(&self) -> &'static str;
    /// One line about the protocol.
    fn about(&self) -> &'static str;
    /// Its checks.
    fn checks(&self) -> &'static [Named];
    /// Its planted bugs.
    fn bugs(&self) -> &'static [Named];
    /// Runs one simulation. Errors are scenario errors (bad `options`).
    fn run(&self, spec: &RunSpec) -> Result<ProtocolRun, ScenarioError>;
}

/// The protocols that ship with faultline.
pub fn builtin() -> Vec<&'static dyn Protocol> {
    vec![&tickets::Tickets, &raft::Raft]
}
