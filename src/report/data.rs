//! The run folder as data: `summary.json`, `history.jsonl` and `timeline.jsonl`
//! read into plain structs that every plot and the report draw from.
//!
//! It is shaped so that all input parsing and all input errors live here: the
//! drawing modules never see JSON and never fail on bad input. Every error is
//! one line naming the file (and the line of a JSON Lines file), because bad
//! user input is a `Result`, not a panic. Maps are `BTreeMap` so that nothing
//! drawn from them depends on hash order: the same folder gives the same bytes.
//! The history's vocabulary is open: an op's kind is its `f`, whatever the
//! protocol calls it, and values and keys are never read, so a lock, a bank
//! or a queue loads as well as a key-value store.
//!
//! Each file is read with the one type its writer writes it with: [`Summary`]
//! (here), [`HistoryLine`] (in `check::history`, the history's home) and
//! [`TraceLine`] (in `sim::trace`, beside the kernel that writes it).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use crate::check::history::{HistoryLine, LineKind};
use crate::sim::trace::TraceLine;
use crate::stats;

/// Nanoseconds in one second of simulated time.
pub const NS_PER_S: u64 = 1_000_000_000;
/// Nanoseconds in one millisecond of simulated time.
pub const NS_PER_MS: f64 = 1_000_000.0;

/// Latency quantiles of one operation kind, as `summary.json` carries them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyQuantilesMs {
    /// Median latency, milliseconds.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub p50: f64,
    /// 90th percentile latency, milliseconds.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub p90: f64,
    /// 99th percentile latency, milliseconds.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub p99: f64,
    /// Largest latency, milliseconds.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub max: f64,
}

/// Reads a number that a runner may write as `null` (no ops of that kind).
fn null_as_zero<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(0.0))
}

/// The first violation a run found, as `summary.json` carries it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// Name of the check that failed.
    #[serde(default)]
    pub check: String,
    /// Simulated time of the violation, nanoseconds.
    #[serde(default)]
    pub time_ns: u64,
    /// Index of the trace event at which it was found.
    #[serde(default)]
    pub event_index: Option<u64>,
    /// Node at which it was found, if any.
    #[serde(default)]
    pub node: Option<u64>,
    /// Human-readable explanation.
    #[serde(default)]
    pub detail: String,
    /// The faults in force during the 2 s before it (absent in older files).
    #[serde(default)]
    pub faults_before: Vec<FaultWindow>,
}

/// Message counters of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageStats {
    /// Messages handed to the network.
    #[serde(default)]
    pub sent: u64,
    /// Messages delivered (duplicates count once per arrival).
    #[serde(default)]
    pub delivered: u64,
    /// Messages dropped by random loss.
    #[serde(default)]
    pub lost: u64,
    /// Messages dropped by a partition or a cut link.
    #[serde(default)]
    pub cut: u64,
    /// Messages dropped because the target was down.
    #[serde(default)]
    pub down: u64,
    /// Messages the network duplicated.
    #[serde(default)]
    pub duplicated: u64,
    /// Replies dropped because their call had given up.
    #[serde(default)]
    pub late: u64,
}

/// One injected fault, as a window of simulated time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultWindow {
    /// `crash`, `pause`, `partition`, `cut`, `skew` or `jump`.
    pub kind: String,
    /// Node ids the fault touches.
    #[serde(default)]
    pub nodes: Vec<u64>,
    /// Human-readable description, e.g. `partition [[0, 1], [2, 3]]`.
    #[serde(default)]
    pub detail: String,
    /// Start, nanoseconds of simulated time.
    pub start_ns: u64,
    /// End, nanoseconds of simulated time; `None` = until the end of the run.
    #[serde(default)]
    pub end_ns: Option<u64>,
}

