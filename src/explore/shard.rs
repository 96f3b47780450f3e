//! `sweep --shard I/N`: one machine's share of a sweep, written as JSON
//! Lines so that a cluster engine (Slurm, Kubernetes, GNU parallel) can run
//! the shards and `faultline merge` can join them.
//!
//! Why it is shaped so:
//! - A shard is the seeds with `seed % N == I`: it needs no coordination,
//!   and every seed's recheck decision is a hash of the seed alone, so the
//!   shards together run and recheck exactly what one sweep would.
//! - The file opens with one header line naming the sweep (scenario file and
//!   a hash of its bytes, range, shard, bugs, swarm, recheck share, version),
//!   so a resume or a merge of a file from another sweep is refused, not
//!   silently mixed. Then one line per seed, written with a single
//!   `write_all` as the seed finishes: a killed shard keeps every finished
//!   seed, and at most its last line is torn (no newline), which a reader
//!   drops and `--resume` cuts off before it runs the rest.
//! - A line carries everything `sweep.json` shows for the seed (so a merge
//!   writes the same bytes as a local sweep) plus what it does not: the
//!   verdict of every check, ops, and wall seconds. Wall time is the one
//!   field that differs between two runs of a seed; it stays out of
//!   `sweep.json`. Fields added later (`failed_ops`, the header's
//!   `reports`) default when absent, so older files still read.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::sweep::{outcome_word, SeedResult};
use crate::runner::Outcome;
use crate::sim::trace::hash_hex;

/// The part of a seed range one process runs: seeds with `seed % count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard's number, `0..count`.
    pub index: u64,
    /// How many shards the range is cut into.
    pub count: u64,
}

impl Shard {
    /// The whole range: shard 0 of 1.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N` with `0 <= I < N`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("expected I/N with 0 <= I < N (e.g. 0/4), got {s:?}");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether `seed` is in this shard.
    pub fn contains(&self, seed: u64) -> bool {
        seed % self.count == self.index
    }

    /// The shard's first seed in `range`, if it has one.
    fn first(&self, range: &std::ops::Range<u64>) -> Option<u64> {
        let r = range.start % self.count;
        let offset = if self.index >= r { self.index - r } else { self.count - (r - self.index) };
        range.start.checked_add(offset).filter(|f| *f < range.end)
    }

    /// How many seeds of `range` are in this shard.
    pub fn len(&self, range: &std::ops::Range<u64>) -> u64 {
        self.first(range).map_or(0, |f| (range.end - 1 - f) / self.count + 1)
    }

    /// Whether the shard has no seed in `range`.
    pub fn is_empty(&self, range: &std::ops::Range<u64>) -> bool {
        self.len(range) == 0
    }

    /// The shard's `k`-th seed in `range` (`k < self.len(range)`).
    pub fn nth(&self, range: &std::ops::Range<u64>, k: u64) -> u64 {
        self.first(range).expect("k < len") + k * self.count
    }

