//! The command line: a thin clap front end. It parses arguments, calls the
//! library, prints, and maps outcomes to exit codes (0 clean, 1 a check
//! failed, 2 usage or input error, 3 inconclusive). It holds no logic of
//! its own.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use crate::check::lin;
use crate::explore::shard::{Shard, ShardHeader, ShardLine, ShardWriter};
use crate::explore::sweep::{counts_text, default_sweep_dir, parse_seeds, sweep_data, sweep_plan, tally_lines};
use crate::explore::sweep::{link_reports, report_seeds, reports_line, write_seed_reports, FAILURES_SHOWN};
use crate::explore::sweep::{Plan, SeedResult, Tally};
use crate::kit::AnyProtocol as Protocol;
use crate::run_folder::{reproduce_command, run_to_folder, settings_suffix, RunOptions};
use crate::runner::{Outcome, Overrides, Prepared};
use crate::scenario::{format_duration, parse_duration, Scenario};
use crate::sim::trace::hash_hex;

/// Like `std::println!`, but a closed stdout (`faultline ... | head`) ends
/// the process quietly instead of panicking.
macro_rules! println {
    () => { println!("") };
    ($($arg:tt)*) => {{
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

/// faultline: a deterministic simulation testbed for distributed protocols.
#[derive(Parser, Debug)]
#[command(name = "faultline", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one simulation of a scenario.
    Run {
        /// The scenario file.
        scenario: PathBuf,
        /// Seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Output folder (default: reports/<scenario>/seed-<N>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write every event to trace.jsonl.
        #[arg(long)]
        trace: bool,
        /// Window of simulated time saved to timeline.jsonl, e.g. "3s..5s"
        /// (default: the 2 s before the first violation, else 2 s from half a
        /// second before the first fault, else the first 2 s).
        #[arg(long, value_name = "FROM..TO")]
        timeline: Option<String>,
        /// Switch on a planted bug (repeatable).
        #[arg(long = "bug", value_name = "NAME")]
        bugs: Vec<String>,
        /// Clear the scenario's `bugs` list.
        #[arg(long)]
        no_bugs: bool,
        /// Run the seed's swarm draw: a fault configuration (nemesis kinds,
        /// rates, durations, targets, loss, duplication) drawn from the seed.
        #[arg(long)]
        swarm: bool,
    },
    /// Run many seeds of a scenario and list the failing ones.
    Sweep {
        /// The scenario file.
        scenario: PathBuf,
        /// Seeds as A..B (end exclusive).
        #[arg(long, default_value = "0..100")]
        seeds: String,
        /// Threads (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Stop at the first failing seed.
        #[arg(long)]
        stop_on_failure: bool,
        /// Folder for sweep.json and sweep.html (default: reports/<scenario>/sweep-A-B).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Switch on a planted bug (repeatable).
        #[arg(long = "bug", value_name = "NAME")]
        bugs: Vec<String>,
        /// Clear the scenario's `bugs` list.
        #[arg(long)]
        no_bugs: bool,
        /// Swarm testing: each seed runs its own fault configuration drawn
        /// from the seed (see `run --swarm`).
        #[arg(long)]
        swarm: bool,
        /// Share of seeds (0 to 1) run twice to check that the trace hash
        /// repeats; 1 reruns every seed.
        #[arg(long, value_name = "SHARE", default_value_t = crate::explore::sweep::RECHECK_FRACTION)]
        check_determinism: f64,
        /// Run only the seeds with seed % N == I, one JSON line per seed to
        /// OUT/shard-I-of-N.jsonl as each finishes (join shards: `merge`).
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// With --shard: keep the seeds already in the shard's file, run the rest.
        #[arg(long, requires = "shard")]
        resume: bool,
        /// Write the full report (report.html, history, timeline) of the first
        /// N failing seeds into OUT/seed-S/ and link it from sweep.html (with
        /// --shard: of the shard's own first N; 0: none).
        #[arg(long, value_name = "N", default_value_t = 3)]
        reports: usize,
    },
    /// Join `sweep --shard` outputs into one sweep.json and sweep.html.
    Merge {
        /// Shard outputs: folders given to `sweep --shard --out` (their
        /// shard-*.jsonl files), or the files.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Folder for sweep.json and sweep.html (default: the first input
        /// folder, or the first file's folder).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// (Re)draw the plots and report.html of a run folder from its saved files.
    Plot {
        /// Run folders (written by `run`).
        #[arg(required = true)]
        run_dirs: Vec<PathBuf>,
        /// Overlay the latency CDFs and rates of all given runs in one compare.svg.
        #[arg(long)]
        compare: bool,
        /// Where compare.svg goes (default: the current folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Window of the message timeline, e.g. "3s..5s" (must lie within the
        /// saved timeline.jsonl; default: the 2 s before the first violation,
        /// else 2 s from half a second before the first fault, else the first 2 s).
        #[arg(long, value_name = "FROM..TO")]
        timeline: Option<String>,
    },
    /// Shrink a failing seed into a small scenario file that fails the same check on its own.
    Shrink {
        /// The scenario file.
        scenario: PathBuf,
        /// The failing seed.
        #[arg(long)]
        seed: u64,
        /// Switch on a planted bug (repeatable).
        #[arg(long = "bug", value_name = "NAME")]
        bugs: Vec<String>,
        /// Clear the scenario's `bugs` list.
        #[arg(long)]
        no_bugs: bool,
        /// Shrink the seed's swarm draw (as `run --swarm` runs it).
        #[arg(long)]
        swarm: bool,
        /// Where the shrunk scenario goes (default: reports/<scenario>/shrunk-seed-N.json).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Stop minimising after this long and keep the best so far, e.g. "5m".
        #[arg(long, default_value = "5m")]
        time_limit: String,
    },
    /// Check a scenario file without running it.
    Validate {
        /// The scenario file.
        scenario: PathBuf,
    },
    /// List protocols, their checks and bugs, and nemesis kinds.
    List,
    /// Check a history (JSON Lines) for linearizability.
    Check {
        /// The history file.
        history: PathBuf,
        /// register or kv (default: kv if any operation names a key).
        #[arg(long)]
        model: Option<String>,
        /// Give up with `unknown` (exit 3) after this long, e.g. "10s".
        #[arg(long, default_value = "10s")]
        time_limit: String,
        /// Where to write the shrunk witness of a violation
        /// (default: reports/check/<file stem>/history-min.jsonl).
        #[arg(long)]
        witness: Option<PathBuf>,
    },
    /// Run a fixed benchmark workload: pingpong, broadcast, channels, timers, raft, multipaxos, twopc, zk-lock.
    Bench {
        /// The workload.
        workload: String,
        /// Runs; the median's line is printed last.
        #[arg(long, default_value_t = 1)]
        repeat: usize,
    },
}

/// An error that ends the command with exit code 2.
struct InputError(String);

impl<E: std::fmt::Display> From<E> for InputError {
    fn from(e: E) -> Self {
        InputError(e.to_string())
    }
}

/// How the built-in binary is started, for reproduce commands.
pub const COMMAND: &str = "cargo run --release --";

/// Runs the CLI with the built-in protocols; returns the exit code.
pub fn main() -> i32 {
    main_with(&crate::protocols::builtin(), COMMAND)
}

/// Runs the CLI with the given protocols (a user's binary passes its own
/// alongside the built-in ones); `command` is how users start that binary
/// (e.g. `cargo run --release --example mine --`), for reproduce lines.
/// Returns the exit code.
pub fn main_with(protocols: &[&dyn Protocol], command: &str) -> i32 {
    main_args(protocols, command, std::env::args_os())
}

/// Like [`main_with`], but with the given arguments instead of the process's
/// (the first is the program name), so tests and fuzzers can run the CLI in
/// process. Returns the exit code.
pub fn main_args(
    protocols: &[&dyn Protocol],
    command: &str,
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match dispatch(cli.command, protocols, command) {
        Ok(code) => code,
        Err(InputError(message)) => {
            // One line, always: the message may quote input holding a newline.
            let message: String = message
                .chars()
                .map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() })
                .collect();
            eprintln!("faultline: {message}");
            2
        }
    }
}

fn dispatch(command: Command, protocols: &[&dyn Protocol], prefix: &str) -> Result<i32, InputError> {
    match command {
        Command::Run { scenario, seed, out, trace, timeline, bugs, no_bugs, swarm } => {
            let overrides = Overrides { seed, bugs, no_bugs, swarm };
            let window = timeline.map(|t| parse_window(&t)).transpose()?;
            run(&scenario, &overrides, out, trace, window, protocols, prefix)
        }
        Command::Sweep {
            scenario,
            seeds,
            jobs,
            stop_on_failure,
            out,
            bugs,
            no_bugs,
            swarm,
            check_determinism,
            shard,
            resume,
            reports,
        } => {
            if !(0.0..=1.0).contains(&check_determinism) {
                return Err(InputError(format!(
                    "--check-determinism: expected a share between 0 and 1, got {check_determinism}"
                )));
            }
            let overrides = Overrides { seed: None, bugs, no_bugs, swarm };
            let seeds = parse_seeds(&seeds).map_err(|e| InputError(format!("--seeds: {e}")))?;
            let shard = shard.map(|s| Shard::parse(&s)).transpose().map_err(|e| InputError(format!("--shard: {e}")))?;
            let jobs = match jobs {
                Some(j) if !(1..=JOBS_MAX).contains(&j) => {
                    return Err(InputError(format!("--jobs: expected a thread count in 1..={JOBS_MAX}, got {j}")))
                }
                Some(j) => j,
                None => std::thread::available_parallelism().map_or(1, |n| n.get()),
            };
            run_sweep(
                &scenario,
                &overrides,
                SweepOptions { seeds, jobs, stop_on_failure, out, recheck: check_determinism, shard, resume, reports },
                protocols,
                prefix,
            )
        }
        Command::Merge { inputs, out } => merge(&inputs, out),
        Command::Shrink { scenario, seed, bugs, no_bugs, swarm, out, time_limit } => {
            let overrides = Overrides { seed: Some(seed), bugs, no_bugs, swarm };
            shrink(&scenario, &overrides, out, &time_limit, protocols, prefix)
        }
        Command::Validate { scenario } => {
            let prepared = prepare(&scenario, &Overrides::default(), protocols)?;
            println!(
                "{}: ok ({} protocol, {} nodes; checks: {})",
                prepared.file,
                prepared.protocol.name(),
                prepared.scenario.nodes,
                if prepared.checks.is_empty() { "none".to_string() } else { prepared.checks.join(", ") }
            );
            Ok(0)
        }
        Command::Plot { run_dirs, compare, out, timeline } => {
            let window = timeline.map(|t| parse_window(&t)).transpose()?;
            plot(&run_dirs, compare, out, window)
        }
        Command::List => {
            list(protocols);
            Ok(0)
        }
        Command::Check { history, model, time_limit, witness } => check(&history, model, &time_limit, witness),
        Command::Bench { workload, repeat } => bench(&workload, repeat),
    }
}

fn prepare<'p>(path: &Path, overrides: &Overrides, protocols: &[&'p dyn Protocol]) -> Result<Prepared<'p>, InputError> {
    let file = path.display().to_string();
    let scenario = Scenario::load(path)?;
    Ok(Prepared::new(scenario, &file, protocols, overrides)?)
}

