//! `faultline sweep`: many seeds of one scenario on N threads.
//!
//! Seeds are independent runs, so threads share nothing but a counter of the
//! next seed and the result list; each simulation stays on one thread. The
//! report is sorted by seed, so it does not depend on thread timing. A
//! [`Plan`] may name one shard of the range (`--shard I/N`, see
//! `shard.rs`) and seeds to skip (`--resume`); a whole sweep is shard 0/1.
//! What a sweep prints stays bounded ([`FAILURES_SHOWN`] failing seeds one
//! by one, each with its command, then counts by check and the outlier
//! seeds); the full reports of its first failing seeds are ordinary run
//! folders ([`write_seed_reports`]), written after the seeds, in seed order.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

pub use super::shard::Shard;

use crate::check::Verdict;
use crate::report::{SeedRow, SweepData};
use crate::runner::{outcome, Outcome, Prepared};
use crate::scenario::ScenarioError;
use crate::sim::trace::hash_hex;
use crate::sim::trace::TraceSink;

/// The result of one seed.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Its verdict.
    pub outcome: Outcome,
    /// For a failure: the failed check and its detail.
    pub failure: Option<(String, String)>,
    /// The trace hash.
    pub trace_hash: u64,
    /// p99 latency over all client operations, in ms (if any).
    pub latency_ms_p99: Option<f64>,
    /// The panic message, if the simulation itself crashed on this seed
    /// (then `outcome` is `Failed` and `failure` is `None`).
    pub simulator_bug: Option<String>,
    /// The trace hash of a rerun of this seed, if it was rerun and the two
    /// differ: the run is not a function of (scenario, seed). Then `outcome`
    /// is `Failed`.
    pub nondeterminism: Option<u64>,
    /// Whether this seed was rerun to check determinism.
    pub rechecked: bool,
    /// Every check's verdict word (`pass`, `fail`, `unknown`), in the
    /// order the run registered them; empty for a simulator bug.
    pub checks: Vec<(String, String)>,
    /// Completed client operations.
    pub ops: u64,
    /// Client operations that did not complete `ok`: failed, timed out, or
    /// still open when the run ended (`fail` and `info` in the history).
    pub failed_ops: u64,
    /// Wall-clock seconds this seed took, its recheck included. Timing only:
    /// never part of `sweep.json`, so a merged sweep equals a local one.
    pub wall_seconds: f64,
}

/// How a sweep's seeds ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Seeds whose every check passed.
    pub clean: usize,
    /// Seeds where a check failed.
    pub failed: usize,
    /// Seeds whose simulation panicked (a bug in faultline or in node code).
    pub simulator_bugs: usize,
    /// Seeds rerun to check determinism, and those whose rerun differed.
    pub rechecked: usize,
    /// Seeds whose rerun gave another trace hash.
    pub nondeterministic: usize,
    /// Seeds with no verdict (a limit, or a check that could not tell).
    pub inconclusive: usize,
    /// Failing seeds per failed check.
    pub by_check: std::collections::BTreeMap<String, usize>,
}

impl Tally {
    /// Counts `results`.
    pub fn of(results: &[SeedResult]) -> Tally {
        let mut t = Tally::default();
        for r in results {
            t.rechecked += usize::from(r.rechecked);
            match r.outcome {
                _ if r.simulator_bug.is_some() => t.simulator_bugs += 1,
                _ if r.nondeterminism.is_some() => t.nondeterministic += 1,
                Outcome::Clean => t.clean += 1,
                Outcome::Failed => t.failed += 1,
                Outcome::Inconclusive => t.inconclusive += 1,
            }
            if let Some((c, _)) = &r.failure {
                *t.by_check.entry(c.clone()).or_insert(0) += 1;
            }
        }
        t
    }

    /// The sweep's exit code: 1 if any seed failed or crashed, else 3 if
    /// any had no verdict, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.failed > 0 || self.simulator_bugs > 0 || self.nondeterministic > 0 {
            1
        } else if self.inconclusive > 0 {
            3
        } else {
            0
        }
    }
}

