//! `sweep --shard I/N`, `--resume` and `merge` as a user meets them: shards
//! merged give the same `sweep.json` and `sweep.html`, byte for byte, as one
//! sweep of the range (those files hold no timing: wall seconds live only in
//! the shard lines, which are compared field by field without it); a killed
//! shard resumes where it stopped; a merge names missing, doubled and
//! disagreeing seeds; bad shard files are one-line errors.

use std::path::{Path, PathBuf};

use faultline::explore::shard::{read_shard_file, ShardLine};

mod common;
use common::cli::{faultline, s, Output};

fn temp_dir(name: &str) -> PathBuf {
    common::fresh_dir(&format!("shard-{name}"))
}

/// A planted Raft bug: failing and clean seeds, latencies, a recheck share
/// high enough that several seeds of each shard are rerun.
const BUGGY: &str = "scenarios/raft/bug-stale-local-read.json";
const CLEAN: &str = "scenarios/tickets/calm.json";

/// One sweep of `seeds` into `dir`.
fn whole(scenario: &str, seeds: &str, dir: &Path) -> Output {
    faultline(&["sweep", scenario, "--seeds", seeds, "--jobs", "2", "--check-determinism", "0.2", "--out", s(dir)])
}

/// Shard `i` of `n` of `seeds` into `dir`.
fn shard(scenario: &str, seeds: &str, i: u64, n: u64, dir: &Path, extra: &[&str]) -> Output {
    let spec = format!("{i}/{n}");
    let args = [
        &["sweep", scenario, "--seeds", seeds, "--jobs", "1", "--check-determinism", "0.2"][..],
        &["--shard", &spec, "--out", s(dir)],
        extra,
    ]
    .concat();
    faultline(&args)
}

fn line_of<'a>(out: &'a Output, prefix: &str) -> &'a str {
    out.stdout.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?} line in {}", out.stdout))
}

fn assert_same_report(a: &Path, b: &Path) {
    for file in ["sweep.json", "sweep.html"] {
        let (x, y) = (std::fs::read(a.join(file)).unwrap(), std::fs::read(b.join(file)).unwrap());
        assert!(x == y, "{file} of {} and {} differ", a.display(), b.display());
    }
}

