//! Checks see the faults: an invariant can ask which faults were in force
//! when an observation arrived, an end-of-run check sees every fault window,
//! and a violation lists the faults in force in the window before it.

use std::time::Duration;

use faultline::check::{Invariant, RunEnd, Verdict};
use faultline::nemesis::{Fault, FaultLog, ScheduledFault};
use faultline::sim::trace::TraceSink;
use faultline::{NodeId, Sim, SimConfig};

const S: u64 = 1_000_000_000;

/// Fails if node 0 reports a tick while a partition is in force; at the end,
/// passes only if it saw some fault window.
struct NoTickDuringPartition;

impl Invariant<u64> for NoTickDuringPartition {
    fn name(&self) -> &str {
        "no-tick-during-partition"
    }
    fn on_observe(&mut self, t: u64, _node: NodeId, tick: &u64, faults: &FaultLog) -> Result<(), String> {
        match faults.in_force_at(t).find(|w| w.kind == "partition") {
            Some(w) => Err(format!("tick {tick} while {} was in force", w.detail)),
            None => Ok(()),
        }
    }
    fn on_finish(&mut self, end: &RunEnd<'_>) -> Verdict {
        // n1 crashes at 0.5 s and never restarts: down from then on, up before.
        let crashed = end.faults.windows.iter().any(|w| w.kind == "crash");
        assert_eq!(end.faults.is_down_at(1, S), crashed);
        assert!(!end.faults.is_down_at(1, S / 4));
        if end.faults.windows.is_empty() {
            Verdict::Fail("saw no fault".into())
        } else {
            Verdict::Pass
        }
    }
}

fn run(faults: Vec<ScheduledFault>) -> faultline::RunResult {
    let mut c = SimConfig::new(3, 2, 10 * S);
    c.faults = faults;
    let mut sim: Sim<u64, u64> = Sim::new(c, TraceSink::Off);
    sim.set_entry(0, |ctx| async move {
        for tick in 0.. {
            ctx.emit(tick);
            ctx.sleep(Duration::from_secs(1)).await;
        }
    });
    sim.add_invariant(Box::new(NoTickDuringPartition));
    sim.run()
}

#[test]
fn an_invariant_asks_which_faults_are_in_force_and_the_violation_lists_them() {
    let crash = ScheduledFault { at_ns: S / 2, fault: Fault::Crash(1) };
    let partition = ScheduledFault { at_ns: 3 * S + S / 2, fault: Fault::Partition(vec![vec![0], vec![1]]) };
    let r = run(vec![crash, partition]);
    let v = r.violation.expect("a tick during the partition");
    assert_eq!(v.time_ns, 4 * S);
    assert!(v.detail.contains("partition"), "{}", v.detail);
    let kinds: Vec<&str> = v.faults_before.iter().map(|w| w.kind).collect();
    assert_eq!(kinds, ["crash", "partition"], "both were in force in the 2 s before");
}

#[test]
fn without_the_fault_it_passes_and_the_end_of_run_check_sees_every_window() {
    let crash = ScheduledFault { at_ns: S / 2, fault: Fault::Crash(1) };
    let r = run(vec![crash]);
    assert!(r.violation.is_none());
    assert_eq!(r.checks, [("no-tick-during-partition".to_string(), Verdict::Pass)]);
    let r = run(vec![]);
    assert!(matches!(&r.checks[0].1, Verdict::Fail(d) if d == "saw no fault"));
}