/// One operation of a linearizability counterexample window (optional input
/// `lin_window`, in `summary.json` or in its own `lin_window.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinOp {
    /// Client process id.
    pub process: u64,
    /// Operation kind: the history's `f`, any name.
    pub f: String,
    /// Key, if the model has keys.
    #[serde(default)]
    pub key: Option<String>,
    /// Invocation, nanoseconds of simulated time.
    pub invoke_ns: u64,
    /// Completion, nanoseconds; `None` = open forever.
    #[serde(default)]
    pub complete_ns: Option<u64>,
    /// `ok`, `fail` or `info`.
    #[serde(default)]
    pub outcome: String,
    /// Value (argument or result), as JSON.
    #[serde(default)]
    pub value: serde_json::Value,
    /// True for the operation that could not be placed.
    #[serde(default)]
    pub highlighted: bool,
    /// What the box says (`p3 read k0 -> 7 (n4)`); default: built from `f`, `key`, `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// `summary.json`: the one type the runner writes it with
/// (`report::summary::run_summary`) and the report reads it back with. Keys
/// are written in field order. Reading is lenient so that older and
/// hand-made files load: only `scenario` and `seed` are required, a missing
/// key takes its default, and unknown keys are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Protocol name.
    #[serde(default)]
    pub protocol: String,
    /// Node count (`None` in files that do not say).
    #[serde(default)]
    pub nodes: Option<u64>,
    /// Workload client count (`None` in files that do not say).
    #[serde(default)]
    pub clients: Option<u64>,
    /// Seed of the run.
    pub seed: u64,
    /// Deliberate bugs switched on.
    #[serde(default)]
    pub bugs: Vec<String>,
    /// Hash of the trace, hex.
    #[serde(default)]
    pub trace_hash: String,
    /// Trace events.
    #[serde(default)]
    pub events: u64,
    /// Executor steps.
    #[serde(default)]
    pub steps: u64,
    /// Most events pending at once (bounded by `limits.pending_events`).
    #[serde(default)]
    pub peak_pending_events: u64,
    /// Most messages in the network at once (bounded by `limits.messages_in_flight`).
    #[serde(default)]
    pub peak_messages_in_flight: u64,
    /// What the run's output left out (a file cut at `limits.output_bytes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Simulated seconds the run covered.
    #[serde(default)]
    pub sim_seconds: f64,
    /// Wall-clock seconds the run took.
    #[serde(default)]
    pub wall_seconds: f64,
    /// Why the run stopped.
    #[serde(default)]
    pub stop: String,
    /// Completed client operations.
    #[serde(default)]
    pub ops: u64,
    /// Latency quantiles per op kind, milliseconds.
    #[serde(default)]
    pub latency: BTreeMap<String, LatencyQuantilesMs>,
    /// Verdict per check: `pass`, `fail` or `unknown`.
    #[serde(default)]
    pub checks: BTreeMap<String, String>,
    /// The first violation, if any (written as `null` when there is none).
    #[serde(default)]
    pub violation: Option<Violation>,
    /// Message counters.
    #[serde(default)]
    pub messages: MessageStats,
    /// The fault schedule as it happened.
    #[serde(default)]
    pub faults: Vec<FaultWindow>,
    /// Command that reproduces the run exactly.
    #[serde(default)]
    pub reproduce: String,
    /// A linearizability failure's report, told from its shrunk witness
    /// (its first line after the heading is the culprit in one sentence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lin_violation: Option<String>,
    /// That culprit sentence alone, for the report's text box.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lin_culprit: Option<String>,
    /// Linearizability counterexample window, if a file carries it; the
    /// runner writes it to its own `lin_window.json`, which
    /// [`load_run_dir`] puts here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lin_window: Option<Vec<LinOp>>,
    /// The protocol's own numbers (its reporters' stats), e.g. a 2PC
    /// participant's time in doubt.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub protocol_stats: BTreeMap<String, serde_json::Value>,
    /// The window of simulated time `timeline.jsonl` covers, ns (`[from, to]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline_window_ns: Option<[u64; 2]>,
    /// For a `--swarm` run, the fault configuration its seed drew (the
    /// nemesis section, loss and duplication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<serde_json::Value>,
}

/// How a client operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// Completed and took effect.
    Ok,
    /// Completed and did not take effect.
    Fail,
    /// Outcome unknown (timeout, or never completed).
    Info,
}

impl Outcome {
    /// Every outcome, in drawing and legend order.
    pub const ALL: [Outcome; 3] = [Outcome::Ok, Outcome::Fail, Outcome::Info];

