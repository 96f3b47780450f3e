//! Scenario files (DESIGN section 4): the JSON schema, parsing and
//! validation, and the resolution into a kernel [`SimConfig`].
//!
//! Parsing is serde with `deny_unknown_fields`; `serde_path_to_error` names
//! the field where a type is wrong. Semantic checks (ranges, node ids,
//! exactly one action per fault) follow, each naming its field path. Every
//! error is one line: `FILE: field PATH: expected ..., got ...`.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use crate::nemesis::{Arrival, Eligible, Fault, NemesisConfig, NemesisKind, ScheduledFault, Target, TransientKind};
use crate::net::{Latency, LinkModel};
use crate::sim::rng::Probability;
use crate::sim::Nanos;
use crate::sim::NodeId;
use crate::sim::{Core, SimConfig};

/// A bad scenario: which file, which field, what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file (or `<inline>`).
    pub file: String,
    /// JSON path of the offending field (`.` = the whole document).
    pub path: String,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, always: a field name or value from the file may hold a
        // newline or another control character (`"a\nb": 1`); escape them.
        let one_line = |s: &str| -> String {
            s.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
        };
        let (file, message) = (one_line(&self.file), one_line(&self.message));
        if self.path == "." {
            write!(f, "{file}: {message}")
        } else {
            write!(f, "{file}: field `{}`: {message}", one_line(&self.path))
        }
    }
}

impl std::error::Error for ScenarioError {}

/// A duration written as a string: `"150ms"`, `"2s"`, `"1.5s"`, `"500us"`, `"1m"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct Dur(pub Nanos);

impl From<Dur> for String {
    fn from(d: Dur) -> String {
        format_duration(d.0)
    }
}

/// Formats nanoseconds in the scenario syntax (exact, smallest unit that fits).
pub fn format_duration(ns: Nanos) -> String {
    for (unit, scale) in
        [("h", 3_600_000_000_000u64), ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)]
    {
        if ns >= scale && ns.is_multiple_of(scale) {
            return format!("{}{unit}", ns / scale);
        }
    }
    format!("{ns}ns")
}

/// Parses a duration, optionally signed (`"-200ms"`), into nanoseconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let expected = || format!("expected a duration like \"150ms\" or \"2s\", got {s:?}");
    let t = s.trim();
    let (sign, t) = match t.strip_prefix('-') {
        Some(rest) => (-1i128, rest),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(expected)?;
    let (num, unit) = t.split_at(split);
    let scale: u128 = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(expected()),
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(expected());
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().map_err(|_| expected())? };
    let mut ns = int.checked_mul(scale).ok_or_else(expected)?;
    let mut place = scale;
    for c in frac.chars() {
        place /= 10;
        ns += place * c.to_digit(10).ok_or_else(expected)? as u128;
    }
    let ns = sign * ns as i128;
    i64::try_from(ns).map_err(|_| format!("duration {s:?} is too long"))
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        let s = String::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a duration string like \"150ms\" or \"2s\""))?;
        match parse_duration(&s).map_err(serde::de::Error::custom)? {
            ns if ns < 0 => Err(serde::de::Error::custom(format!("expected a non-negative duration, got {s:?}"))),
            ns => Ok(Dur(ns as Nanos)),
        }
    }
}

/// A signed duration (clock jumps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct SignedDur(pub i64);

impl From<SignedDur> for String {
    fn from(d: SignedDur) -> String {
        match d.0 {
            ns if ns < 0 => format!("-{}", format_duration(ns.unsigned_abs())),
            ns => format_duration(ns as u64),
        }
    }
}

impl<'de> Deserialize<'de> for SignedDur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SignedDur, D::Error> {
        let s = String::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a signed duration string like \"-200ms\""))?;
        parse_duration(&s).map(SignedDur).map_err(serde::de::Error::custom)
    }
}

/// A latency distribution as written in a scenario.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum LatencySpec {
    /// Always `value`.
    Constant {
        /// The latency.
        value: Dur,
    },
    /// Uniform in `[min, max]`.
    Uniform {
        /// Smallest.
        min: Dur,
        /// Largest.
        max: Dur,
    },
    /// Normal, floored at `min`.
    Normal {
        /// Mean.
        mean: Dur,
        /// Standard deviation.
        stddev: Dur,
        /// Floor.
        #[serde(default = "zero")]
        min: Dur,
    },
    /// `min` plus an exponential with mean `mean`.
    Exponential {
        /// Mean of the exponential part.
        mean: Dur,
        /// Floor added to every draw.
        #[serde(default = "zero")]
        min: Dur,
    },
    /// `min` plus a log-normal with median `median` and shape `sigma`.
    Lognormal {
        /// Median of the log-normal part.
        median: Dur,
        /// Shape (unitless, > 0).
        sigma: f64,
        /// Floor added to every draw.
        #[serde(default = "zero")]
        min: Dur,
    },
}

