//! The sweep summary: `sweep.json` round-trips, `sweep.html` is
//! self-contained (its only links are relative ones to the seeds' reports
//! in the sweep folder), groups failures by check with one explanation
//! each, lists failing seeds with commands that cannot wrap mid-word,
//! names the outlier seeds, and draws the per-seed p99 histogram.

mod common;

use common::*;
use faultline::report::sweep::outliers;
use faultline::report::{write_sweep, SeedRow, SweepData};

fn row(seed: u64, outcome: &str, check: Option<&str>, p99: Option<f64>) -> SeedRow {
    SeedRow {
        seed,
        outcome: outcome.to_string(),
        failed_check: check.map(str::to_string),
        detail: check.map(|c| format!("{c} broke at seed {seed}\n  the second line of seed {seed}")),
        reproduce: format!("faultline run s.json --seed {seed}"),
        latency_ms_p99: p99,
        trace_hash: format!("{seed:016x}"),
        ops: 100,
        failed_ops: seed % 7,
        report: None,
    }
}

fn sweep(scenario: &str, seeds: Vec<SeedRow>) -> SweepData {
    SweepData { scenario: scenario.into(), reports: 3, seeds }
}

/// Writes the sweep twice, checks byte equality, the JSON round trip, that the
/// page is self-contained XML whose links all point into the sweep folder,
/// and that it holds `must_have` and not `not_have`. Returns the page.
fn check(name: &str, data: &SweepData, must_have: &[&str], not_have: &[&str]) -> String {
    let a = write_sweep(&fresh_dir(&format!("{name}-a")), data).unwrap();
    let b = write_sweep(&fresh_dir(&format!("{name}-b")), data).unwrap();
    assert_eq!(a.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert!(std::fs::read(x).unwrap() == std::fs::read(y).unwrap(), "{name}: {} differs", x.display());
    }
    let json = std::fs::read_to_string(&a[0]).unwrap();
    let back: SweepData = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, data, "{name}: sweep.json round trip");
    let page = std::fs::read_to_string(&a[1]).unwrap();
    let lower = page.to_lowercase();
    for forbidden in ["http", "src=", "<script", "<link"] {
        assert!(!lower.contains(forbidden), "{name}: page contains {forbidden:?}");
    }
    let doc = parse_xml(&page);
    for link in doc.descendants().filter_map(|n| n.attribute("href")) {
        assert!(
            link.starts_with("seed-") && link.ends_with("/report.html") && !link.contains(".."),
            "{name}: a link out of the sweep folder: {link}"
        );
    }
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("svg")).count(), 1, "{name}: histogram");
    // Every command is in a cell or code element that does not wrap.
    for code in doc.descendants().filter(|n| n.has_tag_name("code")) {
        let text = code.text().unwrap_or("");
        if text.starts_with("faultline run") {
            let nowrap = code.attribute("class") == Some("cmd")
                || code.parent().and_then(|p| p.attribute("class")) == Some("cmd");
            assert!(nowrap, "{name}: command {text:?} may wrap");
        }
    }
    assert!(page.contains("code.cmd,td.cmd code{white-space:nowrap;word-break:normal"), "{name}: nowrap style");
    for fragment in must_have {
        assert!(page.contains(fragment), "{name}: page lacks {fragment:?}");
    }
    for fragment in not_have {
        assert!(!page.contains(fragment), "{name}: page has {fragment:?}");
    }
    page
}

