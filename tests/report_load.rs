//! Loading a run folder: what is read, how ops are paired, and that every bad
//! input gives one line naming the file.

mod common;

use common::*;
use faultline::report::{load_run_dir, OpKind, Outcome};

/// Writes `files` (name, content) into a fresh folder, loads it, and checks
/// the error (if `error_has` is given: one line containing each fragment) or
/// the op count (if `ops` is given).
fn check(name: &str, files: &[(&str, &str)], error_has: &[&str], ops: Option<usize>) {
    let dir = fresh_dir(name);
    for (file, content) in files {
        std::fs::write(dir.join(file), content).unwrap();
    }
    match load_run_dir(&dir) {
        Err(error) => {
            assert!(!error_has.is_empty(), "{name}: unexpected error {error}");
            assert!(!error.contains('\n'), "{name}: error is not one line: {error}");
            for fragment in error_has {
                assert!(error.contains(fragment), "{name}: {error:?} lacks {fragment:?}");
            }
        }
        Ok(data) => {
            assert!(error_has.is_empty(), "{name}: expected an error with {error_has:?}");
            assert_eq!(Some(data.ops.len()), ops, "{name}: op count");
        }
    }
}

/// Loads the run folder `name` that `check` wrote and asserts its ops are
/// `expected`: (process, kind, outcome, latency in ns).
fn assert_ops(name: &str, expected: &[(u64, &str, Outcome, Option<u64>)]) -> faultline::report::RunData {
    let data = load_run_dir(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)).unwrap();
    let got: Vec<(u64, &str, Outcome, Option<u64>)> = data
        .ops
        .iter()
        .map(|op| (op.process, op.kind.name(), op.outcome, op.complete_ns.map(|c| c - op.invoke_ns)))
        .collect();
    assert_eq!(got, expected, "{name}");
    data
}

#[test]
fn missing_folder_is_one_line_naming_it() {
    let dir = fresh_dir("missing_folder").join("nope");
    let error = load_run_dir(&dir).unwrap_err();
    assert!(error.contains("nope") && error.contains("not found"), "{error}");
    assert!(!error.contains('\n'));
}

#[test]
fn missing_summary_names_the_file() {
    check("missing_summary", &[], &["summary.json"], None);
}

#[test]
fn corrupt_summary_names_the_file() {
    check("corrupt_summary", &[("summary.json", "{\"scenario\": \n\"x\", ")], &["summary.json"], None);
    check(
        "summary_wrong_type",
        &[("summary.json", "{\"scenario\":\"x\",\"seed\":\"seven\"}")],
        &["summary.json"],
        None,
    );
}

#[test]
fn bad_history_line_names_file_and_line() {
    let summary = summary_json("[]", "{}", "null");
    let history = format!("{}\nnot json\n", line(0, "invoke", "read", 1));
    check(
        "bad_history",
        &[("summary.json", &summary), ("history.jsonl", &history)],
        &["history.jsonl", "line 2"],
        None,
    );
    let no_f = r#"{"process":0,"type":"invoke","time":1}"#;
    check(
        "invoke_without_f",
        &[("summary.json", &summary), ("history.jsonl", no_f)],
        &["history.jsonl", "line 1", "invoke without f"],
        None,
    );
    let orphan = line(0, "ok", "read", 1);
    check(
        "orphan_completion",
        &[("summary.json", &summary), ("history.jsonl", &orphan)],
        &["line 1", "without an invoke"],
        None,
    );
}

#[test]
fn bad_timeline_line_names_file_and_line() {
    let summary = summary_json("[]", "{}", "null");
    let timeline = "{\"i\":0,\"t\":0,\"ev\":\"send\",\"from\":0,\"to\":1,\"msg_id\":0,\"msg\":\"x\"}\n{\"i\":1,\"t\":5,\"ev\":\"deliver\",\"from\":0}\n";
    check(
        "bad_timeline",
        &[("summary.json", &summary), ("timeline.jsonl", timeline)],
        &["timeline.jsonl", "line 2", "to"],
        None,
    );
}

#[test]
fn real_summary_and_slice_of_real_trace_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pb");
    let data = load_run_dir(&dir).unwrap();
    assert_eq!(data.summary.scenario, "tickets-chaos");
    assert_eq!(data.summary.faults.len(), 9);
    assert_eq!(data.summary.nodes, None);
    assert!(data.timeline.len() > 300);
    check(
        "minimal_summary",
        &[(
            "summary.json",
            "{\"scenario\":\"s\",\"seed\":1,\"nodes\":5,\"clients\":3,\"some_new_key\":true,\"latency\":{\"read\":{\"p50\":null,\"p90\":1.5}}}",
        )],
        &[],
        Some(0),
    );
}

#[test]
fn history_pairs_invokes_with_next_completion_of_same_process() {
    let summary = summary_json("[]", "{}", "null");
    let history = [
        line(0, "invoke", "read", 10),
        line(1, "invoke", "write", 20),
        line(1, "fail", "write", 25),
        line(0, "ok", "read", 40),
        line(2, "invoke", "cas", 50),
        line(2, "info", "cas", 90),
        line(3, "invoke", "append", 95),
    ]
    .join("\n");
    check("pairing", &[("summary.json", &summary), ("history.jsonl", &history)], &[], Some(4));
    assert_ops(
        "pairing",
        &[
            (0, "read", Outcome::Ok, Some(30)),
            (1, "write", Outcome::Fail, Some(5)),
            (2, "cas", Outcome::Info, Some(40)),
            (3, "append", Outcome::Info, None),
        ],
    );
}

/// The issue's case: a lock's and a bank's operations, with values of every
/// JSON type and no key, load as ops of their own kinds. (An `f` outside
/// read/write/cas/append used to fail the load, and so every run.)
#[test]
fn any_operation_name_and_any_value_load() {
    let summary = summary_json("[]", "{}", "null");
    let history = [
        r#"{"process":0,"type":"invoke","f":"acquire","value":"owner-a","time":10}"#,
        r#"{"process":1,"type":"invoke","f":"transfer","value":{"from":"alice","to":"bob","amount":[5,"eur"]},"time":12}"#,
        r#"{"process":0,"type":"ok","f":"acquire","value":{"fence":7},"time":20}"#,
        r#"{"process":1,"type":"fail","value":null,"time":22}"#,
        r#"{"process":0,"type":"invoke","f":"release","value":null,"time":30}"#,
        r#"{"process":0,"type":"info","f":"release","time":45}"#,
        r#"{"process":2,"type":"invoke","f":"read","key":"k1","value":null,"time":50}"#,
        r#"{"process":2,"type":"ok","f":"read","key":"k1","value":[1,2,3],"time":51}"#,
    ]
    .join("\n");
    check("open_vocabulary", &[("summary.json", &summary), ("history.jsonl", &history)], &[], Some(4));
    let data = assert_ops(
        "open_vocabulary",
        &[
            (0, "acquire", Outcome::Ok, Some(10)),
            (1, "transfer", Outcome::Fail, Some(10)),
            (0, "release", Outcome::Info, Some(15)),
            (2, "read", Outcome::Ok, Some(1)),
        ],
    );
    assert_eq!(data.ops[0].kind, OpKind::from("acquire"));
}
