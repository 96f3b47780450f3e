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

/// The corpus folder and its expected verdicts (file -> linearizable), or
/// `None` (with a note) where the corpus is not beside the crate.
fn corpus() -> Option<(PathBuf, std::collections::BTreeMap<String, bool>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/histories/porcupine");
    let Ok(expected) = std::fs::read_to_string(root.join("expected.json")) else {
        println!("corpus not found at {}: skipped", root.display());
        return None;
    };
    Some((root, serde_json::from_str(&expected).expect("expected.json is a map of booleans")))
}

#[test]
fn corpus_verdicts_match_expected() {
    let Some((root, expected)) = corpus() else { return };
    assert_eq!(expected.len(), 108, "the corpus has 108 histories");
    let failures: Vec<String> = expected.iter().filter_map(|(name, &ok)| check_file(&root, name, ok).err()).collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Whether every ok read (and ok cas) of `witness` whose value `original`
/// explains is explained in `witness` too: for a plain value, some other op
/// of it writes that value to that key and was invoked before the read
/// completed; for a string read of a history with appends, the string is a
/// write's value (or empty) followed by appends, all such ops.
fn unexplained_reads(
    original: &faultline::check::lin::History,
    witness: &faultline::check::lin::History,
) -> Vec<String> {
    use faultline::check::lin::{Call, History, Op, Outcome, Value};
    let needed = |op: &Op| match (&op.call, &op.outcome) {
        (Call::Read, Outcome::Ok(v)) | (Call::Cas(v, _), Outcome::Ok(_)) if *v != Value::Null => Some(v.clone()),
        _ => None,
    };
    let appends = original.ops().iter().any(|op| matches!(op.call, Call::Append(_)));
    // Whether `rest` of a read's string is made of appends of `h` (brute
    // force: the test's own reading of the rule, not the shrinker's).
    fn tiled(rest: &str, pieces: &[&str]) -> bool {
        rest.is_empty()
            || pieces.iter().any(|p| !p.is_empty() && rest.starts_with(p) && tiled(&rest[p.len()..], pieces))
    }
    let explained = |h: &History, op: &Op| {
        let Some(v) = needed(op) else { return true };
        let Some(done) = op.complete_index else { return true };
        let before: Vec<&Op> = h
            .ops()
            .iter()
            .filter(|w| w.invoke_index != op.invoke_index && w.key == op.key && w.invoke_index < done)
            .collect();
        match (&v, appends) {
            (Value::Str(text), true) => {
                let pieces: Vec<&str> = before
                    .iter()
                    .filter_map(|w| match &w.call {
                        Call::Append(a) => Some(a.as_str()),
                        _ => None,
                    })
                    .collect();
                let starts = before.iter().filter_map(|w| match &w.call {
                    Call::Write(Value::Str(x)) | Call::Cas(_, Value::Str(x)) => text.strip_prefix(x.as_str()),
                    _ => None,
                });
                tiled(text, &pieces) || starts.into_iter().any(|rest| tiled(rest, &pieces))
            }
            _ => before.iter().any(|w| matches!(&w.call, Call::Write(x) | Call::Cas(_, x) if *x == v)),
        }
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

/// On every non-linearizable history of the corpus (appends included), the
/// shrunk witness fails, fails on the op the whole history's check could not
/// place, and explains every read the original explains.
#[test]
fn corpus_witnesses_fail_and_explain_their_reads() {
    use faultline::check::lin::{shrink, Budget};
    let Some((root, expected)) = corpus() else { return };
    // Step budgets, so the witnesses are the same on any machine.
    let budget = Budget::Steps(200_000_000);
    let (mut checked, mut with_appends, mut kept, mut total) = (0, 0, 0, 0);
    for (name, _) in expected.iter().filter(|(_, ok)| !**ok) {
        let text = std::fs::read_to_string(root.join(name)).expect("reads");
        let history = parse_history(&text).expect("parses");
        let model = if name.starts_with("kv/") { Model::Kv } else { Model::Register };
        let Verdict::NotLinearizable(v) = check(&history, model, budget) else {
            panic!("{name}: expected a violation");
        };
        let witness = shrink(&history, model, &v, budget).history;
        let Verdict::NotLinearizable(w) = check(&witness, model, budget) else {
            panic!("{name}: the witness must fail");
        };
        let culprit = witness.ops()[w.first_unlinearizable.index].invoke_index;
        assert_eq!(
            culprit,
            history.ops()[v.first_unlinearizable.index].invoke_index,
            "{name}: the witness fails on another op ({}) than the whole history ({})",
            w.first_unlinearizable.text,
            v.first_unlinearizable.text
        );
        let orphans = unexplained_reads(&history, &witness);
        assert!(orphans.is_empty(), "{name}: witness reads explained by nothing before them: {orphans:?}");
        checked += 1;
        with_appends +=
            usize::from(history.ops().iter().any(|op| matches!(op.call, faultline::check::lin::Call::Append(_))));
        kept += witness.len();
        total += history.len();
    }
    assert!(with_appends > 0, "the corpus has append histories, and they are checked");
    println!(
        "{checked} non-linearizable corpus histories ({with_appends} with appends): every witness fails on the \
         same op and explains its reads; {kept} of {total} ops kept"
    );
}
