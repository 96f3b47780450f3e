//! `faultline shrink`: turns a failing seed into a small scenario file that
//! fails the same check on its own, for a person to read and keep as a
//! regression test.
//!
//! A failing sweep seed replays exactly, but it carries every fault the
//! nemesis drew over the whole run. The shrinker first makes the run
//! independent of the nemesis: every fault the nemesis drew (the kernel
//! hands them back in [`crate::sim::RunResult::nemesis_faults`]) becomes a
//! scripted fault with the same time, target and length, and the `nemesis`
//! section goes. Then it minimises while the same check still fails, each
//! candidate a plain scenario run with the same seed:
//! - the duration is cut to just after the violation (or bisected, for a
//!   check judged at the end of the run);
//! - the faults are delta-debugged (Zeller's ddmin: remove halves, then
//!   quarters, ... while the failure stays);
//! - each remaining fault's window is bisected down, and its start and
//!   length rounded to whole milliseconds where the failure allows;
//! - fewer clients, a lower request rate, less loss and duplication, and
//!   fewer nodes where the protocol accepts them.
//!
//! It repeats these until a round changes nothing. Because the kernel keeps a
//! named random stream per concern (network, nodes, workload, disk), removing
//! one part of a run leaves the draws of the others where they were, which
//! is what makes most removals keep the failure.
//!
//! The result is an ordinary scenario (its `seed` set to the failing seed)
//! written with one fault per line. Everything here is a function of the
//! input except the optional wall-clock budget, which only decides when to
//! stop early (and the result then says so).

use std::time::Instant;

use crate::check::Verdict;
use crate::kit::AnyProtocol;
use crate::runner::{Overrides, Prepared};
use crate::scenario::{format_duration, links_spec, Dur, FaultSpec, Scenario, ScenarioError, SignedDur};
use crate::sim::nemesis::{Fault, ScheduledFault, TransientKind};
use crate::sim::trace::TraceSink;
use crate::sim::Nanos;

const MS: Nanos = 1_000_000;

/// Above this many faults, the shrinker also tries removing them in pairs.
const PAIRS_ABOVE: usize = 6;

/// What one shrink produced.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The minimal scenario (seed, bugs and description set).
    pub scenario: Scenario,
    /// The check it fails.
    pub check: String,
    /// The first line of that check's failure in the shrunk run.
    pub detail: String,
    /// What changed, per dimension: its successive values, first to last
    /// (`faults`: 23, 11, 4).
    pub steps: Vec<(&'static str, Vec<String>)>,
    /// Candidate runs made.
    pub runs: u64,
    /// Whether the wall-clock budget stopped the minimisation early.
    pub stopped_early: bool,
}

/// Why nothing could be shrunk.
#[derive(Debug)]
pub enum ShrinkError {
    /// The scenario or the command line is wrong.
    Input(ScenarioError),
    /// The seed passes (or says unknown): there is no failure to keep.
    NoFailure(String),
    /// With the nemesis's faults written out as scripted ones, the run no
    /// longer fails the same check.
    NotReproduced(String),
}

impl From<ScenarioError> for ShrinkError {
    fn from(e: ScenarioError) -> Self {
        ShrinkError::Input(e)
    }
}

