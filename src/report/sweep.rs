//! The summary of a sweep over many seeds: `sweep.json` for machines and a
//! self-contained `sweep.html` for people.
//!
//! Why it is shaped so: the page is for someone who has never seen
//! faultline and has to triage a sweep. It answers, top down: how many
//! seeds failed and by which check (one table, one explanation per check:
//! the full detail of its first failing seed), which seeds have a full
//! report (links to `seed-N/report.html`, written by `sweep --reports N`),
//! every failing seed in one scrolling table with its command, and the
//! outlier seeds (highest p99, most failed operations), which name what to
//! rerun even when nothing failed. Commands never wrap mid-word: they are
//! `nowrap` in boxes that scroll sideways, and long tables scroll inside a
//! box of bounded height, so the page stays a few screens tall whatever
//! the number of seeds. Groups are `BTreeMap`s, so the order is fixed; the
//! page is a function of [`SweepData`] alone, so a merged sweep writes the
//! same bytes. The latency over seeds is one number per seed (its p99),
//! shown as a histogram. As for `report.html`: no scripts, no clock, and no
//! links but relative ones to the reports in the sweep's own folder.

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
    /// `clean`, `failed`, `inconclusive`, `simulator bug` or `nondeterministic`.
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
    /// Completed client operations.
    #[serde(default)]
    pub ops: u64,
    /// Client operations that did not complete `ok` (failed, timed out,
    /// or open at the end).
    #[serde(default)]
    pub failed_ops: u64,
    /// The seed's full report, relative to the sweep folder, if one was
    /// written (`sweep --reports N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
}

/// A whole sweep: one scenario, many seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepData {
    /// Scenario name.
    pub scenario: String,
    /// How many of the first failing seeds were to get a full report
    /// (`--reports N`); the rows say which have one.
    #[serde(default)]
    pub reports: u64,
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

/// The outlier seeds of a sweep, highest first (ties: the lower seed).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outliers {
    /// The seeds of highest p99 latency, with it in ms.
    pub p99: Vec<(u64, f64)>,
    /// The seeds with the most failed client operations (more than none), with the count.
    pub failed_ops: Vec<(u64, u64)>,
}

/// The `k` seeds of highest p99 and the `k` with most failed operations,
/// from `(seed, p99 ms, failed ops)` per seed.
pub fn outliers(seeds: impl IntoIterator<Item = (u64, Option<f64>, u64)>, k: usize) -> Outliers {
    let seeds: Vec<(u64, Option<f64>, u64)> = seeds.into_iter().collect();
    let mut p99: Vec<(u64, f64)> = seeds.iter().filter_map(|&(s, p, _)| p.map(|p| (s, p))).collect();
    p99.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    p99.truncate(k);
    let mut failed: Vec<(u64, u64)> = seeds.iter().filter(|s| s.2 > 0).map(|&(s, _, n)| (s, n)).collect();
    failed.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    failed.truncate(k);
    Outliers { p99, failed_ops: failed }
}

/// How many outlier seeds of each kind the page names.
const OUTLIERS_SHOWN: usize = 5;

/// What a failing row is grouped under: its check, or what went wrong
/// instead (the words `sweep` prints).
fn group_of(row: &SeedRow) -> &str {
    match row.outcome.as_str() {
        "simulator bug" => "simulator bug",
        "nondeterministic" => "nondeterminism",
        _ => row.failed_check.as_deref().unwrap_or("(a check failed)"),
    }
}

/// Whether the row is a failure of any kind.
fn failing(row: &SeedRow) -> bool {
    matches!(row.outcome.as_str(), "failed" | "simulator bug" | "nondeterministic")
}

/// The page's own style on top of the run report's: commands never break
/// inside a word, long tables scroll inside a box.
const SWEEP_CSS: &str = "code.cmd,td.cmd code{white-space:nowrap;word-break:normal;font-family:monospace}\
td.cmd{white-space:nowrap}td.nowrap{white-space:nowrap}\
div.scroll{overflow:auto;max-height:560px;border:1px solid #ccc;margin:8px 0}\
div.scroll table{margin:0}div.scroll th{position:sticky;top:0}\
div.wide{overflow-x:auto}\
pre.detail{white-space:pre;word-break:normal;overflow:auto;max-height:260px;margin:0;font-size:12px}\
td.short{max-width:520px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\
p.lead{font-size:16px}p.hint{color:#555;font-size:13px}td.top{vertical-align:top}";

/// A seed's detail in one line for a table cell: its first line, and the
/// second when the first only introduces it (`not linearizable: key ...`).
fn short_detail(detail: &str) -> String {
    let lines: Vec<&str> = detail.lines().map(str::trim).filter(|l| !l.is_empty()).take(2).collect();
    let text = lines.join(" \u{2014} ");
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}\u{2026}", &text[..at]),
        None => text,
    }
}

