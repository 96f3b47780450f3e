//! The Lamport diagram: arrows paired by message id (a duplicate has two),
//! dropped messages ending in a ✕, down and paused spans on the node line,
//! observations, and the arrow cap with its "more not drawn" note.

mod common;

use common::*;
use faultline::report::{default_timeline_window, load_run_dir, timeline_svg, ARROW_CAP};
use std::fmt::Write as _;

/// What one diagram must contain.
struct Expect {
    msgs: usize,
    dropped: usize,
    down: usize,
    paused: usize,
    obs: usize,
    more: Option<usize>,
    violation: usize,
    /// Send time (ms) of the first arrow drawn, if checked.
    first_arrow_send_ms: Option<f64>,
}

/// Writes `timeline` into a run folder, draws `window` with `cap`, and checks
/// the diagram is well-formed and holds what `expect` says.
fn check(name: &str, timeline: &str, violation: &str, window: Option<(u64, u64)>, cap: usize, expect: Expect) {
    let dir = fresh_dir(name);
    write_run(&dir, &summary_json("[]", "{}", violation), None, Some(timeline));
    let data = load_run_dir(&dir).unwrap();
    let window = window.unwrap_or_else(|| default_timeline_window(&data));
    let svg = timeline_svg(&data, window, cap);
    assert_eq!(svg, timeline_svg(&data, window, cap), "{name}: not deterministic");
    let doc = parse_xml(&svg);
    let delivered = count_class(&doc, "msg") - count_class(&doc, "dropped");
    assert!(delivered + count_class(&doc, "dropped") <= cap, "{name}: over the cap");
    assert_eq!(delivered + count_class(&doc, "dropped"), expect.msgs, "{name}: arrows");
    assert_eq!(count_class(&doc, "dropped"), expect.dropped, "{name}: dropped");
    assert_eq!(count_class(&doc, "drop-x"), expect.dropped, "{name}: crosses");
    assert_eq!(count_class(&doc, "node-down"), expect.down, "{name}: down spans");
    assert_eq!(count_class(&doc, "node-paused"), expect.paused, "{name}: paused spans");
    assert_eq!(count_class(&doc, "obs"), expect.obs, "{name}: observations");
    assert_eq!(count_class(&doc, "violation-mark"), expect.violation, "{name}: violation mark");
    let all = texts(&doc).join("\n");
    if let Some(first_kept) = expect.first_arrow_send_ms {
        let arrow = doc.descendants().find(|n| n.attribute("class") == Some("msg")).expect("an arrow");
        let y: f64 = arrow.attribute("y1").unwrap().parse().unwrap();
        // The body's top and height (it grows with the arrows drawn) are on the root.
        let root = doc.root_element();
        let (top, body): (f64, f64) = (
            root.attribute("data-top").unwrap().parse().unwrap(),
            root.attribute("data-body").unwrap().parse().unwrap(),
        );
        let ms = window.0 as f64 / 1e6 + (y - top) / body * (window.1 - window.0) as f64 / 1e6;
        assert!((ms - first_kept).abs() < 1.0, "{name}: first arrow sent at {ms} ms, not {first_kept}");
    }
    match expect.more {
        Some(more) => assert!(all.contains(&format!("{more} more messages not drawn")), "{name}: {all}"),
        None => assert!(!all.contains("more messages not drawn"), "{name}: unexpected note"),
    }
    for lane in ["n0", "n1", "n2", "client 0", "client 1"] {
        assert!(all.lines().any(|l| l == lane), "{name}: lane {lane} missing");
    }
}

