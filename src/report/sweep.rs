//! The summary of a sweep over many seeds: `sweep.json` for machines and a
//! self-contained `sweep.html` for people.
//!
//! Why it is shaped so: a sweep's value is in its failures, so the page leads
//! with them, grouped by check (a `BTreeMap`, so the order is fixed), each
//! with the command that reproduces it. The latency over seeds is one number
//! per seed (its p99), shown as a histogram, which shows a slow tail of seeds
//! without drawing thousands of runs. The same rules as `report.html` hold:
//! no scripts, no links, no clock.

use super::html::{escape, inline_svg, CSS};
use super::plots::histogram_svg;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// One seed of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedRow {
    /// The seed.
    pub seed: u64,
    /// `clean`, `failed` or `inconclusive`.
    pub outcome: String,
    /// The check that failed, for a failed seed.
    #[serde(default)]
    pub failed_check: Option<String>,
    /// What failed or why the seed is inconclusive.
    #[serde(default)]
    pub detail: Option<String>,
    /// Command that reproduces this seed.
    pub reproduce: String,
    /// This seed's p99 latency over all ops, ms, if it had client ops.
    #[serde(default)]
    pub latency_ms_p99: Option<f64>,
    /// Trace hash, hex.
    pub trace_hash: String,
}

/// A whole sweep: one scenario, many seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepData {
    /// Scenario name.
    pub scenario: String,
    /// One row per seed run, in the order run.
    pub seeds: Vec<SeedRow>,
}

/// Writes `sweep.json` and `sweep.html` into `dir` (created if missing) and
/// returns their paths.
pub fn write_sweep(dir: &Path, data: &SweepData) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let json_path = dir.join("sweep.json");
    let mut json = serde_json::to_string_pretty(data).map_err(io::Error::other)?;
    json.push('\n');
    std::fs::write(&json_path, json)?;
    let html_path = dir.join("sweep.html");
    std::fs::write(&html_path, sweep_html(data)?)?;
    Ok(vec![json_path, html_path])
}

/// The `sweep.html` page.
pub fn sweep_html(data: &SweepData) -> io::Result<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &data.seeds {
        *counts.entry(row.outcome.as_str()).or_default() += 1;
    }
    let mut failures: BTreeMap<&str, Vec<&SeedRow>> = BTreeMap::new();
    for row in data.seeds.iter().filter(|row| row.outcome == "failed") {
        failures.entry(row.failed_check.as_deref().unwrap_or("(unnamed check)")).or_default().push(row);
    }
    let p99s: Vec<f64> = data.seeds.iter().filter_map(|row| row.latency_ms_p99).collect();
    let first = data.seeds.iter().map(|row| row.seed).min().unwrap_or(0);
    let last = data.seeds.iter().map(|row| row.seed).max().unwrap_or(0);

    let mut page = String::new();
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>");
    page.push_str(&format!(
        "<title>{}</title><style>{CSS}</style></head><body>\n",
        escape(&format!("faultline sweep: {}", data.scenario))
    ));
    page.push_str(&format!(
        "<h1>Sweep of {} &#8212; {} seeds ({first} to {last})</h1>\n<table><tr>",
        escape(&data.scenario),
        data.seeds.len()
    ));
    for outcome in ["clean", "failed", "inconclusive"] {
        page.push_str(&format!("<th>{outcome}</th>"));
    }
    page.push_str("</tr><tr>");
    for (outcome, class) in [("clean", "pass"), ("failed", "fail"), ("inconclusive", "unknown")] {
        page.push_str(&format!("<td class=\"num {class}\">{}</td>", counts.get(outcome).copied().unwrap_or(0)));
    }
    page.push_str("</tr></table>\n<h2>Failures by check</h2>\n");
    if failures.is_empty() {
        page.push_str("<p>No seed failed.</p>\n");
    }
    for (check, rows) in &failures {
        page.push_str(&format!(
            "<h3>{} &#8212; {} seeds</h3><table><tr><th>seed</th><th>detail</th><th>trace hash</th><th>reproduce</th></tr>",
            escape(check),
            rows.len()
        ));
        for row in rows {
            page.push_str(&format!(
                "<tr><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
                row.seed,
                escape(row.detail.as_deref().unwrap_or("")),
                escape(&row.trace_hash),
                escape(&row.reproduce)
            ));
        }
        page.push_str("</table>\n");
    }
    let inconclusive: Vec<&SeedRow> = data.seeds.iter().filter(|row| row.outcome == "inconclusive").collect();
    if !inconclusive.is_empty() {
        page.push_str("<h2>Inconclusive seeds</h2><table><tr><th>seed</th><th>detail</th><th>reproduce</th></tr>");
        for row in inconclusive {
            page.push_str(&format!(
                "<tr><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td></tr>",
                row.seed,
                escape(row.detail.as_deref().unwrap_or("")),
                escape(&row.reproduce)
            ));
        }
        page.push_str("</table>\n");
    }
    page.push_str("<h2>p99 latency over seeds</h2>\n");
    let svg = histogram_svg(
        &p99s,
        &format!("p99 latency per seed - {} ({} seeds with ops)", data.scenario, p99s.len()),
        "p99 latency of the seed (ms)",
    )?;
    page.push_str(&format!("<div class=\"plot\">{}</div>\n</body></html>\n", inline_svg(&svg)));
    Ok(page)
}
