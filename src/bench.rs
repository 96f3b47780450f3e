//! `faultline bench`: the fixed workloads of DESIGN section 6, each ending in
//! one line `workload=NAME deliveries=N sim_seconds=S wall_seconds=W per_sec=R`
//! (`wakeups=` for timers). Wall time is measured here, outside the
//! simulation; nothing inside a run reads it.

use std::time::{Duration, Instant};

use crate::net::{Latency, LinkModel};
use crate::sim::trace::TraceSink;
use crate::sim::{RunResult, Sim, SimConfig, StopReason};

/// The result of one benchmark run.
#[derive(Clone, Debug)]
pub struct BenchResult {
    /// Workload name.
    pub workload: &'static str,
    /// The counted unit: `deliveries` or `wakeups`.
    pub unit: &'static str,
    /// How many of that unit the run did.
    pub count: u64,
    /// Simulated seconds.
    pub sim_seconds: f64,
    /// Wall seconds.
    pub wall_seconds: f64,
    /// Extra `key=value` fields (raft: committed ops).
    pub extra: Vec<(String, String)>,
}

impl BenchResult {
    /// Units per wall second.
    pub fn per_sec(&self) -> f64 {
        self.count as f64 / self.wall_seconds.max(1e-9)
    }

    /// The one final line.
    pub fn line(&self) -> String {
        let mut s = format!(
            "workload={} {}={} sim_seconds={:.3} wall_seconds={:.3} per_sec={:.0}",
            self.workload,
            self.unit,
            self.count,
            self.sim_seconds,
            self.wall_seconds,
            self.per_sec()
        );
        for (k, v) in &self.extra {
            s.push_str(&format!(" {k}={v}"));
        }
        s
    }
}

/// Names of the benchmark workloads.
pub const WORKLOADS: [&str; 8] =
    ["pingpong", "broadcast", "channels", "timers", "raft", "multipaxos", "twopc", "zk-lock"];

const MS: u64 = 1_000_000;
const FOREVER_NS: u64 = 1_000_000 * 1_000_000_000;

fn timed(f: impl FnOnce() -> RunResult) -> (RunResult, Duration) {
    let start = Instant::now();
    let r = f();
    (r, start.elapsed())
}

fn finished(r: &RunResult) {
    assert_eq!(r.stop, StopReason::Quiescent { blocked: 0 }, "bench workload did not finish cleanly");
}

/// pingpong: 2 nodes, 200,000 round trips at a constant 1 ms.
pub fn pingpong() -> BenchResult {
    const ROUND_TRIPS: u64 = 200_000;
    let mut config = SimConfig::new(1, 2, FOREVER_NS);
    config.link_default = LinkModel { latency: Latency::Constant { ns: MS }, ..LinkModel::default() };
    let mut sim: Sim<u64, ()> = Sim::new(config, TraceSink::Off);
    sim.set_entry(0, |ctx| async move {
        for n in 0..ROUND_TRIPS {
            ctx.send(1, n);
            let reply = ctx.recv().await;
            assert_eq!(reply.msg, n, "pingpong reply out of order");
        }
    });
    sim.set_entry(1, |ctx| async move {
        for _ in 0..ROUND_TRIPS {
            let m = ctx.recv().await;
            ctx.send(m.from, m.msg);
        }
    });
    let (r, wall) = timed(|| sim.run());
    finished(&r);
    result("pingpong", "deliveries", r.net.delivered, &r, wall)
}

