//! Raft's messages (Figure 2 of the paper, plus PreVote) and the client
//! request/reply pair, as one enum with struct variants. Terms and indices
//! are `u64`; index 0 is the empty prefix before the first entry.

use crate::sim::NodeId;
use crate::workload::{KvOp, Response};

/// A command in the log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Command {
    /// The client process that asked for it.
    pub client: NodeId,
    /// The client's request number; `(client, seq)` identifies a request.
    pub seq: u64,
    /// What to do.
    pub op: KvOp,
}

/// One log entry: the term of the leader that created it, and its command.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// Term in which a leader appended it.
    pub term: u64,
    /// The command.
    pub cmd: Command,
}

/// Messages between Raft nodes, and between clients and nodes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
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
        /// Entries to store (empty for a heartbeat).
        entries: Vec<Entry>,
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
        op: KvOp,
    },
    /// The answer to a client request.
    ClientReply {
        /// The request answered.
        seq: u64,
        /// The result, or a redirect.
        response: Response,
    },
}

impl Entry {
    /// The entry's on-disk form: fixed-width little-endian fields (term,
    /// client, seq, op tag, key, values). Compact and cheap, since every
    /// entry is written once per node.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(50);
        out.extend_from_slice(&self.term.to_le_bytes());
        out.extend_from_slice(&(self.cmd.client as u64).to_le_bytes());
        out.extend_from_slice(&self.cmd.seq.to_le_bytes());
        match self.cmd.op {
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
        out
    }

    /// Reads [`Entry::encode`]'s form; `None` if the bytes are not one.
    pub fn decode(bytes: &[u8]) -> Option<Entry> {
        let u64_at = |i: usize| bytes.get(i..i + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
        let i64_at = |i: usize| u64_at(i).map(|v| v as i64);
        let key = bytes.get(25..29).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))?;
        let op = match *bytes.get(24)? {
            0 => KvOp::Read { key },
            1 => KvOp::Write { key, value: i64_at(29)? },
            2 => KvOp::Cas { key, old: (*bytes.get(29)? == 1).then_some(i64_at(30)?), new: i64_at(38)? },
            _ => return None,
        };
        let client = NodeId::try_from(u64_at(8)?).ok()?;
        Some(Entry { term: u64_at(0)?, cmd: Command { client, seq: u64_at(16)?, op } })
    }
}
