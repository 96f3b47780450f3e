//! Shrinking: the output is a smaller history that is still not
//! linearizable, and it round-trips through the file format.

use faultline::check::lin::{check, parse_history, shrink, History, Model, Verdict};
use faultline::check::linearizability::Budget;

/// Shrinks `text` under `model` and asserts the result is non-linearizable,
/// has at most `ops_max` ops, and parses back to the same ops; returns it.
fn check_shrink(text: &str, model: Model, ops_max: usize) -> History {
    let history = parse_history(text).expect("test history parses");
    let Verdict::NotLinearizable(violation) = check(&history, model, Budget::Unlimited) else {
        panic!("the history to shrink is not linearizable");
    };
    let shrunk = shrink(&history, model, &violation, Budget::Unlimited);
    assert!(shrunk.complete, "an unlimited shrink finishes");
    let small = shrunk.history;
    assert!(small.len() <= ops_max, "{} ops:\n{}", small.len(), small.to_jsonl());
    assert!(small.len() < history.len());
    let round = parse_history(&small.to_jsonl()).expect("shrunk history parses");
    assert_eq!(round.len(), small.len());
    assert_eq!(round.to_jsonl(), small.to_jsonl());
    assert!(matches!(check(&round, model, None), Verdict::NotLinearizable(_)));
    small
}

/// A register history: `noise` linearizable write/read pairs around one
/// stale read.
fn noisy_stale_read(noise: usize) -> String {
    let mut lines = Vec::new();
    let mut line = |p: usize, t: &str, f: &str, v: &str| {
        lines.push(format!("{{\"process\": {p}, \"type\": \"{t}\", \"f\": \"{f}\", \"value\": {v}}}"))
    };
    for i in 0..noise {
        line(0, "invoke", "write", &i.to_string());
        line(1, "invoke", "read", "null");
        line(0, "ok", "write", &i.to_string());
        line(1, "ok", "read", &i.to_string());
    }
    line(0, "invoke", "write", "1000");
    line(0, "ok", "write", "1000");
    line(0, "invoke", "write", "1001");
    line(0, "ok", "write", "1001");
    line(2, "invoke", "read", "null");
    line(2, "ok", "read", "1000");
    for i in 0..noise {
        line(0, "invoke", "write", &(2000 + i).to_string());
        line(0, "ok", "write", &(2000 + i).to_string());
    }
    lines.join("\n")
}

#[test]
fn stale_read_shrinks_to_the_writes_and_the_read() {
    // The witness keeps the write of the value read (a read of a value from
    // nowhere would explain nothing): write 1000, write 1001, read 1000.
    let small = check_shrink(&noisy_stale_read(20), Model::Register, 3);
    let described: Vec<String> = small.ops().iter().map(|op| format!("p{} {}", op.process, op.call.name())).collect();
    assert_eq!(described, ["p0 write", "p0 write", "p2 read"], "{}", small.to_jsonl());
}

#[test]
fn cas_anomaly_shrinks_to_the_conflicting_pair() {
    // Two cas from absent both succeed; reads and failed writes are noise.
    let mut text = String::new();
    for i in 0..10 {
        text.push_str(&format!(
            "{{\"process\": 5, \"type\": \"invoke\", \"f\": \"read\", \"value\": null}}\n\
             {{\"process\": 5, \"type\": \"ok\", \"f\": \"read\", \"value\": null}}\n\
             {{\"process\": 6, \"type\": \"invoke\", \"f\": \"write\", \"value\": {}}}\n\
             {{\"process\": 6, \"type\": \"fail\", \"f\": \"write\", \"value\": {}}}\n",
            100 + i,
            100 + i
        ));
    }
    text.push_str(
        r#"{"process": 1, "type": "invoke", "f": "cas", "value": [null, 1]}
{"process": 2, "type": "invoke", "f": "cas", "value": [null, 2]}
{"process": 1, "type": "ok", "f": "cas", "value": [null, 1]}
{"process": 2, "type": "ok", "f": "cas", "value": [null, 2]}"#,
    );
    let small = check_shrink(&text, Model::Register, 2);
    let processes: Vec<u64> = small.ops().iter().map(|op| op.process).collect();
    assert_eq!(processes, [1, 2], "{}", small.to_jsonl());
}

#[test]
fn kv_shrink_keeps_only_the_failing_key() {
    let text = r#"{"process": 0, "type": "invoke", "f": "write", "key": "a", "value": 1}
{"process": 0, "type": "ok", "f": "write", "key": "a", "value": 1}
{"process": 1, "type": "invoke", "f": "append", "key": "b", "value": "x"}
{"process": 1, "type": "ok", "f": "append", "key": "b", "value": "x"}
{"process": 2, "type": "invoke", "f": "read", "key": "a", "value": null}
{"process": 2, "type": "ok", "f": "read", "key": "a", "value": 1}
{"process": 3, "type": "invoke", "f": "read", "key": "b", "value": null}
{"process": 3, "type": "ok", "f": "read", "key": "b", "value": "y"}
{"process": 4, "type": "invoke", "f": "write", "key": "c", "value": 9}
{"process": 4, "type": "fail", "f": "write", "key": "c", "value": 9}"#;
    let small = check_shrink(text, Model::Kv, 1);
    assert_eq!(small.ops()[0].key.as_deref(), Some("b"));
}

#[test]
fn linearizable_history_is_returned_unchanged() {
    // Given another history's violation, a shrink finds nothing failing to
    // shrink and returns the history as it is.
    let stale = parse_history(&noisy_stale_read(2)).expect("parses");
    let Verdict::NotLinearizable(violation) = check(&stale, Model::Register, Budget::Unlimited) else {
        panic!("the stale read is not linearizable");
    };
    let history = parse_history(
        r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 0, "type": "ok", "f": "write", "value": 1}"#,
    )
    .expect("parses");
    let shrunk = shrink(&history, Model::Register, &violation, Budget::Unlimited);
    assert_eq!((shrunk.history, shrunk.complete), (history, true));
}

#[test]
fn open_ops_round_trip() {
    let text = r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 1, "type": "invoke", "f": "cas", "value": [1, 2]}
{"process": 0, "type": "info", "f": "write", "value": 1}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": 3}"#;
    let history = parse_history(text).expect("parses");
    let again = parse_history(&history.to_jsonl()).expect("round trip parses");
    assert_eq!(again, history);
    check_shrink(text, Model::Register, 1);
}
