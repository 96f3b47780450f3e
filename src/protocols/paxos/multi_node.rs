//! One Multi-Paxos node: acceptor, learner and proposer in a single
//! event-loop task, as in Raft's node. It waits for the next message or the
//! next deadline (the election timeout, or the heartbeat tick), handles it
//! to completion, and loops. With one task, nothing interleaves inside a
//! node, so each handler reads like one rule of the algorithm.
//!
//! Durability. The acceptor's promised ballot and each accepted proposal
//! are written to storage and synced before any message that reveals them
//! (a promise, an `Accepted`, or the leader counting its own acceptance).
//! The proposer's highest round is synced before its ballot is used, so a
//! restarted node never reuses a ballot. What a node learned (the chosen
//! prefix) and its state machine are volatile. A restarted node learns
//! them again from the leader: from the `chosen_upto` its accepts carry,
//! for slots it accepted in the leader's ballot, and from `Decide` batches
//! for the rest.
//!
//! Leadership. A follower that hears from no leader for a random election
//! timeout becomes a candidate. It takes a ballot above every round it has
//! seen and prepares every slot from its first unknown one. The leader
//! re-sends unacknowledged accepts on every heartbeat tick. It steps down
//! on a refusal naming a higher ballot, or when a majority has not answered
//! it within the longest election timeout.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;
use std::pin::Pin;
use std::rc::Rc;

use super::multi::{Msg, Obs, Value};
use super::{majority, Ballot, NodeSet, Round, Slot};
use crate::node::{Ctx, Sleep};
use crate::protocols::raft::kv::Kv;
use crate::protocols::raft::msg::Command;
use crate::sim::NodeId;
use crate::workload::{KvOp, Response};

/// Planted bugs, each off in the correct protocol.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bugs {
    /// The acceptor's promise and accepted proposals live in memory only.
    pub amnesiac_acceptor: bool,
    /// The acceptor accepts ballots below the one it promised.
    pub accept_below_promise: bool,
    /// A new leader fills every open slot with a no-op.
    pub ignore_accepted_value: bool,
    /// A new leader proposes from its first unknown slot without phase 1.
    pub leader_skips_recovery: bool,
    /// The state machine does not deduplicate retried requests.
    pub no_dedup: bool,
}

/// A node's resolved options.
#[derive(Clone, Debug)]
pub struct Config {
    /// Election timeout range on the local clock, ns (drawn uniformly).
    pub election_timeout_ns: (u64, u64),
    /// Heartbeat, retransmission and prepare re-send period, ns.
    pub heartbeat_ns: u64,
    /// Most entries in one accept or decide message.
    pub batch_entries_max: usize,
    /// Planted bugs.
    pub bugs: Bugs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Follower,
    Candidate,
    Leader,
}

/// A value the leader has proposed in its ballot and not yet seen chosen.
struct Proposal {
    value: Value,
    /// Acceptors that accepted it in the leader's ballot (the leader once its copy is durable).
    acks: NodeSet,
}

/// The accepted proposals of the open slots, by slot: a window that
/// starts at the first slot not yet learned and slides as slots are.
#[derive(Debug)]
struct OpenSlots {
    /// The slot of `proposals[0]`.
    first: Slot,
    proposals: VecDeque<Option<(Ballot, Value)>>,
}

impl Default for OpenSlots {
    fn default() -> Self {
        OpenSlots { first: 1, proposals: VecDeque::new() }
    }
}

impl OpenSlots {
    /// Records `slot`'s proposal (a slot below the window is already learned: ignored).
    fn insert(&mut self, slot: Slot, proposal: (Ballot, Value)) {
        let Some(i) = slot.checked_sub(self.first) else { return };
        let i = usize::try_from(i).expect("a slot fits in memory");
        if self.proposals.len() == i {
            // The usual case: the next slot.
            self.proposals.push_back(Some(proposal));
            return;
        }
        if self.proposals.len() < i {
            self.proposals.resize(i, None);
            self.proposals.push_back(Some(proposal));
            return;
        }
        self.proposals[i] = Some(proposal);
    }

    fn get(&self, slot: Slot) -> Option<&(Ballot, Value)> {
        let i = usize::try_from(slot.checked_sub(self.first)?).ok()?;
        self.proposals.get(i).and_then(Option::as_ref)
    }

    /// Drops the slots below `slot` (they are learned).
    fn forget_below(&mut self, slot: Slot) {
        while self.first < slot {
            if self.proposals.pop_front().is_none() {
                self.first = slot;
                return;
            }
            self.first += 1;
        }
    }