/// `N clean, N failed, N inconclusive` (and simulator bugs, if any): the
/// counts `sweep` and `merge` print after their seed count.
pub fn counts_text(tally: &Tally) -> String {
    format!(
        "{} clean, {} failed, {} inconclusive{}",
        tally.clean,
        tally.failed,
        tally.inconclusive,
        match tally.simulator_bugs {
            0 => String::new(),
            n => format!(", {n} simulator bugs (the simulation panicked; see above)"),
        }
    )
}

/// How many failing seeds a sweep prints one by one as they fail, and how
/// many reproduce commands its summary lists: a sweep with hundreds of
/// failing seeds prints a screenful, not hundreds of blocks (every seed and
/// its command are in `sweep.html` and `sweep.json`).
pub const FAILURES_SHOWN: usize = 20;

/// The lines `sweep` prints when a seed fails: what failed (a failed
/// check's first line, a simulator bug, nondeterminism) and the command
/// that reproduces it.
pub fn failure_line(r: &SeedResult, reproduce: String) -> String {
    let what = match &r.simulator_bug {
        None if r.nondeterminism.is_some() => {
            nondeterminism_message(r.seed, r.trace_hash, r.nondeterminism.unwrap_or(0))
        }
        Some(message) => format!("simulator bug at seed {}: {message}", r.seed),
        None => format!(
            "seed {}: FAIL {}",
            r.seed,
            r.failure
                .as_ref()
                .map_or("(a check failed)".to_string(), |(c, d)| format!("{c}: {}", d.lines().next().unwrap_or("")))
        ),
    };
    format!("{what}\n  reproduce: {reproduce}")
}

/// What a failing seed is counted under: its failed check, or `simulator
/// bug` / `nondeterminism` (the same words as `sweep.html`'s groups).
pub fn failure_kind(r: &SeedResult) -> String {
    match (&r.failure, &r.simulator_bug, r.nondeterminism) {
        (_, Some(_), _) => "simulator bug".to_string(),
        (_, _, Some(_)) => "nondeterminism".to_string(),
        (Some((check, _)), _, _) => check.clone(),
        (None, None, None) => "(a check failed)".to_string(),
    }
}

/// The lines `sweep` and `merge` print under their counts: the determinism
/// recheck; failing seeds grouped by what failed, with the first seeds of
/// each; the reproduce commands of the first [`FAILURES_SHOWN`] failing
/// seeds; and the outlier seeds (highest p99, most failed operations) with
/// their commands, which matter most when no seed failed.
pub fn tally_lines(results: &[SeedResult], tally: &Tally, reproduce: impl Fn(u64) -> String) -> Vec<String> {
    let mut lines = vec![match tally.nondeterministic {
        0 => format!("determinism: {} seeds rerun, every trace hash repeated", tally.rechecked),
        n => format!(
            "NONDETERMINISM: {n} of {} seeds rerun gave another trace hash (see above); the protocol or a check reads state outside the simulation",
            tally.rechecked
        ),
    }];
    let failures: Vec<_> = results.iter().filter(|r| r.outcome == Outcome::Failed).collect();
    let mut groups: std::collections::BTreeMap<String, Vec<u64>> = std::collections::BTreeMap::new();
    for r in &failures {
        groups.entry(failure_kind(r)).or_default().push(r.seed);
    }
    for (kind, seeds) in &groups {
        let first: Vec<String> = seeds.iter().take(8).map(u64::to_string).collect();
        let more = if seeds.len() > first.len() { ", ..." } else { "" };
        lines.push(format!(
            "  {kind}: {} failing seeds of {} (seeds {}{more})",
            seeds.len(),
            results.len(),
            first.join(", ")
        ));
    }
    if !failures.is_empty() {
        lines.push(match failures.len() {
            n if n > FAILURES_SHOWN => {
                format!("reproduce (the first {FAILURES_SHOWN} of {n} failing seeds; all are in sweep.html):")
            }
            _ => "reproduce:".to_string(),
        });
        for r in failures.iter().take(FAILURES_SHOWN) {
            lines.push(format!("  {}", reproduce(r.seed)));
        }
    }
    let outliers = crate::report::sweep::outliers(results.iter().map(|r| (r.seed, r.latency_ms_p99, r.failed_ops)), 1);
    if !outliers.p99.is_empty() || !outliers.failed_ops.is_empty() {
        lines.push("outliers:".to_string());
    }
    for (seed, p99) in &outliers.p99 {
        lines.push(format!("  highest p99 latency: seed {seed} ({p99:.1} ms): {}", reproduce(*seed)));
    }
    for (seed, n) in &outliers.failed_ops {
        lines.push(format!("  most failed operations: seed {seed} ({n}): {}", reproduce(*seed)));
    }
    lines
}

