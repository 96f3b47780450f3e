//! `report.html`: one self-contained page per run, and `write_all`, which
//! writes every SVG of a run and the page.
//!
//! Why it is shaped so: the report is mailed, attached to issues and opened
//! from CI artefacts, so it must stand alone: inline CSS, inline SVG (with the
//! `xmlns` attribute stripped, which HTML does not need), no scripts, no
//! fonts, no links, no images. The page is assembled from strings in a fixed
//! order from `BTreeMap`s and vectors, with no clock, so the same run folder
//! gives the same bytes. Text is escaped at the one place it enters markup.
//! A run without client operations (a protocol with no clients, or none in
//! its history) gets one line saying so in place of the four latency and
//! rate charts, and every other section as usual.

use super::data::{latency_table, Outcome, RunData, NS_PER_S};
use super::plots;
use super::timeline::{default_timeline_window, events_svg, timeline_svg, ARROW_CAP};
use super::witness::lin_window_svg;
use std::io;
use std::path::{Path, PathBuf};

/// Escapes text for HTML and SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Makes a standalone SVG fit for inlining in HTML: drops any XML prolog and
/// the `xmlns` attribute (HTML parsers know SVG), so the page names no URL.
pub fn inline_svg(svg: &str) -> String {
    let body = match svg.find("<svg") {
        Some(start) => &svg[start..],
        None => svg,
    };
    body.replacen(r#" xmlns="http://www.w3.org/2000/svg""#, "", 1)
}

/// The page's style sheet.
pub(crate) const CSS: &str = "body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}\
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}\
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.pass{background:#d5ebd5;color:#1a5e1a;font-weight:bold}.fail{background:#f8c8c8;color:#8b0000;font-weight:bold}\
.unknown{background:#ffe5cc;color:#8a4b00;font-weight:bold}.noop{background:#eeeeee;color:#555555}\
pre,code{background:#f4f4f4;padding:2px 4px;white-space:pre-wrap;word-break:break-all}\
.plot{margin:12px 0;overflow-x:auto}.violation{border:2px solid #d62728;padding:8px 12px;background:#fff4f4}\
p.no-ops{color:#555;font-style:italic}";

fn verdict_class(verdict: &str) -> &'static str {
    match verdict {
        "pass" => "pass",
        "fail" => "fail",
        _ => "unknown",
    }
}

/// Milliseconds with three decimals; `-` for a quantile of no samples (NaN).
fn fmt_ms(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.3}")
    } else {
        "-".to_string()
    }
}

/// The charts of client operations: shown in the report only when the run has some.
pub const CLIENT_CHARTS: [&str; 4] = ["latency.svg", "latency-quantiles.svg", "latency-cdf.svg", "rate.svg"];

fn fmt_s(ns: u64) -> String {
    format!("{:.3}", ns as f64 / NS_PER_S as f64)
}

/// The charts of a run, in report order: (file name, heading, SVG).
pub fn run_svgs(data: &RunData, timeline_window: (u64, u64)) -> io::Result<Vec<(String, String, String)>> {
    // The protocol's own charts first: they tell its story.
    let mut svgs: Vec<(String, String, String)> = data
        .charts
        .iter()
        .map(|c| (format!("{}.svg", chart_stem(&c.name)), c.title.clone(), super::spans::span_chart_svg(c, data)))
        .collect();
    svgs.extend([
        ("latency.svg".into(), "Latency of every operation".into(), plots::latency_svg(data)?),
        ("latency-quantiles.svg".into(), "Latency quantiles over time".into(), plots::latency_quantiles_svg(data)?),
        ("latency-cdf.svg".into(), "Latency distribution".into(), plots::latency_cdf_svg(data)?),
        ("rate.svg".into(), "Throughput".into(), plots::rate_svg(data)?),
        ("events.svg".into(), "Notable events by node (whole run)".into(), events_svg(data)),
        (
            "timeline.svg".into(),
            format!("Messages from {} s to {} s", fmt_s(timeline_window.0), fmt_s(timeline_window.1)),
            timeline_svg(data, timeline_window, ARROW_CAP),
        ),
    ]);
    Ok(svgs)
}

