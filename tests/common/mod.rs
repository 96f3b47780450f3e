//! Shared builders of synthetic run folders for the integration tests: each
//! test writes its own files into a fresh folder under cargo's test tmpdir,
//! so tests never share state and need no temp-dir crate.
#![allow(dead_code)]

pub mod cli;
pub mod seeds;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A fresh, empty folder named after the test.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A summary.json text with the given faults (JSON array text), checks and violation.
pub fn summary_json(faults: &str, checks: &str, violation: &str) -> String {
    format!(
        r#"{{"scenario":"synthetic","protocol":"kv","seed":42,"bugs":[],"trace_hash":"00ff00ff00ff00ff",
"events":1000,"steps":900,"sim_seconds":10.0,"wall_seconds":0.5,"stop":"reached its duration","ops":6,
"latency":{{"read":{{"p50":1.0,"p90":2.0,"p99":3.0,"max":4.0}}}},"checks":{checks},"violation":{violation},
"messages":{{"sent":10,"delivered":8,"lost":1,"cut":1,"down":0,"duplicated":1}},"faults":{faults},
"reproduce":"faultline run scenarios/synthetic.json --seed 42","nodes":3,"clients":2}}"#
    )
}

/// Three fault windows, the last one open-ended.
pub const THREE_FAULTS: &str = r#"[{"kind":"crash","nodes":[0],"detail":"crash n0","start_ns":1000000000,"end_ns":2000000000},
{"kind":"partition","nodes":[0,1,2],"detail":"partition [[0],[1,2]]","start_ns":3000000000,"end_ns":4000000000},
{"kind":"pause","nodes":[1],"detail":"pause n1","start_ns":8000000000,"end_ns":null}]"#;

/// A history line.
pub fn line(process: u64, kind: &str, f: &str, time_ns: u64) -> String {
    format!(r#"{{"process":{process},"type":"{kind}","f":"{f}","key":"k1","value":1,"time":{time_ns}}}"#)
}

/// A history with ops of every outcome in `outcomes` ("ok", "fail", "info"),
/// cycling kinds, plus one invoke that never completes.
pub fn history(outcomes: &[&str], count: usize) -> String {
    let kinds = ["read", "write", "cas", "append"];
    let mut out = String::new();
    for index in 0..count {
        let start = 1_000_000 + index as u64 * 9_000_000;
        let f = kinds[index % kinds.len()];
        let outcome = outcomes[index % outcomes.len()];
        let latency = 1_000_000 + (index as u64 * 7_919 % 50) * 1_000_000;
        writeln!(out, "{}", line(index as u64 % 3, "invoke", f, start)).unwrap();
        writeln!(out, "{}", line(index as u64 % 3, outcome, f, start + latency)).unwrap();
    }
    writeln!(out, "{}", line(100, "invoke", "write", 9_000_000_000)).unwrap();
    out
}

/// Writes a run folder: summary.json and, when given, history.jsonl and timeline.jsonl.
pub fn write_run(dir: &Path, summary: &str, history: Option<&str>, timeline: Option<&str>) {
    std::fs::write(dir.join("summary.json"), summary).unwrap();
    if let Some(history) = history {
        std::fs::write(dir.join("history.jsonl"), history).unwrap();
    }
    if let Some(timeline) = timeline {
        std::fs::write(dir.join("timeline.jsonl"), timeline).unwrap();
    }
}

/// Parses an SVG (or the XML-compatible HTML report) and returns the document,
/// panicking with the parser's message if it is malformed.
pub fn parse_xml(text: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    roxmltree::Document::parse_with_options(text, options)
        .unwrap_or_else(|error| panic!("not well-formed XML: {error}"))
}

/// Elements with the given class token.
pub fn count_class(doc: &roxmltree::Document, class: &str) -> usize {
    doc.descendants()
        .filter(|node| node.attribute("class").is_some_and(|classes| classes.split_whitespace().any(|c| c == class)))
        .count()
}

/// All text content of `<text>` elements, in document order.
pub fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|node| node.has_tag_name("text"))
        .map(|node| node.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect::<String>())
        .collect()
}
