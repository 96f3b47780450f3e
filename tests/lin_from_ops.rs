//! Histories built in memory with `History::from_ops`, as the simulator will:
//! same verdicts as the parsed form, and the same JSON Lines out.

use faultline::check::lin::{check, parse_history, Call, History, Model, Op, Outcome, Value, Verdict};

/// Builds a history from ops, checks it under `model` and asserts the
/// verdict; returns the history.
fn check_ops(ops: Vec<Op>, model: Model, linearizable: bool) -> History {
    let history = History::from_ops(ops);
    let verdict = check(&history, model, None);
    assert_eq!(matches!(verdict, Verdict::Linearizable), linearizable, "{verdict:?}");
    assert!(!matches!(verdict, Verdict::Unknown));
    history
}

fn op(process: u64, call: Call, outcome: Outcome, invoke: usize, done: Option<usize>) -> Op {
    Op {
        process,
        key: Some("k".to_string()),
        call,
        outcome,
        invoke_index: invoke,
        complete_index: done,
        meta: Default::default(),
    }
}

#[test]
fn built_history_matches_its_jsonl() {
    let history = check_ops(
        vec![
            op(1, Call::Read, Outcome::Ok(Value::Int(7)), 30, Some(40)),
            op(0, Call::Write(Value::Int(7)), Outcome::Ok(Value::Null), 10, Some(20)),
            op(2, Call::Cas(Value::Int(7), Value::Int(8)), Outcome::Open, 35, None),
        ],
        Model::Kv,
        true,
    );
    assert_eq!(history.ops()[0].process, 0, "ops are sorted by invoke");
    let parsed = parse_history(&history.to_jsonl()).expect("to_jsonl parses");
    assert_eq!(parsed.len(), 3);
    assert_eq!(parsed.to_jsonl(), history.to_jsonl());
}

#[test]
fn built_stale_read_is_not_linearizable() {
    check_ops(
        vec![
            op(0, Call::Append("a".into()), Outcome::Ok(Value::Null), 1, Some(2)),
            op(0, Call::Append("b".into()), Outcome::Ok(Value::Null), 3, Some(4)),
            op(1, Call::Read, Outcome::Ok(Value::Str("a".into())), 5, Some(6)),
        ],
        Model::Kv,
        false,
    );
}
