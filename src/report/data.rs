//! The run folder as data: `summary.json`, `history.jsonl` and `timeline.jsonl`
//! read into plain structs that every plot and the report draw from.
//!
//! It is shaped so that all input parsing and all input errors live here: the
//! drawing modules never see JSON and never fail on bad input. Every error is
//! one line naming the file (and the line of a JSON Lines file), because bad
//! user input is a `Result`, not a panic. Maps are `BTreeMap` so that nothing
//! drawn from them depends on hash order: the same folder gives the same bytes.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

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
    /// Operation kind (`read`, `write`, `cas`, `append`).
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
}

/// The fields of `summary.json` the report uses. Unknown keys are ignored:
/// the runner owns this format and may add keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Protocol name.
    #[serde(default)]
    pub protocol: String,
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
    /// Simulated seconds the run covered.
    #[serde(default)]
    pub sim_seconds: f64,
    /// Wall-clock seconds the run took.
    #[serde(default)]
    pub wall_seconds: f64,
    /// Why the run stopped.
    #[serde(default)]
    pub stop: String,
    /// Client operations.
    #[serde(default)]
    pub ops: u64,
    /// Latency quantiles per op kind, milliseconds.
    #[serde(default)]
    pub latency: BTreeMap<String, LatencyQuantilesMs>,
    /// Verdict per check: `pass`, `fail` or `unknown`.
    #[serde(default)]
    pub checks: BTreeMap<String, String>,
    /// The first violation, if any.
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
    /// Node count, if the runner wrote it.
    #[serde(default)]
    pub nodes: Option<u64>,
    /// Client count, if the runner wrote it.
    #[serde(default)]
    pub clients: Option<u64>,
    /// Linearizability counterexample text, if the runner wrote it.
    #[serde(default)]
    pub lin_violation: Option<String>,
    /// Linearizability counterexample window, if the runner wrote it.
    #[serde(default)]
    pub lin_window: Option<Vec<LinOp>>,
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

/// Kind of a client operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OpKind {
    /// `read`.
    Read,
    /// `write`.
    Write,
    /// `cas`.
    Cas,
    /// `append`.
    Append,
}

impl OpKind {
    /// Every kind, in drawing and legend order.
    pub const ALL: [OpKind; 4] = [OpKind::Read, OpKind::Write, OpKind::Cas, OpKind::Append];

    /// The history's word for it.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Read => "read",
            OpKind::Write => "write",
            OpKind::Cas => "cas",
            OpKind::Append => "append",
        }
    }

    fn parse(text: &str) -> Option<OpKind> {
        OpKind::ALL.into_iter().find(|kind| kind.name() == text)
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
    },
    /// A node wrote an observation.
    Observe {
        /// Simulated time, ns.
        t: u64,
        /// Node.
        node: u64,
        /// Text.
        obs: String,
    },
    /// A fault or a node start.
    Fault {
        /// Simulated time, ns.
        t: u64,
        /// Node, or `None` for network faults.
        node: Option<u64>,
        /// Text, e.g. `crash n0`, `restart n0`, `pause n1`, `heal`.
        what: String,
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
}

/// One line of `observations.jsonl`: an observation of a kind rare enough
/// to label across the whole run (a new leader, a decision).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Notable {
    /// Simulated time, ns.
    pub t: u64,
    /// The emitting node.
    pub node: u64,
    /// The observation's text.
    pub obs: String,
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

    let dir_name = dir
        .canonicalize()
        .ok()
        .and_then(|path| path.file_name().map(|name| name.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string());
    Ok(RunData { dir_name, summary, ops, timeline, notable })
}

fn one_line(error: &dyn std::fmt::Display) -> String {
    error.to_string().replace('\n', " ")
}

#[derive(Deserialize)]
struct HistoryLine {
    process: u64,
    #[serde(rename = "type")]
    kind: String,
    f: String,
    time: u64,
}

/// Pairs a history (DESIGN §4 format) into ops: each invoke with the next
/// completion of the same process. An invoke never completed becomes an open
/// `Info` op with no completion time. The error names the 1-based line.
pub fn parse_history(text: &str) -> Result<Vec<Op>, String> {
    let mut ops: Vec<Op> = Vec::new();
    // Process id -> index in `ops` of its outstanding invoke.
    let mut outstanding: BTreeMap<u64, usize> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let entry: HistoryLine =
            serde_json::from_str(line).map_err(|error| format!("bad history line {number}: {}", one_line(&error)))?;
        let kind =
            OpKind::parse(&entry.f).ok_or_else(|| format!("bad history line {number}: unknown f {:?}", entry.f))?;
        match entry.kind.as_str() {
            "invoke" => {
                if outstanding.contains_key(&entry.process) {
                    return Err(format!(
                        "bad history line {number}: process {} invokes with an op outstanding",
                        entry.process
                    ));
                }
                outstanding.insert(entry.process, ops.len());
                ops.push(Op {
                    process: entry.process,
                    kind,
                    invoke_ns: entry.time,
                    complete_ns: None,
                    outcome: Outcome::Info,
                });
            }
            "ok" | "fail" | "info" => {
                let slot = outstanding.remove(&entry.process).ok_or_else(|| {
                    format!("bad history line {number}: {} of process {} without an invoke", entry.kind, entry.process)
                })?;
                let op = &mut ops[slot];
                op.complete_ns = Some(entry.time.max(op.invoke_ns));
                op.outcome = match entry.kind.as_str() {
                    "ok" => Outcome::Ok,
                    "fail" => Outcome::Fail,
                    _ => Outcome::Info,
                };
            }
            other => {
                return Err(format!("bad history line {number}: unknown type {other:?}"));
            }
        }
    }
    Ok(ops)
}

