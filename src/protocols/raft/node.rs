//! One Raft node: a single event-loop task. It waits for the next message
//! or the next deadline (election timeout, or the heartbeat tick), handles
//! it to completion, and loops. One task means no interleaving inside a
//! node, so every handler reads like a rule of Figure 2.
//!
//! Durability: `current_term`, `voted_for` and the log are written to the
//! node's storage and synced before any message that depends on them is
//! sent (a vote, an AppendEntries acknowledgement, a leader's own count of
//! its entry). On restart the node reloads them and starts as a follower;
//! `commit_index` and the state machine are volatile and rebuilt from the
//! log as the leader's commit index arrives again.
//!
//! What is read back is checked, because a crash may tear any unsynced
//! write (`storage.torn_writes`). Each log record carries a checksum
//! ([`crate::checksum`]) and the chain hash of the entries before it, so a
//! reload keeps exactly the longest prefix that was written whole and in
//! order, and deletes (and syncs away) whatever lies after the first bad
//! record. The term and vote go to two slots in turn, each record with a
//! sequence number and a checksum; a write goes to the slot that does not
//! hold the last synced record, so tearing it can never destroy that one.
//! The reloaded term is at least the last entry's term: the term write and
//! a later entry are separate records, and a crash may keep the second only.
//!
//! The node is generic over the [`StateMachine`] it replicates and over
//! the message and observation types of the simulation it runs in (`M`
//! carries Raft's [`Msg`], `O` takes Raft's [`Obs`]), and monomorphised
//! for each: the key-value Raft runs with `M = Msg`, `O = Obs`, where
//! wrapping is the identity.

use std::collections::BTreeSet;
use std::hash::Hash;
use std::rc::Rc;

use super::invariants::Obs;
use super::machine::{Carries, Effect, StateMachine};
use super::msg::{Command, Entry, LogOp, Msg};
use crate::node::{Ctx, Sleep};
use crate::sim::trace::stable_hash;
use crate::sim::NodeId;

/// Planted bugs, each off in the correct protocol.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bugs {
    /// Commit entries of earlier terms by counting replicas (Figure 8).
    pub commit_previous_term: bool,
    /// Keep `current_term` and `voted_for` in memory only.
    pub forget_vote: bool,
    /// The leader answers reads from its state machine without the log.
    pub stale_local_read: bool,
    /// Followers skip the `prev_log_index`/`prev_log_term` check.
    pub skip_prev_log_check: bool,
    /// The state machine does not deduplicate retried requests.
    pub no_dedup: bool,
    /// Log records are read back without checking their checksum.
    pub no_log_checksum: bool,
}

