//! Hand-written SVG diagrams of a run: the Lamport (space-time) diagram of
//! a window of messages between nodes (`timeline.svg`), and the notable
//! events per node over the whole run (`events.svg`).
//!
//! Why it is shaped so: these are not charts with axes, so plotters would add
//! nothing; plain SVG elements keep classes (`msg`, `msg dropped`, `drop-x`,
//! `node-down`, `node-paused`, `obs`, `fault-mark`, `label-box`) that tests
//! count and that the report's CSS could style. Arrows are capped
//! (`ARROW_CAP`) and the rest announced as "N more messages not drawn", so a
//! busy window stays readable and the file small; with a violation in the
//! window the arrows kept are the last ones before it, since that is where
//! the reader looks. The diagram grows taller with the arrows it draws, and
//! its lanes share the page width (`PAGE_WIDTH_PX`), so twelve participants
//! fit without sideways scrolling.
//!
//! Every arrow carries its message's short label (the protocol's own,
//! `kit::Protocol::msg_label`), every observation its plain-word label and
//! every fault its text: one layout ([`place_labels`]) gives each label the
//! first of its candidate boxes that meets no box placed before it, in
//! order of importance (faults and the violation, observations, messages
//! to and from clients, then the rest), and leaves out a label with no room,
//! counted in a note; the hover text (`<title>`) of every arrow, observation
//! and fault still says all, with its Lamport timestamps. Text widths are
//! estimated (`TEXT_EM`, a generous average glyph width of sans-serif), so
//! no font is read. The ✕ of a dropped message is a path, not a glyph.

use super::data::{RunData, TimelineEvent, NS_PER_S};
use super::html::escape;
use super::plots::fault_words;
use std::collections::{BTreeMap, BTreeSet};

/// Most message arrows drawn in one diagram.
pub const ARROW_CAP: usize = 300;
/// Most observation labels drawn in one diagram.
pub const OBSERVATION_CAP: usize = 300;
/// An observation kind seen more often than this in the window is not
/// labelled (per-entry events would bury the rare ones that tell the story,
/// like a new leader); a note counts it instead.
pub const OBSERVATION_KIND_LABELS_MAX: usize = 30;
/// Longest observation label, characters (longer ones are cut with `…`).
pub const OBSERVATION_CHARS_MAX: usize = 40;
/// Longest message label drawn, characters (the hover text has it all).
pub const MESSAGE_CHARS_MAX: usize = 36;
/// Width of the diagrams, pixels: the report's page width.
pub const PAGE_WIDTH_PX: f64 = 1300.0;
/// Average glyph width of the viewer's sans-serif font, in font sizes
/// (generous: digits are 0.56, capitals up to 0.72, lower case about 0.5).
pub const TEXT_EM: f64 = 0.6;

pub(crate) const FONT: &str = "sans-serif";
const LANE_GAP_MAX_PX: f64 = 140.0;
const LEFT_PX: f64 = 72.0;
/// The right margin that holds the fault labels.
const GUTTER_PX: f64 = 200.0;
const TOP_PX: f64 = 70.0;
const BODY_MIN_PX: f64 = 1100.0;
const BODY_MAX_PX: f64 = 2700.0;
/// Height given to each arrow drawn, so labels find room (within the bounds above).
const BODY_PX_PER_ARROW: f64 = 9.0;
const LABEL_PX: f64 = 11.0;
const FAULT_LABEL_PX: f64 = 12.0;

/// The default window of the timeline: the one the run saved
/// (`summary.json`'s `timeline_window_ns`), else [`timeline_window`] of
/// what the folder says (its violation, its counterexample's operations,
/// its first fault).
pub fn default_timeline_window(data: &RunData) -> (u64, u64) {
    if let Some([from, to]) = data.summary.timeline_window_ns {
        return (from, to);
    }
    let lin_span = data.summary.lin_window.as_ref().and_then(|ops| {
        let start = ops.iter().map(|op| op.invoke_ns).min()?;
        let end = ops.iter().map(|op| op.complete_ns.unwrap_or(op.invoke_ns)).max()?;
        Some((start, end))
    });
    timeline_window(
        data.summary.violation.as_ref().map(|v| v.time_ns),
        lin_span,
        data.summary.faults.first().map(|f| f.start_ns),
        data.end_ns(),
    )
}

/// Length of the default timeline window.
pub const TIMELINE_WINDOW_NS: u64 = 2 * NS_PER_S;

