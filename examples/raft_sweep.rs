//! A stop-gap seed sweep for Raft scenarios until the CLI's `sweep` lands:
//! `cargo run --release --example raft_sweep -- SCENARIO A..B [--no-bugs]`.
//! Prints one line per non-clean seed and a tally.

use std::path::Path;
use std::time::Instant;

use faultline::runner::{outcome, Outcome, Overrides, Prepared};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;
use faultline::Verdict;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = &args[1];
    let (a, b) = args[2].split_once("..").expect("seed range A..B");
    let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
    let overrides = Overrides {
        no_bugs: args.iter().any(|x| x == "--no-bugs"),
        ..Default::default()
    };
    let scenario = Scenario::load(Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
    let protocols = faultline::protocols::builtin();
    let prepared =
        Prepared::new(scenario, path, &protocols, &overrides).unwrap_or_else(|e| panic!("{e}"));
    let (mut failed, mut unknown) = (0, 0);
    let mut by_check = std::collections::BTreeMap::<String, u64>::new();
    let start = Instant::now();
    let mut ops = 0;
    for seed in a..b {
        let run = prepared.run(seed, TraceSink::Off, false).unwrap();
        ops += run.ops;
        if let Ok(dir) = std::env::var("DUMP") {
            std::fs::write(
                format!("{dir}/history-{seed}.jsonl"),
                run.history_jsonl.clone().unwrap_or_default(),
            )
            .unwrap();
        }
        let o = outcome(&run.result);
        if o == Outcome::Clean {
            continue;
        }
        let bad: Vec<String> = run
            .result
            .checks
            .iter()
            .filter(|(_, v)| !matches!(v, Verdict::Pass))
            .map(|(n, v)| format!("{n}={}", v.word()))
            .collect();
        if o == Outcome::Failed {
            failed += 1;
            for (n, v) in &run.result.checks {
                if matches!(v, Verdict::Fail(_)) {
                    *by_check.entry(n.clone()).or_default() += 1;
                }
            }
        } else {
            unknown += 1;
        }
        let detail = run.result.checks.iter().find_map(|(_, v)| match v {
            Verdict::Fail(d) | Verdict::Unknown(d) => {
                Some(d.lines().next().unwrap_or("").to_string())
            }
            _ => None,
        });
        println!(
            "seed {seed}: {o:?} {} ({})",
            bad.join(" "),
            detail.unwrap_or_default()
        );
    }
    println!(
        "{path}: {failed} failed, {unknown} inconclusive of {} seeds; by check {by_check:?}; {ops} ok ops; {:.2}s wall",
        b - a,
        start.elapsed().as_secs_f64()
    );
}
