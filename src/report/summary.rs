//! What a run leaves behind: `summary.json` (DESIGN section 4 keys), the
//! client history, a linearizability failure's witness and window, and the
//! notable observations. Each file is written through the type that reads
//! it back ([`Summary`], [`LinOp`], [`Notable`] in `data.rs`, the history's
//! [`HistoryLine`]), so writer and reader cannot disagree.

use std::path::Path;

use crate::report::data::{FaultWindow, LatencyQuantilesMs, LinOp, MessageStats, Notable, Summary, Violation};
use crate::runner::ProtocolRun;
use crate::sim::trace::hash_hex;

/// Everything `summary.json` needs besides the run itself.
pub struct SummaryContext<'a> {
    /// Scenario name.
    pub scenario: &'a str,
    /// Protocol name.
    pub protocol: &'a str,
    /// Seed.
    pub seed: u64,
    /// Number of protocol nodes.
    pub nodes: usize,
    /// Number of workload clients.
    pub clients: usize,
    /// Bugs switched on.
    pub bugs: &'a [String],
    /// Wall seconds the run took.
    pub wall_seconds: f64,
    /// The command that reproduces the run.
    pub reproduce: &'a str,
    /// What the output left out.
    pub notes: &'a [String],
    /// The seed's swarm draw, for a `--swarm` run.
    pub swarm: Option<serde_json::Value>,
    /// The window `timeline.jsonl` covers, ns.
    pub timeline_window_ns: Option<[u64; 2]>,
    /// A linearizability failure explained from its witness.
    pub lin: Option<&'a LinFailure>,
}

/// The run's summary: the [`Summary`] that `summary.json` holds.
pub fn run_summary(ctx: &SummaryContext<'_>, run: &ProtocolRun) -> Summary {
    let r = &run.result;
    let latency = run
        .latency_ms
        .iter()
        .map(|(kind, &[p50, p90, p99, max])| (kind.clone(), LatencyQuantilesMs { p50, p90, p99, max }))
        .collect();
    let n = r.net;
    Summary {
        scenario: ctx.scenario.to_string(),
        protocol: ctx.protocol.to_string(),
        nodes: Some(ctx.nodes as u64),
        clients: Some(ctx.clients as u64),
        seed: ctx.seed,
        bugs: ctx.bugs.to_vec(),
        trace_hash: hash_hex(r.trace_hash),
        events: r.events,
        steps: r.steps,
        peak_pending_events: r.peak_pending_events,
        peak_messages_in_flight: r.peak_messages_in_flight,
        notes: ctx.notes.to_vec(),
        sim_seconds: r.end_ns as f64 / 1e9,
        wall_seconds: ctx.wall_seconds,
        stop: r.stop.describe(),
        ops: run.ops,
        latency,
        checks: r.checks.iter().map(|(name, v)| (name.clone(), v.word().to_string())).collect(),
        violation: r.violation.as_ref().map(|v| Violation {
            check: v.check.clone(),
            time_ns: v.time_ns,
            event_index: Some(v.event_index),
            node: v.node.map(|n| n as u64),
            detail: v.detail.clone(),
            faults_before: v.faults_before.iter().map(fault_window).collect(),
        }),
        messages: MessageStats {
            sent: n.sent,
            delivered: n.delivered,
            lost: n.lost,
            cut: n.cut,
            down: n.down,
            duplicated: n.duplicated,
            late: n.late,
        },
        faults: r.faults.iter().map(fault_window).collect(),
        reproduce: ctx.reproduce.to_string(),
        lin_violation: ctx.lin.map(|l| l.text.clone()),
        lin_culprit: ctx.lin.map(|l| l.culprit.clone()),
        lin_window: None,
        protocol_stats: r.extras.stats.clone(),
        swarm: ctx.swarm.clone(),
        timeline_window_ns: ctx.timeline_window_ns,
    }
}

fn fault_window(w: &crate::nemesis::FaultWindow) -> FaultWindow {
    FaultWindow {
        kind: w.kind.to_string(),
        nodes: w.nodes.iter().map(|&n| n as u64).collect(),
        detail: w.detail.clone(),
        start_ns: w.start_ns,
        end_ns: w.end_ns,
    }
}

/// Longest message or observation text in a one-line event summary.
pub const BRIEF_CHARS_MAX: usize = 90;

