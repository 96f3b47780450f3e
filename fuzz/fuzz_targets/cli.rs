//! Fuzz target: argument vectors through clap and the CLI's dispatch, in
//! process ([`faultline::cli::main_args`]).
//!
//! Inputs decode into an argv: mostly a subcommand followed by tokens drawn
//! from the CLI's own flags, small fixture files and extreme values (0, -1,
//! 2^32, 2^64 - 1, "0s..2562047h", ...), sometimes fully arbitrary strings.
//! Every command must return an exit code in {0, 1, 2, 3}; a panic is a
//! finding. Only commands that finish quickly run: `validate`, `check`,
//! `list`, `plot` on a saved run, help, and `run`/`sweep` of two tiny
//! scenarios (200 ms and 500 ms simulated) with at most three seeds; `bench`
//! and long sweeps are skipped. Everything is written inside a temporary
//! folder: the fixture names are made paths in it, every command that writes
//! gets an output there, and an argument naming any other path is not used
//! (the current directory stays libFuzzer's, for its corpus).
#![no_main]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;

const TINY: &str = r#"{ "name": "tiny", "protocol": "tickets", "nodes": 3, "duration": "200ms" }"#;

const TINY_RAFT: &str = r#"{
  "name": "tiny-raft", "protocol": "raft", "nodes": 3, "duration": "500ms",
  "workload": { "clients": 2, "rate": 50, "keys": 2, "mix": { "read": 1, "write": 1, "cas": 1 }, "timeout": "50ms" },
  "faults": [ { "at": "100ms", "crash": 0, "restart_after": "100ms" },
              { "at": "200ms", "partition": [[0], [1, 2]], "for": "100ms" } ],
  "nemesis": { "kinds": ["pause", "skew", "jump"], "every": "100ms" },
  "liveness": { "within_after_heal": "100ms" },
  "options": { "election_timeout": ["20ms", "40ms"], "heartbeat": "5ms" },
  "limits": { "steps": 200000 }
}"#;

const BAD: &str = r#"{ "name": "bad", "protocol": "raft", "nodes": 0, "duration": "1s" }"#;

const LIN: &str = r#"{"process": 0, "type": "invoke", "f": "write", "key": "k0", "value": 1}
{"process": 0, "type": "ok", "f": "write", "key": "k0", "value": 1}
{"process": 1, "type": "invoke", "f": "read", "key": "k0", "value": null}
{"process": 1, "type": "ok", "f": "read", "key": "k0", "value": 1}
"#;

const NONLIN: &str = r#"{"process": 0, "type": "invoke", "f": "write", "value": 1}
{"process": 0, "type": "ok", "f": "write", "value": 1}
{"process": 1, "type": "invoke", "f": "read", "value": null}
{"process": 1, "type": "ok", "f": "read", "value": 2}
{"process": 2, "type": "invoke", "f": "cas", "value": [1, 2]}
{"process": 2, "type": "info", "f": "cas", "value": [1, 2]}
"#;

const MALFORMED: &str =
    "{\"process\": 0, \"type\": \"invoke\", \"f\": \"write\", \"value\": 1}\n{\"process\": 0, \"type\": \"ok\"";

/// Files written into the fuzzing folder before every input (an input may
/// have overwritten one, e.g. with `--witness tiny.json`).
const FILES: [(&str, &str); 6] = [
    ("tiny.json", TINY),
    ("tiny-raft.json", TINY_RAFT),
    ("bad.json", BAD),
    ("lin.jsonl", LIN),
    ("nonlin.jsonl", NONLIN),
    ("malformed.jsonl", MALFORMED),
];

/// Names an argument may use as a file or folder.
const PATHS: [&str; 12] = [
    "tiny.json",
    "tiny-raft.json",
    "bad.json",
    "missing.json",
    "lin.jsonl",
    "nonlin.jsonl",
    "malformed.jsonl",
    "r1",
    "o",
    ".",
    "",
    "w.jsonl",
];

/// Output folders and files an input may write to (anything else becomes `o`).
const OUTPUTS: [&str; 5] = ["o", "r1", ".", "w.jsonl", "tiny.json"];

const SUBCOMMANDS: [&str; 12] =
    ["validate", "check", "list", "run", "sweep", "plot", "help", "--help", "-h", "--version", "frobnicate", "Run"];

const FLAGS: [&str; 18] = [
    "--seed",
    "--out",
    "--trace",
    "--timeline",
    "--bug",
    "--no-bugs",
    "--seeds",
    "--jobs",
    "--stop-on-failure",
    "--model",
    "--time-limit",
    "--witness",
    "--compare",
    "--help",
    "--",
    "-",
    "--repeat",
    "--check-determinism",
];

const VALUES: [&str; 39] = [
    "0",
    "1",
    "-1",
    "2",
    "3",
    "1024",
    "1025",
    "4294967296",
    "9007199254740992",
    "18446744073709551615",
    "18446744073709551614",
    "18446744073709551616",
    "1e308",
    "NaN",
    "0s",
    "1ns",
    "99999999h",
    "2562047h",
    "-5s",
    "10ms",
    "0s..2562047h",
    "3s..5s",
    "5s..3s",
    "0s..0s",
    "100ms..200ms",
    "0..2",
    "0..0",
    "2..1",
    "18446744073709551613..18446744073709551615",
    "18446744073709551614..18446744073709551615",
    "18446744073709551615..18446744073709551615",
    "register",
    "kv",
    "stale-local-read",
    "reply-before-sync",
    "no-dedup",
    "none",
    "\u{0}",
    "ráft",
];

