//! `faultline shrink`: every planted bug's first failing seed shrinks to a
//! scenario of at most 10 faults that fails the same check on its own, the
//! shrink is deterministic, scenario files survive being written back, and
//! a seed that passes is refused.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use faultline::explore::shrink::{shrink, to_json, ShrinkError, Shrunk};
use faultline::kit::AnyProtocol;
use faultline::runner::{Overrides, Prepared};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;
use faultline::Verdict;

/// The most faults a shrunk scenario may keep.
const FAULTS_MAX: usize = 10;

fn protocols() -> &'static [&'static dyn AnyProtocol] {
    Box::leak(faultline::protocols::builtin().into_boxed_slice())
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every scenario file under `scenarios/`, relative to the crate, sorted.
fn scenario_files() -> Vec<String> {
    let mut files = Vec::new();
    let mut dirs = vec![root().join("scenarios")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("scenarios/ reads") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path.strip_prefix(root()).expect("under the crate").display().to_string());
            }
        }
    }
    files.sort();
    files
}

fn first_failure(s: &Scenario, file: &str, seed: u64) -> Option<String> {
    let p = Prepared::new(s.clone(), file, protocols(), &Overrides::default()).expect("prepares");
    let run = p.run(seed, TraceSink::Off, false).expect("runs");
    run.result.checks.iter().find(|(_, v)| matches!(v, Verdict::Fail(_))).map(|(c, _)| c.clone())
}

fn shrink_file(file: &str, seed: u64) -> Result<Shrunk, ShrinkError> {
    let s = Scenario::load(&root().join(file)).expect("loads");
    let deadline = Instant::now() + Duration::from_secs(120);
    shrink(s, file, protocols(), &Overrides::default(), seed, Some(deadline), &mut |_, _| {})
}

#[test]
fn every_planted_bug_shrinks_to_a_few_faults_that_still_fail() {
    let bug_files: Vec<String> = scenario_files()
        .into_iter()
        .filter(|f| !f.contains("/shrunk/"))
        .filter(|f| !Scenario::load(&root().join(f)).expect("loads").bugs.is_empty())
        .collect();
    assert!(bug_files.len() >= 20, "the planted bugs' scenarios: {bug_files:?}");
    println!("| scenario | seed | check | faults | duration | runs | wall |");
    for file in &bug_files {
        let s = Scenario::load(&root().join(file)).expect("loads");
        let Some((seed, check)) = (0..200).find_map(|seed| first_failure(&s, file, seed).map(|c| (seed, c))) else {
            panic!("{file}: no seed in 0..200 fails");
        };
        let started = Instant::now();
        let shrunk = shrink_file(file, seed).unwrap_or_else(|e| panic!("{file} seed {seed}: {e:?}"));
        let wall = started.elapsed();
        assert_eq!(shrunk.check, check, "{file} seed {seed}");
        assert!(!shrunk.stopped_early, "{file} seed {seed}: the time limit stopped the shrink");
        assert!(
            shrunk.scenario.faults.len() <= FAULTS_MAX,
            "{file} seed {seed}: {} faults left",
            shrunk.scenario.faults.len()
        );
        assert!(shrunk.scenario.nemesis.is_none(), "{file}: the nemesis is scripted away");
        // The file stands on its own: parsed back, its own seed fails the same check.
        let text = to_json(&shrunk.scenario);
        let again = Scenario::parse(&text, "shrunk.json").unwrap_or_else(|e| panic!("{file}: {e}\n{text}"));
        assert_eq!(again, shrunk.scenario, "{file}: the written file reads back as written");
        assert_eq!(first_failure(&again, "shrunk.json", again.seed).as_deref(), Some(check.as_str()), "{file}");
        let steps: Vec<String> = shrunk.steps.iter().map(|(w, v)| format!("{w} {}", v.join(" -> "))).collect();
        println!(
            "| {file} | {seed} | {check} | {} | {} | {} | {:.1} s |",
            steps.iter().find(|s| s.starts_with("faults")).map_or("-", |s| s.as_str()),
            steps.iter().find(|s| s.starts_with("duration")).map_or("-", |s| s.as_str()),
            shrunk.runs,
            wall.as_secs_f64()
        );
    }
}

#[test]
fn shrinking_is_deterministic() {
    for (file, seed) in
        [("scenarios/raft/bug-commit-previous-term.json", 3), ("scenarios/paxos/bug-amnesiac-acceptor.json", 0)]
    {
        let a = shrink_file(file, seed);
        let b = shrink_file(file, seed);
        match (a, b) {
            (Ok(a), Ok(b)) => assert_eq!(to_json(&a.scenario), to_json(&b.scenario), "{file}"),
            (a, b) => panic!("{file} seed {seed}: {a:?} / {b:?}"),
        }
    }
}

#[test]
fn a_passing_seed_is_refused() {
    let err = shrink_file("scenarios/raft/calm.json", 0).expect_err("calm passes");
    match err {
        ShrinkError::NoFailure(m) => assert!(m.contains("fails no check"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_scenario_file_survives_being_written_back() {
    for file in scenario_files() {
        let s = Scenario::load(&root().join(&file)).expect("loads");
        let text = to_json(&s);
        let again = Scenario::parse(&text, &file).unwrap_or_else(|e| panic!("{file}: {e}\n{text}"));
        assert_eq!(again, s, "{file}");
    }
}

#[test]
fn the_command_writes_a_file_that_fails_on_its_own() {
    let out = std::env::temp_dir().join(format!("faultline-shrink-{}.json", std::process::id()));
    let bin = env!("CARGO_BIN_EXE_faultline");
    let shrunk = std::process::Command::new(bin)
        .current_dir(root())
        .args(["shrink", "scenarios/raft/bug-no-dedup.json", "--seed", "0", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&shrunk.stdout);
    assert_eq!(shrunk.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&shrunk.stderr));
    assert!(stdout.contains("reproduce: "), "{stdout}");
    assert!(stdout.contains("fails linearizability"), "{stdout}");
    let run_dir = std::env::temp_dir().join(format!("faultline-shrink-run-{}", std::process::id()));
    let run = std::process::Command::new(bin)
        .current_dir(root())
        .arg("run")
        .arg(&out)
        .arg("--out")
        .arg(&run_dir)
        .output()
        .expect("runs");
    assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stdout));
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_dir_all(&run_dir);
    // A seed that passes is an input error, exit 2, one line.
    let refused = std::process::Command::new(bin)
        .current_dir(root())
        .args(["shrink", "scenarios/raft/calm.json", "--seed", "0", "--out"])
        .arg(Path::new("/nonexistent/never-written.json"))
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("nothing to shrink"));
}

#[test]
fn the_kept_shrunk_raft_scenarios_still_fail_their_check() {
    let dir = root().join("scenarios/raft/shrunk");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/raft/shrunk/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "one per planted Raft bug: {files:?}");
    for path in files {
        let file = path.strip_prefix(root()).expect("under the crate").display().to_string();
        let s = Scenario::load(&path).expect("loads");
        // The description says which check it fails: "... fails CHECK with ...".
        let check = s.description.split("fails ").nth(1).and_then(|r| r.split(' ').next()).expect("names its check");
        assert!(s.faults.len() <= FAULTS_MAX && s.nemesis.is_none(), "{file}");
        assert_eq!(first_failure(&s, &file, s.seed).as_deref(), Some(check), "{file}");
    }
}
