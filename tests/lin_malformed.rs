//! Malformed histories: each kind of input error is reported with the right
//! 1-based line number and a message saying what is wrong.

use faultline::check::lin::parse_history;

/// Asserts that `text` fails to parse at `line` with a message containing
/// `message`, and that the error displays as `line N: ...`.
fn check(text: &str, line: usize, message: &str) {
    let err = parse_history(text).expect_err("the history is malformed");
    assert_eq!(err.line, line, "{err}");
    assert!(err.message.contains(message), "{err}");
    assert_eq!(err.to_string(), format!("line {line}: {}", err.message));
}

const WRITE: &str = r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}"#;

#[test]
fn bad_json() {
    check(&format!("{WRITE}\n{{\"process\": 0, \"type\": \n"), 2, "bad JSON");
}

#[test]
fn not_an_object() {
    check("[1, 2]", 1, "expected a JSON object");
}

#[test]
fn unknown_type() {
    check(r#"{"process": 0, "type": "start", "f": "read", "value": null}"#, 1, "unknown type \"start\"");
}

#[test]
fn unknown_f() {
    check(r#"{"process": 0, "type": "invoke", "f": "incr", "value": 1}"#, 1, "unknown f \"incr\"");
}

#[test]
fn unknown_field() {
    check(
        r#"{"process": 0, "type": "invoke", "f": "read", "value": null, "server": 3}"#,
        1,
        "unknown field \"server\"",
    );
}

#[test]
fn time_field_is_accepted() {
    let h = parse_history(
        r#"{"process": 0, "type": "invoke", "f": "read", "value": null, "time": 5}
{"process": 0, "type": "ok", "f": "read", "value": null, "time": 9}"#,
    )
    .expect("time is informational");
    assert_eq!(h.len(), 1);
}

#[test]
fn missing_process() {
    check(r#"{"type": "invoke", "f": "read", "value": null}"#, 1, "missing field \"process\"");
}

#[test]
fn completion_without_invoke() {
    check(
        &format!("\n{WRITE}\n{{\"process\": 1, \"type\": \"ok\", \"f\": \"write\", \"value\": 1}}"),
        3,
        "ok for process 1 which has no op in flight",
    );
}

#[test]
fn two_invokes_in_flight() {
    check(&format!("{WRITE}\n{WRITE}"), 2, "process 0 invokes a second op while its op from line 1 is in flight");
}

#[test]
fn cas_without_pair() {
    check(r#"{"process": 0, "type": "invoke", "f": "cas", "value": 3}"#, 1, "cas value must be [old, new]");
    check(r#"{"process": 0, "type": "invoke", "f": "cas", "value": [1, 2, 3]}"#, 1, "cas value must be [old, new]");
}

#[test]
fn completion_with_other_f() {
    check(
        &format!("{WRITE}\n{{\"process\": 0, \"type\": \"ok\", \"f\": \"read\", \"value\": 1}}"),
        2,
        "ok has f \"read\" but the invoke on line 1 has f \"write\"",
    );
}

#[test]
fn completion_with_other_key() {
    check(
        r#"{"process": 0, "type": "invoke", "f": "read", "key": "a", "value": null}
{"process": 0, "type": "ok", "f": "read", "key": "b", "value": null}"#,
        2,
        "ok has key \"b\" but the invoke on line 1 has key \"a\"",
    );
}

#[test]
fn write_completion_with_other_value() {
    check(
        &format!("{WRITE}\n{{\"process\": 0, \"type\": \"ok\", \"f\": \"write\", \"value\": 2}}"),
        2,
        "ok of write has value 2 but the invoke on line 1 has value 1",
    );
}

#[test]
fn cas_completion_with_other_value() {
    check(
        r#"{"process": 0, "type": "invoke", "f": "cas", "value": [1, 2]}
{"process": 0, "type": "info", "f": "cas", "value": [1, 3]}"#,
        2,
        "info of cas has value [1,3] but the invoke on line 1 has value [1,2]",
    );
}

#[test]
fn fail_and_info_may_repeat_or_omit_the_value() {
    let h = parse_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 0, "type": "fail", "f": "write", "value": null}
{"process": 1, "type": "invoke", "f": "cas", "value": [1, 2]}
{"process": 1, "type": "info", "f": "cas", "value": [1, 2]}"#,
    )
    .expect("both forms are accepted");
    assert_eq!(h.len(), 2);
}

#[test]
fn read_value_must_be_scalar() {
    check(
        r#"{"process": 0, "type": "invoke", "f": "read", "value": null}
{"process": 0, "type": "ok", "f": "read", "value": 1.5}"#,
        2,
        "not a 64-bit integer",
    );
}

#[test]
fn write_of_null() {
    check(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": null}"#,
        1,
        "write value must be an integer or a string",
    );
}

#[test]
fn append_of_integer() {
    check(
        r#"{"process": 0, "type": "invoke", "f": "append", "key": "k", "value": 4}"#,
        1,
        "append value must be a string",
    );
}
