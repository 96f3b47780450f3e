//! The user-protocol example (`examples/custom_protocol.rs`) runs under the
//! library exactly as a user's binary runs it: its scenario passes, its
//! planted bug is found, its `checks` list is honoured, and its options are
//! read and checked by the kit.

#[path = "../examples/custom_protocol.rs"]
mod custom_protocol;

use faultline::kit::AnyProtocol;
use faultline::runner::{outcome, Outcome, Overrides, Prepared};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;

fn protocols() -> Vec<&'static dyn AnyProtocol> {
    let mut p = faultline::protocols::builtin();
    p.push(&custom_protocol::PrimaryBackup);
    p
}

fn scenario(edit: impl FnOnce(&mut serde_json::Value)) -> Scenario {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/primary-backup.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut v);
    Scenario::parse(&v.to_string(), "primary-backup.json").unwrap()
}

/// Outcomes of seeds `0..n` of the scenario.
fn check(s: Scenario, overrides: &Overrides, n: u64) -> Vec<Outcome> {
    let protocols = protocols();
    let p = Prepared::new(s, "primary-backup.json", &protocols, overrides).unwrap_or_else(|e| panic!("{e}"));
    (0..n).map(|seed| outcome(&p.run(seed, TraceSink::Off, false).unwrap().result)).collect()
}

#[test]
fn the_example_passes_and_its_planted_bug_is_found() {
    let clean = check(scenario(|_| {}), &Overrides::default(), 10);
    assert!(clean.iter().all(|o| *o == Outcome::Clean), "{clean:?}");
    let bug = Overrides { bugs: vec!["apply-on-arrival".into()], ..Default::default() };
    let buggy = check(scenario(|_| {}), &bug, 10);
    assert!(buggy.iter().filter(|o| **o == Outcome::Failed).count() >= 5, "{buggy:?}");
}

#[test]
fn an_empty_checks_list_runs_no_check() {
    let bug = Overrides { bugs: vec!["apply-on-arrival".into()], ..Default::default() };
    let s = scenario(|v| v["checks"] = serde_json::json!([]));
    let protocols = protocols();
    let p = Prepared::new(s, "primary-backup.json", &protocols, &bug).unwrap();
    assert!(p.checks.is_empty());
    let r = p.run(0, TraceSink::Off, false).unwrap().result;
    assert!(r.checks.is_empty() && r.violation.is_none());
}

#[test]
fn options_are_typed_and_errors_name_their_field() {
    let fast = scenario(|v| v["options"] = serde_json::json!({ "every": "1ms" }));
    assert!(check(fast, &Overrides::default(), 1).iter().all(|o| *o == Outcome::Clean));
    let protocols = protocols();
    for (options, path) in [(r#"{ "every": 3 }"#, "options.every"), (r#"{ "evry": "1ms" }"#, "options")] {
        let s = scenario(|v| v["options"] = serde_json::from_str(options).unwrap());
        let e = Prepared::new(s, "primary-backup.json", &protocols, &Overrides::default()).err().expect("rejected");
        assert!(e.path.starts_with(path), "{options}: {e}");
    }
    let one_node = scenario(|v| v["nodes"] = serde_json::json!(1));
    let e = Prepared::new(one_node, "primary-backup.json", &protocols, &Overrides::default()).err().unwrap();
    assert_eq!(e.path, "nodes", "{e}");
}