    /// The shard's file in its output folder: `shard-I-of-N.jsonl`.
    pub fn file_name(&self) -> String {
        format!("shard-{}-of-{}.jsonl", self.index, self.count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The format number of the header's `faultline_shard` field.
pub const FORMAT: u32 = 1;

/// A shard file's first line: which sweep, and which part of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardHeader {
    /// Marks the file as a shard file, and its format ([`FORMAT`]).
    pub faultline_shard: u32,
    /// The faultline version that ran it.
    pub faultline: String,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file, as given on the command line (reproduce commands name it so).
    pub file: String,
    /// A hash (FNV-1a, hex) of the scenario file's bytes.
    pub scenario_hash: String,
    /// The sweep's range, end exclusive.
    pub seeds_start: u64,
    /// See `seeds_start`.
    pub seeds_end: u64,
    /// This shard, `0..shard_count`.
    pub shard_index: u64,
    /// The number of shards.
    pub shard_count: u64,
    /// The planted bugs switched on (after `--bug` and `--no-bugs`).
    pub bugs: Vec<String>,
    /// Whether each seed ran its swarm draw.
    pub swarm: bool,
    /// The share of seeds rerun to check determinism.
    pub check_determinism: f64,
    /// How many of the shard's first failing seeds got a full report
    /// (`--reports N`, in `seed-N/` next to this file); a merge links that
    /// many of the sweep's first failing seeds. Absent (0) in older files.
    #[serde(default)]
    pub reports: u64,
}

impl ShardHeader {
    /// The header of `shard` of a sweep of `prepared` over `seeds`.
    pub fn new(
        prepared: &crate::runner::Prepared<'_>,
        seeds: &std::ops::Range<u64>,
        shard: Shard,
        recheck: f64,
        reports: u64,
    ) -> Result<ShardHeader, String> {
        let bytes = std::fs::read(&prepared.file).map_err(|e| format!("{}: {e}", prepared.file))?;
        Ok(ShardHeader {
            faultline_shard: FORMAT,
            faultline: env!("CARGO_PKG_VERSION").to_string(),
            scenario: prepared.scenario.name.clone(),
            file: prepared.file.clone(),
            scenario_hash: hash_hex(fnv1a(&bytes)),
            seeds_start: seeds.start,
            seeds_end: seeds.end,
            shard_index: shard.index,
            shard_count: shard.count,
            bugs: prepared.bugs.clone(),
            swarm: prepared.swarm,
            check_determinism: recheck,
            reports,
        })
    }

    /// The sweep's range.
    pub fn seeds(&self) -> std::ops::Range<u64> {
        self.seeds_start..self.seeds_end
    }

    /// This file's shard.
    pub fn shard(&self) -> Shard {
        Shard { index: self.shard_index, count: self.shard_count }
    }

    /// The first field, other than the shard index, in which `self` and
    /// `other` differ, as `(field, self's value, other's value)`: `None`
    /// when both are shards of the same sweep.
    pub fn differs_from(&self, other: &ShardHeader) -> Option<(&'static str, String, String)> {
        let fields = |h: &ShardHeader| {
            [
                ("faultline_shard", h.faultline_shard.to_string()),
                ("faultline", h.faultline.clone()),
                ("scenario", h.scenario.clone()),
                ("file", h.file.clone()),
                ("scenario_hash", h.scenario_hash.clone()),
                ("seeds_start", h.seeds_start.to_string()),
                ("seeds_end", h.seeds_end.to_string()),
                ("shard_count", h.shard_count.to_string()),
                ("bugs", h.bugs.join(",")),
                ("swarm", h.swarm.to_string()),
                ("check_determinism", h.check_determinism.to_string()),
            ]
        };
        fields(self).into_iter().zip(fields(other)).find(|(a, b)| a.1 != b.1).map(|(a, b)| (a.0, a.1, b.1))
    }
}

/// FNV-1a, 64 bit: a stable hash of the scenario file, the same on every
/// machine and build (std's hashers promise neither).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// One seed's line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardLine {
    /// The seed.
    pub seed: u64,
    /// As in `sweep.json`: `clean`, `failed`, `inconclusive`, `simulator bug`, `nondeterministic`.
    pub outcome: String,
    /// Every check's verdict: `pass`, `fail` or `unknown`.
    pub checks: BTreeMap<String, String>,
    /// The check that failed, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_check: Option<String>,
    /// What it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The panic message, if the simulation crashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulator_bug: Option<String>,
    /// The rerun's trace hash, when it differed from the first run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_trace_hash: Option<String>,
    /// Whether the seed was rerun to check determinism.
    pub rechecked: bool,
    /// Trace hash, hex.
    pub trace_hash: String,
    /// Completed client operations.
    pub ops: u64,
    /// Client operations that did not complete `ok` (absent, so 0, in
    /// lines of older versions).
    #[serde(default)]
    pub failed_ops: u64,
    /// p99 latency over all ops, ms, if the seed had any.
    pub latency_ms_p99: Option<f64>,
    /// Wall-clock seconds the seed took (with its recheck).
    pub wall_seconds: f64,
    /// The command that reproduces the seed.
    pub reproduce: String,
}

impl ShardLine {
    /// The line of `r`.
    pub fn of(r: &SeedResult, reproduce: String) -> ShardLine {
        ShardLine {
            seed: r.seed,
            outcome: outcome_word(r).to_string(),
            checks: r.checks.iter().cloned().collect(),
            failed_check: r.failure.as_ref().map(|(c, _)| c.clone()),
            detail: r.failure.as_ref().map(|(_, d)| d.clone()),
            simulator_bug: r.simulator_bug.clone(),
            rerun_trace_hash: r.nondeterminism.map(hash_hex),
            rechecked: r.rechecked,
            trace_hash: hash_hex(r.trace_hash),
            ops: r.ops,
            failed_ops: r.failed_ops,
            latency_ms_p99: r.latency_ms_p99,
            wall_seconds: r.wall_seconds,
            reproduce,
        }
    }

