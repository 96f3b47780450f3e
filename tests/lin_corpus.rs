//! The public conformance corpus (Porcupine's etcd and kv histories, with
//! verdicts from Porcupine's own tests), read from `../shared/histories`
//! beside the crate. Every verdict must match; none may be unknown.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use faultline::check::lin::{check, parse_history, Model, Verdict};

/// Checks one corpus file and returns whether it matched.
fn check_file(dir: &std::path::Path, name: &str, expected: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
    let history = parse_history(&text).map_err(|e| format!("{name}: {e}"))?;
    let model = if name.starts_with("kv/") { Model::Kv } else { Model::Register };
    let deadline = Some(Instant::now() + Duration::from_secs(30));
    match (check(&history, model, deadline), expected) {
        (Verdict::Linearizable, true) | (Verdict::NotLinearizable(_), false) => Ok(()),
        (Verdict::Unknown, _) => Err(format!("{name}: unknown")),
        (_, expected) => Err(format!("{name}: expected linearizable={expected}")),
    }
}

#[test]
fn corpus_verdicts_match_expected() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/histories/porcupine");
    let Ok(expected) = std::fs::read_to_string(root.join("expected.json")) else {
        println!("corpus not found at {}: skipped", root.display());
        return;
    };
    let expected: std::collections::BTreeMap<String, bool> =
        serde_json::from_str(&expected).expect("expected.json is a map of booleans");
    assert_eq!(expected.len(), 108, "the corpus has 108 histories");
    let failures: Vec<String> = expected.iter().filter_map(|(name, &ok)| check_file(&root, name, ok).err()).collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Whether every ok read (and ok cas) of `witness` whose value `original`
/// explains is explained in `witness` too: some other op of it writes that
/// value to that key and was invoked before the read completed.
fn unexplained_reads(
    original: &faultline::check::lin::History,
    witness: &faultline::check::lin::History,
) -> Vec<String> {
    use faultline::check::lin::{Call, Op, Outcome, Value};
    let needed = |op: &Op| match (&op.call, &op.outcome) {
        (Call::Read, Outcome::Ok(v)) | (Call::Cas(v, _), Outcome::Ok(_)) if *v != Value::Null => Some(v.clone()),
        _ => None,
    };
    let explained = |h: &faultline::check::lin::History, op: &Op| {
        let Some(v) = needed(op) else { return true };
        h.ops().iter().any(|w| {
            w.invoke_index != op.invoke_index
                && w.key == op.key
                && matches!(&w.call, Call::Write(x) | Call::Cas(_, x) if *x == v)
                && op.complete_index.is_some_and(|done| w.invoke_index < done)
        })
    };
    witness
        .ops()
        .iter()
        .filter(|op| {
            let twin = original
                .ops()
                .iter()
                .find(|o| o.invoke_index == op.invoke_index)
                .expect("a witness op is an original op");
            explained(original, twin) && !explained(witness, op)
        })
        .map(|op| op.describe())
        .collect()
}

#[test]
fn corpus_witnesses_fail_and_explain_their_reads() {
    use faultline::check::lin::shrink;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/histories/porcupine");
    let Ok(expected) = std::fs::read_to_string(root.join("expected.json")) else {
        println!("corpus not found at {}: skipped", root.display());
        return;
    };
    let expected: std::collections::BTreeMap<String, bool> =
        serde_json::from_str(&expected).expect("expected.json is a map of booleans");
    let mut checked = 0;
    for (name, _) in expected.iter().filter(|(_, ok)| !**ok) {
        let text = std::fs::read_to_string(root.join(name)).expect("reads");
        let history = parse_history(&text).expect("parses");
        if history.ops().iter().any(|op| matches!(op.call, faultline::check::lin::Call::Append(_))) {
            continue; // reads of appends are concatenations; the rule does not apply
        }
        let model = if name.starts_with("kv/") { Model::Kv } else { Model::Register };
        let Verdict::NotLinearizable(v) = check(&history, model, Some(Instant::now() + Duration::from_secs(30))) else {
            panic!("{name}: expected a violation");
        };
        let witness = shrink(&history, model, &v, Some(Instant::now() + Duration::from_secs(10))).history;
        assert!(
            matches!(
                check(&witness, model, Some(Instant::now() + Duration::from_secs(30))),
                Verdict::NotLinearizable(_)
            ),
            "{name}: the witness must fail"
        );
        let orphans = unexplained_reads(&history, &witness);
        assert!(orphans.is_empty(), "{name}: witness reads explained by nothing before them: {orphans:?}");
        checked += 1;
    }
    assert!(checked > 0, "some corpus histories are register or kv without appends");
    println!("{checked} non-linearizable corpus histories: every witness fails and explains its reads");
}