/// A user's number as it reads best: exponent notation when huge.
fn number(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e9 {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

fn zero() -> Dur {
    Dur(0)
}

impl LatencySpec {
    fn resolve(&self, path: &str, errors: &mut Vec<(String, String)>) -> Latency {
        match *self {
            LatencySpec::Constant { value } => Latency::Constant { ns: value.0 },
            LatencySpec::Uniform { min, max } => {
                if min > max {
                    errors.push((
                        format!("{path}.max"),
                        format!("expected max >= min ({}), got {}", format_duration(min.0), format_duration(max.0)),
                    ));
                }
                Latency::Uniform { min_ns: min.0, max_ns: max.0.max(min.0) }
            }
            LatencySpec::Normal { mean, stddev, min } => {
                Latency::Normal { mean_ns: mean.0, stddev_ns: stddev.0, min_ns: min.0 }
            }
            LatencySpec::Exponential { mean, min } => Latency::Exponential { mean_ns: mean.0, min_ns: min.0 },
            LatencySpec::Lognormal { median, sigma, min } => {
                if !(sigma > 0.0 && sigma <= 10.0) {
                    errors.push((format!("{path}.sigma"), format!("expected a shape in (0, 10], got {sigma}")));
                }
                Latency::LogNormal { median_ns: median.0, sigma: sigma.clamp(1e-9, 10.0), min_ns: min.0 }
            }
        }
    }
}

fn default_latency() -> LatencySpec {
    LatencySpec::Constant { value: Dur(1_000_000) }
}

/// The `network` section.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Latency of every link (default constant 1 ms).
    #[serde(default = "default_latency")]
    pub latency: LatencySpec,
    /// Probability in [0, 1] that a message is lost.
    #[serde(default)]
    pub loss: f64,
    /// Probability in [0, 1] that a message is delivered twice.
    #[serde(default)]
    pub duplicate: f64,
    /// Per-link overrides, later ones winning.
    #[serde(default)]
    pub links: Vec<LinkSpec>,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec { latency: default_latency(), loss: 0.0, duplicate: 0.0, links: Vec::new() }
    }
}

/// A per-link override: every link from a process in `from` to one in `to`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// Source process ids.
    pub from: Vec<usize>,
    /// Target process ids.
    pub to: Vec<usize>,
    /// Latency on these links (default: the network's).
    pub latency: Option<LatencySpec>,
    /// Loss probability on these links (default: the network's).
    pub loss: Option<f64>,
    /// Duplication probability on these links (default: the network's).
    pub duplicate: Option<f64>,
}

/// The `storage` section.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSpec {
    /// Latency of one fsync (default constant 1 ms).
    #[serde(default = "default_latency")]
    pub fsync: LatencySpec,
    /// On a crash, each unsynced write is lost, kept or torn (cut short or
    /// corrupted) instead of every one being lost.
    #[serde(default)]
    pub torn_writes: bool,
}

/// The directed links of a link fault: every link from a process in
/// `from` to one in `to` (and back, with `both_ways`), or exactly the
/// `pairs` listed. A process's link to itself is never faulted.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LinksSpec {
    /// Sending processes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<usize>,
    /// Receiving processes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<usize>,
    /// With `from` and `to`: the links from `to` to `from` too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub both_ways: bool,
    /// Instead of `from` and `to`: these `[source, target]` links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairs: Option<Vec<[usize; 2]>>,
    /// With `loss`: the probability that a message is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
}

/// One scripted fault: `at` plus exactly one action.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// When it applies.
    pub at: Option<Dur>,
    /// Groups of node ids; links across groups are cut both ways.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<Vec<Vec<usize>>>,
    /// One-way cut `[source, target]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut: Option<Vec<usize>>,
    /// `true`: restore every cut link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heal: Option<bool>,
    /// Crash this node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash: Option<usize>,
    /// With `crash`: restart it after this long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_after: Option<Dur>,
    /// Restart this (crashed) node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<usize>,
    /// Pause this node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause: Option<usize>,
    /// Resume this (paused) node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume: Option<usize>,
    /// Skew this node's clock: it runs at `rate` times real speed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skew: Option<usize>,
    /// With `skew`: the clock's speed (> 0; 1 = exact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Step this node's clock by `by`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_jump: Option<usize>,
    /// With `clock_jump`: the step (signed, e.g. "-2s"); with `delay` and
    /// `slow_disk`: the extra latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<SignedDur>,
    /// Hold messages on these links until the fault ends (`for`), then deliver them in a burst.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clog: Option<LinksSpec>,
    /// Add `by` to the latency of these links for `for`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<LinksSpec>,
    /// Lose messages on these links with probability `p` for `for`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<LinksSpec>,
    /// Cut these links for `for`; when it ends it mends only its own cuts
    /// (a link another fault still cuts stays cut), as the nemesis does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut_links: Option<LinksSpec>,
    /// Add `by` to every fsync of this node for `for`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_disk: Option<usize>,
    /// With `partition`, `cut`, `pause` or `skew`: undo it after this long.
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<Dur>,
}

/// The `nemesis` section: random faults.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NemesisSpec {
    /// Kinds to draw from: a list of names (partition, crash, pause, cut,
    /// skew, jump), or an object of name to weight (`{"crash": 3, "pause": 1}`).
    pub kinds: serde_json::Value,
    /// Mean time between fault starts.
    pub every: Dur,
    /// How long each fault lasts: a duration, or `[shortest, longest]` to
    /// draw each one's (default: half of `every`).
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<serde_json::Value>,
    /// `fixed` (default), `poisson` or `uniform` spacing of the starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival: Option<String>,
    /// Most nemesis faults in force at once (default: no cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap: Option<usize>,
    /// Target modes to draw from (default: each kind's classic target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<String>>,
    /// Which processes may be hit: `servers` (default), `all`, or a list of ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligible: Option<serde_json::Value>,
    /// First fault no earlier than this (default: `every`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Dur>,
    /// No fault starts at or after this (default: the run's duration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Dur>,
}

/// Most times one kind may be weighted in `nemesis.kinds`.
pub const NEMESIS_WEIGHT_MAX: u64 = 100;

/// The `workload` section: clients and their operation mix.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Number of client processes.
    pub clients: usize,
    /// Operations per second, over all clients.
    pub rate: f64,
    /// Number of keys.
    #[serde(default = "one")]
    pub keys: usize,
    /// Weights of the operation kinds.
    #[serde(default)]
    pub mix: MixSpec,
    /// How long a client waits for a reply before it tries another node.
    pub timeout: Option<Dur>,
}