/// The default timeline window of a run, the one `run` saves and the
/// report draws: the 2 s before the first violation (the run stops there);
/// else 1 s either side of the operations of a linearizability
/// counterexample (`lin_span`); else 2 s from a quarter before the first
/// fault; else the first 2 s. Clamped to the run's end.
pub fn timeline_window(
    violation_ns: Option<u64>,
    lin_span: Option<(u64, u64)>,
    first_fault_ns: Option<u64>,
    end_ns: u64,
) -> (u64, u64) {
    const W: u64 = TIMELINE_WINDOW_NS;
    let window = match (violation_ns, lin_span, first_fault_ns) {
        (Some(v), _, _) => (v.saturating_sub(W), v),
        (None, Some((start, end)), _) => (start.saturating_sub(W / 2), end.max(start).saturating_add(W / 2)),
        (None, None, Some(f)) => (f.saturating_sub(W / 4), f.saturating_sub(W / 4).saturating_add(W)),
        (None, None, None) => (0, W),
    };
    (window.0.min(end_ns), window.1.min(end_ns))
}

fn lane_label(id: u64, nodes: Option<u64>) -> String {
    match nodes {
        Some(count) if id >= count => format!("client {}", id - count),
        _ => format!("n{id}"),
    }
}

pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// A label's box: top-left corner, width and height, pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabelBox {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl LabelBox {
    /// Whether the two boxes share any area (touching edges do not).
    pub fn overlaps(&self, other: &LabelBox) -> bool {
        self.x < other.x + other.w
            && other.x < self.x + self.w
            && self.y < other.y + other.h
            && other.y < self.y + self.h
    }

    /// Whether the box lies inside `outer`.
    pub fn inside(&self, outer: &LabelBox) -> bool {
        self.x >= outer.x
            && self.y >= outer.y
            && self.x + self.w <= outer.x + outer.w
            && self.y + self.h <= outer.y + outer.h
    }
}

/// The size of `text` at `font_px`, with a little air around it.
pub fn text_size(text: &str, font_px: f64) -> (f64, f64) {
    (text.chars().count() as f64 * font_px * TEXT_EM + 4.0, font_px + 3.0)
}

/// The label layout: for each label, in the order given (most important
/// first), the first of its candidate boxes that lies inside its bounds and
/// meets no box placed before it; `None` when every candidate collides. So
/// no two placed boxes overlap, whatever the input.
pub fn place_labels(labels: &[(Vec<LabelBox>, LabelBox)]) -> Vec<Option<LabelBox>> {
    let mut placed: Vec<LabelBox> = Vec::new();
    labels
        .iter()
        .map(|(candidates, bounds)| {
            let chosen = candidates.iter().find(|c| c.inside(bounds) && !placed.iter().any(|p| p.overlaps(c))).copied();
            placed.extend(chosen);
            chosen
        })
        .collect()
}

/// A label drawn in its box: a white backing and the text.
fn label_svg(class: &str, b: &LabelBox, font_px: f64, color: &str, text: &str) -> String {
    format!(
        r##"<g class="{class}"><rect class="label-box" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#FFFFFF" fill-opacity="0.85"/><text x="{:.1}" y="{:.1}" font-size="{font_px}" fill="{color}">{}</text></g>"##,
        b.x,
        b.y,
        b.w,
        b.h,
        b.x + 2.0,
        b.y + b.h - 3.5,
        escape(text)
    )
}

/// One message arrival to draw: from the send to a delivery or a drop.
struct Arrow {
    from: u64,
    to: u64,
    send_ns: u64,
    arrive_ns: u64,
    dropped: Option<super::data::DropCause>,
    msg: String,
    label: String,
    send_lamport: Option<u64>,
    arrive_lamport: Option<u64>,
}