fn msg(out: &mut String, ev: &str, t: u64, from: u64, to: u64, id: u64) {
    writeln!(out, r#"{{"i":0,"t":{t},"ev":"{ev}","from":{from},"to":{to},"msg_id":{id},"msg":"Ping {{ n: {id} }}"}}"#)
        .unwrap();
}

/// `count` messages 1 ms apart from node (i % 3) to ((i + 1) % 3), delivered 0.5 ms later.
fn chatter(count: u64) -> String {
    let mut out = String::new();
    for id in 0..count {
        let t = 1_000_000 + id * 1_000_000;
        msg(&mut out, "send", t, id % 3, (id + 1) % 3, id);
        msg(&mut out, "deliver", t + 500_000, id % 3, (id + 1) % 3, id);
    }
    out
}

#[test]
fn small_window_draws_every_kind_of_event() {
    let mut t = String::new();
    writeln!(t, r#"{{"i":0,"t":0,"ev":"start","node":0,"what":"start n0"}}"#).unwrap();
    msg(&mut t, "send", 10_000_000, 0, 1, 1);
    msg(&mut t, "duplicate", 10_000_000, 0, 1, 1);
    msg(&mut t, "deliver", 12_000_000, 0, 1, 1);
    msg(&mut t, "deliver", 15_000_000, 0, 1, 1);
    msg(&mut t, "send", 20_000_000, 1, 2, 2);
    msg(&mut t, "drop-loss", 20_000_000, 1, 2, 2);
    msg(&mut t, "send", 30_000_000, 2, 0, 3);
    writeln!(t, r#"{{"i":0,"t":31000000,"ev":"fault","node":0,"what":"crash n0"}}"#).unwrap();
    msg(&mut t, "drop-down", 33_000_000, 2, 0, 3);
    writeln!(t, r#"{{"i":0,"t":40000000,"ev":"timer","task":3}}"#).unwrap();
    writeln!(t, r#"{{"i":0,"t":41000000,"ev":"fsync","node":1}}"#).unwrap();
    writeln!(t, r#"{{"i":0,"t":50000000,"ev":"fault","node":0,"what":"restart n0"}}"#).unwrap();
    writeln!(t, r#"{{"i":0,"t":50000000,"ev":"start","node":0,"what":"start n0"}}"#).unwrap();
    writeln!(t, r#"{{"i":0,"t":60000000,"ev":"fault","node":1,"what":"pause n1"}}"#).unwrap();
    writeln!(t, r#"{{"i":0,"t":70000000,"ev":"fault","node":1,"what":"resume n1"}}"#).unwrap();
    writeln!(t, r#"{{"i":0,"t":80000000,"ev":"observe","node":2,"obs":"Leader {{ term: 3 <&> }}"}}"#).unwrap();
    writeln!(t, r#"{{"i":0,"t":90000000,"ev":"fault","node":2,"what":"crash n2"}}"#).unwrap();
    let expect =
        Expect { msgs: 4, dropped: 2, down: 2, paused: 1, obs: 1, more: None, violation: 0, first_arrow_send_ms: None };
    check("every_kind", &t, "null", None, ARROW_CAP, expect);
}

#[test]
fn busy_window_is_capped_with_a_note() {
    // 1000 messages in the first 2 s: the default window, over the cap.
    let expect = Expect {
        msgs: ARROW_CAP,
        dropped: 0,
        down: 0,
        paused: 0,
        obs: 0,
        more: Some(1000 - ARROW_CAP),
        violation: 0,
        first_arrow_send_ms: Some(1.0),
    };
    check("capped", &chatter(1000), "null", None, ARROW_CAP, expect);
    let expect = Expect {
        msgs: 10,
        dropped: 0,
        down: 0,
        paused: 0,
        obs: 0,
        more: Some(90),
        violation: 0,
        first_arrow_send_ms: None,
    };
    check("capped_small", &chatter(100), "null", None, 10, expect);
}

#[test]
fn window_selects_messages_and_default_follows_the_violation() {
    // Messages at 1..=3000 ms; a window of [1.5 s, 1.6 s] meets messages sent 1.4995..1.6 s.
    let expect = Expect {
        msgs: 101,
        dropped: 0,
        down: 0,
        paused: 0,
        obs: 0,
        more: None,
        violation: 0,
        first_arrow_send_ms: None,
    };
    check("window", &chatter(3000), "null", Some((1_500_000_000, 1_600_000_000)), ARROW_CAP, expect);
    // Violation at 2.9 s: default window is [0.9 s, 2.9 s], 2000 arrivals in it.
    let violation = r#"{"check":"kv","time_ns":2900000000,"event_index":5,"node":1,"detail":"stale read"}"#;
    let expect = Expect {
        msgs: ARROW_CAP,
        dropped: 0,
        down: 0,
        paused: 0,
        obs: 0,
        more: Some(2001 - ARROW_CAP),
        violation: 1,
        first_arrow_send_ms: Some(2601.0),
    };
    check("violation_window", &chatter(3000), violation, None, ARROW_CAP, expect);
}

#[test]
fn frequent_observation_kinds_are_counted_not_labelled() {
    // 50 per-entry observations would bury the one that tells the story.
    let mut t = chatter(4);
    for i in 0..50 {
        writeln!(t, r#"{{"i":0,"t":{},"ev":"observe","node":1,"obs":"Appended {{ index: {i} }}"}}"#, 10_000_000 + i)
            .unwrap();
    }
    writeln!(t, r#"{{"i":0,"t":90000000,"ev":"observe","node":2,"obs":"BecameLeader {{ term: 2 }}"}}"#).unwrap();
    let expect =
        Expect { msgs: 4, dropped: 0, down: 0, paused: 0, obs: 1, more: None, violation: 0, first_arrow_send_ms: None };
    check("frequent", &t, "null", None, ARROW_CAP, expect);
    let dir = fresh_dir("frequent-note");
    write_run(&dir, &summary_json("[]", "{}", "null"), None, Some(&t));
    let data = load_run_dir(&dir).unwrap();
    let svg = timeline_svg(&data, default_timeline_window(&data), ARROW_CAP);
    let all = texts(&parse_xml(&svg)).join("\n");
    assert!(all.contains("BecameLeader"), "{all}");
    assert!(all.contains("frequent observations not labelled: Appended ×50"), "{all}");
}
