//! The GNU parallel job file for real: `scripts/cluster/parallel/sweep.sh`
//! runs 4 shards of a sweep as 4 parallel jobs and merges them, and the
//! merged `sweep.json` and `sweep.html` are byte for byte those of one sweep
//! of the same range (the same failing seeds, trace hashes and reproduce
//! commands; neither file holds timing). Skipped, with a note, when
//! `parallel` is not installed (`.ci/run` installs it).

use std::path::Path;
use std::process::Command;

#[test]
fn parallel_shards_merge_to_the_single_machine_sweep() {
    if Command::new("parallel").arg("--version").output().map_or(true, |o| !o.status.success()) {
        eprintln!("note: GNU parallel is not installed; skipping the parallel job test (apt-get install parallel)");
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cluster-parallel");
    let _ = std::fs::remove_dir_all(&tmp);
    let (single, shards) = (tmp.join("single"), tmp.join("shards"));
    let scenario = "scenarios/raft/bug-stale-local-read.json";
    let local = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["sweep", scenario, "--seeds", "0..40", "--jobs", "2", "--out", single.to_str().unwrap()])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(local.status.code(), Some(1), "{}", String::from_utf8_lossy(&local.stdout));
    let out = Command::new("bash")
        .args(["scripts/cluster/parallel/sweep.sh", scenario, "0..40", "4", shards.to_str().unwrap()])
        .env("FAULTLINE", env!("CARGO_BIN_EXE_faultline"))
        .env("JOBS", "2")
        .current_dir(root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "merge exits 1: seeds failed\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("seeds 0..40 in 4 shards, 4 files"), "{stdout}");
    assert!(!stdout.contains("MISSING"), "{stdout}");
    for i in 0..4 {
        assert!(shards.join(format!("shard-{i}-of-4.jsonl")).is_file(), "shard {i}'s file");
    }
    let joblog = std::fs::read_to_string(shards.join("parallel-joblog.tsv")).unwrap();
    assert_eq!(joblog.lines().count(), 5, "a header and one row per shard: {joblog}");
    for file in ["sweep.json", "sweep.html"] {
        let (a, b) = (std::fs::read(single.join(file)).unwrap(), std::fs::read(shards.join(file)).unwrap());
        assert!(a == b, "{file}: the merge of the parallel shards differs from the single-machine sweep");
    }
}
