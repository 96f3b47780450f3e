//! Hand-written histories with known verdicts: each names the anomaly or the
//! semantics it pins down (stale read, lost write, cas anomaly, open and
//! failed ops, per-key independence, appends, strings, the report's content).

use faultline::check::lin::{check, parse_history, Model, Verdict, Violation};

/// Parses `text`, checks it and asserts the verdict; returns the violation
/// for reports to be inspected when there is one.
fn check_history(text: &str, model: Model, linearizable: bool) -> Option<Box<Violation>> {
    let history = parse_history(text).expect("test history parses");
    match (check(&history, model, None), linearizable) {
        (Verdict::Linearizable, true) => None,
        (Verdict::NotLinearizable(v), false) => Some(v),
        (verdict, _) => panic!("expected linearizable={linearizable}, got {verdict:?}"),
    }
}

#[test]
fn sequential_write_then_read() {
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 0, "type": "ok", "f": "write", "value": 1}
{"process": 1, "type": "invoke", "f": "read", "value": null}
{"process": 1, "type": "ok", "f": "read", "value": 1}"#,
        Model::Register,
        true,
    );
}

#[test]
fn read_of_absent_register_sees_null() {
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "read", "value": null}
{"process": 0, "type": "ok", "f": "read", "value": null}"#,
        Model::Register,
        true,
    );
}

#[test]
fn concurrent_reads_may_see_old_or_new() {
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 0, "type": "ok", "f": "write", "value": 1}
{"process": 0, "type": "invoke", "f": "write", "value": 2}
{"process": 1, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 1, "type": "ok", "f": "read", "value": 2}
{"process": 2, "type": "ok", "f": "read", "value": 2}
{"process": 0, "type": "ok", "f": "write", "value": 2}"#,
        Model::Register,
        true,
    );
}

#[test]
fn stale_read_is_not_linearizable() {
    let v = check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 0, "type": "ok", "f": "write", "value": 1}
{"process": 0, "type": "invoke", "f": "write", "value": 2}
{"process": 0, "type": "ok", "f": "write", "value": 2}
{"process": 1, "type": "invoke", "f": "read", "value": null}
{"process": 1, "type": "ok", "f": "read", "value": 1}"#,
        Model::Register,
        false,
    )
    .expect("a violation");
    assert_eq!(v.first_unlinearizable.index, 2, "the stale read is op 2");
    assert!(v.render().contains("read -> 1 but the value is 2"), "{}", v.render());
}

#[test]
fn lost_write_is_not_linearizable() {
    // Two reads after both writes completed disagree with any order of them.
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 1, "type": "invoke", "f": "write", "value": 2}
{"process": 0, "type": "ok", "f": "write", "value": 1}
{"process": 1, "type": "ok", "f": "write", "value": 2}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": 2}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": 1}"#,
        Model::Register,
        false,
    );
}

#[test]
fn cas_from_a_value_never_held_is_not_linearizable() {
    let v = check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 3}
{"process": 0, "type": "ok", "f": "write", "value": 3}
{"process": 1, "type": "invoke", "f": "cas", "value": [2, 5]}
{"process": 1, "type": "ok", "f": "cas", "value": [2, 5]}"#,
        Model::Register,
        false,
    )
    .expect("a violation");
    assert!(v.render().contains("cas [2, 5] but the value is 3"), "{}", v.render());
}

#[test]
fn two_successful_cas_from_the_same_value_are_not_linearizable() {
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 0}
{"process": 0, "type": "ok", "f": "write", "value": 0}
{"process": 1, "type": "invoke", "f": "cas", "value": [0, 1]}
{"process": 2, "type": "invoke", "f": "cas", "value": [0, 2]}
{"process": 1, "type": "ok", "f": "cas", "value": [0, 1]}
{"process": 2, "type": "ok", "f": "cas", "value": [0, 2]}"#,
        Model::Register,
        false,
    );
}

#[test]
fn info_write_may_take_effect_much_later() {
    // The info write is seen only after other ops completed in between.
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 0, "type": "ok", "f": "write", "value": 1}
{"process": 1, "type": "invoke", "f": "write", "value": 2}
{"process": 1, "type": "info", "f": "write", "value": 2}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": 1}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": 1}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": 2}"#,
        Model::Register,
        true,
    );
}

#[test]
fn info_write_may_never_take_effect() {
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 0, "type": "ok", "f": "write", "value": 1}
{"process": 1, "type": "invoke", "f": "write", "value": 2}
{"process": 1, "type": "info", "f": "write", "value": 2}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": 1}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": 1}"#,
        Model::Register,
        true,
    );
}

#[test]
fn never_completed_cas_may_take_effect_late() {
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 0, "type": "ok", "f": "write", "value": 1}
{"process": 1, "type": "invoke", "f": "cas", "value": [1, 7]}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": 1}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": 7}"#,
        Model::Register,
        true,
    );
}

#[test]
fn info_write_cannot_take_effect_before_its_invoke() {
    check_history(
        r#"{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": 2}
{"process": 1, "type": "invoke", "f": "write", "value": 2}
{"process": 1, "type": "info", "f": "write", "value": 2}"#,
        Model::Register,
        false,
    );
}