fn run(
    path: &Path,
    overrides: &Overrides,
    out: Option<PathBuf>,
    trace: bool,
    window: Option<(u64, u64)>,
    protocols: &[&dyn Protocol],
    prefix: &str,
) -> Result<i32, InputError> {
    let p = prepare(path, overrides, protocols)?;
    let seed = overrides.seed.unwrap_or(p.scenario.seed);
    let sc = p.scenario_for(seed);
    let config = sc.resolve(&p.file, seed)?;
    println!("faultline run: scenario {} ({}) seed {seed}", sc.name, p.file);
    if !sc.description.is_empty() {
        println!("  {}", sc.description);
    }
    println!(
        "  protocol {}, {} nodes, {} clients, duration {}, step limit {}",
        p.protocol.name(),
        config.node_count,
        config.client_count,
        format_duration(config.duration_ns),
        config.steps_max
    );
    let net = &config.link_default;
    println!(
        "  network: latency {}, loss {}, duplicate {}, {} link overrides",
        describe_latency(&net.latency),
        net.loss.as_f64(),
        net.duplicate.as_f64(),
        config.link_overrides.len()
    );
    println!(
        "  faults: {} scripted{}",
        config.faults.len(),
        config.nemesis.as_ref().map_or(String::new(), |n| format!(", nemesis {}", n.describe()))
    );
    if p.swarm {
        println!("  swarm draw of seed {seed}: {}", crate::explore::swarm::describe(&sc));
    }
    println!(
        "  checks: {}; bugs: {}",
        p.checks.join(", "),
        if p.bugs.is_empty() { "none".into() } else { p.bugs.join(", ") }
    );
    let reproduce = reproduce_command(prefix, &p.file, seed, overrides);
    let folder = run_to_folder(&p, seed, &RunOptions { out, trace, window }, reproduce).map_err(InputError)?;
    let (r, dir, lines) = (&folder.run.result, &folder.dir, &folder.timeline);
    println!();
    println!(
        "run {} after {:.3} simulated s ({} events, {:.3} s wall)",
        r.stop.describe(),
        r.end_ns as f64 / 1e9,
        r.events,
        folder.wall_seconds
    );
    println!(
        "messages: {} sent, {} delivered, {} lost, {} cut, {} to down nodes, {} duplicated, {} late replies",
        r.net.sent, r.net.delivered, r.net.lost, r.net.cut, r.net.down, r.net.duplicated, r.net.late
    );
    if folder.run.ops > 0 {
        println!("client operations completed: {}", folder.run.ops);
    }
    for (name, verdict) in &r.checks {
        match verdict {
            // Say why there is no verdict (a check the run never reached, a limit).
            crate::check::Verdict::Unknown(why) => println!("check {name}: unknown ({why})"),
            v => println!("check {name}: {}", v.word()),
        }
    }
    println!("trace hash {}", hash_hex(r.trace_hash));
    for note in &folder.notes {
        println!("note: {note}");
    }
    println!("output: {}", dir.display());
    if let Some(lin) = &folder.lin {
        println!("shrunk non-linearizable history: {}", lin.witness.display());
    }
    println!("report: {}", dir.join("report.html").display());
    let reproduce = &folder.reproduce;
    let verdict = folder.outcome;
    if let Some(second) = folder.nondeterminism {
        println!();
        println!("{}", crate::explore::sweep::nondeterminism_message(seed, r.trace_hash, second));
        println!("  the replay of the seed (for the timeline) took another path: something in the protocol or a check");
        println!(
            "  reads state outside the simulation (a HashMap's iteration order, the wall clock, a thread, a global)"
        );
    }
    if verdict == Outcome::Failed {
        println!();
        if let Some(v) = &r.violation {
            println!(
                "VIOLATION of {} at {:.6} s (event {}{}): {}",
                v.check,
                v.time_ns as f64 / 1e9,
                v.event_index,
                v.node.map_or(String::new(), |n| format!(", node n{n}")),
                v.detail
            );
            if v.faults_before.is_empty() {
                println!("no fault was in force in the {} before it", format_duration(crate::check::FAULTS_BEFORE_NS));
            } else {
                println!("faults in force in the {} before it:", format_duration(crate::check::FAULTS_BEFORE_NS));
                const SHOWN: usize = 8;
                let skipped = v.faults_before.len().saturating_sub(SHOWN);
                if skipped > 0 {
                    println!("  ({skipped} earlier ones, all in summary.json)");
                }
                for f in &v.faults_before[skipped..] {
                    let until =
                        f.end_ns.map_or("still in force".to_string(), |e| format!("until {:.3} s", e as f64 / 1e9));
                    println!(
                        "  {} from {:.3} s, {until}",
                        crate::report::plots::fault_words(&f.detail),
                        f.start_ns as f64 / 1e9
                    );
                }
            }
            // The last events up to and including the violating one, one short line each.
            let briefs: Vec<String> = lines
                .iter()
                .filter_map(|l| crate::report::summary::event_brief(l))
                .filter(|(i, _)| *i <= v.event_index)
                .map(|(_, b)| b)
                .collect();
            println!("last events, up to the violating one (all of them: --trace, or timeline.jsonl):");
            for line in &briefs[briefs.len().saturating_sub(12)..] {
                println!("  {line}");
            }
        } else {
            for (name, verdict) in &r.checks {
                let crate::check::Verdict::Fail(detail) = verdict else { continue };
                println!("FAILED {name}:");
                match &folder.lin {
                    // The history's failure, told from its witness: the few ops that show it.
                    Some(lin) if name == crate::kit::LINEARIZABILITY => print_lin_failure(lin, &r.faults),
                    _ => {
                        for line in detail.lines() {
                            println!("  {line}");
                        }
                    }
                }
            }
        }
        println!();
        println!("reproduce: {reproduce}");
    } else if verdict == Outcome::Inconclusive {
        println!("inconclusive: no verdict for every check (see above)");
    }
    Ok(verdict.exit_code())
}

