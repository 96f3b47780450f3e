//! The report of a protocol that is not a key-value store: any operation
//! name (a lock's `acquire`/`release`, with string and object values and no
//! key) loads and is drawn under its own name; a run without client
//! operations says so instead of drawing four empty charts; and "clients"
//! counts actors, or process ids when actors cannot be told apart.
//!
//! Each test builds a run folder by hand (as `common` does) and renders it
//! with `write_all`, the same call `faultline run` and `plot` make.

mod common;

use common::*;
use faultline::report::{load_run_dir, write_all};
use std::fmt::Write as _;

/// A summary for a protocol with no workload clients (`clients: 0`) and no
/// client ops counted, with one fault window.
fn lock_summary() -> String {
    summary_json(
        r#"[{"kind":"crash","nodes":[1],"detail":"crash n1","start_ns":2000000000,"end_ns":3000000000}]"#,
        r#"{"mutual-exclusion":"pass"}"#,
        "null",
    )
    .replace("\"protocol\":\"kv\"", "\"protocol\":\"lock\"")
    .replace("\"ops\":6", "\"ops\":0")
    .replace("\"latency\":{\"read\":{\"p50\":1.0,\"p90\":2.0,\"p99\":3.0,\"max\":4.0}}", "\"latency\":{}")
    .replace("\"clients\":2", "\"clients\":0")
}