/// broadcast: 16 nodes, 2,000 rounds of all-to-all, latency uniform [1, 10] ms.
pub fn broadcast() -> BenchResult {
    const NODES: usize = 16;
    const ROUNDS: u64 = 2_000;
    let mut config = SimConfig::new(1, NODES, FOREVER_NS);
    config.link_default =
        LinkModel { latency: Latency::Uniform { min_ns: MS, max_ns: 10 * MS }, ..LinkModel::default() };
    let mut sim: Sim<u64, ()> = Sim::new(config, TraceSink::Off);
    sim.set_node_entry(|ctx| async move {
        let peers = ctx.peers();
        // Messages of a later round that arrived early, per round offset.
        let mut early: Vec<usize> = vec![0; 4];
        for round in 0..ROUNDS {
            for &p in &peers {
                ctx.send(p, round);
            }
            let mut got = std::mem::take(&mut early[0]);
            early.rotate_left(1);
            while got < peers.len() {
                let m = ctx.recv().await;
                let ahead = (m.msg - round) as usize;
                if ahead == 0 {
                    got += 1;
                } else {
                    early[ahead - 1] += 1;
                }
            }
        }
    });
    let (r, wall) = timed(|| sim.run());
    finished(&r);
    result("broadcast", "deliveries", r.net.delivered, &r, wall)
}

/// channels: two tasks of one node pass a counter back and forth through
/// two channels, 1,000,000 passes in all. Each pass is a channel send that
/// wakes the other task: the cost of a wake-up between a node's tasks, to set
/// beside a network delivery in `pingpong`. No virtual time passes.
pub fn channels() -> BenchResult {
    const PASSES: u64 = 1_000_000;
    let mut config = SimConfig::new(1, 1, FOREVER_NS);
    config.steps_max = 10 * PASSES;
    let mut sim: Sim<u64, ()> = Sim::new(config, TraceSink::Off);
    sim.set_entry(0, |ctx| async move {
        let (to_b, mut at_b) = ctx.channel::<u64>();
        let (to_a, mut at_a) = ctx.channel::<u64>();
        ctx.spawn(async move {
            while let Some(n) = at_b.recv().await {
                if to_a.try_send(n + 1).is_err() {
                    break;
                }
            }
        });
        to_b.try_send(1).expect("b listens");
        while let Some(n) = at_a.recv().await {
            if n >= PASSES {
                break;
            }
            to_b.try_send(n + 1).expect("b listens");
        }
        assert_eq!(at_a.try_recv().ok(), None);
    });
    let (r, wall) = timed(|| sim.run());
    finished(&r);
    result("channels", "passes", PASSES, &r, wall)
}

/// timers: one node, 10,000 tasks, each sleeping uniform [1, 100] ms 100 times.
pub fn timers() -> BenchResult {
    const TASKS: usize = 10_000;
    const SLEEPS: u64 = 100;
    let config = SimConfig::new(1, 1, FOREVER_NS);
    let mut sim: Sim<u64, ()> = Sim::new(config, TraceSink::Off);
    sim.set_entry(0, |ctx| async move {
        for _ in 0..TASKS {
            let c = ctx.clone();
            ctx.spawn(async move {
                for _ in 0..SLEEPS {
                    let d = c.rng().between(MS, 100 * MS);
                    c.sleep(Duration::from_nanos(d)).await;
                }
            });
        }
    });
    let (r, wall) = timed(|| sim.run());
    finished(&r);
    result("timers", "wakeups", r.steps, &r, wall)
}

fn result(workload: &'static str, unit: &'static str, count: u64, r: &RunResult, wall: Duration) -> BenchResult {
    BenchResult {
        workload,
        unit,
        count,
        sim_seconds: r.end_ns as f64 / 1e9,
        wall_seconds: wall.as_secs_f64(),
        extra: vec![("trace_hash".to_string(), crate::sim::trace::hash_hex(r.trace_hash))],
    }
}