    /// Every proposal from `slot` on, with its slot.
    fn from(&self, slot: Slot) -> impl Iterator<Item = (Slot, &(Ballot, Value))> {
        let skip = usize::try_from(slot.saturating_sub(self.first)).unwrap_or(usize::MAX);
        let first = self.first;
        self.proposals
            .iter()
            .enumerate()
            .skip(skip)
            .filter_map(move |(i, p)| p.as_ref().map(|p| (first + i as Slot, p)))
    }
}

/// What a promise reports: values known chosen, and accepted proposals.
type Promise = (Vec<(Slot, Value)>, Vec<(Slot, Ballot, Value)>);

struct Node {
    ctx: Ctx<Msg, Obs>,
    cfg: Rc<Config>,
    id: NodeId,
    peers: Vec<NodeId>,
    majority: usize,
    // Acceptor state, mirrored in storage.
    promised: Ballot,
    /// The accepted proposal of each open slot (above `chosen_upto`). A
    /// slot's proposal leaves memory once the slot is learned, since the
    /// chosen value then answers for it (storage keeps it, for a restart).
    accepted: OpenSlots,
    /// The acceptor's state changed since the last sync.
    dirty: bool,
    /// The storage segment written last: its number and key (a cache).
    segment: Option<(u64, String)>,
    /// Scratch space for the records of one segment write.
    records: Vec<u8>,
    // Proposer state, mirrored in storage.
    /// The highest round this node has used or seen.
    round: Round,
    // Learner state (volatile).
    /// Values of slots `1..=chosen_upto`, all chosen.
    log: Vec<Value>,
    /// Values known chosen above a gap, waiting for the prefix to reach them.
    ahead: BTreeMap<Slot, Value>,
    applied: Slot,
    kv: Kv,
    // Proposer and leader state (volatile).
    role: Role,
    /// This node's ballot while a candidate or leader.
    ballot: Ballot,
    leader_hint: Option<NodeId>,
    election_deadline_ns: u64,
    tick_deadline_ns: u64,
    /// Candidate: the first slot prepared, and the promises so far.
    from_slot: Slot,
    promises: BTreeMap<NodeId, Promise>,
    /// Leader: the next free slot and the proposals in flight.
    next_slot: Slot,
    proposals: BTreeMap<Slot, Proposal>,
    /// Leader: local time of each peer's last answer in this ballot.
    last_ack_ns: BTreeMap<NodeId, u64>,
    /// Leader: the last catch-up sent to each peer (first slot, local time).
    decide_sent: BTreeMap<NodeId, (Slot, u64)>,
    /// Leader: local time of the last accept sent to every peer; a tick
    /// within a heartbeat of it sends no bare heartbeats (that accept was one).
    broadcast_ns: u64,
}

/// The slots `entries` covers (they are consecutive).
fn slot_range(entries: &[(Slot, Value)]) -> Range<Slot> {
    match (entries.first(), entries.last()) {
        (Some(&(first, _)), Some(&(last, _))) => {
            assert_eq!(last + 1 - first, entries.len() as Slot, "an accept covers consecutive slots");
            first..last + 1
        }
        _ => 0..0,
    }
}

/// Slots per storage segment. Accepted proposals are stored in segments of
/// consecutive slots, one key each: a segment is a log of records (slot,
/// proposal), and a later record of a slot supersedes an earlier one. A
/// change appends a record and rewrites the segment whole, as a page would
/// be. One key per segment instead of per slot keeps a long run's disk small.
const SEGMENT_SLOTS: Slot = 64;

/// The longest record [`append_record`] writes: slot and length (10 bytes),
/// ballot (16), tag (1), client and seq (16), op tag (1), key (4), and a
/// cas's presence byte, old and new (17).
const RECORD_BYTES_MAX: usize = 65;

/// `acc/` and the segment number in 12 decimal digits, so keys sort by slot.
fn segment_key(segment: u64) -> String {
    assert!(segment < 1_000_000_000_000, "segment {segment} fits in 12 digits");
    let mut key = String::with_capacity(16);
    key.push_str("acc/");
    let mut digits = [b'0'; 12];
    let mut n = segment;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    key.push_str(std::str::from_utf8(&digits).expect("ascii digits"));
    key
}

/// Appends the record of `slot`'s proposal to a segment: the slot, the
/// body's length, and the body (see [`encode_into`]).
fn append_record(segment: &mut Vec<u8>, slot: Slot, ballot: Ballot, value: &Value) {
    segment.extend_from_slice(&slot.to_le_bytes());
    let len_at = segment.len();
    segment.extend_from_slice(&[0, 0]);
    encode_into(segment, ballot, value);
    let len = u16::try_from(segment.len() - len_at - 2).expect("a proposal fits a record");
    segment[len_at..len_at + 2].copy_from_slice(&len.to_le_bytes());
}

