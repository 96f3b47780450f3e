//! The protocol kit: what a protocol declares, and the wiring the library
//! does for it.
//!
//! A protocol is its node code, its invariants and one [`Protocol`] impl:
//! a name and one line about it, typed [`Protocol::Options`] read from the
//! scenario's `options` by serde (unknown fields are errors, absent ones
//! take their defaults, and an error names its path, `options.heartbeat`),
//! the checks and planted bugs it knows, and [`Protocol::setup`], which
//! places node code on process ids and adds invariants through a [`Setup`].
//! Everything else is the library's: building the [`Sim`], the trace sink,
//! selecting exactly the checks the scenario lists, the shared key-value
//! client workload and its history, linearizability, and the run's result.
//!
//! The registry holds protocols as `&dyn` [`AnyProtocol`], which every
//! [`Protocol`] is; a user's binary passes its own next to the built-in ones
//! (see `docs/PROTOCOLS.md`).

use std::cell::RefCell;
use std::future::Future;
use std::hash::Hash;
use std::rc::Rc;

use serde::de::DeserializeOwned;

use crate::check::lin::Model;
pub use crate::check::liveness::LIVENESS;
use crate::check::liveness::{Liveness, Progress};
use crate::check::Invariant;
pub use crate::check::{Extras, Mark, Reporter, Span, SpanChart, SpanLane};
use crate::node::Ctx;
use crate::scenario::{Scenario, ScenarioError};
use crate::sim::trace::TraceSink;
use crate::sim::{Nanos, NodeId, RunResult, Sim, SimConfig};
use crate::workload::{self, ClientCodec, ClientConfig, Recorder};

/// What a check needs from a scenario before it can give a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Nothing: it judges observations.
    Nothing,
    /// A `workload` section (it judges the client history).
    Workload,
    /// A `liveness` section (it judges progress after the last heal).
    Liveness,
}

/// A named item with a one-line description (a bug, a check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Named {
    /// The name used in scenarios and on the command line.
    pub name: &'static str,
    /// What it is.
    pub about: &'static str,
    /// What a check needs from the scenario (bugs need nothing).
    pub needs: Needs,
}

impl Named {
    /// A check or bug that needs nothing of the scenario.
    pub const fn new(name: &'static str, about: &'static str) -> Named {
        Named { name, about, needs: Needs::Nothing }
    }

    /// The same, for a check that needs `needs`.
    pub const fn needing(self, needs: Needs) -> Named {
        Named { needs, ..self }
    }
}

/// The name of the library's own end-of-run check of the client history.
pub const LINEARIZABILITY: &str = "linearizability";

/// The check the library adds for a protocol that wires key-value clients.
pub const LINEARIZABILITY_CHECK: Named =
    Named::new(LINEARIZABILITY, "the clients' history is linearizable").needing(Needs::Workload);

/// The library's end-of-run progress check, for a protocol that declares
/// its progress with [`Setup::progress`] (or has clients): after the last
/// heal, within the scenario's `liveness` window, progress happens and a
/// client operation completes.
pub const LIVENESS_CHECK: Named = Named::new(
    LIVENESS,
    "after the last heal, the protocol makes progress and a client op completes within the window",
)
.needing(Needs::Liveness);

/// A scenario field that a protocol finds wrong: its path and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// The field's JSON path from the scenario's root, e.g. `options.heartbeat` or `nodes`.
    pub path: String,
    /// What was expected, and what was found.
    pub message: String,
}

impl Invalid {
    /// A complaint about `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Invalid {
        Invalid { path: path.into(), message: message.into() }
    }
}

/// The options of a protocol that has none: `options` must be absent or `{}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

