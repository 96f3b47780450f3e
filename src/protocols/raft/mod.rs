//! `raft`: Raft consensus (Ongaro and Ousterhout, 2014) replicating a
//! linearizable key-value store.
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
//! `current_term`, `voted_for` and the log are written to storage and synced
//! before the message that depends on them (a vote, an acknowledgement, the
//! leader counting its own copy). Reads go through the log like writes, so
//! they are linearizable without leases. The state machine deduplicates
//! requests per client, so a retried request (same `(client, seq)`) takes
//! effect once.
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
//! `skip-prev-log-check`, `no-dedup` (see [`BUGS`]).
//!
//! # Options (`options` in the scenario)
//! `election_timeout` (`["150ms", "300ms"]`), `heartbeat` (`"50ms"`),
//! `pre_vote` (`true`), `check_quorum` (`true`).

pub mod invariants;
pub mod kv;
pub mod msg;
pub mod node;

use std::rc::Rc;
use std::time::Duration;

use crate::protocols::{Named, Protocol};
use crate::runner::{ProtocolRun, RunSpec};
use crate::scenario::{parse_duration, ScenarioError};
use crate::sim::Sim;
use crate::workload::{self, ClientCodec, ClientConfig, KvOp, Recorder, Response};
use invariants::Obs;
use msg::Msg;

/// The protocol.
pub struct Raft;

/// Raft's checks.
pub const CHECKS: &[Named] = &[
    Named { name: "election-safety", about: "at most one leader per term" },
    Named { name: "log-matching", about: "logs with an entry of the same index and term agree up to it" },
    Named { name: "leader-completeness", about: "a leader holds every entry committed in an earlier term" },
    Named { name: "state-machine-safety", about: "no two nodes apply different entries at one index" },
    Named { name: "linearizability", about: "the clients' history is linearizable (kv model)" },
    Named { name: "liveness", about: "after the last heal, a leader commits and a client op completes in time" },
];

/// Raft's planted bugs.
pub const BUGS: &[Named] = &[
    Named {
        name: "commit-previous-term",
        about: "a leader commits an earlier term's entry by counting replicas (Figure 8)",
    },
    Named { name: "forget-vote", about: "term and vote are not persisted; a restarted node votes twice in a term" },
    Named { name: "stale-local-read", about: "the leader serves reads locally; a deposed leader returns stale values" },
    Named { name: "skip-prev-log-check", about: "followers append without checking the previous entry's term" },
    Named { name: "no-dedup", about: "the state machine applies a retried request again" },
];

/// The `options` object, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Election timeout range, ns.
    pub election_timeout_ns: (u64, u64),
    /// Heartbeat period, ns.
    pub heartbeat_ns: u64,
    /// PreVote on.
    pub pre_vote: bool,
    /// CheckQuorum on.
    pub check_quorum: bool,
}

impl Options {
    /// Parses `options`; errors name the field (`options.heartbeat`).
    pub fn parse(value: &serde_json::Value, file: &str) -> Result<Options, ScenarioError> {
        let err = |path: &str, message: String| ScenarioError {
            file: file.to_string(),
            path: format!("options.{path}"),
            message,
        };
        let mut o = Options {
            election_timeout_ns: (150_000_000, 300_000_000),
            heartbeat_ns: 50_000_000,
            pre_vote: true,
            check_quorum: true,
        };
        let Some(map) = value.as_object() else {
            return Err(ScenarioError {
                file: file.to_string(),
                path: "options".into(),
                message: "expected an object".into(),
            });
        };
        let dur = |path: &str, v: &serde_json::Value| -> Result<u64, ScenarioError> {
            let s =
                v.as_str().ok_or_else(|| err(path, format!("expected a duration string like \"50ms\", got {v}")))?;
            match parse_duration(s).map_err(|m| err(path, m))? {
                ns if ns <= 0 => Err(err(path, format!("expected a positive duration, got {s:?}"))),
                ns => Ok(ns as u64),
            }
        };
        for (key, v) in map {
            match key.as_str() {
                "election_timeout" => {
                    let a = v.as_array().filter(|a| a.len() == 2).ok_or_else(|| {
                        err(key, format!("expected [min, max] durations like [\"150ms\", \"300ms\"], got {v}"))
                    })?;
                    let (lo, hi) = (dur("election_timeout[0]", &a[0])?, dur("election_timeout[1]", &a[1])?);
                    if lo > hi {
                        return Err(err(key, format!("expected min <= max, got {v}")));
                    }
                    o.election_timeout_ns = (lo, hi);
                }
                "heartbeat" => o.heartbeat_ns = dur(key, v)?,
                "pre_vote" | "check_quorum" => {
                    let b = v.as_bool().ok_or_else(|| err(key, format!("expected true or false, got {v}")))?;
                    if key == "pre_vote" {
                        o.pre_vote = b;
                    } else {
                        o.check_quorum = b;
                    }
                }
                _ => {
                    return Err(err(
                        key,
                        "unknown option: expected one of election_timeout, heartbeat, pre_vote, check_quorum".into(),
                    ))
                }
            }
        }
        if o.heartbeat_ns >= o.election_timeout_ns.0 {
            return Err(err("heartbeat", "expected a heartbeat shorter than the minimum election timeout".into()));
        }
        Ok(o)
    }
}

