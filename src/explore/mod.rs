//! Exploring many runs: seed sweeps (`sweep.rs`) and swarm testing's
//! per-seed fault configurations (`swarm.rs`); shrinking will join.

pub mod swarm;
pub mod sweep;