/// A node's resolved options; `C` is the state machine's own configuration.
#[derive(Clone, Debug)]
pub struct Config<C = ()> {
    /// Raft's servers are processes `0..server_count` (the scenario's
    /// nodes for the key-value Raft; a protocol may place other roles on
    /// the processes after them).
    pub server_count: usize,
    /// Election timeout range on the local clock, ns (drawn uniformly).
    pub election_timeout_ns: (u64, u64),
    /// Leader heartbeat (and candidate vote re-send) period, ns.
    pub heartbeat_ns: u64,
    /// Run a PreVote round before a real election.
    pub pre_vote: bool,
    /// Leaders step down without a quorum's acks within an election timeout;
    /// followers that heard a leader recently ignore vote requests.
    pub check_quorum: bool,
    /// Most entries in one AppendEntries.
    pub batch_entries_max: usize,
    /// Planted bugs.
    pub bugs: Bugs,
    /// What every replica's state machine is built from.
    pub machine: C,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// The Raft messages of state machine `S`.
type MsgOf<S> = Msg<<S as StateMachine>::Op, <S as StateMachine>::Response>;

/// What a simulation's message and observation types must be for Raft to run in it.
pub trait Host<S: StateMachine>: Carries<MsgOf<S>> + Clone + std::fmt::Debug + Hash + 'static {}
impl<S: StateMachine, M: Carries<MsgOf<S>> + Clone + std::fmt::Debug + Hash + 'static> Host<S> for M {}

struct Node<S: StateMachine, M, O> {
    ctx: Ctx<M, O>,
    cfg: Rc<Config<S::Config>>,
    id: NodeId,
    peers: Vec<NodeId>,
    majority: usize,
    // Persistent state (Figure 2), mirrored in storage.
    current_term: u64,
    voted_for: Option<NodeId>,
    /// Entry `i` (1-based) is `log[i - 1]`.
    log: Vec<Entry<S::Op>>,
    /// `chain[i - 1]` hashes entries `1..=i` (terms and commands): equal
    /// chains at an index mean equal prefixes, which `log-matching` checks.
    chain: Vec<u64>,
    /// `cmd_hashes[i - 1]` is the stable hash of entry `i`'s command (for
    /// the chain and the `Applied` report, hashed once per entry).
    cmd_hashes: Vec<u64>,
    // Volatile state.
    commit_index: u64,
    last_applied: u64,
    sm: S,
    role: Role,
    leader_hint: Option<NodeId>,
    /// Local time of the last AppendEntries from a current leader.
    leader_contact_ns: Option<u64>,
    election_deadline_ns: u64,
    tick_deadline_ns: u64,
    votes: BTreeSet<NodeId>,
    /// Term, vote or log changed since the last sync.
    dirty: bool,
    /// Sequence number of the latest term-and-vote record written.
    hard_seq: u64,
    /// The slot (0 or 1) holding the latest synced term-and-vote record;
    /// new records go to the other one.
    hard_slot: usize,
    /// A term-and-vote record was written since the last sync.
    hard_unsynced: bool,
    // Leader state, indexed by server id (only the peers' slots are used).
    next_index: Vec<u64>,
    match_index: Vec<u64>,
    /// Local time of each follower's last reply in this term (CheckQuorum).
    last_ack_ns: Vec<u64>,
    /// The entries last sent, as (first slot, end slot, log epoch, the
    /// entries): the next follower sent the same range gets the same batch
    /// instead of a copy. `log_epoch` counts truncations, the only change
    /// to entries already in the log.
    batch: Option<Batch<S::Op>>,
    log_epoch: u64,
    /// The batch of a heartbeat, shared by every one this node sends.
    no_entries: Rc<[Entry<S::Op>]>,
    /// The buffer a log record is encoded in before the disk copies it.
    record: Vec<u8>,
}

/// A batch of entries sent: (first slot, end slot, log epoch, the entries).
type Batch<Op> = (usize, usize, u64, Rc<[Entry<Op>]>);

/// The storage key of log entry `index`: `log/` and the index in at least
/// twelve zero-padded digits (`format!("log/{index:012}")`), built on the
/// stack, since every entry written or deleted names its key.
struct LogKey {
    buf: [u8; 24],
    len: usize,
}

impl LogKey {
    fn new(index: u64) -> LogKey {
        let mut digits = [b'0'; 20];
        let (mut n, mut i) = (index, digits.len());
        while n >= 100 {
            let pair = (n % 100) as u8;
            n /= 100;
            i -= 2;
            digits[i] = b'0' + pair / 10;
            digits[i + 1] = b'0' + pair % 10;
        }
        while n > 0 {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let first = i.min(digits.len() - 12);
        let mut buf = [0u8; 24];
        buf[..4].copy_from_slice(b"log/");
        let len = 4 + digits.len() - first;
        buf[4..len].copy_from_slice(&digits[first..]);
        LogKey { buf, len }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).expect("ASCII digits")
    }
}

fn log_key(index: u64) -> LogKey {
    LogKey::new(index)
}

/// Storage keys of the two term-and-vote slots.
const HARD_KEYS: [&str; 2] = ["hard/0", "hard/1"];

/// A term-and-vote record: sequence number, term, vote (`u64::MAX` for
/// none), sealed with a checksum.
fn encode_hard(seq: u64, term: u64, vote: Option<NodeId>) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + crate::checksum::SEAL_LEN);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&term.to_le_bytes());
    out.extend_from_slice(&vote.map_or(u64::MAX, |v| v as u64).to_le_bytes());
    crate::checksum::seal(out)
}