/// A lock history: nodes 0..3 acquire (value: a string owner) and release
/// (value: an object), no key; the last acquire never completes.
fn lock_history() -> String {
    let mut out = String::new();
    for round in 0..30u64 {
        let node = round % 3;
        let t = 100_000_000 + round * 300_000_000;
        let wait = 2_000_000 + (round * 7_919 % 40) * 1_000_000;
        writeln!(out, r#"{{"process":{node},"type":"invoke","f":"acquire","value":"owner-{node}","time":{t}}}"#)
            .unwrap();
        let outcome = if round % 5 == 4 { "fail" } else { "ok" };
        writeln!(
            out,
            r#"{{"process":{node},"type":"{outcome}","f":"acquire","value":{{"fence":{round}}},"time":{}}}"#,
            t + wait
        )
        .unwrap();
        let t = t + wait + 50_000_000;
        writeln!(out, r#"{{"process":{node},"type":"invoke","f":"release","value":{{"fence":{round}}},"time":{t}}}"#)
            .unwrap();
        writeln!(out, r#"{{"process":{node},"type":"ok","f":"release","value":null,"time":{}}}"#, t + 1_500_000)
            .unwrap();
    }
    writeln!(out, r#"{{"process":7,"type":"invoke","f":"acquire","value":"owner-7","time":9500000000}}"#).unwrap();
    out
}

/// Legend entry texts of an SVG.
fn legend(svg: &str) -> Vec<String> {
    let doc = parse_xml(svg);
    doc.descendants()
        .filter(|n| n.attribute("class") == Some("legend-entry"))
        .map(|n| n.descendants().filter(|t| t.is_text()).filter_map(|t| t.text()).collect())
        .collect()
}

#[test]
fn lock_history_is_drawn_under_its_own_operation_names() {
    let run = fresh_dir("vocabulary-lock");
    write_run(&run, &lock_summary(), Some(&lock_history()), None);
    let data = load_run_dir(&run).expect("a lock history loads");
    assert_eq!(data.ops.len(), 61);
    let out = run.join("out");
    let paths = write_all(&data, &out, None).unwrap();
    assert_eq!(paths.len(), 7);
    let read = |file: &str| std::fs::read_to_string(out.join(file)).unwrap();

    // The scatter's legend names the outcomes and both operations, sorted.
    let scatter = legend(&read("latency.svg"));
    assert_eq!(scatter, ["ok", "did not take effect", "acquire", "release"], "latency.svg legend");
    let scatter_doc_text = read("latency.svg");
    let doc = parse_xml(&scatter_doc_text);
    assert_eq!(count_class(&doc, "fault-window"), 1);
    let all = texts(&doc).join("\n");
    assert!(all.contains("invoke time (s)") && all.contains("1 op never completed"), "{all}");
    // Acquire is a diamond, release a plus: polygons and paths in the plot.
    assert!(scatter_doc_text.contains("<polygon"), "acquire markers");

    // The CDF has one line per operation, named with its completed count.
    assert_eq!(legend(&read("latency-cdf.svg")), ["acquire (30)", "release (30)"]);
    // The two lines differ in colour: names beyond read/write/cas/append take
    // the palette from purple on, in name order (black is the axes).
    let cdf = read("latency-cdf.svg");
    let colours: std::collections::BTreeSet<&str> = cdf
        .match_indices("<polyline")
        .filter_map(|(at, _)| cdf[at..].split("stroke=\"").nth(1).and_then(|rest| rest.split('"').next()))
        .filter(|colour| *colour != "#000000")
        .collect();
    assert_eq!(colours, ["#8C564B", "#9467BD"].into(), "brown and purple lines");

    let page = read("report.html");
    parse_xml(&page);
    for fragment in [
        "<tr><td>acquire</td><td class=\"pass\">ok</td><td class=\"num\">24</td>",
        "<tr><td>acquire</td><td class=\"noop\">fail (did not take effect)</td><td class=\"num\">6</td>",
        "<tr><td>acquire</td><td class=\"unknown\">info</td><td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">-</td>",
        "<tr><td>release</td><td class=\"pass\">ok</td><td class=\"num\">30</td>",
        // clients: 0 in the summary, so the history's process ids are counted: 0, 1, 2 and 7.
        "<tr><th>client processes</th><td class=\"num\">4</td></tr>",
    ] {
        assert!(page.contains(fragment), "report lacks {fragment:?}");
    }
    assert!(!page.contains("no client operations"));
}

#[test]
fn a_run_without_client_operations_says_so_instead_of_drawing_empty_axes() {
    // An empty history.jsonl, and none at all: the same page.
    for (name, history) in [("vocabulary-empty", Some("")), ("vocabulary-none", None)] {
        let run = fresh_dir(name);
        write_run(&run, &lock_summary(), history, None);
        let data = load_run_dir(&run).unwrap();
        assert!(data.ops.is_empty());
        let out = run.join("out");
        let paths = write_all(&data, &out, None).unwrap();
        assert_eq!(paths.len(), 7, "{name}: every file is still written");
        let page = std::fs::read_to_string(out.join("report.html")).unwrap();
        let doc = parse_xml(&page);
        assert!(page.contains("<p class=\"no-ops\">no client operations in this run</p>"), "{name}");
        assert_eq!(page.matches("no client operations").count(), 1, "{name}: said once, in place of four charts");
        // No empty axes: no chart with a latency or rate axis is inlined.
        let all = texts(&doc).join("\n");
        for axis in ["invoke time (s)", "latency (ms, log scale)", "completion time (s)", "fraction of ops"] {
            assert!(!all.contains(axis), "{name}: the report draws an axis {axis:?}");
        }
        for heading in
            ["Latency of every operation", "Latency quantiles over time", "Latency distribution", "Throughput"]
        {
            assert!(!page.contains(heading), "{name}: heading {heading:?} of an empty chart");
        }
        // The rest still renders: checks, faults, events and the timeline.
        for fragment in [
            "<td class=\"pass\">pass</td>",
            "crash n1",
            "Notable events by node",
            "Messages from",
            "<tr><th>clients</th><td class=\"num\">none</td></tr>",
        ] {
            assert!(page.contains(fragment), "{name}: report lacks {fragment:?}");
        }
        assert_eq!(count_class(&doc, "fault-window"), 1, "{name}: the events chart shades the crash");
        assert_eq!(doc.descendants().filter(|n| n.has_tag_name("svg")).count(), 2, "{name}: events and timeline");
        // The chart files are a title and the note, without axes.
        for file in ["latency.svg", "latency-quantiles.svg", "latency-cdf.svg", "rate.svg"] {
            let text = std::fs::read_to_string(out.join(file)).unwrap();
            let svg = parse_xml(&text);
            let labels = texts(&svg).join("\n");
            assert!(labels.contains("no client operations in this run"), "{name}: {file}: {labels}");
            assert!(!labels.contains("(s)") && !labels.contains("(ms"), "{name}: {file} has axes: {labels}");
        }
    }
}

#[test]
fn clients_are_actors_when_the_summary_says_how_many() {
    // Two workload clients; client 0 timed out twice (process 0 -> 2 -> 4)
    // and client 1 once (1 -> 3): still two clients, not five processes.
    let summary = summary_json("[]", "{}", "null");
    let mut history = String::new();
    for (index, process) in [0u64, 1, 2, 3, 4].into_iter().enumerate() {
        let t = 1_000_000 * (1 + index as u64 * 10);
        writeln!(history, "{}", line(process, "invoke", "write", t)).unwrap();
        let outcome = if process < 3 { "info" } else { "ok" };
        writeln!(history, "{}", line(process, outcome, "write", t + 2_000_000)).unwrap();
    }
    let run = fresh_dir("vocabulary-clients");
    write_run(&run, &summary, Some(&history), None);
    let data = load_run_dir(&run).unwrap();
    assert_eq!(data.clients(), Some(("clients", 2)));
    let paths = write_all(&data, &run.join("out"), None).unwrap();
    let page = std::fs::read_to_string(paths.last().unwrap()).unwrap();
    assert!(page.contains("<tr><th>clients</th><td class=\"num\">2</td></tr>"));
    // More clients configured than seen in the history: the summary's count.
    let mut more = data.clone();
    more.summary.clients = Some(6);
    assert_eq!(more.clients(), Some(("clients", 6)));
}

#[test]
fn a_vocabulary_gone_wrong_stays_bounded() {
    // One operation name per op: the charts show the eleven most frequent
    // names and one merged group, not five hundred legend entries.
    let mut history = String::new();
    for index in 0..500u64 {
        let f = if index % 2 == 0 { "frequent".to_string() } else { format!("op-{index:03}") };
        let t = 1_000_000 + index * 10_000_000;
        writeln!(history, "{}", line(index % 4, "invoke", &f, t)).unwrap();
        writeln!(history, "{}", line(index % 4, "ok", &f, t + 1_000_000)).unwrap();
    }
    let run = fresh_dir("vocabulary-many");
    write_run(&run, &summary_json("[]", "{}", "null"), Some(&history), None);
    let data = load_run_dir(&run).unwrap();
    let out = run.join("out");
    write_all(&data, &out, None).unwrap();
    let cdf = legend(&std::fs::read_to_string(out.join("latency-cdf.svg")).unwrap());
    assert_eq!(cdf.len(), 12, "{cdf:?}");
    assert!(cdf.contains(&"frequent (250)".to_string()), "{cdf:?}");
    assert_eq!(cdf.last().unwrap(), "240 other kinds (240)");
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(page.matches("<tr><td>").count(), 12, "one latency row per shown kind");
}

#[test]
fn operation_names_are_escaped_wherever_they_are_shown() {
    let f = "lock<&>\\\"x\\\"";
    let mut history = String::new();
    for index in 0..5u64 {
        let t = 1_000_000 + index * 10_000_000;
        writeln!(history, r#"{{"process":0,"type":"invoke","f":"{f}","time":{t}}}"#).unwrap();
        writeln!(history, r#"{{"process":0,"type":"ok","time":{}}}"#, t + 1_000_000).unwrap();
    }
    let run = fresh_dir("vocabulary-escape");
    write_run(&run, &summary_json("[]", "{}", "null"), Some(&history), None);
    let data = load_run_dir(&run).unwrap();
    assert_eq!(data.ops[0].kind.name(), "lock<&>\"x\"");
    let out = run.join("out");
    for path in write_all(&data, &out, None).unwrap() {
        let text = std::fs::read_to_string(&path).unwrap();
        parse_xml(&text);
        assert!(!text.contains("lock<&>"), "{}: unescaped name", path.display());
    }
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("<td>lock&lt;&amp;&gt;&quot;x&quot;</td>"));
}
