//! `paxos`: single-decree Paxos, with proposers, acceptors and learners
//! placed on the scenario's nodes (the first `proposers` nodes propose, the
//! first `acceptors` accept, the first `learners` learn; by default two
//! proposers and every node an acceptor and a learner).
//!
//! A run decides a sequence of independent instances. Each is one
//! single-decree Paxos, and instance `k` opens at local time
//! `k * instance_every`. Then every proposer proposes in it at once, so the
//! proposers duel in every instance. Many instances mean many decisions per
//! run to check, and progress after the last heal that liveness can see.
//!
//! - A **proposer** works on one instance at a time, the newest open one,
//!   and leaves it undecided if the next one opens first. Each round takes a fresh
//!   ballot, above every round it has used or seen, and writes it to storage
//!   and syncs before using it, so a restarted proposer never reuses a
//!   ballot with another value. Phase 1 asks the acceptors for promises with
//!   [`Ctx::quorum`]. With a quorum, it proposes the value of the
//!   highest-ballot proposal the promises report, or, if none does, its own
//!   value `v{node}-{round}`. Phase 2 asks for a quorum of `accepted`. If a
//!   phase fails (refused, or timed out), the proposer backs off for a
//!   random time and tries again. The cap of that time starts at the first
//!   `backoff` bound and doubles per failed round, up to the second, and
//!   resets when a round succeeds. Once its phase 2 succeeds, the value is
//!   chosen, and the proposer waits for the next instance.
//! - An **acceptor** keeps, per instance, its promised ballot and its
//!   accepted proposal. It writes both to storage and syncs before it
//!   replies. It answers a prepare with a promise (carrying its accepted
//!   proposal) or a refusal naming the ballot it promised. It accepts unless
//!   it has promised a higher ballot, and then tells the proposer and every
//!   learner.
//! - A **learner** counts `accepted` messages per (instance, ballot) and
//!   learns a value once a quorum of acceptors accepted it in one ballot.
//!
//! Planted bugs, each marked `// BUG(name):` below: `amnesiac-acceptor`,
//! `ignore-accepted-value`, `accept-below-promise` (see [`BUGS`]).
//!
//! Options (`options` in the scenario): `proposers` (2, or 1 on one node),
//! `acceptors` and `learners` (every node), `instance_every` (`"1s"`),
//! `phase_timeout` (`"50ms"`), `backoff` (`["5ms", "200ms"]`).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use serde::Deserialize;

use super::invariants::{Agreement, PromiseKept, Validity};
use super::{majority, role_ids, Ballot, Instance, Round};
use crate::check::{FnInvariant, Invariant};
use crate::coro::{Correlated, RequestId, Tally};
use crate::kit::{Invalid, Named, Needs, Protocol, Setup, LIVENESS};
use crate::node::Ctx;
use crate::scenario::{Dur, Scenario};
use crate::sim::{Envelope, NodeId};

/// A proposer's own value: `v{node}-{round}`, unique since rounds are durable.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Value {
    /// The proposer that made it up.
    pub node: NodeId,
    /// The round in which it did.
    pub round: Round,
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"v{}-{}\"", self.node, self.round)
    }
}

/// An accepted proposal: its ballot and value.
pub type Proposal = (Ballot, Value);

/// Single-decree Paxos messages. Replies carry the request id of the call
/// they answer (see [`Correlated`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    /// Phase 1a: promise `ballot` in `instance`.
    Prepare {
        /// The call.
        id: RequestId,
        /// The instance.
        instance: Instance,
        /// The ballot.
        ballot: Ballot,
    },
    /// Phase 1b: the promise, with the proposal accepted before, if any.
    Promise {
        /// The call answered.
        id: RequestId,
        /// The proposal this acceptor accepted in the instance before.
        accepted: Option<Proposal>,
    },
    /// Phase 2a: accept `value` in `ballot`.
    Accept {
        /// The call.
        id: RequestId,
        /// The instance.
        instance: Instance,
        /// The ballot.
        ballot: Ballot,
        /// The value.
        value: Value,
    },
    /// Phase 2b, to the proposer: accepted.
    Accepted {
        /// The call answered.
        id: RequestId,
    },
    /// A refused prepare or accept: the acceptor promised `promised`.
    Nack {
        /// The call answered.
        id: RequestId,
        /// The ballot it promised, higher than the one refused.
        promised: Ballot,
    },
    /// Phase 2b, to the learners: this acceptor accepted `value` in `ballot`.
    Learn {
        /// The instance.
        instance: Instance,
        /// The ballot.
        ballot: Ballot,
        /// The value.
        value: Value,
    },
}