/// A chart's file stem as written: letters, digits, `-` and `_` only (a
/// hand-edited `charts.json` must not name a path), prefixed so it cannot
/// overwrite one of the report's own files.
fn chart_stem(name: &str) -> String {
    let clean: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    format!("chart-{clean}")
}

/// The run table's count of client operations: all of the history's, with
/// how many completed ok; `summary.json`'s `ops` (ok ones) only where it
/// says something the history does not.
fn client_ops(data: &RunData) -> String {
    let saved = data.summary.ops;
    if data.ops.is_empty() {
        return if saved > 0 { format!("{saved} ok (summary.json; no history to draw)") } else { "none".to_string() };
    }
    let ok = data.ops.iter().filter(|op| op.outcome == Outcome::Ok).count() as u64;
    if saved == 0 || saved == ok {
        format!("{} ({ok} ok)", data.ops.len())
    } else {
        format!("{} ({ok} ok; summary.json counts {saved} ok)", data.ops.len())
    }
}

/// The whole `report.html` page for a run, given its charts from `run_svgs`.
pub fn report_html(data: &RunData, svgs: &[(String, String, String)]) -> String {
    let summary = &data.summary;
    let mut page = String::with_capacity(1 << 20);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>");
    page.push_str(&format!(
        "<title>{}</title><style>{CSS}</style></head><body>\n",
        escape(&format!("faultline: {} seed {}", summary.scenario, summary.seed))
    ));
    page.push_str(&format!("<h1>{} &#8212; seed {}</h1>\n", escape(&summary.scenario), summary.seed));
    page.push_str("<table>");
    let mut row = |name: &str, value: String| {
        page.push_str(&format!("<tr><th>{}</th><td>{value}</td></tr>", escape(name)));
    };
    row("protocol", escape(&summary.protocol));
    row("seed", summary.seed.to_string());
    row("trace hash", format!("<code>{}</code>", escape(&summary.trace_hash)));
    row("bugs", if summary.bugs.is_empty() { "none".to_string() } else { escape(&summary.bugs.join(", ")) });
    if let Some(swarm) = &summary.swarm {
        row("swarm draw", format!("<code>{}</code>", escape(&swarm.to_string())));
    }
    row("reproduce", format!("<code>{}</code>", escape(&summary.reproduce)));
    page.push_str("</table>\n");

    // Checks.
    page.push_str("<h2>Checks</h2><table><tr><th>check</th><th>verdict</th></tr>");
    for (name, verdict) in &summary.checks {
        page.push_str(&format!(
            "<tr><td>{}</td><td class=\"{}\">{}</td></tr>",
            escape(name),
            verdict_class(verdict),
            escape(verdict)
        ));
    }
    page.push_str("</table>\n");
    if let Some(violation) = &summary.violation {
        page.push_str(&format!(
            "<div class=\"violation\"><b>Violation of {}</b> at {} s (event {}, node {}):<pre>{}</pre></div>\n",
            escape(&violation.check),
            fmt_s(violation.time_ns),
            violation.event_index.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
            violation.node.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
            escape(&violation.detail)
        ));
    }
    let lin_failed = summary.checks.get("linearizability").map(String::as_str) == Some("fail");
    if lin_failed || summary.lin_window.is_some() || summary.lin_violation.is_some() {
        page.push_str("<h2>Linearizability counterexample</h2>\n");
        if let Some(culprit) = &summary.lin_culprit {
            page.push_str(&format!(
                "<div class=\"violation\"><b>Not linearizable.</b> {}{}</div>\n",
                escape(culprit),
                lin_faults(summary)
            ));
        }
        match &summary.lin_window {
            Some(ops) if !ops.is_empty() => {
                page.push_str(&format!(
                    "<p>The shrunk witness (<code>history-min.jsonl</code>, {} operations): a part of the history \
                     that is still not linearizable, for the same reason.</p>\n",
                    ops.len()
                ));
                page.push_str(&format!("<div class=\"plot\">{}</div>\n", inline_svg(&lin_window_svg(ops))));
            }
            _ => page.push_str("<p>The run folder carries no <code>lin_window</code> to draw.</p>\n"),
        }
        if let Some(text) = &summary.lin_violation {
            page.push_str(&format!(
                "<details><summary>The checker's report on the witness</summary><pre>{}</pre></details>\n",
                escape(text)
            ));
        }
    }

    // Run statistics.
    page.push_str("<h2>Run</h2><table>");
    // See `RunData::clients` for what is counted, and when it is the summary's field.
    let (clients_label, clients) = match data.clients() {
        Some((label, count)) => (label, count.to_string()),
        None => ("clients", "none".to_string()),
    };
    let stats: [(&str, String); 8] = [
        ("stop", escape(&summary.stop)),
        ("simulated seconds", format!("{:.3}", summary.sim_seconds)),
        ("wall seconds", format!("{:.3}", summary.wall_seconds)),
        ("events", summary.events.to_string()),
        ("steps", summary.steps.to_string()),
        ("client ops", client_ops(data)),
        ("nodes", summary.nodes.map(|n| n.to_string()).unwrap_or_else(|| "-".into())),
        (clients_label, clients),
    ];
    for (name, value) in stats {
        page.push_str(&format!("<tr><th>{name}</th><td class=\"num\">{value}</td></tr>"));
    }
    page.push_str("</table>\n<table><tr>");
    let messages = &summary.messages;
    let counters = [
        ("sent", messages.sent),
        ("delivered", messages.delivered),
        ("lost", messages.lost),
        ("cut", messages.cut),
        ("down", messages.down),
        ("duplicated", messages.duplicated),
    ];
    for (name, _) in counters {
        page.push_str(&format!("<th>messages {name}</th>"));
    }
    page.push_str("</tr><tr>");
    for (_, value) in counters {
        page.push_str(&format!("<td class=\"num\">{value}</td>"));
    }
    page.push_str("</tr></table>\n");
    if !summary.protocol_stats.is_empty() {
        page.push_str(&format!("<h2>{} numbers</h2><table>", escape(&summary.protocol)));
        for (name, value) in &summary.protocol_stats {
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => match n.as_f64() {
                    Some(f) if n.is_f64() => format!("{f:.3}"),
                    _ => n.to_string(),
                },
                v => v.to_string(),
            };
            page.push_str(&format!("<tr><th>{}</th><td class=\"num\">{}</td></tr>", escape(name), escape(&text)));
        }
        page.push_str("</table>\n");
    }

    // Fault schedule.
    page.push_str("<h2>Fault schedule</h2>");
    if summary.faults.is_empty() {
        page.push_str("<p>No faults.</p>\n");
    } else {
        page.push_str("<table><tr><th>kind</th><th>nodes</th><th>start (s)</th><th>end (s)</th><th>detail</th></tr>");
        for fault in &summary.faults {
            let nodes: Vec<String> = fault.nodes.iter().map(|n| format!("n{n}")).collect();
            page.push_str(&format!(
                "<tr><td><span style=\"color:{}\">&#9632;</span> {}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                plots::fault_color(&fault.kind),
                escape(&fault.kind),
                escape(&nodes.join(", ")),
                fmt_s(fault.start_ns),
                fault.end_ns.map(fmt_s).unwrap_or_else(|| "end of run".into()),
                escape(&super::plots::fault_words(&fault.detail))
            ));
        }
        page.push_str("</table>\n");
    }

    // Latency statistics.
    let table = latency_table(&data.ops);
    let no_ops = plots::no_ops_note(data);
    let nothing = no_ops.is_some() && summary.latency.is_empty();
    page.push_str(if nothing { "<h2>Client operations</h2>" } else { "<h2>Latency (ms)</h2>" });
    if let Some(note) = &no_ops {
        // In place of the four client-operation charts, which follow.
        page.push_str(&format!("<p class=\"no-ops\">{}</p>\n", escape(note)));
    }
    if table.is_empty() {
        if !summary.latency.is_empty() {
            page.push_str("<p>From <code>summary.json</code>:</p>");
            page.push_str("<table><tr><th>kind</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>");
            for (kind, q) in &summary.latency {
                page.push_str(&format!(
                    "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    escape(kind),
                    fmt_ms(q.p50),
                    fmt_ms(q.p90),
                    fmt_ms(q.p99),
                    fmt_ms(q.max)
                ));
            }
            page.push_str("</table>\n");
        }
    } else {
        page.push_str("<table><tr><th>kind</th><th>outcome</th><th>count</th><th>open</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>");
        for (kind, outcome, stats) in &table {
            page.push_str(&format!(
                "<tr><td>{}</td><td class=\"{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(kind),
                match outcome {
                    Outcome::Ok => "pass",
                    Outcome::Fail => "noop",
                    Outcome::Info => "unknown",
                },
                match outcome {
                    Outcome::Fail => "fail (did not take effect)",
                    _ => outcome.name(),
                },
                stats.count,
                stats.open,
                fmt_ms(stats.p50),
                fmt_ms(stats.p90),
                fmt_ms(stats.p99),
                fmt_ms(stats.max)
            ));
        }
        page.push_str("</table>\n");
    }

    // Charts.
    for (name, heading, svg) in svgs {
        if no_ops.is_some() && CLIENT_CHARTS.contains(&name.as_str()) {
            continue;
        }
        page.push_str(&format!("<h2>{}</h2>", escape(heading)));
        if let Some(chart) = data.charts.iter().find(|c| format!("{}.svg", chart_stem(&c.name)) == *name) {
            if !chart.about.is_empty() {
                page.push_str(&format!("<p class=\"about\">{}</p>", escape(&chart.about)));
            }
        }
        page.push_str(&format!("<div class=\"plot\">{}</div>\n", inline_svg(svg)));
    }
    page.push_str(&format!("<p>Reproduce: <code>{}</code></p>\n</body></html>\n", escape(&summary.reproduce)));
    page
}