/// The records of a segment, in order; `None` if the bytes are not a segment.
fn records(mut bytes: &[u8]) -> Option<Vec<(Slot, Ballot, Value)>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let slot = Slot::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
        let len = u16::from_le_bytes(bytes.get(8..10)?.try_into().ok()?) as usize;
        let (ballot, value) = decode(bytes.get(10..10 + len)?)?;
        out.push((slot, ballot, value));
        bytes = &bytes[10 + len..];
    }
    Some(out)
}

/// An accepted proposal's on-disk form, fixed-width little-endian fields:
/// the ballot's round and node; a tag (0 no-op, 1 command); for a command,
/// client, seq, an op tag (0 read, 1 write, 2 cas), the key, and the op's
/// values (for a cas, a presence byte, then old and new).
fn encode_into(out: &mut Vec<u8>, ballot: Ballot, value: &Value) {
    out.extend_from_slice(&ballot.round.to_le_bytes());
    out.extend_from_slice(&(ballot.node as u64).to_le_bytes());
    let Value::Cmd(cmd) = value else {
        out.push(0);
        return;
    };
    out.push(1);
    out.extend_from_slice(&(cmd.client as u64).to_le_bytes());
    out.extend_from_slice(&cmd.seq.to_le_bytes());
    match cmd.op {
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

/// Reads [`encode_into`]'s form; `None` if the bytes are not one.
fn decode(bytes: &[u8]) -> Option<(Ballot, Value)> {
    let u64_at = |i: usize| bytes.get(i..i + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    let i64_at = |i: usize| u64_at(i).map(|v| v as i64);
    let ballot = Ballot::new(u64_at(0)?, NodeId::try_from(u64_at(8)?).ok()?);
    match *bytes.get(16)? {
        0 => return Some((ballot, Value::Noop)),
        1 => {}
        _ => return None,
    }
    let client = NodeId::try_from(u64_at(17)?).ok()?;
    let seq = u64_at(25)?;
    let key = u32::from_le_bytes(bytes.get(34..38)?.try_into().ok()?);
    let op = match *bytes.get(33)? {
        0 => KvOp::Read { key },
        1 => KvOp::Write { key, value: i64_at(38)? },
        2 => KvOp::Cas { key, old: (*bytes.get(38)? == 1).then_some(i64_at(39)?), new: i64_at(47)? },
        _ => return None,
    };
    Some((ballot, Value::Cmd(Command { client, seq, op })))
}

/// The armed wake-up: its local deadline and the sleep that waits for it.
type Timer<'a> = (u64, Pin<Box<Sleep<'a, Msg, Obs>>>);

/// The node's entry point: load durable state, then run the event loop.
/// One timer is armed for the earliest deadline and fires late-bound, as
/// in Raft's node: a deadline that moved later re-arms on firing. Only a
/// leader or a candidate ticks; a follower waits for messages and its
/// election timeout.
pub async fn run(ctx: Ctx<Msg, Obs>, cfg: Rc<Config>) {
    let mut node = Node::load(ctx.clone(), cfg);
    let mut timer: Option<Timer<'_>> = None;
    loop {
        let now = ctx.now_ns();
        let ticking = node.role != Role::Follower;
        if ticking && now >= node.tick_deadline_ns {
            node.tick_deadline_ns = now + node.cfg.heartbeat_ns;
            node.on_tick().await;
            continue;
        }
        if node.role != Role::Leader && now >= node.election_deadline_ns {
            node.start_election().await;
            continue;
        }
        let mut wake = if ticking { node.tick_deadline_ns } else { u64::MAX };
        if node.role != Role::Leader {
            wake = wake.min(node.election_deadline_ns);
        }
        if timer.as_ref().is_none_or(|&(at, _)| at > wake) {
            timer = Some((wake, Box::pin(ctx.sleep_until_ns(wake))));
        }
        let sleep = &mut timer.as_mut().expect("armed above").1;
        crate::select! {
            env = ctx.recv() => node.on_message(env.from, env.msg).await,
            () = sleep => timer = None,
        }
    }
}

impl Node {
    fn load(ctx: Ctx<Msg, Obs>, cfg: Rc<Config>) -> Node {
        let id = ctx.id();
        let peers = ctx.peers();
        let disk = ctx.storage();
        let mut promised = Ballot::ZERO;
        let mut accepted = OpenSlots::default();
        if !cfg.bugs.amnesiac_acceptor {
            promised = disk.get_json("promised").unwrap_or(Ballot::ZERO);
            for key in disk.keys_with_prefix("acc/") {
                let segment = disk.get(&key).and_then(|b| records(&b)).expect("a segment decodes");
                for (slot, ballot, value) in segment {
                    accepted.insert(slot, (ballot, value));
                }
            }
        }
        let round = disk.get_json::<Round>("round").unwrap_or(0).max(promised.round);
        let now = ctx.now_ns();
        let mut node = Node {
            majority: majority(ctx.node_count()),
            ctx,
            cfg: cfg.clone(),
            id,
            peers,
            promised,
            accepted,
            dirty: false,
            segment: None,
            records: Vec::with_capacity(RECORD_BYTES_MAX * cfg.batch_entries_max),
            round,
            log: Vec::new(),
            ahead: BTreeMap::new(),
            applied: 0,
            kv: Kv::default(),
            role: Role::Follower,
            ballot: Ballot::ZERO,
            leader_hint: None,
            election_deadline_ns: 0,
            tick_deadline_ns: now + cfg.heartbeat_ns,
            from_slot: 1,
            promises: BTreeMap::new(),
            next_slot: 1,
            proposals: BTreeMap::new(),
            last_ack_ns: BTreeMap::new(),
            decide_sent: BTreeMap::new(),
            broadcast_ns: 0,
        };
        node.reset_election_timer();
        node
    }

    fn chosen_upto(&self) -> Slot {
        self.log.len() as Slot
    }

    // ----- acceptor -----

    fn set_promised(&mut self, ballot: Ballot) {
        self.promised = ballot;
        self.round = self.round.max(ballot.round);
        if !self.cfg.bugs.amnesiac_acceptor {
            self.ctx.storage().put_json("promised", &ballot);
            self.dirty = true;
        }
    }

    /// Accepts `entries` in `ballot` if no higher ballot is promised (in
    /// memory and storage, not yet synced). Returns false if refused.
    fn accept(&mut self, ballot: Ballot, entries: &[(Slot, Value)]) -> bool {
        if ballot < self.promised && !self.cfg.bugs.accept_below_promise {
            return false;
        }
        // BUG(accept-below-promise): with the bug on, the check above lets a ballot
        // lower than the promised one through, and its entries are accepted.
        if ballot > self.promised {
            self.set_promised(ballot);
        }
        if !self.cfg.bugs.amnesiac_acceptor {
            self.persist_accepted(ballot, entries);
        }
        // BUG(amnesiac-acceptor): with the bug on, nothing reaches the disk (see also
        // `set_promised` and `load`): a restarted acceptor has forgotten its votes.
        for (slot, value) in entries {
            if *slot > self.chosen_upto() {
                self.accepted.insert(*slot, (ballot, value.clone()));
            }
        }
        true
    }

    /// Writes `entries`' records to their segments (not yet synced), one
    /// write per segment touched: the segment rewritten whole with the
    /// records added, as an append (which copies only the new records).
    fn persist_accepted(&mut self, ballot: Ballot, entries: &[(Slot, Value)]) {
        let disk = self.ctx.storage();
        let mut i = 0;
        while i < entries.len() {
            let index = entries[i].0 / SEGMENT_SLOTS;
            if self.segment.as_ref().is_none_or(|(s, _)| *s != index) {
                self.segment = Some((index, segment_key(index)));
            }
            let (_, key) = self.segment.as_ref().expect("set above");
            let bytes = &mut self.records;
            bytes.clear();
            while let Some((slot, value)) = entries.get(i).filter(|(s, _)| s / SEGMENT_SLOTS == index) {
                append_record(bytes, *slot, ballot, value);
                i += 1;
            }
            disk.append(key, bytes);
            self.dirty = true;
        }
    }

    /// What a promise reports from `from_slot` on: the chosen values this
    /// node knows, then its accepted proposals in the open slots.
    fn promise_from(&self, from_slot: Slot) -> Promise {
        let start = (from_slot.max(1) as usize - 1).min(self.log.len());
        let chosen = self.log[start..].iter().enumerate().map(|(i, v)| ((start + i + 1) as Slot, v.clone())).collect();
        let accepted = self.accepted.from(from_slot).map(|(s, (b, v))| (s, *b, v.clone())).collect();
        (chosen, accepted)
    }

    /// The proposal accepted at open slot `slot`, if any.
    fn accepted_at(&self, slot: Slot) -> Option<&(Ballot, Value)> {
        self.accepted.get(slot)
    }

    /// Makes the acceptor's and proposer's changes durable before anything depending on them is sent.
    async fn flush(&mut self) {
        if self.dirty {
            self.ctx.storage().sync().await;
            self.dirty = false;
        }
    }

    fn emit_accepted(&self, ballot: Ballot, entries: &[(Slot, Value)]) {
        for (slot, value) in entries {
            self.ctx.emit(Obs::Accepted { slot: *slot, ballot, value: value.clone() });
        }
    }

    async fn on_prepare(&mut self, from: NodeId, ballot: Ballot, from_slot: Slot) {
        if ballot < self.promised {
            self.ctx.send(from, Msg::Nack { ballot, promised: self.promised });
            return;
        }
        if ballot > self.promised {
            self.set_promised(ballot);
            self.flush().await;
            if self.role != Role::Follower {
                self.become_follower();
            }
            self.leader_hint = None;
        }
        // Give the candidate time to win before running for election ourselves.
        self.reset_election_timer();
        self.ctx.emit(Obs::Promised { ballot, from_slot });
        let (chosen, accepted) = self.promise_from(from_slot);
        self.ctx.send(from, Msg::Promise { ballot, chosen, accepted });
    }

    async fn on_accept(&mut self, from: NodeId, ballot: Ballot, entries: Rc<[(Slot, Value)]>, chosen_upto: Slot) {
        if !self.accept(ballot, &entries) {
            self.ctx.send(from, Msg::Nack { ballot, promised: self.promised });
            return;
        }
        self.flush().await;
        self.emit_accepted(ballot, &entries);
        if self.role != Role::Follower && self.ballot < ballot {
            self.become_follower();
        }
        if self.role == Role::Follower {
            self.leader_hint = Some(from);
            self.reset_election_timer();
        }
        // Slots the leader says are chosen, and that we accepted in its
        // ballot, hold its proposal there: the chosen value.
        let mut need = None;
        while self.chosen_upto() < chosen_upto {
            let slot = self.chosen_upto() + 1;
            match self.accepted_at(slot) {
                Some((b, v)) if *b == ballot => {
                    let v = v.clone();
                    self.learn(slot, v);
                }
                _ => {
                    need = Some(slot);
                    break;
                }
            }
        }
        let slots = slot_range(&entries);
        self.ctx.send(from, Msg::Accepted { ballot, slots, need });
        self.apply_chosen();
    }

    // ----- learner -----

    /// Records that `value` is chosen at `slot` and extends the chosen prefix.
    fn learn(&mut self, slot: Slot, value: Value) {
        if slot <= self.chosen_upto() {
            return;
        }
        if slot > self.chosen_upto() + 1 {
            self.ahead.insert(slot, value);
            return;
        }
        self.log.push(value);
        while let Some(v) = self.ahead.remove(&(self.chosen_upto() + 1)) {
            self.log.push(v);
        }
        // Learned slots are answered from the log now.
        self.accepted.forget_below(self.chosen_upto() + 1);
    }

    fn on_decide(&mut self, entries: Vec<(Slot, Value)>) {
        for (slot, value) in entries {
            self.learn(slot, value);
        }
        self.apply_chosen();
    }

    /// Applies the chosen prefix in slot order; the leader answers the clients.
    fn apply_chosen(&mut self) {
        while self.applied < self.chosen_upto() {
            self.applied += 1;
            let slot = self.applied;
            let value = &self.log[slot as usize - 1];
            if let Value::Cmd(cmd) = value {
                // BUG(no-dedup) lives in `Kv::apply`: with dedup off, a retried request applies twice.
                let response = self.kv.apply(cmd, !self.cfg.bugs.no_dedup);
                if self.role == Role::Leader {
                    self.ctx.send(cmd.client, Msg::ClientReply { seq: cmd.seq, response });
                }
            }
            self.ctx.emit(Obs::Applied { slot, value: value.clone() });
        }
    }

    // ----- timers -----

    fn reset_election_timer(&mut self) {
        let (lo, hi) = self.cfg.election_timeout_ns;
        self.election_deadline_ns = self.ctx.now_ns() + self.ctx.rng().between(lo, hi);
    }

    async fn on_tick(&mut self) {
        match self.role {
            Role::Leader => {
                let now = self.ctx.now_ns();
                let window = self.cfg.election_timeout_ns.1;
                let heard = self.last_ack_ns.values().filter(|&&t| now.saturating_sub(t) <= window).count();
                if 1 + heard < self.majority {
                    // A leader that cannot hear a majority steps down, so clients look elsewhere.
                    self.become_follower();
                    return;
                }
                // A heartbeat to every peer, carrying what it has not acknowledged
                // yet: one accept per run of consecutive slots (a bare heartbeat if none).
                for i in 0..self.peers.len() {
                    let p = self.peers[i];
                    let mut runs: Vec<Vec<(Slot, Value)>> = Vec::new();
                    for (s, pr) in self.proposals.iter().filter(|(_, pr)| !pr.acks.contains(p)) {
                        match runs.last_mut() {
                            Some(run) if run.len() < self.cfg.batch_entries_max && run[run.len() - 1].0 + 1 == *s => {
                                run.push((*s, pr.value.clone()))
                            }
                            _ => runs.push(vec![(*s, pr.value.clone())]),
                        }
                    }
                    if runs.is_empty() {
                        if now.saturating_sub(self.broadcast_ns) < self.cfg.heartbeat_ns {
                            continue;
                        }
                        runs.push(Vec::new());
                    }
                    for run in runs {
                        let msg =
                            Msg::Accept { ballot: self.ballot, entries: run.into(), chosen_upto: self.chosen_upto() };
                        self.ctx.send(p, msg);
                    }
                }
            }
            Role::Candidate => {
                // Re-ask the acceptors that have not promised (messages may be lost).
                for i in 0..self.peers.len() {
                    let p = self.peers[i];
                    if !self.promises.contains_key(&p) {
                        self.ctx.send(p, Msg::Prepare { ballot: self.ballot, from_slot: self.from_slot });
                    }
                }
            }
            Role::Follower => {}
        }
    }

    // ----- proposer: phase 1 -----

    /// Takes a ballot above every round seen, durable before it is used.
    fn next_ballot(&mut self) -> Ballot {
        self.round = self.round.max(self.promised.round) + 1;
        self.ctx.storage().put_json("round", &self.round);
        self.dirty = true;
        Ballot::new(self.round, self.id)
    }

    async fn start_election(&mut self) {
        self.become_follower();
        self.reset_election_timer();
        let ballot = self.next_ballot();
        self.ballot = ballot;
        self.from_slot = self.chosen_upto() + 1;
        if self.cfg.bugs.leader_skips_recovery {
            // BUG(leader-skips-recovery): lead at once, without phase 1: no promises,
            // no recovery of the open slots, new commands from the first unknown slot.
            self.flush().await;
            self.role = Role::Leader;
            self.next_slot = self.from_slot;
            self.lead_prepared(0, 0);
            return;
        }
        self.role = Role::Candidate;
        self.leader_hint = None;
        self.tick_deadline_ns = self.ctx.now_ns() + self.cfg.heartbeat_ns;
        // Our own acceptor promises first.
        self.set_promised(ballot);
        self.flush().await;
        self.ctx.emit(Obs::Promised { ballot, from_slot: self.from_slot });
        let own = self.promise_from(self.from_slot);
        self.promises.insert(self.id, own);
        for i in 0..self.peers.len() {
            let p = self.peers[i];
            self.ctx.send(p, Msg::Prepare { ballot, from_slot: self.from_slot });
        }
        if self.promises.len() >= self.majority {
            self.become_leader().await;
        }
    }

    async fn on_promise(&mut self, from: NodeId, ballot: Ballot, promise: Promise) {
        if self.role != Role::Candidate || ballot != self.ballot {
            return;
        }
        self.promises.insert(from, promise);
        if self.promises.len() >= self.majority {
            self.become_leader().await;
        }
    }

    /// With a quorum of promises: re-propose, in our ballot, the
    /// highest-ballot value reported for every open slot, and a no-op in
    /// every gap.
    async fn become_leader(&mut self) {
        assert_eq!(self.role, Role::Candidate, "only a candidate becomes leader");
        // Per open slot: the reported value to re-propose. A value known
        // chosen outranks every proposal (it is `None` in the ballot's place).
        let mut highest: BTreeMap<Slot, (Option<Ballot>, Value)> = BTreeMap::new();
        for (chosen, accepted) in std::mem::take(&mut self.promises).into_values() {
            for (slot, v) in chosen {
                if slot >= self.from_slot {
                    highest.insert(slot, (None, v));
                }
            }
            for (slot, b, v) in accepted {
                if slot < self.from_slot {
                    continue;
                }
                if highest.get(&slot).is_none_or(|(hb, _)| hb.is_some_and(|hb| hb < b)) {
                    highest.insert(slot, (Some(b), v));
                }
            }
        }
        let last = highest.keys().next_back().copied().unwrap_or(0).max(self.from_slot - 1);
        let mut entries = Vec::new();
        let (mut recovered, mut noops) = (0, 0);
        for slot in self.from_slot..=last {
            match highest.remove(&slot) {
                Some((_, v)) if !self.cfg.bugs.ignore_accepted_value => {
                    recovered += 1;
                    entries.push((slot, v));
                }
                // BUG(ignore-accepted-value): with the bug on, a reported value is dropped
                // and the slot gets this leader's own value, a no-op.
                _ => {
                    noops += 1;
                    self.ctx.emit(Obs::Proposed { slot, ballot: self.ballot, value: Value::Noop });
                    entries.push((slot, Value::Noop));
                }
            }
        }
        self.role = Role::Leader;
        self.next_slot = last + 1;
        self.lead_prepared(recovered, noops);
        if entries.is_empty() {
            // Nothing to recover: a heartbeat tells the followers who leads.
            self.propose(Vec::new()).await;
        }
        for chunk in entries.chunks(self.cfg.batch_entries_max) {
            self.propose(chunk.to_vec()).await;
            if self.role != Role::Leader {
                return;
            }
        }
    }

    /// Leader bookkeeping once phase 1 is over (or skipped).
    fn lead_prepared(&mut self, recovered: u64, noops: u64) {
        self.leader_hint = Some(self.id);
        let now = self.ctx.now_ns();
        self.last_ack_ns = self.peers.iter().map(|&p| (p, now)).collect();
        self.decide_sent.clear();
        self.proposals.clear();
        self.ctx.emit(Obs::Elected { ballot: self.ballot, from_slot: self.from_slot, recovered, noops });
        self.tick_deadline_ns = now + self.cfg.heartbeat_ns;
    }

    fn become_follower(&mut self) {
        if self.role == Role::Leader {
            self.ctx.emit(Obs::SteppedDown { ballot: self.ballot });
            self.leader_hint = None;
        }
        if self.role != Role::Follower {
            self.reset_election_timer();
        }
        self.role = Role::Follower;
        self.promises.clear();
        self.proposals.clear();
    }

    fn on_nack(&mut self, ballot: Ballot, promised: Ballot) {
        self.round = self.round.max(promised.round);
        if self.role != Role::Follower && ballot == self.ballot && promised > self.ballot {
            self.become_follower();
            self.leader_hint = Some(promised.node);
        }
    }

    // ----- proposer: phase 2 -----

    /// Sends `entries` to every acceptor, our own included, in our ballot.
    async fn propose(&mut self, entries: Vec<(Slot, Value)>) {
        assert_eq!(self.role, Role::Leader, "only a leader proposes");
        for (slot, value) in &entries {
            self.proposals.insert(*slot, Proposal { value: value.clone(), acks: NodeSet::default() });
        }
        let chosen_upto = self.chosen_upto();
        let entries: Rc<[(Slot, Value)]> = entries.into();
        self.broadcast_ns = self.ctx.now_ns();
        for i in 0..self.peers.len() {
            let p = self.peers[i];
            self.ctx.send(p, Msg::Accept { ballot: self.ballot, entries: entries.clone(), chosen_upto });
        }
        // Our own acceptor counts once its copy is durable.
        let ballot = self.ballot;
        if !self.accept(ballot, &entries) {
            self.become_follower();
            return;
        }
        self.flush().await;
        self.emit_accepted(ballot, &entries);
        let me = self.id;
        for (slot, _) in entries.iter() {
            self.ack(*slot, me);
        }
        self.apply_chosen();
    }

    /// Counts `from`'s acceptance of `slot` in our ballot; a quorum makes it chosen.
    fn ack(&mut self, slot: Slot, from: NodeId) {
        let Some(p) = self.proposals.get_mut(&slot) else { return };
        p.acks.insert(from);
        if p.acks.len() >= self.majority {
            let value = self.proposals.remove(&slot).expect("present above").value;
            self.ctx.emit(Obs::Chosen { slot, ballot: self.ballot, value: value.clone() });
            self.learn(slot, value);
        }
    }

    fn on_accepted(&mut self, from: NodeId, ballot: Ballot, slots: Range<Slot>, need: Option<Slot>) {
        if self.role != Role::Leader || ballot != self.ballot {
            return;
        }
        let now = self.ctx.now_ns();
        match self.last_ack_ns.get_mut(&from) {
            Some(t) => *t = now,
            None => {
                self.last_ack_ns.insert(from, now);
            }
        }
        for slot in slots {
            self.ack(slot, from);
        }
        if let Some(first) = need.filter(|&s| s >= 1 && s <= self.chosen_upto()) {
            // The follower lacks chosen values it cannot learn by itself: send a batch,
            // at most once per heartbeat for the same first slot.
            let repeat = self
                .decide_sent
                .get(&from)
                .is_some_and(|&(s, t)| s == first && now.saturating_sub(t) < self.cfg.heartbeat_ns);
            if !repeat {
                let from_index = first as usize - 1;
                let until = (from_index + self.cfg.batch_entries_max).min(self.log.len());
                let entries = (from_index..until).map(|i| (i as Slot + 1, self.log[i].clone())).collect::<Vec<_>>();
                self.decide_sent.insert(from, (first, now));
                self.ctx.send(from, Msg::Decide { entries });
            }
        }
        self.apply_chosen();
    }

    // ----- clients -----

    async fn on_client_request(&mut self, client: NodeId, seq: u64, op: KvOp) {
        if self.role != Role::Leader {
            self.ctx.send(client, Msg::ClientReply { seq, response: Response::Redirect(self.leader_hint) });
            return;
        }
        let slot = self.next_slot;
        self.next_slot += 1;
        let value = Value::Cmd(Command { client, seq, op });
        self.ctx.emit(Obs::Proposed { slot, ballot: self.ballot, value: value.clone() });
        self.propose(vec![(slot, value)]).await;
    }

    async fn on_message(&mut self, from: NodeId, msg: Msg) {
        match msg {
            Msg::Prepare { ballot, from_slot } => self.on_prepare(from, ballot, from_slot).await,
            Msg::Promise { ballot, chosen, accepted } => self.on_promise(from, ballot, (chosen, accepted)).await,
            Msg::Accept { ballot, entries, chosen_upto } => self.on_accept(from, ballot, entries, chosen_upto).await,
            Msg::Accepted { ballot, slots, need } => self.on_accepted(from, ballot, slots, need),
            Msg::Nack { ballot, promised } => self.on_nack(ballot, promised),
            Msg::Decide { entries } => self.on_decide(entries),
            Msg::ClientRequest { seq, op } => self.on_client_request(from, seq, op).await,
            Msg::ClientReply { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(op: KvOp) -> Value {
        Value::Cmd(Command { client: 6, seq: 42, op })
    }

    #[test]
    fn proposals_round_trip_through_their_segments() {
        let proposals = [
            (3, Ballot::new(1, 0), Value::Noop),
            (4, Ballot::new(2, 4), cmd(KvOp::Read { key: 3 })),
            (5, Ballot::new(2, 4), cmd(KvOp::Write { key: 1, value: -7 })),
            (6, Ballot::new(9, 1), cmd(KvOp::Cas { key: 2, old: None, new: 9 })),
            (4, Ballot::new(9, 1), cmd(KvOp::Cas { key: 2, old: Some(0), new: 10 })),
        ];
        let mut segment = Vec::new();
        for (slot, ballot, value) in &proposals {
            append_record(&mut segment, *slot, *ballot, value);
        }
        assert_eq!(records(&segment), Some(proposals.to_vec()));
        assert_eq!(records(&segment[..segment.len() - 1]), None, "a cut record is no segment");
        assert_eq!(segment_key(17), "acc/000000000017");
        let mut longest = Vec::new();
        append_record(&mut longest, 4, Ballot::new(9, 1), &cmd(KvOp::Cas { key: 2, old: Some(0), new: 10 }));
        assert_eq!(longest.len(), RECORD_BYTES_MAX, "a cas makes the longest record");
    }

    #[test]
    fn open_slots_slide_as_slots_are_learned() {
        let mut open = OpenSlots::default();
        let p = |r| (Ballot::new(r, 0), Value::Noop);
        open.insert(3, p(1));
        open.insert(5, p(2));
        assert_eq!(open.get(3), Some(&p(1)));
        assert_eq!(open.get(4), None);
        assert_eq!(open.from(4).map(|(s, _)| s).collect::<Vec<_>>(), [5]);
        open.forget_below(4);
        assert_eq!(open.get(3), None);
        open.insert(2, p(3)); // below the window: learned already
        assert_eq!(open.from(0).map(|(s, _)| s).collect::<Vec<_>>(), [5]);
        open.forget_below(9);
        assert_eq!(open.from(0).count(), 0);
        open.insert(9, p(4));
        assert_eq!(open.get(9), Some(&p(4)));
    }
}
