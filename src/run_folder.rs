//! One `faultline run`, as a library call: run a seed of a prepared
//! scenario and write its folder (`summary.json`, `history.jsonl`,
//! `observations.jsonl`, `trace.jsonl` on request, `timeline.jsonl`, the
//! witness of a linearizability failure, the plots and `report.html`).
//!
//! The CLI only prints what [`RunFolder`] returns, so everything a run
//! decides (where its folder goes, which window the timeline keeps, that a
//! replay of the seed yields the events before a violation) lives here and
//! can be tested without a process. Wall time is read here, outside the
//! simulation, for `summary.json`'s `wall_seconds` only.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::kit::ProtocolRun;
use crate::report::SummaryContext;
use crate::runner::{outcome, Outcome, Overrides, Prepared};
use crate::sim::trace::TraceSink;

/// Default length of the saved timeline window.
pub const TIMELINE_NS: u64 = crate::report::timeline::TIMELINE_WINDOW_NS;

/// How to run and where to write.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// The output folder (default: [`default_dir`]).
    pub out: Option<PathBuf>,
    /// Also write every event to `trace.jsonl`.
    pub trace: bool,
    /// The timeline window, global ns (default: the 2 s before the first
    /// violation, around a linearizability failure, or the first 2 s).
    pub window: Option<(u64, u64)>,
}

/// What one run produced, for the CLI to print.
pub struct RunFolder {
    /// The folder written.
    pub dir: PathBuf,
    /// The run.
    pub run: ProtocolRun,
    /// Its verdict.
    pub outcome: Outcome,
    /// Wall seconds of the simulation.
    pub wall_seconds: f64,
    /// The linearizability failure explained from its shrunk witness, when
    /// the history is the failure.
    pub lin: Option<crate::report::summary::LinFailure>,
    /// The timeline window saved, global ns.
    pub window: (u64, u64),
    /// The trace lines of that window (their last ones precede a violation).
    pub timeline: Vec<String>,
    /// The command that reproduces the run.
    pub reproduce: String,
    /// What the output left out (files cut at `limits.output_bytes`).
    pub notes: Vec<String>,
    /// The replay's trace hash, if it differs from the run's: the run is
    /// not a function of (scenario, seed), and its outcome is `Failed`.
    pub nondeterminism: Option<u64>,
}

/// The folder a run writes by default: `reports/<scenario>/seed-<N>`, with
/// the run's settings when they are not the file's own (see [`settings_suffix`]).
pub fn default_dir(scenario_name: &str, seed: u64) -> PathBuf {
    PathBuf::from("reports").join(scenario_name).join(format!("seed-{seed}"))
}

/// What tells a run's settings apart from the scenario file's own, for
/// folder names: `""` for the file as written, else `-no-bugs`,
/// `-bugs-a+b` (the bugs switched on, when they differ from the file's)
/// and `-swarm`. Runs and sweeps with different settings never share a
/// folder, so no report shows another run's files.
pub fn settings_suffix(p: &Prepared<'_>) -> String {
    let mut suffix = String::new();
    if p.bugs != p.scenario.bugs {
        if p.bugs.is_empty() {
            suffix.push_str("-no-bugs");
        } else {
            suffix.push_str(&format!("-bugs-{}", p.bugs.join("+")));
        }
    }
    if p.swarm {
        suffix.push_str("-swarm");
    }
    suffix
}

/// The files a run folder's writer owns: a run removes them before it
/// writes, so none is left from an earlier run into the same folder (a
/// clean run never shows an old counterexample). Charts of the protocol
/// (`chart-*.svg`) are removed too.
pub const OWNED_FILES: [&str; 15] = [
    "summary.json",
    "history.jsonl",
    "history-min.jsonl",
    "lin_window.json",
    "timeline.jsonl",
    "trace.jsonl",
    "observations.jsonl",
    "charts.json",
    "report.html",
    "latency.svg",
    "latency-quantiles.svg",
    "latency-cdf.svg",
    "rate.svg",
    "events.svg",
    "timeline.svg",
];

