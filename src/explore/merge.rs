//! `faultline merge`: joins the JSON Lines of `sweep --shard` runs into the
//! `sweep.json` and `sweep.html` one sweep of the whole range writes.
//!
//! Why it is shaped so: the merged rows go through the same
//! [`sweep_data`](super::sweep::sweep_data) as a local sweep's, sorted by
//! seed, with each seed's reproduce command as its shard wrote it, so the
//! two reports are byte for byte the same when every seed is there (wall
//! time, the one field two runs of a seed differ in, is in the shard lines
//! but never in `sweep.json`). What a local sweep cannot have, a merge
//! reports: shards with no file, seeds no shard wrote (a killed or lost
//! shard), seeds written twice (a rerun shard: kept once), and seeds whose
//! two lines disagree, which is nondeterminism across machines and fails
//! the merge like a failing seed.
//!
//! Full reports: each shard writes `seed-N/` folders for its own first
//! failing seeds (`--reports N`, in the shard's header). The sweep's first
//! N failing seeds are each among their own shard's first N, so a merge
//! finds every report a one-machine sweep would write; it copies those not
//! already in its output folder there, so the links of `sweep.html` are the
//! same and the folder stands alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::shard::{read_shard_file, ShardHeader, ShardLine};
use super::sweep::{report_folder, report_seeds, sweep_data, SeedResult, Tally};
use crate::report::SweepData;
use crate::runner::Outcome;

/// How many missing seeds the report lists by number.
const MISSING_SHOWN: usize = 10;

/// Shard outputs joined.
#[derive(Clone, Debug)]
pub struct Merged {
    /// The sweep (the first file's header; every file's agrees but for its shard).
    pub header: ShardHeader,
    /// The shard files read, in the order given.
    pub files: Vec<PathBuf>,
    /// One result per seed present, by seed.
    pub results: Vec<SeedResult>,
    /// Each seed's reproduce command, as its shard wrote it.
    pub reproduce: BTreeMap<u64, String>,
    /// Shards of the sweep with no file among the inputs.
    pub missing_shards: Vec<u64>,
    /// Seeds of the range no file has.
    pub missing: u64,
    /// The first few of them.
    pub first_missing: Vec<u64>,
    /// Seeds found in more than one line with the same result (kept once).
    pub duplicated: u64,
    /// Seeds whose lines disagree: one line each, naming both files.
    pub conflicts: Vec<String>,
    /// Files whose torn last line was dropped.
    pub torn: Vec<PathBuf>,
    /// Wall seconds summed over every seed kept: the core time the sweep cost.
    pub core_seconds: f64,
}

/// The shard files in `dir`: every `shard-*.jsonl`, by name.
pub fn shard_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("shard-") && n.ends_with(".jsonl"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "{}: no shard-*.jsonl files (written by `sweep --shard I/N --out` this folder)",
            dir.display()
        ));
    }
    Ok(files)
}

/// Reads and joins `inputs`: folders (their `shard-*.jsonl`) or shard files.
/// Files of different sweeps are an error naming the first field that differs.
pub fn merge(inputs: &[PathBuf]) -> Result<Merged, String> {
    let mut paths = Vec::new();
    for input in inputs {
        let found = match input.is_dir() {
            true => shard_files(input)?,
            false => vec![input.clone()],
        };
        for path in found {
            // A file named twice (a folder and a file in it) is read once.
            let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if !paths.iter().any(|(k, _)| *k == key) {
                paths.push((key, path));
            }
        }
    }
    let mut header: Option<ShardHeader> = None;
    let mut lines: BTreeMap<u64, (ShardLine, usize)> = BTreeMap::new();
    let mut files = Vec::new();
    let mut shards_seen = std::collections::BTreeSet::new();
    let (mut duplicated, mut conflicts, mut torn) = (0u64, Vec::new(), Vec::new());
    let mut nondeterministic: BTreeMap<u64, u64> = BTreeMap::new();
    for (_, path) in paths {
        let file = read_shard_file(&path)?;
        match &header {
            None => header = Some(file.header.clone()),
            Some(first) => {
                if let Some((field, a, b)) = first.differs_from(&file.header) {
                    return Err(format!(
                        "{}: a shard of another sweep than {} ({field} is {b} here, {a} there)",
                        path.display(),
                        files.first().map_or(String::new(), |p: &PathBuf| p.display().to_string())
                    ));
                }
            }
        }
        shards_seen.insert(file.header.shard_index);
        if file.torn_tail {
            torn.push(path.clone());
        }
        let index = files.len();
        files.push(path);
        for line in file.lines {
            match lines.get(&line.seed) {
                None => {
                    lines.insert(line.seed, (line, index));
                }
                Some((kept, _)) if kept.same_result(&line) => duplicated += 1,
                Some((kept, at)) => {
                    conflicts.push(format!(
                        "seed {}: {} (trace hash {}) in {}, but {} (trace hash {}) in {}",
                        line.seed,
                        kept.outcome,
                        kept.trace_hash,
                        files[*at].display(),
                        line.outcome,
                        line.trace_hash,
                        files[index].display()
                    ));
                    if let Ok(r) = line.result() {
                        nondeterministic.entry(line.seed).or_insert(r.trace_hash);
                    }
                }
            }
        }
    }
    let header = header.ok_or("no shard files given")?;
    let mut results = Vec::with_capacity(lines.len());
    let mut reproduce = BTreeMap::new();
    let mut core_seconds = 0.0;
    for (seed, (line, _)) in lines {
        let mut r = line.result().expect("checked when read");
        if let Some(other) = nondeterministic.get(&seed).filter(|h| **h != r.trace_hash) {
            // Two machines ran the seed to different traces: the run is not a
            // function of (scenario, seed), as a failed recheck would show.
            r.nondeterminism = Some(*other);
            r.outcome = Outcome::Failed;
        }
        core_seconds += r.wall_seconds;
        reproduce.insert(seed, line.reproduce);
        results.push(r);
    }
    let range = header.seeds();
    let expected = range.end - range.start;
    let missing = expected - results.len() as u64;
    let mut first_missing = Vec::new();
    if missing > 0 {
        let mut present = results.iter().map(|r| r.seed).peekable();
        for seed in range {
            if present.peek() == Some(&seed) {
                present.next();
            } else {
                first_missing.push(seed);
                if first_missing.len() == MISSING_SHOWN {
                    break;
                }
            }
        }
    }
    let missing_shards = (0..header.shard_count).filter(|i| !shards_seen.contains(i)).take(1000).collect();
    Ok(Merged {
        header,
        files,
        results,
        reproduce,
        missing_shards,
        missing,
        first_missing,
        duplicated,
        conflicts,
        torn,
        core_seconds,
    })
}