impl Correlated for Msg {
    fn reply_to(&self) -> Option<RequestId> {
        match self {
            Msg::Promise { id, .. } | Msg::Accepted { id } | Msg::Nack { id, .. } => Some(*id),
            Msg::Prepare { .. } | Msg::Accept { .. } | Msg::Learn { .. } => None,
        }
    }
}

/// What the nodes report. `Debug` gives the report's labels, such as
/// `promised b(3,1) at instance 4` or `chosen "v1-3" at instance 4 in b(3,1)`.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Obs {
    /// A proposer sends `value` in phase 2 of `ballot`; `fresh` if it is
    /// the proposer's own value rather than one adopted from a promise.
    Proposed {
        /// The instance.
        instance: Instance,
        /// The ballot.
        ballot: Ballot,
        /// The value.
        value: Value,
        /// Its own value, not adopted.
        fresh: bool,
    },
    /// An acceptor promised `ballot` (its state is durable by now).
    Promised {
        /// The instance.
        instance: Instance,
        /// The ballot.
        ballot: Ballot,
    },
    /// An acceptor accepted `value` in `ballot` (durable by now).
    Accepted {
        /// The instance.
        instance: Instance,
        /// The ballot.
        ballot: Ballot,
        /// The value.
        value: Value,
    },
    /// A learner learned that `value` is chosen: a quorum accepted it in `ballot`.
    Chosen {
        /// The instance.
        instance: Instance,
        /// The ballot.
        ballot: Ballot,
        /// The value.
        value: Value,
    },
}

impl fmt::Debug for Obs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Obs::Proposed { instance, ballot, value, fresh } => {
                let how = if *fresh { "" } else { " (adopted)" };
                write!(f, "proposed {value:?}{how} in {ballot:?} at instance {instance}")
            }
            Obs::Promised { instance, ballot } => write!(f, "promised {ballot:?} at instance {instance}"),
            Obs::Accepted { instance, ballot, value } => {
                write!(f, "accepted {value:?} in {ballot:?} at instance {instance}")
            }
            Obs::Chosen { instance, ballot, value } => {
                write!(f, "chosen {value:?} at instance {instance} in {ballot:?}")
            }
        }
    }
}

/// Planted bugs, each off in the correct protocol.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bugs {
    /// Acceptors keep their promise and accepted proposal in memory only.
    pub amnesiac_acceptor: bool,
    /// Proposers propose their own value even when a promise reported an accepted one.
    pub ignore_accepted_value: bool,
    /// Acceptors accept ballots below the one they promised.
    pub accept_below_promise: bool,
}

/// The resolved options of a run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Proposers: nodes `0..proposer_count`.
    pub proposer_count: usize,
    /// Acceptors: nodes `0..acceptor_count`.
    pub acceptor_count: usize,
    /// Learners: nodes `0..learner_count`.
    pub learner_count: usize,
    /// Instance `k` opens at local time `k * instance_every_ns`.
    pub instance_every_ns: u64,
    /// How long a proposer waits for a phase's quorum, ns.
    pub phase_timeout_ns: u64,
    /// Backoff after a failed round: the first round's cap and the largest cap, ns.
    pub backoff_ns: (u64, u64),
    /// Planted bugs.
    pub bugs: Bugs,
}

impl Config {
    fn acceptors(&self) -> Vec<NodeId> {
        role_ids(self.acceptor_count)
    }
}

/// The `options` object.
#[derive(Clone, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// Number of proposers, nodes `0..proposers` (absent: 2, or 1 with one node).
    pub proposers: Option<usize>,
    /// Number of acceptors, nodes `0..acceptors` (absent: every node).
    pub acceptors: Option<usize>,
    /// Number of learners, nodes `0..learners` (absent: every node).
    pub learners: Option<usize>,
    /// Time between the openings of two instances, on each proposer's clock (absent: 1 s).
    pub instance_every: Option<Dur>,
    /// How long a proposer waits for a phase's quorum (absent: 50 ms).
    pub phase_timeout: Option<Dur>,
    /// `[first, largest]` cap of the random backoff after a failed round
    /// (absent: 5 ms and 200 ms); the cap doubles per failed round.
    pub backoff: Option<[Dur; 2]>,
}

