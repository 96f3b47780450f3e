//! Keeps `docs/SCENARIOS.md`, the user's guide to scenario files, true to
//! what the code accepts. Every fenced `json` block on the page is fed to
//! the real binary (`faultline validate`), so an example that drifts from
//! the schema fails the build instead of misleading a reader; the page's
//! deliberate mistake must still be rejected with its field path, and every
//! name `faultline list` prints must appear on the page.
//!
//! The info string of a fenced block says what the block is:
//! - `json`: a complete scenario (it has a top-level `"protocol"`),
//!   validated as is. A `json` block without `"protocol"` is an error here:
//!   mark it as a fragment.
//! - `json fragment-KIND`: part of a scenario, placed into a minimal raft
//!   scenario ([`BASE`], 5 nodes and 2 clients, so process ids 0..7 exist)
//!   and validated. `KIND` is `fault` (one fault object, or an array of
//!   them, becomes `faults`), `latency` (becomes `network.latency`), or the
//!   name of a top-level field (`network`, `storage`, `nemesis`, `workload`,
//!   `liveness`, `options`, `bugs`, `limits`, `checks`), which the block
//!   replaces. (`validate` reads `options` too, as `run` does.)
//! - `json invalid PATH`: a complete scenario with a deliberate mistake; it
//!   must exit with code 2 and name the field `PATH` on stderr.
//!
//! Blocks with any other info string (`text`, none) are not checked.

mod common;

use std::path::PathBuf;

use serde_json::{json, Value};

/// The minimal scenario fragments are placed into.
const BASE: &str = r#"{
  "name": "docs-fragment",
  "protocol": "raft",
  "nodes": 5,
  "duration": "60s",
  "workload": { "clients": 2, "rate": 10 }
}"#;

/// Top-level fields a `fragment-KIND` block may replace.
const TOP_LEVEL: &[&str] =
    &["network", "storage", "faults", "nemesis", "workload", "checks", "liveness", "options", "bugs", "limits"];

/// One fenced code block of the page.
struct Block {
    /// The file the block comes from (the page, or this test for planted mistakes).
    origin: &'static str,
    /// 1-based line of the opening fence.
    line: usize,
    /// The info string after the fence, trimmed.
    info: String,
    /// The text between the fences.
    body: String,
}

impl Block {
    /// Where the block is, for assertion messages.
    fn at(&self) -> String {
        format!("{}:{} (```{})", self.origin, self.line, self.info)
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{}: not valid JSON: {e}", self.at()))
    }
}

/// Every fenced block of `docs/SCENARIOS.md`.
fn blocks() -> Vec<Block> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/SCENARIOS.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match open.take() {
            None if fence => {
                let info = line.trim_start().trim_start_matches('`').trim().to_string();
                open = Some(Block { origin: "docs/SCENARIOS.md", line: i + 1, info, body: String::new() });
            }
            None => {}
            Some(block) if fence && line.trim() == "```" => out.push(block),
            Some(mut block) => {
                block.body.push_str(line);
                block.body.push('\n');
                open = Some(block);
            }
        }
    }
    if let Some(block) = open {
        panic!("{}: the code block is never closed", block.at());
    }
    out
}

/// The blocks whose info string's first word is `json`.
fn json_blocks() -> Vec<Block> {
    blocks().into_iter().filter(|b| b.info.split_whitespace().next() == Some("json")).collect()
}

/// Runs `faultline ARGS` in the test's temp folder.
fn faultline(args: &[&str]) -> common::cli::Output {
    common::cli::faultline_in(&temp_dir(), args)
}

fn temp_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("docs_scenarios");
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes `text` to a temp file named after `block` and `tag`; returns its path.
fn write_scenario(block: &Block, tag: &str, text: &str) -> String {
    let path = temp_dir().join(format!("line-{}-{tag}.json", block.line));
    std::fs::write(&path, text).expect("write the scenario");
    path.display().to_string()
}

/// Asserts that `faultline validate` accepts `scenario`, written for `block`.
fn assert_valid(block: &Block, tag: &str, scenario: &str) {
    let file = write_scenario(block, tag, scenario);
    let out = faultline(&["validate", &file]);
    assert!(
        out.code == 0 && out.stdout.contains("ok"),
        "{}: `faultline validate` should accept it, got exit code {}\nstdout: {}stderr: {}scenario:\n{scenario}",
        block.at(),
        out.code,
        out.stdout,
        out.stderr
    );
}

/// Places the fragment `block` of kind `kind` into [`BASE`].
fn wrap(block: &Block, kind: &str, fragment: Value) -> Value {
    let mut scenario: Value = serde_json::from_str(BASE).expect("BASE is JSON");
    scenario["name"] = json!(format!("docs-fragment-line-{}", block.line));
    match kind {
        "fault" => {
            let faults = if fragment.is_array() { fragment } else { json!([fragment]) };
            scenario["faults"] = faults;
        }
        "latency" => scenario["network"] = json!({ "latency": fragment }),
        _ if TOP_LEVEL.contains(&kind) => scenario[kind] = fragment,
        _ => panic!(
            "{}: unknown fragment kind {kind:?}: expected fault, latency or one of {}",
            block.at(),
            TOP_LEVEL.join(", ")
        ),
    }
    scenario
}