/// The seeds a sweep writes full run reports for: the first `n` failing
/// seeds in seed order, leaving out simulator bugs (their run panics).
pub fn report_seeds(results: &[SeedResult], n: usize) -> Vec<u64> {
    results
        .iter()
        .filter(|r| r.outcome == Outcome::Failed && r.simulator_bug.is_none())
        .take(n)
        .map(|r| r.seed)
        .collect()
}

/// The folder of a seed's full report inside a sweep folder, and the
/// link `sweep.html` gives it.
pub fn report_folder(seed: u64) -> String {
    format!("seed-{seed}")
}

/// Writes the full run folder (`report.html` and the rest, as `faultline
/// run` writes it) of each of `seeds` under `dir/seed-N/`. Returns the
/// seeds written, and the lines to print: where the reports are, and one
/// line per seed whose folder could not be written.
pub fn write_seed_reports(
    prepared: &Prepared<'_>,
    seeds: &[u64],
    dir: &std::path::Path,
    reproduce: impl Fn(u64) -> String,
) -> (Vec<u64>, Vec<String>) {
    let (mut written, mut lines) = (Vec::new(), Vec::new());
    for &seed in seeds {
        let options = crate::run_folder::RunOptions { out: Some(dir.join(report_folder(seed))), ..Default::default() };
        match crate::run_folder::run_to_folder(prepared, seed, &options, reproduce(seed)) {
            Ok(_) => written.push(seed),
            Err(e) => lines.push(format!("seed {seed}: no full report: {e}")),
        }
    }
    lines.extend(reports_line(dir, &written));
    (written, lines)
}

/// `full reports: DIR/seed-N/report.html, ...`, if any was written.
pub fn reports_line(dir: &std::path::Path, seeds: &[u64]) -> Option<String> {
    let paths: Vec<String> =
        seeds.iter().map(|s| dir.join(report_folder(*s)).join("report.html").display().to_string()).collect();
    (!paths.is_empty()).then(|| format!("full reports of the first failing seeds: {}", paths.join(", ")))
}

/// Links each seed whose report folder is written to its `report.html`
/// (relative to the sweep folder).
pub fn link_reports(data: &mut SweepData, written: &[u64]) {
    for row in data.seeds.iter_mut().filter(|row| written.contains(&row.seed)) {
        row.report = Some(format!("{}/report.html", report_folder(row.seed)));
    }
}

/// How many client operations of a history (JSON Lines) did not complete
/// `ok`: its `fail` and `info` completions. A sweep counts them without
/// writing the history ([`crate::kit::ProtocolRun::not_ok_ops`]); this is
/// the definition that count is tested against.
#[cfg(test)]
fn failed_ops(history: &str) -> u64 {
    (history.matches("\"type\":\"fail\"").count() + history.matches("\"type\":\"info\"").count()) as u64
}

/// The folder a sweep writes by default: `reports/<scenario>/sweep-A-B`,
/// plus the run settings' suffix (`-no-bugs`, `-swarm`, ...: see
/// [`crate::run_folder::settings_suffix`]).
pub fn default_sweep_dir(scenario_name: &str, seeds: &std::ops::Range<u64>, suffix: &str) -> std::path::PathBuf {
    std::path::PathBuf::from("reports").join(scenario_name).join(format!("sweep-{}-{}{suffix}", seeds.start, seeds.end))
}