impl Options {
    fn resolve(&self, nodes: usize, bugs: Bugs) -> Config {
        let [lo, hi] = self.backoff.unwrap_or([Dur(5_000_000), Dur(200_000_000)]);
        Config {
            proposer_count: self.proposers.unwrap_or(nodes.min(2)),
            acceptor_count: self.acceptors.unwrap_or(nodes),
            learner_count: self.learners.unwrap_or(nodes),
            instance_every_ns: self.instance_every.map_or(1_000_000_000, |d| d.0),
            phase_timeout_ns: self.phase_timeout.map_or(50_000_000, |d| d.0),
            backoff_ns: (lo.0, hi.0),
            bugs,
        }
    }
}

/// One acceptor's state in one instance, as stored.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
struct AcceptorSlot {
    promised: Ballot,
    accepted: Option<Proposal>,
}

fn instance_key(instance: Instance) -> String {
    format!("acceptor/{instance:012}")
}

/// An acceptor: per instance, the promised ballot and accepted proposal.
struct Acceptor {
    state: BTreeMap<Instance, AcceptorSlot>,
    learners: Vec<NodeId>,
    bugs: Bugs,
}

impl Acceptor {
    fn load(ctx: &Ctx<Msg, Obs>, cfg: &Config) -> Acceptor {
        let disk = ctx.storage();
        let mut state = BTreeMap::new();
        if !cfg.bugs.amnesiac_acceptor {
            for key in disk.keys_with_prefix("acceptor/") {
                let instance = key["acceptor/".len()..].parse::<Instance>().expect("acceptor keys name an instance");
                let slot: AcceptorSlot = disk.get_json(&key).expect("acceptor state decodes");
                state.insert(instance, slot);
            }
        }
        Acceptor { state, learners: role_ids(cfg.learner_count), bugs: cfg.bugs }
    }

    /// Makes `instance`'s state durable before the reply that reveals it.
    async fn persist(&self, ctx: &Ctx<Msg, Obs>, instance: Instance) {
        if self.bugs.amnesiac_acceptor {
            // BUG(amnesiac-acceptor): the promise and the accepted proposal live in
            // memory only; a restarted acceptor has forgotten both.
            return;
        }
        let disk = ctx.storage();
        disk.put_json(&instance_key(instance), &self.state[&instance]);
        disk.sync().await;
    }

    async fn on_prepare(
        &mut self,
        ctx: &Ctx<Msg, Obs>,
        from: NodeId,
        id: RequestId,
        instance: Instance,
        ballot: Ballot,
    ) {
        let slot = self.state.entry(instance).or_default();
        if ballot < slot.promised {
            ctx.send(from, Msg::Nack { id, promised: slot.promised });
            return;
        }
        let fresh = ballot > slot.promised;
        slot.promised = ballot;
        let accepted = slot.accepted;
        if fresh {
            self.persist(ctx, instance).await;
        }
        ctx.emit(Obs::Promised { instance, ballot });
        ctx.send(from, Msg::Promise { id, accepted });
    }

    async fn on_accept(
        &mut self,
        ctx: &Ctx<Msg, Obs>,
        from: NodeId,
        id: RequestId,
        instance: Instance,
        ballot: Ballot,
        value: Value,
    ) {
        let slot = self.state.entry(instance).or_default();
        if ballot < slot.promised && !self.bugs.accept_below_promise {
            ctx.send(from, Msg::Nack { id, promised: slot.promised });
            return;
        }
        // BUG(accept-below-promise): with the bug on, the check above lets a ballot
        // lower than the promised one through, and the acceptor accepts it.
        slot.promised = slot.promised.max(ballot);
        slot.accepted = Some((ballot, value));
        self.persist(ctx, instance).await;
        ctx.emit(Obs::Accepted { instance, ballot, value });
        ctx.send(from, Msg::Accepted { id });
        for &l in &self.learners {
            ctx.send(l, Msg::Learn { instance, ballot, value });
        }
    }
}

/// A learner: counts `Learn` messages per (instance, ballot).
struct Learner {
    quorum: usize,
    /// Per open instance and ballot: the value and the acceptors that accepted it.
    votes: BTreeMap<(Instance, Ballot), (Value, Vec<NodeId>)>,
    /// Instances learned since the last restart.
    learned: BTreeMap<Instance, Value>,
}