/// A latency distribution in scenario terms.
fn describe_latency(l: &crate::net::Latency) -> String {
    use crate::net::Latency::*;
    let d = format_duration;
    match *l {
        Constant { ns } => format!("constant {}", d(ns)),
        Uniform { min_ns, max_ns } => format!("uniform {}..{}", d(min_ns), d(max_ns)),
        Normal { mean_ns, stddev_ns, min_ns } => {
            format!("normal mean {} sd {} min {}", d(mean_ns), d(stddev_ns), d(min_ns))
        }
        Exponential { mean_ns, min_ns } => format!("{} + exponential mean {}", d(min_ns), d(mean_ns)),
        LogNormal { median_ns, sigma, min_ns } => {
            format!("{} + lognormal median {} sigma {sigma}", d(min_ns), d(median_ns))
        }
    }
}

/// Parses a window of simulated time, `FROM..TO` (durations).
fn parse_window(s: &str) -> Result<(u64, u64), InputError> {
    let bad = || InputError(format!("--timeline: expected FROM..TO like \"3s..5s\", got {s:?}"));
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let (a, b) = (parse_duration(a).map_err(|_| bad())?, parse_duration(b).map_err(|_| bad())?);
    if a < 0 || b < a {
        return Err(bad());
    }
    Ok((a as u64, b as u64))
}

