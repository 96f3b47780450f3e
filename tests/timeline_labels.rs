//! The message timeline of real runs, as a reader meets it: arrows and
//! events carry the protocol's short labels, no two label boxes overlap,
//! twelve participants fit the page width, every trace line of a message or
//! a process carries a Lamport timestamp that respects causality, and the
//! default window of a faulted run shows a fault (and `plot --timeline`
//! outside the saved window says so, exit 2).

mod common;

use common::cli::{faultline, s};
use common::*;
use faultline::report::timeline::{LabelBox, PAGE_WIDTH_PX};
use faultline::report::{default_timeline_window, load_run_dir};
use faultline::sim::trace::TraceLine;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Runs `faultline run SCENARIO --seed SEED --out DIR`; returns the folder.
fn run(name: &str, scenario: &str, seed: u64) -> PathBuf {
    let dir = fresh_dir(name);
    let out = faultline(&["run", scenario, "--seed", &seed.to_string(), "--out", s(&dir)]);
    assert!(out.code == 0 || out.code == 1, "{scenario}: exit {}: {}", out.code, out.stderr);
    dir
}

/// The label boxes of an SVG, with the text each one backs.
fn label_boxes(svg: &str) -> Vec<(LabelBox, String)> {
    let doc = parse_xml(svg);
    doc.descendants()
        .filter(|n| n.attribute("class") == Some("label-box"))
        .map(|n| {
            let number = |a: &str| n.attribute(a).and_then(|v| v.parse::<f64>().ok()).expect("a box coordinate");
            let text = n
                .next_sibling_element()
                .map(|t| t.descendants().filter(|d| d.is_text()).filter_map(|d| d.text()).collect())
                .unwrap_or_default();
            (LabelBox { x: number("x"), y: number("y"), w: number("width"), h: number("height") }, text)
        })
        .collect()
}

