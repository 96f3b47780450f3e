//! Mutation tests of the CLI's input layers, in the ordinary suite (the
//! `fuzz/` targets explore further; see the README's "Fuzzing" section).
//!
//! From one fixed seed, thousands of broken inputs are made from the real
//! ones: scenario files from `scenarios/` with fields deleted, wrong types,
//! extreme numbers, unknown and duplicated fields, truncated or deeply
//! nested JSON, out-of-range node ids, huge node counts, weird durations and
//! names; histories from the shared Porcupine corpus and `tests/fixtures/`
//! with truncated lines, wrong types, huge process ids, unknown `f`s,
//! unpaired and duplicated events. Each goes through the CLI in process
//! ([`faultline::cli::main_args`]): every scenario through `validate`, a
//! bounded copy (at most 2 s, 7 nodes, 3 clients, 10,000 steps) of each
//! valid one and of one in ten of the others through `run` (one in twenty
//! of those through `sweep` instead), every history through `check` with a
//! small time limit. Each must end with an exit code in {0, 1, 2, 3} and
//! without a panic; a mutant that `validate` refuses must be refused by `run`
//! too. The panics the bad-input issue listed are explicit cases.
//!
//! A failure prints the mutant and the command that replays it, with the
//! mutant saved under `target/tmp/fuzz_mutants/failures/`. The CLI writes to
//! the process's stdout, so each call points file descriptor 1 (and 2, with
//! `--nocapture`) at files while it runs (unix only), one call at a time.
//! Should the whole process die (an abort on a giant allocation),
//! `target/tmp/fuzz_mutants/last-call.txt` names the last call; its input
//! file is still in place.
#![cfg(unix)]

use std::ffi::OsString;
use std::fs::File;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

use faultline::runner::{Overrides, Prepared};
use faultline::scenario::Scenario;
use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

/// The seed every corpus is generated from.
const SEED: u64 = 0x0fa5_171e;

/// How many scenario mutants go through `validate`.
const SCENARIO_MUTANTS: usize = 2_400;

/// How many history mutants go through `check`.
const HISTORY_MUTANTS: usize = 1_200;

/// One in this many mutants that `validate` refuses also goes through `run`.
const RUN_EVERY_INVALID: usize = 10;

/// One in this many runs is a `sweep` instead.
const SWEEP_EVERY_RUN: usize = 20;

/// The bounds of a mutant's run: simulated duration, nodes, clients, rate, steps.
const RUN_DURATION: &str = "2s";
const RUN_DURATION_NS: i64 = 2_000_000_000;
const RUN_NODES_MAX: u64 = 7;
const RUN_CLIENTS_MAX: u64 = 3;
const RUN_RATE_MAX: f64 = 200.0;
const RUN_STEPS_MAX: u64 = 10_000;

/// Longest one CLI call may take before it counts as a hang.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Panics found by this test in code others own (the kernel in `src/sim/`,
/// the checker in `src/check/`), tolerated until fixed there: a substring of
/// the panic message, and its reproducer. Empty means none is known.
const KNOWN_PANICS_TO_FIX: &[(&str, &str)] = &[];

// ---------------------------------------------------------------------------
// The CLI in process.

/// What one CLI call did.
struct Call {
    /// The exit code, or the panic (or hang) that prevented one.
    code: Result<i32, String>,
    /// What it printed on stdout.
    stdout: String,
    /// How long it took.
    seconds: f64,
}

/// One CLI call at a time: file descriptors 1 and 2 are process-wide.
static CLI_LOCK: Mutex<()> = Mutex::new(());

/// Panic messages raised by CLI calls (on their worker thread or threads
/// it spawned), collected by the panic hook instead of printed.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Name of the thread a CLI call runs on.
const WORKER: &str = "fuzz-mutants-cli";

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // A CLI call's thread, or an unnamed one it spawned (sweep workers):
            // keep the message for the report. Anything else: the usual hook.
            let name = std::thread::current().name().map(str::to_string);
            if name.is_none() || name.as_deref() == Some(WORKER) {
                PANICS.lock().unwrap_or_else(PoisonError::into_inner).push(info.to_string());
            } else {
                default(info);
            }
        }));
    });
}

/// Points file descriptor 1 (and 2, when the test harness does not capture
/// output) at files until dropped.
struct Redirect {
    saved: Vec<(std::os::raw::c_int, std::os::raw::c_int)>,
}

mod libc {
    use std::os::raw::c_int;
    extern "C" {
        pub fn dup(fd: c_int) -> c_int;
        pub fn dup2(src: c_int, dst: c_int) -> c_int;
        pub fn close(fd: c_int) -> c_int;
    }
}

impl Redirect {
    fn to(stdout: &File, stderr: &File) -> Redirect {
        use std::os::fd::AsRawFd;
        let _ = std::io::stdout().flush();
        // Captured, the CLI's `eprintln!`s go to the harness, not to fd 2:
        // leave fd 2 alone then, so an abort's last words stay visible.
        let nocapture = std::env::args().any(|a| a == "--nocapture")
            || std::env::var("RUST_TEST_NOCAPTURE").is_ok_and(|v| v != "0");
        let mut targets = vec![(1, stdout.as_raw_fd())];
        if nocapture {
            targets.push((2, stderr.as_raw_fd()));
        }
        // SAFETY: dup and dup2 on open descriptors; the saved copies are
        // restored and closed exactly once, in drop.
        let saved = targets
            .into_iter()
            .map(|(fd, file)| unsafe {
                let copy = libc::dup(fd);
                assert!(copy >= 0 && libc::dup2(file, fd) >= 0, "dup or dup2 failed");
                (fd, copy)
            })
            .collect();
        Redirect { saved }
    }
}

impl Drop for Redirect {
    fn drop(&mut self) {
        let _ = std::io::stdout().flush();
        for &(fd, copy) in &self.saved {
            // SAFETY: see `Redirect::to`.
            unsafe {
                libc::dup2(copy, fd);
                libc::close(copy);
            }
        }
    }
}

/// The test's scratch folder (fresh per test function).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz_mutants").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch folder");
    dir
}

/// Runs `faultline ARGS` in process with output going to files in `dir`.
fn cli(dir: &Path, args: &[String]) -> Call {
    install_panic_hook();
    let _one_at_a_time = CLI_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    PANICS.lock().unwrap_or_else(PoisonError::into_inner).clear();
    let (out_path, err_path) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let (out, err) = (File::create(&out_path).expect("stdout file"), File::create(&err_path).expect("stderr file"));
    // If the whole process dies (an abort on a giant allocation, a stack
    // overflow), this file names the call; its input file is still there.
    let breadcrumb = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz_mutants").join("last-call.txt");
    let _ = std::fs::write(&breadcrumb, format!("cargo run --release -- {}\n", args.join(" ")));
    let (send, receive) = mpsc::channel();
    let redirect = Redirect::to(&out, &err);
    let argv: Vec<OsString> =
        std::iter::once("faultline").chain(args.iter().map(String::as_str)).map(OsString::from).collect();
    std::thread::Builder::new()
        .name(WORKER.into())
        .spawn(move || {
            let protocols = faultline::protocols::builtin();
            let code = catch_unwind(AssertUnwindSafe(|| faultline::cli::main_args(&protocols, "faultline", argv)));
            let _ = send.send(code.ok());
        })
        .expect("spawn the CLI thread");
    let started = Instant::now();
    let answer = receive.recv_timeout(CALL_TIMEOUT);
    let seconds = started.elapsed().as_secs_f64();
    drop(redirect);
    let panics = || PANICS.lock().unwrap_or_else(PoisonError::into_inner).join("\n");
    let code = match answer {
        Ok(Some(code)) => Ok(code),
        Ok(None) => Err(format!("panicked: {}", panics())),
        Err(_) => Err(format!("no exit after {CALL_TIMEOUT:?} (a hang?) {}", panics())),
    };
    Call { code, stdout: std::fs::read_to_string(&out_path).unwrap_or_default(), seconds }
}

