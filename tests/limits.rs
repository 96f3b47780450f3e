//! A run stays in bounded memory: pending events, messages in flight,
//! unread mail, the client history and output files have caps (`limits`),
//! and a run that reaches one stops with no verdict (exit code 3), saying
//! which limit and when; `summary.json` records the peaks.

use std::time::Duration;

use faultline::runner::{outcome, Outcome, Overrides, Prepared};
use faultline::scenario::Scenario;
use faultline::sim::trace::TraceSink;
use faultline::sim::{Limit, LimitHit, StopReason};
use faultline::{Sim, SimConfig};

const S: u64 = 1_000_000_000;

fn limit_of(stop: &StopReason) -> Limit {
    match stop {
        StopReason::Limit(LimitHit { limit, .. }) => *limit,
        other => panic!("expected a limit, got {other:?}"),
    }
}

#[test]
fn a_protocol_that_sends_faster_than_it_delivers_hits_the_in_flight_cap() {
    let mut c = SimConfig::new(0, 2, 10 * S);
    c.messages_in_flight_max = 1_000;
    let mut sim: Sim<u64, u64> = Sim::new(c, TraceSink::Off);
    sim.set_node_entry(|ctx| async move {
        for i in 0.. {
            // Ten sends per microsecond over a 1 ms link.
            for _ in 0..10 {
                ctx.send(1 - ctx.id(), i);
            }
            ctx.sleep(Duration::from_micros(1)).await;
        }
    });
    let r = sim.run();
    assert_eq!(limit_of(&r.stop), Limit::MessagesInFlight);
    assert!(r.stop.describe().contains("limit: 1,000 messages in flight at 0.000"), "{}", r.stop.describe());
    assert!(r.peak_messages_in_flight > 1_000 && r.peak_messages_in_flight <= 1_020, "{}", r.peak_messages_in_flight);
}

#[test]
fn timers_scheduled_faster_than_they_fall_due_hit_the_pending_events_cap() {
    let mut c = SimConfig::new(0, 1, 10 * S);
    c.pending_events_max = 5_000;
    let mut sim: Sim<u64, u64> = Sim::new(c, TraceSink::Off);
    sim.set_node_entry(|ctx| async move {
        loop {
            // Each wake-up leaves two more sleepers behind.
            for _ in 0..2 {
                let c2 = ctx.clone();
                ctx.spawn(async move { c2.sleep(Duration::from_secs(5)).await });
            }
            ctx.sleep(Duration::from_micros(1)).await;
        }
    });
    let r = sim.run();
    assert_eq!(limit_of(&r.stop), Limit::PendingEvents);
    assert!(r.stop.describe().contains("limit: 5,000 pending events"), "{}", r.stop.describe());
    assert!(r.peak_pending_events > 5_000);
}

#[test]
fn a_node_that_never_reads_its_mail_hits_the_unread_cap() {
    let mut c = SimConfig::new(0, 2, 10 * S);
    c.messages_in_flight_max = 500;
    let mut sim: Sim<u64, u64> = Sim::new(c, TraceSink::Off);
    sim.set_entry(0, |ctx| async move {
        for i in 0.. {
            ctx.send(1, i);
            ctx.sleep(Duration::from_micros(10)).await;
        }
    });
    sim.set_entry(1, |ctx| async move { ctx.sleep(Duration::from_secs(100)).await });
    let r = sim.run();
    assert_eq!(limit_of(&r.stop), Limit::Unread { node: 1 });
    assert!(r.stop.describe().contains("unread messages in n1's mailbox"), "{}", r.stop.describe());
}

#[test]
fn calm_runs_stay_far_below_the_caps_and_report_their_peaks() {
    let mut sim: Sim<u64, u64> = Sim::new(SimConfig::new(0, 2, S), TraceSink::Off);
    sim.set_node_entry(|ctx| async move {
        for i in 0..100 {
            ctx.send(1 - ctx.id(), i);
            let _ = ctx.recv().await;
        }
    });
    let r = sim.run();
    assert!(!r.stop.is_limit(), "{:?}", r.stop);
    assert!((1..=2).contains(&r.peak_messages_in_flight), "{}", r.peak_messages_in_flight);
    assert!(r.peak_pending_events >= 1 && r.peak_pending_events < 10, "{}", r.peak_pending_events);
}

fn raft_calm_with(extra: &str) -> Prepared<'static> {
    let base = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/raft/calm.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&base).unwrap();
    let extra: serde_json::Value = serde_json::from_str(&format!("{{ {extra} }}")).unwrap();
    for (k, v) in extra.as_object().unwrap() {
        value[k] = v.clone();
    }
    let text = value.to_string();
    let scenario = Scenario::parse(&text, "calm.json").unwrap_or_else(|e| panic!("{e}"));
    let protocols: &'static [&'static dyn faultline::kit::AnyProtocol] =
        Box::leak(faultline::protocols::builtin().into_boxed_slice());
    Prepared::new(scenario, "calm.json", protocols, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_one_nanosecond_heartbeat_stops_at_the_pending_events_limit_with_no_verdict() {
    let p = raft_calm_with(
        r#""limits": { "pending_events": 20000 }, "options": { "heartbeat": "1ns", "election_timeout": ["2ms", "3ms"] }"#,
    );
    let run = p.run(0, TraceSink::Off, false).unwrap();
    assert_eq!(limit_of(&run.result.stop), Limit::PendingEvents);
    assert_eq!(outcome(&run.result), Outcome::Inconclusive);
    assert!(run.result.checks.iter().all(|(_, v)| matches!(v, faultline::Verdict::Unknown(_))));
}

#[test]
fn the_history_stops_growing_at_its_cap() {
    let p = raft_calm_with(r#""limits": { "history_ops": 300 }"#);
    let run = p.run(0, TraceSink::Off, false).unwrap();
    assert_eq!(limit_of(&run.result.stop), Limit::HistoryOps);
    assert_eq!(outcome(&run.result), Outcome::Inconclusive);
    let lines = run.history_jsonl().as_deref().unwrap_or("").lines().filter(|l| l.contains("invoke")).count();
    assert_eq!(lines, 300);
}

#[test]
fn an_output_file_over_its_cap_is_cut_and_the_summary_says_so() {
    let p = raft_calm_with(r#""limits": { "output_bytes": 20000 }"#);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("limits-output-cap");
    let _ = std::fs::remove_dir_all(&dir);
    let options = faultline::run_folder::RunOptions { out: Some(dir.clone()), trace: true, window: None };
    let folder = faultline::run_folder::run_to_folder(&p, 0, &options, "repro".into()).unwrap();
    for file in ["trace.jsonl", "timeline.jsonl"] {
        let len = std::fs::metadata(dir.join(file)).unwrap().len();
        assert!(len <= 20_000, "{file} is {len} bytes");
        assert!(folder.notes.iter().any(|n| n.starts_with(file)), "{:?}", folder.notes);
    }
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(summary.contains("timeline.jsonl was cut at 20000 bytes (limits.output_bytes)"), "{summary}");
    assert!(summary.contains("\"peak_pending_events\""), "{summary}");
    // The run itself is not cut short: its verdict stands.
    assert_eq!(folder.outcome, Outcome::Clean);
}