impl Learner {
    fn on_learn(&mut self, ctx: &Ctx<Msg, Obs>, from: NodeId, instance: Instance, ballot: Ballot, value: Value) {
        if self.learned.contains_key(&instance) {
            return;
        }
        let (v, acceptors) = self.votes.entry((instance, ballot)).or_insert((value, Vec::new()));
        if *v != value {
            // One proposal per ballot: a different value under the same ballot is not
            // counted with it (the agreement check judges the acceptors' reports).
            return;
        }
        if !acceptors.contains(&from) {
            acceptors.push(from);
        }
        if acceptors.len() >= self.quorum {
            self.learned.insert(instance, value);
            self.votes.retain(|(i, _), _| *i != instance);
            ctx.emit(Obs::Chosen { instance, ballot, value });
        }
    }
}

/// A node's entry point: its acceptor and learner in one loop; its
/// proposer, if it is one, in a task of its own.
pub async fn run(ctx: Ctx<Msg, Obs>, cfg: Rc<Config>) {
    let me = ctx.id();
    if me < cfg.proposer_count {
        ctx.spawn(proposer(ctx.clone(), cfg.clone()));
    }
    let mut acceptor = (me < cfg.acceptor_count).then(|| Acceptor::load(&ctx, &cfg));
    let mut learner = (me < cfg.learner_count).then(|| Learner {
        quorum: majority(cfg.acceptor_count),
        votes: BTreeMap::new(),
        learned: BTreeMap::new(),
    });
    loop {
        let env = ctx.recv().await;
        match env.msg {
            Msg::Prepare { id, instance, ballot } => {
                if let Some(a) = &mut acceptor {
                    a.on_prepare(&ctx, env.from, id, instance, ballot).await;
                }
            }
            Msg::Accept { id, instance, ballot, value } => {
                if let Some(a) = &mut acceptor {
                    a.on_accept(&ctx, env.from, id, instance, ballot, value).await;
                }
            }
            Msg::Learn { instance, ballot, value } => {
                if let Some(l) = &mut learner {
                    l.on_learn(&ctx, env.from, instance, ballot, value);
                }
            }
            // Replies go to the calls that wait for them, never to `recv`.
            Msg::Promise { .. } | Msg::Accepted { .. } | Msg::Nack { .. } => {}
        }
    }
}

/// The proposer: works on one instance at a time, the newest open one. It
/// leaves an instance undecided when the next one opens (the other
/// proposers may still decide it), so that a proposer cut off for a while
/// does not come back with a backlog of instances to fight over. A
/// restarted proposer joins the instance open now.
async fn proposer(ctx: Ctx<Msg, Obs>, cfg: Rc<Config>) {
    let state = Rc::new(ProposerState {
        round: Cell::new(ctx.storage().get_json::<Round>("proposer/round").unwrap_or(0)),
        failures: Cell::new(0),
    });
    let every = cfg.instance_every_ns;
    let mut instance = ctx.now_ns() / every;
    loop {
        ctx.sleep_until_ns(instance * every).await;
        let next_opens = (instance + 1) * every;
        crate::select! {
            () = propose(&ctx, &cfg, &state, instance) => ctx.sleep_until_ns(next_opens).await,
            () = ctx.sleep_until_ns(next_opens) => {},
        }
        // Skip instances that opened meanwhile (a clock that jumped ahead).
        instance = (instance + 1).max(ctx.now_ns() / every);
    }
}

/// What a proposer carries from round to round.
struct ProposerState {
    /// The highest round used or seen; the durable copy is in storage.
    round: Cell<Round>,
    /// Failed rounds since the last success: the backoff doubles with each.
    failures: Cell<u32>,
}

/// The highest round named in refusals: the next ballot must be above it.
fn refused_round(nacks: &[Envelope<Msg>]) -> Round {
    nacks.iter().map(|e| if let Msg::Nack { promised, .. } = e.msg { promised.round } else { 0 }).max().unwrap_or(0)
}