fn one() -> usize {
    1
}

/// Relative weights of operation kinds.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MixSpec {
    /// Weight of reads.
    #[serde(default)]
    pub read: f64,
    /// Weight of writes.
    #[serde(default)]
    pub write: f64,
    /// Weight of compare-and-sets.
    #[serde(default)]
    pub cas: f64,
}

impl Default for MixSpec {
    fn default() -> Self {
        MixSpec { read: 0.5, write: 0.5, cas: 0.0 }
    }
}

/// The `liveness` section.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LivenessSpec {
    /// After the last fault heals, progress must resume within this (with
    /// a liveness phase: after the phase begins; `within` sets it too).
    #[serde(default)]
    pub within_after_heal: Dur,
    /// The liveness phase: at `after`, faults stop, a `core` of nodes
    /// heals and faults outside it stay for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Dur>,
    /// With `after`: progress must resume within this of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Dur>,
    /// With `after`: `majority` (default; drawn from the seed), `all`, or a list of node ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core: Option<serde_json::Value>,
}

/// The `limits` section: bounds on a run.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Most events a run may process (default 100,000,000).
    #[serde(default = "default_steps")]
    pub steps: u64,
    /// Most events pending at once (default 1,000,000).
    #[serde(default = "default_pending_events")]
    pub pending_events: u64,
    /// Most messages in the network at once, and most unread in one
    /// mailbox (default 1,000,000).
    #[serde(default = "default_messages_in_flight")]
    pub messages_in_flight: u64,
    /// Largest output file (`trace.jsonl`, `timeline.jsonl`), bytes (default 64 MiB).
    #[serde(default = "default_output_bytes")]
    pub output_bytes: u64,
    /// Most client operations in the history (default 200,000).
    #[serde(default = "default_history_ops")]
    pub history_ops: u64,
    /// Most faults one run may apply (default 100,000).
    #[serde(default = "default_faults")]
    pub faults: u64,
}

impl Default for LimitsSpec {
    fn default() -> Self {
        LimitsSpec {
            steps: default_steps(),
            pending_events: default_pending_events(),
            messages_in_flight: default_messages_in_flight(),
            output_bytes: default_output_bytes(),
            history_ops: default_history_ops(),
            faults: default_faults(),
        }
    }
}

fn default_steps() -> u64 {
    100_000_000
}

fn default_pending_events() -> u64 {
    1_000_000
}

fn default_messages_in_flight() -> u64 {
    1_000_000
}

fn default_output_bytes() -> u64 {
    64 << 20
}

fn default_history_ops() -> u64 {
    200_000
}

fn default_faults() -> u64 {
    100_000
}

/// A scenario file.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name; also the report folder's name.
    pub name: String,
    /// One line saying what the scenario shows.
    #[serde(default)]
    pub description: String,
    /// Protocol name, as `faultline list` shows.
    pub protocol: String,
    /// Number of protocol nodes.
    pub nodes: usize,
    /// Default seed (the command line's `--seed` wins).
    #[serde(default)]
    pub seed: u64,
    /// Simulated length of the run.
    pub duration: Dur,
    /// The network model.
    #[serde(default)]
    pub network: NetworkSpec,
    /// The disk model.
    pub storage: Option<StorageSpec>,
    /// Scripted faults.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// Random faults.
    pub nemesis: Option<NemesisSpec>,
    /// Clients and their operations.
    pub workload: Option<WorkloadSpec>,
    /// Checks to run: absent, every check of the protocol that the scenario
    /// can feed; `[]`, none; otherwise exactly these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<String>>,
    /// The liveness requirement.
    pub liveness: Option<LivenessSpec>,
    /// Protocol-specific options, validated by the protocol.
    #[serde(default = "empty_object")]
    pub options: serde_json::Value,
    /// Planted bugs to switch on.
    #[serde(default)]
    pub bugs: Vec<String>,
    /// Run bounds.
    pub limits: Option<LimitsSpec>,
    /// Order of events due at the same instant: `fifo` (default, the order
    /// they were scheduled) or `shuffle` (an order drawn from the seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ties: Option<String>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// The most nodes (and clients) a scenario may ask for.
pub const PROCESSES_MAX: usize = 1024;

/// The most keys a workload may use.
pub const KEYS_MAX: usize = 1_000_000;

/// The largest weight of one operation kind in `workload.mix` (weights are relative).
pub const MIX_WEIGHT_MAX: f64 = 1_000_000.0;