/// The word `sweep.json` gives a seed's outcome: `clean`, `failed`,
/// `inconclusive`, `simulator bug` or `nondeterministic`.
pub fn outcome_word(r: &SeedResult) -> &'static str {
    match r.outcome {
        _ if r.simulator_bug.is_some() => "simulator bug",
        _ if r.nondeterminism.is_some() => "nondeterministic",
        Outcome::Clean => "clean",
        Outcome::Failed => "failed",
        Outcome::Inconclusive => "inconclusive",
    }
}

/// What `sweep.json` and `sweep.html` show; `reproduce` gives a seed's command.
/// `reports` is how many failing seeds get a full report (`--reports N`);
/// [`link_reports`] links those written.
pub fn sweep_data(
    scenario_name: &str,
    results: &[SeedResult],
    reports: u64,
    reproduce: impl Fn(u64) -> String,
) -> SweepData {
    SweepData {
        scenario: scenario_name.to_string(),
        reports,
        seeds: results
            .iter()
            .map(|r| SeedRow {
                seed: r.seed,
                outcome: outcome_word(r).to_string(),
                failed_check: r.failure.as_ref().map(|(c, _)| c.clone()),
                detail: r
                    .failure
                    .as_ref()
                    .map(|(_, d)| d.clone())
                    .or_else(|| r.simulator_bug.clone())
                    .or_else(|| r.nondeterminism.map(|b| nondeterminism_message(r.seed, r.trace_hash, b))),
                reproduce: reproduce(r.seed),
                latency_ms_p99: r.latency_ms_p99,
                trace_hash: hash_hex(r.trace_hash),
                ops: r.ops,
                failed_ops: r.failed_ops,
                report: None,
            })
            .collect(),
    }
}

/// The share of a sweep's seeds rerun to check that a run is a function of
/// (scenario, seed) (FoundationDB reruns 5% of its simulations).
pub const RECHECK_FRACTION: f64 = 0.05;

/// The one line that reports a nondeterministic seed.
pub fn nondeterminism_message(seed: u64, first: u64, second: u64) -> String {
    format!("nondeterminism: seed {seed} gave trace hashes {} then {}", hash_hex(first), hash_hex(second))
}

/// Whether `seed` is among the `fraction` of seeds rerun: a hash of the
/// seed, so the choice is the same on every machine and thread count.
pub fn rechecks(seed: u64, fraction: f64) -> bool {
    if fraction >= 1.0 {
        return true;
    }
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z as f64) < fraction * u64::MAX as f64
}

/// Runs `seeds` of `prepared` on `jobs` threads, rerunning
/// [`RECHECK_FRACTION`] of them to check determinism. `on_done` is called
/// (from worker threads, serialised) after each seed, for progress output.
/// With `stop_on_failure`, workers stop taking seeds after the first failure.
pub fn sweep(
    prepared: &Prepared<'_>,
    seeds: std::ops::Range<u64>,
    jobs: usize,
    stop_on_failure: bool,
    on_done: &(dyn Fn(&SeedResult) + Sync),
) -> Result<Vec<SeedResult>, ScenarioError> {
    sweep_rechecking(prepared, seeds, jobs, stop_on_failure, RECHECK_FRACTION, on_done)
}

/// [`sweep`], rerunning the share `recheck` (0 to 1) of its seeds.
pub fn sweep_rechecking(
    prepared: &Prepared<'_>,
    seeds: std::ops::Range<u64>,
    jobs: usize,
    stop_on_failure: bool,
    recheck: f64,
    on_done: &(dyn Fn(&SeedResult) + Sync),
) -> Result<Vec<SeedResult>, ScenarioError> {
    let skip = BTreeSet::new();
    let plan = Plan { seeds, shard: Shard::WHOLE, skip: &skip, jobs, stop_on_failure, recheck };
    sweep_plan(prepared, &plan, &|r| {
        on_done(r);
        true
    })
}

