//! The seed-drawn nemesis reaches fault interleavings the fixed grid never
//! does. `alignment` is a protocol whose planted bug fires only when one
//! node crashes shortly (under 100 ms) before another resumes from a
//! pause: on the classic grid (one fault every `every`, each lasting
//! exactly `for`) that never happens, whatever the seed; with Poisson
//! arrivals, drawn durations and overlapping faults a sweep finds it.

use std::time::Duration;

use faultline::check::Invariant;
use faultline::kit::{AnyProtocol, Named, NoOptions, Protocol, Setup};
use faultline::nemesis::FaultLog;
use faultline::runner::{outcome, Outcome, Overrides, Prepared};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;
use faultline::sim::{Nanos, NodeId};
use faultline::Ctx;

#[derive(Clone, Debug, Hash, serde::Serialize)]
struct Tick;

struct Alignment;

/// Fails when a node ticks for the first time after a pause that ended
/// under 100 ms after another node crashed: the "bug" is that timing.
#[derive(Default)]
struct CrashBeforeResume {
    last_tick: std::collections::BTreeMap<NodeId, Nanos>,
}

impl Invariant<Tick> for CrashBeforeResume {
    fn name(&self) -> &str {
        "no-crash-before-resume"
    }
    fn on_observe(&mut self, now: Nanos, node: NodeId, _: &Tick, faults: &FaultLog) -> Result<(), String> {
        let since = self.last_tick.insert(node, now).unwrap_or(0);
        for pause in faults.windows.iter().filter(|w| w.kind == "pause" && w.nodes == [node]) {
            let Some(end) = pause.end_ns.filter(|&e| e > since && e <= now) else { continue };
            if let Some(crash) = faults
                .windows
                .iter()
                .find(|w| w.kind == "crash" && w.nodes != [node] && w.start_ns <= end && end - w.start_ns < 100_000_000)
            {
                return Err(format!("n{node} resumed at {end} ns, {} after {}", end - crash.start_ns, crash.detail));
            }
        }
        Ok(())
    }
}

impl Protocol for Alignment {
    type Msg = ();
    type Obs = Tick;
    type Options = NoOptions;
    fn name(&self) -> &'static str {
        "alignment"
    }
    fn about(&self) -> &'static str {
        "fails when a crash lands just before another node's pause ends"
    }
    fn checks(&self) -> &'static [Named] {
        const CHECKS: &[Named] = &[Named::new("no-crash-before-resume", "no crash just before a resume")];
        CHECKS
    }
    fn setup(&self, s: &mut Setup<'_, Self>) {
        s.nodes(|ctx: Ctx<(), Tick>| async move {
            loop {
                ctx.sleep(Duration::from_millis(5)).await;
                ctx.emit(Tick);
            }
        });
        s.invariant("no-crash-before-resume", || Box::<CrashBeforeResume>::default());
    }
}

/// How many of seeds `0..n` fail under `nemesis`.
fn failing(nemesis: &str, n: u64) -> u64 {
    let text = format!(
        r#"{{ "name": "align", "protocol": "alignment", "nodes": 3, "duration": "30s", "nemesis": {nemesis} }}"#
    );
    let scenario = Scenario::parse(&text, "align.json").unwrap_or_else(|e| panic!("{e}"));
    let protocols: [&dyn AnyProtocol; 1] = [&Alignment];
    let p = Prepared::new(scenario, "align.json", &protocols, &Overrides::default()).unwrap();
    (0..n).filter(|&seed| outcome(&p.run(seed, TraceSink::Off, false).unwrap().result) == Outcome::Failed).count()
        as u64
}

#[test]
fn the_fixed_grid_never_aligns_a_crash_with_a_resume() {
    assert_eq!(failing(r#"{ "kinds": ["crash", "pause"], "every": "2s", "for": "1s" }"#, 200), 0);
}

#[test]
fn seed_drawn_timing_and_overlap_find_it() {
    let drawn = r#"{ "kinds": ["crash", "pause"], "every": "2s", "for": ["200ms", "3s"],
                     "arrival": "poisson", "overlap": 2 }"#;
    let found = failing(drawn, 200);
    assert!(found >= 5, "found in {found} of 200 seeds");
}

#[test]
fn eligible_and_targets_are_honoured() {
    // Only node 2 may be hit: a crash of another node never happens, so neither does the bug.
    let only_two = r#"{ "kinds": ["crash", "pause"], "every": "2s", "for": ["200ms", "3s"],
                        "arrival": "poisson", "overlap": 2, "eligible": [2] }"#;
    assert_eq!(failing(only_two, 100), 0);
}

#[test]
fn bad_nemesis_fields_name_their_path() {
    for (nemesis, path) in [
        (r#"{ "kinds": {"crash": "x"}, "every": "1s" }"#, "nemesis.kinds.crash"),
        (r#"{ "kinds": ["crash"], "every": "1s", "for": ["2s", "1s"] }"#, "nemesis.for"),
        (r#"{ "kinds": ["crash"], "every": "1s", "for": ["2s"] }"#, "nemesis.for"),
        (r#"{ "kinds": ["crash"], "every": "1s", "arrival": "often" }"#, "nemesis.arrival"),
        (r#"{ "kinds": ["crash"], "every": "1s", "targets": ["king"] }"#, "nemesis.targets[0]"),
        (r#"{ "kinds": ["crash"], "every": "1s", "eligible": [7] }"#, "nemesis.eligible[0]"),
        (r#"{ "kinds": ["crash"], "every": "1s", "overlap": 0 }"#, "nemesis.overlap"),
    ] {
        let text = format!(
            r#"{{ "name": "a", "protocol": "alignment", "nodes": 3, "duration": "5s", "nemesis": {nemesis} }}"#
        );
        let e = Scenario::parse(&text, "a.json").and_then(|s| s.resolve("a.json", 0).map(|_| ())).expect_err(nemesis);
        assert_eq!(e.path, path, "{nemesis}: {e}");
    }
}
