//! The latency and rate charts of one run (and the comparison of several),
//! drawn with plotters' SVG backend into strings.
//!
//! Why it is shaped so:
//! - plotters lays out axes, ticks and series; with neither its `ttf` nor its
//!   `ab_glyph` feature it measures text with a built-in estimate and the SVG
//!   backend writes plain `<text font-family="sans-serif">` elements, so no
//!   font file, fontconfig or C library is touched and the viewer picks the
//!   font.
//! - Fault windows and legends are hand-written SVG spliced around plotters'
//!   output (`under` right after the opening `<svg>` tag, `over` before the
//!   closing one), so they carry classes (`fault-window`, `fault-label`,
//!   `legend-entry`) that tests can count and stay under the points.
//! - A million ops must not make a million `<circle>`s: the scatter keeps, per
//!   pixel column and per (outcome, kind), the lowest and highest latency,
//!   plus every op at or above the p99.9 latency, so extremes are never lost,
//!   and an even sample of a few thousand ops to show where the bulk lies.
//! - Operation kinds are open: whatever `f` names the history holds are drawn,
//!   sorted by name (`data::kind_groups`). `read`, `write`, `cas` and
//!   `append` keep fixed colours and marker shapes; any other name gets the
//!   next ones in name order (`kind_styles`), so the same vocabulary always
//!   looks the same.
//! - A run without client operations has nothing to put on the latency and
//!   rate axes, so those four charts are a titled note (`no_ops_svg`) rather
//!   than empty axes; the report shows the note once in their place.
//! - Everything iterates vectors or `BTreeMap`s and never reads a clock, so the
//!   same data gives the same bytes.

use super::data::{kind_groups, FaultWindow, KindGroups, Op, Outcome, RunData, NS_PER_S};
use super::html::escape;
use super::timeline::{place_labels, text_size, LabelBox};
use crate::stats::quantile;
use plotters::prelude::*;
use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

/// Width of every chart, pixels: the report's page width.
pub const WIDTH_PX: u32 = 1300;
/// Height of every chart, pixels.
pub const HEIGHT_PX: u32 = 600;
/// Font sizes handed to plotters, which draws them at about 0.8 of it in
/// SVG pixels: tick labels at 12.9 px, axis names at 13.7 px, titles at
/// 17.7 px (no axis text under 12 px).
const AXIS_LABEL_SIZE: f64 = 16.0;
const AXIS_DESC_SIZE: f64 = 17.0;
const CAPTION_SIZE: f64 = 22.0;
const SUBCAPTION_SIZE: f64 = 18.0;
/// Time buckets of the quantile and rate charts (bucket width = run / this).
pub const BUCKET_COUNT: usize = 100;
/// Points per CDF line at most (evenly spaced ranks, ends always kept).
pub const CDF_POINTS_MAX: usize = 1000;
/// Latency quantile above which every scatter point is kept.
pub const SCATTER_KEEP_ALL_ABOVE_QUANTILE: f64 = 0.999;
/// Ops kept by the scatter's even sample (every n/this-th op), besides the
/// per-column extremes and the tail.
pub const SCATTER_EVEN_SAMPLE: usize = 5000;
/// Smallest latency drawn on a log axis, ms (zero latencies are lifted to it).
pub const LATENCY_MS_FLOOR: f64 = 0.001;

const FONT: &str = "sans-serif";

fn err(error: impl std::fmt::Display) -> io::Error {
    io::Error::other(error.to_string())
}

/// Colour of an outcome: `fail` is a definite no-op (a cas whose compare
/// failed, a refused lock), nothing alarming, so it is a neutral grey.
pub fn outcome_color(outcome: Outcome) -> RGBColor {
    match outcome {
        Outcome::Ok => RGBColor(0x2c, 0xa0, 0x2c),
        Outcome::Fail => RGBColor(0x8c, 0x8c, 0x8c),
        Outcome::Info => RGBColor(0xff, 0x7f, 0x0e),
    }
}

/// An outcome as legends and tables name it: `ok`, `did not take effect`
/// (`fail`), `unknown (info)`.
pub fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "ok",
        Outcome::Fail => "did not take effect",
        Outcome::Info => "unknown (info)",
    }
}

/// Colour of a series by index (quantiles, kinds, runs).
pub fn palette(index: usize) -> RGBColor {
    const COLORS: [RGBColor; 10] = [
        RGBColor(0x1f, 0x77, 0xb4),
        RGBColor(0xff, 0x7f, 0x0e),
        RGBColor(0x2c, 0xa0, 0x2c),
        RGBColor(0xd6, 0x27, 0x28),
        RGBColor(0x94, 0x67, 0xbd),
        RGBColor(0x8c, 0x56, 0x4b),
        RGBColor(0xe3, 0x77, 0xc2),
        RGBColor(0x17, 0xbe, 0xcf),
        RGBColor(0xbc, 0xbd, 0x22),
        RGBColor(0x7f, 0x7f, 0x7f),
    ];
    COLORS[index % COLORS.len()]
}

/// Marker shape of an op kind in the latency scatter and its legend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Filled circle (`read`).
    Circle,
    /// Filled square (`write`).
    Square,
    /// Filled triangle, point up (`cas`).
    Triangle,
    /// Diagonal cross (`append`).
    Cross,
    /// Filled diamond.
    Diamond,
    /// Upright plus.
    Plus,
    /// Filled triangle, point down.
    TriangleDown,
    /// Hollow circle.
    Ring,
    /// Small dot (the merged `other` group).
    Dot,
}

/// The kinds with a colour and shape of their own, as (name, palette index, shape).
const FIXED_KIND_STYLES: [(&str, usize, Shape); 4] =
    [("read", 0, Shape::Circle), ("write", 1, Shape::Square), ("cas", 2, Shape::Triangle), ("append", 3, Shape::Cross)];
