//! The run charts: well-formed SVG, axis labels with units, one legend entry
//! per outcome present, one shaded rect per fault window, and byte-identical
//! output for the same input.

mod common;

use common::*;
use faultline::report::{load_run_dir, write_all};

const TIME_CHARTS: [&str; 4] = ["latency.svg", "latency-quantiles.svg", "rate.svg", "events.svg"];
/// The charts of client operations: a titled note, not empty axes, when a run has none.
const CLIENT_CHARTS: [&str; 4] = ["latency.svg", "latency-quantiles.svg", "latency-cdf.svg", "rate.svg"];

/// Builds a run with ops of `outcomes` and the faults `faults` (JSON text,
/// `fault_count` windows), writes everything twice into two folders, and
/// checks each chart.
fn check(name: &str, outcomes: &[&str], faults: &str, fault_count: usize) {
    let run = fresh_dir(&format!("{name}-run"));
    let history = if outcomes.is_empty() { None } else { Some(history(outcomes, 400)) };
    write_run(&run, &summary_json(faults, r#"{"kv":"pass"}"#, "null"), history.as_deref(), None);
    let data = load_run_dir(&run).unwrap();
    let first = write_all(&data, &fresh_dir(&format!("{name}-a")), None).unwrap();
    let again = load_run_dir(&run).unwrap();
    let second = write_all(&again, &fresh_dir(&format!("{name}-b")), None).unwrap();
    assert_eq!(first.len(), 7, "{name}: six SVGs and the report");
    for (a, b) in first.iter().zip(&second) {
        let bytes_a = std::fs::read(a).unwrap();
        assert!(bytes_a == std::fs::read(b).unwrap(), "{name}: {} differs between two runs", a.display());
    }
    let read = |file: &str| {
        let path = first.iter().find(|p| p.ends_with(file)).unwrap_or_else(|| panic!("{file} not written"));
        std::fs::read_to_string(path).unwrap()
    };
    for file in ["latency.svg", "latency-quantiles.svg", "latency-cdf.svg", "rate.svg", "timeline.svg"] {
        let text = read(file);
        let doc = parse_xml(&text);
        assert_eq!(doc.root_element().tag_name().name(), "svg", "{name}: {file}");
        if outcomes.is_empty() && CLIENT_CHARTS.contains(&file) {
            // Nothing to put on the axes, so there are none: a title and a note.
            let all = texts(&doc).join("\n");
            assert!(all.contains("no client operations"), "{name}: {file} lacks the note: {all}");
            assert!(all.contains("synthetic seed 42"), "{name}: title of {file}");
            for axis in ["(s)", "(ms, log scale)", "fraction of ops", "ops/s"] {
                assert!(!all.contains(axis), "{name}: {file} draws an axis {axis:?}: {all}");
            }
            assert_eq!(count_class(&doc, "fault-window"), 0, "{name}: fault windows in {file}");
            continue;
        }
        let expected = if TIME_CHARTS.contains(&file) { fault_count } else { 0 };
        assert_eq!(count_class(&doc, "fault-window"), expected, "{name}: fault windows in {file}");
        if TIME_CHARTS.contains(&file) {
            assert_eq!(count_class(&doc, "fault-label"), fault_count, "{name}: fault labels in {file}");
        }
        let all = texts(&doc).join("\n");
        let (x_label, y_label) = match file {
            "latency.svg" => ("invoke time (s)", "latency (ms, log scale)"),
            "latency-quantiles.svg" => ("invoke time (s)", "latency (ms, log scale)"),
            "latency-cdf.svg" => ("latency (ms, log scale)", "fraction of ops"),
            "rate.svg" => ("completion time (s)", "ops per second (ops/s)"),
            _ => ("simulated time (s)", "n0"),
        };
        assert!(all.contains(x_label) && all.contains(y_label), "{name}: labels of {file}: {all}");
        assert!(all.contains("synthetic seed 42"), "{name}: title of {file}");
    }
    for file in ["latency.svg", "rate.svg"] {
        let doc_text = read(file);
        let doc = parse_xml(&doc_text);
        let legend: Vec<String> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("legend-entry"))
            .map(|n| n.descendants().filter(|t| t.is_text()).filter_map(|t| t.text()).collect())
            .collect();
        // Legends name outcomes in words: a `fail` did not take effect.
        for (outcome, words) in [("ok", "ok"), ("fail", "did not take effect"), ("info", "unknown (info)")] {
            let entries = legend.iter().filter(|label| label.as_str() == words).count();
            let expected = usize::from(outcomes.contains(&outcome));
            assert_eq!(entries, expected, "{name}: legend entries for {outcome} in {file}: {legend:?}");
        }
        // ... and is drawn in a neutral grey, not an alarming red.
        if outcomes.contains(&"fail") {
            let entry = doc
                .descendants()
                .find(|n| {
                    n.attribute("class") == Some("legend-entry")
                        && n.descendants().any(|t| t.text() == Some("did not take effect"))
                })
                .expect("a legend entry for fail");
            let colour = entry.descendants().find_map(|n| n.attribute("fill").or(n.attribute("stroke")));
            assert_eq!(colour, Some("#8C8C8C"), "{name}: colour of fail in {file}");
        }
    }
    if outcomes.is_empty() {
        assert!(read("latency.svg").contains("no client operations"), "{name}: empty note");
    }
}

#[test]
fn all_outcomes_and_three_faults() {
    check("all_outcomes", &["ok", "ok", "fail", "info"], THREE_FAULTS, 3);
}

#[test]
fn only_ok_and_no_faults() {
    check("only_ok", &["ok"], "[]", 0);
}

#[test]
fn ok_and_fail_with_one_open_ended_fault() {
    let fault = r#"[{"kind":"partition","nodes":[0,1],"detail":"partition","start_ns":5000000000,"end_ns":null}]"#;
    check("ok_fail", &["ok", "fail"], fault, 1);
}

/// Without a history every chart file is still written; the four of client
/// operations carry the note instead of empty axes (checked in `check`).
#[test]
fn no_history_still_draws_every_chart() {
    check("no_history", &[], THREE_FAULTS, 3);
}

#[test]
fn real_fixture_charts_are_well_formed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pb");
    let data = load_run_dir(&dir).unwrap();
    let out = fresh_dir("real_fixture");
    for path in write_all(&data, &out, None).unwrap() {
        let text = std::fs::read_to_string(&path).unwrap();
        if path.extension().is_some_and(|e| e == "svg") {
            let doc = parse_xml(&text);
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let expected = if TIME_CHARTS.contains(&name.as_str()) { 9 } else { 0 };
            assert_eq!(count_class(&doc, "fault-window"), expected, "{name}");
        }
    }
}

