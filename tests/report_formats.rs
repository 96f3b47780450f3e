//! The run folder's file formats, one serde type each: `TraceLine` for
//! `trace.jsonl` / `timeline.jsonl`, `Summary` for `summary.json`,
//! `HistoryLine` for `history.jsonl`. Each type writes and reads its format,
//! so these tests round-trip a value through its own type, then check that
//! what a real `faultline run` writes is read back by the same type and, once
//! re-written by it, says the same thing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use faultline::check::history::{HistoryLine, LineKind};
use faultline::report::data::{FaultWindow, LatencyQuantilesMs, MessageStats, Summary, Violation};
use faultline::sim::trace::{EventKind, TraceLine};
use serde_json::{json, Value};

/// The folder of one real run of `scenarios/raft/calm.json` with `--trace`,
/// made once for all the tests of this file.
fn calm_run() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report_formats_calm");
        let _ = std::fs::remove_dir_all(&dir);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["run", "scenarios/raft/calm.json", "--trace", "--out"])
            .arg(&dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run faultline");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

fn read(name: &str) -> String {
    let path = calm_run().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

// ---- trace.jsonl / timeline.jsonl ----

/// One line of every shape the kernel writes.
fn trace_lines() -> Vec<TraceLine<'static>> {
    vec![
        TraceLine {
            from: Some(0),
            to: Some(2),
            msg_id: Some(7),
            msg: Some("Vote { term: 3, \"quoted\" }".into()),
            ..TraceLine::new(10, 5_000, EventKind::Send)
        },
        TraceLine {
            from: Some(2),
            to: Some(0),
            msg_id: Some(7),
            msg: Some("Ack".into()),
            ..TraceLine::new(11, 9_000, EventKind::DropLate)
        },
        TraceLine { node: Some(Some(1)), ..TraceLine::new(12, 9_500, EventKind::Fsync) },
        TraceLine {
            node: Some(Some(1)),
            obs: Some(json!({"BecameLeader": {"term": 3, "log": [1, 2]}})),
            text: Some("BecameLeader { term: 3, log: [1, 2] }".into()),
            ..TraceLine::new(13, 9_500, EventKind::Observe)
        },
        TraceLine {
            node: Some(None),
            what: Some("partition [[0], [1, 2]]".into()),
            ..TraceLine::new(14, 10_000, EventKind::Fault)
        },
        TraceLine {
            node: Some(Some(0)),
            what: Some("start n0".into()),
            ..TraceLine::new(15, 10_000, EventKind::Start)
        },
        TraceLine { task: Some(4), ..TraceLine::new(16, 11_000, EventKind::Timer) },
        TraceLine { waker: Some(2), ..TraceLine::new(17, 12_000, EventKind::Timer) },
        TraceLine { node: Some(Some(2)), task: Some(u64::MAX), ..TraceLine::new(18, 12_000, EventKind::LocalWake) },
    ]
}

#[test]
fn a_trace_line_reads_back_as_written() {
    for line in trace_lines() {
        let text = line.to_json();
        let back: TraceLine<'_> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(back, line, "{text}");
        assert_eq!(back.to_json(), text);
    }
}

#[test]
fn a_trace_line_keeps_the_kernel_field_names_and_order() {
    let lines: Vec<String> = trace_lines().iter().map(TraceLine::to_json).collect();
    assert_eq!(
        lines[0],
        r#"{"i":10,"t":5000,"ev":"send","from":0,"to":2,"msg_id":7,"msg":"Vote { term: 3, \"quoted\" }"}"#
    );
    assert_eq!(lines[2], r#"{"i":12,"t":9500,"ev":"fsync","node":1}"#);
    // A network fault names no node, and says so with `null`.
    assert_eq!(lines[4], r#"{"i":14,"t":10000,"ev":"fault","node":null,"what":"partition [[0], [1, 2]]"}"#);
    assert_eq!(lines[6], r#"{"i":16,"t":11000,"ev":"timer","task":4}"#);
    assert_eq!(lines[7], r#"{"i":17,"t":12000,"ev":"timer","waker":2}"#);
    assert_eq!(lines[8], r#"{"i":18,"t":12000,"ev":"local-wake","node":2,"task":18446744073709551615}"#);
    let fault: TraceLine<'_> = serde_json::from_str(&lines[4]).unwrap();
    assert_eq!((fault.node, fault.node_id()), (Some(None), None));
}

#[test]
fn an_observation_serde_cannot_write_becomes_its_error_message() {
    // A map with non-string keys has no JSON form.
    let obs: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
    let line = TraceLine { node: Some(Some(0)), text: Some("odd".into()), ..TraceLine::new(1, 2, EventKind::Observe) }
        .with_obs(Some(&obs));
    let text = line.to_json();
    let back: TraceLine<'_> = serde_json::from_str(&text).unwrap();
    assert!(matches!(&back.obs, Some(Value::String(message)) if message.contains("key must be a string")), "{back:?}");
    assert_eq!((back.node_id(), back.text.as_deref()), (Some(0), Some("odd")));
}

#[test]
fn an_older_or_hand_made_trace_line_still_reads() {
    // No `i`, an observation without `text`, an unknown key.
    let line: TraceLine<'_> =
        serde_json::from_str(r#"{"t":5,"ev":"observe","node":3,"obs":"Granted { ticket: 0 }","extra":[1]}"#).unwrap();
    assert_eq!((line.i, line.t, &*line.ev, line.node_id()), (0, 5, "observe", Some(3)));
    assert_eq!(line.obs, Some(json!("Granted { ticket: 0 }")));
    assert!(serde_json::from_str::<TraceLine<'_>>(r#"{"t":5}"#).is_err(), "ev is required");
}

/// Every line of a real trace reads as a `TraceLine` and says the same once
/// written again (the same JSON; an observation's keys may come back sorted).
fn check_trace_file(name: &str, text: &str) -> usize {
    let mut count = 0;
    for (index, raw) in text.lines().enumerate() {
        let line: TraceLine<'_> =
            serde_json::from_str(raw).unwrap_or_else(|e| panic!("{name} line {}: {e}", index + 1));
        assert_eq!(parse_json(&line.to_json()), parse_json(raw), "{name} line {}", index + 1);
        if line.obs.is_none() {
            assert_eq!(line.to_json(), raw, "{name} line {}", index + 1);
        }
        count += 1;
    }
    count
}

#[test]
fn a_real_trace_and_timeline_read_with_the_type_that_wrote_them() {
    let trace = read("trace.jsonl");
    let summary: Summary = serde_json::from_str(&read("summary.json")).unwrap();
    assert_eq!(check_trace_file("trace.jsonl", &trace) as u64, summary.events);
    let kinds: std::collections::BTreeSet<String> =
        trace.lines().map(|l| serde_json::from_str::<TraceLine<'_>>(l).unwrap().ev.into_owned()).collect();
    for kind in ["send", "deliver", "timer", "fsync", "observe", "start"] {
        assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
    }
    let timeline = read("timeline.jsonl");
    assert!(check_trace_file("timeline.jsonl", &timeline) > 0);
    assert!(!faultline::report::data::parse_timeline(&timeline).unwrap().is_empty());
}

// ---- summary.json ----

fn a_summary() -> Summary {
    let crash = FaultWindow {
        kind: "crash".into(),
        nodes: vec![1],
        detail: "crash n1".into(),
        start_ns: 1_000_000_000,
        end_ns: Some(2_000_000_000),
    };
    Summary {
        scenario: "s".into(),
        protocol: "raft".into(),
        nodes: Some(3),
        clients: Some(2),
        seed: 9,
        bugs: vec!["forget-vote".into()],
        trace_hash: "00ff00ff00ff00ff".into(),
        events: 100,
        steps: 90,
        peak_pending_events: 12,
        peak_messages_in_flight: 7,
        notes: vec!["timeline.jsonl was cut at 64 MiB (limits.output_bytes)".into()],
        sim_seconds: 2.5,
        wall_seconds: 0.25,
        stop: "stopped at the first violation".into(),
        ops: 4,
        latency: [("read".to_string(), LatencyQuantilesMs { p50: 1.5, p90: 2.0, p99: 3.0, max: 4.0 })].into(),
        checks: [("election-safety".to_string(), "fail".to_string())].into(),
        violation: Some(Violation {
            check: "election-safety".into(),
            time_ns: 2_500_000_000,
            event_index: Some(99),
            node: Some(2),
            detail: "two leaders in term 3".into(),
            faults_before: vec![crash.clone()],
        }),
        messages: MessageStats { sent: 10, delivered: 7, lost: 1, cut: 1, down: 0, duplicated: 1, late: 2 },
        faults: vec![crash, a_pause()],
        reproduce: "faultline run s.json --seed 9".into(),
        lin_violation: None,
        lin_culprit: None,
        lin_window: None,
        protocol_stats: Default::default(),
        swarm: None,
        timeline_window_ns: None,
    }
}

fn a_pause() -> FaultWindow {
    FaultWindow {
        kind: "pause".into(),
        nodes: vec![0],
        detail: "pause n0".into(),
        start_ns: 2_000_000_000,
        end_ns: None,
    }
}

#[test]
fn a_summary_reads_back_as_written() {
    let summary = a_summary();
    let text = serde_json::to_string_pretty(&summary).unwrap();
    assert_eq!(serde_json::from_str::<Summary>(&text).unwrap(), summary, "{text}");
    let keys: Vec<String> = parse_json(&text).as_object().unwrap().keys().cloned().collect();
    // `lin_*` are only written when present.
    assert!(!keys.iter().any(|k| k.starts_with("lin_")), "{keys:?}");
    let clean = Summary { violation: None, ..summary };
    let text = serde_json::to_string_pretty(&clean).unwrap();
    assert_eq!(parse_json(&text)["violation"], Value::Null, "no violation is written as null");
    assert_eq!(serde_json::from_str::<Summary>(&text).unwrap(), clean);
}

#[test]
fn an_older_summary_still_reads() {
    // No nodes, clients, `messages.late` or `violation.faults_before`, and a `null` quantile.
    let text = r#"{"scenario":"old","seed":1,"latency":{"read":{"p50":null,"p90":1,"p99":1,"max":1}},
        "messages":{"sent":3},"violation":{"check":"c","time_ns":5,"detail":"d"},"future_key":true}"#;
    let summary: Summary = serde_json::from_str(text).unwrap();
    assert_eq!((summary.nodes, summary.clients, summary.messages.late, summary.messages.sent), (None, None, 0, 3));
    assert_eq!(summary.latency["read"].p50, 0.0);
    assert!(summary.violation.unwrap().faults_before.is_empty());
}

#[test]
fn a_real_summary_reads_with_the_type_that_wrote_it() {
    let text = read("summary.json");
    let summary: Summary = serde_json::from_str(&text).unwrap();
    assert_eq!(parse_json(&serde_json::to_string_pretty(&summary).unwrap()), parse_json(&text));
    assert_eq!((summary.scenario.as_str(), summary.protocol.as_str(), summary.nodes), ("raft-calm", "raft", Some(5)));
    assert!(summary.ops > 0 && summary.messages.sent > 0 && summary.violation.is_none());
    let keys: Vec<String> = parse_json(&text).as_object().unwrap().keys().cloned().collect();
    for key in [
        "scenario",
        "protocol",
        "nodes",
        "clients",
        "seed",
        "bugs",
        "trace_hash",
        "events",
        "steps",
        "sim_seconds",
        "wall_seconds",
        "stop",
        "ops",
        "latency",
        "checks",
        "violation",
        "messages",
        "faults",
        "reproduce",
    ] {
        assert!(keys.iter().any(|k| k == key), "summary.json lacks {key}: {keys:?}");
    }
    assert!(parse_json(&text)["messages"].get("late").is_some());
}

// ---- history.jsonl ----

fn history_lines() -> Vec<HistoryLine<'static>> {
    vec![
        HistoryLine {
            key: Some("k0".into()),
            time: Some(12_000_000),
            ..HistoryLine::new(0, LineKind::Invoke, "read", Value::Null)
        },
        HistoryLine {
            key: Some("k0".into()),
            time: Some(15_000_000),
            ..HistoryLine::new(0, LineKind::Ok, "read", json!(3))
        },
        HistoryLine { key: Some("k1".into()), ..HistoryLine::new(1, LineKind::Invoke, "cas", json!([null, 4])) },
        HistoryLine::new(1, LineKind::Info, "cas", json!([null, 4])),
        // Any vocabulary: a lock's acquire with an object value and no key.
        HistoryLine::new(2, LineKind::Fail, "acquire", json!({"fence": 7, "owner": "n1"})),
    ]
}

#[test]
fn a_history_line_reads_back_as_written() {
    for line in history_lines() {
        let text = line.to_json();
        let back: HistoryLine<'_> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(back, line, "{text}");
        assert_eq!(back.to_json(), text);
    }
    assert_eq!(
        history_lines()[0].to_json(),
        r#"{"process":0,"type":"invoke","f":"read","key":"k0","value":null,"time":12000000}"#
    );
    assert_eq!(history_lines()[3].to_json(), r#"{"process":1,"type":"info","f":"cas","value":[null,4]}"#);
}

#[test]
fn a_history_line_names_what_is_wrong_and_keeps_unknown_fields_for_the_reader() {
    let line: HistoryLine<'_> =
        serde_json::from_str(r#"{"process":1,"type":"ok","value":1,"server":3,"f":null,"key":null,"time":null}"#)
            .unwrap();
    assert_eq!(line.unknown_fields, ["server"]);
    assert_eq!((line.f, line.key, line.time), (None, None, None));
    for (text, message) in [
        (r#"{"process":-1,"type":"ok"}"#, "process must be a non-negative integer, not -1"),
        (r#"{"process":1,"type":"start"}"#, "unknown type \"start\""),
        (r#"{"process":1,"type":3}"#, "type must be a string, not 3"),
        (r#"{"process":1,"type":"ok","f":4}"#, "f must be a string, not 4"),
        (r#"{"process":1,"type":"ok","key":[1]}"#, "key must be a string, not [1]"),
        (r#"{"process":1,"type":"ok","time":1.5}"#, "time must be a non-negative integer, not 1.5"),
        (r#"{"process":1,"process":2,"type":"ok"}"#, "duplicate field \"process\""),
        (r#"{"type":"ok"}"#, "missing field \"process\""),
        (r#"{"process":1}"#, "missing field \"type\""),
        ("[1, 2]", "expected a JSON object"),
    ] {
        let error = serde_json::from_str::<HistoryLine<'_>>(text).expect_err(text).to_string();
        assert!(error.contains(message), "{text}: {error}");
    }
}

#[test]
fn a_real_history_reads_with_the_type_that_wrote_it() {
    let text = read("history.jsonl");
    for (index, raw) in text.lines().enumerate() {
        let line: HistoryLine<'_> = serde_json::from_str(raw).unwrap_or_else(|e| panic!("line {}: {e}", index + 1));
        assert_eq!(line.to_json(), raw, "line {}", index + 1);
        assert!(line.key.is_some() && line.time.is_some() && line.unknown_fields.is_empty(), "line {}", index + 1);
    }
    // Both readers of the format take it: the checker and the report.
    let history = faultline::check::lin::parse_history(&text).expect("the checker reads it");
    let ops = faultline::report::data::parse_history(&text).expect("the report reads it");
    assert_eq!(history.len(), ops.len());
    assert!(!ops.is_empty());
    // The witness writer uses the same type, keeps the times it read, and
    // the checker reads its output back to the same ops.
    let again = faultline::check::lin::parse_history(&history.to_jsonl()).unwrap();
    assert_eq!(again.len(), history.len());
    assert!(again.ops().iter().zip(history.ops()).all(|(a, b)| a.meta == b.meta));
    for raw in history.to_jsonl().lines() {
        let line: HistoryLine<'_> = serde_json::from_str(raw).unwrap();
        assert_eq!((line.to_json().as_str(), line.time.is_some()), (raw, true));
    }
}

#[test]
fn the_report_reads_any_history_the_format_allows() {
    let text = [
        r#"{"process":0,"type":"invoke","f":"acquire","value":{"owner":"n0"},"time":5,"note":"unknown fields are ignored"}"#,
        r#"{"process":0,"type":"ok","value":[1,"two",null],"time":9}"#,
    ]
    .join("\n");
    let ops = faultline::report::data::parse_history(&text).unwrap();
    assert_eq!((ops.len(), ops[0].kind.name(), ops[0].complete_ns), (1, "acquire", Some(9)));
    // The checker is stricter: it knows its models' operations and fields.
    let error = faultline::check::lin::parse_history(&text).unwrap_err();
    assert_eq!((error.line, error.message.as_str()), (1, "unknown field \"note\""));
}
