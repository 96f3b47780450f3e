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
use super::timeline::FONT;
use std::collections::{BTreeMap, BTreeSet};

/// The per-process view of a linearizability counterexample, like
/// Porcupine's: one row per process, a bar from invoke to completion per op
/// (open ops run to the right edge, dashed), each labelled with its
/// operation (inside the bar when it fits, else beside it), the op that
/// could not be placed in red with class `op highlighted`, a time axis
/// below. Given the witness's ops, it shows exactly what the text above it
/// names.
pub fn lin_window_svg(ops: &[LinOp]) -> String {
    const LEFT_PX: f64 = 100.0;
    const BODY_PX: f64 = 1100.0;
    const ROW_PX: f64 = 58.0;
    const TOP_PX: f64 = 40.0;
    /// Average width of a 12 px sans-serif character, for fitting labels.
    const CHAR_PX: f64 = 6.8;
    let processes: BTreeSet<u64> = ops.iter().map(|op| op.process).collect();
    let row: BTreeMap<u64, usize> = processes.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let start = ops.iter().map(|op| op.invoke_ns).min().unwrap_or(0);
    let end = ops.iter().map(|op| op.complete_ns.unwrap_or(op.invoke_ns)).max().unwrap_or(1).max(start + 1);
    // Open ops extend 5% past the last completion.
    let right = end + (end - start) / 20 + 1;
    let width = (LEFT_PX + BODY_PX + 40.0) as u32;
    let rows_bottom = TOP_PX + ROW_PX * processes.len().max(1) as f64;
    let height = (rows_bottom + 70.0) as u32;
    let x_of = |t: u64| LEFT_PX + (t - start) as f64 / (right - start) as f64 * BODY_PX;
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}"><rect class="background" x="0" y="0" width="{width}" height="{height}" fill="#FFFFFF"/><text x="{LEFT_PX}" y="24" font-size="14" fill="#222222">the witness's operations, per client process (time flows right)</text>"##
    );
    for (&process, &index) in &row {
        let y = TOP_PX + ROW_PX * index as f64;
        out.push_str(&format!(
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end" fill="#222222">process {process}</text><line x1="{LEFT_PX}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#DDDDDD"/>"##,
            LEFT_PX - 8.0,
            y + 26.0,
            y + ROW_PX - 2.0,
            LEFT_PX + BODY_PX,
            y + ROW_PX - 2.0
        ));
    }
    // Each row's bars, for the labels to keep clear of; and each row's placed
    // labels, on the bars' line and on the line under them.
    let bar = |op: &LinOp| {
        let x0 = x_of(op.invoke_ns);
        (x0, x_of(op.complete_ns.unwrap_or(right)).max(x0 + 3.0))
    };
    let mut bars: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
    for op in ops {
        bars.entry(op.process).or_default().push(bar(op));
    }
    let mut placed: BTreeMap<(u64, u8), Vec<(f64, f64)>> = BTreeMap::new();
    for op in ops {
        let y = TOP_PX + ROW_PX * row[&op.process] as f64 + 6.0;
        let (x0, x1) = bar(op);
        let (class, fill, stroke, word) = if op.highlighted {
            ("op highlighted", "#F8C8C8", "#d62728", "could not be placed")
        } else {
            match op.outcome.as_str() {
                "ok" => ("op", "#D5EBD5", "#2a7a2a", "ok"),
                "fail" => ("op", "#EEEEEE", "#666666", "did not take effect"),
                _ => ("op", "#FFE5CC", "#b35900", "outcome unknown"),
            }
        };
        let dash = if op.complete_ns.is_none() { r#" stroke-dasharray="5 3""# } else { "" };
        let value = match &op.value {
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        let key = op.key.as_deref().map(|k| format!("{k} ")).unwrap_or_default();
        let label = op.label.clone().unwrap_or_else(|| format!("p{} {} {key}{value}", op.process, op.f));
        let when = match op.complete_ns {
            Some(c) => format!("{} s to {} s", seconds(op.invoke_ns), seconds(c)),
            None => format!("from {} s, never completed", seconds(op.invoke_ns)),
        };
        let title = format!("{label}: {word}, {when}");
        // Inside the bar when it fits; else beside it, right or left, where
        // no other bar or label is; else on the line under the bars, after
        // the labels already there.
        let text_px = label.chars().count() as f64 * CHAR_PX;
        let overlaps = |a: (f64, f64), b: &(f64, f64)| a.0 < b.1 && b.0 < a.1;
        let free = |span: (f64, f64), line: u8| {
            span.0 >= 4.0
                && span.1 <= LEFT_PX + BODY_PX + 36.0
                && placed.get(&(op.process, line)).is_none_or(|v| !v.iter().any(|b| overlaps(span, b)))
                && (line == 1 || !bars[&op.process].iter().any(|b| *b != (x0, x1) && overlaps(span, b)))
        };
        let right_span = (x1 + 4.0, x1 + 6.0 + text_px);
        let left_span = (x0 - 6.0 - text_px, x0 - 4.0);
        let (text_x, line, text_fill) = if text_px + 8.0 <= x1 - x0 {
            (x0 + 4.0, 0, stroke)
        } else if free(right_span, 0) {
            (right_span.0 + 2.0, 0, "#222222")
        } else if free(left_span, 0) {
            (left_span.0, 0, "#222222")
        } else {
            let after = placed.get(&(op.process, 1)).map_or(0.0, |v| v.iter().map(|b| b.1 + 8.0).fold(0.0, f64::max));
            (x0.max(after), 1, "#222222")
        };
        placed.entry((op.process, line)).or_default().push((text_x - 2.0, text_x + text_px));
        let (anchor, text_y) = ("start", if line == 0 { y + 20.0 } else { y + 46.0 });
        out.push_str(&format!(
            r#"<g class="{class}"><title>{}</title><rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="30" rx="3" fill="{fill}" stroke="{stroke}" stroke-width="{}"{dash}/><text x="{text_x:.1}" y="{:.1}" font-size="12" text-anchor="{anchor}" fill="{text_fill}">{}</text></g>"#,
            escape(&title),
            x1 - x0,
            if op.highlighted { 2.5 } else { 1.0 },
            text_y,
            escape(&label)
        ));
    }
    // The time axis: five ticks, in seconds of simulated time.
    let axis_y = rows_bottom + 8.0;
    out.push_str(&format!(
        r##"<line x1="{LEFT_PX}" y1="{axis_y:.1}" x2="{:.1}" y2="{axis_y:.1}" stroke="#888888"/>"##,
        LEFT_PX + BODY_PX
    ));
    for k in 0..=4u64 {
        let t = start + (end - start) * k / 4;
        let x = x_of(t);
        out.push_str(&format!(
            r##"<line x1="{x:.1}" y1="{axis_y:.1}" x2="{x:.1}" y2="{:.1}" stroke="#888888"/><text x="{x:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#444444">{} s</text>"##,
            axis_y + 5.0,
            axis_y + 19.0,
            super::plots::fmt_num(t as f64 / NS_PER_S as f64)
        ));
    }
    out.push_str(&format!(
        r##"<text x="{LEFT_PX}" y="{:.1}" font-size="12" fill="#555555">green: completed ok; red: the op that could not be placed; grey: did not take effect; orange: outcome unknown; dashed: never completed. Hover a bar for its times.</text></svg>"##,
        height as f64 - 12.0,
    ));
    out
}

/// Simulated seconds with millisecond digits, or microsecond ones when
/// needed to tell close times apart.
fn seconds(ns: u64) -> String {
    if ns.is_multiple_of(1_000_000) {
        format!("{:.3}", ns as f64 / NS_PER_S as f64)
    } else {
        format!("{:.6}", ns as f64 / NS_PER_S as f64)
    }
}
