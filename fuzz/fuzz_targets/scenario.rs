//! Fuzz target: scenario text through parsing and validation, the path of
//! `faultline validate` (and of `run` before it simulates).
//!
//! Any input must end in `Ok` or in a one-line [`ScenarioError`]; a panic,
//! an overflow (assertions are on in the fuzz profile) or a multi-line error
//! is a finding. A scenario that validates must also resolve for any seed,
//! since `run --seed N` and `sweep` resolve it again per seed.
#![no_main]

use faultline::runner::{Overrides, Prepared};
use faultline::scenario::{Scenario, ScenarioError};
use libfuzzer_sys::fuzz_target;

fn one_line(e: &ScenarioError) {
    let text = e.to_string();
    assert!(!text.contains('\n'), "a scenario error must be one line, got {text:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let protocols = faultline::protocols::builtin();
    let scenario = match Scenario::parse(text, "fuzz.json") {
        Ok(s) => s,
        Err(e) => return one_line(&e),
    };
    match Prepared::new(scenario, "fuzz.json", &protocols, &Overrides::default()) {
        Ok(p) => {
            for seed in [0, u64::MAX] {
                if let Err(e) = p.scenario.resolve("fuzz.json", seed) {
                    panic!("validated, yet seed {seed} does not resolve: {e}");
                }
            }
        }
        Err(e) => one_line(&e),
    }
});