impl Merged {
    /// What `sweep.json` and `sweep.html` show (without report links: see
    /// [`Merged::collect_reports`]).
    pub fn data(&self) -> SweepData {
        sweep_data(&self.header.scenario, &self.results, self.header.reports, |seed| self.reproduce[&seed].clone())
    }

    /// Finds the full report of each of the sweep's first `reports` failing
    /// seeds next to the shard files (`seed-N/report.html`) and copies the
    /// folders not already in `out` there. Returns the seeds whose report
    /// is in `out`, and one line per seed whose report was not found or
    /// could not be copied.
    pub fn collect_reports(&self, out: &Path) -> (Vec<u64>, Vec<String>) {
        let (mut found, mut notes) = (Vec::new(), Vec::new());
        let wanted = report_seeds(&self.results, self.header.reports as usize);
        let out_key = std::fs::canonicalize(out).ok();
        for seed in wanted {
            let name = report_folder(seed);
            let source = self
                .files
                .iter()
                .map(|f| f.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).join(&name))
                .find(|d| d.join("report.html").is_file());
            let Some(source) = source else {
                notes.push(format!(
                    "seed {seed}: no full report next to the shard files ({name}/report.html); `faultline run` with its command writes one"
                ));
                continue;
            };
            if std::fs::canonicalize(source.parent().unwrap_or(Path::new("."))).ok() == out_key {
                found.push(seed);
                continue;
            }
            match copy_folder(&source, &out.join(&name)) {
                Ok(()) => found.push(seed),
                Err(e) => notes.push(format!("seed {seed}: cannot copy its report into {}: {e}", out.display())),
            }
        }
        (found, notes)
    }

    /// The tally of the seeds present.
    pub fn tally(&self) -> Tally {
        Tally::of(&self.results)
    }

    /// 1 if a seed failed (or two lines of a seed disagree), else 3 if a
    /// seed is missing or inconclusive, else 0.
    pub fn exit_code(&self) -> i32 {
        match self.tally().exit_code() {
            _ if !self.conflicts.is_empty() => 1,
            0 if self.missing > 0 => 3,
            code => code,
        }
    }

    /// The lines about what is missing, doubled, torn or in conflict
    /// (empty when every seed is there once).
    pub fn problem_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let range = self.header.seeds();
        if !self.missing_shards.is_empty() {
            let shown: Vec<String> =
                self.missing_shards.iter().map(|i| format!("{i}/{}", self.header.shard_count)).collect();
            out.push(format!("MISSING SHARDS: no file for shard {}", shown.join(", ")));
        }
        if self.missing > 0 {
            let more = if self.missing > self.first_missing.len() as u64 { ", ..." } else { "" };
            let shown: Vec<String> = self.first_missing.iter().map(u64::to_string).collect();
            out.push(format!(
                "MISSING: {} of the {} seeds of {}..{} are in no shard file (first: {}{more}); rerun their shards with --resume, then merge again",
                self.missing,
                range.end - range.start,
                range.start,
                range.end,
                shown.join(", ")
            ));
        }
        for path in &self.torn {
            out.push(format!(
                "{}: its last line was cut short (the shard was stopped while writing it) and is left out",
                path.display()
            ));
        }
        if self.duplicated > 0 {
            out.push(format!(
                "duplicated: {} seed lines appear more than once with the same result (kept once)",
                self.duplicated
            ));
        }
        for c in &self.conflicts {
            out.push(format!("CONFLICT: {c}"));
        }
        out
    }

    /// Seeds per core-hour, from the seeds' own wall times.
    pub fn seeds_per_core_hour(&self) -> Option<f64> {
        (self.core_seconds > 0.0).then(|| self.results.len() as f64 * 3600.0 / self.core_seconds)
    }

    /// The merged sweep's one-line description, for the head of the output.
    pub fn describe(&self) -> String {
        let h = &self.header;
        format!(
            "scenario {} ({}) seeds {}..{} in {} shards, {} files; bugs: {}{}; recheck share {}",
            h.scenario,
            h.file,
            h.seeds_start,
            h.seeds_end,
            h.shard_count,
            self.files.len(),
            if h.bugs.is_empty() { "none".to_string() } else { h.bugs.join(", ") },
            if h.swarm { "; swarm" } else { "" },
            h.check_determinism,
        )
    }
}

/// Copies the files of folder `from` (a run folder: files only) into `to`.
/// Files an earlier run left in `to` are removed first, as `run` does.
fn copy_folder(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for name in crate::run_folder::OWNED_FILES {
        match std::fs::remove_file(to.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        if path.is_file() {
            if let Some(name) = path.file_name() {
                std::fs::copy(&path, to.join(name))?;
            }
        }
    }
    Ok(())
}