/// One `trace.jsonl` line as a person reads it in a terminal: its index and
/// `9.086950 s  n1 -> n4  deliver AppendEntries { term: 158, … }`, with the
/// message or observation text cut at [`BRIEF_CHARS_MAX`]. `None` for a line
/// that is not a trace line, and for timers and local wakes, which say
/// nothing a reader of a failure needs.
pub fn event_brief(line: &str) -> Option<(u64, String)> {
    let e: crate::sim::trace::TraceLine<'_> = serde_json::from_str(line).ok()?;
    if e.ev == "timer" || e.ev == "local-wake" {
        return None;
    }
    let cut = |s: &str| {
        if s.chars().count() > BRIEF_CHARS_MAX {
            s.chars().take(BRIEF_CHARS_MAX - 1).chain(std::iter::once('…')).collect()
        } else {
            s.to_string()
        }
    };
    let node = |n: Option<Option<u64>>| n.flatten().map_or(String::new(), |n| format!("n{n}"));
    let what = match (e.from, e.to) {
        (Some(from), Some(to)) => format!("n{from} -> n{to}  {} {}", e.ev, cut(e.msg.as_deref().unwrap_or(""))),
        _ => {
            let text = e.text.as_deref().or(e.what.as_deref()).unwrap_or("");
            format!("{}  {} {}", node(e.node), e.ev, cut(text)).trim_start().to_string()
        }
    };
    Some((e.i, format!("{:.6} s  {}", e.t as f64 / 1e9, what.trim_end())))
}

/// Writes `summary.json`, `history.jsonl` if the protocol has clients, and
/// `charts.json` if its reporters drew any (removing a stale one) into `dir`.
pub fn write_run(dir: &Path, ctx: &SummaryContext<'_>, run: &ProtocolRun) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let summary = serde_json::to_string_pretty(&run_summary(ctx, run)).expect("summary serialises");
    std::fs::write(dir.join("summary.json"), summary + "\n")?;
    if let Some(h) = run.history_jsonl() {
        std::fs::write(dir.join("history.jsonl"), h)?;
    }
    let charts = dir.join("charts.json");
    if run.result.extras.charts.is_empty() {
        if charts.exists() {
            std::fs::remove_file(charts)?;
        }
    } else {
        std::fs::write(charts, serde_json::to_string(&run.result.extras.charts).expect("charts serialise") + "\n")?;
    }
    Ok(())
}

/// A linearizability failure as the run explains it: from its shrunk
/// witness, not from the whole history.
#[derive(Clone, Debug)]
pub struct LinFailure {
    /// `history-min.jsonl`, the witness.
    pub witness: std::path::PathBuf,
    /// Operations in the witness.
    pub witness_ops: usize,
    /// Operations in the whole history.
    pub history_ops: usize,
    /// The culprit in one sentence (the witness's [`lin::Violation::culprit`]).
    pub culprit: String,
    /// The witness's whole report ([`lin::Violation::render`]).
    pub text: String,
    /// The simulated time the witness spans, ns (first invoke to last completion).
    pub span: (u64, u64),
}

