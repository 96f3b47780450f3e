//! Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): each seed of
//! a `--swarm` sweep runs its own fault configuration, drawn from the seed.
//!
//! A fixed mix of every fault at once masks bugs: a crash-only bug hides
//! behind partitions that stop the traffic it needs, a loss bug behind
//! crashes that reset the state it corrupts. Drawing per seed which fault
//! kinds are on, how often, how long, how they aim and how lossy the
//! network is explores configurations no single scenario would name.
//!
//! Why it is shaped so: the draw rewrites the scenario itself (its
//! `nemesis` section and network loss and duplication), from its own
//! `swarm` stream of the seed, before the run resolves it. So the run
//! proper is an ordinary run of an ordinary scenario: `run --swarm --seed
//! N` replays it exactly, the drawn section is printed and kept in
//! `summary.json`, and a user can paste it into a scenario file. The draw
//! also shuffles same-time events (`ties: shuffle`). It stays inside the
//! scenario's bounds: kinds from its nemesis (all kinds
//! if it has none), loss and duplication at most twice its own (a little
//! when it has none), faults stopping where its nemesis stops.

use crate::scenario::{format_duration, Dur, NemesisSpec, Scenario};
use crate::sim::nemesis::{NemesisKind, Target};
use crate::sim::rng::Prng;

/// Highest loss or duplication probability a draw picks.
pub const PROBABILITY_MAX: f64 = 0.3;

/// The scenario seed `seed` runs under `--swarm`: `scenario` with a
/// nemesis and network drawn from the seed. Deterministic: the same
/// scenario and seed give the same draw.
pub fn draw(scenario: &Scenario, seed: u64) -> Scenario {
    let mut rng = Prng::stream(seed, "swarm");
    let mut out = scenario.clone();
    let duration = scenario.duration.0;
    let base = scenario.nemesis.as_ref();
    // Kinds: each of the scenario's on with probability 1/2 (at least one), weighted 1..=3.
    let names: Vec<String> = match base.map(|n| &n.kinds) {
        Some(serde_json::Value::Array(list)) => list.iter().filter_map(|k| k.as_str().map(String::from)).collect(),
        Some(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => NemesisKind::ALL.iter().map(|(_, n)| n.to_string()).collect(),
    };
    let mut names: Vec<String> = names.into_iter().filter(|n| NemesisKind::from_name(n).is_some()).collect();
    names.sort();
    names.dedup();
    let mut kinds = serde_json::Map::new();
    for name in &names {
        if rng.index(2) == 0 {
            kinds.insert(name.clone(), serde_json::json!(rng.between(1, 3)));
        }
    }
    if kinds.is_empty() && !names.is_empty() {
        kinds.insert(names[rng.index(names.len())].clone(), serde_json::json!(1));
    }
    let base_every = base.map_or(duration / 10, |n| n.every.0).max(1_000_000);
    // Whole milliseconds, so the draw reads well and pastes into a file.
    let ms = |ns: u64| (ns / 1_000_000).max(1) * 1_000_000;
    let every = ms(rng.between(base_every / 2, base_every * 2));
    let shortest = ms(rng.between(every / 20, every / 2));
    let longest = ms(rng.between(shortest, every * 2));
    let arrival = ["fixed", "poisson", "uniform"][rng.index(3)];
    let overlap = 1 + rng.index(3);
    let targets: Vec<&str> = Target::ALL.iter().map(|(_, n)| *n).filter(|_| rng.index(2) == 0).collect();
    let stop = base.and_then(|n| n.stop).map_or(duration * 7 / 10, |d| d.0);
    out.nemesis = (!kinds.is_empty()).then(|| NemesisSpec {
        kinds: serde_json::Value::Object(kinds),
        every: Dur(every),
        for_: Some(serde_json::json!([format_duration(shortest), format_duration(longest)])),
        arrival: Some(arrival.to_string()),
        overlap: Some(overlap),
        targets: Some(targets.iter().map(|t| t.to_string()).collect()),
        eligible: base.and_then(|n| n.eligible.clone()),
        start: base.and_then(|n| n.start),
        stop: Some(Dur(stop)),
    });
    // Loss and duplication: up to twice the scenario's own, in steps of 0.001.
    let draw_p = |rng: &mut Prng, own: f64, none: f64| {
        let high = if own > 0.0 { (own * 2.0).min(PROBABILITY_MAX) } else { none };
        (rng.between(0, (high * 1000.0) as u64) as f64) / 1000.0
    };
    out.network.loss = draw_p(&mut rng, scenario.network.loss, 0.02);
    out.network.duplicate = draw_p(&mut rng, scenario.network.duplicate, 0.02);
    // Same-time events in an order of the seed's, too.
    out.ties = Some("shuffle".to_string());
    out
}

/// What a draw set, as JSON for the run header and `summary.json`: the
/// nemesis section (ready to paste into a scenario) and the network's loss
/// and duplication.
pub fn describe(drawn: &Scenario) -> serde_json::Value {
    serde_json::json!({
        "nemesis": drawn.nemesis,
        "loss": drawn.network.loss,
        "duplicate": drawn.network.duplicate,
        "ties": drawn.ties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        Scenario::parse(
            r#"{ "name": "s", "protocol": "raft", "nodes": 5, "duration": "30s", "network": { "loss": 0.01 },
                 "nemesis": { "kinds": ["crash", "pause", "partition"], "every": "2s", "stop": "20s" } }"#,
            "s.json",
        )
        .unwrap()
    }

    #[test]
    fn a_draw_is_a_function_of_the_seed_and_resolves() {
        let s = scenario();
        assert_eq!(draw(&s, 7), draw(&s, 7));
        let draws: Vec<Scenario> = (0..50).map(|seed| draw(&s, seed)).collect();
        let distinct: std::collections::BTreeSet<String> = draws.iter().map(|d| describe(d).to_string()).collect();
        assert!(distinct.len() > 45, "seeds draw different configurations");
        for (seed, d) in draws.iter().enumerate() {
            d.resolve("s.json", seed as u64).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            let n = d.nemesis.as_ref().expect("kinds were listed, so some are on");
            let kinds = n.kinds.as_object().unwrap();
            assert!(kinds.keys().all(|k| ["crash", "pause", "partition"].contains(&k.as_str())), "{kinds:?}");
            assert!(d.network.loss <= 0.02 && d.network.duplicate <= 0.02);
            assert_eq!(n.stop, Some(Dur(20_000_000_000)), "faults stop where the scenario's do");
        }
    }
}
