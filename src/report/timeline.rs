//! Hand-written SVG diagrams of a window of a run: the Lamport (space-time)
//! diagram of messages between nodes, and the per-process bars of a
//! linearizability counterexample window.
//!
//! Why it is shaped so: these are not charts with axes, so plotters would add
//! nothing; plain SVG elements keep classes (`msg`, `msg dropped`, `drop-x`,
//! `node-down`, `node-paused`, `obs`, `op`, `op highlighted`) that tests count
//! and that the report's CSS could style. Arrows are capped (`ARROW_CAP`) and
//! the rest announced as "N more messages not drawn", so a busy window stays
//! readable and the file small; with a violation in the window the arrows kept
//! are the last ones before it, since that is where the reader looks. The ✕ of a dropped message is a path, not a
//! glyph, so no font is needed for it. Text is SVG `<text>` in the viewer's
//! sans-serif font.

use super::data::{RunData, TimelineEvent, NS_PER_S};
use super::html::escape;
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

pub(crate) const FONT: &str = "sans-serif";
const LANE_GAP_PX: f64 = 140.0;
const LEFT_PX: f64 = 110.0;
const TOP_PX: f64 = 70.0;
const BODY_PX: f64 = 1100.0;

/// The default window of the timeline: the 2 s before the first violation,
/// else 2 s around the first fault (half a second before it), else the
/// first 2 s of the run.
pub fn default_timeline_window(data: &RunData) -> (u64, u64) {
    const WINDOW_NS: u64 = 2 * NS_PER_S;
    match (&data.summary.violation, data.summary.faults.first()) {
        (Some(violation), _) => (violation.time_ns.saturating_sub(WINDOW_NS), violation.time_ns.max(1)),
        (None, Some(f)) => {
            let start = f.start_ns.saturating_sub(WINDOW_NS / 4);
            (start, start + WINDOW_NS)
        }
        (None, None) => (0, WINDOW_NS),
    }
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

/// One message arrival to draw: from the send to a delivery or a drop.
struct Arrow {
    from: u64,
    to: u64,
    send_ns: u64,
    arrive_ns: u64,
    dropped: bool,
    msg: String,
}

/// `timeline.svg`: the Lamport diagram of `[from_ns, to_ns]`. One vertical
/// line per node and client (time flows down); an arrow per message arrival
/// (a duplicate has two), dropped ones ending in a ✕; down time in red and
/// paused time in grey on the node's line; observations as small labels.
/// At most `cap` arrows are drawn, in trace order.
pub fn timeline_svg(data: &RunData, window: (u64, u64), cap: usize) -> String {
    let (from_ns, to_ns) = (window.0, window.1.max(window.0.saturating_add(1)));
    let span = (to_ns - from_ns) as f64;
    let y_of = |t: u64| TOP_PX + (t.saturating_sub(from_ns) as f64 / span).min(1.0) * BODY_PX;
    // Unclamped position, for lines that the clip path cuts.
    let y_raw = |t: u64| TOP_PX + (t as f64 - from_ns as f64) / span * BODY_PX;

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
    let lane_x: BTreeMap<u64, f64> =
        lanes.iter().enumerate().map(|(index, &id)| (id, LEFT_PX + 40.0 + LANE_GAP_PX * index as f64)).collect();
    let width = (LEFT_PX + 80.0 + LANE_GAP_PX * lanes.len().max(1) as f64 + 200.0) as u32;
    let height = (TOP_PX + BODY_PX + 60.0) as u32;

    // Pair arrivals with sends; keep the arrivals whose span meets the window.
    let mut sends: BTreeMap<u64, (u64, String)> = BTreeMap::new();
    let mut arrows: Vec<Arrow> = Vec::new();
    // Down (crash..restart) and paused (pause..resume) spans per node.
    let mut down_since: BTreeMap<u64, u64> = BTreeMap::new();
    let mut paused_since: BTreeMap<u64, u64> = BTreeMap::new();
    let mut spans: Vec<(u64, u64, u64, &'static str)> = Vec::new();
    let mut marks: Vec<(u64, String)> = Vec::new();
    let mut observations: Vec<(u64, u64, &str)> = Vec::new();
    let end_ns = data.end_ns().max(to_ns);
    for event in &data.timeline {
        match event {
            TimelineEvent::Send { t, msg_id, msg, .. } => {
                // A send after the window can draw nothing: don't keep it.
                if *t <= to_ns {
                    sends.insert(*msg_id, (*t, msg.clone()));
                }
            }
            TimelineEvent::Deliver { t, from, to, msg_id, .. } | TimelineEvent::Drop { t, from, to, msg_id, .. } => {
                // An arrival whose send is not in the file is drawn as if
                // sent at its arrival time.
                let (send_ns, msg) = sends.get(msg_id).cloned().unwrap_or((*t, String::new()));
                if *t >= from_ns && send_ns <= to_ns {
                    arrows.push(Arrow {
                        from: *from,
                        to: *to,
                        send_ns,
                        arrive_ns: *t,
                        dropped: matches!(event, TimelineEvent::Drop { .. }),
                        msg,
                    });
                }
            }
            TimelineEvent::Observe { t, node, obs } => {
                if (from_ns..=to_ns).contains(t) {
                    observations.push((*t, *node, obs));
                }
            }
            TimelineEvent::Fault { t, node, what } => {
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
                    marks.push((*t, what.clone()));
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

    let mut out = String::with_capacity(64 * 1024);
    out.push_str(&format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}">"#
    ));
    out.push_str(&format!(
        r##"<defs><marker id="fl-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#1f77b4"/></marker><clipPath id="fl-body"><rect x="0" y="{TOP_PX}" width="{width}" height="{BODY_PX}"/></clipPath></defs>"##
    ));
    out.push_str(&format!(
        r##"<rect class="background" x="0" y="0" width="{width}" height="{height}" fill="#FFFFFF"/>"##
    ));
    out.push_str(&format!(
        r##"<text x="{}" y="24" font-size="16" fill="#222222">{}</text>"##,
        LEFT_PX,
        escape(&format!(
            "messages - {} seed {}, {} s to {} s (time flows down)",
            data.summary.scenario,
            data.summary.seed,
            super::plots::fmt_num(from_ns as f64 / NS_PER_S as f64),
            super::plots::fmt_num(to_ns as f64 / NS_PER_S as f64)
        ))
    ));

    // Time axis on the left: 10 ticks.
    for tick in 0..=10u64 {
        // In u128: a window of centuries times ten overflows u64.
        let t = from_ns + ((to_ns - from_ns) as u128 * tick as u128 / 10) as u64;
        let y = y_of(t);
        out.push_str(&format!(
            r##"<line x1="{}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#EEEEEE"/><text x="{}" y="{:.1}" font-size="11" fill="#555555" text-anchor="end">{} s</text>"##,
            LEFT_PX,
            width as f64 - 20.0,
            LEFT_PX - 6.0,
            y + 4.0,
            super::plots::fmt_num(t as f64 / NS_PER_S as f64)
        ));
    }
    out.push_str(&format!(
        r##"<text x="14" y="{:.1}" font-size="12" fill="#555555" transform="rotate(-90 14 {:.1})" text-anchor="middle">simulated time (s)</text>"##,
        TOP_PX + BODY_PX / 2.0,
        TOP_PX + BODY_PX / 2.0
    ));

    // Lanes.
    for (&id, &x) in &lane_x {
        out.push_str(&format!(
            r##"<g class="lane"><text x="{x:.1}" y="{:.1}" font-size="13" text-anchor="middle" fill="#222222">{}</text><line x1="{x:.1}" y1="{TOP_PX}" x2="{x:.1}" y2="{:.1}" stroke="#333333" stroke-width="1.5"/></g>"##,
            TOP_PX - 10.0,
            escape(&lane_label(id, data.summary.nodes)),
            TOP_PX + BODY_PX
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
    for (t, what) in &marks {
        let y = y_of(*t);
        out.push_str(&format!(
            r##"<g class="fault-mark"><line x1="{LEFT_PX}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#d62728" stroke-dasharray="4 3" stroke-width="0.8"/><text x="{:.1}" y="{:.1}" font-size="10" fill="#d62728">{}</text></g>"##,
            width as f64 - 20.0,
            width as f64 - 200.0,
            y - 2.0,
            escape(&cut(what, 32))
        ));
    }
    if let Some(violation) = &data.summary.violation {
        if (from_ns..=to_ns).contains(&violation.time_ns) {
            let y = y_of(violation.time_ns);
            out.push_str(&format!(
                r##"<g class="violation-mark"><line x1="{LEFT_PX}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#d62728" stroke-width="2"/><text x="{:.1}" y="{:.1}" font-size="12" fill="#d62728">{}</text></g>"##,
                width as f64 - 20.0,
                LEFT_PX + 4.0,
                y - 4.0,
                escape(&cut(&format!("violation: {} {}", violation.check, violation.detail), 100))
            ));
        }
    }
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
    let which = if violation_inside { "the earliest in the window" } else { "sampled evenly over the window" };
    for arrow in kept {
        let (Some(&x1), Some(&x2)) = (lane_x.get(&arrow.from), lane_x.get(&arrow.to)) else {
            continue;
        };
        let y1 = y_raw(arrow.send_ns);
        let title = escape(&cut(&arrow.msg, 120));
        if arrow.dropped {
            // Lost at send time: stop half-way; lost later: stop near the target.
            let fraction = if arrow.arrive_ns == arrow.send_ns { 0.5 } else { 0.85 };
            let x_end = x1 + (x2 - x1) * fraction;
            let y_end = if arrow.arrive_ns == arrow.send_ns { y1 + 8.0 } else { y_raw(arrow.arrive_ns) };
            out.push_str(&format!(
                r##"<g class="msg dropped"><title>{title} (dropped)</title><line x1="{x1:.1}" y1="{y1:.1}" x2="{x_end:.1}" y2="{y_end:.1}" stroke="#d62728" stroke-width="1" stroke-dasharray="3 2"/><path class="drop-x" d="M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}" stroke="#d62728" stroke-width="2"/></g>"##,
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
            let y2 = y_raw(arrow.arrive_ns);
            out.push_str(&format!(
                r##"<line class="msg" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#1f77b4" stroke-width="1" marker-end="url(#fl-arrow)"><title>{title}</title></line>"##
            ));
        }
    }
    // Label the rare observation kinds; count the frequent ones.
    let kind_of = |obs: &str| obs.split([' ', '{', '(']).next().unwrap_or("").to_string();
    let mut kind_counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for (_, _, obs) in &observations {
        *kind_counts.entry(kind_of(obs)).or_insert(0) += 1;
    }
    let frequent: Vec<(String, usize)> =
        kind_counts.into_iter().filter(|(_, n)| *n > OBSERVATION_KIND_LABELS_MAX).collect();
    observations.retain(|(_, _, obs)| !frequent.iter().any(|(k, _)| *k == kind_of(obs)));
    let shown_obs = observations.len().min(OBSERVATION_CAP);
    let skipped_obs = if violation_inside { observations.len() - shown_obs } else { 0 };
    for (t, node, obs) in observations.iter().skip(skipped_obs).take(OBSERVATION_CAP) {
        let Some(&x) = lane_x.get(node) else { continue };
        let y = y_of(*t);
        out.push_str(&format!(
            r##"<g class="obs"><circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="#2ca02c"/><text x="{:.1}" y="{:.1}" font-size="9" fill="#2ca02c">{}</text></g>"##,
            x + 5.0,
            y + 3.0,
            escape(&cut(obs, OBSERVATION_CHARS_MAX))
        ));
    }
    out.push_str("</g>");
    let mut notes = Vec::new();
    if arrows.len() > drawn {
        notes.push(format!("{} more messages not drawn (those drawn are {which})", arrows.len() - drawn));
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
    }
    for (index, note) in notes.iter().enumerate() {
        out.push_str(&format!(
            r##"<text class="more" x="{LEFT_PX}" y="{:.1}" font-size="13" fill="#555555">{}</text>"##,
            TOP_PX + BODY_PX + 24.0 + 16.0 * index as f64,
            escape(note)
        ));
    }
    out.push_str("</svg>");
    out
}

/// Most notable events labelled in `events.svg`.
pub const NOTABLE_CAP: usize = 200;

/// `events.svg`: the whole run at a glance, one lane per node. Fault windows
/// are shaded across the lanes they hit, and notable observations (kinds
/// rare enough to label, such as a new leader) are marked and labelled on
/// their node's lane, so a reader sees who led when and what each fault did.
pub fn events_svg(data: &RunData) -> String {
    const WIDTH: f64 = 1100.0;
    const LANE_PX: f64 = 44.0;
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
    let lane_y: BTreeMap<u64, f64> =
        lanes.iter().enumerate().map(|(i, &n)| (n, TOP_PX + LANE_PX * (i as f64 + 0.5))).collect();
    let height = TOP_PX + LANE_PX * lanes.len().max(1) as f64 + 60.0;
    let plot_w = WIDTH - LEFT_PX - 30.0;
    let x_of = |t: u64| LEFT_PX + plot_w * (t.min(end_ns) as f64 / end_ns as f64);
    let mut out = String::with_capacity(16 * 1024);
    out.push_str(&format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="{FONT}">"##
    ));
    out.push_str(&format!(
        r##"<text x="{LEFT_PX}" y="24" font-size="16">{}</text>"##,
        escape(&format!("notable events by node - {} seed {}", data.summary.scenario, data.summary.seed))
    ));
    // Fault windows, each across the lanes of the nodes it hits.
    for fault in &data.summary.faults {
        let (x0, x1) = (x_of(fault.start_ns), x_of(fault.end_ns.unwrap_or(end_ns)));
        let color = super::plots::fault_color(&fault.kind);
        let ys: Vec<f64> = fault.nodes.iter().filter_map(|n| lane_y.get(n).copied()).collect();
        let (top, bottom) = match (ys.iter().copied().reduce(f64::min), ys.iter().copied().reduce(f64::max)) {
            (Some(a), Some(b)) => (a - LANE_PX / 2.0, b + LANE_PX / 2.0),
            _ => (TOP_PX, TOP_PX + LANE_PX * lanes.len() as f64),
        };
        out.push_str(&format!(
            r##"<rect class="fault-window" x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{color}" fill-opacity="0.15"><title>{}</title></rect>"##,
            (x1 - x0).max(1.0),
            bottom - top,
            escape(&fault.detail)
        ));
    }
    for (&node, &y) in &lane_y {
        out.push_str(&format!(
            r##"<line x1="{LEFT_PX}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#999999"/><text x="{:.1}" y="{:.1}" font-size="13" text-anchor="end">{}</text>"##,
            LEFT_PX + plot_w,
            LEFT_PX - 8.0,
            y + 4.0,
            escape(&lane_label(node, data.summary.nodes))
        ));
    }
    // Time axis, in seconds.
    let axis_y = TOP_PX + LANE_PX * lanes.len().max(1) as f64 + 10.0;
    for i in 0..=10u64 {
        let t = end_ns / 10 * i;
        out.push_str(&format!(
            r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
            x_of(t),
            axis_y + 12.0,
            trim_seconds(t)
        ));
    }
    out.push_str(&format!(
        r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">simulated time (s)</text>"##,
        LEFT_PX + plot_w / 2.0,
        axis_y + 32.0
    ));
    for (i, e) in data.notable.iter().take(NOTABLE_CAP).enumerate() {
        let Some(&y) = lane_y.get(&e.node) else { continue };
        let x = x_of(e.t);
        // Alternate labels above and below the lane so neighbours overlap less.
        let label_y = if i % 2 == 0 { y - 7.0 } else { y + 15.0 };
        out.push_str(&format!(
            r##"<g class="notable"><circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="#2ca02c"/><text x="{x:.1}" y="{label_y:.1}" font-size="10" fill="#2a7a2a">{}</text><title>{}</title></g>"##,
            escape(&cut(&e.label(), 28)),
            escape(&format!("{} s n{}: {}", trim_seconds(e.t), e.node, e.label()))
        ));
    }
    if data.notable.len() > NOTABLE_CAP {
        out.push_str(&format!(
            r##"<text class="more" x="{LEFT_PX}" y="{:.1}" font-size="12" fill="#555555">{} more notable events not drawn</text>"##,
            axis_y + 50.0,
            data.notable.len() - NOTABLE_CAP
        ));
    }
    out.push_str("</svg>");
    out
}

fn trim_seconds(ns: u64) -> String {
    let s = format!("{:.3}", ns as f64 / NS_PER_S as f64);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