#[test]
fn complete_scenarios_validate() {
    for block in json_blocks() {
        let known =
            block.info == "json" || block.info.starts_with("json fragment-") || block.info.starts_with("json invalid");
        assert!(known, "{}: expected `json`, `json fragment-KIND` or `json invalid PATH`", block.at());
    }
    let complete: Vec<Block> = json_blocks().into_iter().filter(|b| b.info == "json").collect();
    assert!(complete.len() >= 2, "docs/SCENARIOS.md: expected complete scenarios, found {}", complete.len());
    for block in &complete {
        let value = block.json();
        assert!(
            value.get("protocol").is_some(),
            "{}: a `json` block must be a complete scenario with a top-level \"protocol\"; \
             mark a part of a scenario as `json fragment-KIND`",
            block.at()
        );
        assert_valid(block, "complete", &block.body);
    }
}

#[test]
fn fragments_validate_inside_a_minimal_scenario() {
    let mut count = 0;
    for block in json_blocks() {
        let Some(kind) = block.info.strip_prefix("json fragment-") else { continue };
        let kind = kind.trim();
        count += 1;
        let scenario = wrap(&block, kind, block.json());
        let text = serde_json::to_string_pretty(&scenario).expect("serialise");
        assert_valid(&block, "fragment", &text);
    }
    assert!(count >= 20, "docs/SCENARIOS.md: expected at least 20 fragment blocks, found {count}");
}

#[test]
fn the_deliberate_mistake_is_rejected_naming_its_field() {
    let invalid: Vec<Block> = json_blocks().into_iter().filter(|b| b.info.starts_with("json invalid")).collect();
    assert!(!invalid.is_empty(), "docs/SCENARIOS.md: expected a `json invalid PATH` block");
    for block in &invalid {
        let path = block.info["json invalid".len()..].trim();
        assert!(!path.is_empty(), "{}: say which field is wrong: `json invalid PATH`", block.at());
        let file = write_scenario(block, "invalid", &block.body);
        let out = faultline(&["validate", &file]);
        assert_eq!(
            out.code,
            2,
            "{}: expected exit code 2 (bad input)\nstdout: {}stderr: {}",
            block.at(),
            out.stdout,
            out.stderr
        );
        let named = format!("{file}: field `{path}`: ");
        assert!(
            out.stderr.contains(&named),
            "{}: expected stderr to contain {named:?}, got: {}",
            block.at(),
            out.stderr
        );
        assert_eq!(
            out.stderr.trim_end().lines().count(),
            1,
            "{}: expected a one-line error, got: {}",
            block.at(),
            out.stderr
        );
    }
}

#[test]
fn a_mistake_in_a_wrapped_fragment_is_caught() {
    // The wrapping must reach the validator: fragments with a planted mistake fail where expected.
    let cases = [
        (line!(), "fault", r#"{ "at": "1s", "crash": 9 }"#, "faults[0].crash"),
        (line!(), "latency", r#"{ "dist": "uniform", "min": "5ms", "max": "1ms" }"#, "network.latency.max"),
        (line!(), "nemesis", r#"{ "kinds": ["restart"], "every": "1s" }"#, "nemesis.kinds[0]"),
        (line!(), "workload", r#"{ "clients": 2, "rate": 10, "retries": 3 }"#, "workload.retries"),
    ];
    for (line, kind, text, path) in cases {
        let block = Block {
            origin: "tests/docs_scenarios.rs",
            line: line as usize,
            info: format!("json fragment-{kind}, planted mistake"),
            body: text.into(),
        };
        let scenario = wrap(&block, kind, block.json());
        let file = write_scenario(&block, "mistake", &serde_json::to_string_pretty(&scenario).expect("serialise"));
        let out = faultline(&["validate", &file]);
        assert_eq!(out.code, 2, "{}: expected exit code 2\nstdout: {}stderr: {}", block.at(), out.stdout, out.stderr);
        assert!(
            out.stderr.contains(&format!("field `{path}`")),
            "{}: expected the error to name `{path}`, got: {}",
            block.at(),
            out.stderr
        );
    }
}

#[test]
fn every_name_faultline_list_prints_is_documented() {
    let out = faultline(&["list"]);
    assert_eq!(out.code, 0, "faultline list: {}", out.stderr);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/SCENARIOS.md");
    let page = std::fs::read_to_string(&path).expect("read docs/SCENARIOS.md");
    let mut names = Vec::new();
    let mut section = "";
    for line in out.stdout.lines() {
        let trimmed = line.trim();
        let indent = line.len() - line.trim_start().len();
        if let Some(rest) =
            trimmed.strip_prefix("scripted faults: ").or_else(|| trimmed.strip_prefix("latency distributions: "))
        {
            // `crash (+restart_after)` names `crash`.
            names.extend(rest.split(", ").filter_map(|item| item.split_whitespace().next()).map(str::to_string));
        } else if trimmed.ends_with(':') {
            section = trimmed;
        } else {
            let first = trimmed.split_whitespace().next().unwrap_or_default().to_string();
            match (section, indent) {
                // Protocol names (indent 2) come between their checks and bugs (indent 6).
                ("protocols:" | "checks:" | "bugs:", 2) | ("checks:" | "bugs:", 6) | ("nemesis kinds:", 2) => {
                    names.push(first)
                }
                _ => {}
            }
        }
    }
    assert!(names.len() >= 20, "expected the names of `faultline list`, parsed only {names:?} from:\n{}", out.stdout);
    for name in names {
        assert!(
            page.contains(&format!("`{name}`")),
            "docs/SCENARIOS.md: `{name}` (from `faultline list`) is not documented"
        );
    }
}