impl Scenario {
    /// Reads and parses a scenario file (syntax and types only; see [`Scenario::resolve`] and [`crate::runner::Prepared::new`]).
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: file.clone(),
            path: ".".into(),
            message: format!("cannot read the file: {e}"),
        })?;
        Scenario::parse(&text, &file)
    }

    /// Parses scenario text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let scenario: Scenario = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let mut path = e.path().to_string();
            let inner = e.into_inner();
            let mut message = inner.to_string();
            // serde_json appends " at line L column C"; keep it, it helps.
            if inner.is_syntax() || inner.is_eof() {
                // The path of a syntax error is wherever parsing stopped: not a field to blame.
                message = format!("invalid JSON: {message}");
                path.clear();
            }
            ScenarioError { file: file.to_string(), path: if path.is_empty() { ".".into() } else { path }, message }
        })?;
        de.end().map_err(|e| ScenarioError {
            file: file.to_string(),
            path: ".".into(),
            message: format!("invalid JSON: {e}"),
        })?;
        let mut scenario = scenario;
        // A liveness phase's `within` is the window every liveness check reads.
        if let Some(l) = &mut scenario.liveness {
            if let (Some(w), 0) = (l.within, l.within_after_heal.0) {
                l.within_after_heal = w;
            }
        }
        Ok(scenario)
    }

    /// Checks every range and cross-reference and resolves the kernel config
    /// for `seed`. Protocol-specific parts (`protocol`, `bugs`, `checks`,
    /// `options`) are checked by the protocol registry.
    pub fn resolve(&self, file: &str, seed: u64) -> Result<SimConfig, ScenarioError> {
        let mut errors: Vec<(String, String)> = Vec::new();
        let n = self.nodes;
        if n == 0 || n > PROCESSES_MAX {
            // Everything below is sized by the node count: stop here.
            return Err(ScenarioError {
                file: file.to_string(),
                path: "nodes".into(),
                message: format!("expected a node count in 1..={PROCESSES_MAX}, got {n}"),
            });
        }
        // The name is the report folder's name: it must not leave `reports/`.
        let name = self.name.trim();
        if name.is_empty() || name == "." || name == ".." || self.name.contains(['/', '\\', '\0']) {
            errors.push((
                "name".into(),
                format!("expected a non-empty name without slashes that is not . or .., got {:?}", self.name),
            ));
        }
        if self.duration.0 == 0 {
            errors.push(("duration".into(), "expected a positive duration, got 0".into()));
        }
        let clients = self.workload.as_ref().map_or(0, |w| w.clients);
        let procs = n.saturating_add(clients);
        let prob = |path: &str, p: f64, errors: &mut Vec<(String, String)>| {
            if !(0.0..=1.0).contains(&p) {
                errors.push((path.into(), format!("expected a probability in [0, 1], got {p}")));
                Probability::ZERO
            } else {
                Probability::from_f64(p)
            }
        };
        let net = &self.network;
        let link_default = LinkModel {
            latency: net.latency.resolve("network.latency", &mut errors),
            loss: prob("network.loss", net.loss, &mut errors),
            duplicate: prob("network.duplicate", net.duplicate, &mut errors),
        };
        let mut link_overrides = Vec::new();
        for (i, l) in net.links.iter().enumerate() {
            let p = format!("network.links[{i}]");
            for (side, ids) in [("from", &l.from), ("to", &l.to)] {
                for (j, &id) in ids.iter().enumerate() {
                    if id >= procs {
                        errors.push((
                            format!("{p}.{side}[{j}]"),
                            format!("expected a process id in 0..{procs}, got {id}"),
                        ));
                    }
                }
            }
            let model = LinkModel {
                latency: l
                    .latency
                    .as_ref()
                    .map_or(link_default.latency.clone(), |s| s.resolve(&format!("{p}.latency"), &mut errors)),
                loss: l.loss.map_or(link_default.loss, |x| prob(&format!("{p}.loss"), x, &mut errors)),
                duplicate: l
                    .duplicate
                    .map_or(link_default.duplicate, |x| prob(&format!("{p}.duplicate"), x, &mut errors)),
            };
            let keep = |v: &Vec<usize>| v.iter().copied().filter(|&id| id < procs).collect::<Vec<_>>();
            link_overrides.push((keep(&l.from), keep(&l.to), model));
        }
        let fsync_latency = match &self.storage {
            Some(s) => s.fsync.resolve("storage.fsync", &mut errors),
            None => Latency::Constant { ns: 1_000_000 },
        };
        let mut faults = Vec::new();
        for (i, f) in self.faults.iter().enumerate() {
            self.resolve_fault(i, f, &mut faults, &mut errors);
        }
        let nemesis = self.nemesis.as_ref().map(|s| self.resolve_nemesis(s, procs, &mut errors));
        if let Some(w) = &self.workload {
            if w.clients == 0 || w.clients > PROCESSES_MAX {
                errors.push((
                    "workload.clients".into(),
                    format!("expected a client count in 1..={PROCESSES_MAX}, got {}", w.clients),
                ));
            }
            if !(w.rate > 0.0 && w.rate <= 1e7) {
                errors.push((
                    "workload.rate".into(),
                    format!("expected operations per second in (0, 10000000], got {}", w.rate),
                ));
            }
            if w.keys == 0 || w.keys > KEYS_MAX {
                errors
                    .push(("workload.keys".into(), format!("expected a key count in 1..={KEYS_MAX}, got {}", w.keys)));
            }
            let m = &w.mix;
            for (k, v) in [("read", m.read), ("write", m.write), ("cas", m.cas)] {
                if !(0.0..=MIX_WEIGHT_MAX).contains(&v) {
                    errors.push((
                        format!("workload.mix.{k}"),
                        format!("expected a weight in [0, {MIX_WEIGHT_MAX}], got {}", number(v)),
                    ));
                }
            }
            if m.read + m.write + m.cas <= 0.0 {
                errors.push(("workload.mix".into(), "expected at least one positive weight".into()));
            }
        }
        let converge = self.liveness.as_ref().and_then(|l| self.resolve_liveness(l, &mut errors));
        let shuffle_ties = match self.ties.as_deref() {
            None | Some("fifo") => false,
            Some("shuffle") => true,
            Some(other) => {
                errors.push(("ties".into(), format!("expected fifo or shuffle, got {other:?}")));
                false
            }
        };
        if let Some((path, message)) = errors.into_iter().next() {
            return Err(ScenarioError { file: file.to_string(), path, message });
        }
        let limits = self.limits.clone().unwrap_or_default();
        Ok(SimConfig {
            seed,
            node_count: n,
            client_count: clients,
            duration_ns: self.duration.0,
            steps_max: limits.steps,
            pending_events_max: limits.pending_events,
            messages_in_flight_max: limits.messages_in_flight,
            output_bytes_max: limits.output_bytes,
            fault_windows_max: limits.faults,
            link_default,
            link_overrides,
            fsync_latency,
            faults,
            nemesis: nemesis.filter(|c| !c.kinds.is_empty()),
            shuffle_ties,
            torn_writes: self.storage.as_ref().is_some_and(|s| s.torn_writes),
            converge,
        })
    }

    fn resolve_liveness(&self, l: &LivenessSpec, errors: &mut Vec<(String, String)>) -> Option<(Nanos, Core)> {
        match (l.after, l.within) {
            (None, None) if l.within_after_heal.0 == 0 => {
                errors.push((
                    "liveness".into(),
                    "expected within_after_heal (a window after the last heal), or after and within (a liveness phase)"
                        .into(),
                ));
                None
            }
            (None, None) => {
                if l.core.is_some() {
                    errors.push(("liveness.core".into(), "`core` goes with `after` (a liveness phase)".into()));
                }
                None
            }
            (Some(_), None) => {
                errors.push((
                    "liveness.within".into(),
                    "missing field: expected the window after `after`, like \"5s\"".into(),
                ));
                None
            }
            (None, Some(_)) => {
                errors.push((
                    "liveness.after".into(),
                    "missing field: expected when the liveness phase begins, like \"30s\"".into(),
                ));
                None
            }
            (Some(after), Some(_)) => {
                if after.0 > self.duration.0 {
                    errors.push((
                        "liveness.after".into(),
                        format!(
                            "expected a time within the run's duration ({}), got {}",
                            format_duration(self.duration.0),
                            format_duration(after.0)
                        ),
                    ));
                }
                let core = match &l.core {
                    None => Core::Majority,
                    Some(serde_json::Value::String(c)) if c == "majority" => Core::Majority,
                    Some(serde_json::Value::String(c)) if c == "all" => Core::All,
                    Some(serde_json::Value::Array(ids)) if !ids.is_empty() => {
                        let mut out = Vec::new();
                        for (i, id) in ids.iter().enumerate() {
                            match id.as_u64() {
                                Some(id) if (id as usize) < self.nodes => out.push(id as usize),
                                _ => errors.push((
                                    format!("liveness.core[{i}]"),
                                    format!("expected a node id in 0..{}, got {id}", self.nodes),
                                )),
                            }
                        }
                        out.sort_unstable();
                        out.dedup();
                        Core::Ids(out)
                    }
                    Some(v) => {
                        errors.push((
                            "liveness.core".into(),
                            format!("expected \"majority\", \"all\" or a list of node ids, got {v}"),
                        ));
                        Core::Majority
                    }
                };
                Some((after.0, core))
            }
        }
    }

    fn resolve_nemesis(&self, s: &NemesisSpec, procs: usize, errors: &mut Vec<(String, String)>) -> NemesisConfig {
        let names = NemesisKind::ALL.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ");
        let mut kinds = Vec::new();
        let mut kind =
            |path: String, name: &str, weight: u64, errors: &mut Vec<(String, String)>| match NemesisKind::from_name(
                name,
            ) {
                Some(k) => kinds.extend(std::iter::repeat_n(k, weight as usize)),
                None => errors.push((path, format!("expected one of {names}, got {name:?}"))),
            };
        match &s.kinds {
            serde_json::Value::Array(list) => {
                for (i, k) in list.iter().enumerate() {
                    match k.as_str() {
                        Some(name) => kind(format!("nemesis.kinds[{i}]"), name, 1, errors),
                        None => errors.push((format!("nemesis.kinds[{i}]"), format!("expected a kind name, got {k}"))),
                    }
                }
            }
            serde_json::Value::Object(map) => {
                for (name, w) in map {
                    match w.as_u64() {
                        Some(w) if w <= NEMESIS_WEIGHT_MAX => kind(format!("nemesis.kinds.{name}"), name, w, errors),
                        _ => errors.push((
                            format!("nemesis.kinds.{name}"),
                            format!("expected a whole weight in 0..={NEMESIS_WEIGHT_MAX}, got {w}"),
                        )),
                    }
                }
            }
            other => errors.push((
                "nemesis.kinds".into(),
                format!("expected a list of kind names or an object of kind weights, got {other}"),
            )),
        }
        if kinds.is_empty() && !errors.iter().any(|(p, _)| p.starts_with("nemesis.kinds")) {
            errors.push(("nemesis.kinds".into(), "expected at least one fault kind with a positive weight".into()));
        }
        if s.every.0 == 0 {
            errors.push(("nemesis.every".into(), "expected a positive duration, got 0".into()));
        }
        let dur = |path: &str, v: &serde_json::Value, errors: &mut Vec<(String, String)>| match v
            .as_str()
            .map(parse_duration)
        {
            Some(Ok(ns)) if ns >= 0 => ns as Nanos,
            _ => {
                errors.push((path.to_string(), format!("expected a duration like \"200ms\", got {v}")));
                0
            }
        };
        let (for_ns, for_max_ns) = match &s.for_ {
            None => (s.every.0 / 2, s.every.0 / 2),
            Some(v @ serde_json::Value::String(_)) => {
                let d = dur("nemesis.for", v, errors);
                (d, d)
            }
            Some(serde_json::Value::Array(pair)) if pair.len() == 2 => {
                let (lo, hi) = (dur("nemesis.for[0]", &pair[0], errors), dur("nemesis.for[1]", &pair[1], errors));
                if lo > hi {
                    errors.push(("nemesis.for".into(), "expected [shortest, longest], got the longest first".into()));
                }
                (lo.min(hi), hi.max(lo))
            }
            Some(v) => {
                errors.push((
                    "nemesis.for".into(),
                    format!("expected a duration or [shortest, longest] like [\"200ms\", \"5s\"], got {v}"),
                ));
                (0, 0)
            }
        };
        let arrival = match s.arrival.as_deref() {
            None | Some("fixed") => Arrival::Fixed,
            Some("poisson") => Arrival::Poisson,
            Some("uniform") => Arrival::Uniform,
            Some(other) => {
                errors.push(("nemesis.arrival".into(), format!("expected fixed, poisson or uniform, got {other:?}")));
                Arrival::Fixed
            }
        };
        if s.overlap == Some(0) {
            errors.push(("nemesis.overlap".into(), "expected at least 1 fault at a time, got 0".into()));
        }
        let mut targets = Vec::new();
        for (i, t) in s.targets.iter().flatten().enumerate() {
            match Target::from_name(t) {
                Some(t) => targets.push(t),
                None => errors.push((
                    format!("nemesis.targets[{i}]"),
                    format!(
                        "expected one of {}, got {t:?}",
                        Target::ALL.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
                    ),
                )),
            }
        }
        let eligible = match &s.eligible {
            None => Eligible::Servers,
            Some(serde_json::Value::String(w)) if w == "servers" => Eligible::Servers,
            Some(serde_json::Value::String(w)) if w == "all" => Eligible::All,
            Some(serde_json::Value::Array(ids)) => {
                let mut out = Vec::new();
                for (i, id) in ids.iter().enumerate() {
                    match id.as_u64() {
                        Some(id) if (id as usize) < procs => out.push(id as usize),
                        _ => errors.push((
                            format!("nemesis.eligible[{i}]"),
                            format!("expected a process id below {procs}, got {id}"),
                        )),
                    }
                }
                if ids.is_empty() {
                    errors.push(("nemesis.eligible".into(), "expected at least one process id".into()));
                }
                Eligible::Ids(out)
            }
            Some(v) => {
                errors.push((
                    "nemesis.eligible".into(),
                    format!("expected \"servers\", \"all\" or a list of process ids, got {v}"),
                ));
                Eligible::Servers
            }
        };
        NemesisConfig {
            kinds,
            every_ns: s.every.0.max(1),
            for_ns,
            for_max_ns,
            arrival,
            overlap: s.overlap,
            targets,
            eligible,
            start_ns: s.start.map_or(s.every.0, |d| d.0),
            stop_ns: s.stop.map_or(self.duration.0, |d| d.0),
        }
    }

    fn resolve_fault(
        &self,
        i: usize,
        f: &FaultSpec,
        out: &mut Vec<ScheduledFault>,
        errors: &mut Vec<(String, String)>,
    ) {
        let p = format!("faults[{i}]");
        let n = self.nodes;
        let Some(at) = f.at else {
            errors.push((format!("{p}.at"), "missing field: expected the time the fault applies, like \"10s\"".into()));
            return;
        };
        let actions = [
            f.partition.is_some(),
            f.cut.is_some(),
            f.heal.is_some(),
            f.crash.is_some(),
            f.restart.is_some(),
            f.pause.is_some(),
            f.resume.is_some(),
            f.skew.is_some(),
            f.clock_jump.is_some(),
            f.clog.is_some(),
            f.delay.is_some(),
            f.loss.is_some(),
            f.slow_disk.is_some(),
            f.cut_links.is_some(),
        ];
        if actions.iter().filter(|a| **a).count() != 1 {
            errors.push((
                p,
                "expected exactly one of partition, cut, heal, crash, restart, pause, resume, skew, clock_jump, \
                 clog, delay, loss, slow_disk, cut_links"
                    .into(),
            ));
            return;
        }
        let procs = n.saturating_add(self.workload.as_ref().map_or(0, |w| w.clients));
        let mut check_node = |field: &str, id: usize| {
            if id >= n {
                errors.push((format!("{p}.{field}"), format!("expected a node id in 0..{n}, got {id}")));
                false
            } else {
                true
            }
        };
        let at = at.0;
        if at > self.duration.0 {
            errors.push((
                format!("{p}.at"),
                format!(
                    "expected a time within the run's duration ({}), got {}",
                    format_duration(self.duration.0),
                    format_duration(at)
                ),
            ));
            return;
        }
        let mut push = |at_ns: Nanos, fault: Fault| out.push(ScheduledFault { at_ns, fault });
        let undo_at = f.for_.map(|d| at + d.0);
        if let Some(groups) = &f.partition {
            let mut seen = vec![false; n];
            for (g, group) in groups.iter().enumerate() {
                for (j, &id) in group.iter().enumerate() {
                    if !check_node(&format!("partition[{g}][{j}]"), id) {
                        return;
                    }
                    if std::mem::replace(&mut seen[id], true) {
                        errors.push((
                            format!("{p}.partition[{g}][{j}]"),
                            format!("expected each node in at most one group, got {id} twice"),
                        ));
                        return;
                    }
                }
            }
            push(at, Fault::Partition(groups.clone()));
            if let Some(t) = undo_at {
                push(t, Fault::Heal);
            }
        } else if let Some(cut) = &f.cut {
            if cut.len() != 2 {
                errors.push((format!("{p}.cut"), format!("expected [source, target], got {} ids", cut.len())));
                return;
            }
            if !check_node("cut[0]", cut[0]) || !check_node("cut[1]", cut[1]) {
                return;
            }
            push(at, Fault::Cut { source: cut[0], target: cut[1] });
            if let Some(t) = undo_at {
                push(t, Fault::Heal);
            }
        } else if let Some(heal) = f.heal {
            if !heal {
                errors.push((format!("{p}.heal"), "expected true".into()));
                return;
            }
            push(at, Fault::Heal);
        } else if let Some(id) = f.crash {
            if check_node("crash", id) {
                push(at, Fault::Crash(id));
                if let Some(d) = f.restart_after {
                    push(at + d.0, Fault::Restart(id));
                }
            }
        } else if let Some(id) = f.restart {
            if check_node("restart", id) {
                push(at, Fault::Restart(id));
            }
        } else if let Some(id) = f.pause {
            if check_node("pause", id) {
                push(at, Fault::Pause(id));
                if let Some(t) = undo_at {
                    push(t, Fault::Resume(id));
                }
            }
        } else if let Some(id) = f.resume {
            if check_node("resume", id) {
                push(at, Fault::Resume(id));
            }
        } else if let Some(id) = f.skew {
            let Some(rate) = f.rate else {
                errors.push((format!("{p}.rate"), "missing field: expected the clock's speed, like 1.5".into()));
                return;
            };
            if !(rate > 0.0 && rate <= 1000.0) {
                errors.push((format!("{p}.rate"), format!("expected a clock speed in (0, 1000], got {rate}")));
                return;
            }
            if check_node("skew", id) {
                push(at, Fault::ClockRate { node: id, rate_ppm: ((rate * 1e6).round() as u64).max(1) });
                if let Some(t) = undo_at {
                    push(t, Fault::ClockRate { node: id, rate_ppm: 1_000_000 });
                }
            }
        } else if let Some(id) = f.clock_jump {
            let Some(by) = f.by else {
                errors.push((format!("{p}.by"), "missing field: expected the step, like \"-2s\"".into()));
                return;
            };
            if check_node("clock_jump", id) {
                push(at, Fault::ClockJump { node: id, by_ns: by.0 });
            }
        } else if let Some(spec) = &f.cut_links {
            let Some(end) = undo_at else {
                errors.push((
                    format!("{p}.for"),
                    "missing field: expected how long the links stay cut, like \"2s\"".into(),
                ));
                return;
            };
            let Some(links) = resolve_links(&format!("{p}.cut_links"), spec, procs, errors) else {
                return;
            };
            if spec.p.is_some() {
                errors.push((format!("{p}.cut_links.p"), "`p` goes with `loss` only".into()));
                return;
            }
            let symmetric = links.iter().all(|&(a, b)| links.binary_search(&(b, a)).is_ok());
            let kind = if symmetric { "partition" } else { "cut" };
            let label = crate::sim::nemesis::links_text(&links);
            push(at, Fault::CutLinks { kind, links: links.clone(), label: label.clone() });
            push(end, Fault::MendLinks { kind, links, label });
        } else if let Some((field, links)) = [("clog", &f.clog), ("delay", &f.delay), ("loss", &f.loss)]
            .into_iter()
            .find_map(|(field, l)| l.as_ref().map(|l| (field, l)))
        {
            let Some(end) = undo_at else {
                errors.push((
                    format!("{p}.for"),
                    format!("missing field: expected how long the {field} lasts, like \"2s\""),
                ));
                return;
            };
            let Some(pairs) = resolve_links(&format!("{p}.{field}"), links, procs, errors) else {
                return;
            };
            let kind = match field {
                "clog" => TransientKind::Clog,
                "delay" => match f.by {
                    Some(SignedDur(ns)) if ns > 0 => TransientKind::Delay(ns as Nanos),
                    _ => {
                        errors.push((
                            format!("{p}.by"),
                            "expected the extra latency, a positive duration like \"200ms\"".into(),
                        ));
                        return;
                    }
                },
                _ => match links.p {
                    Some(x) if (0.0..=1.0).contains(&x) => {
                        TransientKind::Loss(crate::sim::rng::Probability::from_f64(x))
                    }
                    other => {
                        errors.push((
                            format!("{p}.loss.p"),
                            format!(
                                "expected a probability in [0, 1], got {}",
                                other.map_or("nothing".into(), |x| x.to_string())
                            ),
                        ));
                        return;
                    }
                },
            };
            if field != "loss" && links.p.is_some() {
                errors.push((format!("{p}.{field}.p"), "`p` goes with `loss` only".into()));
                return;
            }
            let label = match &links.pairs {
                Some(_) => crate::sim::nemesis::links_text(&pairs),
                None if links.both_ways => format!("{:?} <-> {:?}", links.from, links.to),
                None => format!("{:?} -> {:?}", links.from, links.to),
            };
            push(at, Fault::Transient { kind, links: pairs.clone(), label: label.clone() });
            push(end, Fault::TransientEnd { kind, links: pairs, label });
        } else if let Some(id) = f.slow_disk {
            let extra_ns = match f.by {
                Some(SignedDur(ns)) if ns > 0 => ns as Nanos,
                _ => {
                    errors.push((
                        format!("{p}.by"),
                        "expected the extra fsync latency, a positive duration like \"50ms\"".into(),
                    ));
                    return;
                }
            };
            let Some(end) = undo_at else {
                errors.push((
                    format!("{p}.for"),
                    "missing field: expected how long the disk is slow, like \"2s\"".into(),
                ));
                return;
            };
            if check_node("slow_disk", id) {
                push(at, Fault::SlowDisk { node: id, extra_ns });
                push(end, Fault::SlowDisk { node: id, extra_ns: 0 });
            }
        }
        let misplaced = [
            ("restart_after", f.restart_after.is_some() && f.crash.is_none()),
            ("rate", f.rate.is_some() && f.skew.is_none()),
            ("by", f.by.is_some() && f.clock_jump.is_none() && f.delay.is_none() && f.slow_disk.is_none()),
            (
                "for",
                f.for_.is_some()
                    && f.partition.is_none()
                    && f.cut.is_none()
                    && f.pause.is_none()
                    && f.skew.is_none()
                    && f.clog.is_none()
                    && f.delay.is_none()
                    && f.loss.is_none()
                    && f.slow_disk.is_none()
                    && f.cut_links.is_none(),
            ),
        ];
        if let Some((field, _)) = misplaced.iter().find(|(_, bad)| *bad) {
            errors.push((format!("faults[{i}].{field}"), format!("`{field}` does not go with this fault")));
        }
    }
}

