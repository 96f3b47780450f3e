//! A protocol's own report pieces reach the run folder: a `Reporter`'s
//! stats land in `summary.json`'s `protocol_stats`, its span charts in
//! `charts.json` and `report.html`, and a client history the protocol
//! records itself (`Setup::client_history`) in `history.jsonl`, where the
//! report reads its operations. A run without them leaves no stale
//! `charts.json` behind.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use faultline::check::RunEnd;
use faultline::kit::{AnyProtocol, ClientHistory, Extras, Mark, Named, NoOptions, Protocol, Reporter, Setup};
use faultline::kit::{Span, SpanChart, SpanLane};
use faultline::run_folder::{run_to_folder, RunOptions};
use faultline::runner::{Overrides, Prepared};
use faultline::scenario::Scenario;
use faultline::sim::{Nanos, NodeId};
use faultline::Ctx;

#[derive(Clone, Debug, Hash)]
struct Beat(u64);

#[derive(Clone, Debug, Hash, serde::Serialize)]
enum Obs {
    Sent(u64),
    Heard(u64),
}

/// The beats node 0 sent, as a client history: op `beat` n invoked when
/// sent, ok one period later.
#[derive(Default)]
struct Beats(RefCell<Vec<(Nanos, Nanos)>>);

impl ClientHistory for Beats {
    fn to_jsonl(&self, _end_ns: Nanos) -> String {
        let mut out = String::new();
        for (i, (a, b)) in self.0.borrow().iter().enumerate() {
            out += &format!("{{\"process\":0,\"type\":\"invoke\",\"f\":\"beat\",\"value\":{i},\"time\":{a}}}\n");
            out += &format!("{{\"process\":0,\"type\":\"ok\",\"f\":\"beat\",\"value\":{i},\"time\":{b}}}\n");
        }
        out
    }
    fn ok_count(&self) -> u64 {
        self.0.borrow().len() as u64
    }
    fn latency_ms(&self) -> BTreeMap<String, [f64; 4]> {
        BTreeMap::from([("beat".to_string(), [10.0; 4])])
    }
    fn ok_times_ns(&self) -> Vec<Nanos> {
        self.0.borrow().iter().map(|(_, b)| *b).collect()
    }
}

/// Draws one lane per listener: a span from each beat sent to the moment
/// the listener heard it, and a mark when it did.
#[derive(Default)]
struct Delays {
    sent: BTreeMap<u64, Nanos>,
    lanes: BTreeMap<NodeId, SpanLane>,
}

impl Reporter<Obs> for Delays {
    fn on_observe(&mut self, time_ns: Nanos, node: NodeId, obs: &Obs) {
        match obs {
            Obs::Sent(n) => {
                self.sent.insert(*n, time_ns);
            }
            Obs::Heard(n) => {
                let lane = self.lanes.entry(node).or_insert_with(|| SpanLane {
                    label: format!("listener n{node}"),
                    node: Some(node),
                    ..Default::default()
                });
                let start_ns = self.sent.get(n).copied().unwrap_or(time_ns);
                lane.spans.push(Span {
                    start_ns,
                    end_ns: time_ns,
                    label: format!("beat {n}"),
                    color: "#1f77b4".into(),
                });
                lane.marks.push(Mark { time_ns, label: format!("heard {n}"), color: "#2ca02c".into() });
            }
        }
    }
    fn on_finish(&mut self, _end: &RunEnd<'_>) -> Extras {
        let heard: usize = self.lanes.values().map(|l| l.marks.len()).sum();
        Extras {
            stats: BTreeMap::from([("beats_heard".to_string(), serde_json::json!(heard))]),
            charts: vec![SpanChart {
                name: "delays".into(),
                title: "Beats in flight".into(),
                about: "Each bar is one beat, from its sending to its hearing.".into(),
                shade: vec![0],
                lanes: std::mem::take(&mut self.lanes).into_values().collect(),
            }],
        }
    }
}

struct Heartbeat;