/// A protocol faultline can run.
pub trait Protocol: Sync + 'static {
    /// The messages its nodes exchange.
    type Msg: Clone + std::fmt::Debug + Hash + 'static;
    /// What its nodes report to the checkers.
    type Obs: std::fmt::Debug + Hash + serde::Serialize + 'static;
    /// Its `options`, read by serde; use `#[serde(deny_unknown_fields, default)]`.
    type Options: DeserializeOwned + Default;

    /// The scenario's `protocol` value.
    fn name(&self) -> &'static str;
    /// One line about the protocol.
    fn about(&self) -> &'static str;
    /// The checks it knows, the library's `linearizability` included if it
    /// wires key-value clients (use [`LINEARIZABILITY_CHECK`]).
    fn checks(&self) -> &'static [Named];
    /// Its planted bugs.
    fn bugs(&self) -> &'static [Named] {
        &[]
    }
    /// The fewest nodes it runs with.
    fn nodes_min(&self) -> usize {
        1
    }
    /// The model its client history is checked against.
    fn model(&self) -> Model {
        Model::Kv
    }
    /// Checks that need the whole scenario (options against each other or
    /// against the node count). Ranges of single fields belong in the
    /// options' types.
    fn validate(&self, _options: &Self::Options, _scenario: &Scenario) -> Result<(), Invalid> {
        Ok(())
    }
    /// Places the protocol's code and invariants.
    fn setup(&self, setup: &mut Setup<'_, Self>);
    /// A message's short label, for the trace text and the message diagram
    /// (`AppendEntries t3 prev 41/2 +64 c40`): a few plain words and
    /// numbers, about 30 characters at most. Called only when text is
    /// written, never on the hot path. By default the variant name.
    fn msg_label(msg: &Self::Msg) -> String
    where
        Self: Sized,
    {
        crate::sim::trace::debug_label(msg)
    }
    /// An observation's short label in plain words (`leader t3`,
    /// `stepped down t3`), for the diagrams' notable events. By default the
    /// variant name.
    fn obs_label(obs: &Self::Obs) -> String
    where
        Self: Sized,
    {
        crate::sim::trace::debug_label(obs)
    }
}

/// Builds a simulation for a protocol: node code, clients and invariants.
pub struct Setup<'a, P: Protocol + ?Sized> {
    sim: Sim<P::Msg, P::Obs>,
    options: P::Options,
    spec: &'a RunSpec<'a>,
    checks: &'static [Named],
    recorder: Option<Rc<RefCell<Recorder>>>,
    history: Option<Rc<dyn ClientHistory>>,
    progress: Option<Progress<P::Obs>>,
    registered: Vec<String>,
}

impl<'a, P: Protocol + ?Sized> Setup<'a, P> {
    /// The resolved options.
    pub fn options(&self) -> &P::Options {
        &self.options
    }

    /// Whether planted bug `name` is switched on (it must be one the protocol declares).
    pub fn bug(&self, name: &str) -> bool {
        assert!(self.spec.declared_bugs.iter().any(|b| b.name == name), "bug {name:?} is not declared");
        self.spec.bugs.iter().any(|b| b == name)
    }

    /// Whether check `name` runs (it must be one the protocol declares).
    pub fn wants(&self, name: &str) -> bool {
        assert!(self.checks.iter().any(|c| c.name == name), "check {name:?} is not declared");
        self.spec.checks.iter().any(|c| c == name)
    }

    /// The number of protocol nodes (ids `0..node_count`).
    pub fn node_count(&self) -> usize {
        self.spec.config.node_count
    }

    /// The scenario as written.
    pub fn scenario(&self) -> &Scenario {
        self.spec.scenario
    }