/// The link to a seed's report, or a dash.
fn report_cell(row: &SeedRow) -> String {
    match &row.report {
        Some(path) => format!("<a href=\"{}\">report</a>", escape(path)),
        None => "&#8212;".to_string(),
    }
}

/// `12.3` ms, or a dash without ops.
fn ms(p99: Option<f64>) -> String {
    p99.map_or("&#8212;".to_string(), |p| format!("{p:.1}"))
}

/// A table of `rows`, one line each, scrolling inside its box.
fn seed_table(rows: &[&SeedRow], with_check: bool) -> String {
    let mut t = String::from("<div class=\"scroll\"><table><tr><th>seed</th>");
    if with_check {
        t.push_str("<th>check</th>");
    }
    t.push_str("<th>reproduce</th><th>report</th><th>p99 ms</th><th>failed ops</th><th>what it said</th></tr>\n");
    for row in rows {
        t.push_str(&format!("<tr><td class=\"num\">{}</td>", row.seed));
        if with_check {
            t.push_str(&format!("<td class=\"nowrap\">{}</td>", escape(group_of(row))));
        }
        let detail = row.detail.as_deref().unwrap_or("");
        t.push_str(&format!(
            "<td class=\"cmd\"><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"short\" title=\"{}\">{}</td></tr>\n",
            escape(&row.reproduce),
            report_cell(row),
            ms(row.latency_ms_p99),
            row.failed_ops,
            escape(detail),
            escape(&short_detail(detail))
        ));
    }
    t.push_str("</table></div>\n");
    t
}

