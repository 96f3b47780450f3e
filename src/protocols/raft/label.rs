//! Raft's short labels for the message diagram and the notable events
//! (`kit::Protocol::msg_label`, `obs_label`): a message in one line of a
//! few words and numbers (`AppendEntries t3 prev 41/2 +64 c40`: term 3,
//! previous entry at index 41 of term 2, 64 entries, commit index 40), an
//! observation in plain words (`leader t3`).
//!
//! Why a file of its own: the labels are text for people, apart from the
//! algorithm, and generic over the state machine's operations, so
//! `zk-lock` (Raft under another state machine) and `multipaxos` (the same
//! key-value clients) label with the same words.

use super::invariants::Obs;
use super::msg::Msg;
use crate::workload::{KvOp, Response};

/// A Raft message, its client operation and reply labelled by `op` and `reply`.
pub(crate) fn msg_with<Op, Reply>(
    msg: &Msg<Op, Reply>,
    op: impl Fn(&Op) -> String,
    reply: impl Fn(&Reply) -> String,
) -> String {
    match msg {
        Msg::RequestVote { term, last_log_index, last_log_term, pre_vote } => {
            let what = if *pre_vote { "PreVote" } else { "RequestVote" };
            format!("{what} t{term} last {last_log_index}/{last_log_term}")
        }
        Msg::RequestVoteReply { term, granted, pre_vote } => {
            let what = if *pre_vote { "PreVote reply" } else { "Vote" };
            format!("{what} t{term} {}", if *granted { "yes" } else { "no" })
        }
        Msg::AppendEntries { term, prev_log_index, prev_log_term, entries, leader_commit } => {
            let count = if entries.is_empty() { String::new() } else { format!(" +{}", entries.len()) };
            format!("AppendEntries t{term} prev {prev_log_index}/{prev_log_term}{count} c{leader_commit}")
        }
        Msg::AppendEntriesReply { term, success, index } => {
            format!("AppendReply t{term} {} {index}", if *success { "ok" } else { "no" })
        }
        Msg::ClientRequest { seq, op: o } => format!("{} #{seq}", op(o)),
        // The largest sequence number marks a reply no request asked for (a push).
        Msg::ClientReply { seq: u64::MAX, response } => format!("push {}", reply(response)),
        Msg::ClientReply { seq, response } => format!("reply #{seq} {}", reply(response)),
    }
}

/// A key-value operation: `read k0`, `write k0=17`, `cas k0 3->17`.
pub(crate) fn kv_op(op: &KvOp) -> String {
    match op {
        KvOp::Read { key } => format!("read k{key}"),
        KvOp::Write { key, value } => format!("write k{key}={value}"),
        KvOp::Cas { key, old: Some(old), new } => format!("cas k{key} {old}->{new}"),
        KvOp::Cas { key, old: None, new } => format!("cas k{key} none->{new}"),
    }
}

/// A key-value reply: `ok 17`, `ok`, `cas failed`, `redirect n2`.
pub(crate) fn kv_response(response: &Response) -> String {
    match response {
        Response::Ok(Some(value)) => format!("ok {value}"),
        Response::Ok(None) => "ok".to_string(),
        Response::CasFailed => "cas failed".to_string(),
        Response::Redirect(Some(node)) => format!("redirect n{node}"),
        Response::Redirect(None) => "redirect".to_string(),
    }
}

/// A message of the key-value Raft.
pub(crate) fn msg(msg: &Msg) -> String {
    msg_with(msg, kv_op, kv_response)
}

/// An observation of Raft in plain words: `leader t3`, `committed 107`.
pub(crate) fn obs(obs: &Obs) -> String {
    match obs {
        Obs::BecameLeader { term, .. } => format!("leader t{term}"),
        Obs::SteppedDown { term } => format!("stepped down t{term}"),
        Obs::Appended { index, term, .. } => format!("appended {index}/{term}"),
        Obs::Committed { index, entry_term, .. } => format!("committed {index}/{entry_term}"),
        Obs::Applied { index, .. } => format!("applied {index}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::raft::msg::{Command, Entry};

    #[test]
    fn labels_are_short_and_say_the_numbers() {
        let entry = Entry { term: 2, cmd: Command { client: 5, seq: 1, op: KvOp::Read { key: 0 } } };
        let append = Msg::AppendEntries {
            term: 3,
            prev_log_index: 41,
            prev_log_term: 2,
            entries: vec![entry; 64].into(),
            leader_commit: 40,
        };
        assert_eq!(msg(&append), "AppendEntries t3 prev 41/2 +64 c40");
        let request = Msg::ClientRequest { seq: 9, op: KvOp::Cas { key: 1, old: None, new: 4 } };
        assert_eq!(msg(&request), "cas k1 none->4 #9");
        assert_eq!(msg(&Msg::ClientReply { seq: 9, response: Response::CasFailed }), "reply #9 cas failed");
        let leader = Obs::BecameLeader { term: 1, last_index: 0, term_starts: vec![] };
        assert_eq!(obs(&leader), "leader t1");
    }
}