    /// Runs `entry` on every protocol node, at start and after each restart.
    pub fn nodes<F, Fut>(&mut self, entry: F)
    where
        F: Fn(Ctx<P::Msg, P::Obs>) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.sim.set_node_entry(entry);
    }

    /// Runs `entry` on the processes `ids` (a role: servers, clients, ...).
    pub fn role<F, Fut>(&mut self, ids: impl IntoIterator<Item = NodeId>, entry: F)
    where
        F: Fn(Ctx<P::Msg, P::Obs>) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let entry = Rc::new(entry);
        for id in ids {
            let e = entry.clone();
            self.sim.set_entry(id, move |ctx| e(ctx));
        }
    }

    /// Adds safety or end-of-run check `name` if the scenario selected it.
    pub fn invariant(&mut self, name: &str, make: impl FnOnce() -> Box<dyn Invariant<P::Obs>>) {
        if self.wants(name) {
            let check = make();
            assert_eq!(check.name(), name, "an invariant is registered under its own name");
            self.registered.push(name.to_string());
            self.sim.add_invariant(check);
        }
    }

    /// Declares what progress is for the library's [`LIVENESS_CHECK`]:
    /// `what` says it in words ("a leader commits an entry"), `shows` picks
    /// the observations that show it. The check then asks for one such
    /// observation, and for a client op completing `ok` if the run has
    /// clients, within the window after the last heal.
    pub fn progress(&mut self, what: &'static str, shows: impl Fn(&P::Obs) -> bool + 'static) {
        self.progress = Some(Progress { what, shows: Box::new(shows) });
    }

    /// Runs the shared key-value client workload on the scenario's client
    /// processes (when it has a `workload`), speaking to the nodes through
    /// `codec`. The library records the history and, if selected, checks
    /// it for linearizability under [`Protocol::model`].
    pub fn kv_clients<C: ClientCodec<P::Msg> + Clone>(&mut self, codec: C) {
        let Some(w) = &self.spec.scenario.workload else { return };
        let recorder = Recorder::shared();
        let ops_max = self.spec.scenario.limits.clone().unwrap_or_default().history_ops;
        let cfg = Rc::new(ClientConfig { ops_max, ..ClientConfig::from_spec(w, self.node_count()) });
        for i in 0..w.clients {
            let (c, r, codec) = (cfg.clone(), recorder.clone(), codec.clone());
            self.sim.set_entry(self.node_count() + i, move |ctx| {
                workload::run_client(ctx, c.clone(), r.clone(), codec.clone())
            });
        }
        self.history = Some(recorder.clone());
        self.recorder = Some(recorder);
    }

    /// Declares the client history of a protocol that records its own
    /// (transactions, lock acquisitions), instead of the key-value one:
    /// the run folder writes it as `history.jsonl`, the report draws its
    /// latencies per operation, and [`LIVENESS_CHECK`] counts its `ok`s.
    /// The protocol judges it with invariants of its own.
    pub fn client_history(&mut self, history: Rc<dyn ClientHistory>) {
        assert!(self.recorder.is_none(), "a run has one client history: kv_clients already records one");
        self.history = Some(history);
    }

    /// Says which observations show that their node leads: the nemesis's
    /// `leader` target mode hits the node that emitted the latest one.
    pub fn leader_shown(&mut self, shows: impl Fn(&P::Obs) -> bool + 'static) {
        self.sim.set_leader_shown(shows);
    }

    /// Adds a reporter: it watches every observation and, at the end, adds
    /// numbers to `summary.json` and span charts to `report.html`.
    pub fn reporter(&mut self, reporter: Box<dyn Reporter<P::Obs>>) {
        self.sim.add_reporter(reporter);
    }

    /// The client history being recorded, once [`Setup::kv_clients`] ran
    /// (for end-of-run checks that judge progress by client operations).
    pub fn recorder(&self) -> Option<Rc<RefCell<Recorder>>> {
        self.recorder.clone()
    }
}

/// Search steps the end-of-run linearizability check may take: steps, not
/// wall time, so its verdict is the same on every machine. Every scenario
/// shipped needs under 2,000 (five seeds of each raft and paxos scenario,
/// December 2026); 10 million is thousands of times that, and bounds the
/// check to a few seconds and well under a gigabyte of memo even at 50
/// clients in flight. The run folder's report spends the same again on the
/// check and on shrinking the witness.
pub(crate) const LINEARIZABILITY_BUDGET: u64 = 10_000_000;