/// Seconds with up to six decimals, for hover texts.
fn secs_exact(ns: u64) -> String {
    let s = format!("{:.6}", ns as f64 / NS_PER_S as f64);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn lamport_text(lamport: Option<u64>) -> String {
    lamport.map(|l| format!(" (Lamport {l})")).unwrap_or_default()
}

/// `timeline.svg`: the Lamport diagram of `[from_ns, to_ns]`. One vertical
/// line per node and client (time flows down); an arrow per message arrival
/// (a duplicate has two), dropped ones ending in a ✕, each labelled with the
/// message's short label where there is room; down time in red and paused
/// time in grey on the node's line; observations as dots with their labels;
/// faults as dashed lines labelled in the right margin. At most `cap`
/// arrows are drawn, in trace order.
pub fn timeline_svg(data: &RunData, window: (u64, u64), cap: usize) -> String {
    let (from_ns, to_ns) = (window.0, window.1.max(window.0.saturating_add(1)));
    let span = (to_ns - from_ns) as f64;

    let mut lanes: BTreeSet<u64> = BTreeSet::new();
    if let Some(count) = data.summary.nodes {
        // At most the processes a scenario may have: summary.json may be hand-edited.
        let processes_max = 2 * crate::scenario::PROCESSES_MAX as u64;
        lanes.extend(0..count.saturating_add(data.summary.clients.unwrap_or(0)).min(processes_max));
    }
    for event in &data.timeline {
        match event {
            TimelineEvent::Send { from, to, .. }
            | TimelineEvent::Deliver { from, to, .. }
            | TimelineEvent::Drop { from, to, .. } => {
                lanes.insert(*from);
                lanes.insert(*to);
            }
            TimelineEvent::Observe { node, .. } => {
                lanes.insert(*node);
            }
            TimelineEvent::Fault { node, .. } => {
                lanes.extend(*node);
            }
        }
    }
    // The lanes share the width left of the fault labels' margin.
    let lane_count = lanes.len().max(1) as f64;
    let lane_gap = ((PAGE_WIDTH_PX - LEFT_PX - 20.0 - GUTTER_PX) / lane_count).min(LANE_GAP_MAX_PX);
    let lane_x: BTreeMap<u64, f64> =
        lanes.iter().enumerate().map(|(index, &id)| (id, LEFT_PX + 20.0 + lane_gap * (index as f64 + 0.5))).collect();
    let lanes_right = LEFT_PX + 20.0 + lane_gap * lane_count;
    let width = (lanes_right + GUTTER_PX).ceil();

    // Pair arrivals with sends; keep the arrivals whose span meets the window.
    let mut sends: BTreeMap<u64, (u64, String, String, Option<u64>)> = BTreeMap::new();
    let mut arrows: Vec<Arrow> = Vec::new();
    // Down (crash..restart) and paused (pause..resume) spans per node.
    let mut down_since: BTreeMap<u64, u64> = BTreeMap::new();
    let mut paused_since: BTreeMap<u64, u64> = BTreeMap::new();
    let mut spans: Vec<(u64, u64, u64, &'static str)> = Vec::new();
    let mut marks: Vec<(u64, String, Option<u64>)> = Vec::new();
    // (time, node, label, full text, Lamport)
    let mut observations: Vec<(u64, u64, String, &str, Option<u64>)> = Vec::new();
    let end_ns = data.end_ns().max(to_ns);
    let mut in_window = 0usize;
    for event in &data.timeline {
        if (from_ns..=to_ns).contains(&event.time_ns()) {
            in_window += 1;
        }
        match event {
            TimelineEvent::Send { t, msg_id, msg, label, lamport, .. } => {
                // A send after the window can draw nothing: don't keep it.
                if *t <= to_ns {
                    sends.insert(*msg_id, (*t, msg.clone(), label.clone(), *lamport));
                }
            }
            TimelineEvent::Deliver { t, from, to, msg_id, lamport }
            | TimelineEvent::Drop { t, from, to, msg_id, lamport, .. } => {
                // An arrival whose send is not in the file is drawn as if
                // sent at its arrival time.
                let (send_ns, msg, label, send_lamport) =
                    sends.get(msg_id).cloned().unwrap_or((*t, String::new(), String::new(), None));
                if *t >= from_ns && send_ns <= to_ns {
                    let dropped = match event {
                        TimelineEvent::Drop { cause, .. } => Some(*cause),
                        _ => None,
                    };
                    let label = if label.is_empty() { crate::sim::trace::debug_label(&Raw(&msg)) } else { label };
                    arrows.push(Arrow {
                        from: *from,
                        to: *to,
                        send_ns,
                        arrive_ns: *t,
                        dropped,
                        msg,
                        label,
                        send_lamport,
                        arrive_lamport: *lamport,
                    });
                }
            }
            TimelineEvent::Observe { t, node, obs, label, lamport } => {
                if (from_ns..=to_ns).contains(t) {
                    let label = if label.is_empty() { cut(obs, OBSERVATION_CHARS_MAX) } else { label.clone() };
                    observations.push((*t, *node, label, obs, *lamport));
                }
            }
            TimelineEvent::Fault { t, node, what, lamport } => {
                let word = what.split_whitespace().next().unwrap_or("");
                if let Some(node) = node {
                    match word {
                        "crash" => {
                            down_since.entry(*node).or_insert(*t);
                        }
                        "restart" | "start" => {
                            if let Some(since) = down_since.remove(node) {
                                spans.push((*node, since, *t, "node-down"));
                            }
                        }
                        "pause" => {
                            paused_since.entry(*node).or_insert(*t);
                        }
                        "resume" => {
                            if let Some(since) = paused_since.remove(node) {
                                spans.push((*node, since, *t, "node-paused"));
                            }
                        }
                        _ => {}
                    }
                }
                if word != "start" && (from_ns..=to_ns).contains(t) {
                    marks.push((*t, what.clone(), *lamport));
                }
            }
        }
    }
    for (node, since) in down_since {
        spans.push((node, since, end_ns, "node-down"));
    }
    for (node, since) in paused_since {
        spans.push((node, since, end_ns, "node-paused"));
    }
    spans.sort();

    // Over the cap, keep the arrivals next to what matters: the last ones
    // before a violation inside the window, else an even sample of the window.
    let violation_inside =
        data.summary.violation.as_ref().is_some_and(|violation| (from_ns..=to_ns).contains(&violation.time_ns));
    let drawn = arrows.len().min(cap);
    let kept: Vec<&Arrow> = if violation_inside {
        arrows[arrows.len() - drawn..].iter().collect()
    } else {
        (0..drawn).map(|i| &arrows[i * arrows.len() / drawn.max(1)]).collect()
    };
    let which = if violation_inside { "the latest before the violation" } else { "sampled evenly over the window" };

    // The body grows with the arrows drawn, so their labels find room.
    let body = (kept.len() as f64 * BODY_PX_PER_ARROW).clamp(BODY_MIN_PX, BODY_MAX_PX);
    let height = (TOP_PX + body + 80.0).ceil();
    let y_of = |t: u64| TOP_PX + (t.saturating_sub(from_ns) as f64 / span).min(1.0) * body;
    // Unclamped position, for lines that the clip path cuts.
    let y_raw = |t: u64| TOP_PX + (t as f64 - from_ns as f64) / span * body;

    let mut out = String::with_capacity(96 * 1024);
    out.push_str(&format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}" data-top="{TOP_PX}" data-body="{body}">"#
    ));
    out.push_str(&format!(
        r##"<defs><marker id="fl-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#1f77b4"/></marker><clipPath id="fl-body"><rect x="0" y="{TOP_PX}" width="{width}" height="{body}"/></clipPath></defs>"##
    ));
    out.push_str(&format!(
        r##"<rect class="background" x="0" y="0" width="{width}" height="{height}" fill="#FFFFFF"/>"##
    ));
    out.push_str(&format!(
        r##"<text x="{}" y="24" font-size="16" fill="#222222">{}</text>"##,
        LEFT_PX,
        escape(&format!(
            "messages - {} seed {}, {} s to {} s (time flows down; hover an arrow for its message)",
            data.summary.scenario,
            data.summary.seed,
            super::plots::fmt_num(from_ns as f64 / NS_PER_S as f64),
            super::plots::fmt_num(to_ns as f64 / NS_PER_S as f64)
        ))
    ));

    // Time axis on the left: a tick every 100 px or so.
    let ticks = ((body / 100.0).round() as u64).max(10);
    for tick in 0..=ticks {
        // In u128: a window of centuries times ten overflows u64.
        let t = from_ns + ((to_ns - from_ns) as u128 * tick as u128 / ticks as u128) as u64;
        let y = y_of(t);
        out.push_str(&format!(
            r##"<line x1="{}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#EEEEEE"/><text x="{}" y="{:.1}" font-size="12" fill="#555555" text-anchor="end">{} s</text>"##,
            LEFT_PX,
            lanes_right,
            LEFT_PX - 4.0,
            y + 4.0,
            super::plots::fmt_num(t as f64 / NS_PER_S as f64)
        ));
    }
    out.push_str(&format!(
        r##"<text x="14" y="{:.1}" font-size="12" fill="#555555" transform="rotate(-90 14 {:.1})" text-anchor="middle">simulated time (s)</text>"##,
        TOP_PX + body / 2.0,
        TOP_PX + body / 2.0
    ));

    // Lanes.
    let lane_font = if lane_gap < 75.0 { 12 } else { 13 };
    for (&id, &x) in &lane_x {
        out.push_str(&format!(
            r##"<g class="lane"><text x="{x:.1}" y="{:.1}" font-size="{lane_font}" text-anchor="middle" fill="#222222">{}</text><line x1="{x:.1}" y1="{TOP_PX}" x2="{x:.1}" y2="{:.1}" stroke="#333333" stroke-width="1.5"/></g>"##,
            TOP_PX - 10.0,
            escape(&lane_label(id, data.summary.nodes)),
            TOP_PX + body
        ));
    }
    out.push_str(r#"<g clip-path="url(#fl-body)">"#);
    for (node, since, until, class) in &spans {
        if *until < from_ns || *since > to_ns {
            continue;
        }
        let Some(&x) = lane_x.get(node) else { continue };
        let color = if *class == "node-down" { "#d62728" } else { "#999999" };
        out.push_str(&format!(
            r#"<rect class="{class}" x="{:.1}" y="{:.1}" width="6" height="{:.1}" fill="{color}"/>"#,
            x - 3.0,
            y_of(*since),
            (y_of(*until) - y_of(*since)).max(1.0)
        ));
    }

    // Labels, most important first: faults, the violation, observations,
    // messages to and from clients, other messages.
    let body_box = LabelBox { x: LEFT_PX, y: TOP_PX, w: lanes_right - LEFT_PX, h: body };
    let gutter = LabelBox { x: lanes_right, y: TOP_PX - 4.0, w: GUTTER_PX, h: body + 8.0 };
    let mut wants: Vec<(Vec<LabelBox>, LabelBox)> = Vec::new();
    let mut texts: Vec<(String, &'static str, f64, &'static str)> = Vec::new();
    for (t, what, _) in &marks {
        let text = cut(&fault_words(what), ((GUTTER_PX - 10.0) / (FAULT_LABEL_PX * TEXT_EM)) as usize);
        let (w, h) = text_size(&text, FAULT_LABEL_PX);
        let y = y_of(*t);
        // Beside the line, else stacked below or above it.
        let candidates = (0..12)
            .flat_map(|step| {
                let shift = step as f64 * h;
                [y - h - 1.0 + shift, y - h - 1.0 - shift]
            })
            .map(|top| LabelBox { x: lanes_right + 4.0, y: top, w, h })
            .collect();
        wants.push((candidates, gutter));
        texts.push((text, "fault-label", FAULT_LABEL_PX, "#d62728"));
    }
    if let Some(violation) = data.summary.violation.as_ref().filter(|_| violation_inside) {
        let text = cut(&format!("violation: {} {}", violation.check, violation.detail), 100);
        let (w, h) = text_size(&text, 12.0);
        let y = y_of(violation.time_ns);
        let candidates = [y - h - 2.0, y + 2.0, y - 2.0 * h - 2.0]
            .into_iter()
            .map(|top| LabelBox { x: LEFT_PX + 4.0, y: top, w: w.min(body_box.w - 8.0), h })
            .collect();
        wants.push((candidates, body_box));
        texts.push((text, "violation-label", 12.0, "#d62728"));
    }
    let mut placed_obs = 0;
    let frequent = frequent_kinds(&observations);
    observations.retain(|(_, _, _, obs, _)| !frequent.iter().any(|(k, _)| *k == kind_of(obs)));
    let shown_obs = observations.len().min(OBSERVATION_CAP);
    let skipped_obs = if violation_inside { observations.len() - shown_obs } else { 0 };
    let shown: Vec<&(u64, u64, String, &str, Option<u64>)> =
        observations.iter().skip(skipped_obs).take(OBSERVATION_CAP).collect();
    for (t, node, label, _, _) in &shown {
        let Some(&x) = lane_x.get(node) else { continue };
        let text = cut(label, OBSERVATION_CHARS_MAX);
        let (w, h) = text_size(&text, LABEL_PX);
        let y = y_of(*t);
        let candidates = [
            (x + 5.0, y - h / 2.0),
            (x - 5.0 - w, y - h / 2.0),
            (x + 5.0, y - h - 2.0),
            (x + 5.0, y + 2.0),
            (x - 5.0 - w, y - h - 2.0),
            (x - 5.0 - w, y + 2.0),
        ]
        .into_iter()
        .map(|(left, top)| LabelBox { x: left, y: top, w, h })
        .collect();
        wants.push((candidates, body_box));
        texts.push((text, "obs-label", LABEL_PX, "#2a7a2a"));
        placed_obs += 1;
    }
    // Messages: those of clients first (they tell which operation went where),
    // nearest the violation first when it is in the window, else in time order.
    let is_client = |id: u64| data.summary.nodes.is_some_and(|n| id >= n);
    let mut order: Vec<usize> = (0..kept.len()).collect();
    order.sort_by_key(|&i| {
        let a = kept[i];
        let client = is_client(a.from) || is_client(a.to);
        (!client, if violation_inside { kept.len() - i } else { i })
    });
    let mut arrow_label_index: Vec<Option<usize>> = vec![None; kept.len()];
    for &i in &order {
        let a = kept[i];
        let (Some(&x1), Some(&x2)) = (lane_x.get(&a.from), lane_x.get(&a.to)) else { continue };
        let text = cut(&a.label, MESSAGE_CHARS_MAX);
        let (w, h) = text_size(&text, LABEL_PX);
        let (y1, y2) = (
            y_raw(a.send_ns),
            if a.dropped.is_some() && a.arrive_ns == a.send_ns { y_raw(a.send_ns) + 8.0 } else { y_raw(a.arrive_ns) },
        );
        let x2 =
            if a.dropped.is_some() { x1 + (x2 - x1) * if a.arrive_ns == a.send_ns { 0.5 } else { 0.85 } } else { x2 };
        let mut candidates = Vec::new();
        for f in [0.5, 0.3, 0.7, 0.15, 0.85] {
            let (px, py) = (x1 + (x2 - x1) * f, y1 + (y2 - y1) * f);
            candidates.push(LabelBox { x: px - w / 2.0, y: py - h - 1.0, w, h });
            candidates.push(LabelBox { x: px - w / 2.0, y: py + 1.0, w, h });
        }
        // Beside the sender, on the side the arrow leaves by.
        let beside = if x2 >= x1 { x1 + 3.0 } else { x1 - 3.0 - w };
        candidates.push(LabelBox { x: beside, y: y1 - h - 1.0, w, h });
        candidates.push(LabelBox { x: beside, y: y1 + 1.0, w, h });
        arrow_label_index[i] = Some(wants.len());
        wants.push((candidates, body_box));
        texts.push((text, "msg-label", LABEL_PX, if a.dropped.is_some() { "#b22222" } else { "#1f4e79" }));
    }
    let placed = place_labels(&wants);

    // Fault marks, the violation line, arrows and dots, then the labels over them.
    for (t, what, lamport) in &marks {
        let y = y_of(*t);
        out.push_str(&format!(
            r##"<g class="fault-mark"><title>{}</title><line x1="{LEFT_PX}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#d62728" stroke-dasharray="4 3" stroke-width="0.8"/></g>"##,
            escape(&format!("{} s: {what}{}", secs_exact(*t), lamport_text(*lamport))),
            lanes_right + 4.0,
        ));
    }
    if let Some(violation) = data.summary.violation.as_ref().filter(|_| violation_inside) {
        let y = y_of(violation.time_ns);
        out.push_str(&format!(
            r##"<g class="violation-mark"><title>{}</title><line x1="{LEFT_PX}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#d62728" stroke-width="2"/></g>"##,
            escape(&format!("{} s: violation of {}: {}", secs_exact(violation.time_ns), violation.check, violation.detail)),
            lanes_right,
        ));
    }
    for arrow in &kept {
        let (Some(&x1), Some(&x2)) = (lane_x.get(&arrow.from), lane_x.get(&arrow.to)) else {
            continue;
        };
        let y1 = y_raw(arrow.send_ns);
        let sent = format!(
            "{} -> {}: {}\n{}\nsent {} s{}",
            lane_label(arrow.from, data.summary.nodes),
            lane_label(arrow.to, data.summary.nodes),
            arrow.label,
            cut(&arrow.msg, 300),
            secs_exact(arrow.send_ns),
            lamport_text(arrow.send_lamport)
        );
        if let Some(cause) = arrow.dropped {
            let why = match cause {
                super::data::DropCause::Loss => "lost by the network",
                super::data::DropCause::Cut => "dropped: the link was cut",
                super::data::DropCause::Down => "dropped: the target was down",
                super::data::DropCause::Late => "dropped: its call had given up",
            };
            let title = escape(&format!("{sent}, {why} at {} s", secs_exact(arrow.arrive_ns)));
            // Lost at send time: stop half-way; lost later: stop near the target.
            let fraction = if arrow.arrive_ns == arrow.send_ns { 0.5 } else { 0.85 };
            let x_end = x1 + (x2 - x1) * fraction;
            let y_end = if arrow.arrive_ns == arrow.send_ns { y1 + 8.0 } else { y_raw(arrow.arrive_ns) };
            out.push_str(&format!(
                r##"<g class="msg dropped"><title>{title}</title><line x1="{x1:.1}" y1="{y1:.1}" x2="{x_end:.1}" y2="{y_end:.1}" stroke="#d62728" stroke-width="1" stroke-dasharray="3 2"/><path class="drop-x" d="M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}" stroke="#d62728" stroke-width="2"/></g>"##,
                x_end - 4.0,
                y_end - 4.0,
                x_end + 4.0,
                y_end + 4.0,
                x_end - 4.0,
                y_end + 4.0,
                x_end + 4.0,
                y_end - 4.0
            ));
        } else {
            let title = escape(&format!(
                "{sent}, delivered {} s{}",
                secs_exact(arrow.arrive_ns),
                lamport_text(arrow.arrive_lamport)
            ));
            let y2 = y_raw(arrow.arrive_ns);
            out.push_str(&format!(
                r##"<line class="msg" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#1f77b4" stroke-width="1" marker-end="url(#fl-arrow)"><title>{title}</title></line>"##
            ));
        }
    }
    for (t, node, _, obs, lamport) in &shown {
        let Some(&x) = lane_x.get(node) else { continue };
        let y = y_of(*t);
        out.push_str(&format!(
            r##"<g class="obs"><title>{}</title><circle cx="{x:.1}" cy="{y:.1}" r="3" fill="#2ca02c"/></g>"##,
            escape(&format!(
                "{} s {}: {obs}{}",
                secs_exact(*t),
                lane_label(*node, data.summary.nodes),
                lamport_text(*lamport)
            ))
        ));
    }
    out.push_str("</g>");
    let mut unlabelled_msgs = 0;
    for (index, ((text, class, font, color), spot)) in texts.iter().zip(&placed).enumerate() {
        match spot {
            Some(b) => out.push_str(&label_svg(class, b, *font, color, text)),
            None if arrow_label_index.contains(&Some(index)) => unlabelled_msgs += 1,
            None => {}
        }
    }
    let _ = placed_obs;
    let mut notes = Vec::new();
    if arrows.len() > drawn {
        notes.push(format!("{} more messages not drawn (those drawn are {which})", arrows.len() - drawn));
    }
    if unlabelled_msgs > 0 {
        notes.push(format!("{unlabelled_msgs} arrows unlabelled for want of room (hover one for its message)"));
    }
    if observations.len() > OBSERVATION_CAP {
        notes.push(format!("{} more observations not drawn", observations.len() - OBSERVATION_CAP));
    }
    if !frequent.is_empty() {
        let counts: Vec<String> = frequent.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        notes.push(format!("frequent observations not labelled: {}", counts.join(", ")));
    }
    if data.timeline.is_empty() {
        notes.push("no timeline.jsonl in the run folder".to_string());
    } else if in_window == 0 && arrows.is_empty() {
        notes.push("timeline.jsonl holds no events in this window".to_string());
    }
    for (index, note) in notes.iter().enumerate() {
        out.push_str(&format!(
            r##"<text class="more" x="{LEFT_PX}" y="{:.1}" font-size="13" fill="#555555">{}</text>"##,
            TOP_PX + body + 24.0 + 17.0 * index as f64,
            escape(note)
        ));
    }
    out.push_str("</svg>");
    out
}

/// Text shown through `Debug` as itself (to take the first word of an older file's message text).
struct Raw<'a>(&'a str);

