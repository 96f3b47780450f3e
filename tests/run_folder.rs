//! A run and a sweep as library calls, the way the CLI makes them: the run
//! folder holds every file the report needs, a failing run keeps the events
//! before its violation, and a sweep's tally maps to the exit code.

use faultline::explore::sweep::{sweep, Tally};
use faultline::run_folder::{reproduce_command, run_to_folder, RunOptions};
use faultline::runner::{Outcome, Overrides, Prepared};
use faultline::scenario::Scenario;

fn prepared(file: &str, overrides: &Overrides) -> Prepared<'static> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let scenario = Scenario::load(&path).unwrap();
    let protocols = Box::leak(faultline::protocols::builtin().into_boxed_slice());
    Prepared::new(scenario, file, protocols, overrides).unwrap()
}

#[test]
fn a_run_writes_its_folder_and_a_failure_keeps_the_events_before_it() {
    let overrides = Overrides { bugs: vec!["reply-before-sync".into()], ..Default::default() };
    let p = prepared("scenarios/tickets/reply-before-sync.json", &overrides);
    let failing = (0..50).find(|&s| {
        let run = p.run(s, faultline::sim::trace::TraceSink::Off, false).unwrap();
        faultline::runner::outcome(&run.result) == Outcome::Failed
    });
    let seed = failing.expect("the planted bug fails some seed in 0..50");
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("run-folder-tickets");
    let options = RunOptions { out: Some(out.clone()), ..Default::default() };
    let reproduce = reproduce_command("faultline", &p.file, seed, &overrides);
    let folder = run_to_folder(&p, seed, &options, reproduce).unwrap();
    assert_eq!(folder.outcome, Outcome::Failed);
    assert!(folder.reproduce.ends_with(&format!("--seed {seed} --bug reply-before-sync")));
    for file in ["summary.json", "timeline.jsonl", "observations.jsonl", "report.html"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let v = folder.run.result.violation.as_ref().unwrap();
    assert_eq!(folder.window.1, v.time_ns, "the timeline ends at the violation");
    assert!(!folder.timeline.is_empty());
}

#[test]
fn a_sweeps_tally_gives_its_exit_code() {
    let p = prepared("scenarios/tickets/calm.json", &Overrides::default());
    let results = sweep(&p, 0..4, 2, false, &|_| {}).unwrap();
    let tally = Tally::of(&results);
    assert_eq!((tally.clean, tally.failed, tally.exit_code()), (4, 0, 0));
    let bug = Overrides { bugs: vec!["reply-before-sync".into()], ..Default::default() };
    let p = prepared("scenarios/tickets/reply-before-sync.json", &bug);
    let tally = Tally::of(&sweep(&p, 0..50, 2, false, &|_| {}).unwrap());
    assert!(tally.failed > 0 && tally.by_check["unique-tickets"] == tally.failed);
    assert_eq!(tally.exit_code(), 1);
}

#[test]
fn a_run_owns_its_folder_and_settings_name_it() {
    // Raft's stale local read fails linearizability: its folder gets a witness.
    let file = "scenarios/raft/bug-stale-local-read.json";
    let buggy = prepared(file, &Overrides::default());
    let seed = (0..20)
        .find(|&s| {
            let run = buggy.run(s, faultline::sim::trace::TraceSink::Off, false).unwrap();
            faultline::runner::outcome(&run.result) == Outcome::Failed
        })
        .expect("the planted bug fails some seed in 0..20");
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("run-folder-owned");
    let options = RunOptions { out: Some(out.clone()), ..Default::default() };
    let failed = run_to_folder(&buggy, seed, &options, "rerun".into()).unwrap();
    assert_eq!(failed.outcome, Outcome::Failed);
    assert!(out.join("history-min.jsonl").is_file() && out.join("lin_window.json").is_file());
    // The same seed without the bug, into the same folder: nothing of the failure is left.
    let no_bugs = Overrides { no_bugs: true, ..Default::default() };
    let clean = prepared(file, &no_bugs);
    let folder = run_to_folder(&clean, seed, &options, "rerun".into()).unwrap();
    assert_eq!(folder.outcome, Outcome::Clean);
    assert!(!out.join("history-min.jsonl").exists() && !out.join("lin_window.json").exists());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("Linearizability counterexample"), "no counterexample of another run");
    // Default folders of different settings differ.
    let suffixes: Vec<String> = [
        Overrides::default(),
        no_bugs,
        Overrides { swarm: true, ..Default::default() },
        Overrides { bugs: vec!["no-dedup".into()], ..Default::default() },
    ]
    .iter()
    .map(|o| faultline::run_folder::settings_suffix(&prepared(file, o)))
    .collect();
    assert_eq!(suffixes, ["", "-no-bugs", "-swarm", "-bugs-stale-local-read+no-dedup"]);
}