/// Everything the library hands a protocol's run.
pub struct RunSpec<'a> {
    /// The scenario as written.
    pub scenario: &'a Scenario,
    /// The resolved kernel configuration (seed included).
    pub config: SimConfig,
    /// Planted bugs switched on.
    pub bugs: &'a [String],
    /// Checks to run.
    pub checks: &'a [String],
    /// The protocol's declared bugs.
    pub declared_bugs: &'static [Named],
    /// Whether to keep every observation (reports).
    pub record_observations: bool,
}

/// A client history as the library needs it: a protocol that records its
/// own ([`Setup::client_history`]) implements this; the key-value
/// [`Recorder`] does.
pub trait ClientHistory {
    /// The history as `history.jsonl` lines (`check::history::HistoryLine`),
    /// ops still open at `end_ns` completed there as `info`.
    fn to_jsonl(&self, end_ns: Nanos) -> String;
    /// Operations completed `ok`.
    fn ok_count(&self) -> u64;
    /// Per operation name: p50, p90, p99 and max latency of `ok` ops, in ms.
    fn latency_ms(&self) -> std::collections::BTreeMap<String, [f64; 4]>;
    /// Times of `ok` completions, in order (for liveness).
    fn ok_times_ns(&self) -> Vec<Nanos>;
    /// Operations that did not complete `ok` by `end_ns`: the `fail` and
    /// `info` completions of [`ClientHistory::to_jsonl`]. Override it when
    /// the history can count them without writing itself out (a sweep asks
    /// for every seed).
    fn not_ok_count(&self, end_ns: Nanos) -> u64 {
        let history = self.to_jsonl(end_ns);
        (history.matches("\"type\":\"fail\"").count() + history.matches("\"type\":\"info\"").count()) as u64
    }
}

impl ClientHistory for RefCell<Recorder> {
    fn to_jsonl(&self, end_ns: Nanos) -> String {
        self.borrow().to_jsonl(end_ns)
    }
    fn ok_count(&self) -> u64 {
        self.borrow().ok_count()
    }
    fn latency_ms(&self) -> std::collections::BTreeMap<String, [f64; 4]> {
        self.borrow().latency_ms()
    }
    fn ok_times_ns(&self) -> Vec<Nanos> {
        self.borrow().ok_times_ns().to_vec()
    }
    fn not_ok_count(&self, _end_ns: Nanos) -> u64 {
        // `to_jsonl` writes an op `ok` exactly when it completed `Ok`.
        let ok = |r: &&workload::RecordedOp| matches!(r.complete, Some((_, _, crate::check::history::Outcome::Ok(_))));
        self.borrow().ops().iter().filter(|r| !ok(r)).count() as u64
    }
}

/// What a protocol's run produced.
pub struct ProtocolRun {
    /// The kernel's result.
    pub result: RunResult,
    /// The client history, if the protocol has clients. It is serialised
    /// only on demand ([`ProtocolRun::history_jsonl`]): a sweep or a bench
    /// never pays for it.
    pub history: Option<Rc<dyn ClientHistory>>,
    /// Completed client operations.
    pub ops: u64,
    /// Latency summary per operation kind, in ms: kind -> (p50, p90, p99, max).
    pub latency_ms: std::collections::BTreeMap<String, [f64; 4]>,
    /// The model the history is checked against for linearizability, when
    /// it is the key-value clients' history.
    pub model: Option<Model>,
}

impl ProtocolRun {
    /// The client history as JSON Lines, if the protocol has clients.
    pub fn history_jsonl(&self) -> Option<String> {
        self.history.as_ref().map(|h| h.to_jsonl(self.result.end_ns))
    }

    /// Client operations that did not complete `ok` (the `fail` and `info`
    /// lines of [`ProtocolRun::history_jsonl`]), without writing the history.
    pub fn not_ok_ops(&self) -> u64 {
        self.history.as_ref().map_or(0, |h| h.not_ok_count(self.result.end_ns))
    }
}