/// A sweep catches a panic of one seed's simulation and reports it as that
/// seed's "simulator bug" result: for this test, that is a panic too.
fn sweep_call(dir: &Path, argv: &[String], sweep_dir: &Path) -> Call {
    let _ = std::fs::remove_file(sweep_dir.join("sweep.json"));
    let mut call = cli(dir, argv);
    let json = std::fs::read_to_string(sweep_dir.join("sweep.json")).unwrap_or_default();
    // The outcome of such a seed in sweep.json is exactly this string.
    if let Some(at) = json.find("\"simulator bug\"") {
        let excerpt: String = json[at..].chars().take(600).collect();
        call.code = Err(format!("a seed's simulation panicked (sweep.json): {excerpt}"));
    }
    call
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn path_arg(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

// ---------------------------------------------------------------------------
// Deterministic choices.

/// The test's one random stream.
struct Gen(ChaCha8Rng);

impl Gen {
    fn new(stream: u64) -> Gen {
        Gen(ChaCha8Rng::seed_from_u64(SEED ^ stream))
    }

    /// A uniform index below `n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        assert!(n > 0);
        (self.0.next_u64() % n as u64) as usize
    }

    /// True one time in `n`.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn word(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len())]
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------------------
// Failures, reported with their reproducers.

/// The failures of one test, printed together at its end.
struct Failures {
    dir: PathBuf,
    list: Vec<String>,
    known: Vec<String>,
    summary: String,
}

impl Failures {
    fn new(test: &str) -> Failures {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz_mutants").join("failures").join(test);
        let _ = std::fs::remove_dir_all(&dir);
        Failures { dir, list: Vec::new(), known: Vec::new(), summary: String::new() }
    }

    /// Checks one call: no panic, an exit code in 0..=3 (or exactly `expect`).
    /// `input` (file name, text) is saved and printed on failure; `what`
    /// says how it was made.
    fn check(&mut self, call: &Call, argv: &[String], input: Option<(&str, &str)>, what: &str, expect: Option<i32>) {
        let problem = match &call.code {
            Err(panic) => panic.clone(),
            Ok(code) if !(0..=3).contains(code) => format!("exit code {code}, expected 0, 1, 2 or 3"),
            Ok(code) if expect.is_some_and(|e| e != *code) => format!("exit code {code}, expected {expect:?}"),
            Ok(_) => return,
        };
        let mut argv = argv.to_vec();
        let mut report = format!("{what}\n  problem: {problem}\n");
        if let Some((name, text)) = input {
            std::fs::create_dir_all(&self.dir).expect("failures folder");
            let saved = self.dir.join(format!("{}-{name}", self.list.len() + self.known.len()));
            std::fs::write(&saved, text).expect("save the mutant");
            for a in argv.iter_mut().filter(|a| a.ends_with(name)) {
                *a = path_arg(&saved);
            }
            let shown: String = text.chars().take(1500).collect();
            let cut =
                if shown.len() < text.len() { format!(" ... ({} bytes in all)", text.len()) } else { String::new() };
            report.push_str(&format!("  input: {shown}{cut}\n"));
        }
        report.push_str(&format!("  reproduce: cargo run --release -- {}\n", argv.join(" ")));
        match KNOWN_PANICS_TO_FIX.iter().find(|(needle, _)| problem.contains(needle)) {
            Some(_) => self.known.push(report),
            None => self.list.push(report),
        }
    }
}

// ---------------------------------------------------------------------------
// JSON locations.

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// Every location in `v` except the root, parents before children.
fn locations(v: &Value) -> Vec<Vec<Step>> {
    fn walk(v: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    here.push(Step::Key(k.clone()));
                    out.push(here.clone());
                    walk(child, here, out);
                    here.pop();
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    here.push(Step::Index(i));
                    out.push(here.clone());
                    walk(child, here, out);
                    here.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

fn at<'a>(v: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, step| match step {
        Step::Key(k) => v.get(k.as_str()),
        Step::Index(i) => v.get(*i),
    })
}

fn at_mut<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, step| match step {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::Index(i) => v.get_mut(*i),
    })
}

fn describe(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) if s.is_empty() => s.push_str(k),
            Step::Key(k) => s.push_str(&format!(".{k}")),
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

/// A placeholder string replaced in the text after serialising (for JSON
/// no `Value` can hold: deep nesting, NaN, out-of-range literals).
const RAW: &str = "\u{1}raw\u{1}";
const RAW_JSON: &str = "\"\\u0001raw\\u0001\"";

/// Nested arrays (or objects) `depth` deep around `1`.
fn nested(depth: usize, objects: bool) -> String {
    if objects {
        format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
    } else {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    }
}

/// Literals that are not valid JSON numbers, or numbers out of every range.
const RAW_LITERALS: &[&str] = &[
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "01",
    "0x10",
    "18446744073709551616",
    "-9223372036854775809",
    "1.7976931348623157e309",
    "-0",
    "1.",
    ".5",
    "+1",
    "undefined",
    "True",
];

/// Values of the wrong type for almost any field.
fn wrong_types() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(false),
        json!("x"),
        json!(""),
        json!(1),
        json!(-1),
        json!(1.5),
        json!([]),
        json!({}),
        json!([1, 2]),
        json!({ "a": 1 }),
        json!([[0, 1], [2]]),
        json!(["1s"]),
    ]
}

/// Extreme numbers.
fn extremes() -> Vec<Value> {
    vec![
        json!(0),
        json!(-1),
        json!(1),
        json!(1024),
        json!(1025),
        json!(4_294_967_295u64),
        json!(4_294_967_296u64),
        json!(9_007_199_254_740_992u64),
        json!(9_007_199_254_740_993u64),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(u64::MAX - 1),
        json!(1e308),
        json!(-1e308),
        json!(5e-324),
        json!(0.5),
        json!(1e-9),
        json!(1e300),
        json!(1e6),
        json!(1000001.0),
    ]
}

/// Strings meant as numbers that are not.
const NAN_STRINGS: &[&str] = &["NaN", "nan", "inf", "-inf", "Infinity", "1e999", "0x10", "", " ", "1_000", "١"];

/// Durations at and beyond the edges of the syntax.
const WEIRD_DURATIONS: &[&str] = &[
    "0s",
    "0ns",
    "1ns",
    "0.5ns",
    "99999999h",
    "2562047h",
    "2562048h",
    "9223372036854775807ns",
    "9223372036854775808ns",
    "18446744073709551615ns",
    "-1s",
    "-0s",
    "+1s",
    "1.5.5s",
    "1e3s",
    " 5 ms ",
    "1m30s",
    "10",
    "",
    "ns",
    ".s",
    "1.s",
    "0.0000000001s",
    "1µs",
    "µs",
    "1 h",
    "1H",
    "1ss",
    "1d",
    "99999999999999999999999999999s",
    "٣s",
];