    /// The history's word for it.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        }
    }
}

/// Kind of a client operation: its `f` in the history, any name at all
/// (`read`, `cas`, a lock's `acquire`, a bank's `transfer`). The report has
/// no closed list of operations; it draws whatever the history holds.
///
/// A shared string, so that a million ops of a handful of kinds hold a
/// handful of allocations (`parse_history` interns the names). Ordered by
/// name, which is the order every legend and table uses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpKind(Arc<str>);

impl OpKind {
    /// The kind named `name`.
    pub fn new(name: &str) -> OpKind {
        OpKind(Arc::from(name))
    }

    /// The history's word for it.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl From<&str> for OpKind {
    fn from(name: &str) -> OpKind {
        OpKind::new(name)
    }
}

impl std::fmt::Display for OpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One client operation: an invoke paired with the next completion of the
/// same process.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// Client process id.
    pub process: u64,
    /// Operation kind.
    pub kind: OpKind,
    /// Invocation, nanoseconds of simulated time.
    pub invoke_ns: u64,
    /// Completion, nanoseconds; `None` = the invoke never completed (open).
    pub complete_ns: Option<u64>,
    /// Outcome; an open op is `Info`.
    pub outcome: Outcome,
}

impl Op {
    /// Latency in milliseconds, or `None` for an op that never completed.
    pub fn latency_ms(&self) -> Option<f64> {
        self.complete_ns.map(|done| done.saturating_sub(self.invoke_ns) as f64 / NS_PER_MS)
    }
}

/// Why a message did not arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DropCause {
    /// Random loss.
    Loss,
    /// A partition or a cut link.
    Cut,
    /// The target was down.
    Down,
    /// A reply that arrived after its call had given up.
    Late,
}

/// One line of `timeline.jsonl` that the diagram draws; timers and fsyncs
/// are skipped at load time.
#[derive(Debug, Clone, PartialEq)]
pub enum TimelineEvent {
    /// A message handed to the network.
    Send {
        /// Simulated time, ns.
        t: u64,
        /// Source node.
        from: u64,
        /// Target node.
        to: u64,
        /// Message id, shared by its send and its arrivals.
        msg_id: u64,
        /// Debug text of the message.
        msg: String,
        /// The protocol's short label of it (empty in older files).
        label: String,
        /// Lamport timestamp of the send (absent in older files).
        lamport: Option<u64>,
    },
    /// A message arrived.
    Deliver {
        /// Simulated time, ns.
        t: u64,
        /// Source node.
        from: u64,
        /// Target node.
        to: u64,
        /// Message id.
        msg_id: u64,
        /// Lamport timestamp of the delivery.
        lamport: Option<u64>,
    },
    /// A message was dropped.
    Drop {
        /// Simulated time, ns.
        t: u64,
        /// Source node.
        from: u64,
        /// Target node.
        to: u64,
        /// Message id.
        msg_id: u64,
        /// Why.
        cause: DropCause,
        /// The message's send stamp.
        lamport: Option<u64>,
    },
    /// A node wrote an observation.
    Observe {
        /// Simulated time, ns.
        t: u64,
        /// Node.
        node: u64,
        /// Text.
        obs: String,
        /// The protocol's short label of it (empty in older files).
        label: String,
        /// Lamport timestamp.
        lamport: Option<u64>,
    },
    /// A fault or a node start.
    Fault {
        /// Simulated time, ns.
        t: u64,
        /// Node, or `None` for network faults.
        node: Option<u64>,
        /// Text, e.g. `crash n0`, `restart n0`, `pause n1`, `heal`.
        what: String,
        /// Lamport timestamp (a fault of the whole network has none).
        lamport: Option<u64>,
    },
}

impl TimelineEvent {
    /// Simulated time of the event, ns.
    pub fn time_ns(&self) -> u64 {
        match self {
            TimelineEvent::Send { t, .. }
            | TimelineEvent::Deliver { t, .. }
            | TimelineEvent::Drop { t, .. }
            | TimelineEvent::Observe { t, .. }
            | TimelineEvent::Fault { t, .. } => *t,
        }
    }
}