#[test]
fn merged_shards_write_the_single_machine_report() {
    let single = temp_dir("single");
    let local = whole(BUGGY, "0..40", &single);
    assert_eq!(local.code, 1, "{}{}", local.stdout, local.stderr);
    let shards = temp_dir("three");
    for i in 0..3 {
        let out = shard(BUGGY, "0..40", i, 3, &shards, &[]);
        assert_eq!(out.code, 1, "shard {i} has failing seeds: {}{}", out.stdout, out.stderr);
        assert!(!shards.join("sweep.json").exists(), "a shard writes only its JSON Lines");
    }
    let merged = faultline(&["merge", s(&shards)]);
    assert_eq!(merged.code, 1, "{}{}", merged.stdout, merged.stderr);
    assert_same_report(&single, &shards);
    // The same seeds rechecked, the same failing checks, the same reproduce list.
    assert_eq!(line_of(&merged, "determinism:"), line_of(&local, "determinism:"));
    let reproduce =
        |o: &Output| o.stdout.lines().filter(|l| l.starts_with("  cargo run ")).map(str::to_string).collect::<Vec<_>>();
    assert!(!reproduce(&local).is_empty());
    assert_eq!(reproduce(&merged), reproduce(&local));
    assert!(!merged.stdout.contains("MISSING") && !merged.stdout.contains("duplicated"), "{}", merged.stdout);
    // Each line has the fields the issue names, and the seeds of its shard only.
    let file = read_shard_file(&shards.join("shard-1-of-3.jsonl")).unwrap();
    assert_eq!(file.lines.len(), 13);
    assert!(file.lines.iter().all(|l| l.seed % 3 == 1 && l.wall_seconds > 0.0 && !l.checks.is_empty()));
    let raw = std::fs::read_to_string(shards.join("shard-1-of-3.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(raw.lines().nth(1).unwrap()).unwrap();
    for key in ["seed", "outcome", "checks", "trace_hash", "ops", "latency_ms_p99", "wall_seconds", "reproduce"] {
        assert!(first.get(key).is_some(), "a shard line lacks {key}: {first}");
    }
    // The JSON Lines file alone merges the same way (here with shard files named one by one).
    let files = temp_dir("by-file");
    let args: Vec<String> = (0..3).map(|i| s(&shards.join(format!("shard-{i}-of-3.jsonl"))).to_string()).collect();
    let mut merge = vec!["merge"];
    merge.extend(args.iter().map(String::as_str));
    merge.extend(["--out", s(&files)]);
    assert_eq!(faultline(&merge).code, 1);
    assert_same_report(&single, &files);
}

#[test]
fn a_killed_shard_resumes_where_it_stopped() {
    let single = temp_dir("resume-single");
    whole(BUGGY, "0..40", &single);
    let dir = temp_dir("resume");
    shard(BUGGY, "0..40", 0, 2, &dir, &[]);
    let path = dir.join("shard-0-of-2.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 21, "a header and 20 seeds");
    // Kill it after 7 seeds, in the middle of writing the 8th.
    let kept: String = lines[..8].iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, format!("{kept}{}", &lines[8][..lines[8].len() / 2])).unwrap();
    let torn = read_shard_file(&path).unwrap();
    assert!(torn.torn_tail && torn.lines.len() == 7);
    let again = shard(BUGGY, "0..40", 0, 2, &dir, &["--resume"]);
    assert_eq!(again.code, 1, "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("7 done before and kept, 13 to run"), "{}", again.stdout);
    assert!(again.stdout.contains("torn last line was cut off"), "{}", again.stdout);
    assert!(again.stdout.contains("13 seeds run in"), "{}", again.stdout);
    let resumed = std::fs::read_to_string(&path).unwrap();
    assert!(resumed.starts_with(&kept), "the kept lines stay as they were");
    let file = read_shard_file(&path).unwrap();
    assert!(!file.torn_tail);
    let mut seeds: Vec<u64> = file.lines.iter().map(|l| l.seed).collect();
    seeds.sort_unstable();
    assert_eq!(seeds, (0..40).step_by(2).collect::<Vec<_>>(), "every seed once");
    // Resuming a finished shard runs nothing.
    let done = shard(BUGGY, "0..40", 0, 2, &dir, &["--resume"]);
    assert!(done.stdout.contains("20 done before and kept, 0 to run"), "{}", done.stdout);
    assert_eq!(read_shard_file(&path).unwrap().lines.len(), 20);
    shard(BUGGY, "0..40", 1, 2, &dir, &[]);
    assert_eq!(faultline(&["merge", s(&dir)]).code, 1);
    assert_same_report(&single, &dir);
}

#[test]
fn resume_refuses_a_file_of_another_sweep_and_flags_are_checked() {
    let dir = temp_dir("refuse");
    shard(CLEAN, "0..10", 0, 2, &dir, &[]);
    let other = shard(CLEAN, "0..12", 0, 2, &dir, &["--resume"]);
    assert_eq!(other.code, 2, "{}", other.stdout);
    assert_eq!(other.stderr.trim().lines().count(), 1, "{}", other.stderr);
    assert!(other.stderr.contains("shard-0-of-2.jsonl") && other.stderr.contains("seeds_end"), "{}", other.stderr);
    for (args, says) in [
        (&["--shard", "2/2"][..], "--shard: expected I/N"),
        (&["--shard", "x"][..], "--shard: expected I/N"),
        (&["--resume"][..], "--shard"),
    ] {
        let out = faultline(&[&["sweep", CLEAN, "--seeds", "0..4", "--out", s(&dir)][..], args].concat());
        assert_eq!(out.code, 2, "{args:?}: {}", out.stdout);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn merge_names_missing_and_duplicated_seeds() {
    let dir = temp_dir("missing");
    for i in 0..2 {
        assert_eq!(shard(CLEAN, "0..30", i, 3, &dir, &[]).code, 0);
    }
    // Shard 0's file again under another name: its seeds twice, same results.
    std::fs::copy(dir.join("shard-0-of-3.jsonl"), dir.join("shard-0-of-3-copy.jsonl")).unwrap();
    let out = faultline(&["merge", s(&dir)]);
    assert_eq!(out.code, 3, "a clean but incomplete merge has no verdict for 10 seeds: {}", out.stdout);
    assert!(out.stdout.contains("MISSING SHARDS: no file for shard 2/3"), "{}", out.stdout);
    assert!(
        out.stdout.contains("MISSING: 10 of the 30 seeds of 0..30 are in no shard file (first: 2, 5, 8,"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("duplicated: 10 seed lines"), "{}", out.stdout);
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(data["seeds"].as_array().unwrap().len(), 20, "the seeds present, each once");
}

#[test]
fn two_lines_of_one_seed_that_disagree_fail_the_merge_as_nondeterminism() {
    let dir = temp_dir("conflict");
    assert_eq!(shard(CLEAN, "0..8", 0, 1, &dir, &[]).code, 0);
    let path = dir.join("shard-0-of-1.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut line: ShardLine = serde_json::from_str(text.lines().nth(3).unwrap()).unwrap();
    let seed = line.seed;
    line.trace_hash = "00000000000000aa".into();
    let header = text.lines().next().unwrap();
    let other = dir.join("shard-0-of-1-other-machine.jsonl");
    std::fs::write(&other, format!("{header}\n{}\n", serde_json::to_string(&line).unwrap())).unwrap();
    let out = faultline(&["merge", s(&dir)]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains(&format!("CONFLICT: seed {seed}: clean (trace hash ")), "{}", out.stdout);
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap();
    let row = data["seeds"].as_array().unwrap().iter().find(|r| r["seed"] == seed).unwrap().clone();
    assert_eq!(row["outcome"], "nondeterministic", "{row}");
    assert!(row["detail"].as_str().unwrap().contains("00000000000000aa"), "{row}");
}

#[test]
fn bad_shard_files_are_one_line_errors() {
    let dir = temp_dir("bad");
    assert_eq!(shard(CLEAN, "0..6", 0, 2, &dir, &[]).code, 0);
    let good = std::fs::read_to_string(dir.join("shard-0-of-2.jsonl")).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let bad_line = format!("{}\n{}\n{{\"seed\": \"x\"}}\n{}\n", lines[0], lines[1], lines[2]);
    let wrong_shard = format!("{}\n{}\n", lines[0], lines[1].replacen("\"seed\":0", "\"seed\":1", 1));
    let mut other_sweep: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    other_sweep["scenario_hash"] = "0123456789abcdef".into();
    let cases = [
        ("garbage.jsonl", "not json\n".to_string(), ":1: not a faultline shard file"),
        ("bad-line.jsonl", bad_line, "bad-line.jsonl:3:"),
        ("wrong-shard.jsonl", wrong_shard, "seed 1 is not in shard 0/2 of 0..6"),
        ("empty.jsonl", String::new(), "empty"),
        ("other.jsonl", format!("{other_sweep}\n"), "scenario_hash"),
    ];
    for (name, text, says) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let out = faultline(&["merge", s(&dir.join("shard-0-of-2.jsonl")), s(&path), "--out", s(&dir)]);
        assert_eq!(out.code, 2, "{name}: {}", out.stdout);
        assert_eq!(out.stderr.trim().lines().count(), 1, "{name}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{name}: {}", out.stderr);
    }
    let empty = temp_dir("no-shards");
    let out = faultline(&["merge", s(&empty)]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no shard-*.jsonl files"), "{}", out.stderr);
}

#[test]
fn a_line_keeps_every_float_bit() {
    // Merged latencies must print exactly as the local sweep printed them.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let value = (x >> 11) as f64 / (1u64 << 53) as f64 * 1000.0;
        let text = format!(
            r#"{{"seed":1,"outcome":"clean","checks":{{}},"rechecked":false,"trace_hash":"0000000000000001","ops":1,"latency_ms_p99":{},"wall_seconds":{},"reproduce":"r"}}"#,
            serde_json::to_string(&value).unwrap(),
            serde_json::to_string(&(value / 7.0)).unwrap()
        );
        let line: ShardLine = serde_json::from_str(&text).unwrap();
        assert_eq!(line.latency_ms_p99.map(f64::to_bits), Some(value.to_bits()), "{text}");
        assert_eq!(line.wall_seconds.to_bits(), (value / 7.0).to_bits(), "{text}");
    }
}