#[derive(Deserialize)]
struct TimelineLine {
    #[serde(default)]
    t: u64,
    ev: String,
    #[serde(default)]
    from: Option<u64>,
    #[serde(default)]
    to: Option<u64>,
    #[serde(default)]
    msg_id: Option<u64>,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    node: Option<u64>,
    #[serde(default)]
    obs: Option<String>,
    #[serde(default)]
    what: Option<String>,
}

/// Reads `timeline.jsonl` (the `trace.jsonl` format). Timers, fsyncs and
/// unknown event kinds are skipped; `duplicate` lines are skipped too, since
/// a duplicate shows as its second arrival. The error names the 1-based line.
pub fn parse_timeline(text: &str) -> Result<Vec<TimelineEvent>, String> {
    let mut events = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let entry: TimelineLine =
            serde_json::from_str(line).map_err(|error| format!("bad timeline line {number}: {}", one_line(&error)))?;
        let missing = |field: &str| format!("bad timeline line {number}: {} without {field}", entry.ev);
        let message = |entry: &TimelineLine| -> Result<(u64, u64, u64), String> {
            Ok((
                entry.from.ok_or_else(|| missing("from"))?,
                entry.to.ok_or_else(|| missing("to"))?,
                entry.msg_id.ok_or_else(|| missing("msg_id"))?,
            ))
        };
        let t = entry.t;
        let event = match entry.ev.as_str() {
            "send" => {
                let (from, to, msg_id) = message(&entry)?;
                TimelineEvent::Send { t, from, to, msg_id, msg: entry.msg.clone().unwrap_or_default() }
            }
            "deliver" => {
                let (from, to, msg_id) = message(&entry)?;
                TimelineEvent::Deliver { t, from, to, msg_id }
            }
            "drop-loss" | "drop-cut" | "drop-down" | "drop-late" => {
                let (from, to, msg_id) = message(&entry)?;
                let cause = match entry.ev.as_str() {
                    "drop-loss" => DropCause::Loss,
                    "drop-cut" => DropCause::Cut,
                    "drop-late" => DropCause::Late,
                    _ => DropCause::Down,
                };
                TimelineEvent::Drop { t, from, to, msg_id, cause }
            }
            "observe" => TimelineEvent::Observe {
                t,
                node: entry.node.ok_or_else(|| missing("node"))?,
                obs: entry.obs.clone().unwrap_or_default(),
            },
            "fault" | "start" => {
                TimelineEvent::Fault { t, node: entry.node, what: entry.what.clone().unwrap_or_default() }
            }
            _ => continue,
        };
        events.push(event);
    }
    Ok(events)
}

/// The `q` quantile (0..=1) of ascending `sorted` values, nearest-rank.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Latency statistics of one group of ops.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyStats {
    /// Ops in the group, open ones included.
    pub count: usize,
    /// Ops that never completed (no latency).
    pub open: usize,
    /// Median, ms (of the ops with a latency).
    pub p50: f64,
    /// 90th percentile, ms.
    pub p90: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Maximum, ms.
    pub max: f64,
}

/// Latency statistics per (kind, outcome) present in `ops`, in a fixed order.
pub fn latency_table(ops: &[Op]) -> Vec<(OpKind, Outcome, LatencyStats)> {
    let mut groups: BTreeMap<(OpKind, Outcome), (usize, Vec<f64>)> = BTreeMap::new();
    for op in ops {
        let group = groups.entry((op.kind, op.outcome)).or_default();
        group.0 += 1;
        if let Some(latency) = op.latency_ms() {
            group.1.push(latency);
        }
    }
    groups
        .into_iter()
        .map(|((kind, outcome), (count, mut latencies))| {
            latencies.sort_by(f64::total_cmp);
            let stats = LatencyStats {
                count,
                open: count - latencies.len(),
                p50: quantile(&latencies, 0.50),
                p90: quantile(&latencies, 0.90),
                p99: quantile(&latencies, 0.99),
                max: latencies.last().copied().unwrap_or(0.0),
            };
            (kind, outcome, stats)
        })
        .collect()
}