/// Everything the plots and the report need about one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunData {
    /// Name of the run folder (used to label runs in comparisons).
    pub dir_name: String,
    /// `summary.json`.
    pub summary: Summary,
    /// Client operations from `history.jsonl`, in invoke order.
    pub ops: Vec<Op>,
    /// Events from `timeline.jsonl`, in file order.
    pub timeline: Vec<TimelineEvent>,
    /// Notable observations of the whole run from `observations.jsonl`.
    pub notable: Vec<Notable>,
    /// The protocol's span charts from `charts.json`.
    pub charts: Vec<crate::check::SpanChart>,
}

/// One line of `observations.jsonl`: an observation of a kind rare enough
/// to label across the whole run (a new leader, a decision).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Notable {
    /// Simulated time, ns.
    pub t: u64,
    /// The emitting node.
    pub node: u64,
    /// The observation's kind (its variant name).
    #[serde(default)]
    pub kind: String,
    /// The observation as data (serde's form of the protocol's type).
    pub obs: serde_json::Value,
    /// The observation's `Debug` text.
    #[serde(default)]
    pub text: String,
    /// The protocol's short label of it, in plain words (absent in older files).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
}

impl Notable {
    /// The label drawn for it: the protocol's short label, else its text,
    /// else its data.
    pub fn label(&self) -> String {
        match (&self.text, &self.obs) {
            _ if !self.label.is_empty() => self.label.clone(),
            (t, _) if !t.is_empty() => t.clone(),
            (_, serde_json::Value::String(s)) => s.clone(),
            (_, v) => v.to_string(),
        }
    }
}

impl RunData {
    /// End of the run in ns: the simulated duration, or the last op or event
    /// if something lies beyond it.
    pub fn end_ns(&self) -> u64 {
        let mut end = (self.summary.sim_seconds.max(0.0) * NS_PER_S as f64) as u64;
        for op in &self.ops {
            end = end.max(op.complete_ns.unwrap_or(op.invoke_ns));
        }
        if let Some(last) = self.timeline.last() {
            end = end.max(last.time_ns());
        }
        for fault in &self.summary.faults {
            end = end.max(fault.start_ns);
        }
        end.max(1)
    }

    /// A label naming the run: scenario, seed and folder.
    pub fn label(&self) -> String {
        format!("{} seed {} ({})", self.summary.scenario, self.summary.seed, self.dir_name)
    }
}

