//! A million client ops: every chart stays under 5 MB, and the extremes
//! survive downsampling. The elapsed time is printed (run with
//! `--nocapture` to see it), not asserted: the machine is shared.

mod common;

use common::*;
use faultline::report::{data::Op, load_run_dir, plots, write_all, OpKind, Outcome};

const SVG_BYTES_MAX: u64 = 5 * 1024 * 1024;

/// Renders `data` into a fresh folder and checks every SVG is under 5 MB and
/// well-formed, and that the slowest op's latency is drawn.
fn check(name: &str, data: &faultline::report::RunData) {
    let out = fresh_dir(name);
    let started = std::time::Instant::now();
    let paths = write_all(data, &out, None).unwrap();
    let elapsed = started.elapsed();
    println!("{name}: {} ops rendered in {:.2} s", data.ops.len(), elapsed.as_secs_f64());
    for path in &paths {
        let bytes = std::fs::metadata(path).unwrap().len();
        println!("{name}: {} {} bytes", path.file_name().unwrap().to_string_lossy(), bytes);
        assert!(bytes < SVG_BYTES_MAX, "{name}: {} is {bytes} bytes", path.display());
        if path.extension().is_some_and(|e| e == "svg") {
            parse_xml(&std::fs::read_to_string(path).unwrap());
        }
    }
    // The slowest and the fastest op are among the kept scatter points.
    let keep = plots::scatter_sample(&data.ops, data.end_ns(), 900);
    let slowest =
        (0..data.ops.len()).max_by_key(|&i| data.ops[i].complete_ns.unwrap_or(0) - data.ops[i].invoke_ns).unwrap();
    let fastest =
        (0..data.ops.len()).min_by_key(|&i| data.ops[i].complete_ns.unwrap_or(0) - data.ops[i].invoke_ns).unwrap();
    assert!(keep.contains(&slowest) && keep.contains(&fastest), "{name}: extremes dropped");
    assert!(keep.len() < 60_000, "{name}: {} scatter points kept", keep.len());
}

#[test]
fn million_ops_make_small_svgs() {
    // A deterministic mix of every kind and outcome, 1 M ops over 10 s by 50
    // processes, with a long tail (xorshift; no randomness from outside),
    // written as a real history.jsonl so that loading is timed too.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let kinds = ["read", "write", "cas", "append"].map(OpKind::from);
    let ops: Vec<Op> = (0..1_000_000u64)
        .map(|index| {
            let r = next();
            let process = index % 50;
            // A process issues one op per 500 us and each lasts under 481 us,
            // so its ops never overlap; the slow one in a thousand gets a
            // process of its own.
            let slow = r % 1000 == 0;
            let invoke_ns = index * 10_000;
            let latency_ns = 1_000 + (r >> 20) % 480_000 + if slow { 48_000_000 } else { 0 };
            Op {
                process: if slow { 1_000 + index } else { process },
                kind: kinds[(r % 4) as usize].clone(),
                invoke_ns,
                complete_ns: Some(invoke_ns + latency_ns),
                outcome: Outcome::ALL[((r >> 8) % 3) as usize],
            }
        })
        .collect();
    let mut lines: Vec<(u64, usize, String)> = Vec::with_capacity(2 * ops.len());
    for (index, op) in ops.iter().enumerate() {
        lines.push((op.invoke_ns, 2 * index, line(op.process, "invoke", op.kind.name(), op.invoke_ns)));
        let done = op.complete_ns.unwrap();
        lines.push((done, 2 * index + 1, line(op.process, op.outcome.name(), op.kind.name(), done)));
    }
    lines.sort_unstable_by_key(|(time, order, _)| (*time, *order));
    let mut history = String::with_capacity(lines.len() * 90);
    for (_, _, text) in &lines {
        history.push_str(text);
        history.push('\n');
    }
    drop(lines);
    let run = fresh_dir("million-run");
    write_run(&run, &summary_json(THREE_FAULTS, r#"{"kv":"pass"}"#, "null"), Some(&history), None);
    drop(history);
    let started = std::time::Instant::now();
    let data = load_run_dir(&run).unwrap();
    println!("million: loaded {} ops in {:.2} s", data.ops.len(), started.elapsed().as_secs_f64());
    std::fs::remove_file(run.join("history.jsonl")).unwrap();
    assert_eq!(data.ops.len(), ops.len());
    check("million", &data);
}