/// The directed links `spec` names, sorted, or `None` after pushing an
/// error at `path` (an id out of range, an empty side, both forms at once).
fn resolve_links(
    path: &str,
    spec: &LinksSpec,
    procs: usize,
    errors: &mut Vec<(String, String)>,
) -> Option<Vec<(NodeId, NodeId)>> {
    let mut links = Vec::new();
    let check = |field: String, id: usize, errors: &mut Vec<(String, String)>| {
        if id >= procs {
            errors.push((field, format!("expected a process id in 0..{procs}, got {id}")));
            false
        } else {
            true
        }
    };
    match &spec.pairs {
        Some(pairs) => {
            if !spec.from.is_empty() || !spec.to.is_empty() || spec.both_ways {
                errors.push((format!("{path}.pairs"), "expected either `pairs` or `from` and `to`, not both".into()));
                return None;
            }
            if pairs.is_empty() {
                errors.push((format!("{path}.pairs"), "expected at least one [source, target] pair".into()));
                return None;
            }
            for (j, &[a, b]) in pairs.iter().enumerate() {
                if !check(format!("{path}.pairs[{j}][0]"), a, errors)
                    || !check(format!("{path}.pairs[{j}][1]"), b, errors)
                {
                    return None;
                }
                if a != b {
                    links.push((a, b));
                }
            }
        }
        None => {
            for (side, ids) in [("from", &spec.from), ("to", &spec.to)] {
                if ids.is_empty() {
                    errors.push((format!("{path}.{side}"), "expected at least one process id".into()));
                    return None;
                }
                for (j, &id) in ids.iter().enumerate() {
                    if !check(format!("{path}.{side}[{j}]"), id, errors) {
                        return None;
                    }
                }
            }
            for &a in &spec.from {
                for &b in spec.to.iter().filter(|&&b| b != a) {
                    links.push((a, b));
                    if spec.both_ways {
                        links.push((b, a));
                    }
                }
            }
        }
    }
    links.sort_unstable();
    links.dedup();
    Some(links)
}