/// Palette indices for the other kinds, in name order (cycling).
const OTHER_KIND_COLORS: [usize; 5] = [4, 5, 6, 7, 8];
/// Shapes for the other kinds, in name order (cycling; 4 and 5 are coprime,
/// so the first 20 other kinds all differ in colour or shape).
const OTHER_KIND_SHAPES: [Shape; 4] = [Shape::Diamond, Shape::Plus, Shape::TriangleDown, Shape::Ring];

/// Colour and marker shape of each kind group, parallel to `groups.groups`:
/// `read`, `write`, `cas` and `append` keep theirs; other names take, in
/// name order, the next colours and shapes; the merged `other` group is a
/// grey dot.
pub fn kind_styles(groups: &KindGroups) -> Vec<(RGBColor, Shape)> {
    let mut next = 0;
    groups
        .groups
        .iter()
        .map(|group| match &group.kind {
            None => (palette(9), Shape::Dot),
            Some(kind) => match FIXED_KIND_STYLES.iter().find(|(name, _, _)| *name == kind.name()) {
                Some(&(_, color, shape)) => (palette(color), shape),
                None => {
                    let style = (
                        palette(OTHER_KIND_COLORS[next % OTHER_KIND_COLORS.len()]),
                        OTHER_KIND_SHAPES[next % OTHER_KIND_SHAPES.len()],
                    );
                    next += 1;
                    style
                }
            },
        })
        .collect()
}

/// Fill colour of a fault window by kind, as an SVG colour.
pub fn fault_color(kind: &str) -> &'static str {
    match kind {
        "crash" => "#d62728",
        "pause" => "#7f7f7f",
        "partition" => "#9467bd",
        "cut" => "#1f77b4",
        "skew" => "#8c564b",
        "jump" => "#17becf",
        _ => "#bcbd22",
    }
}

/// A fault's text in the words the charts label it with: a partition's
/// groups as sets of node ids either side of a bar (`partition [[0, 1], [2,
/// 3, 4]]` is `partition {0,1} | {2,3,4}`); any other text as it is.
pub fn fault_words(text: &str) -> String {
    let (Some(open), Some(close)) = (text.find("[["), text.rfind("]]")) else {
        return text.to_string();
    };
    if close < open {
        return text.to_string();
    }
    let groups: Vec<String> = text[open + 2..close]
        .split(']')
        .map(|group| group.trim_start_matches([',', ' ', '[']))
        .map(|group| format!("{{{}}}", group.split(',').map(str::trim).collect::<Vec<_>>().join(",")))
        .collect();
    format!("{}{}{}", &text[..open], groups.join(" | "), &text[close + 2..])
}

fn hex(color: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", color.0, color.1, color.2)
}