    /// The seed's result again (checks in name order).
    pub fn result(&self) -> Result<SeedResult, String> {
        let hash = |field: &str, h: &str| {
            u64::from_str_radix(h, 16)
                .ok()
                .filter(|_| h.len() == 16)
                .ok_or_else(|| format!("{field}: expected 16 hex digits, got {h:?}"))
        };
        let outcome = match self.outcome.as_str() {
            "clean" => Outcome::Clean,
            "inconclusive" => Outcome::Inconclusive,
            "failed" | "simulator bug" | "nondeterministic" => Outcome::Failed,
            other => {
                return Err(format!(
                    "outcome: expected clean, failed, inconclusive, simulator bug or nondeterministic, got {other:?}"
                ))
            }
        };
        let r = SeedResult {
            seed: self.seed,
            outcome,
            failure: self.failed_check.clone().map(|c| (c, self.detail.clone().unwrap_or_default())),
            trace_hash: hash("trace_hash", &self.trace_hash)?,
            latency_ms_p99: self.latency_ms_p99,
            simulator_bug: self.simulator_bug.clone(),
            nondeterminism: self.rerun_trace_hash.as_deref().map(|h| hash("rerun_trace_hash", h)).transpose()?,
            rechecked: self.rechecked,
            checks: self.checks.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            ops: self.ops,
            failed_ops: self.failed_ops,
            wall_seconds: self.wall_seconds,
        };
        if outcome_word(&r) != self.outcome {
            return Err(format!(
                "outcome {:?} does not match the line's other fields (they say {:?})",
                self.outcome,
                outcome_word(&r)
            ));
        }
        Ok(r)
    }

