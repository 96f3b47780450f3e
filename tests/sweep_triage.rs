//! A sweep a person can triage, from the command line: each failing seed's
//! line carries its reproduce command and the output stays bounded however
//! many seeds fail; `--reports N` writes full run folders for the first N
//! failing seeds in seed order and `sweep.html` links them; a clean sweep
//! names its outlier seeds; a merge of shards finds and copies the shards'
//! reports so its page links the same ones as a one-machine sweep.

use std::path::{Path, PathBuf};

use faultline::explore::sweep::FAILURES_SHOWN;

mod common;
use common::cli::s;

/// What a command did; `stdout` holds both of its streams.
struct Output {
    code: i32,
    stdout: String,
}

fn faultline(args: &[&str]) -> Output {
    let out = common::cli::faultline(args);
    Output { code: out.code, stdout: out.stdout + &out.stderr }
}

fn temp_dir(name: &str) -> PathBuf {
    common::fresh_dir(&format!("triage-{name}"))
}

const BUGGY: &str = "scenarios/tickets/reply-before-sync.json";

fn sweep_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap()
}

/// The seed folders in `dir`, sorted.
fn seed_dirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("seed-"))
        .collect();
    names.sort();
    names
}

#[test]
fn failing_seeds_print_their_commands_boundedly_and_the_first_get_full_reports() {
    let dir = temp_dir("fail");
    let out = faultline(&["sweep", BUGGY, "--seeds", "0..60", "--jobs", "2", "--reports", "2", "--out", s(&dir)]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let json = sweep_json(&dir);
    let failing: Vec<u64> = json["seeds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "failed")
        .map(|r| r["seed"].as_u64().unwrap())
        .collect();
    assert!(failing.len() > FAILURES_SHOWN, "the test needs more failing seeds than are printed: {}", failing.len());
    // Every printed failing seed is followed by its own reproduce command; only the first few are printed.
    let printed: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].starts_with("seed ")).collect();
    assert_eq!(printed.len(), FAILURES_SHOWN, "{}", out.stdout);
    for i in printed {
        let seed = lines[i]["seed ".len()..].split(':').next().unwrap();
        assert!(failing.contains(&seed.parse().unwrap()), "{}", lines[i]);
        assert!(lines[i + 1].starts_with("  reproduce: cargo run --release -- run "), "{}", lines[i + 1]);
        assert!(lines[i + 1].ends_with(&format!(" --seed {seed}")), "{}", lines[i + 1]);
    }
    assert!(out.stdout.contains("(more failing seeds are not printed one by one"), "{}", out.stdout);
    // The summary groups by check and lists the first commands in seed order.
    let group = format!("  unique-tickets: {} failing seeds of 60 (seeds ", failing.len());
    assert!(out.stdout.contains(&group), "{}", out.stdout);
    let listed: Vec<&str> = lines.iter().filter(|l| l.starts_with("  cargo run --release -- run ")).copied().collect();
    let expected: Vec<String> = failing
        .iter()
        .take(FAILURES_SHOWN)
        .map(|seed| format!("  cargo run --release -- run {BUGGY} --seed {seed}"))
        .collect();
    assert_eq!(listed, expected);
    // Full reports for the first two failing seeds, and only those, linked from the page.
    let wanted: Vec<String> = failing[..2].iter().map(|seed| format!("seed-{seed}")).collect();
    let mut sorted = wanted.clone();
    sorted.sort();
    assert_eq!(seed_dirs(&dir), sorted);
    let page = std::fs::read_to_string(dir.join("sweep.html")).unwrap();
    for (name, seed) in wanted.iter().zip(&failing) {
        let report = std::fs::read_to_string(dir.join(name).join("report.html")).unwrap();
        assert!(report.contains(&format!("--seed {seed}")), "the report is of seed {seed}");
        assert!(page.contains(&format!("<a href=\"{name}/report.html\">seed {seed}</a>")), "{name}");
        let row = json["seeds"].as_array().unwrap().iter().find(|r| r["seed"] == *seed).unwrap();
        assert_eq!(row["report"], format!("{name}/report.html"));
    }
    assert_eq!(json["seeds"].as_array().unwrap().iter().filter(|r| r.get("report").is_some()).count(), 2);
}