/// Formats a number for an axis tick: short, without float noise.
pub fn fmt_num(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 {
        "0".to_string()
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 1.0 {
        trim_zeros(format!("{value:.2}"))
    } else {
        let digits = (-magnitude.log10().floor()) as usize + 2;
        trim_zeros(format!("{value:.digits$}"))
    }
}

fn trim_zeros(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A legend marker.
#[derive(Debug, Clone)]
enum Mark {
    /// A filled dot of a colour.
    Dot(RGBColor),
    /// A marker shape, in grey.
    Shape(Shape),
    /// A line of a colour.
    Line(RGBColor),
    /// A line of a colour, width and dash pattern (SVG `stroke-dasharray`,
    /// empty for solid) with a marker on it: a quantile's series.
    Series(RGBColor, u32, &'static str, Shape),
}

/// The SVG of a marker `shape` centred at (`x`, `y`), as the scatter draws it.
fn marker_svg(shape: Shape, x: i32, y: i32, color: &str) -> String {
    match shape {
        Shape::Circle => format!(r#"<circle cx="{x}" cy="{y}" r="4" fill="{color}"/>"#),
        Shape::Square => format!(r#"<rect x="{}" y="{}" width="8" height="8" fill="{color}"/>"#, x - 4, y - 4),
        Shape::Triangle => {
            format!(r#"<polygon points="{},{} {},{} {},{}" fill="{color}"/>"#, x, y - 5, x - 5, y + 4, x + 5, y + 4)
        }
        Shape::TriangleDown => {
            format!(r#"<polygon points="{},{} {},{} {},{}" fill="{color}"/>"#, x, y + 5, x - 5, y - 4, x + 5, y - 4)
        }
        Shape::Diamond => format!(
            r#"<polygon points="{},{} {},{} {},{} {},{}" fill="{color}"/>"#,
            x,
            y - 5,
            x + 5,
            y,
            x,
            y + 5,
            x - 5,
            y
        ),
        Shape::Cross => format!(
            r#"<path d="M{} {}L{} {}M{} {}L{} {}" stroke="{color}" stroke-width="2"/>"#,
            x - 4,
            y - 4,
            x + 4,
            y + 4,
            x - 4,
            y + 4,
            x + 4,
            y - 4
        ),
        Shape::Plus => format!(
            r#"<path d="M{} {y}L{} {y}M{x} {}L{x} {}" stroke="{color}" stroke-width="2"/>"#,
            x - 5,
            x + 5,
            y - 5,
            y + 5
        ),
        Shape::Ring => {
            format!(r#"<circle cx="{x}" cy="{y}" r="4" fill="none" stroke="{color}" stroke-width="1.5"/>"#)
        }
        Shape::Dot => format!(r#"<circle cx="{x}" cy="{y}" r="2" fill="{color}"/>"#),
    }
}

/// Hand-written legend box with its top-right corner at (`right`, `top`).
fn legend_svg(entries: &[(Mark, String)], right: i32, top: i32) -> String {
    if entries.is_empty() {
        return String::new();
    }
    let longest = entries.iter().map(|(_, label)| label.chars().count()).max().unwrap_or(0);
    let width = 44 + 8 * longest as i32;
    let height = 8 + 20 * entries.len() as i32;
    let left = right - width;
    let mut out = format!(
        r##"<g class="legend"><rect x="{left}" y="{top}" width="{width}" height="{height}" fill="#FFFFFF" fill-opacity="0.85" stroke="#999999"/>"##
    );
    for (index, (mark, label)) in entries.iter().enumerate() {
        let y = top + 14 + 20 * index as i32;
        let x = left + 16;
        let glyph = match mark {
            Mark::Dot(color) => format!(r#"<circle cx="{x}" cy="{y}" r="4" fill="{}"/>"#, hex(*color)),
            Mark::Shape(shape) => marker_svg(*shape, x, y, "#555555"),
            Mark::Line(color) => format!(
                r#"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{}" stroke-width="2"/>"#,
                x - 7,
                x + 7,
                hex(*color)
            ),
            Mark::Series(color, width, dash, shape) => format!(
                r#"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{}" stroke-width="{width}" stroke-dasharray="{dash}"/>{}"#,
                x - 12,
                x + 12,
                hex(*color),
                marker_svg(*shape, x, y, &hex(*color))
            ),
        };
        out.push_str(&format!(
            r##"<g class="legend-entry">{glyph}<text x="{}" y="{}" font-family="{FONT}" font-size="13" fill="#222222">{}</text></g>"##,
            x + 18,
            y + 4,
            escape(label)
        ));
    }
    out.push_str("</g>");
    out
}

/// Hand-written translucent rects, one per fault window, each labelled at
/// the top of the plot with the nodes on each side (`partition {0,1} |
/// {2,3,4}`, `crash n2`), in the first row where it meets no other label
/// (`timeline::place_labels`), else with its kind alone. `to_px` maps
/// seconds to an x pixel; `area` is the plot area.
fn fault_windows_svg(
    faults: &[FaultWindow],
    end_ns: u64,
    to_px: &dyn Fn(f64) -> i32,
    area: (std::ops::Range<i32>, std::ops::Range<i32>),
) -> String {
    const ROWS: usize = 8;
    const ROW_PX: f64 = 15.0;
    let (xs, ys) = area;
    let mut out = String::new();
    let bounds = LabelBox {
        x: xs.start as f64,
        y: ys.start as f64,
        w: (xs.end - xs.start) as f64,
        h: (ys.end - ys.start) as f64,
    };
    let mut wants = Vec::new();
    let mut words = Vec::new();
    for fault in faults {
        let x0 = to_px(fault.start_ns as f64 / NS_PER_S as f64).clamp(xs.start, xs.end) as f64;
        let full = if fault.detail.is_empty() { fault.kind.clone() } else { fault_words(&fault.detail) };
        let mut candidates = Vec::new();
        for text in [&full, &fault.kind] {
            let (w, h) = text_size(text, 12.0);
            candidates.extend((0..ROWS).map(|row| LabelBox {
                x: x0 + 1.0,
                y: bounds.y + 2.0 + ROW_PX * row as f64,
                w,
                h,
            }));
        }
        wants.push((candidates, bounds));
        words.push(full);
    }
    let placed = place_labels(&wants);
    for (index, fault) in faults.iter().enumerate() {
        let start_s = fault.start_ns as f64 / NS_PER_S as f64;
        let end_s = fault.end_ns.unwrap_or(end_ns).max(fault.start_ns) as f64 / NS_PER_S as f64;
        let x0 = to_px(start_s).clamp(xs.start, xs.end);
        let x1 = to_px(end_s).clamp(xs.start, xs.end).max(x0 + 2);
        let color = fault_color(&fault.kind);
        out.push_str(&format!(
            r#"<rect class="fault-window" x="{x0}" y="{}" width="{}" height="{}" fill="{color}" fill-opacity="0.13"><title>{}</title></rect>"#,
            ys.start,
            x1 - x0,
            ys.end - ys.start,
            escape(&fault.detail)
        ));
        // The full text where it fits, else the kind; with no room at all, the kind in the top row.
        let (b, text) = match placed[index] {
            Some(b) if b.w >= text_size(&words[index], 12.0).0 => (b, words[index].as_str()),
            Some(b) => (b, fault.kind.as_str()),
            None => (LabelBox { x: x0 as f64 + 1.0, y: bounds.y + 2.0, w: 0.0, h: 15.0 }, fault.kind.as_str()),
        };
        out.push_str(&format!(
            r#"<text class="fault-label" x="{:.1}" y="{:.1}" font-family="{FONT}" font-size="12" fill="{color}">{}</text>"#,
            b.x + 2.0,
            b.y + b.h - 3.5,
            escape(text)
        ));
    }
    out
}

/// A dashed vertical line at the first violation, if the run has one.
fn violation_svg(
    data: &RunData,
    to_px: &dyn Fn(f64) -> i32,
    area: (std::ops::Range<i32>, std::ops::Range<i32>),
) -> String {
    let Some(violation) = &data.summary.violation else {
        return String::new();
    };
    let (xs, ys) = area;
    let x = to_px(seconds(violation.time_ns)).clamp(xs.start, xs.end);
    format!(
        r##"<g class="violation-mark"><line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 3"/><text x="{}" y="{}" font-family="{FONT}" font-size="12" fill="#d62728" text-anchor="end">{}</text></g>"##,
        ys.start,
        ys.end,
        x - 3,
        ys.end - 6,
        escape(&format!("violation: {}", violation.check))
    )
}

/// Splices hand-written SVG under (right after `<svg ...>`) and over (right
/// before `</svg>`) plotters' output, with a white background first.
fn splice(svg: String, under: &str, over: &str) -> String {
    let open_end = svg.find("<svg").and_then(|start| svg[start..].find('>').map(|end| start + end + 1)).unwrap_or(0);
    let close = svg.rfind("</svg>").unwrap_or(svg.len());
    let mut out = String::with_capacity(svg.len() + under.len() + over.len() + 128);
    out.push_str(&svg[..open_end]);
    out.push_str(&format!(
        r##"<rect class="background" x="0" y="0" width="{WIDTH_PX}" height="{HEIGHT_PX}" fill="#FFFFFF"/>"##
    ));
    out.push_str(under);
    out.push_str(&svg[open_end..close]);
    out.push_str(over);
    out.push_str(&svg[close..]);
    out
}

/// A note in the middle of the plotting area `area`: why a chart is empty.
fn centred_note(text: &str, area: &(std::ops::Range<i32>, std::ops::Range<i32>)) -> String {
    note_svg(text, (area.0.start + area.0.end) / 2, (area.1.start + area.1.end) / 2)
}

fn note_svg(text: &str, x: i32, y: i32) -> String {
    format!(
        r##"<text class="note" x="{x}" y="{y}" font-family="{FONT}" font-size="14" fill="#555555" text-anchor="middle">{}</text>"##,
        escape(text)
    )
}

/// A log-axis range covering `values` (ms), with some air around it.
fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let mut low = f64::INFINITY;
    let mut high = 0.0f64;
    for value in values {
        let value = value.max(LATENCY_MS_FLOOR);
        low = low.min(value);
        high = high.max(value);
    }
    if !low.is_finite() {
        return (0.1, 1000.0);
    }
    let low = 10f64.powf(low.log10().floor());
    let high = 10f64.powf((high * 1.01).log10().ceil()).max(low * 10.0);
    (low, high)
}

fn title(data: &RunData, what: &str) -> String {
    format!("{what} - {} seed {}", data.summary.scenario, data.summary.seed)
}

fn seconds(ns: u64) -> f64 {
    ns as f64 / NS_PER_S as f64
}

/// Indices of the ops the scatter draws: per pixel column and (outcome, kind
/// group) the lowest and highest latency, every op at or above the p99.9
/// latency, and an even sample of about `SCATTER_EVEN_SAMPLE` ops. Open ops
/// (no latency) are never drawn. Sorted, no duplicates.
pub fn scatter_sample(ops: &[Op], end_ns: u64, columns: usize) -> Vec<usize> {
    let kinds = kind_groups(ops);
    scatter_sample_grouped(ops, &kinds, end_ns, columns)
}

fn scatter_sample_grouped(ops: &[Op], kinds: &KindGroups, end_ns: u64, columns: usize) -> Vec<usize> {
    let columns = columns.max(1);
    let mut latencies: Vec<f64> = ops.iter().filter_map(Op::latency_ms).collect();
    crate::stats::sort(&mut latencies);
    let threshold =
        if latencies.is_empty() { f64::INFINITY } else { quantile(&latencies, SCATTER_KEEP_ALL_ABOVE_QUANTILE) };
    let kind_count = kinds.groups.len().max(1);
    let groups = Outcome::ALL.len() * kind_count;
    // (min index, max index) per group and column.
    let mut extremes: Vec<Option<(usize, usize)>> = vec![None; groups * columns];
    let mut keep = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        let Some(latency) = op.latency_ms() else {
            continue;
        };
        if latency >= threshold {
            keep.push(index);
        }
        let column = ((op.invoke_ns as f64 / end_ns.max(1) as f64) * columns as f64) as usize;
        let group = op.outcome as usize * kind_count + kinds.of_op[index];
        let slot = &mut extremes[group * columns + column.min(columns - 1)];
        match slot {
            None => *slot = Some((index, index)),
            Some((low, high)) => {
                if latency < ops[*low].latency_ms().unwrap_or(f64::INFINITY) {
                    *low = index;
                }
                if latency > ops[*high].latency_ms().unwrap_or(0.0) {
                    *high = index;
                }
            }
        }
    }
    // A thin even sample shows where the bulk lies between the envelopes.
    let stride = (ops.len() / SCATTER_EVEN_SAMPLE).max(1);
    keep.extend((0..ops.len()).step_by(stride).filter(|&index| ops[index].complete_ns.is_some()));
    for (low, high) in extremes.into_iter().flatten() {
        keep.push(low);
        keep.push(high);
    }
    keep.sort_unstable();
    keep.dedup();
    keep
}

/// Draws `points` of the scatter as `shape` markers in `color`.
fn draw_marks(
    chart: &mut LatencyTimeChart<'_, '_>,
    points: Vec<(f64, f64)>,
    shape: Shape,
    color: RGBColor,
) -> io::Result<()> {
    if points.is_empty() {
        return Ok(());
    }
    let fill = color.mix(0.8).filled();
    let points = points.into_iter();
    match shape {
        Shape::Circle => chart.draw_series(points.map(|p| Circle::new(p, 3, fill))).map(|_| ()),
        Shape::Square => chart
            .draw_series(points.map(|p| EmptyElement::at(p) + Rectangle::new([(-3, -3), (3, 3)], fill)))
            .map(|_| ()),
        Shape::Triangle => chart.draw_series(points.map(|p| TriangleMarker::new(p, 4, fill))).map(|_| ()),
        Shape::TriangleDown => chart
            .draw_series(points.map(|p| EmptyElement::at(p) + Polygon::new(vec![(0, 4), (-4, -3), (4, -3)], fill)))
            .map(|_| ()),
        Shape::Diamond => chart
            .draw_series(
                points.map(|p| EmptyElement::at(p) + Polygon::new(vec![(0, -4), (4, 0), (0, 4), (-4, 0)], fill)),
            )
            .map(|_| ()),
        Shape::Cross => chart.draw_series(points.map(|p| Cross::new(p, 3, color))).map(|_| ()),
        Shape::Plus => {
            let stroke = color.stroke_width(2);
            chart
                .draw_series(points.map(|p| {
                    EmptyElement::at(p)
                        + PathElement::new(vec![(-4, 0), (4, 0)], stroke)
                        + PathElement::new(vec![(0, -4), (0, 4)], stroke)
                }))
                .map(|_| ())
        }
        Shape::Ring => chart.draw_series(points.map(|p| Circle::new(p, 3, color.stroke_width(1)))).map(|_| ()),
        Shape::Dot => chart.draw_series(points.map(|p| Circle::new(p, 2, fill))).map(|_| ()),
    }
    .map_err(err)
}

/// Why the client-operation charts have nothing to draw, or `None` when the
/// run has client operations.
pub fn no_ops_note(data: &RunData) -> Option<String> {
    if !data.ops.is_empty() {
        None
    } else if data.summary.ops > 0 {
        Some(format!(
            "no client operations in this run's history (summary.json counts {}; history.jsonl is missing or empty)",
            data.summary.ops
        ))
    } else {
        Some("no client operations in this run".to_string())
    }
}

/// Height of a chart that is only a note, pixels.
const NOTE_HEIGHT_PX: u32 = 90;

/// A chart file that is only its title and `note`: what the latency and
/// rate charts are for a run without client operations (no axes to leave
/// empty).
fn no_ops_svg(data: &RunData, what: &str, note: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_PX}" height="{NOTE_HEIGHT_PX}" viewBox="0 0 {WIDTH_PX} {NOTE_HEIGHT_PX}"><rect class="background" x="0" y="0" width="{WIDTH_PX}" height="{NOTE_HEIGHT_PX}" fill="#FFFFFF"/><text x="{}" y="28" font-family="{FONT}" font-size="18" fill="#222222" text-anchor="middle">{}</text>{}</svg>"##,
        WIDTH_PX / 2,
        escape(&title(data, what)),
        note_svg(note, WIDTH_PX as i32 / 2, 62).replacen("class=\"note\"", "class=\"note no-ops\"", 1)
    )
}

/// A chart of latency (log scale) over invoke time.
type LatencyTimeChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<plotters::coord::types::RangedCoordf64, LogCoord<f64>>>;

/// The frame shared by the latency-over-time charts: axes with units, and
/// the SVG of the fault windows and the violation mark to draw under the data.
fn latency_time_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    data: &RunData,
    caption: String,
    (y_low, y_high): (f64, f64),
) -> io::Result<(LatencyTimeChart<'a, 'b>, String)> {
    let end_ns = data.end_ns();
    let mut chart = ChartBuilder::on(root)
        .caption(caption, (FONT, CAPTION_SIZE))
        .margin(12)
        .x_label_area_size(52)
        .y_label_area_size(76)
        .build_cartesian_2d(0f64..seconds(end_ns), (y_low..y_high).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .label_style((FONT, AXIS_LABEL_SIZE))
        .axis_desc_style((FONT, AXIS_DESC_SIZE))
        .x_desc("invoke time (s)")
        .y_desc("latency (ms, log scale)")
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .draw()
        .map_err(err)?;
    let area = chart.plotting_area().get_pixel_range();
    let mut under =
        fault_windows_svg(&data.summary.faults, end_ns, &|x| chart.backend_coord(&(x, y_low)).0, area.clone());
    under.push_str(&violation_svg(data, &|x| chart.backend_coord(&(x, y_low)).0, area));
    Ok((chart, under))
}

/// `latency.svg`: every client op (downsampled) at (invoke time, latency),
/// coloured by outcome, shaped by kind, over the shaded fault windows.
pub fn latency_svg(data: &RunData) -> io::Result<String> {
    if let Some(note) = no_ops_note(data) {
        return Ok(no_ops_svg(data, "latency", &note));
    }
    let end_ns = data.end_ns();
    let (y_low, y_high) = log_range(data.ops.iter().filter_map(Op::latency_ms));
    let mut buf = String::new();
    let under: String;
    let mut over = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH_PX, HEIGHT_PX)).into_drawing_area();
        let (mut chart, shading) = latency_time_chart(&root, data, title(data, "latency"), (y_low, y_high))?;
        under = shading;
        let area = chart.plotting_area().get_pixel_range();
        // One column per 2 pixels: markers are 6 px wide, so finer adds bytes, not detail.
        let columns = ((area.0.end - area.0.start) / 2).max(1) as usize;
        let kinds = kind_groups(&data.ops);
        let styles = kind_styles(&kinds);
        let keep = scatter_sample_grouped(&data.ops, &kinds, end_ns, columns);
        // Kept points per (outcome, kind group), drawn in that fixed order.
        let mut by_group: Vec<Vec<(f64, f64)>> = vec![Vec::new(); Outcome::ALL.len() * kinds.groups.len()];
        for &index in &keep {
            let op = &data.ops[index];
            let point = (seconds(op.invoke_ns), op.latency_ms().unwrap_or(0.0).max(LATENCY_MS_FLOOR));
            by_group[op.outcome as usize * kinds.groups.len() + kinds.of_op[index]].push(point);
        }
        for (group, points) in by_group.into_iter().enumerate() {
            let outcome = Outcome::ALL[group / kinds.groups.len()];
            let shape = styles[group % kinds.groups.len()].1;
            draw_marks(&mut chart, points, shape, outcome_color(outcome))?;
        }
        // The legend names what is drawn: completed ops only.
        let drawn = data.ops.iter().filter(|op| op.complete_ns.is_some());
        let outcomes: BTreeSet<Outcome> = drawn.map(|op| op.outcome).collect();
        let drawn_groups: BTreeSet<usize> =
            data.ops.iter().zip(&kinds.of_op).filter(|(op, _)| op.complete_ns.is_some()).map(|(_, &g)| g).collect();
        let open = data.ops.iter().filter(|op| op.complete_ns.is_none()).count();
        let mut entries: Vec<(Mark, String)> = outcomes
            .iter()
            .map(|&outcome| (Mark::Dot(outcome_color(outcome)), outcome_label(outcome).to_string()))
            .collect();
        entries.extend(drawn_groups.iter().map(|&g| (Mark::Shape(styles[g].1), kinds.groups[g].label.clone())));
        over.push_str(&legend_svg(&entries, area.0.end - 6, area.1.start + 6));
        if open > 0 {
            over.push_str(&note_svg(
                &format!("{open} {} never completed (open): counted, not drawn", if open == 1 { "op" } else { "ops" }),
                (area.0.start + area.0.end) / 2,
                area.1.end - 8,
            ));
        }
        root.present().map_err(err)?;
    }
    Ok(splice(buf, &under, &over))
}

/// Per time bucket (by invoke time), the given quantiles of the latencies of
/// completed ops; buckets without ops are left out. Returns (bucket middle in
/// s, one value per quantile). `BUCKET_COUNT` buckets.
pub fn bucket_quantiles(ops: &[Op], end_ns: u64, quantiles: &[f64]) -> Vec<(f64, Vec<f64>)> {
    bucket_quantiles_in(ops, end_ns, quantiles, BUCKET_COUNT)
}

/// Completed ops a bucket of the quantile chart should hold on average: a
/// p99 of fewer than 100 latencies is the maximum, and would hide under it.
pub const QUANTILE_BUCKET_OPS: usize = 100;
/// Fewest buckets of the quantile chart, whatever the op count.
pub const QUANTILE_BUCKETS_MIN: usize = 10;

/// The quantile chart's bucket count for `ops`: about `QUANTILE_BUCKET_OPS`
/// completed ops a bucket, between `QUANTILE_BUCKETS_MIN` and `BUCKET_COUNT`.
pub fn quantile_bucket_count(ops: &[Op]) -> usize {
    let completed = ops.iter().filter(|op| op.complete_ns.is_some()).count();
    (completed / QUANTILE_BUCKET_OPS).clamp(QUANTILE_BUCKETS_MIN, BUCKET_COUNT)
}

/// [`bucket_quantiles`] over `buckets` buckets.
pub fn bucket_quantiles_in(ops: &[Op], end_ns: u64, quantiles: &[f64], buckets: usize) -> Vec<(f64, Vec<f64>)> {
    let buckets = buckets.max(1);
    let width_ns = (end_ns / buckets as u64).max(1);
    let mut latencies_of: Vec<Vec<f64>> = vec![Vec::new(); buckets];
    for op in ops {
        if let Some(latency) = op.latency_ms() {
            let bucket = ((op.invoke_ns / width_ns) as usize).min(buckets - 1);
            latencies_of[bucket].push(latency);
        }
    }
    latencies_of
        .into_iter()
        .enumerate()
        .filter(|(_, latencies)| !latencies.is_empty())
        .map(|(index, mut latencies)| {
            crate::stats::sort(&mut latencies);
            let middle = seconds(width_ns * index as u64 + width_ns / 2);
            (middle, quantiles.iter().map(|&q| quantile(&latencies, q)).collect())
        })
        .collect()
}

/// `latency-quantiles.svg`: p50, p95, p99 and max of latency per time bucket
/// (about `QUANTILE_BUCKET_OPS` ops each), over the shaded fault windows.
/// Each series has its own colour, dash and marker, and max is drawn first
/// and thinnest, so a p99 equal to the max still shows.
pub fn latency_quantiles_svg(data: &RunData) -> io::Result<String> {
    if let Some(note) = no_ops_note(data) {
        return Ok(no_ops_svg(data, "latency quantiles", &note));
    }
    // (quantile, name, colour, width, dash in px (0: solid), marker), in drawing order.
    const SERIES: [(f64, &str, RGBColor, u32, u32, Shape); 4] = [
        (1.0, "max", RGBColor(0x44, 0x44, 0x44), 1, 0, Shape::Cross),
        (0.99, "p99", RGBColor(0xd6, 0x27, 0x28), 2, 3, Shape::TriangleDown),
        (0.95, "p95", RGBColor(0xff, 0x7f, 0x0e), 2, 8, Shape::Square),
        (0.50, "p50", RGBColor(0x1f, 0x77, 0xb4), 2, 0, Shape::Circle),
    ];
    let end_ns = data.end_ns();
    let levels: Vec<f64> = SERIES.iter().map(|s| s.0).collect();
    let bucket_count = quantile_bucket_count(&data.ops);
    let buckets = bucket_quantiles_in(&data.ops, end_ns, &levels, bucket_count);
    let (y_low, y_high) = log_range(buckets.iter().flat_map(|(_, values)| values.iter().copied()));
    let mut buf = String::new();
    let under: String;
    let mut over = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH_PX, HEIGHT_PX)).into_drawing_area();
        let bucket_s = seconds(end_ns / bucket_count as u64);
        let caption = format!("{} (buckets of {} s)", title(data, "latency quantiles"), fmt_num(bucket_s));
        let (mut chart, shading) = latency_time_chart(&root, data, caption, (y_low, y_high))?;
        under = shading;
        let area = chart.plotting_area().get_pixel_range();
        let mut entries = Vec::new();
        for (level, &(_, name, color, width, dash, shape)) in SERIES.iter().enumerate() {
            let points: Vec<(f64, f64)> =
                buckets.iter().map(|(x, values)| (*x, values[level].max(LATENCY_MS_FLOOR))).collect();
            let style = color.stroke_width(width);
            if dash == 0 {
                chart.draw_series(LineSeries::new(points.iter().copied(), style)).map_err(err)?;
            } else {
                chart.draw_series(DashedLineSeries::new(points.iter().copied(), dash, dash, style)).map_err(err)?;
            }
            draw_marks(&mut chart, points.clone(), shape, color)?;
            if !points.is_empty() {
                let pattern = match dash {
                    0 => "",
                    3 => "3 3",
                    _ => "8 8",
                };
                entries.push((Mark::Series(color, width, pattern, shape), name.to_string()));
            }
        }
        // The legend reads top down from the lowest quantile.
        entries.reverse();
        over.push_str(&legend_svg(&entries, area.0.end - 6, area.1.start + 6));
        if buckets.is_empty() {
            over.push_str(&centred_note("no completed client operations", &area));
        }
        root.present().map_err(err)?;
    }
    Ok(splice(buf, &under, &over))
}