/// The most threads a sweep may use.
const JOBS_MAX: usize = 1024;

/// How `sweep` runs, apart from the scenario.
struct SweepOptions {
    seeds: std::ops::Range<u64>,
    jobs: usize,
    stop_on_failure: bool,
    out: Option<PathBuf>,
    recheck: f64,
    /// `--shard I/N`: run that shard, writing JSON Lines instead of the report.
    shard: Option<Shard>,
    resume: bool,
    /// `--reports N`: full run folders for the first N failing seeds.
    reports: usize,
}

fn run_sweep(
    path: &Path,
    overrides: &Overrides,
    options: SweepOptions,
    protocols: &[&dyn Protocol],
    prefix: &str,
) -> Result<i32, InputError> {
    let SweepOptions { seeds, jobs, stop_on_failure, out, recheck, shard, resume, reports } = options;
    let p = prepare(path, overrides, protocols)?;
    let reproduce = |seed: u64| reproduce_command(prefix, &p.file, seed, overrides);
    // Check the output folder before running: a sweep's results must not be lost.
    let dir = out.unwrap_or_else(|| default_sweep_dir(&p.scenario.name, &seeds, &settings_suffix(&p)));
    ensure_writable(&dir)
        .map_err(|e| InputError(format!("{}: cannot write the sweep report there: {e}", dir.display())))?;
    // A shard streams its seeds to its JSON Lines file; `--resume` keeps those already there.
    let opened = match shard {
        Some(s) => Some(ShardWriter::open(
            &dir.join(s.file_name()),
            &ShardHeader::new(&p, &seeds, s, recheck, reports as u64)?,
            resume,
        )?),
        None => None,
    };
    let earlier: Vec<SeedResult> = match &opened {
        Some(o) => o.earlier.iter().map(ShardLine::result).collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let skip = earlier.iter().map(|r| r.seed).collect();
    let shard_of = shard.unwrap_or(Shard::WHOLE);
    let total = shard_of.len(&seeds) - earlier.len() as u64;
    println!(
        "faultline sweep: scenario {} ({}) seeds {}..{}{} on {jobs} threads; bugs: {}",
        p.scenario.name,
        p.file,
        seeds.start,
        seeds.end,
        match (shard, &opened) {
            (Some(s), Some(o)) => format!(
                ", shard {s} ({} seeds{}{})",
                shard_of.len(&seeds),
                match o.earlier.len() {
                    0 => String::new(),
                    n => format!(", {n} done before and kept, {total} to run"),
                },
                if o.cut_torn_tail { "; a torn last line was cut off" } else { "" }
            ),
            _ => String::new(),
        },
        if p.bugs.is_empty() { "none".into() } else { p.bugs.join(", ") }
    );
    if let Some(o) = opened.as_ref().filter(|o| o.overwritten > 0) {
        println!(
            "  (started {} anew: {} seeds of an earlier run dropped; --resume keeps them)",
            o.writer.path().display(),
            o.overwritten
        );
    }
    let start = Instant::now();
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {msg} [{elapsed}<{eta}]")
        {
            bar.set_style(style);
        }
        Some(bar)
    } else {
        None
    };
    let failed = std::sync::atomic::AtomicU64::new(0);
    let done = std::sync::atomic::AtomicU64::new(0);
    let on_done = |r: &SeedResult| {
        use std::sync::atomic::Ordering::Relaxed;
        let n = done.fetch_add(1, Relaxed) + 1;
        if r.outcome == Outcome::Failed {
            // The first failing seeds one by one (simulator bugs and nondeterminism always), then a count.
            let k = failed.fetch_add(1, Relaxed) as usize + 1;
            let line = match k <= FAILURES_SHOWN || r.simulator_bug.is_some() || r.nondeterminism.is_some() {
                true => Some(crate::explore::sweep::failure_line(r, reproduce(r.seed))),
                false => (k == FAILURES_SHOWN + 1).then(|| {
                    "(more failing seeds are not printed one by one: the summary below groups them by check, sweep.html lists them all)".to_string()
                }),
            };
            match (&bar, line) {
                (Some(b), Some(line)) => b.println(line),
                (None, Some(line)) => println!("{line}"),
                _ => {}
            }
        }
        match &bar {
            Some(b) => {
                b.set_message(format!("{} failed", failed.load(Relaxed)));
                b.inc(1);
            }
            None if n.is_multiple_of((total / 10).max(1)) => {
                eprintln!("  {n}/{total} seeds, {} failed", failed.load(Relaxed))
            }
            None => {}
        }
        opened.as_ref().is_none_or(|o| o.writer.write(&ShardLine::of(r, reproduce(r.seed))))
    };
    let plan = Plan { seeds, shard: shard_of, skip: &skip, jobs, stop_on_failure, recheck };
    let mut results = sweep_plan(&p, &plan, &on_done)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let wall = start.elapsed().as_secs_f64();
    if let Some(e) = opened.as_ref().and_then(|o| o.writer.error()) {
        return Err(InputError(format!("{e} (the sweep stopped there; rerun with --resume)")));
    }
    let ran = results.len();
    results.extend(earlier);
    results.sort_by_key(|r| r.seed);
    let tally = Tally::of(&results);
    println!();
    match results.len() - ran {
        0 => println!("{ran} seeds run in {wall:.2} s: {}", counts_text(&tally)),
        kept => println!("{ran} seeds run in {wall:.2} s, {kept} kept from before: {}", counts_text(&tally)),
    }
    for line in tally_lines(&results, &tally, reproduce) {
        println!("{line}");
    }
    let (written, report_lines) = write_seed_reports(&p, &report_seeds(&results, reports), &dir, reproduce);
    for line in report_lines {
        println!("{line}");
    }
    if let Some(o) = &opened {
        println!("shard results: {} (join the shards: faultline merge {})", o.writer.path().display(), dir.display());
        return Ok(tally.exit_code());
    }
    let mut data = sweep_data(&p.scenario.name, &results, reports as u64, reproduce);
    link_reports(&mut data, &written);
    crate::report::write_sweep(&dir, &data).map_err(|e| InputError(format!("{}: {e}", dir.display())))?;
    println!("sweep report: {}", dir.join("sweep.html").display());
    Ok(tally.exit_code())
}