/// Shrinks seed `seed` of `scenario` (from `file`, with `overrides`'s bugs
/// and swarm setting). `deadline` bounds the wall time; `progress` sees the
/// current best after every candidate run, with the number of runs so far.
pub fn shrink(
    scenario: Scenario,
    file: &str,
    protocols: &[&dyn AnyProtocol],
    overrides: &Overrides,
    seed: u64,
    deadline: Option<Instant>,
    progress: &mut dyn FnMut(&Scenario, u64),
) -> Result<Shrunk, ShrinkError> {
    let prepared = Prepared::new(scenario, file, protocols, overrides)?;
    let mut base = prepared.scenario_for(seed).into_owned();
    base.bugs = prepared.bugs.clone();
    base.seed = seed;
    let run = prepared.run(seed, TraceSink::Off, false)?;
    let Some((check, _)) = first_failure(&run.result) else {
        return Err(ShrinkError::NoFailure(format!(
            "seed {seed} of {file} fails no check ({}); there is nothing to shrink",
            run.result.checks.iter().map(|(c, v)| format!("{c}: {}", verdict_word(v))).collect::<Vec<_>>().join(", ")
        )));
    };
    let original = base.clone();
    let mut s = base;
    s.faults.extend(script(&run.result.nemesis_faults));
    s.faults.sort_by_key(|f| f.at.map_or(0, |d| d.0));
    s.nemesis = None;
    let mut k =
        Shrinker { file, protocols, seed, check: check.clone(), runs: 0, deadline, stopped_early: false, progress };
    if !k.fails(&s) {
        return Err(ShrinkError::NotReproduced(format!(
            "seed {seed} fails {check}, but not once the nemesis's {} faults are written as scripted faults; \
             the failure depends on the nemesis itself",
            run.result.nemesis_faults.len()
        )));
    }
    let violation_ns = run.result.violation.as_ref().map(|v| v.time_ns);
    let mut history = History::new(&original, &s);
    for _round in 0..4 {
        let before = s.clone();
        k.duration(&mut s, violation_ns);
        history.note(&s);
        k.faults(&mut s);
        history.note(&s);
        k.windows(&mut s);
        k.workload(&mut s);
        history.note(&s);
        k.network(&mut s);
        k.nodes(&mut s);
        history.note(&s);
        if s == before || k.stopped_early {
            break;
        }
    }
    // The final run, for the description and the caller's summary.
    let detail = k.detail(&s).unwrap_or_default();
    s.name = format!("{}-shrunk", original.name.trim_end_matches("-shrunk"));
    s.description = describe(&original, &s, file, seed, &check);
    Ok(Shrunk { scenario: s, check, detail, steps: history.steps(), runs: k.runs, stopped_early: k.stopped_early })
}

/// The candidate tester: runs a scenario and says whether it fails the check.
struct Shrinker<'a, 'p> {
    progress: &'a mut dyn FnMut(&Scenario, u64),
    file: &'a str,
    protocols: &'a [&'p dyn AnyProtocol],
    seed: u64,
    check: String,
    runs: u64,
    deadline: Option<Instant>,
    stopped_early: bool,
}

impl Shrinker<'_, '_> {
    /// Whether `s` fails the check first (an invalid scenario, a panic or
    /// another check failing all count as no).
    fn fails(&mut self, s: &Scenario) -> bool {
        self.first_failure(s).is_some_and(|(c, _, _)| c == self.check)
    }

    fn detail(&mut self, s: &Scenario) -> Option<String> {
        self.first_failure(s).map(|(_, d, _)| d.lines().next().unwrap_or("").to_string())
    }

