//! A protocol's span charts (`charts.json`, written from its reporters'
//! [`SpanChart`]s): lanes of intervals and instants over the whole run,
//! with the fault windows that concern each lane shaded behind it. One
//! drawing serves every protocol: a 2PC participant's prepared and
//! in-doubt time, the clients that believed they held a lock.
//!
//! Why it is shaped so: like `events.svg`, these are lanes over simulated
//! time, not charts with axes, so they are plain SVG with classes tests
//! can count (`span`, `mark`, `fault-window`). Spans are capped per chart
//! (`SPAN_CAP`) and the rest announced, so a long run stays readable; a
//! label is drawn inside its bar only when it fits, and every span and
//! mark carries its full text as a tooltip. Fault windows are labelled in
//! a band above the lanes with the nodes on each side (`partition {0,1} |
//! {2,3,4}`), placed by the timeline's label layout so no two overlap. The
//! chart is as wide as the page (`timeline::PAGE_WIDTH_PX`).

use std::collections::BTreeSet;

use super::data::{RunData, NS_PER_S};
use super::html::escape;
use super::timeline::{place_labels, text_size, LabelBox, PAGE_WIDTH_PX};
use crate::check::SpanChart;

/// Most spans and marks drawn in one chart.
pub const SPAN_CAP: usize = 4_000;

const FONT: &str = "sans-serif";
const WIDTH: f64 = PAGE_WIDTH_PX;
const LEFT_PX: f64 = 130.0;
/// Rows of fault labels between the title and the lanes.
const FAULT_ROWS: usize = 2;
const FAULT_ROW_PX: f64 = 16.0;
const TOP_PX: f64 = 34.0 + FAULT_ROW_PX * FAULT_ROWS as f64;
const LANE_PX: f64 = 30.0;
const BAR_PX: f64 = 16.0;

/// Draws one chart of `data`'s run.
pub fn span_chart_svg(chart: &SpanChart, data: &RunData) -> String {
    let end_ns = data.end_ns().max(1);
    let lanes = chart.lanes.len().max(1);
    let plot_w = WIDTH - LEFT_PX - 30.0;
    let height = TOP_PX + LANE_PX * lanes as f64 + 70.0;
    let x_of = |t: u64| LEFT_PX + plot_w * (t.min(end_ns) as f64 / end_ns as f64);
    let lane_top = |i: usize| TOP_PX + LANE_PX * i as f64;
    let mut out = String::with_capacity(16 * 1024);
    out.push_str(&format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="{FONT}">"##
    ));
    out.push_str(&format!(
        r##"<text x="{LEFT_PX}" y="22" font-size="15">{}</text>"##,
        escape(&format!("{} - {} seed {}", chart.title, data.summary.scenario, data.summary.seed))
    ));
    // Faults: across the chart for the `shade` nodes, else on the lanes of the nodes they hit.
    let shade: BTreeSet<u64> = chart.shade.iter().map(|&n| n as u64).collect();
    let band = LabelBox { x: LEFT_PX, y: 30.0, w: WIDTH - LEFT_PX, h: FAULT_ROW_PX * FAULT_ROWS as f64 + 4.0 };
    let mut wants = Vec::new();
    let mut words = Vec::new();
    for fault in &data.summary.faults {
        let (x0, x1) = (x_of(fault.start_ns), x_of(fault.end_ns.unwrap_or(end_ns)));
        let color = super::plots::fault_color(&fault.kind);
        let mut rows: Vec<(f64, f64)> = Vec::new();
        if fault.nodes.iter().any(|n| shade.contains(n)) {
            rows.push((lane_top(0), LANE_PX * lanes as f64));
        } else {
            for (i, lane) in chart.lanes.iter().enumerate() {
                if lane.node.is_some_and(|n| fault.nodes.contains(&(n as u64))) {
                    rows.push((lane_top(i), LANE_PX));
                }
            }
        }
        if !rows.is_empty() {
            // Labelled when drawn.
            let text =
                if fault.detail.is_empty() { fault.kind.clone() } else { super::plots::fault_words(&fault.detail) };
            let (w, h) = text_size(&text, 12.0);
            let rows = (0..FAULT_ROWS).map(|row| LabelBox { x: x0, y: 32.0 + FAULT_ROW_PX * row as f64, w, h });
            wants.push((rows.collect(), band));
            words.push((text, color));
        }
        for (top, h) in rows {
            out.push_str(&format!(
                r##"<rect class="fault-window" x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{h:.1}" fill="{color}" fill-opacity="0.18"><title>{}</title></rect>"##,
                (x1 - x0).max(1.0),
                escape(&fault.detail)
            ));
        }
    }
    for ((text, color), spot) in words.iter().zip(place_labels(&wants)) {
        if let Some(b) = spot {
            out.push_str(&format!(
                r##"<text class="fault-label" x="{:.1}" y="{:.1}" font-size="12" fill="{color}">{}</text>"##,
                b.x + 2.0,
                b.y + b.h - 3.5,
                escape(text)
            ));
        }
    }
    let mut drawn = 0usize;
    let total: usize = chart.lanes.iter().map(|l| l.spans.len() + l.marks.len()).sum();
    for (i, lane) in chart.lanes.iter().enumerate() {
        let mid = lane_top(i) + LANE_PX / 2.0;
        out.push_str(&format!(
            r##"<line x1="{LEFT_PX}" y1="{mid:.1}" x2="{:.1}" y2="{mid:.1}" stroke="#dddddd"/><text x="{:.1}" y="{:.1}" font-size="13" text-anchor="end">{}</text>"##,
            LEFT_PX + plot_w,
            LEFT_PX - 8.0,
            mid + 4.0,
            escape(&cut(&lane.label, 18))
        ));
        for span in &lane.spans {
            if drawn == SPAN_CAP {
                break;
            }
            drawn += 1;
            let (x0, x1) = (x_of(span.start_ns), x_of(span.end_ns.max(span.start_ns)));
            let w = (x1 - x0).max(1.5);
            let tip = format!("{} to {} s: {}", seconds(span.start_ns), seconds(span.end_ns), span.label);
            out.push_str(&format!(
                r##"<g class="span"><rect x="{x0:.1}" y="{:.1}" width="{w:.1}" height="{BAR_PX}" rx="2" fill="{}" fill-opacity="0.85"/>"##,
                mid - BAR_PX / 2.0,
                escape(&span.color)
            ));
            // Label only bars the label fits in.
            if !span.label.is_empty() && w > text_size(&span.label, 11.0).0 + 4.0 {
                out.push_str(&format!(
                    r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="#ffffff">{}</text>"##,
                    x0 + 3.0,
                    mid + 3.5,
                    escape(&span.label)
                ));
            }
            out.push_str(&format!("<title>{}</title></g>", escape(&tip)));
        }
        for mark in &lane.marks {
            if drawn == SPAN_CAP {
                break;
            }
            drawn += 1;
            let x = x_of(mark.time_ns);
            out.push_str(&format!(
                r##"<g class="mark"><path d="M{x:.1},{:.1} l5,8 l-10,0 z" fill="{}"/><title>{}</title></g>"##,
                mid - 4.0,
                escape(&mark.color),
                escape(&format!("{} s: {}", seconds(mark.time_ns), mark.label))
            ));
        }
    }
    // Time axis, in seconds.
    let axis_y = TOP_PX + LANE_PX * lanes as f64 + 14.0;
    for i in 0..=10u64 {
        let t = end_ns / 10 * i;
        out.push_str(&format!(
            r##"<text x="{:.1}" y="{axis_y:.1}" font-size="12" text-anchor="middle">{}</text>"##,
            x_of(t),
            seconds(t)
        ));
    }
    out.push_str(&format!(
        r##"<text x="{:.1}" y="{:.1}" font-size="13" text-anchor="middle">simulated time (s)</text>"##,
        LEFT_PX + plot_w / 2.0,
        axis_y + 20.0
    ));
    if total > drawn {
        out.push_str(&format!(
            r##"<text class="more" x="{LEFT_PX}" y="{:.1}" font-size="12" fill="#555555">{} more spans and marks not drawn</text>"##,
            axis_y + 40.0,
            total - drawn
        ));
    }
    out.push_str("</svg>");
    out
}

