//! Seed-range checks shared by the protocol test files: load a shipped
//! scenario, prepare it with bugs on or cleared, and assert that a range of
//! seeds is clean or that some seed fails exactly the named check.

use std::ops::Range;
use std::path::Path;

use faultline::runner::{outcome, Outcome, Overrides, Prepared, ProtocolRun};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;
use faultline::Verdict;

/// What a seed range must show.
pub enum Expect {
    /// Every seed passes every check.
    Clean,
    /// Some seed fails, and the failing check is this one.
    Caught(&'static str),
}

pub fn load(file: &str) -> Scenario {
    Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap_or_else(|e| panic!("{e}"))
}

pub fn prepare(scenario: Scenario, file: &str, no_bugs: bool) -> Prepared<'static> {
    let protocols: &'static [&'static dyn faultline::kit::AnyProtocol] =
        Box::leak(faultline::protocols::builtin().into_boxed_slice());
    Prepared::new(scenario, file, protocols, &Overrides { no_bugs, ..Default::default() })
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn failing_check(run: &ProtocolRun) -> Option<&str> {
    run.result.checks.iter().find(|(_, v)| matches!(v, Verdict::Fail(_))).map(|(n, _)| n.as_str())
}

/// Runs `file` (with `checks` in place of the file's, if given) for
/// `seeds`, bugs cleared with `no_bugs`, and asserts `expect`. Returns the
/// seed that proved it (the failing one, or the last clean one).
pub fn check_with(file: &str, checks: Option<&[&str]>, seeds: Range<u64>, no_bugs: bool, expect: Expect) -> u64 {
    let mut scenario = load(file);
    if let Some(checks) = checks {
        scenario.checks = Some(checks.iter().map(|c| c.to_string()).collect());
    }
    check_scenario(scenario, file, seeds, no_bugs, expect).0
}

/// Runs `scenario` (read from `file`, perhaps edited) for `seeds`, bugs
/// cleared with `no_bugs`, and asserts `expect`. Returns the seed that
/// proved it (the first failing one, or the last clean one) and its run.
pub fn check_scenario(
    scenario: Scenario,
    file: &str,
    seeds: Range<u64>,
    no_bugs: bool,
    expect: Expect,
) -> (u64, ProtocolRun) {
    let prepared = prepare(scenario, file, no_bugs);
    let mut last = None;
    for seed in seeds.clone() {
        let run = prepared.run(seed, TraceSink::Off, false).expect("scenario runs");
        match expect {
            Expect::Clean => assert_eq!(
                outcome(&run.result),
                Outcome::Clean,
                "{file} seed {seed} (no_bugs={no_bugs}) should be clean: {:?}",
                run.result.checks
            ),
            Expect::Caught(name) => {
                if let Some(failed) = failing_check(&run) {
                    assert_eq!(failed, name, "{file} seed {seed}: the wrong check failed: {:?}", run.result.checks);
                    return (seed, run);
                }
            }
        }
        last = Some((seed, run));
    }
    if let Expect::Caught(name) = expect {
        panic!("{file}: no seed in {seeds:?} failed {name}");
    }
    last.expect("a non-empty seed range")
}

pub fn check(file: &str, seeds: Range<u64>, no_bugs: bool, expect: Expect) -> u64 {
    check_with(file, None, seeds, no_bugs, expect)
}