    /// The first failing check of `s`'s run, its detail, and the time of
    /// the violation if the run stopped at one.
    fn first_failure(&mut self, s: &Scenario) -> Option<(String, String, Option<Nanos>)> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.stopped_early = true;
            return None;
        }
        self.runs += 1;
        let prepared = Prepared::new(s.clone(), self.file, self.protocols, &Overrides::default()).ok()?;
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            prepared.run(self.seed, TraceSink::Off, false).ok()
        }))
        .ok()??;
        let at = run.result.violation.as_ref().map(|v| v.time_ns);
        first_failure(&run.result).map(|(c, d)| (c, d, at))
    }

    /// Tries `candidate`; keeps it in `s` if it still fails. A kept
    /// candidate whose violation came earlier is also cut to just after it
    /// (if that still fails), so later candidates run shorter.
    fn try_keep(&mut self, s: &mut Scenario, candidate: Scenario) -> bool {
        if candidate == *s {
            return false;
        }
        let kept = self.keep_if_fails(s, candidate);
        (self.progress)(s, self.runs);
        kept
    }

    fn keep_if_fails(&mut self, s: &mut Scenario, candidate: Scenario) -> bool {
        match self.first_failure(&candidate) {
            Some((c, _, at)) if c == self.check => {
                *s = candidate;
                if let Some(t) = at {
                    let cut = round_up(t + 1, 10 * MS);
                    if cut < s.duration.0 {
                        let shorter = with_duration(s, cut);
                        if self.fails(&shorter) {
                            *s = shorter;
                        }
                    }
                }
                true
            }
            _ => false,
        }
    }

    /// Cuts the run to just after the violation, or bisects its length.
    fn duration(&mut self, s: &mut Scenario, violation_ns: Option<Nanos>) {
        if let Some(t) = violation_ns {
            let cut = round_up(t + 1, 10 * MS);
            if cut < s.duration.0 {
                self.try_keep(s, with_duration(s, cut));
            }
        }
        // Bisect at 10 ms: the shortest run that still fails.
        let (mut lo, mut hi) = (0, s.duration.0);
        while hi - lo > 10 * MS && !self.stopped_early {
            let mid = round_up(lo + (hi - lo) / 2, 10 * MS).min(hi - 10 * MS);
            if mid <= lo {
                break;
            }
            if self.try_keep(s, with_duration(s, mid)) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
    }

    /// Delta debugging over the fault list.
    fn faults(&mut self, s: &mut Scenario) {
        if s.faults.is_empty() {
            return;
        }
        let mut none = s.clone();
        none.faults.clear();
        if self.try_keep(s, none) {
            return;
        }
        let mut n = 2;
        while s.faults.len() >= 2 && !self.stopped_early {
            let len = s.faults.len();
            let chunk = len.div_ceil(n);
            let mut reduced = false;
            for start in (0..len).step_by(chunk) {
                let mut candidate = s.clone();
                candidate.faults.drain(start..(start + chunk).min(len));
                if self.try_keep(s, candidate) {
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
            }
            if !reduced {
                if n >= len {
                    break;
                }
                n = (n * 2).min(len);
            }
        }
        // Then each single fault on its own (ddmin ends at 1-minimal, but
        // a removal that failed early may work now).
        let mut i = 0;
        while i < s.faults.len() && s.faults.len() > 1 && !self.stopped_early {
            let mut candidate = s.clone();
            candidate.faults.remove(i);
            if !self.try_keep(s, candidate) {
                i += 1;
            }
        }
        // Still many: pairs. Removing one fault shifts every later draw of
        // the shared streams (message latencies above all), so two faults
        // that only matter together come out only together.
        if s.faults.len() > PAIRS_ABOVE {
            let mut i = 0;
            'outer: while i + 1 < s.faults.len() && !self.stopped_early {
                for j in i + 1..s.faults.len() {
                    let mut candidate = s.clone();
                    candidate.faults.remove(j);
                    candidate.faults.remove(i);
                    if self.try_keep(s, candidate) {
                        continue 'outer;
                    }
                }
                i += 1;
            }
        }
    }

    /// Bisects each fault's window down, and rounds its times to whole
    /// milliseconds. (A kept candidate may cut the run and drop later
    /// faults, so every index is checked again after each try.)
    fn windows(&mut self, s: &mut Scenario) {
        let mut i = 0;
        while i < s.faults.len() && !self.stopped_early {
            if let Some(len) = window(&s.faults[i]) {
                // Shortest window that still fails, at 1 ms.
                let (mut lo, mut hi) = (0, len);
                while hi - lo > MS && !self.stopped_early && i < s.faults.len() {
                    let mid = round_up(lo + (hi - lo) / 2, MS).min(hi - 1);
                    if mid <= lo {
                        break;
                    }
                    let mut candidate = s.clone();
                    set_window(&mut candidate.faults[i], mid);
                    if self.try_keep(s, candidate) {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
                for unit in [100 * MS, 10 * MS, MS] {
                    let Some(len) = s.faults.get(i).and_then(window) else { break };
                    if len % unit == 0 {
                        break;
                    }
                    let mut candidate = s.clone();
                    set_window(&mut candidate.faults[i], round_up(len, unit));
                    if self.try_keep(s, candidate) {
                        break;
                    }
                }
            }
            for unit in [100 * MS, 10 * MS, MS] {
                let Some(at) = s.faults.get(i).and_then(|f| f.at).map(|d| d.0) else { break };
                if at % unit == 0 {
                    break;
                }
                let mut candidate = s.clone();
                candidate.faults[i].at = Some(Dur(at / unit * unit));
                if self.try_keep(s, candidate) {
                    break;
                }
            }
            i += 1;
        }
    }

    /// Fewer clients, then a lower rate.
    fn workload(&mut self, s: &mut Scenario) {
        let Some(w) = &s.workload else { return };
        for clients in 1..w.clients {
            let mut candidate = s.clone();
            candidate.workload.as_mut().expect("has a workload").clients = clients;
            if self.try_keep(s, candidate) {
                break;
            }
        }
        while !self.stopped_early {
            let mut candidate = s.clone();
            let w = candidate.workload.as_mut().expect("has a workload");
            w.rate = (w.rate / 2.0).floor();
            if w.rate < 1.0 || !self.try_keep(s, candidate) {
                break;
            }
        }
    }

    /// No loss or duplication if the failure allows, else less.
    fn network(&mut self, s: &mut Scenario) {
        for field in [0, 1] {
            let get = |s: &Scenario| if field == 0 { s.network.loss } else { s.network.duplicate };
            let set = |s: &mut Scenario, p: f64| {
                if field == 0 {
                    s.network.loss = p
                } else {
                    s.network.duplicate = p
                }
            };
            let mut p = get(s);
            if p <= 0.0 {
                continue;
            }
            let mut candidate = s.clone();
            set(&mut candidate, 0.0);
            if self.try_keep(s, candidate) {
                continue;
            }
            for _ in 0..4 {
                p = (p / 2.0 * 1000.0).round() / 1000.0;
                let mut candidate = s.clone();
                set(&mut candidate, p);
                if p <= 0.0 || !self.try_keep(s, candidate) {
                    break;
                }
            }
        }
    }

    /// The fewest nodes the protocol accepts and the failure survives.
    fn nodes(&mut self, s: &mut Scenario) {
        for nodes in 1..s.nodes {
            let mut candidate = s.clone();
            candidate.nodes = nodes;
            if self.try_keep(s, candidate) {
                break;
            }
        }
    }
}

/// The first failing check and its detail.
fn first_failure(r: &crate::sim::RunResult) -> Option<(String, String)> {
    r.checks.iter().find_map(|(c, v)| match v {
        Verdict::Fail(d) => Some((c.clone(), d.clone())),
        _ => None,
    })
}

fn verdict_word(v: &Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail(_) => "fail",
        Verdict::Unknown(_) => "unknown",
    }
}

fn round_up(t: Nanos, unit: Nanos) -> Nanos {
    t.div_ceil(unit) * unit
}

/// `s` cut to `duration`, without the faults that would start after it.
fn with_duration(s: &Scenario, duration: Nanos) -> Scenario {
    let mut c = s.clone();
    c.duration = Dur(duration);
    c.faults.retain(|f| f.at.is_some_and(|at| at.0 < duration));
    c
}

/// How long a fault lasts, if it has a length.
fn window(f: &FaultSpec) -> Option<Nanos> {
    f.for_.or(f.restart_after).map(|d| d.0)
}

fn set_window(f: &mut FaultSpec, len: Nanos) {
    if f.restart_after.is_some() {
        f.restart_after = Some(Dur(len));
    } else {
        f.for_ = Some(Dur(len));
    }
}

/// The nemesis's draws as scripted faults: each start paired with the
/// undoing drawn with it (a crash with its restart, a cut with its mend).
pub fn script(drawn: &[ScheduledFault]) -> Vec<FaultSpec> {
    let mut used = vec![false; drawn.len()];
    let mut out = Vec::new();
    for i in 0..drawn.len() {
        if used[i] {
            continue;
        }
        used[i] = true;
        let start = drawn[i].at_ns;
        let mut undo = |matches: &dyn Fn(&Fault) -> bool| {
            let j = (i + 1..drawn.len()).find(|&j| !used[j] && matches(&drawn[j].fault))?;
            used[j] = true;
            Some(Dur(drawn[j].at_ns - start))
        };
        let mut f = FaultSpec { at: Some(Dur(start)), ..Default::default() };
        match &drawn[i].fault {
            Fault::Crash(n) => {
                f.crash = Some(*n);
                f.restart_after = undo(&|g| *g == Fault::Restart(*n));
            }
            Fault::Restart(n) => f.restart = Some(*n),
            Fault::Pause(n) => {
                f.pause = Some(*n);
                f.for_ = undo(&|g| *g == Fault::Resume(*n));
            }
            Fault::Resume(n) => f.resume = Some(*n),
            Fault::Partition(groups) => {
                f.partition = Some(groups.clone());
                f.for_ = undo(&|g| *g == Fault::Heal);
            }
            Fault::Cut { source, target } => {
                f.cut = Some(vec![*source, *target]);
                f.for_ = undo(&|g| *g == Fault::Heal);
            }
            Fault::Heal => f.heal = Some(true),
            Fault::CutLinks { links, .. } => {
                f.cut_links = Some(links_spec(links));
                f.for_ = undo(&|g| matches!(g, Fault::MendLinks { links: l, .. } if l == links));
            }
            Fault::Transient { kind, links, .. } => {
                let mut spec = links_spec(links);
                match kind {
                    TransientKind::Clog => f.clog = Some(spec),
                    TransientKind::Delay(by) => {
                        f.delay = Some(spec);
                        f.by = Some(SignedDur(*by as i64));
                    }
                    TransientKind::Loss(p) => {
                        spec.p = Some(p.as_f64());
                        f.loss = Some(spec);
                    }
                }
                f.for_ =
                    undo(&|g| matches!(g, Fault::TransientEnd { kind: k, links: l, .. } if k == kind && l == links));
            }
            Fault::SlowDisk { node, extra_ns } if *extra_ns > 0 => {
                f.slow_disk = Some(*node);
                f.by = Some(SignedDur(*extra_ns as i64));
                f.for_ = undo(&|g| *g == Fault::SlowDisk { node: *node, extra_ns: 0 });
            }
            Fault::ClockRate { node, rate_ppm } if *rate_ppm != 1_000_000 => {
                f.skew = Some(*node);
                f.rate = Some(*rate_ppm as f64 / 1e6);
                f.for_ = undo(&|g| *g == Fault::ClockRate { node: *node, rate_ppm: 1_000_000 });
            }
            Fault::ClockRate { node, .. } => {
                f.skew = Some(*node);
                f.rate = Some(1.0);
            }
            Fault::ClockJump { node, by_ns } => {
                f.clock_jump = Some(*node);
                f.by = Some(SignedDur(*by_ns));
            }
            // An undoing whose start was not drawn: nothing to script.
            Fault::TransientEnd { .. } | Fault::MendLinks { .. } | Fault::SlowDisk { .. } => continue,
        }
        out.push(f);
    }
    out
}

/// Successive values of each dimension the shrinker reports.
struct History {
    rows: Vec<(&'static str, Vec<String>)>,
}

impl History {
    fn new(original: &Scenario, scripted: &Scenario) -> History {
        let mut h = History { rows: Vec::new() };
        for (name, value) in measures(original) {
            h.rows.push((name, vec![value]));
        }
        h.note(scripted);
        h
    }

    fn note(&mut self, s: &Scenario) {
        for (name, value) in measures(s) {
            if let Some((_, values)) = self.rows.iter_mut().find(|(n, _)| *n == name) {
                if values.last() != Some(&value) {
                    values.push(value);
                }
            }
        }
    }

    /// The dimensions that changed.
    fn steps(self) -> Vec<(&'static str, Vec<String>)> {
        self.rows.into_iter().filter(|(_, v)| v.len() > 1).collect()
    }
}

/// What the shrinker reports of a scenario: faults (scripted ones plus the
/// nemesis's as "random"), duration, clients, rate, loss, duplication, nodes.
fn measures(s: &Scenario) -> Vec<(&'static str, String)> {
    let faults = match &s.nemesis {
        Some(_) if s.faults.is_empty() => "random".to_string(),
        Some(_) => format!("{} + random", s.faults.len()),
        None => s.faults.len().to_string(),
    };
    let mut m = vec![("faults", faults), ("duration", seconds(s.duration.0))];
    if let Some(w) = &s.workload {
        m.push(("clients", w.clients.to_string()));
        m.push(("rate", format!("{}/s", w.rate)));
    }
    m.push(("loss", s.network.loss.to_string()));
    m.push(("duplicate", s.network.duplicate.to_string()));
    m.push(("nodes", s.nodes.to_string()));
    m
}

/// A duration as a user reads it in a step line: `9.4s`, `60s`, `250ms`.
fn seconds(ns: Nanos) -> String {
    if ns >= 1_000_000_000 && ns.is_multiple_of(10_000_000) {
        let s = format!("{:.2}", ns as f64 / 1e9);
        format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
    } else {
        format_duration(ns)
    }
}

fn describe(original: &Scenario, s: &Scenario, file: &str, seed: u64, check: &str) -> String {
    let bugs = if s.bugs.is_empty() { String::new() } else { format!(" with bug {}", s.bugs.join(", ")) };
    let n = s.faults.len();
    format!(
        "Shrunk by faultline shrink from {file} seed {seed}{bugs}: fails {check} with {n} fault{} in {}. Was: {}",
        if n == 1 { "" } else { "s" },
        seconds(s.duration.0),
        if original.description.is_empty() { original.name.as_str() } else { original.description.as_str() }
    )
}

/// The scenario as a file a person reads: the usual field order, one fault
/// per line (its time first, then what it does), short sections on one
/// line, nothing that is absent or empty.
pub fn to_json(s: &Scenario) -> String {
    use serde_json::Value;
    fn value<T: serde::Serialize>(v: &T) -> Value {
        tidy(serde_json::to_value(v).expect("a scenario serialises"))
    }
    let mut network = value(&s.network);
    if let Value::Object(m) = &mut network {
        m.retain(|k, v| !((k == "loss" || k == "duplicate") && v.as_f64() == Some(0.0)));
    }
    let mut fields: Vec<(&str, Value)> = vec![
        ("name", value(&s.name)),
        ("description", value(&s.description)),
        ("protocol", value(&s.protocol)),
        ("nodes", value(&s.nodes)),
        ("seed", value(&s.seed)),
        ("duration", value(&s.duration)),
        ("network", network),
        ("storage", value(&s.storage)),
        ("workload", value(&s.workload)),
        ("faults", value(&s.faults)),
        ("nemesis", value(&s.nemesis)),
        ("liveness", value(&s.liveness)),
        ("checks", value(&s.checks)),
        ("options", value(&s.options)),
        ("bugs", value(&s.bugs)),
        ("limits", value(&s.limits)),
        ("ties", value(&s.ties)),
    ];
    fields.retain(|(name, v)| match v {
        Value::Null => false,
        Value::Object(m) => !m.is_empty() || *name != "options",
        Value::Array(a) => !a.is_empty() || *name == "faults" || *name == "checks",
        _ => true,
    });
    let mut out = String::from("{\n");
    for (i, (name, v)) in fields.iter().enumerate() {
        let one_line = compact(v);
        let text = match v {
            Value::Array(items) if *name == "faults" && !items.is_empty() => {
                let lines: Vec<String> = items.iter().map(|f| format!("    {}", compact(f))).collect();
                format!("[\n{}\n  ]", lines.join(",\n"))
            }
            _ if one_line.len() <= 100 => one_line,
            Value::Object(m) => {
                let lines: Vec<String> =
                    m.iter().map(|(k, v)| format!("    {}: {}", compact(&k.as_str().into()), compact(v))).collect();
                format!("{{\n{}\n  }}", lines.join(",\n"))
            }
            _ => one_line,
        };
        let comma = if i + 1 < fields.len() { "," } else { "" };
        out.push_str(&format!("  {}: {text}{comma}\n", compact(&(*name).into())));
    }
    out.push_str("}\n");
    out
}

/// Drops nulls and empty lists inside objects (every such field has a default).
fn tidy(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null() && !matches!(v, Value::Array(a) if a.is_empty()))
                .map(|(k, v)| (k, tidy(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(tidy).collect()),
        v => v,
    }
}

/// JSON on one line with a space after each `:` and `,`; in a fault,
/// `at` first, then what it does, then its modifiers (`for`, `by`, ...).
fn compact(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Array(items) => format!("[{}]", items.iter().map(compact).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            let rank = |k: &str| match k {
                "at" => 0,
                "for" | "restart_after" | "by" | "rate" => 2,
                _ => 1,
            };
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by_key(|k| rank(k));
            let parts: Vec<String> =
                keys.iter().map(|k| format!("{}: {}", compact(&k.as_str().into()), compact(&m[k.as_str()]))).collect();
            format!("{{{}}}", parts.join(", "))
        }
        v => serde_json::to_string(v).expect("a value serialises"),
    }
}
