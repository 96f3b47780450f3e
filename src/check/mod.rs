//! Checkers: observers of a run that judge it. They never steer it.
//!
//! A safety invariant looks at each observation as it is emitted and fails
//! fast, naming the event; an end-of-run check (linearizability, liveness)
//! gives its verdict in [`Invariant::on_finish`]. A protocol violation is a
//! value ([`Violation`]), not a panic, so sweeps carry on to the next seed.

pub mod history;
pub mod linearizability;
pub mod liveness;

/// The linearizability checker's API in one place: history parsing and
/// types, the WGL search, its violation report and shrinking.
pub mod lin {
    pub use super::history::{parse_history, seconds, Call, History, HistoryError, Op, OpMeta, Outcome, Value};
    pub use super::linearizability::{
        check, check_steps, culprit, shrink, Attempt, Budget, Culprit, LinearizedStep, Model, OpRef, Shrunk, Verdict,
        Violation,
    };
}

pub use crate::sim::observe::{
    Extras, FnInvariant, Invariant, Mark, Reporter, RunEnd, Span, SpanChart, SpanLane, Verdict, Violation,
    FAULTS_BEFORE_NS,
};
