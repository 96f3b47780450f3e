//! The protocol registry: what `faultline run` can simulate. Each protocol
//! lives in its own folder and implements [`crate::kit::Protocol`]; adding
//! one is its folder plus one line in [`builtin`].

pub mod lock;
pub mod paxos;
pub mod raft;
pub mod tickets;
pub mod twopc;

pub use crate::kit::{AnyProtocol, Named};

/// The protocols that ship with faultline.
pub fn builtin() -> Vec<&'static dyn AnyProtocol> {
    vec![
        &tickets::Tickets,
        &raft::Raft,
        &paxos::Paxos,
        &paxos::MultiPaxos,
        &lock::LeaseLock,
        &lock::Redlock,
        &lock::ZkLock,
        &twopc::TwoPc,
    ]
}