/// For a client history that is not linearizable, writes the shrunk witness
/// `history-min.jsonl` and `lin_window.json` (the witness's operations, for
/// the report's counterexample chart) into `dir`, and explains the failure
/// from the witness: the witness fails for the same reason, on the same op,
/// and is short enough to read. Returns `None` when the history is
/// linearizable or undecided within `budget`. The check and then the shrink
/// may each spend all of `budget`; a step budget makes both, and so the
/// witness, the same on every machine.
pub fn write_lin_failure(
    history_jsonl: &str,
    model: crate::check::lin::Model,
    dir: &Path,
    budget: crate::check::linearizability::Budget,
) -> std::io::Result<Option<LinFailure>> {
    use crate::check::lin;
    let Ok(history) = lin::parse_history(history_jsonl) else { return Ok(None) };
    let lin::Verdict::NotLinearizable(violation) = lin::check(&history, model, budget) else {
        return Ok(None);
    };
    let witness = lin::shrink(&history, model, &violation, budget).history;
    let path = dir.join("history-min.jsonl");
    std::fs::write(&path, witness.to_jsonl())?;
    // The witness's own verdict explains the failure; should its check run
    // out of budget (it never has: the shrink just checked it), the whole
    // history's does.
    let (shown, explained) = match lin::check(&witness, model, budget) {
        lin::Verdict::NotLinearizable(w) => (witness, w),
        _ => (history.clone(), violation),
    };
    let ops = shown.ops();
    let blame = lin::culprit(&shown, &explained);
    let failing = blame.index;
    let lin_ops: Vec<LinOp> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let outcome = match op.outcome {
                lin::Outcome::Ok(_) => "ok",
                lin::Outcome::Fail => "fail",
                lin::Outcome::Info | lin::Outcome::Open => "info",
            };
            let value = match (&op.call, &op.outcome) {
                (lin::Call::Read, lin::Outcome::Ok(v)) => serde_json::to_value(v).expect("a value serialises"),
                (lin::Call::Read, _) => serde_json::Value::Null,
                (lin::Call::Write(v), _) => serde_json::to_value(v).expect("a value serialises"),
                (lin::Call::Cas(old, new), _) => serde_json::json!([old, new]),
                (lin::Call::Append(a), _) => serde_json::Value::from(a.as_str()),
            };
            let node = op.meta.node.map_or(String::new(), |n| format!(" (n{n})"));
            LinOp {
                process: op.process,
                f: op.call.name().to_string(),
                key: op.key.clone(),
                invoke_ns: op.meta.invoke_ns.unwrap_or(0),
                complete_ns: op.complete_index.map(|_| op.meta.complete_ns.unwrap_or(0)),
                outcome: outcome.to_string(),
                value,
                highlighted: i == failing,
                label: Some(format!("{}{node}", op.what())),
            }
        })
        .collect();
    std::fs::write(dir.join("lin_window.json"), serde_json::to_string_pretty(&lin_ops).expect("json") + "\n")?;
    let start = lin_ops.iter().map(|o| o.invoke_ns).min().unwrap_or(0);
    let end = lin_ops.iter().map(|o| o.complete_ns.unwrap_or(o.invoke_ns)).max().unwrap_or(start);
    Ok(Some(LinFailure {
        witness: path,
        witness_ops: shown.len(),
        history_ops: history.len(),
        text: explained.render().replace(&explained.culprit, &blame.sentence),
        culprit: blame.sentence,
        span: (start, end),
    }))
}

pub use crate::sim::NOTABLE_KIND_MAX;

/// `observations.jsonl`: the observations of notable kinds, one JSON object
/// (`t`, `node`, `obs`) a line. The kind is the text before the first
/// space, `{` or `(` of the observation's `Debug` form.
pub fn notable_jsonl(observations: &[crate::sim::ObservationRecord]) -> String {
    let kind = |o: &crate::sim::ObservationRecord| o.kind().to_string();
    let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for o in observations {
        *counts.entry(kind(o)).or_insert(0) += 1;
    }
    observations
        .iter()
        .filter(|o| counts[&kind(o)] <= NOTABLE_KIND_MAX)
        .map(|o| {
            let line = Notable {
                t: o.time_ns,
                node: o.node as u64,
                kind: kind(o),
                obs: o.obs.clone(),
                text: o.text.clone(),
                label: o.label.clone(),
            };
            serde_json::to_string(&line).expect("an observation line serialises") + "\n"
        })
        .collect()
}

#[cfg(test)]
mod brief_tests {
    use super::event_brief;

    #[test]
    fn an_event_brief_is_one_short_line() {
        let msg = format!("AppendEntries {{ entries: [{}] }}", "Entry { term: 1 }, ".repeat(50));
        let line = format!(r#"{{"i":7,"t":9086949896,"ev":"deliver","from":1,"to":4,"msg_id":3,"msg":"{msg}"}}"#);
        let (i, brief) = event_brief(&line).unwrap();
        assert_eq!(i, 7);
        assert!(brief.starts_with("9.086950 s  n1 -> n4  deliver AppendEntries { entries: [Entry"), "{brief}");
        assert!(brief.chars().count() < 130 && brief.ends_with('…'), "{brief}");
        let obs = r#"{"i":8,"t":1000,"ev":"observe","node":2,"obs":null,"text":"BecameLeader { term: 3 }"}"#;
        assert_eq!(event_brief(obs).unwrap().1, "0.000001 s  n2  observe BecameLeader { term: 3 }");
        assert_eq!(event_brief(r#"{"i":9,"t":5,"ev":"timer","task":1}"#), None);
        assert_eq!(event_brief("not json"), None);
    }
}