fn assert_no_overlap(what: &str, boxes: &[(LabelBox, String)]) {
    for (i, (a, text_a)) in boxes.iter().enumerate() {
        for (b, text_b) in &boxes[i + 1..] {
            assert!(!a.overlaps(b), "{what}: label {text_a:?} at {a:?} overlaps {text_b:?} at {b:?}");
        }
    }
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

/// The SVG's `width` attribute.
fn svg_width(svg: &str) -> f64 {
    parse_xml(svg).root_element().attribute("width").and_then(|w| w.parse().ok()).expect("an SVG width")
}

#[test]
fn labels_are_the_protocols_and_never_overlap_on_real_runs() {
    for (name, scenario, seed, message_word, event_word) in [
        ("labels-raft", "scenarios/raft/bug-stale-local-read.json", 0, "AppendEntries t", "leader t"),
        // zk-lock's notable events are its faults (its Raft observations are too frequent to label).
        ("labels-zk", "scenarios/lock/zk-partitions.json", 1, "AppendEntries t", "partition"),
    ] {
        let dir = run(name, scenario, seed);
        let timeline = read(&dir, "timeline.svg");
        let boxes = label_boxes(&timeline);
        assert_no_overlap(&format!("{scenario} timeline.svg"), &boxes);
        let messages: Vec<&String> = boxes.iter().map(|(_, t)| t).filter(|t| t.starts_with(message_word)).collect();
        assert!(
            messages.len() >= 10,
            "{scenario}: few labelled arrows: {:?}",
            boxes.iter().map(|b| &b.1).collect::<Vec<_>>()
        );
        // Labels are short forms, not Debug text.
        assert!(boxes.iter().all(|(_, t)| !t.contains(" { ") && t.chars().count() <= 100), "{scenario}: {boxes:?}");
        assert!(svg_width(&timeline) <= PAGE_WIDTH_PX, "{scenario}: timeline wider than the page");

        let events = read(&dir, "events.svg");
        let boxes = label_boxes(&events);
        assert_no_overlap(&format!("{scenario} events.svg"), &boxes);
        assert!(boxes.iter().any(|(_, t)| t.starts_with(event_word)), "{scenario}: events.svg labels: {boxes:?}");
        assert!(boxes.iter().all(|(_, t)| !t.contains('{') || t.contains(" | ")), "{scenario}: {boxes:?}");
    }
}

#[test]
fn trace_lines_carry_labels_and_lamport_timestamps_that_respect_causality() {
    let dir = run("lamport-raft", "scenarios/raft/leader-isolation.json", 0);
    let text = read(&dir, "timeline.jsonl");
    let mut stamps: BTreeMap<u64, u64> = BTreeMap::new();
    let mut clocks: BTreeMap<u64, u64> = BTreeMap::new();
    let (mut sends, mut delivers, mut timers_stamped) = (0, 0, 0);
    for line in text.lines() {
        let l: TraceLine<'_> = serde_json::from_str(line).expect("a trace line");
        // The process whose event it is, if any.
        let process = match l.ev.as_ref() {
            "send" => l.from,
            "deliver" => l.to,
            "observe" | "fsync" | "local-wake" | "fault" | "start" => l.node_id(),
            _ => None,
        };
        // A task's timer is on its process's clock (a stale one, of a task gone, on none).
        timers_stamped += usize::from(l.ev == "timer" && l.task.is_some() && l.lamport.is_some());
        if matches!(l.ev.as_ref(), "send" | "deliver" | "observe") {
            assert!(l.label.as_deref().is_some_and(|t| !t.is_empty()), "no label: {line}");
        }
        let Some(p) = process else { continue };
        let lamport = l.lamport.unwrap_or_else(|| panic!("no lamport: {line}"));
        let before = clocks.insert(p, lamport).unwrap_or(0);
        assert!(lamport > before, "process {p}'s clock went from {before} to {lamport}: {line}");
        match l.ev.as_ref() {
            "send" => {
                sends += 1;
                stamps.insert(l.msg_id.unwrap(), lamport);
            }
            "deliver" => {
                delivers += 1;
                if let Some(stamp) = stamps.get(&l.msg_id.unwrap()) {
                    assert!(lamport > *stamp, "delivered at {lamport}, sent at {stamp}: {line}");
                }
            }
            _ => {}
        }
    }
    assert!(sends > 100 && delivers > 100, "{sends} sends, {delivers} deliveries");
    assert!(timers_stamped > 10, "{timers_stamped} timer lines carry a Lamport timestamp");
    // The hover text of an arrow gives its Lamport timestamps.
    assert!(read(&dir, "timeline.svg").contains("(Lamport "), "no Lamport timestamp in the hover texts");
}

#[test]
fn the_default_timeline_window_of_a_faulted_run_contains_a_fault() {
    // A clean run: the window is around its first fault, and shows it.
    let dir = run("window-faulted", "scenarios/raft/leader-isolation.json", 0);
    let data = load_run_dir(&dir).unwrap();
    assert!(data.summary.violation.is_none(), "a clean run");
    let first = data.summary.faults.first().expect("the scenario has faults").start_ns;
    let (from, to) = default_timeline_window(&data);
    assert_eq!(Some([from, to]), data.summary.timeline_window_ns, "the report draws the window the run saved");
    assert!((from..=to).contains(&first), "window {from}..{to} misses the first fault at {first}");
    let faults_in = data
        .timeline
        .iter()
        .filter(|e| matches!(e, faultline::report::TimelineEvent::Fault { what, .. } if what.starts_with("partition")))
        .count();
    assert!(faults_in >= 1, "timeline.jsonl holds no partition");
    assert!(count_class(&parse_xml(&read(&dir, "timeline.svg")), "fault-mark") >= 1, "no fault drawn");

    // A folder without a saved window (older, or hand-made) gets the same rule.
    let hand = fresh_dir("window-faulted-hand");
    write_run(&hand, &summary_json(THREE_FAULTS, "{}", "null"), None, None);
    let (from, to) = default_timeline_window(&load_run_dir(&hand).unwrap());
    assert!((from..=to).contains(&1_000_000_000), "window {from}..{to} misses the crash at 1 s");
}

#[test]
fn plot_outside_the_saved_window_says_so_and_exits_2() {
    let dir = run("window-outside", "scenarios/raft/leader-isolation.json", 0);
    let out = faultline(&["plot", s(&dir), "--timeline", "15s..16s"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("outside the saved timeline"), "{}", out.stderr);
    let inside = faultline(&["plot", s(&dir), "--timeline", "2s..2500ms"]);
    assert_eq!(inside.code, 0, "{}", inside.stderr);
}

#[test]
fn twelve_participants_fit_the_page_and_fault_labels_are_whole() {
    let dir = fresh_dir("twelve");
    let scenario =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/raft/leader-isolation.json"))
            .unwrap()
            .replace(r#""nodes": 5"#, r#""nodes": 7"#)
            .replace(r#""clients": 3"#, r#""clients": 5"#)
            .replace(r#""duration": "20s""#, r#""duration": "12s""#)
            .replace(r#""start": "13500ms""#, r#""start": "10500ms""#)
            .replace(r#""stop": "15s""#, r#""stop": "11s""#);
    let file = dir.join("twelve.json");
    std::fs::write(&file, scenario).unwrap();
    let out = faultline(&["run", s(&file), "--seed", "2", "--out", s(&dir.join("run"))]);
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    let svg = read(&dir.join("run"), "timeline.svg");
    let width = svg_width(&svg);
    assert!(width <= PAGE_WIDTH_PX, "timeline {width} px wide");
    let doc = parse_xml(&svg);
    let lanes = count_class(&doc, "lane");
    assert_eq!(lanes, 12, "7 nodes and 5 clients");
    let boxes = label_boxes(&svg);
    assert_no_overlap("twelve", &boxes);
    let faults: Vec<&(LabelBox, String)> = boxes.iter().filter(|(_, t)| t.starts_with("partition")).collect();
    assert!(!faults.is_empty(), "no fault label: {boxes:?}");
    for (b, text) in faults {
        assert!(b.x + b.w <= width, "fault label {text:?} cut off at {width} px: {b:?}");
        assert!(!text.ends_with('…') && text.contains(" | "), "fault label {text:?}");
    }
}