/// Reads a run folder. Only `summary.json` is required; `history.jsonl`,
/// `timeline.jsonl` and `lin_window.json` are read when present. The error
/// is one line naming the file.
pub fn load_run_dir(dir: &Path) -> Result<RunData, String> {
    if !dir.is_dir() {
        return Err(format!("{}: run folder not found", dir.display()));
    }
    let summary_path = dir.join("summary.json");
    let text = std::fs::read_to_string(&summary_path)
        .map_err(|error| format!("{}: {}", summary_path.display(), one_line(&error)))?;
    let mut summary: Summary =
        serde_json::from_str(&text).map_err(|error| format!("{}: {}", summary_path.display(), one_line(&error)))?;

    let window_path = dir.join("lin_window.json");
    if window_path.is_file() {
        let text = std::fs::read_to_string(&window_path)
            .map_err(|error| format!("{}: {}", window_path.display(), one_line(&error)))?;
        let window: Vec<LinOp> =
            serde_json::from_str(&text).map_err(|error| format!("{}: {}", window_path.display(), one_line(&error)))?;
        summary.lin_window = Some(window);
    }

    let history_path = dir.join("history.jsonl");
    let ops = if history_path.is_file() {
        let text = std::fs::read_to_string(&history_path)
            .map_err(|error| format!("{}: {}", history_path.display(), one_line(&error)))?;
        parse_history(&text).map_err(|error| format!("{}: {}", history_path.display(), error))?
    } else {
        Vec::new()
    };

    let timeline_path = dir.join("timeline.jsonl");
    let timeline = if timeline_path.is_file() {
        let text = std::fs::read_to_string(&timeline_path)
            .map_err(|error| format!("{}: {}", timeline_path.display(), one_line(&error)))?;
        parse_timeline(&text).map_err(|error| format!("{}: {}", timeline_path.display(), error))?
    } else {
        Vec::new()
    };

    let notable_path = dir.join("observations.jsonl");
    let mut notable = Vec::new();
    if notable_path.is_file() {
        let text = std::fs::read_to_string(&notable_path)
            .map_err(|error| format!("{}: {}", notable_path.display(), one_line(&error)))?;
        for (index, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            notable.push(serde_json::from_str(line).map_err(|error| {
                format!("{}: bad line {}: {}", notable_path.display(), index + 1, one_line(&error))
            })?);
        }
    }

    let charts_path = dir.join("charts.json");
    let charts = if charts_path.is_file() {
        let text = std::fs::read_to_string(&charts_path)
            .map_err(|error| format!("{}: {}", charts_path.display(), one_line(&error)))?;
        serde_json::from_str(&text).map_err(|error| format!("{}: {}", charts_path.display(), one_line(&error)))?
    } else {
        Vec::new()
    };

    let dir_name = dir
        .canonicalize()
        .ok()
        .and_then(|path| path.file_name().map(|name| name.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string());
    Ok(RunData { dir_name, summary, ops, timeline, notable, charts })
}

fn one_line(error: &dyn std::fmt::Display) -> String {
    error.to_string().replace('\n', " ")
}

/// Pairs a history (DESIGN §4 format, one [`HistoryLine`] a line: the type
/// the workload writes it with) into ops: each invoke with the next
/// completion of the same process. An op's kind is its invoke's `f`,
/// whatever the name; a completion's `f` may be absent. Values are never
/// read, so they may be any JSON, and fields the format does not define are
/// ignored. Every line needs a `time`. An invoke never completed becomes an
/// open `Info` op with no completion time. The error names the 1-based line.
pub fn parse_history(text: &str) -> Result<Vec<Op>, String> {
    let mut ops: Vec<Op> = Vec::new();
    // Process id -> index in `ops` of its outstanding invoke.
    let mut outstanding: BTreeMap<u64, usize> = BTreeMap::new();
    // One shared name per kind.
    let mut kinds: BTreeMap<String, OpKind> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let entry: HistoryLine<'_> =
            serde_json::from_str(line).map_err(|error| format!("bad history line {number}: {}", one_line(&error)))?;
        let time = entry.time.ok_or_else(|| format!("bad history line {number}: missing field \"time\""))?;
        match entry.kind {
            LineKind::Invoke => {
                let name = entry.f.as_deref().ok_or_else(|| format!("bad history line {number}: invoke without f"))?;
                if outstanding.contains_key(&entry.process) {
                    return Err(format!(
                        "bad history line {number}: process {} invokes with an op outstanding",
                        entry.process
                    ));
                }
                let kind = match kinds.get(name) {
                    Some(kind) => kind.clone(),
                    None => kinds.entry(name.to_string()).or_insert_with(|| OpKind::new(name)).clone(),
                };
                outstanding.insert(entry.process, ops.len());
                ops.push(Op {
                    process: entry.process,
                    kind,
                    invoke_ns: time,
                    complete_ns: None,
                    outcome: Outcome::Info,
                });
            }
            LineKind::Ok | LineKind::Fail | LineKind::Info => {
                let slot = outstanding.remove(&entry.process).ok_or_else(|| {
                    format!("bad history line {number}: {} of process {} without an invoke", entry.kind, entry.process)
                })?;
                let op = &mut ops[slot];
                op.complete_ns = Some(time.max(op.invoke_ns));
                op.outcome = match entry.kind {
                    LineKind::Ok => Outcome::Ok,
                    LineKind::Fail => Outcome::Fail,
                    _ => Outcome::Info,
                };
            }
        }
    }
    Ok(ops)
}