/// `merge`: joins shard outputs and writes their sweep.json and sweep.html.
fn merge(inputs: &[PathBuf], out: Option<PathBuf>) -> Result<i32, InputError> {
    let merged = crate::explore::merge::merge(inputs)?;
    let dir = out.unwrap_or_else(|| match inputs[0].is_dir() {
        true => inputs[0].clone(),
        false => inputs[0].parent().filter(|d| !d.as_os_str().is_empty()).map_or(PathBuf::from("."), Path::to_path_buf),
    });
    println!("faultline merge: {}", merged.describe());
    for line in merged.problem_lines() {
        println!("{line}");
    }
    let tally = merged.tally();
    println!();
    println!(
        "{} seeds merged ({:.1} core-seconds{}): {}",
        merged.results.len(),
        merged.core_seconds,
        merged.seeds_per_core_hour().map_or(String::new(), |r| format!(", {r:.0} seeds per core-hour")),
        counts_text(&tally)
    );
    // The lines a sweep prints as its seeds fail, for the seeds a merge alone cannot show elsewhere.
    for r in merged.results.iter().filter(|r| r.simulator_bug.is_some() || r.nondeterminism.is_some()) {
        println!("{}", crate::explore::sweep::failure_line(r, merged.reproduce[&r.seed].clone()));
    }
    for line in tally_lines(&merged.results, &tally, |seed| merged.reproduce[&seed].clone()) {
        println!("{line}");
    }
    let mut data = merged.data();
    std::fs::create_dir_all(&dir).map_err(|e| InputError(format!("{}: {e}", dir.display())))?;
    let (found, notes) = merged.collect_reports(&dir);
    link_reports(&mut data, &found);
    for line in notes.into_iter().chain(reports_line(&dir, &found)) {
        println!("{line}");
    }
    crate::report::write_sweep(&dir, &data).map_err(|e| InputError(format!("{}: {e}", dir.display())))?;
    println!("sweep report: {}", dir.join("sweep.html").display());
    Ok(merged.exit_code())
}