/// The `sweep.html` page.
pub fn sweep_html(data: &SweepData) -> io::Result<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &data.seeds {
        *counts.entry(row.outcome.as_str()).or_default() += 1;
    }
    let count = |o: &str| counts.get(o).copied().unwrap_or(0);
    let failures: Vec<&SeedRow> = data.seeds.iter().filter(|row| failing(row)).collect();
    let mut groups: BTreeMap<&str, Vec<&SeedRow>> = BTreeMap::new();
    for row in &failures {
        groups.entry(group_of(row)).or_default().push(row);
    }
    let p99s: Vec<f64> = data.seeds.iter().filter_map(|row| row.latency_ms_p99).collect();
    let first = data.seeds.iter().map(|row| row.seed).min().unwrap_or(0);
    let last = data.seeds.iter().map(|row| row.seed).max().unwrap_or(0);
    let total = data.seeds.len();

    let mut page = String::new();
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>");
    page.push_str(&format!(
        "<title>{}</title><style>{CSS}{SWEEP_CSS}</style></head><body>\n",
        escape(&format!("faultline sweep: {}", data.scenario))
    ));
    page.push_str(&format!("<h1>Sweep of {} &#8212; {total} seeds ({first} to {last})</h1>\n", escape(&data.scenario)));
    // The verdict in one sentence, then the counts.
    let verdict = match failures.len() {
        0 if count("inconclusive") > 0 => format!(
            "<p class=\"lead\">No seed failed; {} of {total} seeds had no verdict (a limit was hit, or a check could not tell).</p>\n",
            count("inconclusive")
        ),
        0 => format!("<p class=\"lead\">No seed failed: every check passed on all {total} seeds.</p>\n"),
        n => format!(
            "<p class=\"lead\"><span class=\"fail\">{n} of {total} seeds failed</span>: {}.</p>\n",
            groups.iter().map(|(g, rows)| format!("{} ({})", escape(g), rows.len())).collect::<Vec<_>>().join(", ")
        ),
    };
    page.push_str(&verdict);
    page.push_str("<table><tr>");
    let mut columns = vec![("clean", "pass"), ("failed", "fail"), ("inconclusive", "unknown")];
    for extra in ["simulator bug", "nondeterministic"] {
        if count(extra) > 0 {
            columns.push((extra, "fail"));
        }
    }
    for (outcome, _) in &columns {
        page.push_str(&format!("<th>{outcome}</th>"));
    }
    page.push_str("</tr><tr>");
    for (outcome, class) in &columns {
        page.push_str(&format!("<td class=\"num {class}\">{}</td>", count(outcome)));
    }
    page.push_str("</tr></table>\n");

    page.push_str("<h2>Failures by check</h2>\n");
    if groups.is_empty() {
        page.push_str("<p>No seed failed.</p>\n");
    } else {
        page.push_str(
            "<p class=\"hint\">One row per check that failed. The explanation is the check's full report on its first failing seed; the other seeds of the check are in the table below.</p>\n",
        );
        page.push_str("<table><tr><th>check</th><th>failing seeds</th><th>first seeds</th><th>explanation (first failing seed)</th></tr>\n");
        for (group, rows) in &groups {
            let seeds: Vec<String> = rows.iter().take(10).map(|r| r.seed.to_string()).collect();
            let more = if rows.len() > seeds.len() { ", &#8230;" } else { "" };
            let example = rows[0];
            page.push_str(&format!(
                "<tr><td class=\"top nowrap\"><b>{}</b></td><td class=\"num top\">{} of {total}<br/>({:.0}%)</td><td class=\"top\">{}{more}</td><td class=\"top\"><p style=\"margin:0 0 4px 0\">seed {} {}: <code class=\"cmd\">{}</code></p><pre class=\"detail\">{}</pre></td></tr>\n",
                escape(group),
                rows.len(),
                100.0 * rows.len() as f64 / total.max(1) as f64,
                seeds.join(", "),
                example.seed,
                example.report.as_ref().map_or(String::new(), |p| format!("(<a href=\"{}\">full report</a>)", escape(p))),
                escape(&example.reproduce),
                escape(example.detail.as_deref().unwrap_or("(no detail)"))
            ));
        }
        page.push_str("</table>\n");
    }

    page.push_str("<h2>Full reports</h2>\n");
    let reported: Vec<&SeedRow> = data.seeds.iter().filter(|row| row.report.is_some()).collect();
    if reported.is_empty() {
        page.push_str(&match (failures.is_empty(), data.reports) {
            (true, _) => "<p>No seed failed, so no full report was written; a seed's command below writes its report (<code>report.html</code>, history, timeline).</p>\n".to_string(),
            (false, 0) => "<p>None written (<code>--reports 0</code>). A seed's command writes its full report.</p>\n".to_string(),
            (false, _) => "<p>None found. A seed's command writes its full report.</p>\n".to_string(),
        });
    } else {
        page.push_str(&format!(
            "<p>The first {} failing seeds, each with its timeline, history and plots (<code>--reports N</code> sets how many):</p>\n<ul>\n",
            reported.len()
        ));
        for row in &reported {
            page.push_str(&format!(
                "<li><a href=\"{}\">seed {}</a> &#8212; {}</li>\n",
                escape(row.report.as_deref().unwrap_or("")),
                row.seed,
                escape(group_of(row))
            ));
        }
        page.push_str("</ul>\n");
    }

    if !failures.is_empty() {
        page.push_str(&format!(
            "<h2>Failing seeds ({})</h2>\n<p class=\"hint\">Each command reruns its seed and writes its full report. Hover a detail for all of it.</p>\n",
            failures.len()
        ));
        page.push_str(&seed_table(&failures, true));
    }
    let inconclusive: Vec<&SeedRow> = data.seeds.iter().filter(|row| row.outcome == "inconclusive").collect();
    if !inconclusive.is_empty() {
        page.push_str(&format!("<h2>Inconclusive seeds ({})</h2>\n", inconclusive.len()));
        page.push_str(&seed_table(&inconclusive, false));
    }

    page.push_str("<h2>Outlier seeds</h2>\n");
    let out = outliers(data.seeds.iter().map(|r| (r.seed, r.latency_ms_p99, r.failed_ops)), OUTLIERS_SHOWN);
    if out.p99.is_empty() && out.failed_ops.is_empty() {
        page.push_str("<p>No seed had client operations, so none stands out by latency or failed operations.</p>\n");
    } else {
        page.push_str("<p class=\"hint\">The seeds that stand out among all, failing or not: rerun these first when nothing failed.</p>\n");
        page.push_str("<div class=\"wide\"><table><tr><th>outlier</th><th>seed</th><th>value</th><th>outcome</th><th>reproduce</th></tr>\n");
        let by_seed: BTreeMap<u64, &SeedRow> = data.seeds.iter().map(|r| (r.seed, r)).collect();
        let rows = out.p99.iter().map(|(s, p)| ("highest p99 latency", *s, format!("{p:.1} ms"))).chain(
            out.failed_ops.iter().map(|(s, n)| {
                let ops = by_seed.get(s).map_or(0, |r| r.ops);
                ("most failed operations", *s, format!("{n} failed, {ops} ok"))
            }),
        );
        for (kind, seed, value) in rows {
            let row = by_seed[&seed];
            let class = match row.outcome.as_str() {
                "clean" => "pass",
                "inconclusive" => "unknown",
                _ => "fail",
            };
            page.push_str(&format!(
                "<tr><td class=\"nowrap\">{kind}</td><td class=\"num\">{seed}</td><td class=\"num nowrap\">{value}</td><td class=\"{class}\">{}</td><td class=\"cmd\"><code>{}</code></td></tr>\n",
                escape(&row.outcome),
                escape(&row.reproduce)
            ));
        }
        page.push_str("</table></div>\n");
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