/// Reads `timeline.jsonl` (the `trace.jsonl` format, one [`TraceLine`] a
/// line: the type the kernel writes it with). Timers, fsyncs and unknown
/// event kinds are skipped; `duplicate` lines are skipped too, since a
/// duplicate shows as its second arrival. The error names the 1-based line.
pub fn parse_timeline(text: &str) -> Result<Vec<TimelineEvent>, String> {
    let mut events = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let entry: TraceLine<'_> =
            serde_json::from_str(line).map_err(|error| format!("bad timeline line {number}: {}", one_line(&error)))?;
        let missing = |field: &str| format!("bad timeline line {number}: {} without {field}", entry.ev);
        let message = |entry: &TraceLine<'_>| -> Result<(u64, u64, u64), String> {
            Ok((
                entry.from.ok_or_else(|| missing("from"))?,
                entry.to.ok_or_else(|| missing("to"))?,
                entry.msg_id.ok_or_else(|| missing("msg_id"))?,
            ))
        };
        let t = entry.t;
        let event = match entry.ev.as_ref() {
            "send" => {
                let (from, to, msg_id) = message(&entry)?;
                TimelineEvent::Send {
                    t,
                    from,
                    to,
                    msg_id,
                    msg: entry.msg.as_deref().unwrap_or_default().to_string(),
                    label: entry.label.as_deref().unwrap_or_default().to_string(),
                    lamport: entry.lamport,
                }
            }
            "deliver" => {
                let (from, to, msg_id) = message(&entry)?;
                TimelineEvent::Deliver { t, from, to, msg_id, lamport: entry.lamport }
            }
            "drop-loss" | "drop-cut" | "drop-down" | "drop-late" => {
                let (from, to, msg_id) = message(&entry)?;
                let cause = match entry.ev.as_ref() {
                    "drop-loss" => DropCause::Loss,
                    "drop-cut" => DropCause::Cut,
                    "drop-late" => DropCause::Late,
                    _ => DropCause::Down,
                };
                TimelineEvent::Drop { t, from, to, msg_id, cause, lamport: entry.lamport }
            }
            "observe" => TimelineEvent::Observe {
                t,
                node: entry.node_id().ok_or_else(|| missing("node"))?,
                // The label: the `Debug` text, or the data of a line without one.
                obs: match (&entry.text, &entry.obs) {
                    (Some(t), _) => t.to_string(),
                    (None, Some(serde_json::Value::String(s))) => s.clone(),
                    (None, Some(v)) => v.to_string(),
                    (None, None) => String::new(),
                },
                label: entry.label.as_deref().unwrap_or_default().to_string(),
                lamport: entry.lamport,
            },
            "fault" | "start" => TimelineEvent::Fault {
                t,
                node: entry.node_id(),
                what: entry.what.as_deref().unwrap_or_default().to_string(),
                lamport: entry.lamport,
            },
            _ => continue,
        };
        events.push(event);
    }
    Ok(events)
}

/// Most op kinds the charts and the latency table show one by one. A
/// history with more kinds than this (a vocabulary gone wrong, say one name
/// per op) keeps the most frequent `KINDS_SHOWN_MAX - 1` and merges the rest
/// into one `other` group, so that legends, tables and SVG sizes stay bounded.
pub const KINDS_SHOWN_MAX: usize = 12;

/// One group of ops by kind, as the charts and the latency table show it.
#[derive(Debug, Clone, PartialEq)]
pub struct KindGroup {
    /// The kind, or `None` for the merged group of the least frequent kinds.
    pub kind: Option<OpKind>,
    /// The kind's name, or `N other kinds`.
    pub label: String,
    /// Ops in the group, open ones included.
    pub ops: usize,
}

/// The ops of a run grouped by kind.
#[derive(Debug, Clone, PartialEq)]
pub struct KindGroups {
    /// Sorted by kind name; the merged `other` group, if any, last.
    pub groups: Vec<KindGroup>,
    /// Index into `groups` of each op, parallel to the ops.
    pub of_op: Vec<usize>,
}