#[test]
fn failures_grouped_by_check_with_one_explanation_and_reproduce_commands() {
    let mut seeds: Vec<SeedRow> = (0..200).map(|s| row(s, "clean", None, Some(5.0 + (s % 17) as f64))).collect();
    seeds[7] = row(7, "failed", Some("linearizability"), Some(80.0));
    seeds[7].report = Some("seed-7/report.html".into());
    seeds[42] = row(42, "failed", Some("election-safety"), None);
    seeds[99] = row(99, "failed", Some("linearizability"), Some(90.0));
    seeds[150] = row(150, "inconclusive", None, None);
    seeds[151] =
        SeedRow { detail: Some("index out of bounds (at src/x.rs:3)".into()), ..row(151, "simulator bug", None, None) };
    let data = sweep("raft-chaos", seeds);
    let page = check(
        "grouped",
        &data,
        &[
            "200 seeds (0 to 199)",
            "4 of 200 seeds failed</span>: election-safety (1), linearizability (2), simulator bug (1).",
            "<td class=\"num fail\">3</td>",
            "<td class=\"num pass\">195</td>",
            "<th>simulator bug</th>",
            "<b>linearizability</b></td><td class=\"num top\">2 of 200",
            "<b>simulator bug</b>",
            "faultline run s.json --seed 7",
            "faultline run s.json --seed 99",
            "faultline run s.json --seed 150",
            "<a href=\"seed-7/report.html\">seed 7</a>",
            "Failing seeds (4)",
            "Inconclusive seeds (1)",
            "p99 latency of the seed (ms)",
        ],
        &["faultline run s.json --seed 8<", "<th>nondeterministic</th>"],
    );
    // One explanation per check: the first failing seed's whole detail, once.
    let doc = parse_xml(&page);
    let explanations: Vec<&str> =
        doc.descendants().filter(|n| n.attribute("class") == Some("detail")).filter_map(|n| n.text()).collect();
    assert_eq!(explanations.len(), 3, "{explanations:?}");
    assert!(explanations.contains(&"linearizability broke at seed 7\n  the second line of seed 7"));
    assert!(!page.contains("<pre class=\"detail\">linearizability broke at seed 99"));
    // The failing seeds' table has one row per failing seed, in seed order, with both lines of detail.
    let rows: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("tr"))
        .filter_map(|tr| tr.children().find(|c| c.has_tag_name("td")).and_then(|td| td.text()).map(str::to_string))
        .collect();
    let failing_rows: Vec<&String> = rows.iter().filter(|r| ["7", "42", "99", "151"].contains(&r.as_str())).collect();
    assert_eq!(failing_rows, ["7", "42", "99", "151"]);
    assert!(page.contains("linearizability broke at seed 99 \u{2014} the second line of seed 99"));
}

#[test]
fn a_clean_sweep_names_its_outlier_seeds_with_their_commands() {
    let mut seeds: Vec<SeedRow> = (0..50).map(|s| row(s, "clean", None, Some(10.0 + (s % 5) as f64))).collect();
    seeds[31].latency_ms_p99 = Some(900.0);
    seeds[12].failed_ops = 77;
    let data = sweep("calm", seeds);
    check(
        "outliers",
        &data,
        &[
            "No seed failed: every check passed on all 50 seeds.",
            "<td class=\"nowrap\">highest p99 latency</td><td class=\"num\">31</td><td class=\"num nowrap\">900.0 ms</td>",
            "<td class=\"nowrap\">most failed operations</td><td class=\"num\">12</td><td class=\"num nowrap\">77 failed, 100 ok</td>",
            "<code>faultline run s.json --seed 31</code>",
            "<code>faultline run s.json --seed 12</code>",
            "No seed failed, so no full report was written",
        ],
        &["Failing seeds (", "Inconclusive seeds"],
    );
    let o = outliers(data.seeds.iter().map(|r| (r.seed, r.latency_ms_p99, r.failed_ops)), 3);
    assert_eq!(o.p99[0], (31, 900.0));
    // Ties go to the lower seed: seeds 4, 9, 14, ... all have p99 14 ms.
    assert_eq!(o.p99[1..], [(4, 14.0), (9, 14.0)]);
    assert_eq!(o.failed_ops, [(12, 77), (6, 6), (13, 6)]);
}

#[test]
fn clean_sweep_without_latency() {
    let seeds = (0..5).map(|s| SeedRow { failed_ops: 0, ..row(s, "clean", None, None) }).collect();
    check(
        "clean",
        &sweep("tickets", seeds),
        &["No seed failed.", "no latency data", "No seed had client operations"],
        &["Inconclusive seeds", "<th>outlier</th>"],
    );
}

#[test]
fn reports_switched_off_are_said_to_be() {
    let mut seeds: Vec<SeedRow> = (0..5).map(|s| row(s, "clean", None, Some(1.0))).collect();
    seeds[2] = row(2, "failed", Some("x"), Some(1.0));
    check(
        "no-reports",
        &SweepData { reports: 0, ..sweep("x", seeds) },
        &["None written (<code>--reports 0</code>)"],
        &[],
    );
}

#[test]
fn a_sweep_json_without_the_newer_fields_still_reads() {
    let old =
        r#"{"scenario":"s","seeds":[{"seed":1,"outcome":"clean","reproduce":"r","trace_hash":"0000000000000001"}]}"#;
    let data: SweepData = serde_json::from_str(old).unwrap();
    assert_eq!((data.reports, data.seeds[0].ops, data.seeds[0].failed_ops), (0, 0, 0));
    assert_eq!(data.seeds[0].report, None);
}
