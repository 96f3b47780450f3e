//! The command line as a user meets it: exit codes (0 clean, 1 failed
//! check, 2 bad input, 3 inconclusive), what `run` writes and prints, the
//! reproduce command, sweeps, `check` and `bench`.

mod common;

use common::cli::faultline as check;
use std::path::PathBuf;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("faultline-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn run_writes_the_summary_and_prints_seed_first() {
    let dir = temp_dir("run");
    let out = check(&["run", "scenarios/tickets/chaos.json", "--seed", "3", "--out", dir.to_str().unwrap(), "--trace"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.lines().next().unwrap().contains("seed 3"), "seed first: {}", out.stdout);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    for key in ["scenario", "seed", "trace_hash", "events", "sim_seconds", "wall_seconds", "ops", "latency", "checks"] {
        assert!(summary.get(key).is_some(), "summary.json lacks {key}");
    }
    assert_eq!(summary["seed"], 3);
    assert_eq!(summary["checks"]["unique-tickets"], "pass");
    let hash = summary["trace_hash"].as_str().unwrap();
    assert!(out.stdout.contains(&format!("trace hash {hash}")));
    // The trace file has one JSON object per event.
    let trace = std::fs::read_to_string(dir.join("trace.jsonl")).unwrap();
    assert_eq!(trace.lines().count() as u64, summary["events"].as_u64().unwrap());
    for line in trace.lines().take(100) {
        serde_json::from_str::<serde_json::Value>(line).expect("trace line is JSON");
    }
    // The timeline of a clean run with faults is the 2 s around its first
    // fault (from half a second before), so it shows the fault.
    let first_fault = summary["faults"][0]["start_ns"].as_u64().expect("chaos.json has faults");
    let from = first_fault.saturating_sub(500_000_000);
    let timeline = std::fs::read_to_string(dir.join("timeline.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = timeline.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(events.iter().all(|e| (from..=from + 2_000_000_000).contains(&e["t"].as_u64().unwrap())));
    assert!(events.iter().any(|e| e["ev"] == "fault" && e["t"].as_u64() == Some(first_fault)), "the fault is in it");
    // Tracing does not change the run.
    let dir2 = temp_dir("run2");
    let again = check(&["run", "scenarios/tickets/chaos.json", "--seed", "3", "--out", dir2.to_str().unwrap()]);
    assert!(again.stdout.contains(&format!("trace hash {hash}")));
}

#[test]
fn a_failing_seed_exits_1_and_ends_with_the_reproduce_command() {
    let sweep = check(&[
        "sweep",
        "scenarios/tickets/reply-before-sync.json",
        "--seeds",
        "0..100",
        "--stop-on-failure",
        "--jobs",
        "1",
    ]);
    assert_eq!(sweep.code, 1, "{}", sweep.stdout);
    let line = sweep.stdout.lines().find(|l| l.starts_with("seed ")).expect("a failing seed line");
    assert!(line.contains("FAIL unique-tickets"), "{line}");
    let seed = line["seed ".len()..].split(':').next().unwrap().to_string();
    let dir = temp_dir("fail");
    let run =
        check(&["run", "scenarios/tickets/reply-before-sync.json", "--seed", &seed, "--out", dir.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("VIOLATION of unique-tickets"));
    assert!(run.stdout.contains("last events, up to the violating one"));
    // The last event printed is the violating observation, as one short line.
    let events: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("last events"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(!events.is_empty() && events.last().unwrap().contains("observe"), "{events:?}");
    assert!(events.iter().all(|l| !l.contains('{') || !l.contains("\"ev\"")), "no raw JSON: {events:?}");
    // The timeline window ends at the violation.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let violation_ns = summary["violation"]["time_ns"].as_u64().unwrap();
    let timeline = std::fs::read_to_string(dir.join("timeline.jsonl")).unwrap();
    let last_event: serde_json::Value = serde_json::from_str(timeline.lines().last().unwrap()).unwrap();
    assert_eq!(last_event["t"].as_u64().unwrap(), violation_ns);
    assert_eq!(last_event["ev"], "observe");
    let last = run.stdout.trim_end().lines().last().unwrap();
    assert_eq!(
        last,
        format!("reproduce: cargo run --release -- run scenarios/tickets/reply-before-sync.json --seed {seed}")
    );
    // The same seed without the bug is clean.
    let fixed = check(&[
        "run",
        "scenarios/tickets/reply-before-sync.json",
        "--seed",
        &seed,
        "--no-bugs",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(fixed.code, 0, "{}", fixed.stdout);
}

#[test]
fn sweep_finds_the_planted_bug_on_some_seeds_and_not_others() {
    let buggy = check(&["sweep", "scenarios/tickets/reply-before-sync.json", "--seeds", "0..60", "--jobs", "2"]);
    assert_eq!(buggy.code, 1);
    let failing = buggy.stdout.lines().filter(|l| l.starts_with("seed ")).count();
    assert!(failing > 0 && failing < 60, "{failing} of 60 seeds failed");
    assert_eq!(buggy.stdout.lines().filter(|l| l.starts_with("  cargo run --release -- run ")).count(), failing);
    let correct = check(&["sweep", "scenarios/tickets/reply-before-sync.json", "--seeds", "0..60", "--no-bugs"]);
    assert_eq!(correct.code, 0);
    assert!(correct.stdout.contains("60 clean, 0 failed"), "{}", correct.stdout);
}

#[test]
fn bad_input_exits_2_with_one_clear_line() {
    let dir = temp_dir("bad");
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"name": "x", "protocol": "tickets", "nodes": 2, "duration": "1s", "network": {"loss": -1}}"#,
    )
    .unwrap();
    for args in [vec!["validate", bad.to_str().unwrap()], vec!["run", bad.to_str().unwrap()]] {
        let out = check(&args);
        assert_eq!(out.code, 2);
        assert_eq!(
            out.stderr.trim(),
            format!("faultline: {}: field `network.loss`: expected a probability in [0, 1], got -1", bad.display())
        );
    }
    let missing = check(&["run", "no/such/file.json"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.starts_with("faultline: no/such/file.json: cannot read the file"), "{}", missing.stderr);
    assert_eq!(check(&["frobnicate"]).code, 2);
    assert_eq!(check(&["sweep", "scenarios/tickets/calm.json", "--seeds", "9..3"]).code, 2);
    assert_eq!(check(&["run", "scenarios/tickets/calm.json", "--bug", "nope"]).code, 2);
    assert_eq!(check(&["validate", "scenarios/tickets/calm.json"]).code, 0);
}

#[test]
fn a_step_limit_exits_3() {
    let dir = temp_dir("limit");
    let path = dir.join("limited.json");
    std::fs::write(
        &path,
        r#"{"name": "limited", "description": "d", "protocol": "tickets", "nodes": 3, "duration": "10s", "limits": {"steps": 500}}"#,
    )
    .unwrap();
    let out = check(&["run", path.to_str().unwrap(), "--out", dir.to_str().unwrap()]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(out.stdout.contains("step limit reached"));
    assert!(out.stdout.contains("check unique-tickets: unknown"));
}

#[test]
fn check_gives_verdicts_and_a_witness() {
    let dir = temp_dir("check");
    let ok = dir.join("ok.jsonl");
    std::fs::write(&ok, "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n").unwrap();
    let out = check(&["check", ok.to_str().unwrap()]);
    assert_eq!((out.code, out.stdout.trim()), (0, "linearizable"));
    let stale = dir.join("stale.jsonl");
    std::fs::write(&stale, "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":null}\n").unwrap();
    let witness = dir.join("min.jsonl");
    let out = check(&["check", stale.to_str().unwrap(), "--witness", witness.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.starts_with("not linearizable"));
    let min = std::fs::read_to_string(&witness).unwrap();
    assert!(faultline::check::lin::parse_history(&min).is_ok());
    let malformed = dir.join("bad.jsonl");
    std::fs::write(&malformed, "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n").unwrap();
    let out = check(&["check", malformed.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("line 1"), "{}", out.stderr);
}

#[test]
fn bench_prints_one_final_line_per_workload() {
    for (w, unit, n) in [
        ("pingpong", "deliveries", 400_000),
        ("broadcast", "deliveries", 480_000),
        ("channels", "passes", 1_000_000),
        ("timers", "wakeups", 1_000_000),
    ] {
        let out = check(&["bench", w]);
        assert_eq!(out.code, 0);
        let line = out.stdout.trim_end().lines().last().unwrap().to_string();
        assert!(line.starts_with(&format!("workload={w} {unit}={n} sim_seconds=")), "{line}");
        assert!(line.contains(" wall_seconds=") && line.contains(" per_sec="), "{line}");
    }
    assert_eq!(check(&["bench", "nope"]).code, 2);
}

#[test]
fn list_names_protocols_checks_and_bugs() {
    let out = check(&["list"]);
    assert_eq!(out.code, 0);
    for word in ["tickets", "unique-tickets", "reply-before-sync", "partition", "lognormal"] {
        assert!(out.stdout.contains(word), "list lacks {word}");
    }
}

#[test]
fn run_draws_the_report_and_plot_redraws_it_from_saved_files() {
    let dir = temp_dir("plot");
    let d = dir.to_str().unwrap();
    assert_eq!(check(&["run", "scenarios/tickets/chaos.json", "--out", d]).code, 0);
    let files = ["latency.svg", "latency-quantiles.svg", "latency-cdf.svg", "rate.svg", "timeline.svg", "report.html"];
    for f in files {
        assert!(dir.join(f).is_file(), "run wrote no {f}");
    }
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for f in files {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    let out = check(&["plot", d]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(dir.join("report.html")).unwrap(), report, "redrawn report is the same");
    let compare_dir = temp_dir("compare");
    let out = check(&["plot", "--compare", d, d, "--out", compare_dir.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(compare_dir.join("compare.svg").is_file());
    // A window outside the one the run saved: one line naming both, exit 2.
    let outside = check(&["plot", d, "--timeline", "25s..26s"]);
    assert_eq!(outside.code, 2, "{}", outside.stdout);
    assert!(outside.stderr.contains("outside the saved timeline"), "{}", outside.stderr);
    // A missing or corrupt run folder: one line, exit 2.
    let missing = check(&["plot", "/no/such/run"]);
    assert_eq!((missing.code, missing.stderr.trim()), (2, "faultline: /no/such/run: run folder not found"));
    let corrupt = temp_dir("corrupt");
    std::fs::write(corrupt.join("summary.json"), "{ not json").unwrap();
    let out = check(&["plot", corrupt.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr.trim().lines().count(), 1);
    assert!(out.stderr.contains("summary.json"), "{}", out.stderr);
}

#[test]
fn sweep_writes_its_summary_files() {
    let dir = temp_dir("sweep-out");
    let out = check(&[
        "sweep",
        "scenarios/tickets/reply-before-sync.json",
        "--seeds",
        "0..20",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap();
    let seeds = summary["seeds"].as_array().unwrap();
    assert_eq!(seeds.len(), 20);
    let failed = seeds.iter().filter(|s| s["outcome"] == "failed").count();
    assert_eq!(out.stdout.lines().filter(|l| l.starts_with("seed ")).count(), failed);
    assert!(dir.join("sweep.html").is_file());
}

#[test]
fn a_linearizability_failure_leaves_a_checkable_witness_and_a_counterexample_window() {
    let scenario = "scenarios/raft/bug-stale-local-read.json";
    let sweep = check(&["sweep", scenario, "--seeds", "0..20", "--stop-on-failure", "--jobs", "1"]);
    let line = sweep.stdout.lines().find(|l| l.starts_with("seed ")).expect("a failing seed");
    assert!(line.contains("FAIL linearizability"), "{line}");
    let seed = line["seed ".len()..].split(':').next().unwrap().to_string();
    let dir = temp_dir("lin");
    let run = check(&["run", scenario, "--seed", &seed, "--out", dir.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let witness = dir.join("history-min.jsonl");
    let out = check(&["check", witness.to_str().unwrap(), "--witness", dir.join("again.jsonl").to_str().unwrap()]);
    assert_eq!(out.code, 1, "the witness is itself not linearizable: {}", out.stdout);
    let full = std::fs::read_to_string(dir.join("history.jsonl")).unwrap().lines().count();
    let small = std::fs::read_to_string(&witness).unwrap().lines().count();
    assert!(small < full / 10, "witness of {small} lines from {full}");
    let window: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("lin_window.json")).unwrap()).unwrap();
    assert_eq!(window.iter().filter(|op| op["highlighted"] == true).count(), 1);
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(report.contains("Linearizability counterexample"));
}

#[test]
fn every_fault_window_of_a_run_is_shaded_on_its_time_plots() {
    let dir = temp_dir("windows");
    assert_eq!(check(&["run", "scenarios/raft/leader-isolation.json", "--out", dir.to_str().unwrap()]).code, 0);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let windows = summary["faults"].as_array().unwrap().len();
    assert!(windows >= 3, "the scenario scripts three partitions");
    for svg in ["latency.svg", "latency-quantiles.svg", "rate.svg", "events.svg"] {
        let text = std::fs::read_to_string(dir.join(svg)).unwrap();
        roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{svg} is not XML: {e}"));
        assert_eq!(text.matches("class=\"fault-window\"").count(), windows, "{svg}");
    }
    let latency = std::fs::read_to_string(dir.join("latency.svg")).unwrap();
    assert!(latency.contains("latency (ms, log scale)") && latency.contains("invoke time (s)"));
    assert!(latency.contains("raft-leader-isolation") && latency.contains("seed 0"), "title names scenario and seed");
    // Who led when: leader changes are notable, per-entry events are not.
    let notable = std::fs::read_to_string(dir.join("observations.jsonl")).unwrap();
    assert!(notable.lines().filter(|l| l.contains("BecameLeader")).count() >= 2, "{notable}");
    assert!(!notable.contains("Appended"), "per-entry observations are not notable");
    let events = std::fs::read_to_string(dir.join("events.svg")).unwrap();
    assert_eq!(events.matches("class=\"notable\"").count(), notable.lines().count());
}

#[test]
fn extreme_sweep_arguments_are_clear_errors_or_run_exactly_their_range() {
    for (args, expect) in [
        (&["--seeds", "18446744073709551615"][..], "--seeds: seed 18446744073709551615 is the largest"),
        (&["--jobs", "0"][..], "--jobs: expected a thread count in 1..=1024, got 0"),
        (&["--jobs", "18446744073709551615"][..], "--jobs: expected a thread count in 1..=1024"),
        (&["--out", "/proc/faultline-cannot-write-here"][..], "cannot write the sweep report there"),
    ] {
        let out = check(&[&["sweep", "scenarios/tickets/calm.json"][..], args].concat());
        assert_eq!(out.code, 2, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(expect), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: one line: {}", out.stderr);
    }
    // A range at the very top of u64 runs its two seeds and no others.
    let dir = temp_dir("sweep-top");
    let out = check(&[
        "sweep",
        "scenarios/tickets/calm.json",
        "--seeds",
        "18446744073709551613..18446744073709551615",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("2 seeds run"), "{}", out.stdout);
}

#[test]
fn a_timeline_window_past_the_end_of_time_is_clamped_to_the_run() {
    let dir = temp_dir("timeline-huge");
    let out =
        check(&["run", "scenarios/tickets/calm.json", "--timeline", "0s..2562047h", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(dir.join("report.html").is_file());
}

#[test]
fn a_failing_seeds_terminal_output_stays_short() {
    // The first failing seed of every planted bug, every protocol (found with
    // the library, so the search is fast), then run as a user runs it.
    let protocols = faultline::protocols::builtin();
    let mut files: Vec<String> = std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .flat_map(|dir| {
            std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.file_name().unwrap().to_string_lossy().contains("bug-"))
                .map(|p| p.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    let out = temp_dir("short-output");
    for file in &files {
        let scenario = faultline::scenario::Scenario::load(std::path::Path::new(file)).unwrap();
        let p = faultline::runner::Prepared::new(scenario, file, &protocols, &Default::default()).unwrap();
        let seed = (0..200)
            .find(|&s| {
                let r = p.run(s, faultline::sim::trace::TraceSink::Off, false).unwrap().result;
                faultline::runner::outcome(&r) == faultline::runner::Outcome::Failed
            })
            .unwrap_or_else(|| panic!("{file}: no failing seed in 0..200"));
        let o = check(&["run", file, "--seed", &seed.to_string(), "--out", out.to_str().unwrap()]);
        assert_eq!(o.code, 1, "{file} seed {seed}");
        let lines = o.stdout.lines().count();
        assert!(lines < 60, "{file} seed {seed}: {lines} lines\n{}", o.stdout);
        assert!(
            o.stdout.lines().all(|l| l.chars().count() <= 400),
            "{file} seed {seed}: a line too long\n{}",
            o.stdout
        );
    }
}
