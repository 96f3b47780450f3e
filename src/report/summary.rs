//! What a run leaves behind: `summary.json` (DESIGN section 4 keys) and the
//! client history. Plots and the HTML report will live beside this file.

use std::path::Path;

use serde_json::json;

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
}

/// The summary as JSON.
pub fn summary_json(ctx: &SummaryContext<'_>, run: &ProtocolRun) -> serde_json::Value {
    let r = &run.result;
    let checks: serde_json::Map<String, serde_json::Value> =
        r.checks.iter().map(|(name, v)| (name.clone(), json!(v.word()))).collect();
    let latency: serde_json::Map<String, serde_json::Value> = run
        .latency_ms
        .iter()
        .map(|(kind, [p50, p90, p99, max])| (kind.clone(), json!({"p50": p50, "p90": p90, "p99": p99, "max": max})))
        .collect();
    json!({
        "scenario": ctx.scenario,
        "protocol": ctx.protocol,
        "nodes": ctx.nodes,
        "clients": ctx.clients,
        "seed": ctx.seed,
        "bugs": ctx.bugs,
        "trace_hash": hash_hex(r.trace_hash),
        "events": r.events,
        "steps": r.steps,
        "sim_seconds": r.end_ns as f64 / 1e9,
        "wall_seconds": ctx.wall_seconds,
        "stop": r.stop.describe(),
        "ops": run.ops,
        "latency": latency,
        "checks": checks,
        "violation": r.violation,
        "messages": r.net,
        "faults": r.faults,
        "reproduce": ctx.reproduce,
    })
}

/// Writes `summary.json` and, if the protocol has clients, `history.jsonl` into `dir`.
pub fn write_run(dir: &Path, ctx: &SummaryContext<'_>, run: &ProtocolRun) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let summary = serde_json::to_string_pretty(&summary_json(ctx, run)).expect("summary serialises");
    std::fs::write(dir.join("summary.json"), summary + "\n")?;
    if let Some(h) = &run.history_jsonl {
        std::fs::write(dir.join("history.jsonl"), h)?;
    }
    Ok(())
}