/// Scenario names that must not become folders.
fn bad_names() -> Vec<String> {
    let mut names: Vec<String> =
        ["..", ".", "a/b", "/", "\\", "a\\b", "", " ", " .. ", "\u{0}", "../../etc", "con", "nul", "ω"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    names.push("n".repeat(10_000));
    names
}

// ---------------------------------------------------------------------------
// Scenario mutants.

/// A complete scenario using every section, so each field exists to break.
const FULL: &str = r#"{
  "name": "raft-full", "description": "every section", "protocol": "raft", "nodes": 5, "seed": 1, "duration": "3s",
  "network": { "latency": { "dist": "uniform", "min": "1ms", "max": "10ms" }, "loss": 0.01, "duplicate": 0.001,
    "links": [ { "from": [4], "to": [0, 1, 2, 3], "latency": { "dist": "exponential", "mean": "20ms", "min": "5ms" } },
               { "from": [5, 6], "to": [0], "latency": { "dist": "lognormal", "median": "3ms", "sigma": 0.8 }, "loss": 0.1 } ] },
  "storage": { "fsync": { "dist": "normal", "mean": "2ms", "stddev": "500us", "min": "500us" } },
  "faults": [ { "at": "300ms", "partition": [[0, 1], [2, 3, 4]], "for": "200ms" },
              { "at": "700ms", "crash": 2, "restart_after": "100ms" },
              { "at": "900ms", "pause": 1, "for": "50ms" },
              { "at": "1s", "cut": [0, 1], "for": "100ms" },
              { "at": "1100ms", "skew": 3, "rate": 1.5, "for": "200ms" },
              { "at": "1200ms", "clock_jump": 4, "by": "-100ms" },
              { "at": "1300ms", "crash": 0 }, { "at": "1400ms", "restart": 0 },
              { "at": "1500ms", "pause": 2 }, { "at": "1600ms", "resume": 2 }, { "at": "1700ms", "heal": true } ],
  "nemesis": { "kinds": ["partition", "crash", "pause", "cut", "skew", "jump"], "every": "200ms", "for": "100ms", "start": "1800ms", "stop": "2500ms" },
  "workload": { "clients": 3, "rate": 60, "keys": 3, "mix": { "read": 0.4, "write": 0.4, "cas": 0.2 }, "timeout": "100ms" },
  "checks": ["election-safety", "log-matching", "state-machine-safety", "linearizability", "liveness"],
  "liveness": { "within_after_heal": "500ms" },
  "options": { "election_timeout": ["50ms", "100ms"], "heartbeat": "10ms", "pre_vote": true, "check_quorum": true },
  "bugs": ["stale-local-read"],
  "limits": { "steps": 2000000 }
}"#;

const MINIMAL: &str = r#"{ "name": "tickets-minimal", "protocol": "tickets", "nodes": 3, "duration": "1s" }"#;

/// The scenario files that ship, plus [`FULL`] and [`MINIMAL`].
fn scenario_bases() -> Vec<(String, Value)> {
    let mut files = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for dir in std::fs::read_dir(&root).expect("scenarios/") {
        let dir = dir.expect("entry").path();
        if dir.is_dir() {
            for f in std::fs::read_dir(&dir).expect("scenario folder") {
                let f = f.expect("entry").path();
                if f.extension().is_some_and(|e| e == "json") {
                    files.push(f);
                }
            }
        }
    }
    files.sort();
    assert!(files.len() >= 10, "expected the shipped scenarios, found {files:?}");
    let mut bases: Vec<(String, Value)> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).expect("read scenario");
            let name = f.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(f).display().to_string();
            (name, serde_json::from_str(&text).expect("a shipped scenario is JSON"))
        })
        .collect();
    bases.push(("FULL".into(), serde_json::from_str(FULL).expect("FULL is JSON")));
    bases.push(("MINIMAL".into(), serde_json::from_str(MINIMAL).expect("MINIMAL is JSON")));
    bases
}

/// Keys whose values are durations.
const DURATION_KEYS: &[&str] = &[
    "duration",
    "at",
    "for",
    "restart_after",
    "by",
    "every",
    "start",
    "stop",
    "timeout",
    "within_after_heal",
    "value",
    "min",
    "max",
    "mean",
    "stddev",
    "median",
    "heartbeat",
];

const FAULT_ACTIONS: &[&str] =
    &["crash", "restart", "pause", "resume", "skew", "clock_jump", "partition", "cut", "heal"];

/// Applies one random value-level mutation to `v`; says what it did.
/// Text-level mutations (raw literals, nesting) leave [`RAW`] in place.
fn mutate_scenario(g: &mut Gen, v: &mut Value) -> String {
    let locs = locations(v);
    let any = |g: &mut Gen| if locs.is_empty() { Vec::new() } else { g.pick(&locs).clone() };
    let nodes = v.get("nodes").and_then(Value::as_u64).unwrap_or(3);
    match g.below(17) {
        0 | 1 => {
            // Delete a field.
            let keyed: Vec<&Vec<Step>> = locs.iter().filter(|p| matches!(p.last(), Some(Step::Key(_)))).collect();
            let Some(path) = keyed.get(g.below(keyed.len().max(1))).copied().cloned() else { return "nothing".into() };
            let Some(Step::Key(k)) = path.last() else { unreachable!() };
            if let Some(Value::Object(m)) = at_mut(v, &path[..path.len() - 1]) {
                m.remove(k);
            }
            format!("delete {}", describe(&path))
        }
        2 => {
            let path = any(g);
            let w = g.pick(&wrong_types()).clone();
            let text = format!("{} = {w} (wrong type)", describe(&path));
            if let Some(slot) = at_mut(v, &path) {
                *slot = w;
            }
            text
        }
        3 | 4 => {
            // An extreme number, preferably where a number is.
            let numeric: Vec<&Vec<Step>> = locs.iter().filter(|p| at(v, p).is_some_and(Value::is_number)).collect();
            let path = if numeric.is_empty() || g.one_in(4) { any(g) } else { g.pick(&numeric).to_vec() };
            let x = g.pick(&extremes()).clone();
            let text = format!("{} = {x}", describe(&path));
            if let Some(slot) = at_mut(v, &path) {
                *slot = x;
            }
            text
        }
        5 => {
            let path = any(g);
            let s = *g.pick(NAN_STRINGS);
            if let Some(slot) = at_mut(v, &path) {
                *slot = json!(s);
            }
            format!("{} = {s:?}", describe(&path))
        }
        6 => {
            // An unknown field in some object.
            let mut objects: Vec<Vec<Step>> = vec![Vec::new()];
            objects.extend(locs.iter().filter(|p| at(v, p).is_some_and(Value::is_object)).cloned());
            let path = g.pick(&objects).clone();
            let key = *g.pick(&["bogus", "Nodes", "name ", "for_", "\u{0}", "", "retries", "dist2"]);
            if let Some(Value::Object(m)) = at_mut(v, &path) {
                m.insert(key.to_string(), json!(1));
            }
            format!("unknown field {key:?} in {}", describe(&path))
        }
        7 => {
            // An out-of-range node id in a (new or existing) fault.
            let bad = *g.pick(&[nodes, nodes.saturating_add(1), 1024, 4_294_967_296, u64::MAX, u64::MAX - 1]);
            let action = *g.pick(FAULT_ACTIONS);
            let id = if g.one_in(6) { json!(-1) } else { json!(bad) };
            let fault = match action {
                "partition" => json!({ "at": "1ms", "partition": [[0], [id]] }),
                "cut" => json!({ "at": "1ms", "cut": [0, id] }),
                "heal" => json!({ "at": "1ms", "heal": id }),
                "skew" => json!({ "at": "1ms", "skew": id, "rate": 2 }),
                "clock_jump" => json!({ "at": "1ms", "clock_jump": id, "by": "1ms" }),
                a => {
                    let mut f = json!({ "at": "1ms" });
                    f[a] = id;
                    f
                }
            };
            let text = format!("fault {fault}");
            match v.get_mut("faults") {
                Some(Value::Array(a)) => a.push(fault),
                _ => v["faults"] = json!([fault]),
            }
            text
        }
        8 => {
            // A huge node count, maybe with a partition naming a node near it.
            let n = *g.pick(&[0u64, 1025, 4_294_967_296, 9_007_199_254_740_992, i64::MAX as u64, u64::MAX]);
            v["nodes"] = json!(n);
            if g.one_in(2) && n > 0 {
                v["faults"] = json!([{ "at": "1ms", "partition": [[n - 1], [0]] }]);
                format!("nodes = {n} with a partition of node {}", n - 1)
            } else {
                format!("nodes = {n}")
            }
        }
        9 | 10 => {
            // A weird duration, where a duration is.
            let timed: Vec<&Vec<Step>> = locs
                .iter()
                .filter(|p| {
                    matches!(p.last(), Some(Step::Key(k)) if DURATION_KEYS.contains(&k.as_str()))
                        || matches!(p.as_slice(), [.., Step::Key(k), Step::Index(_)] if k == "election_timeout")
                })
                .collect();
            let path = if timed.is_empty() { vec![Step::Key("duration".into())] } else { g.pick(&timed).to_vec() };
            let d = *g.pick(WEIRD_DURATIONS);
            if let Some(slot) = at_mut(v, &path) {
                *slot = json!(d);
            }
            format!("{} = {d:?}", describe(&path))
        }
        11 => {
            let name = g.pick(&bad_names()).clone();
            v["name"] = json!(name);
            format!("name = {:?}", name.chars().take(20).collect::<String>())
        }
        12 => {
            // Workload extremes (the mix-overflow and keys-truncation reproducers' neighbourhood).
            if !v.get("workload").is_some_and(Value::is_object) {
                v["workload"] = json!({ "clients": 2, "rate": 20 });
            }
            let field = *g.pick(&["keys", "clients", "rate", "mix", "timeout"]);
            let x = match field {
                "mix" => {
                    let w = |g: &mut Gen| {
                        g.pick(&[json!(0), json!(1e300), json!(1e6), json!(-1), json!(1e308), json!(u64::MAX)]).clone()
                    };
                    json!({ "read": w(g), "write": w(g), "cas": w(g) })
                }
                "timeout" => json!(*g.pick(WEIRD_DURATIONS)),
                _ => g.pick(&extremes()).clone(),
            };
            let text = format!("workload.{field} = {x}");
            v["workload"][field] = x;
            text
        }
        13 => {
            // Reshape an array: empty it, grow it, or nest it.
            let arrays: Vec<&Vec<Step>> = locs.iter().filter(|p| at(v, p).is_some_and(Value::is_array)).collect();
            if arrays.is_empty() {
                return "no array".into();
            }
            let path = g.pick(&arrays).to_vec();
            let how = g.below(4);
            if let Some(Value::Array(a)) = at_mut(v, &path) {
                match how {
                    0 => a.clear(),
                    1 => {
                        let first = a.first().cloned().unwrap_or(json!(0));
                        a.push(first);
                    }
                    2 => {
                        let inner = std::mem::take(a);
                        a.push(Value::Array(inner));
                    }
                    _ => a.push(json!(u64::MAX)),
                }
            }
            format!("reshape {} ({})", describe(&path), ["empty", "duplicate", "nest", "push u64::MAX"][how])
        }
        14 => {
            // A name the protocol does not have.
            let field = *g.pick(&["protocol", "checks", "bugs", "nemesis.kinds"]);
            let bad = json!(*g.pick(&["RAFT", "", "paxos", "linearizabilty", "jump ", "\u{0}", "no-such-bug"]));
            match field {
                "protocol" => v["protocol"] = bad.clone(),
                "nemesis.kinds" => v["nemesis"] = json!({ "kinds": [bad.clone()], "every": "100ms" }),
                f => v[f] = json!([bad.clone()]),
            }
            format!("{field} gets {bad}")
        }
        15 => {
            // Raw text no Value holds: an invalid literal or deep nesting.
            let path = any(g);
            if let Some(slot) = at_mut(v, &path) {
                *slot = json!(RAW);
            } else {
                v["nodes"] = json!(RAW);
            }
            format!("{} = <raw>", describe(&path))
        }
        _ => {
            // Protocol options at their edges.
            let x = match g.below(5) {
                0 => json!({ "election_timeout": ["300ms", "150ms"] }),
                1 => json!({ "heartbeat": *g.pick(WEIRD_DURATIONS) }),
                2 => json!({ "election_timeout": [*g.pick(WEIRD_DURATIONS), *g.pick(WEIRD_DURATIONS)] }),
                3 => json!({ "pre_vote": "yes", "check_quorum": 1 }),
                _ => json!({ "election_timeout": ["1ns", "1ns"], "heartbeat": "0s" }),
            };
            let text = format!("options = {x}");
            v["options"] = x;
            text
        }
    }
}