/// Up to `CDF_POINTS_MAX` points (latency ms, fraction ≤) of the CDF of
/// ascending `sorted` latencies; the first and last point are always kept.
pub fn cdf_points(sorted: &[f64]) -> Vec<(f64, f64)> {
    let count = sorted.len();
    if count == 0 {
        return Vec::new();
    }
    let step = count.div_ceil(CDF_POINTS_MAX).max(1);
    let mut ranks: Vec<usize> = (0..count).step_by(step).collect();
    if ranks.last() != Some(&(count - 1)) {
        ranks.push(count - 1);
    }
    ranks.into_iter().map(|rank| (sorted[rank].max(LATENCY_MS_FLOOR), (rank + 1) as f64 / count as f64)).collect()
}

fn sorted_latencies<'a>(ops: impl Iterator<Item = &'a Op>) -> Vec<f64> {
    let mut latencies: Vec<f64> = ops.filter_map(Op::latency_ms).collect();
    crate::stats::sort(&mut latencies);
    latencies
}

/// `latency-cdf.svg`: latency CDF of completed ops per op kind, log x axis.
pub fn latency_cdf_svg(data: &RunData) -> io::Result<String> {
    if let Some(note) = no_ops_note(data) {
        return Ok(no_ops_svg(data, "latency CDF (completed ops)", &note));
    }
    let kinds = kind_groups(&data.ops);
    let styles = kind_styles(&kinds);
    // Per kind group: (label, colour, completed ops, CDF points).
    type Series = (String, RGBColor, usize, Vec<(f64, f64)>);
    let series: Vec<Series> = (0..kinds.groups.len())
        .map(|group| {
            let members = data.ops.iter().zip(&kinds.of_op).filter(|(_, &g)| g == group).map(|(op, _)| op);
            let sorted = sorted_latencies(members);
            (kinds.groups[group].label.clone(), styles[group].0, sorted.len(), cdf_points(&sorted))
        })
        .filter(|(_, _, _, points)| !points.is_empty())
        .collect();
    let (x_low, x_high) = log_range(series.iter().flat_map(|(_, _, _, points)| points.iter().map(|p| p.0)));
    let mut buf = String::new();
    let mut over = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH_PX, HEIGHT_PX)).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .caption(title(data, "latency CDF (completed ops)"), (FONT, CAPTION_SIZE))
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(76)
            .build_cartesian_2d((x_low..x_high).log_scale(), 0f64..1.0)
            .map_err(err)?;
        chart
            .configure_mesh()
            .label_style((FONT, AXIS_LABEL_SIZE))
            .axis_desc_style((FONT, AXIS_DESC_SIZE))
            .x_desc("latency (ms, log scale)")
            .y_desc("fraction of ops (<= latency)")
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .draw()
            .map_err(err)?;
        let area = chart.plotting_area().get_pixel_range();
        let mut entries = Vec::new();
        for (label, color, count, points) in &series {
            chart.draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2))).map_err(err)?;
            entries.push((Mark::Line(*color), format!("{label} ({count})")));
        }
        over.push_str(&legend_svg(&entries, area.0.end - 6, area.1.end - 8 - 18 * entries.len() as i32 - 8));
        if series.is_empty() {
            over.push_str(&centred_note("no completed client operations", &area));
        }
        root.present().map_err(err)?;
    }
    Ok(splice(buf, "", &over))
}