/// Which seeds a sweep runs and how.
#[derive(Clone, Debug)]
pub struct Plan<'a> {
    /// The sweep's whole range (end exclusive).
    pub seeds: std::ops::Range<u64>,
    /// The part of the range this process runs ([`Shard::WHOLE`] for all).
    pub shard: Shard,
    /// Seeds of the shard not to run (already done: `--resume`).
    pub skip: &'a BTreeSet<u64>,
    /// Threads.
    pub jobs: usize,
    /// Stop taking seeds after the first failure.
    pub stop_on_failure: bool,
    /// The share of seeds rerun to check determinism (see [`rechecks`]).
    pub recheck: f64,
}

/// Runs the seeds of `plan`'s shard of its range, less `plan.skip`. Which
/// seeds are rechecked depends on the seed alone, so a shard reruns exactly
/// the seeds a whole sweep would. `on_done` is called (from worker threads,
/// serialised) after each seed; when it returns false, workers stop taking
/// seeds (a shard whose output file cannot be written stops).
pub fn sweep_plan(
    prepared: &Prepared<'_>,
    plan: &Plan<'_>,
    on_done: &(dyn Fn(&SeedResult) -> bool + Sync),
) -> Result<Vec<SeedResult>, ScenarioError> {
    // Count seeds taken, not seeds: a range ending near u64::MAX cannot wrap.
    let taken = AtomicU64::new(0);
    let count = plan.shard.len(&plan.seeds);
    let stop = AtomicBool::new(false);
    let results = Mutex::new(Vec::new());
    let error = Mutex::new(None);
    install_panic_hook();
    // A clean seed's recheck needs only its trace hash: the same run with
    // no checks registered (checks only watch; they never change a trace).
    let unchecked = Prepared {
        scenario: prepared.scenario.clone(),
        file: prepared.file.clone(),
        protocol: prepared.protocol,
        bugs: prepared.bugs.clone(),
        checks: Vec::new(),
        swarm: prepared.swarm,
    };
    let threads = (plan.jobs as u64).clamp(1, count.saturating_sub(plan.skip.len() as u64).max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                SWEEP_WORKER.with(|w| w.set(true));
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let index = taken.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    return;
                }
                let seed = plan.shard.nth(&plan.seeds, index);
                if plan.skip.contains(&seed) {
                    continue;
                }
                let result = match run_seed(prepared, &unchecked, seed, rechecks(seed, plan.recheck)) {
                    Ok(result) => result,
                    Err(e) => {
                        *error.lock().expect("poisoned") = Some(e);
                        stop.store(true, Ordering::Relaxed);
                        return;
                    }
                };
                if plan.stop_on_failure && result.outcome == Outcome::Failed {
                    stop.store(true, Ordering::Relaxed);
                }
                let mut all = results.lock().expect("poisoned");
                if !on_done(&result) {
                    stop.store(true, Ordering::Relaxed);
                }
                all.push(result);
            });
        }
    });
    if let Some(e) = error.into_inner().expect("poisoned") {
        return Err(e);
    }
    let mut results = results.into_inner().expect("poisoned");
    results.sort_by_key(|r| r.seed);
    Ok(results)
}

