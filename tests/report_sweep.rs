//! The sweep summary: `sweep.json` round-trips, `sweep.html` is
//! self-contained, groups failures by check with their reproduce commands, and
//! draws the per-seed p99 histogram.

mod common;

use common::*;
use faultline::report::{write_sweep, SeedRow, SweepData};

fn row(seed: u64, outcome: &str, check: Option<&str>, p99: Option<f64>) -> SeedRow {
    SeedRow {
        seed,
        outcome: outcome.to_string(),
        failed_check: check.map(str::to_string),
        detail: check.map(|c| format!("{c} broke at seed {seed}")),
        reproduce: format!("faultline run s.json --seed {seed}"),
        latency_ms_p99: p99,
        trace_hash: format!("{seed:016x}"),
    }
}

/// Writes the sweep twice, checks byte equality, the JSON round trip, that the
/// page is self-contained XML, and that it holds `must_have` and `bars` bars.
fn check(name: &str, data: &SweepData, must_have: &[&str], not_have: &[&str]) {
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
    for forbidden in ["http", "src=", "<script", "<link", "href="] {
        assert!(!lower.contains(forbidden), "{name}: page contains {forbidden:?}");
    }
    let doc = parse_xml(&page);
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("svg")).count(), 1, "{name}: histogram");
    for fragment in must_have {
        assert!(page.contains(fragment), "{name}: page lacks {fragment:?}");
    }
    for fragment in not_have {
        assert!(!page.contains(fragment), "{name}: page has {fragment:?}");
    }
}

#[test]
fn failures_grouped_by_check_with_reproduce_commands() {
    let mut seeds: Vec<SeedRow> = (0..200).map(|s| row(s, "clean", None, Some(5.0 + (s % 17) as f64))).collect();
    seeds[7] = row(7, "failed", Some("linearizability"), Some(80.0));
    seeds[42] = row(42, "failed", Some("election-safety"), None);
    seeds[99] = row(99, "failed", Some("linearizability"), Some(90.0));
    seeds[150] = row(150, "inconclusive", None, None);
    let data = SweepData { scenario: "raft-chaos".into(), seeds };
    check(
        "grouped",
        &data,
        &[
            "200 seeds (0 to 199)",
            "<h3>election-safety &#8212; 1 seeds</h3>",
            "<h3>linearizability &#8212; 2 seeds</h3>",
            "faultline run s.json --seed 7",
            "faultline run s.json --seed 99",
            "faultline run s.json --seed 150",
            "p99 latency of the seed (ms)",
            "<td class=\"num fail\">3</td>",
            "<td class=\"num pass\">196</td>",
        ],
        &["faultline run s.json --seed 8<"],
    );
}

#[test]
fn clean_sweep_without_latency() {
    let data = SweepData { scenario: "tickets".into(), seeds: (0..5).map(|s| row(s, "clean", None, None)).collect() };
    check("clean", &data, &["No seed failed.", "no latency data"], &["Inconclusive seeds"]);
}