/// One proposer's rounds in one instance, until its phase 2 succeeds.
async fn propose(ctx: &Ctx<Msg, Obs>, cfg: &Config, state: &ProposerState, instance: Instance) {
    let me = ctx.id();
    let acceptors = cfg.acceptors();
    let quorum = majority(acceptors.len());
    let timeout = Duration::from_nanos(cfg.phase_timeout_ns);
    let round = &state.round;
    loop {
        // A fresh ballot, durable before anyone hears of it.
        let r = round.get() + 1;
        round.set(r);
        let disk = ctx.storage();
        disk.put_json("proposer/round", &r);
        disk.sync().await;
        let ballot = Ballot::new(r, me);
        let promises = ctx
            .quorum(
                &acceptors,
                quorum,
                |id| Msg::Prepare { id, instance, ballot },
                |e| match e.msg {
                    Msg::Promise { .. } => Tally::Yes,
                    Msg::Nack { .. } => Tally::No,
                    _ => Tally::Ignore,
                },
                timeout,
            )
            .await;
        let refused = match promises {
            Ok(promises) => {
                let highest = promises
                    .iter()
                    .filter_map(|e| if let Msg::Promise { accepted, .. } = e.msg { accepted } else { None })
                    .max_by_key(|(b, _)| *b);
                let (value, fresh) = match highest {
                    Some((_, v)) if !cfg.bugs.ignore_accepted_value => (v, false),
                    // BUG(ignore-accepted-value): with the bug on, a reported proposal is
                    // ignored and the proposer's own value goes out instead.
                    _ => (Value { node: me, round: r }, true),
                };
                ctx.emit(Obs::Proposed { instance, ballot, value, fresh });
                let accepted = ctx
                    .quorum(
                        &acceptors,
                        quorum,
                        |id| Msg::Accept { id, instance, ballot, value },
                        |e| match e.msg {
                            Msg::Accepted { .. } => Tally::Yes,
                            Msg::Nack { .. } => Tally::No,
                            _ => Tally::Ignore,
                        },
                        timeout,
                    )
                    .await;
                match accepted {
                    // A quorum accepted `value` in `ballot`: it is chosen; this proposer is done.
                    Ok(_) => {
                        state.failures.set(0);
                        return;
                    }
                    Err(e) => refused_round(&e.no),
                }
            }
            Err(e) => refused_round(&e.no),
        };
        round.set(round.get().max(refused));
        let failures = state.failures.get().saturating_add(1);
        state.failures.set(failures);
        let (first, largest) = cfg.backoff_ns;
        let cap = first.saturating_mul(1u64 << (failures - 1).min(20)).min(largest);
        ctx.sleep(Duration::from_nanos(ctx.rng().between(0, cap))).await;
    }
}

/// `agreement` over the acceptors' reports, with quorums of `quorum`.
pub fn agreement(quorum: usize) -> Box<dyn Invariant<Obs>> {
    let mut check = Agreement::new(quorum, "instance");
    Box::new(FnInvariant::only(
        "agreement",
        |o| matches!(o, Obs::Accepted { .. }),
        move |_, node, obs: &Obs| match obs {
            Obs::Accepted { instance, ballot, value } => check.on_accepted(*instance, node, *ballot, value),
            _ => Ok(()),
        },
    ))
}

/// `validity`: a chosen value is some proposer's own value for that instance.
pub fn validity(quorum: usize) -> Box<dyn Invariant<Obs>> {
    let mut check = Validity::new(quorum, "instance");
    Box::new(FnInvariant::only(
        "validity",
        |o| matches!(o, Obs::Proposed { .. } | Obs::Accepted { .. }),
        move |_, node, obs: &Obs| match obs {
            Obs::Proposed { instance, value, fresh: true, .. } => {
                check.on_proposed(*instance, value);
                Ok(())
            }
            Obs::Accepted { instance, ballot, value } => check.on_accepted(*instance, node, *ballot, value),
            _ => Ok(()),
        },
    ))
}

/// `promise-kept`: no acceptor accepts below a ballot it promised in that instance.
pub fn promise_kept() -> Box<dyn Invariant<Obs>> {
    let mut check = PromiseKept::new("instance");
    Box::new(FnInvariant::only(
        "promise-kept",
        |o| matches!(o, Obs::Promised { .. } | Obs::Accepted { .. }),
        move |_, node, obs: &Obs| match obs {
            Obs::Promised { instance, ballot } => {
                check.on_promised(node, *instance, *ballot);
                Ok(())
            }
            Obs::Accepted { instance, ballot, .. } => check.on_accepted(node, *instance, *ballot),
            _ => Ok(()),
        },
    ))
}

/// The protocol.
pub struct Paxos;

/// Single-decree Paxos's checks.
pub const CHECKS: &[Named] = &[
    Named::new("agreement", "at most one value is chosen per instance (counted from the acceptors' reports)"),
    Named::new("validity", "a chosen value was proposed by some proposer"),
    Named::new("promise-kept", "no acceptor accepts a ballot below one it promised"),
    Named::new(LIVENESS, "after the last heal, a learner learns a chosen value within the window")
        .needing(Needs::Liveness),
];

/// Single-decree Paxos's planted bugs.
pub const BUGS: &[Named] = &[
    Named::new("amnesiac-acceptor", "acceptors keep promises and accepted proposals in memory only"),
    Named::new(
        "ignore-accepted-value",
        "a proposer proposes its own value although a promise reported an accepted one",
    ),
    Named::new("accept-below-promise", "an acceptor accepts a ballot lower than one it promised"),
];