/// A protocol with its types erased, as the registry and the CLI hold it.
pub trait AnyProtocol: Sync {
    /// The scenario's `protocol` value.
    fn name(&self) -> &'static str;
    /// One line about it.
    fn about(&self) -> &'static str;
    /// Its checks.
    fn checks(&self) -> &'static [Named];
    /// Its planted bugs.
    fn bugs(&self) -> &'static [Named];
    /// Resolves everything protocol-specific in `scenario` (options, node
    /// count), so that a run cannot fail on input any more.
    fn check_scenario(&self, scenario: &Scenario, file: &str) -> Result<(), ScenarioError>;
    /// Runs one simulation of a scenario that [`AnyProtocol::check_scenario`] accepted.
    fn run(&self, spec: &RunSpec<'_>, sink: TraceSink) -> ProtocolRun;
}

fn parse_options<P: Protocol + ?Sized>(scenario: &Scenario, file: &str) -> Result<P::Options, ScenarioError> {
    let value = scenario.options.clone();
    serde_path_to_error::deserialize::<_, P::Options>(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." || path.is_empty() { "options".to_string() } else { format!("options.{path}") };
        ScenarioError { file: file.to_string(), path, message: e.into_inner().to_string() }
    })
}

impl<P: Protocol> AnyProtocol for P {
    fn name(&self) -> &'static str {
        Protocol::name(self)
    }
    fn about(&self) -> &'static str {
        Protocol::about(self)
    }
    fn checks(&self) -> &'static [Named] {
        Protocol::checks(self)
    }
    fn bugs(&self) -> &'static [Named] {
        Protocol::bugs(self)
    }

    fn check_scenario(&self, scenario: &Scenario, file: &str) -> Result<(), ScenarioError> {
        let err = |i: Invalid| ScenarioError { file: file.to_string(), path: i.path, message: i.message };
        if scenario.nodes < self.nodes_min() {
            return Err(err(Invalid::new(
                "nodes",
                format!(
                    "expected at least {} nodes for protocol {}, got {}",
                    self.nodes_min(),
                    self.name(),
                    scenario.nodes
                ),
            )));
        }
        let options = parse_options::<P>(scenario, file)?;
        self.validate(&options, scenario).map_err(err)
    }

    fn run(&self, spec: &RunSpec<'_>, sink: TraceSink) -> ProtocolRun {
        let options = parse_options::<P>(spec.scenario, "<checked>").expect("options were checked before the run");
        let sim = Sim::with_options(spec.config.clone(), sink, spec.record_observations);
        sim.world().borrow_mut().labels = crate::sim::world::Labels { msg: P::msg_label, obs: P::obs_label };
        let mut setup = Setup {
            sim,
            options,
            spec,
            checks: Protocol::checks(self),
            recorder: None,
            history: None,
            progress: None,
            registered: Vec::new(),
        };
        self.setup(&mut setup);
        let Setup { mut sim, recorder, history, progress, registered, .. } = setup;
        let liveness_wanted = spec.checks.iter().any(|c| c == LIVENESS) && !registered.iter().any(|c| c == LIVENESS);
        if liveness_wanted {
            let window = spec.scenario.liveness.as_ref().map_or(0, |l| l.within_after_heal.0);
            let client_ok =
                history.clone().map(|h| -> crate::check::liveness::OkTimes { Box::new(move || h.ok_times_ns()) });
            sim.add_invariant(Box::new(Liveness::new(window, progress, client_ok)));
        }
        if let Some(r) = &recorder {
            if spec.checks.iter().any(|c| c == LINEARIZABILITY) {
                sim.add_invariant(Box::new(workload::Linearizability::new(
                    r.clone(),
                    self.model(),
                    LINEARIZABILITY_BUDGET,
                )));
            }
        }
        let mut result = sim.run();
        // Verdicts in the order the protocol declares its checks.
        let declared = Protocol::checks(self);
        result.checks.sort_by_key(|(name, _)| declared.iter().position(|c| c.name == name));
        let model = recorder.is_some().then(|| self.model());
        match history {
            Some(h) => ProtocolRun { ops: h.ok_count(), latency_ms: h.latency_ms(), history: Some(h), model, result },
            None => ProtocolRun { result, history: None, ops: 0, latency_ms: Default::default(), model },
        }
    }
}
