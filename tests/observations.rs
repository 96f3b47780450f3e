//! Observations are data: `observations.jsonl` and the trace carry each
//! observation as JSON (serde's form of the protocol's type) next to its
//! text, and a violation in `summary.json` lists the faults before it.

use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("faultline runs")
}

#[test]
fn observations_and_trace_lines_carry_json_fields() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("observations-forget-vote");
    let out = run(&["run", "scenarios/raft/bug-forget-vote.json", "--trace", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let text = std::fs::read_to_string(dir.join("observations.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["kind"], "BecameLeader");
    assert!(first["obs"]["BecameLeader"]["term"].is_u64(), "{first}");
    let trace = std::fs::read_to_string(dir.join("trace.jsonl")).unwrap();
    let observe = trace.lines().find(|l| l.contains(r#""ev":"observe""#)).unwrap();
    let line: serde_json::Value = serde_json::from_str(observe).unwrap();
    assert!(line["obs"].is_object() && line["text"].is_string(), "{line}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let before = summary["violation"]["faults_before"].as_array().expect("faults_before");
    assert!(before.iter().any(|w| w["kind"] == "crash"), "{before:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("faults in force in the 2s before it"), "{stdout}");
}