#[test]
fn info_write_cannot_be_undone_after_it_was_seen() {
    // Once a read saw the info write, a later read cannot see the old value.
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 0, "type": "ok", "f": "write", "value": 1}
{"process": 1, "type": "invoke", "f": "write", "value": 2}
{"process": 1, "type": "info", "f": "write", "value": 2}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": 2}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": 1}"#,
        Model::Register,
        false,
    );
}

#[test]
fn value_of_a_failed_write_cannot_be_read() {
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 0, "type": "fail", "f": "write", "value": 1}
{"process": 1, "type": "invoke", "f": "read", "value": null}
{"process": 1, "type": "ok", "f": "read", "value": 1}"#,
        Model::Register,
        false,
    );
}

#[test]
fn failed_and_info_reads_constrain_nothing() {
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "read", "value": null}
{"process": 0, "type": "fail", "f": "read", "value": null}
{"process": 1, "type": "invoke", "f": "read", "value": null}
{"process": 1, "type": "info", "f": "read", "value": null}
{"process": 2, "type": "invoke", "f": "write", "value": 5}
{"process": 2, "type": "ok", "f": "write", "value": 5}"#,
        Model::Register,
        true,
    );
}

#[test]
fn kv_keys_are_independent() {
    // Each key alone is fine; as one register the history would not be.
    let text = r#"{"process": 0, "type": "invoke", "f": "write", "key": "a", "value": 1}
{"process": 0, "type": "ok", "f": "write", "key": "a", "value": 1}
{"process": 1, "type": "invoke", "f": "write", "key": "b", "value": 2}
{"process": 1, "type": "ok", "f": "write", "key": "b", "value": 2}
{"process": 2, "type": "invoke", "f": "read", "key": "a", "value": null}
{"process": 2, "type": "ok", "f": "read", "key": "a", "value": 1}"#;
    check_history(text, Model::Kv, true);
    check_history(text, Model::Register, false);
}

#[test]
fn kv_violation_names_the_failing_key() {
    let v = check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "key": "k1", "value": 1}
{"process": 0, "type": "ok", "f": "write", "key": "k1", "value": 1}
{"process": 0, "type": "invoke", "f": "write", "key": "k3", "value": 1}
{"process": 0, "type": "ok", "f": "write", "key": "k3", "value": 1}
{"process": 1, "type": "invoke", "f": "read", "key": "k1", "value": null}
{"process": 1, "type": "ok", "f": "read", "key": "k1", "value": 1}
{"process": 1, "type": "invoke", "f": "read", "key": "k3", "value": null}
{"process": 1, "type": "ok", "f": "read", "key": "k3", "value": 4}"#,
        Model::Kv,
        false,
    )
    .expect("a violation");
    assert_eq!(v.key.as_deref(), Some("k3"));
    assert_eq!(v.first_unlinearizable.index, 3, "the read of k3 is op 3");
    assert_eq!(v.last_linearized.as_ref().map(|op| op.index), Some(1));
    let report = v.render();
    assert!(report.contains("key \"k3\""), "{report}");
    assert!(report.contains("read k3 -> 4 but the value is 1"), "{report}");
}

#[test]
fn append_concatenates_from_empty() {
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "append", "key": "x", "value": "ab"}
{"process": 0, "type": "ok", "f": "append", "key": "x", "value": "ab"}
{"process": 1, "type": "invoke", "f": "append", "key": "x", "value": "cd"}
{"process": 2, "type": "invoke", "f": "read", "key": "x", "value": null}
{"process": 2, "type": "ok", "f": "read", "key": "x", "value": "abcd"}
{"process": 1, "type": "ok", "f": "append", "key": "x", "value": "cd"}"#,
        Model::Kv,
        true,
    );
}

#[test]
fn appends_in_the_wrong_order_are_not_linearizable() {
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "append", "key": "x", "value": "ab"}
{"process": 0, "type": "ok", "f": "append", "key": "x", "value": "ab"}
{"process": 1, "type": "invoke", "f": "append", "key": "x", "value": "cd"}
{"process": 1, "type": "ok", "f": "append", "key": "x", "value": "cd"}
{"process": 2, "type": "invoke", "f": "read", "key": "x", "value": null}
{"process": 2, "type": "ok", "f": "read", "key": "x", "value": "cdab"}"#,
        Model::Kv,
        false,
    );
}

#[test]
fn append_after_write_extends_the_written_string() {
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "key": "x", "value": "base"}
{"process": 0, "type": "ok", "f": "write", "key": "x", "value": "base"}
{"process": 0, "type": "invoke", "f": "append", "key": "x", "value": "+1"}
{"process": 0, "type": "ok", "f": "append", "key": "x", "value": "+1"}
{"process": 1, "type": "invoke", "f": "read", "key": "x", "value": null}
{"process": 1, "type": "ok", "f": "read", "key": "x", "value": "base+1"}"#,
        Model::Kv,
        true,
    );
}

