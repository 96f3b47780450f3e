//! `report.html`: self-contained (nothing outside itself), well-formed, and
//! carrying the verdicts, the fault schedule, the latency table, every chart
//! and, for a linearizability failure, the counterexample window.

mod common;

use common::*;
use faultline::report::{load_run_dir, write_all};

/// Writes a run from `summary` (and a synthetic history), renders it, and
/// checks the report is self-contained, parses as XML, and holds `must_have`
/// (text fragments) and `classes` (class, count) in the parsed document.
fn check(name: &str, summary: &str, extra: &[(&str, &str)], must_have: &[&str], classes: &[(&str, usize)]) {
    let run = fresh_dir(name);
    write_run(&run, summary, Some(&history(&["ok", "fail", "info"], 60)), None);
    for (file, text) in extra {
        std::fs::write(run.join(file), text).unwrap();
    }
    let data = load_run_dir(&run).unwrap();
    let paths = write_all(&data, &run.join("out"), None).unwrap();
    let page = std::fs::read_to_string(paths.last().unwrap()).unwrap();
    assert!(paths.last().unwrap().ends_with("report.html"));
    let lower = page.to_lowercase();
    for forbidden in ["http", "src=", "<script", "<link", "@import", "@font-face", "<img", "href="] {
        assert!(!lower.contains(forbidden), "{name}: report contains {forbidden:?}");
    }
    for (at, _) in lower.match_indices("url(") {
        assert!(lower[at..].starts_with("url(#"), "{name}: url() to outside");
    }
    let doc = parse_xml(&page);
    let charts = doc.descendants().filter(|n| n.has_tag_name("svg")).count();
    assert!(charts >= 5, "{name}: {charts} inline charts");
    for fragment in must_have {
        assert!(page.contains(fragment), "{name}: report lacks {fragment:?}");
    }
    for (class, count) in classes {
        assert_eq!(count_class(&doc, class), *count, "{name}: class {class}");
    }
}

#[test]
fn passing_run_report() {
    let summary = summary_json(THREE_FAULTS, r#"{"kv":"pass","liveness":"unknown"}"#, "null");
    check(
        "passing",
        &summary,
        &[],
        &[
            "synthetic",
            "00ff00ff00ff00ff",
            "faultline run scenarios/synthetic.json --seed 42",
            "<td class=\"pass\">pass</td>",
            "<td class=\"unknown\">unknown</td>",
            "partition {0} | {1,2}",
            "end of run",
            "Latency (ms)",
        ],
        // Three faults, shaded on four time charts (latency, quantiles, rate, events).
        &[("fault-window", 12), ("violation", 0), ("violation-mark", 0), ("op", 0)],
    );
}

#[test]
fn linearizability_failure_shows_the_window() {
    let violation = r#"{"check":"linearizability","time_ns":1500000000,"event_index":77,"node":null,"detail":"read k1 = 3 <cannot be placed>"}"#;
    let summary = summary_json("[]", r#"{"linearizability":"fail","kv":"pass"}"#, violation);
    let window = r#"[
 {"process":0,"f":"write","key":"k1","invoke_ns":1000000000,"complete_ns":1200000000,"outcome":"ok","value":3,"highlighted":false},
 {"process":1,"f":"write","key":"k1","invoke_ns":1100000000,"complete_ns":1300000000,"outcome":"ok","value":4,"highlighted":false},
 {"process":2,"f":"read","key":"k1","invoke_ns":1350000000,"complete_ns":1400000000,"outcome":"ok","value":3,"highlighted":true},
 {"process":3,"f":"cas","key":"k1","invoke_ns":1050000000,"complete_ns":null,"outcome":"info","value":[3,5],"highlighted":false}]"#;
    check(
        "lin_failure",
        &summary,
        &[("lin_window.json", window)],
        &[
            "<td class=\"fail\">fail</td>",
            "Linearizability counterexample",
            "read k1 = 3 &lt;cannot be placed&gt;",
            "process 3",
        ],
        // One violation mark on each time chart and on the timeline.
        &[("op", 4), ("highlighted", 1), ("violation", 1), ("violation-mark", 4)],
    );
}

#[test]
fn linearizability_failure_without_window_says_so() {
    let summary = summary_json("[]", r#"{"linearizability":"fail"}"#, "null").replacen(
        "\"nodes\":3",
        "\"lin_violation\":\"no order explains read k2 = 9\",\"nodes\":3",
        1,
    );
    check(
        "lin_no_window",
        &summary,
        &[],
        &["no order explains read k2 = 9", "carries no <code>lin_window</code>"],
        &[("op", 0)],
    );
}