#[test]
fn degenerate_inputs_still_draw() {
    // A bare summary (zero duration, no faults, no files) and a history where
    // every op starts at 0 with zero latency must not panic and must parse.
    let bare = fresh_dir("degenerate-bare");
    std::fs::write(bare.join("summary.json"), r#"{"scenario":"bare","seed":0}"#).unwrap();
    let zero = fresh_dir("degenerate-zero");
    let history = [
        line(0, "invoke", "read", 0),
        line(0, "ok", "read", 0),
        line(1, "invoke", "cas", 0),
        line(1, "fail", "cas", 0),
    ]
    .join("\n");
    write_run(
        &zero,
        r#"{"scenario":"zero","seed":1,"faults":[{"kind":"jump","start_ns":0,"end_ns":0}]}"#,
        Some(&history),
        None,
    );
    for (run, faults) in [(bare, 0), (zero, 1)] {
        let data = load_run_dir(&run).unwrap();
        for path in write_all(&data, &run.join("out"), None).unwrap() {
            let text = std::fs::read_to_string(&path).unwrap();
            if path.extension().is_some_and(|e| e == "svg") {
                let doc = parse_xml(&text);
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                let expected = if TIME_CHARTS.contains(&name.as_str()) { faults } else { 0 };
                assert_eq!(count_class(&doc, "fault-window"), expected, "{}", path.display());
            }
        }
    }
}