/// Most seeds a sweep may run here (each run of a fixture is a few ms).
const SEEDS_MAX: u64 = 3;

type Protocols = Vec<&'static dyn faultline::kit::AnyProtocol>;

/// The fuzzing folder and the protocols, set up once.
fn setup() -> &'static (PathBuf, Protocols) {
    static SETUP: OnceLock<(PathBuf, Protocols)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let dir: PathBuf = std::env::temp_dir().join(format!("faultline-fuzz-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the fuzzing folder");
        (dir, faultline::protocols::builtin())
    })
}

fn token(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=9u8)? {
        0 | 1 => u.choose(&PATHS)?.to_string(),
        2..=4 => u.choose(&FLAGS)?.to_string(),
        5..=7 => u.choose(&VALUES)?.to_string(),
        8 => format!("{}={}", u.choose(&FLAGS)?, u.choose(&VALUES)?),
        _ => String::arbitrary(u)?,
    })
}

fn argv(u: &mut Unstructured<'_>) -> Result<Vec<String>> {
    let mut args = Vec::new();
    let arbitrary = u.ratio(1, 8)?;
    if !arbitrary {
        args.push(u.choose(&SUBCOMMANDS)?.to_string());
    }
    for _ in 0..u.int_in_range(0..=8u8)? {
        args.push(if arbitrary { String::arbitrary(u)? } else { token(u)? });
    }
    Ok(args)
}

/// The value of `--flag V` or `--flag=V` at position `i`, if that is one.
fn flag_value<'a>(args: &'a [String], i: usize, flag: &str) -> Option<&'a str> {
    let a = args[i].as_str();
    if a == flag {
        args.get(i + 1).map(String::as_str)
    } else {
        a.strip_prefix(flag).and_then(|rest| rest.strip_prefix('='))
    }
}

/// Makes `args` safe and quick to run, or says to skip it: no path but the
/// fixtures' in `dir`, outputs go to a few fixed names there, no `bench`, and
/// a sweep runs at most [`SEEDS_MAX`] seeds.
fn tame(mut args: Vec<String>, dir: &Path) -> Option<Vec<String>> {
    let outside = |a: &str| a.contains(['/', '\\']) || a.split('=').any(|part| part == "..");
    if args.iter().any(|a| outside(a) || a == "bench") {
        return None;
    }
    for i in 0..args.len() {
        for flag in ["--out", "--witness"] {
            if args[i] == flag && i + 1 < args.len() && !OUTPUTS.contains(&args[i + 1].as_str()) {
                args[i + 1] = "o".into();
            }
            let prefix = format!("{flag}=");
            if args[i].strip_prefix(&prefix).is_some_and(|v| !OUTPUTS.contains(&v)) {
                args[i] = format!("{prefix}o");
            }
        }
    }
    let has = |args: &[String], word: &str| args.iter().any(|a| a == word);
    if has(&args, "sweep") {
        let seeds = (0..args.len()).find_map(|i| flag_value(&args, i, "--seeds"))?;
        if faultline::explore::sweep::parse_seeds(seeds).is_ok_and(|r| r.end - r.start > SEEDS_MAX) {
            return None;
        }
    }
    // Every command that writes somewhere by default is told where.
    for (command, flag, value) in
        [("run", "--out", "o"), ("sweep", "--out", "o"), ("plot", "--out", "o"), ("check", "--witness", "w.jsonl")]
    {
        if has(&args, command) && !args.iter().any(|a| a == flag || a.starts_with(&format!("{flag}="))) {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    // The fixture names become paths in the fuzzing folder.
    let place =
        |name: &str| if PATHS.contains(&name) && !name.is_empty() { path_in(dir, name) } else { name.to_string() };
    let args = args
        .iter()
        .map(|a| match a.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => format!("{flag}={}", place(value)),
            _ => place(a),
        })
        .collect();
    Some(args)
}

fn path_in(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().expect("a UTF-8 temporary folder").to_string()
}

fn refresh_fixtures(dir: &Path, protocols: &[&dyn faultline::kit::AnyProtocol]) {
    for (name, text) in FILES {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            let _ = std::fs::remove_dir_all(&path);
            std::fs::write(&path, text).expect("write a fixture");
        }
    }
    if !dir.join("r1/summary.json").is_file() {
        let args = ["run".to_string(), path_in(dir, "tiny-raft.json"), "--out".to_string(), path_in(dir, "r1")];
        let argv = std::iter::once("faultline".to_string()).chain(args).map(OsString::from);
        faultline::cli::main_args(protocols, "faultline", argv);
    }
}

fuzz_target!(|data: &[u8]| {
    let (dir, protocols) = setup();
    let Ok(args) = argv(&mut Unstructured::new(data)) else { return };
    let Some(args) = tame(args, dir) else { return };
    refresh_fixtures(dir, protocols);
    let full = std::iter::once("faultline".to_string()).chain(args.iter().cloned()).map(OsString::from);
    let code = faultline::cli::main_args(protocols, "faultline", full);
    assert!((0..=3).contains(&code), "exit code {code} for {args:?}");
});
