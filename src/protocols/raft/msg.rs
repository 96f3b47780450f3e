//! Raft's messages (Figure 2 of the paper, plus PreVote) and the client
//! request/reply pair, as one enum with struct variants. Terms and indices
//! are `u64`; index 0 is the empty prefix before the first entry.
//!
//! The messages are generic over what clients ask (`Op`) and what they are
//! told (`Reply`), because those belong to the state machine the log
//! replicates ([`super::machine::StateMachine`]); the defaults are the
//! key-value store's [`KvOp`] and [`Response`], so `Msg`, `Entry` and
//! `Command` written bare mean the key-value Raft. An operation stored in
//! the log implements [`LogOp`], its on-disk form.

use std::rc::Rc;

use crate::sim::NodeId;
use crate::workload::{KvOp, Response};

/// An operation that can sit in a log entry: hashed (trace, chain hashes),
/// compared, and written to disk in a compact form of its own.
pub trait LogOp: Clone + std::fmt::Debug + PartialEq + Eq + std::hash::Hash + 'static {
    /// Appends the operation's on-disk form to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads [`LogOp::encode`]'s form from the whole of `bytes`; `None` if it is not one.
    fn decode(bytes: &[u8]) -> Option<Self>;
}

/// A command in the log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Command<Op = KvOp> {
    /// The client process that asked for it (for a command a leader
    /// proposes on its own, that leader).
    pub client: NodeId,
    /// The client's request number; `(client, seq)` identifies a request.
    pub seq: u64,
    /// What to do.
    pub op: Op,
}

/// One log entry: the term of the leader that created it, and its command.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Entry<Op = KvOp> {
    /// Term in which a leader appended it.
    pub term: u64,
    /// The command.
    pub cmd: Command<Op>,
}

/// Messages between Raft nodes, and between clients and nodes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg<Op = KvOp, Reply = Response> {
    /// A candidate asks for a vote. With `pre_vote`, it asks whether it
    /// *would* win an election in `term` (nobody changes state on it).
    RequestVote {
        /// The candidate's term (for a pre-vote: the term it would use).
        term: u64,
        /// Index of the candidate's last log entry.
        last_log_index: u64,
        /// Term of the candidate's last log entry.
        last_log_term: u64,
        /// A PreVote probe rather than a real vote.
        pre_vote: bool,
    },
    /// The answer to [`Msg::RequestVote`].
    RequestVoteReply {
        /// The voter's term (for a pre-vote: the term asked about, if granted).
        term: u64,
        /// Whether the vote is granted.
        granted: bool,
        /// Answer to a pre-vote.
        pre_vote: bool,
    },
    /// Log replication and heartbeat from the leader of `term`.
    AppendEntries {
        /// The leader's term.
        term: u64,
        /// Index of the entry just before `entries`.
        prev_log_index: u64,
        /// Term of that entry (0 for index 0).
        prev_log_term: u64,
        /// Entries to store (empty for a heartbeat). Shared: the leader
        /// sends one batch to every follower at the same point, so the copies
        /// share one allocation (it hashes and prints as the slice it holds).
        entries: Rc<[Entry<Op>]>,
        /// The leader's commit index.
        leader_commit: u64,
    },
    /// The answer to [`Msg::AppendEntries`].
    AppendEntriesReply {
        /// The follower's term.
        term: u64,
        /// Whether the entries matched and were stored.
        success: bool,
        /// On success: the index up to which the follower's log now matches
        /// the leader's. On failure: where the leader should retry from.
        index: u64,
    },
    /// A client request `(client, seq)`.
    ClientRequest {
        /// The client's request number (the client is the sender).
        seq: u64,
        /// The operation.
        op: Op,
    },
    /// The answer to a client request (or, for a state machine that has
    /// them, a message the leader sends a client unasked: see
    /// [`super::machine::StateMachine::apply`]).
    ClientReply {
        /// The request answered.
        seq: u64,
        /// The result, or a redirect.
        response: Reply,
    },
}

impl<Op: LogOp> Entry<Op> {
    /// The entry's on-disk form: fixed-width little-endian fields (term,
    /// client, seq), then the operation's own form. Compact and cheap,
    /// since every entry is written once per node.
    #[inline]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(50);
        self.encode_into(&mut out);
        out
    }

    /// Appends [`Entry::encode`]'s form to `out`.
    #[inline]
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.term.to_le_bytes());
        out.extend_from_slice(&(self.cmd.client as u64).to_le_bytes());
        out.extend_from_slice(&self.cmd.seq.to_le_bytes());
        self.cmd.op.encode(out);
    }

    /// Reads [`Entry::encode`]'s form for any operation type; `None` if
    /// the bytes are not one.
    pub fn decode_op(bytes: &[u8]) -> Option<Entry<Op>> {
        let u64_at = |i: usize| bytes.get(i..i + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
        let op = Op::decode(bytes.get(24..)?)?;
        let client = NodeId::try_from(u64_at(8)?).ok()?;
        Some(Entry { term: u64_at(0)?, cmd: Command { client, seq: u64_at(16)?, op } })
    }
}

impl Entry<KvOp> {
    /// Reads a key-value entry's [`Entry::encode`] form; `None` if the bytes are not one.
    pub fn decode(bytes: &[u8]) -> Option<Entry> {
        Entry::decode_op(bytes)
    }
}

impl LogOp for KvOp {
    /// An op tag, the key, then the values.
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            KvOp::Read { key } => {
                out.push(0);
                out.extend_from_slice(&key.to_le_bytes());
            }
            KvOp::Write { key, value } => {
                out.push(1);
                out.extend_from_slice(&key.to_le_bytes());
                out.extend_from_slice(&value.to_le_bytes());
            }
            KvOp::Cas { key, old, new } => {
                out.push(2);
                out.extend_from_slice(&key.to_le_bytes());
                out.push(old.is_some() as u8);
                out.extend_from_slice(&old.unwrap_or(0).to_le_bytes());
                out.extend_from_slice(&new.to_le_bytes());
            }
        }
    }

    fn decode(bytes: &[u8]) -> Option<KvOp> {
        let i64_at = |i: usize| bytes.get(i..i + 8).map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")));
        let key = bytes.get(1..5).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))?;
        Some(match *bytes.first()? {
            0 => KvOp::Read { key },
            1 => KvOp::Write { key, value: i64_at(5)? },
            2 => KvOp::Cas { key, old: (*bytes.get(5)? == 1).then_some(i64_at(6)?), new: i64_at(14)? },
            _ => return None,
        })
    }
}
