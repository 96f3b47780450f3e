//! `raft`: Raft consensus (Ongaro and Ousterhout, 2014) replicating a
//! linearizable key-value store, and the consensus under any other
//! [`StateMachine`] (the coordination service of `zk-lock` is the second).
//!
//! # The algorithm
//! Time is divided into *terms*, each with at most one leader. A follower
//! that hears nothing from a leader for a randomized election timeout first
//! runs a **PreVote** round: it asks the others whether they would vote for
//! it in the next term, without anyone changing state; only with a majority
//! of yeses does it increment its term, vote for itself and ask for real
//! votes. A node grants one vote per term, and only to a candidate whose log
//! is at least as up to date as its own (last term, then length). A pre-vote
//! is refused by anyone who heard from a live leader within the minimum
//! election timeout, so a node returning from a partition cannot depose a
//! healthy leader. With **CheckQuorum**, a leader that has not heard from a
//! majority within an election timeout steps down, and followers that heard
//! from a leader recently ignore real vote requests of higher terms too.
//!
//! The leader appends client commands to its log and replicates them with
//! AppendEntries. Each carries the index and term of the entry before the
//! new ones; a follower whose log does not match there refuses, and the
//! leader retries from earlier (the follower hints where). Matching entries
//! are kept, a conflicting suffix is deleted. The leader commits the highest
//! index stored by a majority *only if that entry is of its current term*;
//! earlier entries are then committed by implication (Figure 8 of the paper
//! shows why counting replicas of an older entry is unsafe). Every node
//! applies committed entries in order to its state machine ([`kv`]); the
//! leader answers the client.
//!
//! # Generic over the state machine
//! The node code ([`node`]) knows nothing of keys and values: it is generic
//! over a [`StateMachine`] (`apply` a committed command, answer a
//! non-leader's redirect, and optional leader-side hooks for services with
//! heartbeats and commands of their own), and over the simulation's
//! message and observation types, into which Raft's [`Msg`] and
//! [`invariants::Obs`] are wrapped ([`machine::Carries`], `From`). Each
//! use is monomorphised: the key-value Raft below runs with the identity
//! wrapping and no dynamic call in the hot path, and its traces are the
//! same event for event as before the split.
//!
//! `current_term`, `voted_for` and the log are written to storage and synced
//! before the message that depends on them (a vote, an acknowledgement, the
//! leader counting its own copy). Reads go through the log like writes, so
//! they are linearizable without leases. The state machine deduplicates
//! requests per client, so a retried request (same `(client, seq)`) takes
//! effect once. What a node reads back from storage is checked: log records
//! carry a checksum and the chain hash of the log before them, and the term
//! and vote alternate between two checksummed slots, so a crash that tears
//! unsynced writes (`storage.torn_writes`) costs at most the unsynced tail,
//! never a record that was synced (see [`node`]).
//!
//! # Invariants promised
//! `election-safety`, `log-matching`, `leader-completeness`,
//! `state-machine-safety` (checked as observations arrive, see
//! [`invariants`]), and at the end of the run `linearizability` of the
//! clients' history and `liveness` after the last heal.
//!
//! # Planted bugs
//! Each is a small deviation marked `// BUG(name):` in the code:
//! `commit-previous-term`, `forget-vote`, `stale-local-read`,
//! `skip-prev-log-check`, `no-dedup`, `no-log-checksum` (see [`BUGS`]).
//!
//! # Options (`options` in the scenario)
//! `election_timeout` (`["150ms", "300ms"]`), `heartbeat` (`"50ms"`),
//! `pre_vote` (`true`), `check_quorum` (`true`).

pub mod invariants;
pub mod kv;
pub(crate) mod label;
pub mod machine;
pub mod msg;
pub mod node;

use std::rc::Rc;

use serde::Deserialize;

use crate::kit::{Invalid, Named, Needs, Protocol, Setup, LINEARIZABILITY_CHECK};
use crate::scenario::{Dur, Scenario};
use crate::workload::{ClientCodec, KvOp, Response};
use invariants::Obs;
pub use machine::{Carries, StateMachine};
pub use msg::Msg;

/// The protocol.
pub struct Raft;

/// Raft's checks.
pub const CHECKS: &[Named] = &[
    Named::new("election-safety", "at most one leader per term"),
    Named::new("log-matching", "logs with an entry of the same index and term agree up to it"),
    Named::new("leader-completeness", "a leader holds every entry committed in an earlier term"),
    Named::new("state-machine-safety", "no two nodes apply different entries at one index"),
    LINEARIZABILITY_CHECK,
    Named::new("liveness", "after the last heal, a leader commits and a client op completes in time")
        .needing(Needs::Liveness),
];