async fn sender(ctx: Ctx<Beat, Obs>, beats: Rc<Beats>) {
    for n in 0.. {
        let sent = ctx.now_ns();
        ctx.emit(Obs::Sent(n));
        for peer in ctx.peers() {
            ctx.send(peer, Beat(n));
        }
        ctx.sleep(Duration::from_millis(10)).await;
        beats.0.borrow_mut().push((sent, ctx.now_ns()));
    }
}

async fn listener(ctx: Ctx<Beat, Obs>) {
    loop {
        let Beat(n) = ctx.recv().await.msg;
        ctx.emit(Obs::Heard(n));
    }
}

impl Protocol for Heartbeat {
    type Msg = Beat;
    type Obs = Obs;
    type Options = NoOptions;
    fn name(&self) -> &'static str {
        "heartbeat"
    }
    fn about(&self) -> &'static str {
        "node 0 beats, the others listen (a reporter test)"
    }
    fn checks(&self) -> &'static [Named] {
        &[]
    }
    fn setup(&self, s: &mut Setup<'_, Self>) {
        let with_reports = s.scenario().name == "reported";
        let beats = Rc::new(Beats::default());
        let b = beats.clone();
        s.role([0], move |ctx| sender(ctx, b.clone()));
        s.role(1..s.node_count(), listener);
        if with_reports {
            s.client_history(beats);
            s.reporter(Box::<Delays>::default());
        }
    }
}

fn run(name: &str, dir: &std::path::Path) -> faultline::run_folder::RunFolder {
    let text = format!(
        r#"{{ "name": "{name}", "protocol": "heartbeat", "nodes": 3, "duration": "1s",
             "network": {{ "latency": {{ "dist": "uniform", "min": "1ms", "max": "5ms" }} }},
             "faults": [{{ "at": "300ms", "crash": 0, "restart_after": "200ms" }}] }}"#
    );
    let scenario = Scenario::parse(&text, "h.json").unwrap();
    let protocols: [&dyn AnyProtocol; 1] = [&Heartbeat];
    let p = Prepared::new(scenario, "h.json", &protocols, &Overrides::default()).unwrap();
    let options = RunOptions { out: Some(dir.to_path_buf()), ..Default::default() };
    run_to_folder(&p, 0, &options, "rerun".into()).unwrap()
}

#[test]
fn reporters_and_an_own_history_reach_the_folder_and_the_report() {
    let dir = std::env::temp_dir().join(format!("faultline-reporter-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let folder = run("reported", &dir);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let heard = summary["protocol_stats"]["beats_heard"].as_u64().expect("the reporter's stat is in summary.json");
    // Two listeners hear about 80 of the 100 beats each (node 0 is down 200 ms).
    assert!((100..=200).contains(&heard), "{heard}");
    assert_eq!(summary["ops"].as_u64(), Some(folder.run.ops));
    let history = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
    assert_eq!(history.lines().filter(|l| l.contains("\"ok\"")).count() as u64, folder.run.ops);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<h2>Beats in flight</h2>"), "the chart has its heading");
    assert!(html.contains("Each bar is one beat"), "and its explanation");
    assert!(html.contains("heartbeat numbers") && html.contains("beats_heard"), "the stats table");
    assert!(html.contains("Latency of every operation"), "the own history feeds the latency charts");
    let svg = std::fs::read_to_string(dir.join("chart-delays.svg")).unwrap();
    assert_eq!(svg.matches(r#"class="span""#).count() as u64, heard);
    assert!(svg.matches(r#"class="fault-window""#).count() >= 1, "node 0's crash is shaded");
    assert!(faultline::report::load_run_dir(&dir).unwrap().charts.len() == 1);

    // The same folder rerun without reporters keeps nothing of them.
    let _ = run("plain", &dir);
    assert!(!dir.join("charts.json").exists(), "no stale charts.json");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(!html.contains("Beats in flight"));
    let _ = std::fs::remove_dir_all(&dir);
}
