//! `faultline sweep`: many seeds of one scenario on N threads.
//!
//! Seeds are independent runs, so threads share nothing but a counter of the
//! next seed and the result list; each simulation stays on one thread. The
//! report is sorted by seed, so it does not depend on thread timing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

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
}

/// How a sweep's seeds ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Seeds whose every check passed.
    pub clean: usize,
    /// Seeds where a check failed.
    pub failed: usize,
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
            match r.outcome {
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

    /// The sweep's exit code: 1 if any seed failed, else 3 if any had no verdict, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.failed > 0 {
            1
        } else if self.inconclusive > 0 {
            3
        } else {
            0
        }
    }
}

/// The folder a sweep writes by default: `reports/<scenario>/sweep-A-B`.
pub fn default_sweep_dir(scenario_name: &str, seeds: &std::ops::Range<u64>) -> std::path::PathBuf {
    std::path::PathBuf::from("reports").join(scenario_name).join(format!("sweep-{}-{}", seeds.start, seeds.end))
}

/// What `sweep.json` and `sweep.html` show; `reproduce` gives a seed's command.
pub fn sweep_data(scenario_name: &str, results: &[SeedResult], reproduce: impl Fn(u64) -> String) -> SweepData {
    SweepData {
        scenario: scenario_name.to_string(),
        seeds: results
            .iter()
            .map(|r| SeedRow {
                seed: r.seed,
                outcome: match r.outcome {
                    Outcome::Clean => "clean",
                    Outcome::Failed => "failed",
                    Outcome::Inconclusive => "inconclusive",
                }
                .to_string(),
                failed_check: r.failure.as_ref().map(|(c, _)| c.clone()),
                detail: r.failure.as_ref().map(|(_, d)| d.clone()),
                reproduce: reproduce(r.seed),
                latency_ms_p99: r.latency_ms_p99,
                trace_hash: hash_hex(r.trace_hash),
            })
            .collect(),
    }
}

/// Runs `seeds` of `prepared` on `jobs` threads. `on_done` is called (from
/// worker threads, serialised) after each seed, for progress output. With
/// `stop_on_failure`, workers stop taking seeds after the first failure.
pub fn sweep(
    prepared: &Prepared<'_>,
    seeds: std::ops::Range<u64>,
    jobs: usize,
    stop_on_failure: bool,
    on_done: &(dyn Fn(&SeedResult) + Sync),
) -> Result<Vec<SeedResult>, ScenarioError> {
    // Count seeds taken, not seeds: a range ending near u64::MAX cannot wrap.
    let taken = AtomicU64::new(0);
    let count = seeds.end - seeds.start;
    let stop = AtomicBool::new(false);
    let results = Mutex::new(Vec::new());
    let error = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..(jobs as u64).clamp(1, count.max(1)) {
            scope.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let index = taken.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    return;
                }
                let seed = seeds.start + index;
                let run = match prepared.run(seed, TraceSink::Off, false) {
                    Ok(run) => run,
                    Err(e) => {
                        *error.lock().expect("poisoned") = Some(e);
                        stop.store(true, Ordering::Relaxed);
                        return;
                    }
                };
                let r = &run.result;
                let failure = r.checks.iter().find_map(|(name, v)| match v {
                    Verdict::Fail(detail) => Some((name.clone(), detail.clone())),
                    _ => None,
                });
                let result = SeedResult {
                    seed,
                    outcome: outcome(r),
                    failure,
                    trace_hash: r.trace_hash,
                    latency_ms_p99: run.latency_ms.values().map(|l| l[2]).reduce(f64::max),
                };
                if stop_on_failure && result.outcome == Outcome::Failed {
                    stop.store(true, Ordering::Relaxed);
                }
                let mut all = results.lock().expect("poisoned");
                on_done(&result);
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