#[test]
fn reports_zero_writes_none_and_the_page_says_so() {
    let dir = temp_dir("none");
    let out = faultline(&["sweep", BUGGY, "--seeds", "0..10", "--reports", "0", "--out", s(&dir)]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(seed_dirs(&dir).is_empty());
    assert!(!out.stdout.contains("full reports"), "{}", out.stdout);
    let page = std::fs::read_to_string(dir.join("sweep.html")).unwrap();
    assert!(page.contains("None written (<code>--reports 0</code>)"));
    assert!(!page.contains("href="));
}

#[test]
fn a_clean_sweep_names_its_outliers_with_commands() {
    let dir = temp_dir("clean");
    let scenario = "scenarios/raft/leader-isolation.json";
    let out = faultline(&["sweep", scenario, "--seeds", "0..6", "--out", s(&dir)]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let json = sweep_json(&dir);
    let rows = json["seeds"].as_array().unwrap();
    let slowest = rows
        .iter()
        .max_by(|a, b| {
            let p = |r: &serde_json::Value| r["latency_ms_p99"].as_f64().unwrap();
            p(a).total_cmp(&p(b)).then(b["seed"].as_u64().cmp(&a["seed"].as_u64()))
        })
        .unwrap();
    let seed = slowest["seed"].as_u64().unwrap();
    let line = out.stdout.lines().find(|l| l.starts_with("  highest p99 latency: ")).expect("an outlier line");
    assert!(line.starts_with(&format!("  highest p99 latency: seed {seed} (")), "{line}");
    assert!(line.ends_with(&format!("cargo run --release -- run {scenario} --seed {seed}")), "{line}");
    assert!(rows.iter().any(|r| r["failed_ops"].as_u64().unwrap() > 0), "isolating a leader fails some ops");
    let worst = rows.iter().map(|r| r["failed_ops"].as_u64().unwrap()).max().unwrap();
    assert!(out.stdout.contains("  most failed operations: seed ") && out.stdout.contains(&format!("({worst}): ")));
    let page = std::fs::read_to_string(dir.join("sweep.html")).unwrap();
    assert!(page.contains(&format!("<td class=\"nowrap\">highest p99 latency</td><td class=\"num\">{seed}</td>")));
    assert!(seed_dirs(&dir).is_empty(), "no failing seed, no report");
}

#[test]
fn a_merge_copies_the_shards_reports_and_links_the_same_seeds() {
    let single = temp_dir("merge-single");
    assert_eq!(faultline(&["sweep", BUGGY, "--seeds", "0..20", "--reports", "2", "--out", s(&single)]).code, 1);
    let shards = temp_dir("merge-shards");
    for i in 0..2 {
        let spec = format!("{i}/2");
        let out =
            faultline(&["sweep", BUGGY, "--seeds", "0..20", "--reports", "2", "--shard", &spec, "--out", s(&shards)]);
        assert_eq!(out.code, 1, "{}", out.stdout);
    }
    assert_eq!(seed_dirs(&shards).len(), 4, "each shard writes its own first two");
    let merged = temp_dir("merge-out");
    let out = faultline(&["merge", s(&shards), "--out", s(&merged)]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("full reports of the first failing seeds: "), "{}", out.stdout);
    assert_eq!(seed_dirs(&merged), seed_dirs(&single));
    for name in seed_dirs(&merged) {
        assert!(merged.join(&name).join("report.html").is_file(), "{name}");
    }
    for file in ["sweep.json", "sweep.html"] {
        assert!(std::fs::read(single.join(file)).unwrap() == std::fs::read(merged.join(file)).unwrap(), "{file}");
    }
}