/// Writes `latency.svg`, `latency-quantiles.svg`, `latency-cdf.svg`,
/// `rate.svg`, `timeline.svg` and `report.html` into `dir` (created if
/// missing) and returns their paths in that order. The timeline covers
/// `timeline_window` (ns), or `default_timeline_window` when `None`.
pub fn write_all(data: &RunData, dir: &Path, timeline_window: Option<(u64, u64)>) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let window = timeline_window.unwrap_or_else(|| default_timeline_window(data));
    let svgs = run_svgs(data, window)?;
    let mut paths = Vec::with_capacity(svgs.len() + 1);
    for (name, _, svg) in &svgs {
        let path = dir.join(name);
        std::fs::write(&path, svg)?;
        paths.push(path);
    }
    let path = dir.join("report.html");
    std::fs::write(&path, report_html(data, &svgs))?;
    paths.push(path);
    Ok(paths)
}

/// The faults in force around a linearizability witness (from two seconds
/// before its first op to its last), as a sentence for its text box.
fn lin_faults(summary: &super::data::Summary) -> String {
    let Some(ops) = summary.lin_window.as_ref().filter(|ops| !ops.is_empty()) else { return String::new() };
    let start = ops.iter().map(|o| o.invoke_ns).min().unwrap_or(0);
    let end = ops.iter().map(|o| o.complete_ns.unwrap_or(o.invoke_ns)).max().unwrap_or(start);
    let from = start.saturating_sub(crate::check::FAULTS_BEFORE_NS);
    let near: Vec<String> = summary
        .faults
        .iter()
        .filter(|f| f.start_ns <= end && f.end_ns.is_none_or(|e| e >= from))
        .map(|f| {
            let until = f.end_ns.map_or("on".to_string(), |e| format!("to {} s", fmt_s(e)));
            format!("{} ({} s {until})", escape(&super::plots::fault_words(&f.detail)), fmt_s(f.start_ns))
        })
        .collect();
    if near.is_empty() {
        "<br>No fault was in force in the 2 s before the witness's first operation or during it.".to_string()
    } else {
        format!("<br>Faults in force around it: {}.", near.join("; "))
    }
}