/// Creates `dir` if needed and checks a file can be written in it.
fn ensure_writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(".faultline-write-test");
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(probe)
}

fn plot(
    run_dirs: &[PathBuf],
    compare: bool,
    out: Option<PathBuf>,
    window: Option<(u64, u64)>,
) -> Result<i32, InputError> {
    let runs =
        run_dirs.iter().map(|d| crate::report::load_run_dir(d)).collect::<Result<Vec<_>, _>>().map_err(InputError)?;
    if compare {
        let out = out.unwrap_or_else(|| PathBuf::from("."));
        let path = crate::report::compare(&runs, &out).map_err(|e| InputError(format!("{}: {e}", out.display())))?;
        println!("{}", path.display());
        return Ok(0);
    }
    for (data, dir) in runs.iter().zip(run_dirs) {
        // A window the run did not save would draw empty axes: say so instead.
        if let (Some((from, to)), Some([saved_from, saved_to])) = (window, data.summary.timeline_window_ns) {
            if from < saved_from || to > saved_to {
                return Err(InputError(format!(
                    "{}: --timeline {}..{} is outside the saved timeline ({}..{}); rerun the seed with `run --timeline FROM..TO` to save that window",
                    dir.display(),
                    format_duration(from),
                    format_duration(to),
                    format_duration(saved_from),
                    format_duration(saved_to)
                )));
            }
        }
        // Without --timeline, the window the run saved.
        let window = window.or(data.summary.timeline_window_ns.map(|[from, to]| (from, to)));
        let written =
            crate::report::write_all(data, dir, window).map_err(|e| InputError(format!("{}: {e}", dir.display())))?;
        for path in written {
            println!("{}", path.display());
        }
    }
    Ok(0)
}