/// The shortest [`LinksSpec`] naming exactly `links` (sorted, no self
/// links): `from`/`to` when they are a product, one way or both, else `pairs`.
pub fn links_spec(links: &[(NodeId, NodeId)]) -> LinksSpec {
    let from: Vec<usize> = links.iter().map(|l| l.0).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let to: Vec<usize> = links.iter().map(|l| l.1).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let product = |a: &[usize], b: &[usize], both: bool| {
        let mut all = Vec::new();
        for &x in a {
            for &y in b.iter().filter(|&&y| y != x) {
                all.push((x, y));
                if both {
                    all.push((y, x));
                }
            }
        }
        all.sort_unstable();
        all.dedup();
        all
    };
    if product(&from, &to, false) == links {
        return LinksSpec { from, to, ..Default::default() };
    }
    // Both ways between two disjoint groups: split the processes by whether
    // the smallest one reaches them.
    if let Some(&(first, _)) = links.first() {
        let b: Vec<usize> = links.iter().filter(|l| l.0 == first).map(|l| l.1).collect();
        let a: Vec<usize> = from.iter().copied().filter(|x| !b.contains(x)).collect();
        if !a.is_empty() && product(&a, &b, true) == links {
            return LinksSpec { from: a, to: b, both_ways: true, ..Default::default() };
        }
    }
    LinksSpec { pairs: Some(links.iter().map(|&(a, b)| [a, b]).collect()), ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_specs_name_exactly_their_links() {
        let cases: Vec<Vec<(NodeId, NodeId)>> = vec![
            vec![(0, 1)],
            vec![(1, 0), (2, 0), (3, 0)],
            vec![(0, 1), (0, 2), (1, 0), (2, 0)],
            vec![(0, 2), (0, 3), (1, 2), (1, 3), (2, 0), (2, 1), (3, 0), (3, 1)],
            vec![(0, 2), (1, 3), (2, 0), (3, 1)],
        ];
        for links in cases {
            let spec = links_spec(&links);
            let mut errors = Vec::new();
            assert_eq!(resolve_links("l", &spec, 5, &mut errors), Some(links.clone()), "{spec:?}");
            assert!(errors.is_empty());
        }
        assert!(links_spec(&[(0, 2), (1, 3), (2, 0), (3, 1)]).pairs.is_some(), "a ring is not a product");
        assert!(links_spec(&[(0, 1), (0, 2), (1, 0), (2, 0)]).both_ways);
    }

    #[test]
    fn durations_parse_exactly() {
        assert_eq!(parse_duration("150ms"), Ok(150_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("-200ms"), Ok(-200_000_000));
        assert_eq!(parse_duration("7us"), Ok(7_000));
        assert_eq!(parse_duration("2m"), Ok(120_000_000_000));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("1.2.3s").is_err());
        assert_eq!(format_duration(1_500_000_000), "1500ms");
        assert_eq!(format_duration(2_000_000_000), "2s");
    }
}