/// Reads [`encode_hard`]'s form: `(seq, term, vote)`, or `None` if torn.
fn decode_hard(record: &[u8]) -> Option<(u64, u64, Option<NodeId>)> {
    let value = crate::checksum::unseal(record)?;
    let u64_at = |i: usize| value.get(i..i + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    if value.len() != 24 {
        return None;
    }
    let vote = match u64_at(16)? {
        u64::MAX => None,
        v => Some(NodeId::try_from(v).ok()?),
    };
    Some((u64_at(0)?, u64_at(8)?, vote))
}

/// A log record: the chain hash of the entries before it, then the entry,
/// sealed with a checksum; written over `out` (a buffer reused record
/// after record, since the disk copies what it is given).
fn encode_record<Op: LogOp>(out: &mut Vec<u8>, prev_chain: u64, entry: &Entry<Op>) {
    out.clear();
    out.extend_from_slice(&prev_chain.to_le_bytes());
    entry.encode_into(out);
    crate::checksum::seal_in_place(out);
}

/// Reads [`encode_record`]'s form if it is whole and follows `prev_chain`.
fn decode_record<Op: LogOp>(record: &[u8], prev_chain: u64, check_sum: bool) -> Option<Entry<Op>> {
    let value = if check_sum {
        crate::checksum::unseal(record)?
    } else {
        // BUG(no-log-checksum): trust the record as read back; a torn
        // write with a flipped bit decodes as an entry nobody wrote.
        crate::checksum::unseal_unchecked(record)?
    };
    let (prev, entry) = value.split_at_checked(8)?;
    (u64::from_le_bytes(prev.try_into().expect("8 bytes")) == prev_chain).then_some(())?;
    Entry::decode_op(entry)
}

/// The chain hash after `prev` of an entry of `term` whose command hashes to `cmd_hash`.
fn chain_next(prev: u64, term: u64, cmd_hash: u64) -> u64 {
    stable_hash(&(prev, term, cmd_hash))
}

/// The armed wake-up: its local deadline and the sleep that waits for it
/// (kept across loop turns, so the timer is armed once per deadline; a
/// `Sleep` is `Unpin`, so it needs no box).
type Timer<'a, M, O> = (u64, Sleep<'a, M, O>);

/// The node's entry point: load durable state, then run the event loop.
///
/// The loop keeps one timer armed for the earliest deadline it knows of and
/// lets it fire late-bound: if a deadline moved later meanwhile (every
/// AppendEntries pushes the election timeout back), the firing just re-arms
/// for the new one. So a busy node arms about one timer per timeout period,
/// not one per message.
pub async fn run<S, M, O>(ctx: Ctx<M, O>, cfg: Rc<Config<S::Config>>)
where
    S: StateMachine,
    M: Host<S>,
    O: From<Obs> + From<S::Obs> + std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    let mut node = Node::<S, M, O>::load(ctx.clone(), cfg);
    node.flush().await; // the deletes of a torn tail, if any, before any new write
    let mut timer: Option<Timer<'_, M, O>> = None;
    loop {
        let now = ctx.now_ns();
        if now >= node.tick_deadline_ns {
            node.tick_deadline_ns = now + node.cfg.heartbeat_ns;
            node.on_tick().await;
            continue;
        }
        if node.role != Role::Leader && now >= node.election_deadline_ns {
            node.on_election_timeout().await;
            continue;
        }
        let mut wake = node.tick_deadline_ns;
        if node.role != Role::Leader {
            wake = wake.min(node.election_deadline_ns);
        }
        if timer.as_ref().is_none_or(|&(at, _)| at > wake) {
            timer = Some((wake, ctx.sleep_until_ns(wake)));
        }
        let sleep = &mut timer.as_mut().expect("armed above").1;
        crate::select! {
            env = ctx.recv() => node.on_message(env.from, env.msg).await,
            () = sleep => timer = None,
        }
    }
}

