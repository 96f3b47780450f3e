//! `plot --compare`: several runs overlaid in one well-formed `compare.svg`,
//! one legend entry per run naming scenario, seed and folder.

mod common;

use common::*;
use faultline::report::{compare, load_run_dir};

/// Builds one run per entry of `outcomes_per_run` (its outcomes; empty = no
/// history), compares them, and checks the SVG and its legend.
fn check(name: &str, outcomes_per_run: &[&[&str]]) {
    let mut runs = Vec::new();
    for (index, outcomes) in outcomes_per_run.iter().enumerate() {
        let dir = fresh_dir(&format!("{name}-run{index}"));
        let history = (!outcomes.is_empty()).then(|| history(outcomes, 50 + 30 * index));
        write_run(&dir, &summary_json("[]", "{}", "null"), history.as_deref(), None);
        runs.push(load_run_dir(&dir).unwrap());
    }
    let out = fresh_dir(&format!("{name}-out"));
    let path = compare(&runs, &out).unwrap();
    assert!(path.ends_with("compare.svg"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, std::fs::read_to_string(compare(&runs, &out).unwrap()).unwrap(), "{name}: not deterministic");
    let doc = parse_xml(&text);
    assert_eq!(count_class(&doc, "legend-entry"), runs.len(), "{name}: legend entries");
    let all = texts(&doc).join("\n");
    for index in 0..runs.len() {
        let label = format!("synthetic seed 42 ({name}-run{index})");
        assert!(all.contains(&label), "{name}: no {label:?} in {all}");
    }
    for label in ["latency (ms, log scale)", "completion time (s)", "ops/s"] {
        assert!(all.contains(label), "{name}: axis label {label:?}");
    }
}

#[test]
fn three_runs_overlaid() {
    check("three", &[&["ok"], &["ok", "fail"], &["info", "ok"]]);
}

#[test]
fn a_run_without_history_still_compares() {
    check("with_empty", &[&["ok"], &[]]);
}