/// Values at the edges of what validates, per field name: these mutants
/// mostly stay valid and reach the simulator.
fn edge_values(key: &str) -> Vec<Value> {
    let d = |xs: &[&str]| xs.iter().map(|x| json!(x)).collect::<Vec<_>>();
    match key {
        "loss" => vec![json!(0), json!(1), json!(0.999999), json!(1e-12)],
        "duplicate" => vec![json!(1), json!(0.5), json!(1e-12)],
        "sigma" => vec![json!(10), json!(1e-9), json!(0.000001)],
        "rate" => vec![json!(1000), json!(0.000001), json!(1e7), json!(0.5)],
        "keys" => vec![json!(1), json!(1_000_000)],
        "clients" => vec![json!(1), json!(1024)],
        "nodes" => vec![json!(1), json!(2), json!(1024)],
        "steps" => vec![json!(0), json!(1), json!(2), json!(u64::MAX)],
        "pending_events" | "messages_in_flight" | "output_bytes" | "history_ops" => {
            vec![json!(0), json!(1), json!(u64::MAX)]
        }
        "seed" => vec![json!(u64::MAX), json!(0)],
        "read" | "write" | "cas" => vec![json!(0), json!(1e6), json!(1e-6)],
        "value" | "min" | "max" | "mean" | "stddev" | "median" => d(&["0s", "1ns", "1h", "99999999h"]),
        "by" => d(&["-99999999h", "99999999h", "-1ns", "0s"]),
        "every" => d(&["1ns", "1us", "99999999h"]),
        "for" | "restart_after" | "within_after_heal" | "timeout" | "start" | "stop" => d(&["0s", "1ns", "99999999h"]),
        "at" | "duration" => d(&["0s", "1ns", "2s"]),
        "heartbeat" => d(&["1ns"]),
        "election_timeout" => vec![json!(["1ns", "1ns"]), json!(["1ns", "99999999h"]), json!(["2ns", "3ns"])],
        "pre_vote" | "check_quorum" => vec![json!(false)],
        _ => Vec::new(),
    }
}

/// Sets one field that has edge values to one of them; says what it did.
fn mutate_edge(g: &mut Gen, v: &mut Value) -> String {
    let edged: Vec<Vec<Step>> = locations(v)
        .into_iter()
        .filter(|p| matches!(p.last(), Some(Step::Key(k)) if !edge_values(k).is_empty()))
        .collect();
    if edged.is_empty() {
        return "no edge".into();
    }
    let path = g.pick(&edged).clone();
    let Some(Step::Key(k)) = path.last() else { unreachable!() };
    let x = g.pick(&edge_values(k)).clone();
    let text = format!("{} = {x} (edge)", describe(&path));
    if let Some(slot) = at_mut(v, &path) {
        *slot = x;
    }
    text
}

/// Applies one text-level mutation; says what it did.
fn mutate_text(g: &mut Gen, text: &mut String) -> String {
    match g.below(6) {
        0 => {
            let cut = g.below(text.len().max(1));
            let cut = (0..=cut).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            text.truncate(cut);
            format!("truncated to {cut} bytes")
        }
        1 => {
            let field = *g.pick(&["\"nodes\": 3, ", "\"name\": \"twice\", ", "\"duration\": \"1s\", "]);
            *text = text.replacen('{', &format!("{{{field}"), 1);
            format!("duplicate field {field}")
        }
        2 => {
            let depth = *g.pick(&[64, 127, 128, 129, 1_000, 100_000]);
            let objects = g.one_in(2);
            *text = text.replacen('{', &format!("{{\"deep\": {},", nested(depth, objects)), 1);
            format!("nested {depth} deep ({})", if objects { "objects" } else { "arrays" })
        }
        3 => {
            let junk = *g.pick(&["}", ",", " // comment", "\u{feff}", "\0", "{}", "\n\n\n", " x"]);
            if g.one_in(2) {
                text.push_str(junk);
            } else {
                text.insert_str(0, junk);
            }
            format!("junk {junk:?}")
        }
        4 => {
            *text = text.replacen("\"}", "\",}", 1).replacen("\n}", ",\n}", 1);
            "trailing comma".into()
        }
        _ => {
            // Text that is not a scenario at all.
            let other = *g.pick(&["", "null", "[]", "{}", "1", "\"s\"", "[{}]", "{\"name\":", "true"]);
            *text = other.to_string();
            format!("replaced by {other:?}")
        }
    }
}