/// Completed ops per second per time bucket (by completion time) for the ops
/// that pass `keep`; one value per bucket, in ops/s.
pub fn rate_series(ops: &[Op], end_ns: u64, keep: impl Fn(&Op) -> bool) -> Vec<(f64, f64)> {
    let width_ns = (end_ns / BUCKET_COUNT as u64).max(1);
    let mut counts = vec![0u64; BUCKET_COUNT];
    for op in ops.iter().filter(|op| keep(op)) {
        if let Some(done) = op.complete_ns {
            counts[((done / width_ns) as usize).min(BUCKET_COUNT - 1)] += 1;
        }
    }
    let width_s = seconds(width_ns);
    counts
        .into_iter()
        .enumerate()
        .map(|(index, count)| (seconds(width_ns * index as u64 + width_ns / 2), count as f64 / width_s))
        .collect()
}

/// `rate.svg`: completed ops per second over time, one line per outcome,
/// over the shaded fault windows.
pub fn rate_svg(data: &RunData) -> io::Result<String> {
    if let Some(note) = no_ops_note(data) {
        return Ok(no_ops_svg(data, "throughput", &note));
    }
    let end_ns = data.end_ns();
    let outcomes: BTreeSet<Outcome> =
        data.ops.iter().filter(|op| op.complete_ns.is_some()).map(|op| op.outcome).collect();
    let series: Vec<(Outcome, Vec<(f64, f64)>)> =
        outcomes.iter().map(|&outcome| (outcome, rate_series(&data.ops, end_ns, |op| op.outcome == outcome))).collect();
    let y_high = series.iter().flat_map(|(_, points)| points.iter().map(|p| p.1)).fold(0.0f64, f64::max).max(1.0) * 1.1;
    let mut buf = String::new();
    let mut under;
    let mut over = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH_PX, HEIGHT_PX)).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .caption(title(data, "throughput"), (FONT, CAPTION_SIZE))
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(76)
            .build_cartesian_2d(0f64..seconds(end_ns), 0f64..y_high)
            .map_err(err)?;
        chart
            .configure_mesh()
            .label_style((FONT, AXIS_LABEL_SIZE))
            .axis_desc_style((FONT, AXIS_DESC_SIZE))
            .x_desc("completion time (s)")
            .y_desc("completed ops per second (ops/s)")
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .draw()
            .map_err(err)?;
        let area = chart.plotting_area().get_pixel_range();
        under = fault_windows_svg(&data.summary.faults, end_ns, &|x| chart.backend_coord(&(x, 0.0)).0, area.clone());
        under.push_str(&violation_svg(data, &|x| chart.backend_coord(&(x, 0.0)).0, area.clone()));
        let mut entries = Vec::new();
        for (outcome, points) in &series {
            let color = outcome_color(*outcome);
            chart.draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2))).map_err(err)?;
            entries.push((Mark::Line(color), outcome_label(*outcome).to_string()));
        }
        over.push_str(&legend_svg(&entries, area.0.end - 6, area.1.start + 6));
        if series.is_empty() {
            over.push_str(&centred_note("no completed client operations", &area));
        }
        root.present().map_err(err)?;
    }
    Ok(splice(buf, &under, &over))
}