/// Raft's planted bugs.
pub const BUGS: &[Named] = &[
    Named::new("commit-previous-term", "a leader commits an earlier term's entry by counting replicas (Figure 8)"),
    Named::new("forget-vote", "term and vote are not persisted; a restarted node votes twice in a term"),
    Named::new("stale-local-read", "the leader serves reads locally; a deposed leader returns stale values"),
    Named::new("skip-prev-log-check", "followers append without checking the previous entry's term"),
    Named::new("no-dedup", "the state machine applies a retried request again"),
    Named::new(
        "no-log-checksum",
        "log records are read back without checking their checksum, so a torn write is trusted",
    ),
];

/// The `options` object.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// Election timeout range `[min, max]` on the local clock, drawn uniformly.
    pub election_timeout: [Dur; 2],
    /// Leader heartbeat period (and candidates' vote re-send period).
    pub heartbeat: Dur,
    /// Run a PreVote round before a real election.
    pub pre_vote: bool,
    /// Leaders step down without a quorum's acks within an election timeout.
    pub check_quorum: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            election_timeout: [Dur(150_000_000), Dur(300_000_000)],
            heartbeat: Dur(50_000_000),
            pre_vote: true,
            check_quorum: true,
        }
    }
}

/// Client requests and replies in Raft's message type.
#[derive(Clone)]
struct Codec;

impl ClientCodec<Msg> for Codec {
    fn request(&self, seq: u64, op: &KvOp) -> Msg {
        Msg::ClientRequest { seq, op: op.clone() }
    }
    fn response(&self, msg: &Msg) -> Option<(u64, Response)> {
        match msg {
            Msg::ClientReply { seq, response } => Some((*seq, response.clone())),
            _ => None,
        }
    }
}

impl Protocol for Raft {
    type Msg = Msg;
    type Obs = Obs;
    type Options = Options;

    fn name(&self) -> &'static str {
        "raft"
    }
    fn about(&self) -> &'static str {
        "Raft with PreVote and CheckQuorum replicating a linearizable key-value store"
    }
    fn checks(&self) -> &'static [Named] {
        CHECKS
    }
    fn bugs(&self) -> &'static [Named] {
        BUGS
    }
    fn msg_label(msg: &Msg) -> String {
        label::msg(msg)
    }
    fn obs_label(obs: &Obs) -> String {
        label::obs(obs)
    }

    fn validate(&self, o: &Options, _scenario: &Scenario) -> Result<(), Invalid> {
        let [lo, hi] = o.election_timeout;
        if lo.0 == 0 || lo > hi {
            return Err(Invalid::new("options.election_timeout", "expected [min, max] with 0 < min <= max"));
        }
        if o.heartbeat.0 == 0 || o.heartbeat >= lo {
            return Err(Invalid::new(
                "options.heartbeat",
                "expected a positive heartbeat shorter than the minimum election timeout",
            ));
        }
        Ok(())
    }

    fn setup(&self, s: &mut Setup<'_, Self>) {
        let o = s.options();
        let cfg = Rc::new(node::Config {
            server_count: s.node_count(),
            election_timeout_ns: (o.election_timeout[0].0, o.election_timeout[1].0),
            heartbeat_ns: o.heartbeat.0,
            pre_vote: o.pre_vote,
            check_quorum: o.check_quorum,
            batch_entries_max: 64,
            bugs: node::Bugs {
                commit_previous_term: s.bug("commit-previous-term"),
                forget_vote: s.bug("forget-vote"),
                stale_local_read: s.bug("stale-local-read"),
                skip_prev_log_check: s.bug("skip-prev-log-check"),
                no_dedup: s.bug("no-dedup"),
                no_log_checksum: s.bug("no-log-checksum"),
            },
            machine: (),
        });
        s.nodes(move |ctx| node::run::<kv::Kv, Msg, Obs>(ctx, cfg.clone()));
        s.kv_clients(Codec);
        s.invariant("election-safety", invariants::election_safety);
        s.invariant("log-matching", invariants::log_matching);
        s.invariant("leader-completeness", invariants::leader_completeness);
        s.invariant("state-machine-safety", invariants::state_machine_safety);
        s.progress("a leader commits an entry", |obs| matches!(obs, Obs::Committed { .. }));
        // The nemesis's `leader` target mode aims at the latest leader.
        s.leader_shown(|obs| matches!(obs, Obs::BecameLeader { .. }));
    }
}
