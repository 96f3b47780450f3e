//! The Kubernetes files as a cluster would read them (none runs here):
//! `scripts/cluster/k8s/*.yaml` parse as YAML and carry what a batch/v1
//! Indexed Job needs to run one shard per index, with the shard count
//! written the same in `completions` and in `--shard`, the same sweep
//! command line as the Slurm and GNU parallel job files, and the results
//! volume shared with the merge Job. The full OpenAPI schema check is
//! `scripts/cluster/k8s/validate.sh` (kubernetes-validate, strict).

use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/scripts/cluster/k8s/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn args(container: &Value) -> Vec<&str> {
    container["args"].as_array().expect("args").iter().map(|a| a.as_str().expect("string arg")).collect()
}

#[test]
fn the_indexed_job_runs_one_shard_per_index() {
    let job = load("job.yaml");
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["kind"], "Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let completions = spec["completions"].as_u64().expect("completions");
    assert!(spec["parallelism"].as_u64().is_some_and(|p| p >= 1 && p <= completions));
    let pod = &spec["template"]["spec"];
    // podFailurePolicy requires restartPolicy Never.
    assert_eq!(pod["restartPolicy"], "Never");
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let sweep = &containers[0];
    assert!(sweep["image"].as_str().is_some_and(|i| !i.is_empty()));
    let a = args(sweep);
    assert_eq!(a[0], "sweep");
    assert!(
        a[1].starts_with("scenarios/") && std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(a[1]).is_file(),
        "{}",
        a[1]
    );
    let after = |flag: &str| a.iter().position(|x| *x == flag).map(|i| a[i + 1]).unwrap_or_else(|| panic!("no {flag}"));
    assert_eq!(
        after("--shard"),
        format!("$(JOB_COMPLETION_INDEX)/{completions}"),
        "the shard count is the completions"
    );
    assert!(faultline::explore::sweep::parse_seeds(after("--seeds")).is_ok());
    assert!(a.contains(&"--resume"), "a retried pod continues its shard");
    // --out is on the shared volume.
    let out = after("--out");
    let mount = sweep["volumeMounts"][0]["mountPath"].as_str().expect("a volume mount");
    assert!(out.starts_with(mount), "{out} is not under {mount}");
    assert_eq!(sweep["volumeMounts"][0]["name"], pod["volumes"][0]["name"]);
    let claim = pod["volumes"][0]["persistentVolumeClaim"]["claimName"].as_str().expect("a claim");
    // Findings (1, 3) end the index without a retry; bad input (2) the Job.
    let rules = spec["podFailurePolicy"]["rules"].as_array().expect("podFailurePolicy");
    let action = |code: u64| {
        rules
            .iter()
            .find(|r| r["onExitCodes"]["values"].as_array().is_some_and(|v| v.contains(&code.into())))
            .map(|r| r["action"].as_str().unwrap())
    };
    assert_eq!((action(1), action(3), action(2)), (Some("FailIndex"), Some("FailIndex"), Some("FailJob")));
    assert!(rules.iter().all(|r| r.get("onExitCodes").is_none_or(|c| c["containerName"] == sweep["name"])));

    let pvc = load("pvc.yaml");
    assert_eq!((pvc["apiVersion"].as_str(), pvc["kind"].as_str()), (Some("v1"), Some("PersistentVolumeClaim")));
    assert_eq!(pvc["metadata"]["name"], claim);
    assert!(pvc["spec"]["accessModes"].as_array().unwrap().contains(&"ReadWriteMany".into()));

    let merge = load("merge.yaml");
    assert_eq!((merge["apiVersion"].as_str(), merge["kind"].as_str()), (Some("batch/v1"), Some("Job")));
    let merge_pod = &merge["spec"]["template"]["spec"];
    assert_eq!(args(&merge_pod["containers"][0]), ["merge", out]);
    assert_eq!(merge_pod["volumes"][0]["persistentVolumeClaim"]["claimName"], claim);
}

#[test]
fn every_job_file_runs_the_same_sweep_command_line() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |p: &str| std::fs::read_to_string(format!("{root}/scripts/cluster/{p}")).unwrap();
    let job = load("job.yaml");
    let a = args(&job["spec"]["template"]["spec"]["containers"][0]);
    let flags: Vec<&str> = a.iter().copied().filter(|x| x.starts_with("--")).collect();
    assert_eq!(flags, ["--seeds", "--shard", "--out", "--jobs", "--resume"]);
    for script in ["slurm/sweep.sbatch", "parallel/sweep.sh"] {
        let text = read(script);
        let line: String = text.lines().skip_while(|l| !l.contains(" sweep \"$scenario\"")).take(2).collect();
        let shown: Vec<&str> = line.split_whitespace().filter(|w| w.starts_with("--")).collect();
        assert_eq!(shown, flags, "{script}: {line}");
    }
}
