//! The counterexample chart of a linearizability failure: the witness's
//! operations drawn per process, like Porcupine's view, under the words that
//! explain them.
//!
//! Why it is its own file: the message timeline (`timeline.rs`) draws what
//! the network did; this draws what the clients saw, from the shrunk witness
//! the checker proves is still non-linearizable, so the chart and the text
//! above it name the same operations.

use super::data::{LinOp, NS_PER_S};
use super::html::escape;
use super::timeline::{cut, FONT};
use std::collections::{BTreeMap, BTreeSet};

/// The per-process view of a linearizability counterexample window, like
/// Porcupine's: one row per process, a bar from invoke to completion per op
/// (open ops run to the right edge, hatched by a dashed outline), the op that
/// could not be placed in red with class `op highlighted`.
pub fn lin_window_svg(ops: &[LinOp]) -> String {
    let processes: BTreeSet<u64> = ops.iter().map(|op| op.process).collect();
    let row: BTreeMap<u64, usize> = processes.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let start = ops.iter().map(|op| op.invoke_ns).min().unwrap_or(0);
    let end = ops.iter().map(|op| op.complete_ns.unwrap_or(op.invoke_ns)).max().unwrap_or(1).max(start + 1);
    // Open ops extend 5% past the last completion.
    let right = end + (end - start) / 20 + 1;
    let left_px = 90.0;
    let body_px = 860.0;
    let row_px = 44.0;
    let width = (left_px + body_px + 30.0) as u32;
    let height = (40.0 + row_px * processes.len().max(1) as f64 + 40.0) as u32;
    let x_of = |t: u64| left_px + (t - start) as f64 / (right - start) as f64 * body_px;
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}"><rect class="background" x="0" y="0" width="{width}" height="{height}" fill="#FFFFFF"/><text x="{left_px}" y="22" font-size="14" fill="#222222">linearizability counterexample window (time flows right)</text>"##
    );
    for (&process, &index) in &row {
        let y = 40.0 + row_px * index as f64;
        out.push_str(&format!(
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end" fill="#222222">process {process}</text><line x1="{left_px}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#DDDDDD"/>"##,
            left_px - 8.0,
            y + 22.0,
            y + row_px - 2.0,
            left_px + body_px,
            y + row_px - 2.0
        ));
    }
    for op in ops {
        let y = 40.0 + row_px * row[&op.process] as f64 + 6.0;
        let x0 = x_of(op.invoke_ns);
        let x1 = x_of(op.complete_ns.unwrap_or(right)).max(x0 + 3.0);
        let (class, fill, stroke) = if op.highlighted {
            ("op highlighted", "#F8C8C8", "#d62728")
        } else {
            match op.outcome.as_str() {
                "ok" => ("op", "#D5EBD5", "#2ca02c"),
                "fail" => ("op", "#EEEEEE", "#7f7f7f"),
                _ => ("op", "#FFE5CC", "#ff7f0e"),
            }
        };
        let dash = if op.complete_ns.is_none() { r#" stroke-dasharray="5 3""# } else { "" };
        let value = match &op.value {
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        let key = op.key.as_deref().map(|k| format!("{k} ")).unwrap_or_default();
        let label = format!("{} {key}{value} {}", op.f, op.outcome);
        out.push_str(&format!(
            r#"<g class="{class}"><title>{}</title><rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="30" rx="3" fill="{fill}" stroke="{stroke}" stroke-width="{}"{dash}/><text x="{:.1}" y="{:.1}" font-size="11" fill="{stroke}">{}</text></g>"#,
            escape(&label),
            x1 - x0,
            if op.highlighted { 2.5 } else { 1.0 },
            x0 + 4.0,
            y + 19.0,
            escape(&cut(&label, ((x1 - x0) / 6.5).max(1.0) as usize))
        ));
    }
    out.push_str(&format!(
        r##"<text x="{left_px}" y="{:.1}" font-size="11" fill="#555555">{} s to {} s of simulated time; dashed = never completed; red = the op that could not be placed</text></svg>"##,
        height as f64 - 14.0,
        super::plots::fmt_num(start as f64 / NS_PER_S as f64),
        super::plots::fmt_num(end as f64 / NS_PER_S as f64)
    ));
    out
}