/// Checks a role count: between 1 and the node count.
fn check_count(path: &str, count: Option<usize>, nodes: usize) -> Result<(), Invalid> {
    match count {
        Some(c) if c == 0 || c > nodes => {
            Err(Invalid::new(path, format!("expected a count in 1..={nodes} (the nodes), got {c}")))
        }
        _ => Ok(()),
    }
}

/// A value in a label: `v1-2` (proposer n1, its round 2).
fn value_label(value: &Value) -> String {
    format!("v{}-{}", value.node, value.round)
}

/// A message's short label for the diagrams: `Accept i4 b(3,1) v1-2`.
fn msg_label(msg: &Msg) -> String {
    match msg {
        Msg::Prepare { instance, ballot, .. } => format!("Prepare i{instance} {ballot:?}"),
        Msg::Promise { accepted: Some((ballot, value)), .. } => {
            format!("Promise had {} in {ballot:?}", value_label(value))
        }
        Msg::Promise { accepted: None, .. } => "Promise".to_string(),
        Msg::Accept { instance, ballot, value, .. } => format!("Accept i{instance} {ballot:?} {}", value_label(value)),
        Msg::Accepted { .. } => "Accepted".to_string(),
        Msg::Nack { promised, .. } => format!("Nack promised {promised:?}"),
        Msg::Learn { instance, value, .. } => format!("Learn i{instance} {}", value_label(value)),
    }
}

/// An observation in plain words: `chosen i4 v1-2`.
fn obs_label(obs: &Obs) -> String {
    match obs {
        Obs::Proposed { instance, value, .. } => format!("proposed i{instance} {}", value_label(value)),
        Obs::Promised { instance, ballot } => format!("promised i{instance} {ballot:?}"),
        Obs::Accepted { instance, value, .. } => format!("accepted i{instance} {}", value_label(value)),
        Obs::Chosen { instance, value, .. } => format!("chosen i{instance} {}", value_label(value)),
    }
}

impl Protocol for Paxos {
    type Msg = Msg;
    type Obs = Obs;
    type Options = Options;
    fn msg_label(msg: &Msg) -> String {
        msg_label(msg)
    }
    fn obs_label(obs: &Obs) -> String {
        obs_label(obs)
    }

    fn name(&self) -> &'static str {
        "paxos"
    }
    fn about(&self) -> &'static str {
        "single-decree Paxos (Lamport) deciding a sequence of independent instances, with durable acceptors"
    }
    fn checks(&self) -> &'static [Named] {
        CHECKS
    }
    fn bugs(&self) -> &'static [Named] {
        BUGS
    }

    fn validate(&self, o: &Options, scenario: &Scenario) -> Result<(), Invalid> {
        let nodes = scenario.nodes;
        check_count("options.proposers", o.proposers, nodes)?;
        check_count("options.acceptors", o.acceptors, nodes)?;
        check_count("options.learners", o.learners, nodes)?;
        for (path, d) in [("options.instance_every", o.instance_every), ("options.phase_timeout", o.phase_timeout)] {
            if d.is_some_and(|d| d.0 == 0) {
                return Err(Invalid::new(path, "expected a positive duration"));
            }
        }
        if let Some([lo, hi]) = o.backoff {
            if lo.0 == 0 || lo > hi {
                return Err(Invalid::new("options.backoff", "expected [first, largest] with 0 < first <= largest"));
            }
        }
        if scenario.workload.is_some() {
            return Err(Invalid::new(
                "workload",
                "expected no workload: single-decree Paxos proposes its own values (use multipaxos for clients)",
            ));
        }
        Ok(())
    }

    fn setup(&self, s: &mut Setup<'_, Self>) {
        let bugs = Bugs {
            amnesiac_acceptor: s.bug("amnesiac-acceptor"),
            ignore_accepted_value: s.bug("ignore-accepted-value"),
            accept_below_promise: s.bug("accept-below-promise"),
        };
        let cfg = Rc::new(s.options().resolve(s.node_count(), bugs));
        let quorum = majority(cfg.acceptor_count);
        s.nodes(move |ctx| run(ctx, cfg.clone()));
        s.invariant("agreement", || agreement(quorum));
        s.invariant("validity", || validity(quorum));
        s.invariant("promise-kept", promise_kept);
        s.progress("a learner learns a chosen value", |obs| matches!(obs, Obs::Chosen { .. }));
    }
}