fn seconds(ns: u64) -> String {
    let s = format!("{:.3}", ns as f64 / NS_PER_S as f64);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max - 1).chain(std::iter::once('…')).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Mark, Span, SpanLane};

    fn data(faults: Vec<super::super::data::FaultWindow>) -> RunData {
        let summary: super::super::data::Summary =
            serde_json::from_str(r#"{"scenario":"s","seed":3,"sim_seconds":10.0}"#).expect("summary");
        RunData {
            dir_name: "d".into(),
            summary: super::super::data::Summary { faults, ..summary },
            ops: vec![],
            timeline: vec![],
            notable: vec![],
            charts: vec![],
        }
    }

    fn chart() -> SpanChart {
        SpanChart {
            name: "in-doubt".into(),
            title: "Time in doubt".into(),
            about: String::new(),
            shade: vec![0],
            lanes: vec![
                SpanLane {
                    label: "p1".into(),
                    node: Some(1),
                    spans: vec![Span {
                        start_ns: 1_000_000_000,
                        end_ns: 4_000_000_000,
                        label: "t7".into(),
                        color: "#f00".into(),
                    }],
                    marks: vec![Mark { time_ns: 2_000_000_000, label: "vote".into(), color: "#0a0".into() }],
                },
                SpanLane { label: "p2".into(), node: Some(2), spans: vec![], marks: vec![] },
            ],
        }
    }

    #[test]
    fn draws_spans_marks_and_the_faults_that_concern_them() {
        let fault = |node: u64| super::super::data::FaultWindow {
            kind: "crash".into(),
            nodes: vec![node],
            detail: format!("crash n{node}"),
            start_ns: 2_000_000_000,
            end_ns: Some(3_000_000_000),
        };
        // A coordinator crash is shaded across the chart; a crash of a node without a lane is not drawn.
        let svg = span_chart_svg(&chart(), &data(vec![fault(0), fault(9)]));
        assert_eq!(svg.matches(r#"class="span""#).count(), 1);
        assert_eq!(svg.matches(r#"class="mark""#).count(), 1);
        assert_eq!(svg.matches(r#"class="fault-window""#).count(), 1, "{svg}");
        assert!(svg.contains("crash n0") && !svg.contains("crash n9"));
        assert!(svg.contains("1 to 4 s: t7"), "the span's tooltip gives its times");
        // A participant's own crash is shaded on its lane only.
        let svg = span_chart_svg(&chart(), &data(vec![fault(2)]));
        assert!(svg.contains(r#"height="30.0""#) && svg.contains("crash n2"), "{svg}");
    }

    #[test]
    fn a_huge_chart_is_capped_and_says_so() {
        let mut c = chart();
        let span = c.lanes[0].spans[0].clone();
        c.lanes[0].spans = vec![span; SPAN_CAP + 10];
        let svg = span_chart_svg(&c, &data(vec![]));
        assert_eq!(svg.matches(r#"class="span""#).count(), SPAN_CAP);
        assert!(svg.contains("11 more spans and marks not drawn"), "10 spans and the mark");
    }
}