/// Groups `ops` by kind (see `KindGroups` and `KINDS_SHOWN_MAX`).
pub fn kind_groups(ops: &[Op]) -> KindGroups {
    let mut counts: BTreeMap<&OpKind, usize> = BTreeMap::new();
    for op in ops {
        *counts.entry(&op.kind).or_insert(0) += 1;
    }
    let shown: BTreeSet<&OpKind> = if counts.len() <= KINDS_SHOWN_MAX {
        counts.keys().copied().collect()
    } else {
        let mut by_count: Vec<(&OpKind, usize)> = counts.iter().map(|(&kind, &n)| (kind, n)).collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        by_count.into_iter().take(KINDS_SHOWN_MAX - 1).map(|(kind, _)| kind).collect()
    };
    let mut groups: Vec<KindGroup> = shown
        .iter()
        .map(|&kind| KindGroup { kind: Some(kind.clone()), label: kind.name().to_string(), ops: counts[kind] })
        .collect();
    let index: BTreeMap<&OpKind, usize> = shown.iter().enumerate().map(|(i, &kind)| (kind, i)).collect();
    let merged = counts.len() - shown.len();
    if merged > 0 {
        let ops = counts.iter().filter(|(kind, _)| !shown.contains(*kind)).map(|(_, &n)| n).sum();
        groups.push(KindGroup { kind: None, label: format!("{merged} other kinds"), ops });
    }
    let other = groups.len().saturating_sub(1);
    let of_op = ops.iter().map(|op| index.get(&op.kind).copied().unwrap_or(other)).collect();
    KindGroups { groups, of_op }
}

/// Latency statistics of one group of ops.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyStats {
    /// Ops in the group, open ones included.
    pub count: usize,
    /// Ops that never completed (no latency).
    pub open: usize,
    /// Median, ms (of the ops with a latency; NaN when none has one).
    pub p50: f64,
    /// 90th percentile, ms (NaN when no op has a latency).
    pub p90: f64,
    /// 99th percentile, ms (NaN when no op has a latency).
    pub p99: f64,
    /// Maximum, ms (NaN when no op has a latency).
    pub max: f64,
}

/// Latency statistics per (kind group, outcome) present in `ops`, in kind
/// group order (by name) then outcome order. Quantiles are
/// `crate::stats::quantile`, the one definition `summary.json` uses too.
pub fn latency_table(ops: &[Op]) -> Vec<(String, Outcome, LatencyStats)> {
    let kinds = kind_groups(ops);
    let mut groups: BTreeMap<(usize, Outcome), (usize, Vec<f64>)> = BTreeMap::new();
    for (op, &kind) in ops.iter().zip(&kinds.of_op) {
        let group = groups.entry((kind, op.outcome)).or_default();
        group.0 += 1;
        if let Some(latency) = op.latency_ms() {
            group.1.push(latency);
        }
    }
    groups
        .into_iter()
        .map(|((kind, outcome), (count, mut latencies))| {
            stats::sort(&mut latencies);
            let [p50, p90, p99, max] = stats::SUMMARY_QUANTILES.map(|q| stats::quantile(&latencies, q));
            let row = LatencyStats { count, open: count - latencies.len(), p50, p90, p99, max };
            (kinds.groups[kind].label.clone(), outcome, row)
        })
        .collect()
}

impl RunData {
    /// Who issued the client operations, for the report's run table: a
    /// label and a count, or `None` when nothing says there were clients.
    ///
    /// The history names processes, not clients: faultline's workload moves
    /// a client that got an `info` to a new process id, `index + k *
    /// clients` (see `workload.rs`), so with the summary's `clients` = `c >
    /// 0` the actors are the distinct `process % c`, labelled `clients`.
    /// The count shown is the larger of that and `c` itself, since a client
    /// that issued nothing is in the summary but not in the history. Without
    /// a client count (a protocol whose nodes are its own clients writes
    /// `clients: 0`) there is no telling which ids are one actor, so it is
    /// the distinct process ids, labelled `client processes`.
    pub fn clients(&self) -> Option<(&'static str, u64)> {
        let configured = self.summary.clients.unwrap_or(0);
        if configured > 0 {
            let actors: BTreeSet<u64> = self.ops.iter().map(|op| op.process % configured).collect();
            return Some(("clients", (actors.len() as u64).max(configured)));
        }
        let processes: BTreeSet<u64> = self.ops.iter().map(|op| op.process).collect();
        (!processes.is_empty()).then_some(("client processes", processes.len() as u64))
    }
}