/// Replaces [`RAW`] placeholders with raw literals or deep nesting.
fn fill_raw(g: &mut Gen, text: &str) -> String {
    let mut text = text.to_string();
    while let Some(at) = text.find(RAW_JSON) {
        let raw = if g.one_in(3) {
            nested(*g.pick(&[16, 127, 128, 129, 10_000]), g.one_in(2))
        } else {
            g.pick(RAW_LITERALS).to_string()
        };
        text.replace_range(at..at + RAW_JSON.len(), &raw);
    }
    text
}

/// A mutant: its text and how it was made.
struct Mutant {
    text: String,
    what: String,
}

fn scenario_mutants(count: usize) -> Vec<Mutant> {
    let bases = scenario_bases();
    let mut g = Gen::new(1);
    (0..count)
        .map(|i| {
            let (name, base) = g.pick(&bases);
            let mut v = base.clone();
            // A third of the mutants stay near valid, to reach the simulator.
            let edge = g.one_in(3);
            let mut steps = Vec::new();
            for _ in 0..1 + g.below(3) {
                steps.push(if edge { mutate_edge(&mut g, &mut v) } else { mutate_scenario(&mut g, &mut v) });
            }
            let mut text = if g.one_in(2) { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }
                .expect("serialise a mutant");
            text = fill_raw(&mut g, &text);
            if g.one_in(6) {
                steps.push(mutate_text(&mut g, &mut text));
            }
            Mutant { text, what: format!("scenario mutant {i} of {name}: {}", steps.join("; ")) }
        })
        .collect()
}

/// A copy of scenario `text` that runs briefly: duration, nodes, clients,
/// rate, fault times and steps capped (see the `RUN_*` constants). `None`
/// when the text is not a JSON object (then `run` must refuse it as it is).
fn bounded(text: &str) -> Option<String> {
    let mut v: Value = serde_json::from_str(text).ok()?;
    let m = v.as_object_mut()?;
    let long = |v: &Value| {
        v.as_str().and_then(|s| faultline::scenario::parse_duration(s).ok()).is_some_and(|ns| ns > RUN_DURATION_NS)
    };
    if m.get("duration").is_some_and(long) {
        m.insert("duration".into(), json!(RUN_DURATION));
    }
    if m.get("nodes").and_then(Value::as_u64).is_some_and(|n| n > RUN_NODES_MAX) {
        m.insert("nodes".into(), json!(RUN_NODES_MAX));
    }
    if let Some(Value::Object(w)) = m.get_mut("workload") {
        if w.get("clients").and_then(Value::as_u64).is_some_and(|n| n > RUN_CLIENTS_MAX) {
            w.insert("clients".into(), json!(RUN_CLIENTS_MAX));
        }
        if w.get("rate").and_then(Value::as_f64).is_some_and(|r| r > RUN_RATE_MAX) {
            w.insert("rate".into(), json!(RUN_RATE_MAX));
        }
    }
    if let Some(Value::Array(faults)) = m.get_mut("faults") {
        for f in faults.iter_mut().filter_map(Value::as_object_mut) {
            if f.get("at").is_some_and(long) {
                f.insert("at".into(), json!(RUN_DURATION));
            }
        }
    }
    match m.get_mut("limits") {
        Some(Value::Object(l)) => {
            let steps = l.get("steps").and_then(Value::as_u64).map_or(RUN_STEPS_MAX, |s| s.min(RUN_STEPS_MAX));
            l.insert("steps".into(), json!(steps));
        }
        Some(_) => {}
        None => {
            m.insert("limits".into(), json!({ "steps": RUN_STEPS_MAX }));
        }
    }
    serde_json::to_string(&v).ok()
}

/// Timeline windows a run is given now and then.
const WINDOWS: &[&str] =
    &["0s..2562047h", "0s..0s", "1s..2s", "2562047h..2562047h", "0s..2562048h", "5s..3s", "..", "-1s..1s"];

/// Seed ranges a sweep is given.
const SEED_RANGES: &[&str] = &[
    "0..2",
    "7",
    "18446744073709551613..18446744073709551615",
    "18446744073709551614",
    "18446744073709551615",
    "0..0",
];

/// Every scenario mutant through validate, and many through run or sweep.
fn scenario_corpus() -> Failures {
    let started = Instant::now();
    let dir = scratch("scenarios");
    let mutants = scenario_mutants(SCENARIO_MUTANTS);
    let mut failures = Failures::new("scenarios");
    let mut g = Gen::new(2);
    let (file, bounded_file) = (dir.join("mutant.json"), dir.join("bounded.json"));
    let (out, sweep_out) = (path_arg(&dir.join("run")), path_arg(&dir.join("sweep")));
    let (mut valid, mut runs, mut sweeps) = (0, 0, 0);
    let mut invalid_seen = 0;
    let mut slowest: Vec<(f64, String)> = Vec::new();
    let protocols = faultline::protocols::builtin();
    for m in &mutants {
        std::fs::write(&file, &m.text).expect("write the mutant");
        let argv = vec!["validate".to_string(), path_arg(&file)];
        let call = cli(&dir, &argv);
        failures.check(&call, &argv, Some(("mutant.json", &m.text)), &m.what, None);
        // The error `validate` printed is one line, whatever the file holds.
        if call.code == Ok(2) {
            let parsed = Scenario::parse(&m.text, "mutant.json");
            let prepared =
                parsed.and_then(|s| Prepared::new(s, "mutant.json", &protocols, &Overrides::default()).map(drop));
            if let Err(e) = prepared.map_err(|e| e.to_string()) {
                if e.contains('\n') {
                    let call = Call {
                        code: Err(format!("a scenario error of more than one line: {e:?}")),
                        stdout: String::new(),
                        seconds: 0.0,
                    };
                    failures.check(&call, &argv, Some(("mutant.json", &m.text)), &m.what, None);
                }
            }
        }
        let ok = call.code == Ok(0);
        valid += usize::from(ok);
        if !ok {
            invalid_seen += 1;
            if invalid_seen % RUN_EVERY_INVALID != 0 {
                continue;
            }
        }
        // Refused by validate: `run` must refuse it as it is. Accepted: run a bounded copy.
        let (text, target, expect) = match (ok, bounded(&m.text)) {
            (true, Some(b)) => (b, &bounded_file, None),
            (true, None) => continue,
            (false, _) => (m.text.clone(), &file, Some(2)),
        };
        std::fs::write(target, &text).expect("write the run's copy");
        runs += 1;
        let mut argv = if expect.is_none() && runs % SWEEP_EVERY_RUN == 0 {
            sweeps += 1;
            let jobs = g.pick(&["1", "2", "1024"]).to_string();
            args(&["sweep", &path_arg(target), "--seeds", g.word(SEED_RANGES), "--jobs", &jobs, "--out", &sweep_out])
        } else {
            let seed = g.pick(&["0", "1", "42", "18446744073709551615"]).to_string();
            args(&["run", &path_arg(target), "--seed", &seed, "--out", &out])
        };
        if g.one_in(8) {
            argv.push("--trace".into());
        }
        if g.one_in(4) && argv[0] == "run" {
            argv.extend(args(&["--timeline", g.word(WINDOWS)]));
        }
        match g.below(10) {
            0 => argv.push("--no-bugs".into()),
            1 => argv.extend(args(&["--bug", g.word(&["stale-local-read", "reply-before-sync", "nope"])])),
            _ => {}
        }
        let call = if argv[0] == "sweep" { sweep_call(&dir, &argv, &dir.join("sweep")) } else { cli(&dir, &argv) };
        slowest.push((call.seconds, format!("{} | {}", argv.join(" "), text.chars().take(300).collect::<String>())));
        let name = target.file_name().and_then(|n| n.to_str()).expect("name");
        let what = format!(
            "{} ({} of it)",
            m.what,
            if expect.is_some() { "a run, after validate refused it," } else { "a bounded run" }
        );
        failures.check(&call, &argv, Some((name, &text)), &what, expect);
    }
    assert!(mutants.len() >= 2_000);
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (seconds, what) in slowest.iter().take(8) {
        eprintln!("slow: {seconds:.3} s: {what}");
    }
    failures.summary = format!(
        "{} scenario mutants through validate ({valid} valid), {runs} through run or sweep ({sweeps} sweeps), in {:.1} s",
        mutants.len(),
        started.elapsed().as_secs_f64()
    );
    failures
}