impl std::fmt::Debug for Raw<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// An observation's kind: the first word of its text.
fn kind_of(obs: &str) -> String {
    obs.split([' ', '{', '(']).next().unwrap_or("").to_string()
}

/// The observation kinds too frequent in the window to label, with their counts.
fn frequent_kinds(observations: &[(u64, u64, String, &str, Option<u64>)]) -> Vec<(String, usize)> {
    let mut kind_counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, _, _, obs, _) in observations {
        *kind_counts.entry(kind_of(obs)).or_insert(0) += 1;
    }
    kind_counts.into_iter().filter(|(_, n)| *n > OBSERVATION_KIND_LABELS_MAX).collect()
}

/// Most notable events labelled in `events.svg`.
pub const NOTABLE_CAP: usize = 200;

/// `events.svg`: the whole run at a glance, one lane per node. Fault windows
/// are shaded across the lanes they hit and labelled above the lanes with
/// their nodes (`partition {0,1} | {2,3,4}`), and notable observations
/// (kinds rare enough to label, such as a new leader) are marked and
/// labelled in plain words on their node's lane, so a reader sees who led
/// when and what each fault did. Labels go through [`place_labels`]: none
/// overlaps another, and one with no room is left out (its dot's hover text
/// has it) and counted.
pub fn events_svg(data: &RunData) -> String {
    const WIDTH: f64 = PAGE_WIDTH_PX;
    const LANE_PX: f64 = 48.0;
    /// Rows of fault labels above the lanes.
    const FAULT_ROWS: usize = 3;
    const ROW_PX: f64 = 16.0;
    let end_ns = data.end_ns().max(1);
    let mut nodes: BTreeSet<u64> = data.notable.iter().map(|e| e.node).collect();
    for fault in &data.summary.faults {
        nodes.extend(fault.nodes.iter().copied());
    }
    if let Some(count) = data.summary.nodes {
        // At most the nodes a scenario may have: summary.json may be hand-edited.
        nodes.extend(0..count.min(crate::scenario::PROCESSES_MAX as u64));
    }
    let lanes: Vec<u64> = nodes.into_iter().collect();
    let lanes_top = TOP_PX + ROW_PX * FAULT_ROWS as f64;
    let lane_y: BTreeMap<u64, f64> =
        lanes.iter().enumerate().map(|(i, &n)| (n, lanes_top + LANE_PX * (i as f64 + 0.5))).collect();
    let lanes_bottom = lanes_top + LANE_PX * lanes.len().max(1) as f64;
    let height = lanes_bottom + 100.0;
    let left = LEFT_PX + 10.0;
    let plot_w = WIDTH - left - 30.0;
    let x_of = |t: u64| left + plot_w * (t.min(end_ns) as f64 / end_ns as f64);
    let mut out = String::with_capacity(16 * 1024);
    out.push_str(&format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="{FONT}">"##
    ));
    out.push_str(&format!(
        r##"<rect class="background" x="0" y="0" width="{WIDTH}" height="{height:.0}" fill="#FFFFFF"/><text x="{left}" y="24" font-size="16">{}</text>"##,
        escape(&format!("notable events by node - {} seed {} (hover a dot or a shaded window for details)", data.summary.scenario, data.summary.seed))
    ));
    let mut wants: Vec<(Vec<LabelBox>, LabelBox)> = Vec::new();
    let mut texts: Vec<(String, &'static str, &'static str)> = Vec::new();
    // Fault windows, each across the lanes of the nodes it hits, labelled above the lanes.
    let band = LabelBox { x: left, y: TOP_PX - 2.0, w: plot_w + 30.0, h: ROW_PX * FAULT_ROWS as f64 + 2.0 };
    for fault in &data.summary.faults {
        let (x0, x1) = (x_of(fault.start_ns), x_of(fault.end_ns.unwrap_or(end_ns)));
        let color = super::plots::fault_color(&fault.kind);
        let ys: Vec<f64> = fault.nodes.iter().filter_map(|n| lane_y.get(n).copied()).collect();
        let (top, bottom) = match (ys.iter().copied().reduce(f64::min), ys.iter().copied().reduce(f64::max)) {
            (Some(a), Some(b)) => (a - LANE_PX / 2.0, b + LANE_PX / 2.0),
            _ => (lanes_top, lanes_bottom),
        };
        let words = fault_words(&fault.detail);
        out.push_str(&format!(
            r##"<rect class="fault-window" x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{color}" fill-opacity="0.15"><title>{}</title></rect>"##,
            (x1 - x0).max(1.0),
            bottom - top,
            escape(&format!("{} to {} s: {words}", trim_seconds(fault.start_ns), fault.end_ns.map(trim_seconds).unwrap_or_else(|| "end".into())))
        ));
        let text = if words.is_empty() { fault.kind.clone() } else { words };
        let (w, h) = text_size(&text, 12.0);
        let candidates = (0..FAULT_ROWS)
            .map(|row| LabelBox { x: x0, y: TOP_PX + ROW_PX * row as f64, w, h })
            .chain(std::iter::once(LabelBox { x: x0, y: TOP_PX, w: text_size(&fault.kind, 12.0).0, h }))
            .collect();
        wants.push((candidates, band));
        texts.push((text, "fault-label", color));
    }
    for (&node, &y) in &lane_y {
        out.push_str(&format!(
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#999999"/><text x="{:.1}" y="{:.1}" font-size="13" text-anchor="end">{}</text>"##,
            left + plot_w,
            left - 8.0,
            y + 4.0,
            escape(&lane_label(node, data.summary.nodes))
        ));
    }
    // Time axis, in seconds.
    let axis_y = lanes_bottom + 10.0;
    for i in 0..=10u64 {
        let t = end_ns / 10 * i;
        out.push_str(&format!(
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"##,
            x_of(t),
            axis_y + 12.0,
            trim_seconds(t)
        ));
    }
    out.push_str(&format!(
        r##"<text x="{:.1}" y="{:.1}" font-size="13" text-anchor="middle">simulated time (s)</text>"##,
        left + plot_w / 2.0,
        axis_y + 32.0
    ));
    let lanes_box = LabelBox { x: left - 2.0, y: lanes_top, w: plot_w + 30.0, h: lanes_bottom - lanes_top };
    let notable: Vec<&super::data::Notable> = data.notable.iter().take(NOTABLE_CAP).collect();
    let first_notable = wants.len();
    for e in &notable {
        let Some(&y) = lane_y.get(&e.node) else {
            wants.push((Vec::new(), lanes_box));
            texts.push((String::new(), "notable-label", "#2a7a2a"));
            continue;
        };
        let x = x_of(e.t);
        let text = cut(&e.label(), OBSERVATION_CHARS_MAX);
        let (w, h) = text_size(&text, LABEL_PX);
        let candidates =
            [(x + 3.0, y - h - 3.0), (x + 3.0, y + 4.0), (x - w - 3.0, y - h - 3.0), (x - w - 3.0, y + 4.0)]
                .into_iter()
                .map(|(l, t)| LabelBox { x: l, y: t, w, h })
                .collect();
        wants.push((candidates, lanes_box));
        texts.push((text, "notable-label", "#2a7a2a"));
    }
    let placed = place_labels(&wants);
    for e in &notable {
        let Some(&y) = lane_y.get(&e.node) else { continue };
        let x = x_of(e.t);
        out.push_str(&format!(
            r##"<g class="notable"><circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="#2ca02c"/><title>{}</title></g>"##,
            escape(&format!(
                "{} s {}: {} ({})",
                trim_seconds(e.t),
                lane_label(e.node, data.summary.nodes),
                e.label(),
                e.text
            ))
        ));
    }
    let mut left_out = 0;
    for (index, ((text, class, color), spot)) in texts.iter().zip(&placed).enumerate() {
        match spot {
            Some(b) => {
                out.push_str(&label_svg(class, b, if *class == "fault-label" { 12.0 } else { LABEL_PX }, color, text))
            }
            None if index >= first_notable => left_out += 1,
            None => {}
        }
    }
    let mut notes = Vec::new();
    if left_out > 0 {
        notes.push(format!("{left_out} event labels left out for want of room (hover the dots)"));
    }
    if data.notable.len() > NOTABLE_CAP {
        notes.push(format!("{} more notable events not drawn", data.notable.len() - NOTABLE_CAP));
    }
    for (index, note) in notes.iter().enumerate() {
        out.push_str(&format!(
            r##"<text class="more" x="{left}" y="{:.1}" font-size="12" fill="#555555">{}</text>"##,
            axis_y + 50.0 + 16.0 * index as f64,
            escape(note)
        ));
    }
    out.push_str("</svg>");
    out
}

fn trim_seconds(ns: u64) -> String {
    let s = format!("{:.3}", ns as f64 / NS_PER_S as f64);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