/// The `raft` benchmark (DESIGN section 6): 5 nodes, 3 clients offering
/// 100 ops/s (80% writes, 10% cas, 10% reads over 10 keys), 600 simulated
/// seconds, seed 1, latency uniform [1 ms, 5 ms], the four safety checks on.
/// Counts deliveries; `extra` carries `committed_ops` (client ops
/// acknowledged), `sim_per_wall` (simulated seconds per wall second), the
/// trace hash and the kernel's step count.
pub fn raft() -> BenchResult {
    let text = r#"{
        "name": "bench-raft", "protocol": "raft", "nodes": 5, "duration": "600s",
        "network": { "latency": { "dist": "uniform", "min": "1ms", "max": "5ms" } },
        "workload": { "clients": 3, "rate": 100, "keys": 10, "mix": { "read": 0.1, "write": 0.8, "cas": 0.1 } },
        "checks": ["election-safety", "log-matching", "leader-completeness", "state-machine-safety"]
    }"#;
    let (run, wall) = crate::bench::run_clean("raft", text, &crate::protocols::raft::Raft);
    let sim_seconds = run.result.end_ns as f64 / 1e9;
    BenchResult {
        workload: "raft",
        unit: "deliveries",
        count: run.result.net.delivered,
        sim_seconds,
        wall_seconds: wall,
        extra: vec![
            ("committed_ops".to_string(), run.ops.to_string()),
            ("sim_per_wall".to_string(), format!("{:.0}", sim_seconds / wall.max(1e-9))),
            ("trace_hash".to_string(), crate::sim::trace::hash_hex(run.result.trace_hash)),
            ("steps".to_string(), run.result.steps.to_string()),
        ],
    }
}

/// Runs seed 1 of a bench scenario of `protocol` (the `<bench NAME>`
/// scenario `text`) and returns the run and its wall seconds; a bench
/// scenario must run clean, so a protocol regression cannot pass as speed.
pub(crate) fn run_clean(
    name: &str,
    text: &str,
    protocol: &dyn crate::kit::AnyProtocol,
) -> (crate::kit::ProtocolRun, f64) {
    let file = format!("<bench {name}>");
    let scenario = crate::scenario::Scenario::parse(text, &file).expect("the bench scenario parses");
    let protocols = [protocol];
    let prepared = crate::runner::Prepared::new(scenario, &file, &protocols, &Default::default())
        .expect("the bench scenario is valid");
    let start = Instant::now();
    let run = prepared.run(1, crate::sim::trace::TraceSink::Off, false).expect("the bench scenario runs");
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(crate::runner::outcome(&run.result), crate::runner::Outcome::Clean, "bench {name} must run clean");
    (run, wall)
}

/// The `multipaxos` benchmark, `raft`'s workload on Multi-Paxos: 5 nodes,
/// 3 clients offering 100 ops/s (80% writes, 10% cas, 10% reads over 10
/// keys), 600 simulated seconds, seed 1, latency uniform [1 ms, 5 ms], the
/// four safety checks on. `extra` carries the same fields as `raft`'s.
pub fn multipaxos() -> BenchResult {
    let text = r#"{
        "name": "bench-multipaxos", "protocol": "multipaxos", "nodes": 5, "duration": "600s",
        "network": { "latency": { "dist": "uniform", "min": "1ms", "max": "5ms" } },
        "workload": { "clients": 3, "rate": 100, "keys": 10, "mix": { "read": 0.1, "write": 0.8, "cas": 0.1 } },
        "checks": ["agreement", "validity", "promise-kept", "state-machine-safety"]
    }"#;
    let (run, wall) = crate::bench::run_clean("multipaxos", text, &crate::protocols::paxos::MultiPaxos);
    let sim_seconds = run.result.end_ns as f64 / 1e9;
    BenchResult {
        workload: "multipaxos",
        unit: "deliveries",
        count: run.result.net.delivered,
        sim_seconds,
        wall_seconds: wall,
        extra: vec![
            ("committed_ops".to_string(), run.ops.to_string()),
            ("sim_per_wall".to_string(), format!("{:.0}", sim_seconds / wall.max(1e-9))),
            ("trace_hash".to_string(), crate::sim::trace::hash_hex(run.result.trace_hash)),
            ("steps".to_string(), run.result.steps.to_string()),
        ],
    }
}

/// Runs workload `name`, if it is one.
pub fn run_workload(name: &str) -> Option<BenchResult> {
    match name {
        "pingpong" => Some(pingpong()),
        "broadcast" => Some(broadcast()),
        "channels" => Some(channels()),
        "timers" => Some(timers()),
        "raft" => Some(raft()),
        "multipaxos" => Some(multipaxos()),
        "twopc" => Some(crate::protocols::twopc::bench()),
        "zk-lock" => Some(crate::protocols::lock::zk::bench()),
        _ => None,
    }
}
