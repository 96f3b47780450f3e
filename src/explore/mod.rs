//! Exploring many runs: seed sweeps (`sweep.rs`), one shard of a sweep
//! written as JSON Lines for a cluster (`shard.rs`) and the merge of shards
//! into one sweep report (`merge.rs`), swarm testing's per-seed fault
//! configurations (`swarm.rs`), and shrinking a failing seed into a minimal
//! scenario file (`shrink.rs`).

pub mod merge;
pub mod shard;
pub mod shrink;
pub mod swarm;
pub mod sweep;
