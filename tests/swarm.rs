//! `--swarm`: each seed runs its own fault configuration drawn from the
//! seed. The draw is part of the run: the same seed replays the same run,
//! the folder's `summary.json` keeps the draw, the reproduce command says
//! `--swarm`, and different seeds run different configurations.

use faultline::runner::{Overrides, Prepared};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/raft/partitions.json");

fn prepared(swarm: bool) -> Prepared<'static> {
    let scenario = Scenario::load(std::path::Path::new(FILE)).unwrap();
    let protocols: &'static [&'static dyn faultline::kit::AnyProtocol] =
        Box::leak(faultline::protocols::builtin().into_boxed_slice());
    Prepared::new(scenario, FILE, protocols, &Overrides { swarm, ..Default::default() }).unwrap()
}

#[test]
fn a_swarm_seed_replays_and_differs_from_other_seeds() {
    let p = prepared(true);
    let hash = |seed| p.run(seed, TraceSink::Off, false).unwrap().result.trace_hash;
    assert_eq!(hash(3), hash(3), "the draw is a function of the seed");
    assert_ne!(p.scenario_for(3).nemesis, p.scenario_for(4).nemesis, "seeds draw their own faults");
    let plain = prepared(false);
    assert_ne!(
        hash(3),
        plain.run(3, TraceSink::Off, false).unwrap().result.trace_hash,
        "a swarm run is not the file's own run"
    );
}

#[test]
fn a_swarm_run_folder_keeps_its_draw_and_its_reproduce_command() {
    let dir = std::env::temp_dir().join(format!("faultline-swarm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let args = ["faultline", "run", FILE, "--seed", "5", "--swarm", "--out", dir.to_str().unwrap()];
    let code = faultline::cli::main_args(&faultline::protocols::builtin(), "faultline", args.map(Into::into));
    assert!(code == 0 || code == 1, "the run finishes with a verdict: {code}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert!(summary["reproduce"].as_str().unwrap().ends_with("--seed 5 --swarm"), "{}", summary["reproduce"]);
    let drawn = &summary["swarm"]["nemesis"];
    assert_eq!(drawn, &serde_json::to_value(&prepared(true).scenario_for(5).nemesis).unwrap());
    assert!(drawn["kinds"].is_object() && summary["swarm"]["loss"].is_number(), "{drawn}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("swarm draw"));
    let _ = std::fs::remove_dir_all(&dir);
}