impl<S, M, O> Node<S, M, O>
where
    S: StateMachine,
    M: Host<S>,
    O: From<Obs> + From<S::Obs> + std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    fn load(ctx: Ctx<M, O>, cfg: Rc<Config<S::Config>>) -> Self {
        let id = ctx.id();
        let servers = cfg.server_count;
        assert!(id < servers, "a Raft server is one of processes 0..{servers}");
        let peers: Vec<NodeId> = (0..servers).filter(|&p| p != id).collect();
        let majority = servers / 2 + 1;
        let disk = ctx.storage();
        // The newest whole term-and-vote record of the two slots.
        let (mut hard_seq, mut hard_slot, mut current_term, mut voted_for) = (0, 0, 0, None);
        if cfg.bugs.forget_vote {
            // BUG(forget-vote): term and vote live in memory only; a restart forgets them.
        } else {
            for (slot, key) in HARD_KEYS.iter().enumerate() {
                if let Some((seq, term, vote)) = disk.get(key).and_then(|b| decode_hard(&b)) {
                    if seq > hard_seq {
                        (hard_seq, hard_slot, current_term, voted_for) = (seq, slot, term, vote);
                    }
                }
            }
        }
        let mut log: Vec<Entry<S::Op>> = Vec::new();
        let mut chain: Vec<u64> = Vec::new();
        let mut cmd_hashes: Vec<u64> = Vec::new();
        let keys = disk.keys_with_prefix("log/");
        let mut whole = 0;
        for key in &keys {
            // Entries are written and deleted as a suffix, so the keys are 1, 2, ...
            let prev = chain.last().copied().unwrap_or(0);
            let entry = (key.as_str() == log_key(log.len() as u64 + 1).as_str())
                .then(|| disk.get(key))
                .flatten()
                .and_then(|b| decode_record::<S::Op>(&b, prev, !cfg.bugs.no_log_checksum));
            let Some(entry) = entry else {
                break;
            };
            let cmd_hash = stable_hash(&entry.cmd);
            chain.push(chain_next(prev, entry.term, cmd_hash));
            cmd_hashes.push(cmd_hash);
            log.push(entry);
            whole += 1;
        }
        // Records after the first torn or out-of-chain one are stale: delete
        // them (the caller syncs before anything else is written), or a later
        // append at the hole would make them look like the log's tail.
        for key in &keys[whole..] {
            disk.delete(key);
        }
        let dirty = whole < keys.len();
        // A crash may keep an entry of term T but lose the term write before it.
        if let Some(last) = log.last().filter(|_| !cfg.bugs.forget_vote) {
            if last.term > current_term {
                (current_term, voted_for) = (last.term, None);
            }
        }
        let now = ctx.now_ns();
        let mut node = Node {
            ctx,
            cfg: cfg.clone(),
            id,
            peers,
            majority,
            current_term,
            voted_for,
            log,
            chain,
            cmd_hashes,
            commit_index: 0,
            last_applied: 0,
            sm: S::new(&cfg.machine),
            role: Role::Follower,
            leader_hint: None,
            leader_contact_ns: None,
            election_deadline_ns: 0,
            tick_deadline_ns: now + cfg.heartbeat_ns,
            votes: BTreeSet::new(),
            dirty,
            hard_seq,
            hard_slot,
            hard_unsynced: false,
            next_index: vec![0; servers],
            match_index: vec![0; servers],
            last_ack_ns: vec![0; servers],
            batch: None,
            log_epoch: 0,
            no_entries: Rc::from(Vec::new()),
            record: Vec::new(),
        };
        node.reset_election_timer();
        node
    }

    // ----- the host's message and observation types -----

    #[inline]
    fn send(&self, to: NodeId, msg: MsgOf<S>) {
        self.ctx.send(to, M::wrap(msg));
    }

    #[inline]
    fn emit(&self, obs: Obs) {
        self.ctx.emit(O::from(obs));
    }

    // ----- log helpers -----

    fn last_index(&self) -> u64 {
        self.log.len() as u64
    }

    fn term_at(&self, index: u64) -> u64 {
        if index == 0 {
            0
        } else {
            self.log[index as usize - 1].term
        }
    }

    fn last_term(&self) -> u64 {
        self.term_at(self.last_index())
    }

    /// Appends `entry` in memory and in storage (not yet synced), and
    /// reports it: the `Appended` observation of its index.
    fn append(&mut self, entry: Entry<S::Op>) {
        let index = self.last_index() + 1;
        let prev = self.chain.last().copied().unwrap_or(0);
        encode_record(&mut self.record, prev, &entry);
        self.ctx.storage().put(log_key(index).as_str(), &self.record);
        let cmd_hash = stable_hash(&entry.cmd);
        let (term, chain) = (entry.term, chain_next(prev, entry.term, cmd_hash));
        self.chain.push(chain);
        self.cmd_hashes.push(cmd_hash);
        self.log.push(entry);
        assert_eq!(self.chain.len(), self.log.len(), "one chain hash per entry");
        self.dirty = true;
        // From the values at hand, not read back from the log just pushed to.
        self.emit(Obs::Appended { index, term, chain });
    }

    /// Drops entries `from..` in memory and in storage (not yet synced).
    fn truncate(&mut self, from: u64) {
        assert!(from >= 1 && from <= self.last_index(), "truncate {from} of a log of {}", self.last_index());
        let disk = self.ctx.storage();
        for index in (from..=self.last_index()).rev() {
            disk.delete(log_key(index).as_str());
        }
        self.log.truncate(from as usize - 1);
        self.log_epoch += 1;
        self.chain.truncate(from as usize - 1);
        self.cmd_hashes.truncate(from as usize - 1);
        self.dirty = true;
    }

    fn emit_appended(&self, index: u64) {
        if index > 0 {
            let i = index as usize - 1;
            self.emit(Obs::Appended { index, term: self.log[i].term, chain: self.chain[i] });
        }
    }

    // ----- persistence -----

    fn set_term(&mut self, term: u64, voted_for: Option<NodeId>) {
        assert!(term >= self.current_term, "terms never go back ({} -> {term})", self.current_term);
        self.current_term = term;
        self.voted_for = voted_for;
        if !self.cfg.bugs.forget_vote {
            self.hard_seq += 1;
            let record = encode_hard(self.hard_seq, term, voted_for);
            self.ctx.storage().put(HARD_KEYS[1 - self.hard_slot], record);
            self.hard_unsynced = true;
        }
        self.dirty = true;
    }

    /// Makes every change so far durable before anything depending on it is sent.
    async fn flush(&mut self) {
        if self.dirty {
            self.ctx.storage().sync().await;
            self.dirty = false;
            if self.hard_unsynced {
                // The slot just synced now holds the latest record.
                self.hard_slot = 1 - self.hard_slot;
                self.hard_unsynced = false;
            }
        }
    }

    // ----- timers -----

    fn reset_election_timer(&mut self) {
        let (lo, hi) = self.cfg.election_timeout_ns;
        self.election_deadline_ns = self.ctx.now_ns() + self.ctx.rng().between(lo, hi);
    }

    /// Whether this node heard from a leader within the minimum election timeout.
    fn leader_recent(&self) -> bool {
        self.role == Role::Leader
            || self
                .leader_contact_ns
                .is_some_and(|t| self.ctx.now_ns().saturating_sub(t) < self.cfg.election_timeout_ns.0)
    }

    async fn on_tick(&mut self) {
        match self.role {
            Role::Leader => {
                if self.cfg.check_quorum {
                    let now = self.ctx.now_ns();
                    let window = self.cfg.election_timeout_ns.1;
                    let acked =
                        1 + self.peers.iter().filter(|&&p| now.saturating_sub(self.last_ack_ns[p]) <= window).count();
                    if acked < self.majority {
                        // CheckQuorum: a leader that cannot reach a majority steps down.
                        self.become_follower(self.current_term);
                        return;
                    }
                }
                for i in 0..self.peers.len() {
                    let p = self.peers[i];
                    self.next_index[p] = self.match_index[p] + 1;
                    self.send_append(p);
                }
                if S::SERVICE {
                    // The service's own commands (a session expiry), proposed like a client's.
                    let now = self.ctx.now_ns();
                    let mut proposed = false;
                    while let Some(op) = self.sm.propose(now) {
                        self.append(Entry { term: self.current_term, cmd: Command { client: self.id, seq: 0, op } });
                        proposed = true;
                    }
                    if proposed {
                        // The leader counts itself only once its own copy is durable.
                        self.flush().await;
                        self.send_new_entries();
                    }
                }
            }
            Role::PreCandidate | Role::Candidate => {
                // Re-ask peers that have not answered (messages may be lost).
                let pre_vote = self.role == Role::PreCandidate;
                let term = if pre_vote { self.current_term + 1 } else { self.current_term };
                for i in 0..self.peers.len() {
                    let p = self.peers[i];
                    if !self.votes.contains(&p) {
                        self.send_request_vote(p, term, pre_vote);
                    }
                }
            }
            Role::Follower => {}
        }
    }

    // ----- elections -----

    fn send_request_vote(&self, to: NodeId, term: u64, pre_vote: bool) {
        let msg =
            Msg::RequestVote { term, last_log_index: self.last_index(), last_log_term: self.last_term(), pre_vote };
        self.send(to, msg);
    }

    async fn on_election_timeout(&mut self) {
        self.reset_election_timer();
        if self.cfg.pre_vote {
            // PreVote: ask whether we could win before disturbing anyone's term.
            self.leave_leadership();
            self.role = Role::PreCandidate;
            self.votes = BTreeSet::from([self.id]);
            for i in 0..self.peers.len() {
                let p = self.peers[i];
                self.send_request_vote(p, self.current_term + 1, true);
            }
            if self.votes.len() >= self.majority {
                self.start_election().await;
            }
        } else {
            self.start_election().await;
        }
    }

    async fn start_election(&mut self) {
        self.leave_leadership();
        self.set_term(self.current_term + 1, Some(self.id));
        self.role = Role::Candidate;
        self.leader_hint = None;
        self.votes = BTreeSet::from([self.id]);
        self.reset_election_timer();
        self.flush().await;
        for i in 0..self.peers.len() {
            let p = self.peers[i];
            self.send_request_vote(p, self.current_term, false);
        }
        if self.votes.len() >= self.majority {
            self.become_leader();
        }
    }

    fn leave_leadership(&mut self) {
        if self.role == Role::Leader {
            self.emit(Obs::SteppedDown { term: self.current_term });
            self.leader_hint = None;
        }
    }

    /// Adopts `term` (clearing the vote if it is new) and becomes a follower.
    fn become_follower(&mut self, term: u64) {
        self.leave_leadership();
        if term > self.current_term {
            self.set_term(term, None);
            self.leader_hint = None;
        }
        if self.role != Role::Follower {
            self.reset_election_timer();
        }
        self.role = Role::Follower;
    }

    fn become_leader(&mut self) {
        assert_eq!(self.role, Role::Candidate, "only a candidate wins an election");
        assert_eq!(self.voted_for, Some(self.id), "a candidate votes for itself");
        self.role = Role::Leader;
        self.leader_hint = Some(self.id);
        let now = self.ctx.now_ns();
        let next = self.last_index() + 1;
        for &p in &self.peers {
            self.next_index[p] = next;
            self.match_index[p] = 0;
            self.last_ack_ns[p] = now;
        }
        // A run-length summary of the log's terms: enough for leader-completeness.
        let mut term_starts: Vec<(u64, u64)> = Vec::new();
        for (i, e) in self.log.iter().enumerate() {
            if term_starts.last().is_none_or(|&(_, t)| t != e.term) {
                term_starts.push((i as u64 + 1, e.term));
            }
        }
        self.emit(Obs::BecameLeader { term: self.current_term, last_index: self.last_index(), term_starts });
        if S::SERVICE {
            self.sm.on_leader_start(now);
        }
        for i in 0..self.peers.len() {
            let p = self.peers[i];
            self.send_append(p);
        }
        self.tick_deadline_ns = now + self.cfg.heartbeat_ns;
    }

    async fn on_request_vote(
        &mut self,
        from: NodeId,
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
        pre_vote: bool,
    ) {
        let up_to_date = last_log_term > self.last_term()
            || (last_log_term == self.last_term() && last_log_index >= self.last_index());
        if pre_vote {
            // Granted only if a real election in `term` could succeed and no leader is known to be alive.
            let granted = term > self.current_term && up_to_date && !self.leader_recent();
            let reply_term = if granted { term } else { self.current_term };
            self.send(from, Msg::RequestVoteReply { term: reply_term, granted, pre_vote: true });
            return;
        }
        if term > self.current_term && self.cfg.check_quorum && self.leader_recent() {
            // Leader stickiness: a live leader's followers ignore disruptive candidates.
            return;
        }
        if term > self.current_term {
            self.become_follower(term);
        }
        let granted = term == self.current_term && self.voted_for.is_none_or(|v| v == from) && up_to_date;
        if granted && self.voted_for.is_none() {
            self.set_term(term, Some(from));
        }
        if granted {
            self.reset_election_timer();
        }
        self.flush().await;
        self.send(from, Msg::RequestVoteReply { term: self.current_term, granted, pre_vote: false });
    }

    async fn on_request_vote_reply(&mut self, from: NodeId, term: u64, granted: bool, pre_vote: bool) {
        if pre_vote {
            if self.role == Role::PreCandidate && granted && term == self.current_term + 1 {
                self.votes.insert(from);
                if self.votes.len() >= self.majority {
                    self.start_election().await;
                }
            } else if !granted && term > self.current_term {
                self.become_follower(term);
                self.flush().await;
            }
            return;
        }
        if term > self.current_term {
            self.become_follower(term);
            self.flush().await;
            return;
        }
        if self.role == Role::Candidate && term == self.current_term && granted {
            self.votes.insert(from);
            if self.votes.len() >= self.majority {
                self.become_leader();
            }
        }
    }

    // ----- replication -----

    /// Sends `to` the entries from its `next_index` (or none: a heartbeat) and
    /// advances `next_index` past them optimistically, so that entries in
    /// flight are not sent again; the heartbeat tick rewinds it to
    /// `match_index + 1` to retransmit whatever was lost.
    fn send_append(&mut self, to: NodeId) {
        let next = self.next_index[to];
        assert!(next >= 1 && next <= self.last_index() + 1, "next_index {next} outside the log");
        let prev_log_index = next - 1;
        let from = prev_log_index as usize;
        let until = (from + self.cfg.batch_entries_max).min(self.log.len());
        let entries = match &self.batch {
            _ if from == until => self.no_entries.clone(),
            Some((f, u, epoch, batch)) if (*f, *u, *epoch) == (from, until, self.log_epoch) => batch.clone(),
            _ => {
                let batch: Rc<[Entry<S::Op>]> = Rc::from(&self.log[from..until]);
                self.batch = Some((from, until, self.log_epoch, batch.clone()));
                batch
            }
        };
        let msg = Msg::AppendEntries {
            term: self.current_term,
            prev_log_index,
            prev_log_term: self.term_at(prev_log_index),
            entries,
            leader_commit: self.commit_index,
        };
        self.next_index[to] = until as u64 + 1;
        self.send(to, msg);
    }

    async fn on_append_entries(
        &mut self,
        from: NodeId,
        term: u64,
        prev_log_index: u64,
        prev_log_term: u64,
        entries: Rc<[Entry<S::Op>]>,
        leader_commit: u64,
    ) {
        if term < self.current_term {
            self.send(from, Msg::AppendEntriesReply { term: self.current_term, success: false, index: 0 });
            return;
        }
        self.become_follower(term);
        self.leader_hint = Some(from);
        self.leader_contact_ns = Some(self.ctx.now_ns());
        self.reset_election_timer();
        if prev_log_index > self.last_index() {
            self.flush().await;
            let index = self.last_index() + 1;
            self.send(from, Msg::AppendEntriesReply { term: self.current_term, success: false, index });
            return;
        }
        if self.term_at(prev_log_index) != prev_log_term {
            if self.cfg.bugs.skip_prev_log_check {
                // BUG(skip-prev-log-check): accept the entries although the entry
                // before them differs from the leader's.
            } else {
                // Retry from the first entry of the conflicting term (not below the commit point).
                let conflict = self.term_at(prev_log_index);
                let mut index = prev_log_index;
                while index > self.commit_index + 1 && self.term_at(index - 1) == conflict {
                    index -= 1;
                }
                self.flush().await;
                self.send(from, Msg::AppendEntriesReply { term: self.current_term, success: false, index });
                return;
            }
        }
        let new_last = prev_log_index + entries.len() as u64;
        let mut emitted_last = false;
        for (k, entry) in entries.iter().enumerate() {
            let index = prev_log_index + 1 + k as u64;
            if index <= self.last_index() {
                if self.term_at(index) == entry.term {
                    continue; // already have it (a duplicate or reordered message)
                }
                self.truncate(index);
            }
            self.append(entry.clone());
            emitted_last = index == new_last;
        }
        if new_last > prev_log_index && !emitted_last {
            // Report the prefix the leader vouched for even when nothing was new.
            self.emit_appended(new_last);
        }
        if leader_commit > self.commit_index {
            self.commit_index = self.commit_index.max(leader_commit.min(new_last));
        }
        self.flush().await;
        self.send(from, Msg::AppendEntriesReply { term: self.current_term, success: true, index: new_last });
        self.apply_committed();
    }

    async fn on_append_entries_reply(&mut self, from: NodeId, term: u64, success: bool, index: u64) {
        if term > self.current_term {
            self.become_follower(term);
            self.flush().await;
            return;
        }
        if self.role != Role::Leader || term != self.current_term {
            return;
        }
        self.last_ack_ns[from] = self.ctx.now_ns();
        let matched = self.match_index[from];
        let next = self.next_index[from];
        if success {
            if index > matched {
                self.match_index[from] = index;
            }
            self.next_index[from] = next.max(index + 1);
            self.advance_commit();
            if self.next_index[from] <= self.last_index() {
                self.send_append(from);
            }
        } else if index < next {
            self.next_index[from] = index.max(matched + 1);
            self.send_append(from);
        }
    }

    /// Commits the highest index a majority stores, if it is of the current term.
    fn advance_commit(&mut self) {
        // The highest index a majority stores: the leader holds its whole
        // log, so it is the highest follower match index that at least
        // `majority - 1` followers reach, at most the leader's last index.
        let last = self.last_index();
        let need = self.majority - 1;
        let n = if need == 0 {
            last
        } else {
            // The leader's own slot stays 0, which no positive index counts.
            let matches = &self.match_index;
            assert_eq!(matches[self.id], 0, "the leader keeps no match index of its own");
            // Most calls commit nothing new (a reply from a follower past the
            // majority): fewer than `need` followers beyond the commit index
            // means no index past it has a majority, so skip the search.
            let commit = self.commit_index;
            if matches.iter().filter(|&&m| m > commit).count() < need {
                commit
            } else {
                let mut best = 0;
                for &m in matches {
                    if m > best && matches.iter().filter(|&&q| q >= m).count() >= need {
                        best = m;
                    }
                }
                best.min(last)
            }
        };
        if n > self.commit_index {
            let entry_term = self.term_at(n);
            // Figure 8: an earlier term's entry is committed only by a current-term entry after it.
            // BUG(commit-previous-term): with the bug on, this check is skipped and an
            // earlier term's entry counts as committed once a majority stores it.
            if entry_term == self.current_term || self.cfg.bugs.commit_previous_term {
                self.commit_index = n;
                self.emit(Obs::Committed { index: n, entry_term, leader_term: self.current_term });
            }
        }
        self.apply_committed();
    }

    fn apply_committed(&mut self) {
        // `min`: only a planted bug can truncate below the commit index; the
        // checks then report it, and the node must not index past its log.
        while self.last_applied < self.commit_index.min(self.last_index()) {
            self.last_applied += 1;
            let index = self.last_applied;
            let Node { ctx, log, cmd_hashes, sm, role, cfg, .. } = self;
            let entry = &log[index as usize - 1];
            let cmd_hash = cmd_hashes[index as usize - 1];
            ctx.emit(O::from(Obs::Applied { index, term: entry.term, cmd_hash }));
            let leader = *role == Role::Leader;
            let now = if S::SERVICE { ctx.now_ns() } else { 0 };
            // BUG(no-dedup) lives in `Kv::apply`: with dedup off, a retried request applies twice.
            sm.apply(index, now, &entry.cmd, !cfg.bugs.no_dedup, &mut |effect| match effect {
                Effect::Reply { client, seq, response } => {
                    if leader {
                        ctx.send(client, M::wrap(Msg::ClientReply { seq, response }));
                    }
                }
                Effect::Observe(obs) => ctx.emit(O::from(obs)),
            });
        }
    }

    // ----- clients -----

    async fn on_client_request(&mut self, client: NodeId, seq: u64, op: S::Op) {
        if self.role != Role::Leader {
            self.send(client, Msg::ClientReply { seq, response: S::redirect(self.leader_hint) });
            return;
        }
        if S::SERVICE {
            if let Some(response) = self.sm.serve(client, &op, self.ctx.now_ns()) {
                self.send(client, Msg::ClientReply { seq, response });
                return;
            }
        }
        if self.cfg.bugs.stale_local_read {
            if let Some(response) = self.sm.read_local(&op) {
                // BUG(stale-local-read): answer from local state without confirming leadership.
                self.send(client, Msg::ClientReply { seq, response });
                return;
            }
        }
        self.append(Entry { term: self.current_term, cmd: Command { client, seq, op } });
        // The leader counts itself only once its own copy is durable.
        self.flush().await;
        self.send_new_entries();
    }

    /// After the leader appended entries and made them durable: sends them
    /// and counts its own copy.
    #[inline]
    fn send_new_entries(&mut self) {
        for i in 0..self.peers.len() {
            let p = self.peers[i];
            if self.next_index[p] <= self.last_index() {
                self.send_append(p);
            }
        }
        self.advance_commit();
    }

    async fn on_message(&mut self, from: NodeId, msg: M) {
        let Ok(msg) = msg.unwrap() else {
            return; // not Raft's: another role's message
        };
        match msg {
            Msg::RequestVote { term, last_log_index, last_log_term, pre_vote } => {
                self.on_request_vote(from, term, last_log_index, last_log_term, pre_vote).await
            }
            Msg::RequestVoteReply { term, granted, pre_vote } => {
                self.on_request_vote_reply(from, term, granted, pre_vote).await
            }
            Msg::AppendEntries { term, prev_log_index, prev_log_term, entries, leader_commit } => {
                self.on_append_entries(from, term, prev_log_index, prev_log_term, entries, leader_commit).await
            }
            Msg::AppendEntriesReply { term, success, index } => {
                self.on_append_entries_reply(from, term, success, index).await
            }
            Msg::ClientRequest { seq, op } => self.on_client_request(from, seq, op).await,
            Msg::ClientReply { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_keys_are_the_zero_padded_index() {
        for index in [0, 1, 9, 10, 123_456, 999_999_999_999, 1_000_000_000_000, u64::MAX] {
            assert_eq!(log_key(index).as_str(), format!("log/{index:012}"), "index {index}");
        }
    }
}