/// The comparison chart of several runs as an SVG string: latency CDFs of
/// completed ops (left) and completed ops per second (right), one colour per
/// run, labelled by scenario, seed and folder.
pub fn compare_svg(runs: &[RunData]) -> io::Result<String> {
    let cdfs: Vec<Vec<(f64, f64)>> = runs.iter().map(|run| cdf_points(&sorted_latencies(run.ops.iter()))).collect();
    let rates: Vec<Vec<(f64, f64)>> = runs.iter().map(|run| rate_series(&run.ops, run.end_ns(), |_| true)).collect();
    let (x_low, x_high) = log_range(cdfs.iter().flat_map(|points| points.iter().map(|p| p.0)));
    let end_s = runs.iter().map(|run| seconds(run.end_ns())).fold(0.0f64, f64::max).max(1e-9);
    let rate_high = rates.iter().flat_map(|points| points.iter().map(|p| p.1)).fold(0.0f64, f64::max).max(1.0) * 1.1;
    let mut buf = String::new();
    let mut over = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH_PX, HEIGHT_PX)).into_drawing_area();
        let root = root.titled(&format!("comparison of {} runs", runs.len()), (FONT, CAPTION_SIZE)).map_err(err)?;
        let (left, right) = root.split_horizontally(WIDTH_PX / 2);
        let mut cdf = ChartBuilder::on(&left)
            .caption("latency CDF (completed ops)", (FONT, SUBCAPTION_SIZE))
            .margin(10)
            .x_label_area_size(52)
            .y_label_area_size(68)
            .build_cartesian_2d((x_low..x_high).log_scale(), 0f64..1.0)
            .map_err(err)?;
        cdf.configure_mesh()
            .label_style((FONT, AXIS_LABEL_SIZE))
            .axis_desc_style((FONT, AXIS_DESC_SIZE))
            .x_desc("latency (ms, log scale)")
            .y_desc("fraction of ops (<= latency)")
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .draw()
            .map_err(err)?;
        for (index, points) in cdfs.iter().enumerate() {
            cdf.draw_series(LineSeries::new(points.iter().copied(), palette(index).stroke_width(2))).map_err(err)?;
        }
        let mut rate = ChartBuilder::on(&right)
            .caption("completed ops per second", (FONT, SUBCAPTION_SIZE))
            .margin(10)
            .x_label_area_size(52)
            .y_label_area_size(68)
            .build_cartesian_2d(0f64..end_s, 0f64..rate_high)
            .map_err(err)?;
        rate.configure_mesh()
            .label_style((FONT, AXIS_LABEL_SIZE))
            .axis_desc_style((FONT, AXIS_DESC_SIZE))
            .x_desc("completion time (s)")
            .y_desc("ops/s")
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .draw()
            .map_err(err)?;
        for (index, points) in rates.iter().enumerate() {
            rate.draw_series(LineSeries::new(points.iter().copied(), palette(index).stroke_width(2))).map_err(err)?;
        }
        let area = rate.plotting_area().get_pixel_range();
        let entries: Vec<(Mark, String)> =
            runs.iter().enumerate().map(|(index, run)| (Mark::Line(palette(index)), run.label())).collect();
        over.push_str(&legend_svg(&entries, area.0.end - 6, area.1.start + 6));
        root.present().map_err(err)?;
    }
    Ok(splice(buf, "", &over))
}

