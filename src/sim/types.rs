//! The kernel's leaf types: names for time and processes that every layer
//! uses. This module imports nothing, so anything may import it.

/// Virtual time in nanoseconds since the start of the run.
pub type Nanos = u64;

/// Index of a simulated process: nodes are `0..node_count`, clients follow.
pub type NodeId = usize;
