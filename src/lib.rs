//! faultline: a deterministic simulation testbed for distributed protocols.
//!
//! Protocol code is plain `async fn` run on our own single-threaded executor
//! over a lossy virtual network, with crashes, restarts, durable storage,
//! pauses and clock faults. A run is a pure function of (scenario, seed).
//! See `docs/ARCHITECTURE.md` for the map.

#![warn(missing_docs)]

pub(crate) mod bench;
pub mod check;
pub mod checksum;
pub mod cli;
pub mod coro;
pub mod explore;
#[doc = include_str!("../docs/PROTOCOLS.md")]
pub mod guide {}
pub mod kit;
pub mod net;
pub mod node;
pub mod protocols;
pub mod report;
pub mod run_folder;
pub mod runner;
pub mod scenario;
pub mod sim;
pub mod stats;
pub(crate) mod storage;
pub mod workload;

pub use check::{Invariant, RunEnd, Verdict, Violation};
pub use coro::{join, join_all};
pub use node::Ctx;
/// Fault kinds, the random nemesis and the log of fault windows (they live in the kernel, which applies them).
pub use sim::nemesis;
pub use sim::{Envelope, NodeId, RunResult, Sim, SimConfig, StopReason};