    /// Whether `self` and `other` say the same about their seed: every field
    /// but `wall_seconds`, which differs from run to run.
    pub fn same_result(&self, other: &ShardLine) -> bool {
        ShardLine { wall_seconds: 0.0, ..self.clone() } == ShardLine { wall_seconds: 0.0, ..other.clone() }
    }
}

/// A shard file as read back.
#[derive(Clone, Debug)]
pub struct ShardFile {
    /// The file.
    pub path: PathBuf,
    /// Its header.
    pub header: ShardHeader,
    /// Its seed lines, in file order (seeds finish in any order).
    pub lines: Vec<ShardLine>,
    /// Whether the last line was torn (no newline: the shard was killed
    /// while writing it) and so dropped.
    pub torn_tail: bool,
    /// The length in bytes of the header and the whole lines kept.
    pub kept_bytes: u64,
}

/// Reads a shard file: its header, then its seed lines. A torn last line
/// is dropped (`torn_tail`); any other bad line is an error naming the file
/// and line number. Every seed must lie in the header's range and shard.
pub fn read_shard_file(path: &Path) -> Result<ShardFile, String> {
    let at = |n: usize, e: &dyn std::fmt::Display| format!("{}:{n}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = std::io::BufReader::new(file);
    let mut buf = Vec::new();
    let mut kept_bytes = 0u64;
    let mut header: Option<ShardHeader> = None;
    let mut lines = Vec::new();
    let mut torn_tail = false;
    for number in 1.. {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            torn_tail = true;
            break;
        }
        let text = std::str::from_utf8(&buf).map_err(|e| at(number, &e))?;
        match &header {
            None => {
                let h: ShardHeader = serde_json::from_str(text).map_err(|e| {
                    at(number, &format!("not a faultline shard file (expected its header line {{\"faultline_shard\":{FORMAT},...}}): {e}"))
                })?;
                if h.faultline_shard != FORMAT {
                    return Err(at(
                        number,
                        &format!("shard file format {} (this faultline reads {FORMAT})", h.faultline_shard),
                    ));
                }
                if h.shard_count == 0 || h.shard_index >= h.shard_count || h.seeds_start >= h.seeds_end {
                    return Err(at(number, &"the header's seeds or shard are empty or out of range"));
                }
                header = Some(h);
            }
            Some(h) => {
                let line: ShardLine = serde_json::from_str(text).map_err(|e| at(number, &e))?;
                line.result().map_err(|e| at(number, &e))?;
                if !h.seeds().contains(&line.seed) || !h.shard().contains(line.seed) {
                    return Err(at(
                        number,
                        &format!(
                            "seed {} is not in shard {} of {}..{}",
                            line.seed,
                            h.shard(),
                            h.seeds_start,
                            h.seeds_end
                        ),
                    ));
                }
                lines.push(line);
            }
        }
        kept_bytes += n as u64;
    }
    let header = header.ok_or_else(|| format!("{}: empty: no shard header line", path.display()))?;
    Ok(ShardFile { path: path.to_path_buf(), header, lines, torn_tail, kept_bytes })
}

/// Appends seed lines to a shard file, one `write_all` per line, as seeds
/// finish. A write error is kept (and the caller stops the sweep).
pub struct ShardWriter {
    file: std::fs::File,
    path: PathBuf,
    error: std::sync::Mutex<Option<String>>,
}

/// What opening a shard file for a run found.
pub struct Opened {
    /// The writer.
    pub writer: ShardWriter,
    /// Seeds already in the file (`--resume`), one line each.
    pub earlier: Vec<ShardLine>,
    /// Whether a torn last line was cut off.
    pub cut_torn_tail: bool,
    /// Seed lines of an earlier run that a fresh start (no `--resume`) dropped.
    pub overwritten: usize,
}

impl ShardWriter {
    /// Opens `path` for `header`'s shard. Without `resume`, the file starts
    /// anew. With it, an existing file must be of the same sweep and shard;
    /// its seeds are kept (returned in `earlier`, a seed seen twice once)
    /// and a torn last line is cut off before new lines are appended.
    pub fn open(path: &Path, header: &ShardHeader, resume: bool) -> Result<Opened, String> {
        let exists = std::fs::metadata(path).map(|m| m.len() > 0).unwrap_or(false);
        let fail = |e: std::io::Error| format!("{}: {e}", path.display());
        if resume && exists {
            let old = read_shard_file(path)?;
            let differs = header.differs_from(&old.header).or_else(|| {
                (old.header.shard_index != header.shard_index)
                    .then(|| ("shard_index", header.shard_index.to_string(), old.header.shard_index.to_string()))
            });
            if let Some((field, here, there)) = differs {
                return Err(format!(
                    "{}: --resume: the file is of another sweep ({field} is {there} there, {here} here); use another --out or drop --resume",
                    path.display()
                ));
            }
            let file = std::fs::OpenOptions::new().append(true).open(path).map_err(fail)?;
            if old.torn_tail {
                file.set_len(old.kept_bytes).map_err(fail)?;
            }
            let mut seen = BTreeSet::new();
            let earlier = old.lines.into_iter().filter(|l| seen.insert(l.seed)).collect();
            let writer = ShardWriter { file, path: path.to_path_buf(), error: Default::default() };
            return Ok(Opened { writer, earlier, cut_torn_tail: old.torn_tail, overwritten: 0 });
        }
        let overwritten = match exists {
            true => read_shard_file(path).map_or(0, |f| f.lines.len()),
            false => 0,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut file = std::fs::File::create(path).map_err(fail)?;
        let mut text = serde_json::to_string(header).map_err(|e| e.to_string())?;
        text.push('\n');
        file.write_all(text.as_bytes()).map_err(fail)?;
        let writer = ShardWriter { file, path: path.to_path_buf(), error: Default::default() };
        Ok(Opened { writer, earlier: Vec::new(), cut_torn_tail: false, overwritten })
    }

    /// Appends `line`; false (and the error kept) if it could not be written.
    pub fn write(&self, line: &ShardLine) -> bool {
        let mut text = match serde_json::to_string(line) {
            Ok(text) => text,
            Err(e) => {
                *self.error.lock().expect("poisoned") = Some(e.to_string());
                return false;
            }
        };
        text.push('\n');
        match (&self.file).write_all(text.as_bytes()) {
            Ok(()) => true,
            Err(e) => {
                *self.error.lock().expect("poisoned") = Some(format!("{}: cannot write: {e}", self.path.display()));
                false
            }
        }
    }

    /// The first write error, if any.
    pub fn error(&self) -> Option<String> {
        self.error.lock().expect("poisoned").clone()
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_a_range() {
        for range in [0..10u64, 3..17, 7..8, 5..6, u64::MAX - 9..u64::MAX] {
            for count in [1u64, 2, 3, 4, 7, 11] {
                let mut all = Vec::new();
                for index in 0..count {
                    let shard = Shard { index, count };
                    let seeds: Vec<u64> = (0..shard.len(&range)).map(|k| shard.nth(&range, k)).collect();
                    assert!(seeds.iter().all(|s| range.contains(s) && s % count == index), "{range:?} {shard}");
                    assert_eq!(seeds.len() as u64, range.clone().filter(|s| shard.contains(*s)).count() as u64);
                    all.extend(seeds);
                }
                all.sort_unstable();
                assert_eq!(all, range.clone().collect::<Vec<_>>(), "{range:?} in {count} shards");
            }
        }
    }

    #[test]
    fn shard_parse() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard::parse("0/1"), Ok(Shard::WHOLE));
        for bad in ["4/4", "0/0", "1", "a/b", "-1/3", "1/2/3", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_line_gives_back_its_result() {
        let r = SeedResult {
            seed: 17,
            outcome: Outcome::Failed,
            failure: Some(("linearizability".into(), "two lines\nof detail".into())),
            trace_hash: 0x0123_4567_89ab_cdef,
            latency_ms_p99: Some(12.345_678_901_234_567),
            simulator_bug: None,
            nondeterminism: Some(7),
            rechecked: true,
            checks: vec![("a".into(), "pass".into()), ("linearizability".into(), "fail".into())],
            ops: 99,
            failed_ops: 3,
            wall_seconds: 0.123_456_789_012_345_67,
        };
        let line = ShardLine::of(&r, "faultline run x.json --seed 17".into());
        assert_eq!(line.outcome, "nondeterministic");
        let text = serde_json::to_string(&line).unwrap();
        let back: ShardLine = serde_json::from_str(&text).unwrap();
        assert_eq!(back, line, "{text}");
        assert_eq!(back.result().unwrap(), r);
        let wrong = ShardLine { outcome: "clean".into(), ..line };
        assert!(wrong.result().unwrap_err().contains("does not match"));
    }
}