// ---------------------------------------------------------------------------
// History mutants.

/// Lines kept of each base history, so checking stays quick.
const HISTORY_LINES_MAX: usize = 80;

const SMALL_HISTORIES: &[&str] = &[
    r#"{"process": 0, "type": "invoke", "f": "write", "key": "k1", "value": 1, "time": 10}
{"process": 1, "type": "invoke", "f": "cas", "key": "k1", "value": [1, 2], "time": 11}
{"process": 0, "type": "ok", "f": "write", "key": "k1", "value": 1, "time": 12}
{"process": 2, "type": "invoke", "f": "append", "key": "k2", "value": "x", "time": 13}
{"process": 1, "type": "info", "f": "cas", "key": "k1", "value": [1, 2], "time": 14}
{"process": 2, "type": "ok", "f": "append", "key": "k2", "value": "x", "time": 15}
{"process": 3, "type": "invoke", "f": "read", "key": "k2", "value": null, "time": 16}
{"process": 3, "type": "ok", "f": "read", "key": "k2", "value": "x", "time": 17}
{"process": 4, "type": "invoke", "f": "read", "key": "k1", "value": null, "time": 18}
{"process": 4, "type": "fail", "f": "read", "key": "k1", "value": null, "time": 19}
"#,
    r#"{"process": 0, "type": "invoke", "f": "write", "value": "a"}
{"process": 0, "type": "ok", "f": "write", "value": "a"}
{"process": 1, "type": "invoke", "f": "read", "value": null}
{"process": 1, "type": "ok", "f": "read", "value": "b"}
"#,
];

fn history_bases() -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/histories/porcupine")];
    stack.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut bases: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).expect("read history");
            let head: String = text.lines().take(HISTORY_LINES_MAX).map(|l| format!("{l}\n")).collect();
            (f.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned()), head)
        })
        .collect();
    for (i, h) in SMALL_HISTORIES.iter().enumerate() {
        bases.push((format!("SMALL_HISTORIES[{i}]"), h.to_string()));
    }
    bases
}

/// Weird values for each field of a history line.
fn history_field_values(field: &str) -> Vec<Value> {
    let mut common = vec![Value::Null, json!(true), json!([]), json!({}), json!(1.5), json!(""), json!(RAW)];
    common.extend(match field {
        "process" => vec![
            json!(u64::MAX),
            json!(-1),
            json!(i64::MIN),
            json!(1e308),
            json!("0"),
            json!(4_294_967_296u64),
            json!(9_007_199_254_740_993u64),
        ],
        "type" => vec![
            json!("bogus"),
            json!("OK"),
            json!("invoke "),
            json!(3),
            json!("ok"),
            json!("fail"),
            json!("info"),
            json!("invoke"),
        ],
        "f" => vec![
            json!("frob"),
            json!("READ"),
            json!(7),
            json!("read"),
            json!("write"),
            json!("cas"),
            json!("append"),
            json!("acquire"),
        ],
        "key" => vec![json!(1), json!("k".repeat(5_000)), json!("\u{0}"), json!(["k1"]), json!("k1")],
        "time" => vec![json!(-1), json!(1e308), json!("x"), json!(0), json!(u64::MAX), json!(i64::MIN)],
        _ => vec![
            json!([1]),
            json!([1, 2, 3]),
            json!([null, 1]),
            json!([1, null]),
            json!({ "a": 1 }),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1e308),
            json!("s"),
            json!([[1], [2]]),
            json!(-0.0),
        ],
    });
    common
}

const HISTORY_FIELDS: &[&str] = &["process", "type", "f", "key", "value", "time"];