#[test]
fn append_to_an_integer_is_refused() {
    let v = check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "key": "x", "value": 3}
{"process": 0, "type": "ok", "f": "write", "key": "x", "value": 3}
{"process": 0, "type": "invoke", "f": "append", "key": "x", "value": "a"}
{"process": 0, "type": "ok", "f": "append", "key": "x", "value": "a"}"#,
        Model::Kv,
        false,
    )
    .expect("a violation");
    assert!(v.render().contains("not a string"), "{}", v.render());
}

#[test]
fn strings_and_integers_are_distinct_values() {
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": "3"}
{"process": 0, "type": "ok", "f": "write", "value": "3"}
{"process": 1, "type": "invoke", "f": "read", "value": null}
{"process": 1, "type": "ok", "f": "read", "value": 3}"#,
        Model::Register,
        false,
    );
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "cas", "value": [null, "on"]}
{"process": 0, "type": "ok", "f": "cas", "value": [null, "on"]}
{"process": 1, "type": "invoke", "f": "read", "value": null}
{"process": 1, "type": "ok", "f": "read", "value": "on"}"#,
        Model::Register,
        true,
    );
}

#[test]
fn report_shows_partial_linearization_and_refusals() {
    // Two cas from 1 both succeed: real time does not order them, so it
    // takes the search to see that whichever goes first strands the other.
    let v = check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "key": "k", "value": 1}
{"process": 0, "type": "ok", "f": "write", "key": "k", "value": 1}
{"process": 1, "type": "invoke", "f": "cas", "key": "k", "value": [1, 5]}
{"process": 2, "type": "invoke", "f": "cas", "key": "k", "value": [1, 6]}
{"process": 1, "type": "ok", "f": "cas", "key": "k", "value": [1, 5]}
{"process": 2, "type": "ok", "f": "cas", "key": "k", "value": [1, 6]}"#,
        Model::Kv,
        false,
    )
    .expect("a violation");
    assert!(!v.forced_order);
    let states: Vec<String> = v.linearization.iter().map(|s| s.state.to_string()).collect();
    assert_eq!(states, ["1", "5"]);
    let reasons: Vec<&str> = v.attempts.iter().map(|a| a.reason.as_str()).collect();
    assert_eq!(reasons, ["cas k [1, 6] but the value is 5"]);
    assert!(v.render().contains("longest partial linearization (2 ops"), "{}", v.render());
}

#[test]
fn a_read_real_time_strands_is_reported_as_a_forced_order() {
    // write 2 was invoked after write 1 completed and completed before the
    // read was invoked: no search needed, the report is that chain.
    let v = check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "key": "k", "value": 1}
{"process": 0, "type": "ok", "f": "write", "key": "k", "value": 1}
{"process": 0, "type": "invoke", "f": "write", "key": "k", "value": 2}
{"process": 0, "type": "ok", "f": "write", "key": "k", "value": 2}
{"process": 1, "type": "invoke", "f": "cas", "key": "k", "value": [1, 5]}
{"process": 2, "type": "invoke", "f": "read", "key": "k", "value": null}
{"process": 2, "type": "ok", "f": "read", "key": "k", "value": 1}
{"process": 1, "type": "ok", "f": "cas", "key": "k", "value": [1, 5]}"#,
        Model::Kv,
        false,
    )
    .expect("a violation");
    assert!(v.forced_order);
    assert_eq!(v.first_unlinearizable.index, 3, "the read completes before the cas");
    let states: Vec<String> = v.linearization.iter().map(|s| s.state.to_string()).collect();
    assert_eq!(states, ["1", "2"]);
    let reasons: Vec<&str> = v.attempts.iter().map(|a| a.reason.as_str()).collect();
    assert_eq!(reasons, ["read k -> 1 but the value is 2"]);
    assert!(v.render().contains("real time alone orders these ops"), "{}", v.render());
}

#[test]
fn a_stale_read_behind_an_open_write_is_left_to_the_search() {
    // The only overwrite is open (it may never have happened), so real time
    // proves nothing; the search finds the order with the write last.
    check_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 0, "type": "ok", "f": "write", "value": 1}
{"process": 1, "type": "invoke", "f": "write", "value": 2}
{"process": 1, "type": "info", "f": "write", "value": 2}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": 1}"#,
        Model::Register,
        true,
    );
}

#[test]
fn deadline_in_the_past_gives_unknown_or_a_verdict_never_wrong() {
    // A long chain of concurrent writes and reads; with an expired deadline the
    // answer is Unknown or the true verdict, never the opposite one.
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!("{{\"process\": {i}, \"type\": \"invoke\", \"f\": \"write\", \"value\": {i}}}\n"));
    }
    for i in 0..200 {
        text.push_str(&format!("{{\"process\": {i}, \"type\": \"ok\", \"f\": \"write\", \"value\": {i}}}\n"));
    }
    let history = parse_history(&text).expect("parses");
    let past = Some(std::time::Instant::now());
    assert!(matches!(check(&history, Model::Register, past), Verdict::Unknown | Verdict::Linearizable));
    assert_eq!(check(&history, Model::Register, None), Verdict::Linearizable);
}