/// Runs one seed, and again to compare trace hashes if `recheck` (a clean
/// seed's rerun goes through `unchecked`, which registers no check: it
/// costs less and must give the same trace; a failing seed's rerun is the
/// full run, which stops at the same violation). A panic inside the
/// simulation is caught and becomes the seed's result (`simulator_bug`),
/// so the sweep goes on to the next seed.
fn run_seed(
    prepared: &Prepared<'_>,
    unchecked: &Prepared<'_>,
    seed: u64,
    recheck: bool,
) -> Result<SeedResult, ScenarioError> {
    // Wall time is measured around the simulation, never inside it.
    let started = std::time::Instant::now();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        PANIC_WHERE.with(|w| w.borrow_mut().take());
        let run = prepared.run(seed, TraceSink::Off, false)?;
        let again = match recheck {
            true if outcome(&run.result) == Outcome::Clean => {
                Some(unchecked.run(seed, TraceSink::Off, false)?.result.trace_hash)
            }
            true => Some(prepared.run(seed, TraceSink::Off, false)?.result.trace_hash),
            false => None,
        };
        Ok::<_, ScenarioError>((run, again))
    }));
    let (run, again) = match caught {
        Ok(run) => run?,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic with a non-text payload".to_string());
            let location = PANIC_WHERE.with(|w| w.borrow_mut().take());
            let message = match location {
                Some(at) => format!("{message} (at {at})"),
                None => message,
            };
            return Ok(SeedResult {
                seed,
                outcome: Outcome::Failed,
                failure: None,
                trace_hash: 0,
                latency_ms_p99: None,
                simulator_bug: Some(message),
                nondeterminism: None,
                rechecked: false,
                checks: Vec::new(),
                ops: 0,
                failed_ops: 0,
                wall_seconds: started.elapsed().as_secs_f64(),
            });
        }
    };
    let r = &run.result;
    let failure = r.checks.iter().find_map(|(name, v)| match v {
        Verdict::Fail(detail) => Some((name.clone(), detail.clone())),
        _ => None,
    });
    let nondeterminism = again.filter(|h| *h != r.trace_hash);
    Ok(SeedResult {
        seed,
        outcome: if nondeterminism.is_some() { Outcome::Failed } else { outcome(r) },
        failure,
        trace_hash: r.trace_hash,
        latency_ms_p99: run.latency_ms.values().map(|l| l[2]).reduce(f64::max),
        simulator_bug: None,
        nondeterminism,
        rechecked: recheck,
        checks: r.checks.iter().map(|(name, v)| (name.clone(), v.word().to_string())).collect(),
        ops: run.ops,
        failed_ops: run.not_ok_ops(),
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

thread_local! {
    /// Where the last panic on a sweep worker happened, from the panic hook.
    static PANIC_WHERE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    /// Whether this thread is a sweep worker (its panics are findings, printed by the sweep).
    static SWEEP_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs, once per process, a panic hook that keeps a sweep worker's
/// panic location for its seed's result instead of printing it; panics
/// elsewhere go to the hook that was there before.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if SWEEP_WORKER.with(|w| w.get()) {
                let at = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
                PANIC_WHERE.with(|w| *w.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

/// Parses `A..B` (end exclusive) or a single seed `A`.
pub fn parse_seeds(s: &str) -> Result<std::ops::Range<u64>, String> {
    let bad = || format!("expected seeds as A..B (end exclusive) or one seed N, got {s:?}");
    match s.split_once("..") {
        Some((a, b)) => {
            let a: u64 = a.trim().parse().map_err(|_| bad())?;
            let b: u64 = b.trim().parse().map_err(|_| bad())?;
            if a >= b {
                return Err(format!("expected a non-empty range A..B with A < B, got {s:?}"));
            }
            Ok(a..b)
        }
        None => {
            let a: u64 = s.trim().parse().map_err(|_| bad())?;
            let end = a.checked_add(1).ok_or_else(|| {
                format!("seed {a} is the largest there is and cannot be swept; the largest sweepable seed is {}", a - 1)
            })?;
            Ok(a..end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_ops_are_counted_as_the_history_file_counts_them() {
        // A leader isolated under client load: some ops time out or fail.
        let file = "scenarios/raft/leader-isolation.json";
        let scenario = crate::scenario::Scenario::load(std::path::Path::new(file)).expect("the scenario loads");
        let protocols = crate::protocols::builtin();
        let prepared = Prepared::new(scenario, file, &protocols, &Default::default()).expect("the scenario is valid");
        let mut some_failed = false;
        for seed in 0..3 {
            let run = prepared.run(seed, TraceSink::Off, false).expect("the seed runs");
            let from_file = failed_ops(&run.history_jsonl().expect("a history"));
            assert_eq!(run.not_ok_ops(), from_file, "seed {seed}");
            some_failed |= from_file > 0;
        }
        assert!(some_failed, "the seeds should have ops that did not complete ok");
    }
}