fn clear_owned(dir: &Path) -> std::io::Result<()> {
    for name in OWNED_FILES {
        match std::fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with("chart-") && name.ends_with(".svg") {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// The exact command that reproduces a run of `file` with `seed`.
pub fn reproduce_command(prefix: &str, file: &str, seed: u64, overrides: &Overrides) -> String {
    let mut cmd = format!("{prefix} run {file} --seed {seed}");
    if overrides.no_bugs {
        cmd.push_str(" --no-bugs");
    }
    if overrides.swarm {
        cmd.push_str(" --swarm");
    }
    for b in &overrides.bugs {
        cmd.push_str(&format!(" --bug {b}"));
    }
    cmd
}

fn io<'a>(dir: &'a Path, what: &'a str) -> impl Fn(std::io::Error) -> String + 'a {
    move |e| format!("{}: {what}{e}", dir.display())
}

/// Runs `seed` of `p` and writes its folder. `reproduce` is the command
/// line that replays it. Errors are one line naming the file (an input or
/// output problem: exit code 2).
pub fn run_to_folder(
    p: &Prepared<'_>,
    seed: u64,
    options: &RunOptions,
    reproduce: String,
) -> Result<RunFolder, String> {
    let dir = options.out.clone().unwrap_or_else(|| {
        default_dir(&p.scenario.name, seed).with_file_name(format!("seed-{seed}{}", settings_suffix(p)))
    });
    std::fs::create_dir_all(&dir).map_err(io(&dir, "cannot create the output folder: "))?;
    clear_owned(&dir).map_err(io(&dir, "cannot clear the output folder: "))?;
    let sink = if options.trace {
        let path = dir.join("trace.jsonl");
        let f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        TraceSink::File(Box::new(std::io::BufWriter::new(f)))
    } else {
        TraceSink::Off
    };
    let start = Instant::now();
    let run = p.run(seed, sink, true).map_err(|e| e.to_string())?;
    let wall_seconds = start.elapsed().as_secs_f64();
    let r = &run.result;
    if let Some(e) = &r.trace_error {
        return Err(format!("{}: writing the trace failed: {e}", dir.display()));
    }
    let verdict = outcome(r);
    // A failed run whose client history is not linearizable gets a shrunk
    // witness and a counterexample window, and the timeline is centred on
    // the operation that could not be placed.
    let mut lin = None;
    if let (Outcome::Failed, Some(history), Some(model)) = (verdict, run.history_jsonl(), run.model) {
        let budget = crate::check::linearizability::Budget::Steps(crate::kit::LINEARIZABILITY_BUDGET);
        lin = crate::report::summary::write_lin_failure(&history, model, &dir, budget).map_err(io(&dir, ""))?;
    }
    let lin_span = lin.as_ref().map(|l| l.span);
    // Replay the seed keeping the timeline window as text: determinism makes
    // the replay the same run, so it also yields the events before a violation.
    // The default is the report's own (`report::timeline::timeline_window`): before
    // the violation, around the counterexample, else around the first fault.
    let window = options.window.unwrap_or_else(|| {
        let violation_ns = r.violation.as_ref().map(|v| v.time_ns);
        let first_fault_ns = r.faults.first().map(|f| f.start_ns);
        crate::report::timeline::timeline_window(violation_ns, lin_span, first_fault_ns, r.end_ns)
    });
    // A window reaching past the run's end keeps nothing more: clamp it there.
    let window = (window.0.min(r.end_ns), window.1.min(r.end_ns));
    let (from_ns, to_ns) = window;
    let replay =
        p.run(seed, TraceSink::Window { from_ns, to_ns, lines: Vec::new() }, false).map_err(|e| e.to_string())?;
    // The replay is also a determinism check: the same seed must give the same trace.
    let nondeterminism = (replay.result.trace_hash != r.trace_hash).then_some(replay.result.trace_hash);
    let verdict = if nondeterminism.is_some() { Outcome::Failed } else { verdict };
    let timeline = replay.result.trace_lines;
    let text = timeline.iter().fold(String::new(), |s, l| s + l + "\n");
    std::fs::write(dir.join("timeline.jsonl"), text).map_err(io(&dir, ""))?;
    let cap = p.scenario.limits.clone().unwrap_or_default().output_bytes;
    let mut notes = Vec::new();
    for (cut, file) in [(r.trace_cut, "trace.jsonl"), (replay.result.trace_cut, "timeline.jsonl")] {
        if cut {
            notes.push(format!("{file} was cut at {} (limits.output_bytes); later events are not in it", bytes(cap)));
        }
    }
    let ctx = SummaryContext {
        scenario: &p.scenario.name,
        protocol: p.protocol.name(),
        seed,
        nodes: p.scenario.nodes,
        clients: p.scenario.workload.as_ref().map_or(0, |w| w.clients),
        bugs: &p.bugs,
        wall_seconds,
        reproduce: &reproduce,
        notes: &notes,
        swarm: p.swarm.then(|| crate::explore::swarm::describe(&p.scenario_for(seed))),
        timeline_window_ns: Some([from_ns, to_ns]),
        lin: lin.as_ref(),
    };
    crate::report::write_run(&dir, &ctx, &run).map_err(io(&dir, ""))?;
    std::fs::write(dir.join("observations.jsonl"), crate::report::summary::notable_jsonl(&r.observations))
        .map_err(io(&dir, ""))?;
    let data = crate::report::load_run_dir(&dir)?;
    crate::report::write_all(&data, &dir, Some(window)).map_err(io(&dir, "writing the report failed: "))?;
    Ok(RunFolder { dir, run, outcome: verdict, wall_seconds, lin, window, timeline, reproduce, notes, nondeterminism })
}

/// `n` bytes in the largest binary unit that divides it evenly enough to read.
fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}
