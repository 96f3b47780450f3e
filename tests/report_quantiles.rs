//! One quantile everywhere: the report's latency table, its time-bucket
//! quantiles and `summary.json` (written by the workload) all agree with
//! `faultline::stats::quantile`, nearest-rank, on the same samples.
//!
//! The issue: for four samples `summary.json` said p50 = the 3rd and
//! `report.html` the 2nd. The last test runs a real scenario end to end, so
//! it fails for as long as any writer of `summary.json` keeps a quantile of
//! its own.

mod common;

use common::*;
use faultline::report::{data::latency_table, load_run_dir, plots, write_all, Outcome};
use faultline::stats::{quantile, quantiles_ms};
use std::fmt::Write as _;

/// Four ok reads of 4, 1, 3 and 2 ms (invoked in that order).
fn four_reads() -> String {
    let mut out = String::new();
    for (index, ms) in [4u64, 1, 3, 2].into_iter().enumerate() {
        let t = 1_000_000_000 + index as u64 * 10_000_000;
        writeln!(out, "{}", line(index as u64, "invoke", "read", t)).unwrap();
        writeln!(out, "{}", line(index as u64, "ok", "read", t + ms * 1_000_000)).unwrap();
    }
    out
}

#[test]
fn four_samples_have_one_median_in_the_table_the_page_and_stats() {
    let run = fresh_dir("quantiles-four");
    write_run(&run, &summary_json("[]", "{}", "null"), Some(&four_reads()), None);
    let data = load_run_dir(&run).unwrap();
    let table = latency_table(&data.ops);
    assert_eq!(table.len(), 1);
    let (kind, outcome, row) = &table[0];
    assert_eq!((kind.as_str(), *outcome), ("read", Outcome::Ok));
    // Nearest rank: ceil(0.5 * 4) = 2, the 2nd smallest: 2 ms.
    assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.0);
    assert_eq!([row.p50, row.p90, row.p99, row.max], [2.0, 4.0, 4.0, 4.0]);
    assert_eq!([row.p50, row.p90, row.p99, row.max], quantiles_ms(&[4_000_000, 1_000_000, 3_000_000, 2_000_000]));
    let paths = write_all(&data, &run.join("out"), None).unwrap();
    let page = std::fs::read_to_string(paths.last().unwrap()).unwrap();
    let expected =
        "<td class=\"num\">4</td><td class=\"num\">0</td><td class=\"num\">2.000</td><td class=\"num\">4.000</td>";
    assert!(page.contains(expected), "report row: p50 2.000, p90 4.000");
}

#[test]
fn time_buckets_use_the_same_quantile() {
    let ops = load_run_dir(&{
        let run = fresh_dir("quantiles-buckets");
        write_run(&run, &summary_json("[]", "{}", "null"), Some(&four_reads()), None);
        run
    })
    .unwrap()
    .ops;
    // All four ops fall in one bucket of a 10 s run.
    let buckets = plots::bucket_quantiles(&ops, 10_000_000_000, &[0.5, 0.9, 1.0]);
    assert_eq!(buckets.len(), 1);
    assert_eq!(buckets[0].1, [2.0, 4.0, 4.0]);
}

#[test]
fn summary_json_and_the_report_agree_on_a_real_run() {
    let dir = fresh_dir("quantiles-real");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["run", "scenarios/raft/calm.json", "--seed", "3", "--out"])
        .arg(&dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run faultline");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let data = load_run_dir(&dir).unwrap();
    assert!(!data.summary.latency.is_empty(), "the run has client ops");
    let table = latency_table(&data.ops);
    for (kind, summary) in &data.summary.latency {
        // summary.json's latency is of the ok ops of each kind.
        let (_, _, row) = table
            .iter()
            .find(|(k, outcome, _)| k == kind && *outcome == Outcome::Ok)
            .unwrap_or_else(|| panic!("no ok {kind} row in the report"));
        let report = [row.p50, row.p90, row.p99, row.max];
        let saved = [summary.p50, summary.p90, summary.p99, summary.max];
        assert_eq!(saved, report, "{kind}: summary.json [p50, p90, p99, max] vs report.html");
    }
}