fn list(protocols: &[&dyn Protocol]) {
    println!("protocols:");
    for p in protocols {
        println!("  {:<12} {}", p.name(), p.about());
        println!("    checks:");
        for c in p.checks() {
            let needs = match c.needs {
                crate::kit::Needs::Nothing => "",
                crate::kit::Needs::Workload => " (needs a workload)",
                crate::kit::Needs::Liveness => " (needs a liveness section)",
            };
            println!("      {:<24} {}{needs}", c.name, c.about);
        }
        if !p.bugs().is_empty() {
            println!("    bugs:");
            for b in p.bugs() {
                println!("      {:<24} {}", b.name, b.about);
            }
        }
    }
    println!(
        "a scenario without `checks` runs every check of its protocol that it can feed; `\"checks\": []` runs none"
    );
    println!("nemesis kinds:");
    for (_, name) in crate::nemesis::NemesisKind::ALL {
        println!("  {name}");
    }
    println!("scripted faults: partition, cut, heal, crash (+restart_after), restart, pause (+for), resume, skew (+rate), clock_jump (+by)");
    println!("latency distributions: constant, uniform, normal, exponential, lognormal");
    println!("bench workloads: {}", crate::bench::WORKLOADS.join(", "));
}

fn check(path: &Path, model: Option<String>, time_limit: &str, witness: Option<PathBuf>) -> Result<i32, InputError> {
    let file = path.display().to_string();
    let limit = parse_duration(time_limit).map_err(|e| InputError(format!("--time-limit: {e}")))?;
    if limit <= 0 {
        return Err(InputError("--time-limit: expected a positive duration".into()));
    }
    // One deadline for the whole command: reading, the check and the shrink.
    let deadline = Instant::now() + Duration::from_nanos(limit as u64);
    let budget = crate::check::linearizability::Budget::Until(deadline);
    let text = std::fs::read_to_string(path).map_err(|e| InputError(format!("{file}: {e}")))?;
    let history = lin::parse_history(&text).map_err(|e| InputError(format!("{file}: {e}")))?;
    let model = match model {
        Some(m) => m.parse::<lin::Model>().map_err(|e| InputError(format!("--model: {e}")))?,
        None if history.ops().iter().any(|op| op.key.is_some()) => lin::Model::Kv,
        None => lin::Model::Register,
    };
    match lin::check(&history, model, budget) {
        lin::Verdict::Linearizable => {
            println!("linearizable");
            Ok(0)
        }
        lin::Verdict::Unknown => {
            println!("unknown: time limit ({time_limit}) reached before a verdict");
            Ok(3)
        }
        lin::Verdict::NotLinearizable(v) => {
            println!("not linearizable");
            print!("{}", v.render());
            // The shrink stops 5% early, to leave time for writing its witness.
            let shrink_deadline = deadline.checked_sub(Duration::from_nanos(limit as u64 / 20)).unwrap_or(deadline);
            let budget = crate::check::linearizability::Budget::Until(shrink_deadline);
            let shrunk = lin::shrink(&history, model, &v, budget);
            let min = shrunk.history;
            let out = witness.unwrap_or_else(|| {
                let stem = path.file_stem().map_or("history".into(), |s| s.to_string_lossy().to_string());
                PathBuf::from("reports").join("check").join(stem).join("history-min.jsonl")
            });
            let written = out
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|_| std::fs::File::create(&out))
                .and_then(|mut f| match min.len() == history.len() {
                    // Nothing removed: the input is its own witness, as it is.
                    true => f.write_all(text.as_bytes()),
                    false => f.write_all(min.to_jsonl().as_bytes()),
                });
            match written {
                Ok(()) if shrunk.complete => {
                    println!("shrunk witness ({} of {} operations): {}", min.len(), history.len(), out.display())
                }
                Ok(()) => println!(
                    "witness ({} of {} operations; the time limit ({time_limit}) stopped the shrink, this is the \
                     smallest failing history found so far): {}",
                    min.len(),
                    history.len(),
                    out.display()
                ),
                Err(e) => eprintln!("faultline: could not write the witness {}: {e}", out.display()),
            }
            Ok(1)
        }
    }
}

fn bench(workload: &str, repeat: usize) -> Result<i32, InputError> {
    if !crate::bench::WORKLOADS.contains(&workload) {
        return Err(InputError(format!(
            "bench: expected one of {}, got {workload:?}",
            crate::bench::WORKLOADS.join(", ")
        )));
    }
    let mut results = Vec::new();
    for i in 0..repeat.max(1) {
        let r = crate::bench::run_workload(workload).expect("name checked");
        if repeat > 1 {
            eprintln!("run {}: {}", i + 1, r.line());
        }
        results.push(r);
    }
    results.sort_by(|a, b| a.per_sec().total_cmp(&b.per_sec()));
    println!("{}", results[results.len() / 2].line());
    Ok(0)
}

