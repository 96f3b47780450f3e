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
