//! The library's `liveness` check: a protocol declares what progress is
//! (tickets: a requester is granted a ticket; Raft: a leader commits), and
//! the library judges it, with client completions when there are clients,
//! in the window after the last heal.

use faultline::check::Verdict;
use faultline::runner::{Overrides, Prepared};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;

fn tickets(liveness: &str, faults: &str) -> Verdict {
    let text = format!(
        r#"{{ "name": "t", "protocol": "tickets", "nodes": 3, "duration": "10s",
             "network": {{ "latency": {{ "dist": "constant", "value": "2ms" }} }},
             "liveness": {{ "within_after_heal": "{liveness}" }}, "faults": {faults} }}"#
    );
    let scenario = Scenario::parse(&text, "t.json").unwrap();
    let protocols = faultline::protocols::builtin();
    let prepared = Prepared::new(scenario, "t.json", &protocols, &Overrides::default()).unwrap();
    let run = prepared.run(0, TraceSink::Off, false).unwrap();
    run.result.checks.into_iter().find(|(n, _)| n == "liveness").expect("liveness runs").1
}

const ISOLATE_SEQUENCER: &str = r#"[{ "at": "2s", "partition": [[0], [1, 2]], "for": "3s" }]"#;

#[test]
fn declared_progress_after_the_heal_passes() {
    assert_eq!(tickets("2s", ISOLATE_SEQUENCER), Verdict::Pass);
}

#[test]
fn no_progress_inside_the_window_fails_and_names_what_was_expected() {
    // Nothing can be granted within a nanosecond of the heal.
    let Verdict::Fail(why) = tickets("1ns", ISOLATE_SEQUENCER) else { panic!("expected a failure") };
    assert!(why.contains("a requester is granted a ticket"), "{why}");
    assert!(why.contains("after the last heal at 5s"), "{why}");
}

#[test]
fn a_window_past_the_end_or_faults_never_healed_is_unknown() {
    let late = r#"[{ "at": "2s", "partition": [[0], [1, 2]], "for": "7999ms" }]"#;
    assert!(matches!(tickets("5s", late), Verdict::Unknown(why) if why.contains("before the 5s window closed")));
    let forever = r#"[{ "at": "2s", "partition": [[0], [1, 2]] }]"#;
    assert_eq!(tickets("5s", forever), Verdict::Unknown("faults never healed".to_string()));
}