/// Client requests and replies in Raft's message type.
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

/// Builds one safety check.
type MakeCheck = fn() -> Box<dyn crate::check::Invariant<Obs>>;

/// Wall-clock budget of the end-of-run linearizability search.
const LINEARIZABILITY_BUDGET: Duration = Duration::from_secs(10);

impl Protocol for Raft {
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
    fn run(&self, spec: &RunSpec) -> Result<ProtocolRun, ScenarioError> {
        let options = Options::parse(&spec.scenario.options, spec.file)?;
        let bugs = node::Bugs {
            commit_previous_term: spec.bug("commit-previous-term"),
            forget_vote: spec.bug("forget-vote"),
            stale_local_read: spec.bug("stale-local-read"),
            skip_prev_log_check: spec.bug("skip-prev-log-check"),
            no_dedup: spec.bug("no-dedup"),
        };
        let cfg = Rc::new(node::Config {
            election_timeout_ns: options.election_timeout_ns,
            heartbeat_ns: options.heartbeat_ns,
            pre_vote: options.pre_vote,
            check_quorum: options.check_quorum,
            batch_entries_max: 64,
            bugs,
        });
        let mut sim: Sim<Msg, Obs> = Sim::with_options(spec.config.clone(), spec.take_sink(), spec.record_observations);
        sim.set_node_entry(move |ctx| node::run(ctx, cfg.clone()));
        let recorder = Recorder::shared();
        if let Some(w) = &spec.scenario.workload {
            let client_cfg = Rc::new(ClientConfig::from_spec(w, spec.config.node_count));
            for i in 0..w.clients {
                let (c, r) = (client_cfg.clone(), recorder.clone());
                sim.set_entry(spec.config.node_count + i, move |ctx| {
                    workload::run_client(ctx, c.clone(), r.clone(), Codec)
                });
            }
        }
        let safety: [(&str, MakeCheck); 4] = [
            ("election-safety", invariants::election_safety),
            ("log-matching", invariants::log_matching),
            ("leader-completeness", invariants::leader_completeness),
            ("state-machine-safety", invariants::state_machine_safety),
        ];
        for (name, make) in safety {
            if spec.wants_check(name) {
                sim.add_invariant(make());
            }
        }
        if spec.wants_check("linearizability") && spec.scenario.workload.is_some() {
            sim.add_invariant(Box::new(workload::Linearizability::new(recorder.clone(), LINEARIZABILITY_BUDGET)));
        }
        if let (true, Some(l)) = (spec.wants_check("liveness"), &spec.scenario.liveness) {
            // Progress is judged by client ops; without clients there is none to see.
            let recorder = spec.scenario.workload.as_ref().map(|_| recorder.clone());
            sim.add_invariant(Box::new(invariants::Liveness::new(l.within_after_heal.0, recorder)));
        }
        let result = sim.run();
        let rec = recorder.borrow();
        let history_jsonl = spec.scenario.workload.as_ref().map(|_| rec.to_jsonl(result.end_ns));
        Ok(ProtocolRun { history_jsonl, ops: rec.ok_count(), latency_ms: rec.latency_ms(), result })
    }
}