/// Applies one mutation to the lines of a history; says what it did.
fn mutate_history(g: &mut Gen, lines: &mut Vec<String>) -> String {
    if lines.is_empty() {
        lines.push(r#"{"process": 0, "type": "invoke", "f": "read", "value": null}"#.into());
    }
    let i = g.below(lines.len());
    match g.below(12) {
        0 => {
            let line = &mut lines[i];
            let cut = g.below(line.len().max(1));
            let cut = (0..=cut).rev().find(|&c| line.is_char_boundary(c)).unwrap_or(0);
            line.truncate(cut);
            format!("line {} truncated to {cut} bytes", i + 1)
        }
        1 => {
            lines.remove(i);
            format!("line {} deleted", i + 1)
        }
        2 => {
            let copy = lines[i].clone();
            let at = if g.one_in(2) { i + 1 } else { lines.len() };
            lines.insert(at, copy);
            format!("line {} duplicated at {}", i + 1, at + 1)
        }
        3 => {
            let j = g.below(lines.len());
            lines.swap(i, j);
            format!("lines {} and {} swapped", i + 1, j + 1)
        }
        4..=6 => {
            let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(&lines[i]) else {
                return format!("line {} left as is", i + 1);
            };
            let field = *g.pick(HISTORY_FIELDS);
            let what = if g.one_in(5) {
                m.remove(field);
                format!("line {}: {field} deleted", i + 1)
            } else {
                let x = g.pick(&history_field_values(field)).clone();
                let what = format!("line {}: {field} = {x}", i + 1);
                m.insert(field.into(), x);
                what
            };
            lines[i] = fill_raw(g, &Value::Object(m).to_string());
            what
        }
        7 => {
            let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(&lines[i]) else {
                return format!("line {} left as is", i + 1);
            };
            let key = *g.pick(&["bogus", "Process", "index", "error", ""]);
            m.insert(key.into(), json!(1));
            lines[i] = Value::Object(m).to_string();
            format!("line {}: unknown field {key:?}", i + 1)
        }
        8 => {
            // An orphan completion or a dangling invoke of a fresh or huge process.
            let process = *g.pick(&[999_999u64, u64::MAX, 0, 1]);
            let kind = *g.pick(&["invoke", "ok", "fail", "info"]);
            let f = *g.pick(&["read", "write", "cas", "append"]);
            let value = match f {
                "cas" => json!([1, 2]),
                "append" => json!("x"),
                "write" => json!(7),
                _ => Value::Null,
            };
            let line = json!({ "process": process, "type": kind, "f": f, "value": value }).to_string();
            let at = g.below(lines.len() + 1);
            lines.insert(at, line.clone());
            format!("inserted at {}: {line}", at + 1)
        }
        9 => {
            let junk = *g.pick(&["", "   ", "null", "[]", "{}", "{", "\u{feff}{}", "// c", "1", "\"s\"", "\r", "\0"]);
            let at = g.below(lines.len() + 1);
            lines.insert(at, junk.to_string());
            format!("junk line {junk:?} at {}", at + 1)
        }
        10 => {
            let depth = *g.pick(&[16, 127, 128, 129, 10_000]);
            let objects = g.one_in(2);
            lines[i] =
                format!(r#"{{"process": 0, "type": "invoke", "f": "write", "value": {}}}"#, nested(depth, objects));
            format!("line {}: value nested {depth} deep", i + 1)
        }
        _ => {
            // Whole-history changes.
            match g.below(4) {
                0 => {
                    for l in lines.iter_mut() {
                        l.push('\r');
                    }
                    "CRLF line ends".into()
                }
                1 => {
                    lines.clear();
                    "emptied".into()
                }
                2 => {
                    // Many concurrent ops on one register: the time limit must hold.
                    lines.clear();
                    for p in 0..200 {
                        lines.push(format!(r#"{{"process": {p}, "type": "invoke", "f": "write", "value": {p}}}"#));
                    }
                    for p in 0..200 {
                        let kind = if p % 7 == 0 { "info" } else { "ok" };
                        lines.push(format!(r#"{{"process": {p}, "type": "{kind}", "f": "write", "value": {p}}}"#));
                        lines.push(format!(
                            r#"{{"process": {}, "type": "invoke", "f": "read", "value": null}}"#,
                            1000 + p
                        ));
                        lines.push(format!(
                            r#"{{"process": {}, "type": "ok", "f": "read", "value": {}}}"#,
                            1000 + p,
                            (p * 37) % 200
                        ));
                    }
                    "200 concurrent writes and 200 reads".into()
                }
                _ => {
                    let n = lines.len();
                    lines.truncate(n / 2);
                    format!("cut to its first {} lines", n / 2)
                }
            }
        }
    }
}

/// Applies one mutation that mostly keeps a history well formed, so the
/// checker itself gets odd inputs: open ops, changed outcomes and values
/// read, extreme process ids, times and keys. Says what it did.
fn mutate_history_gently(g: &mut Gen, lines: &mut [String]) -> String {
    let mut parsed: Vec<Option<serde_json::Map<String, Value>>> =
        lines.iter().map(|l| serde_json::from_str::<Value>(l).ok().and_then(|v| v.as_object().cloned())).collect();
    let completions: Vec<usize> = (0..parsed.len())
        .filter(|&i| parsed[i].as_ref().is_some_and(|m| m.get("type") != Some(&json!("invoke"))))
        .collect();
    let what = match g.below(5) {
        0 if !completions.is_empty() => {
            // Drop a completion: the op stays open forever.
            let i = *g.pick(&completions);
            parsed[i] = None;
            lines[i].clear();
            format!("line {} (a completion) removed", i + 1)
        }
        1 if !completions.is_empty() => {
            let i = *g.pick(&completions);
            let kind = g.word(&["ok", "fail", "info"]);
            if let Some(m) = parsed[i].as_mut() {
                m.insert("type".into(), json!(kind));
            }
            format!("line {}: type = {kind}", i + 1)
        }
        2 if !completions.is_empty() => {
            let i = *g.pick(&completions);
            let x = g.pick(&[json!(0), json!(-1), json!(i64::MAX), json!(i64::MIN), Value::Null, json!("s")]).clone();
            let what = format!("line {}: value read = {x}", i + 1);
            if let Some(m) = parsed[i].as_mut() {
                m.insert("value".into(), x);
            }
            what
        }
        3 => {
            // Move every process id near the top of u64, keeping them distinct.
            let base = *g.pick(&[u64::MAX - 1_000_000, 1 << 63, 4_294_967_296]);
            for m in parsed.iter_mut().flatten() {
                if let Some(p) = m.get("process").and_then(Value::as_u64) {
                    m.insert("process".into(), json!(base.saturating_add(p)));
                }
            }
            format!("process ids shifted by {base}")
        }
        _ => {
            let (field, x) = match g.below(3) {
                0 => ("time", json!(u64::MAX)),
                1 => ("key", json!("k".repeat(1_000))),
                _ => ("key", json!("")),
            };
            for m in parsed.iter_mut().flatten() {
                m.insert(field.into(), x.clone());
            }
            format!("every line: {field} = {}", x.to_string().chars().take(20).collect::<String>())
        }
    };
    for (line, m) in lines.iter_mut().zip(parsed) {
        if let Some(m) = m {
            *line = Value::Object(m).to_string();
        }
    }
    what
}

fn history_mutants(count: usize) -> Vec<Mutant> {
    let bases = history_bases();
    assert!(!bases.is_empty());
    let mut g = Gen::new(3);
    (0..count)
        .map(|i| {
            let (name, base) = g.pick(&bases);
            let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
            // A third of the mutants stay well formed, to reach the checker.
            let gentle = g.one_in(3);
            let steps: Vec<String> = (0..1 + g.below(3))
                .map(|_| {
                    if gentle {
                        mutate_history_gently(&mut g, &mut lines)
                    } else {
                        mutate_history(&mut g, &mut lines)
                    }
                })
                .collect();
            lines.retain(|l| !l.is_empty() || !gentle);
            let mut text = lines.join("\n");
            if !g.one_in(5) {
                text.push('\n');
            }
            Mutant { text, what: format!("history mutant {i} of {name}: {}", steps.join("; ")) }
        })
        .collect()
}

/// Every history mutant through check.
fn history_corpus() -> Failures {
    let started = Instant::now();
    let dir = scratch("histories");
    let mutants = history_mutants(HISTORY_MUTANTS);
    let mut failures = Failures::new("histories");
    let mut g = Gen::new(4);
    let file = dir.join("mutant.jsonl");
    let witness = path_arg(&dir.join("witness.jsonl"));
    let mut codes = [0usize; 4];
    for m in &mutants {
        std::fs::write(&file, &m.text).expect("write the mutant");
        let limit = *g.pick(&["1ms", "10ms", "50ms"]);
        let mut argv = args(&["check", &path_arg(&file), "--time-limit", limit, "--witness", &witness]);
        if g.one_in(6) {
            argv.extend(args(&["--model", g.word(&["register", "kv", "bogus", ""])]));
        }
        let call = cli(&dir, &argv);
        if let Ok(c @ 0..=3) = call.code {
            codes[c as usize] += 1;
        }
        failures.check(&call, &argv, Some(("mutant.jsonl", &m.text)), &m.what, None);
    }
    assert!(mutants.len() >= 1_000);
    failures.summary = format!(
        "{} history mutants through check (exit codes 0/1/2/3: {codes:?}) in {:.1} s",
        mutants.len(),
        started.elapsed().as_secs_f64()
    );
    failures
}

// ---------------------------------------------------------------------------
// The panics the bad-input issue listed, as explicit cases.

/// A small scenario with `extra` fields merged in (each `"key": value`).
fn scenario_with(protocol: &str, nodes: &str, extra: &str) -> String {
    let extra = if extra.is_empty() { String::new() } else { format!(", {extra}") };
    format!(
        r#"{{ "name": "known", "protocol": "{protocol}", "nodes": {nodes}, "duration": "1s", "limits": {{ "steps": 20000 }}{extra} }}"#
    )
}

/// The panics the bad-input issue listed, and their neighbours.
fn known_cases() -> Failures {
    let dir = scratch("known");
    let mut failures = Failures::new("known");
    let file = dir.join("known.json");
    let f = path_arg(&file);
    let out = path_arg(&dir.join("out"));
    let workload = |w: &str| format!(r#""workload": {{ "clients": 1, "rate": 10{w} }}"#);
    // (what, scenario text, arguments after the scenario file, expected exit code of
    // run, expected stdout text); validate expects 2 when run does with no arguments, else 0.
    let mut cases = 0;
    let scenario_cases: Vec<(&str, String, Vec<&str>, i32, &str)> = vec![
        (
            "workload.mix weights overflowing when summed",
            scenario_with("raft", "3", &workload(r#", "mix": { "read": 1e300, "write": 1e300, "cas": 1e300 }"#)),
            vec![],
            2,
            "",
        ),
        (
            "workload.mix weights at their largest, summed",
            scenario_with("raft", "3", &workload(r#", "mix": { "read": 1000000, "write": 1000000, "cas": 1000000 }"#)),
            vec![],
            0,
            "",
        ),
        ("workload.keys = 4294967296", scenario_with("raft", "3", &workload(r#", "keys": 4294967296"#)), vec![], 2, ""),
        ("workload.keys at its largest", scenario_with("raft", "3", &workload(r#", "keys": 1000000"#)), vec![], 0, ""),
        ("nodes = 18446744073709551615", scenario_with("tickets", "18446744073709551615", ""), vec![], 2, ""),
        (
            "nodes = 18446744073709551615 with clients (nodes + clients overflows)",
            scenario_with("raft", "18446744073709551615", &workload("")),
            vec![],
            2,
            "",
        ),
        (
            "a huge node count in a partition",
            scenario_with(
                "tickets",
                "9223372036854775807",
                r#""faults": [{ "at": "1ms", "partition": [[9223372036854775806], [0]] }]"#,
            ),
            vec![],
            2,
            "",
        ),
        (
            "the largest node count in a partition",
            scenario_with("tickets", "1024", r#""faults": [{ "at": "1ms", "partition": [[1023], [0, 1]] }]"#),
            vec![],
            3,
            "",
        ),
        ("run --timeline 0s..2562047h", scenario_with("tickets", "3", ""), vec!["--timeline", "0s..2562047h"], 0, ""),
        (
            "run --timeline 2562047h..2562047h",
            scenario_with("tickets", "3", ""),
            vec!["--timeline", "2562047h..2562047h"],
            0,
            "",
        ),
        (
            "run --timeline 0s..2562048h (past i64)",
            scenario_with("tickets", "3", ""),
            vec!["--timeline", "0s..2562048h"],
            2,
            "",
        ),
        (
            "run --seed 18446744073709551615",
            scenario_with("tickets", "3", ""),
            vec!["--seed", "18446744073709551615"],
            0,
            "",
        ),
    ];
    for (what, text, extra, expect, needle) in &scenario_cases {
        std::fs::write(&file, text).expect("write the case");
        let validate = vec!["validate".to_string(), f.clone()];
        let call = cli(&dir, &validate);
        failures.check(
            &call,
            &validate,
            Some(("known.json", text)),
            &format!("{what} (validate)"),
            Some(if extra.is_empty() && *expect == 2 { 2 } else { 0 }),
        );
        let mut argv = args(&["run", &f, "--out", &out]);
        argv.extend(extra.iter().map(|s| s.to_string()));
        let call = cli(&dir, &argv);
        failures.check(&call, &argv, Some(("known.json", text)), &format!("{what} (run)"), Some(*expect));
        if !call.stdout.contains(needle) {
            failures.list.push(format!("{what}: stdout lacks {needle:?}:\n{}", call.stdout));
        }
    }
    // A newline in a field name or value stays inside the one-line error.
    for text in [
        r#"{ "name": "a", "protocol": "raft", "nodes": 3, "duration": "1s", "de\nscription": "" }"#,
        r#"{ "name": "a", "protocol": "ra\nft", "nodes": 3, "duration": "1s" }"#,
    ] {
        cases += 1;
        let e = Scenario::parse(text, "nl.json").and_then(|s| {
            Prepared::new(s, "nl.json", &faultline::protocols::builtin(), &Overrides::default()).map(drop)
        });
        match e {
            Err(e) if !e.to_string().contains('\n') => {}
            other => failures
                .list
                .push(format!("{text}: expected a one-line error, got {:?}", other.map_err(|e| e.to_string()))),
        }
    }
    // Sweep arguments at their edges.
    std::fs::write(&file, scenario_with("tickets", "3", "")).expect("write the sweep scenario");
    let sweep_cases: Vec<(&str, Vec<&str>, i32, &str)> = vec![
        ("sweep --seeds 18446744073709551615", vec!["--seeds", "18446744073709551615"], 2, ""),
        (
            "sweep --seeds near u64::MAX",
            vec!["--seeds", "18446744073709551613..18446744073709551615"],
            0,
            "2 seeds run",
        ),
        (
            "sweep --seeds near u64::MAX on 1024 threads",
            vec!["--seeds", "18446744073709551614..18446744073709551615", "--jobs", "1024"],
            0,
            "1 seeds run",
        ),
        ("sweep --seeds 18446744073709551614", vec!["--seeds", "18446744073709551614"], 0, "1 seeds run"),
        ("sweep --seeds 5..5", vec!["--seeds", "5..5"], 2, ""),
        ("sweep --jobs 0", vec!["--seeds", "0..2", "--jobs", "0"], 2, ""),
        ("sweep --jobs 1025", vec!["--seeds", "0..2", "--jobs", "1025"], 2, ""),
        ("sweep --jobs 18446744073709551615", vec!["--seeds", "0..2", "--jobs", "18446744073709551615"], 2, ""),
        ("sweep --jobs 18446744073709551616", vec!["--seeds", "0..2", "--jobs", "18446744073709551616"], 2, ""),
        ("sweep --jobs 1024", vec!["--seeds", "0..2", "--jobs", "1024"], 0, "2 seeds run"),
    ];
    let sweep_out = path_arg(&dir.join("sweep"));
    cases += scenario_cases.len() * 2 + sweep_cases.len();
    for (what, extra, expect, needle) in sweep_cases {
        let mut argv = args(&["sweep", &f, "--out", &sweep_out]);
        argv.extend(extra.iter().map(|s| s.to_string()));
        let call = sweep_call(&dir, &argv, &dir.join("sweep"));
        failures.check(&call, &argv, None, what, Some(expect));
        if !call.stdout.contains(needle) {
            failures.list.push(format!("{what}: stdout lacks {needle:?}:\n{}", call.stdout));
        }
    }
    // `plot` and `check` at their edges, on a saved run and a small history.
    let history = dir.join("h.jsonl");
    std::fs::write(&history, SMALL_HISTORIES[0]).expect("write the history");
    let h = path_arg(&history);
    let w = path_arg(&dir.join("w.jsonl"));
    let other_cases: Vec<(&str, Vec<&str>, Option<i32>)> = vec![
        ("plot --timeline 0s..2562047h", vec!["plot", &out, "--timeline", "0s..2562047h"], None),
        ("plot --timeline 2562047h..2562047h", vec!["plot", &out, "--timeline", "2562047h..2562047h"], None),
        ("check --time-limit 2562047h", vec!["check", &h, "--time-limit", "2562047h", "--witness", &w], Some(0)),
        ("check --time-limit 0s", vec!["check", &h, "--time-limit", "0s", "--witness", &w], Some(2)),
        ("check --time-limit 1ns", vec!["check", &h, "--time-limit", "1ns", "--witness", &w], None),
        ("list", vec!["list"], Some(0)),
        ("no arguments", vec![], Some(2)),
        ("--help", vec!["--help"], Some(0)),
    ];
    cases += other_cases.len();
    for (what, argv, expect) in other_cases {
        let argv = args(&argv);
        let call = cli(&dir, &argv);
        failures.check(&call, &argv, None, what, expect);
    }
    // `plot` of a run folder whose summary.json was edited to a huge node count.
    let summary_path = dir.join("out").join("summary.json");
    let mut summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary_path).expect("summary.json"))
        .expect("summary.json is JSON");
    summary["nodes"] = json!(u64::MAX);
    summary["clients"] = json!(1);
    std::fs::write(&summary_path, summary.to_string()).expect("edit summary.json");
    let argv = args(&["plot", &out]);
    let call = cli(&dir, &argv);
    failures.check(&call, &argv, None, "plot of a summary.json with nodes = 18446744073709551615", None);
    cases += 1;
    failures.summary = format!("{cases} explicit cases");
    failures
}

/// One test, so no other test of this binary prints while a call has the
/// output redirected.
#[test]
fn mutants_never_panic() {
    let started = Instant::now();
    let parts = [known_cases(), scenario_corpus(), history_corpus()];
    let mut report = String::new();
    for part in &parts {
        eprintln!("{}", part.summary);
        if !part.known.is_empty() {
            eprintln!("{} known panics (KNOWN_PANICS_TO_FIX), first:\n{}", part.known.len(), part.known[0]);
        }
        if !part.list.is_empty() {
            report.push_str(&format!(
                "{}: {} inputs failed (first 10 below; inputs saved in {}):\n\n{}\n",
                part.summary,
                part.list.len(),
                part.dir.display(),
                part.list.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
            ));
        }
    }
    eprintln!("all in {:.1} s", started.elapsed().as_secs_f64());
    assert!(report.is_empty(), "{report}");
}
