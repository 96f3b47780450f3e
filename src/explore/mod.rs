//! Exploring many runs: seed sweeps (`sweep.rs`), one shard of a sweep
//! written as JSON Lines for a cluster (`shard.rs`) and the merge of shards
//! into one sweep report (`merge.rs`), and swarm testing's per-seed fault
//! configurations (`swarm.rs`); shrinking will join.

pub mod merge;
pub mod shard;
pub mod swarm;
pub mod sweep;