/// `faultline shrink`: minimise a failing seed, print each step, write the scenario.
fn shrink(
    path: &Path,
    overrides: &Overrides,
    out: Option<PathBuf>,
    time_limit: &str,
    protocols: &[&dyn Protocol],
    prefix: &str,
) -> Result<i32, InputError> {
    use crate::explore::shrink::{self, ShrinkError};
    let limit = parse_duration(time_limit).map_err(|e| InputError(format!("--time-limit: {e}")))?;
    let limit = Duration::from_nanos(limit.max(0) as u64);
    let file = path.display().to_string();
    let scenario = Scenario::load(path)?;
    let seed = overrides.seed.unwrap_or(scenario.seed);
    let out =
        out.unwrap_or_else(|| PathBuf::from("reports").join(&scenario.name).join(format!("shrunk-seed-{seed}.json")));
    println!("faultline shrink: scenario {} ({file}) seed {seed}", scenario.name);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    });
    let mut progress = |s: &Scenario, runs: u64| {
        if let Some(b) = &bar {
            b.set_message(format!(
                "{runs} runs: {} faults, {} s, {} clients, {} nodes",
                s.faults.len(),
                s.duration.0 as f64 / 1e9,
                s.workload.as_ref().map_or(0, |w| w.clients),
                s.nodes
            ));
        }
    };
    let started = Instant::now();
    let result = shrink::shrink(scenario, &file, protocols, overrides, seed, Some(started + limit), &mut progress);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let shrunk = match result {
        Ok(s) => s,
        Err(ShrinkError::Input(e)) => return Err(e.into()),
        Err(ShrinkError::NoFailure(m) | ShrinkError::NotReproduced(m)) => return Err(InputError(m)),
    };
    let steps: Vec<String> =
        shrunk.steps.iter().map(|(what, values)| format!("{what} {}", values.join(" -> "))).collect();
    println!("fails {}: {}", shrunk.check, shrunk.detail);
    println!(
        "{} ({} runs in {:.1} s)",
        if steps.is_empty() { "nothing to remove".to_string() } else { steps.join("; ") },
        shrunk.runs,
        started.elapsed().as_secs_f64()
    );
    if shrunk.stopped_early {
        println!("the time limit ({time_limit}) stopped the shrink: the scenario still fails, but may not be minimal");
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| InputError(format!("{}: cannot create: {e}", dir.display())))?;
    }
    std::fs::write(&out, shrink::to_json(&shrunk.scenario))
        .map_err(|e| InputError(format!("{}: cannot write: {e}", out.display())))?;
    println!("shrunk scenario: {}", out.display());
    println!("reproduce: {prefix} run {}", out.display());
    Ok(if shrunk.stopped_early { 3 } else { 0 })
}

/// A linearizability failure for the terminal: the culprit in words, the
/// witness's size and file, the faults around it, then the witness's report.
fn print_lin_failure(lin: &crate::report::summary::LinFailure, faults: &[crate::nemesis::FaultWindow]) {
    println!("  {}", lin.culprit);
    println!(
        "  witness: {} of {} operations, {} (check it alone: cargo run --release -- check {})",
        lin.witness_ops,
        lin.history_ops,
        lin.witness.display(),
        lin.witness.display()
    );
    let (start, end) = lin.span;
    let from = start.saturating_sub(crate::check::FAULTS_BEFORE_NS);
    let near: Vec<_> = faults.iter().filter(|f| f.start_ns <= end && f.end_ns.is_none_or(|e| e >= from)).collect();
    if near.is_empty() {
        println!(
            "  no fault was in force from {} before the witness to its end",
            format_duration(crate::check::FAULTS_BEFORE_NS)
        );
    } else {
        println!(
            "  faults in force from {} before the witness to its end:",
            format_duration(crate::check::FAULTS_BEFORE_NS)
        );
        const SHOWN: usize = 6;
        for f in &near[near.len().saturating_sub(SHOWN)..] {
            let until = f.end_ns.map_or("still in force".to_string(), |e| format!("until {:.3} s", e as f64 / 1e9));
            println!(
                "    {} from {:.3} s, {until}",
                crate::report::plots::fault_words(&f.detail),
                f.start_ns as f64 / 1e9
            );
        }
    }
    let body: Vec<&str> = lin.text.lines().filter(|l| !l.contains(&lin.culprit)).collect();
    const LINES_MAX: usize = 24;
    for line in body.iter().take(LINES_MAX) {
        println!("  {line}");
    }
    if body.len() > LINES_MAX {
        println!("  ... {} more lines in report.html", body.len() - LINES_MAX);
    }
}