/// `plot --compare`: writes `compare.svg` into the folder `out` (created if
/// missing) and returns its path.
pub fn compare(runs: &[RunData], out: &Path) -> io::Result<PathBuf> {
    std::fs::create_dir_all(out)?;
    let path = out.join("compare.svg");
    std::fs::write(&path, compare_svg(runs)?)?;
    Ok(path)
}

/// A histogram of `values` as an SVG string (used for the sweep's per-seed
/// p99 latency); bins = about the square root of the count, at most 40.
pub fn histogram_svg(values: &[f64], chart_title: &str, x_desc: &str) -> io::Result<String> {
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (low, high) = if values.is_empty() {
        (0.0, 1.0)
    } else if high - low < 1e-9 {
        (low - 0.5, high + 0.5)
    } else {
        (low, high)
    };
    let bins = ((values.len() as f64).sqrt().ceil() as usize).clamp(1, 40);
    let width = (high - low) / bins as f64;
    let mut counts = vec![0u64; bins];
    for value in values {
        counts[(((value - low) / width) as usize).min(bins - 1)] += 1;
    }
    let count_high = counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.1;
    let mut buf = String::new();
    let mut over = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH_PX, HEIGHT_PX)).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .caption(chart_title, (FONT, CAPTION_SIZE))
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(76)
            .build_cartesian_2d(low..high, 0f64..count_high)
            .map_err(err)?;
        chart
            .configure_mesh()
            .label_style((FONT, AXIS_LABEL_SIZE))
            .axis_desc_style((FONT, AXIS_DESC_SIZE))
            .x_desc(x_desc)
            .y_desc("seeds")
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .draw()
            .map_err(err)?;
        let color = palette(0);
        chart
            .draw_series(counts.iter().enumerate().map(|(index, &count)| {
                let x0 = low + width * index as f64;
                Rectangle::new([(x0, 0.0), (x0 + width, count as f64)], color.mix(0.7).filled())
            }))
            .map_err(err)?;
        let area = chart.plotting_area().get_pixel_range();
        if values.is_empty() {
            over.push_str(&centred_note("no latency data", &area));
        }
        root.present().map_err(err)?;
    }
    Ok(splice(buf, "", &over))
}
