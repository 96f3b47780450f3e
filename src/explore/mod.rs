//! Exploring many runs: seed sweeps (shrinking and swarm testing will join).

pub mod sweep;
