//! Fuzz target: history text through `faultline check` in process (parsing,
//! the linearizability checker under a tiny time limit, the witness), with
//! each model.
//!
//! Any input must end in exit code 0 (linearizable), 1 (not, with a shrunk
//! witness), 2 (a one-line input error) or 3 (time limit); a panic is a
//! finding. A history that parses must also survive being written back out
//! and parsed again with the same operations, since `check` writes its
//! witness that way and users feed it back.
#![no_main]

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;

use faultline::check::lin;
use libfuzzer_sys::fuzz_target;

/// The fuzzing folder: the history and witness files live there.
fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("faultline-fuzz-history-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the fuzzing folder");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let dir = folder();
    let (file, witness) = (dir.join("h.jsonl"), dir.join("w.jsonl"));
    std::fs::write(&file, text).expect("write the history");
    let protocols = faultline::protocols::builtin();
    for model in ["register", "kv"] {
        let args = ["faultline", "check", file.to_str().unwrap(), "--model", model, "--time-limit", "5ms", "--witness"]
            .into_iter()
            .map(OsString::from)
            .chain([witness.clone().into_os_string()]);
        let code = faultline::cli::main_args(&protocols, "faultline", args);
        assert!((0..=3).contains(&code), "exit code {code}");
    }
    let Ok(history) = lin::parse_history(text) else { return };
    let again = lin::parse_history(&history.to_jsonl()).expect("a history written by to_jsonl parses");
    // The same ops, their event positions renumbered to the new line numbers.
    let strip = |h: &lin::History| -> Vec<_> {
        h.ops().iter().map(|op| (op.process, op.key.clone(), op.call.clone(), op.outcome.clone())).collect()
    };
    assert_eq!(strip(&again), strip(&history), "to_jsonl then parse gives back the same operations");
});
