//! A linearizability failure explains itself: for every planted bug whose
//! check is linearizability, the run's explanation (terminal, `summary.json`)
//! names an operation of its shrunk witness and the node that served it, and
//! the witness holds the anomaly itself: a read of a value that another
//! write had overwritten before the read began (what a stale read, and a
//! write applied twice, look like from the clients), or of a value only a
//! failed op wrote (a retry applied after its client was told it failed).

mod common;

use common::cli::{faultline, s};
use faultline::check::lin::{parse_history, Call, History, Op, Outcome};

/// A read (or cas) in `witness` that needs a value real time proves gone:
/// some op replaced it (completed ok) before the read began, and either every
/// write of the value had completed before that op began (a stale read), or
/// the value's one write had been seen by an earlier read before it (a write
/// applied twice); or whose value only ops that failed write (a client told
/// its op failed, yet its value read). Returns the read and the op that
/// replaced the value or failed to write it.
fn overwritten_read(witness: &History) -> Option<(&Op, &Op)> {
    let ops = witness.ops();
    let writes = |op: &Op| match &op.call {
        Call::Write(v) | Call::Cas(_, v) => Some(v.clone()),
        _ => None,
    };
    let needs = |op: &Op| match (&op.call, &op.outcome) {
        (Call::Read, Outcome::Ok(v)) | (Call::Cas(v, _), Outcome::Ok(_)) => Some(v.clone()),
        _ => None,
    };
    let done = |op: &Op| op.complete_index.unwrap_or(usize::MAX);
    for read in ops {
        let Some(value) = needs(read) else { continue };
        let all: Vec<&Op> = ops.iter().filter(|w| w.key == read.key && writes(w) == Some(value.clone())).collect();
        let writers: Vec<&Op> = all.iter().copied().filter(|w| w.outcome != Outcome::Fail).collect();
        if writers.is_empty() {
            if let Some(failed) = all.first() {
                return Some((read, failed));
            }
            continue;
        }
        for o in ops.iter().filter(|o| {
            o.key == read.key
                && matches!(o.outcome, Outcome::Ok(_))
                && writes(o).is_some_and(|v| v != value)
                && done(o) < read.invoke_index
        }) {
            let stale = writers.iter().all(|w| done(w) < o.invoke_index);
            let twice = writers.len() == 1
                && ops.iter().any(|e| {
                    e.invoke_index != read.invoke_index && needs(e) == Some(value.clone()) && done(e) < o.invoke_index
                });
            if stale || twice {
                return Some((read, o));
            }
        }
    }
    None
}

#[test]
fn planted_linearizability_bugs_name_the_culprit_and_its_node() {
    let dir = std::env::temp_dir().join(format!("faultline-lin-explain-{}", std::process::id()));
    let mut explained = 0;
    for file in ["scenarios/raft/bug-stale-local-read.json", "scenarios/raft/bug-no-dedup.json"] {
        // The first three seeds in 0..30 that fail linearizability.
        let mut found = 0;
        for seed in 0..30 {
            let out_dir = dir.join(format!("{}-{seed}", file.replace('/', "_")));
            let out = faultline(&["run", file, "--seed", &seed.to_string(), "--out", s(&out_dir)]);
            if !out.stdout.contains("check linearizability: fail") {
                continue;
            }
            assert_eq!(out.code, 1, "{file} seed {seed}: {}", out.stdout);
            let witness =
                parse_history(&std::fs::read_to_string(out_dir.join("history-min.jsonl")).expect("a witness"))
                    .expect("the witness parses");
            let summary: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(out_dir.join("summary.json")).unwrap()).unwrap();
            let culprit = summary["lin_culprit"].as_str().expect("summary.json carries the culprit sentence");
            // The sentence opens with an op of the witness, and names its server.
            let named = witness.ops().iter().find(|op| culprit.starts_with(&op.what())).unwrap_or_else(|| {
                panic!("{file} seed {seed}: the explanation names no witness op: {culprit}\n{}", out.stdout)
            });
            let node = named.meta.node.expect("the history records which node answered");
            assert!(culprit.contains(&format!("answered by n{node}")), "{file} seed {seed}: {culprit}");
            assert!(out.stdout.contains(culprit), "{file} seed {seed}: the terminal shows the culprit");
            let (read, other) = overwritten_read(&witness)
                .unwrap_or_else(|| panic!("{file} seed {seed}: the witness has no overwritten read: {witness:?}"));
            assert_eq!(read.invoke_index, named.invoke_index, "{file} seed {seed}: the culprit is the stale read");
            assert!(
                culprit.contains(&format!("p{}'s", other.process)),
                "{file} seed {seed}: the sentence names the op that replaced the value or failed: {culprit}"
            );
            assert!(
                out.stdout.contains(&format!("witness: {} of ", witness.len())),
                "{file} seed {seed}: the witness's size is reported\n{}",
                out.stdout
            );
            found += 1;
            explained += 1;
            if found == 3 {
                break;
            }
        }
        assert_eq!(found, 3, "{file}: fewer than 3 seeds in 0..30 fail linearizability");
    }
    assert_eq!(explained, 6);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The culprit's shapes on hand-made histories: a read of a value nothing
/// wrote, a stale read, a value come back; and a failure in none of these
/// shapes keeps the search's own sentence.
#[test]
fn each_culprit_shape_is_named() {
    use faultline::check::lin::{check, culprit, Model, Verdict};
    let sentence = |text: &str| {
        let history = parse_history(text).expect("parses");
        let Verdict::NotLinearizable(v) = check(&history, Model::Register, None) else { panic!("fails: {text}") };
        let c = culprit(&history, &v);
        (history.ops()[c.index].describe(), c.sentence, v.culprit.clone())
    };
    let nowhere = sentence(
        r#"{"process":0,"type":"invoke","f":"read","value":null}
{"process":0,"type":"ok","f":"read","value":7}"#,
    );
    assert!(nowhere.1.contains("came from nowhere"), "{nowhere:?}");
    let stale = sentence(
        r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"invoke","f":"write","value":2}
{"process":1,"type":"ok","f":"write","value":2}
{"process":2,"type":"invoke","f":"read","value":null}
{"process":2,"type":"ok","f":"read","value":1}"#,
    );
    assert!(stale.0.starts_with("p2 read -> 1") && stale.1.contains("already overwritten"), "{stale:?}");
    let back = sentence(
        r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":1}
{"process":1,"type":"invoke","f":"write","value":2}
{"process":1,"type":"ok","f":"write","value":2}
{"process":2,"type":"invoke","f":"read","value":null}
{"process":2,"type":"ok","f":"read","value":1}
{"process":0,"type":"ok","f":"write","value":1}"#,
    );
    assert!(back.0.starts_with("p2 read -> 1") && back.1.contains("applied twice"), "{back:?}");
    // Two writes racing, read in opposite orders by two clients: no single
    // op is to blame, so the search's sentence stands.
    let race = sentence(
        r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":1,"type":"invoke","f":"write","value":2}
{"process":2,"type":"invoke","f":"read","value":null}
{"process":2,"type":"ok","f":"read","value":1}
{"process":2,"type":"invoke","f":"read","value":null}
{"process":2,"type":"ok","f":"read","value":2}
{"process":3,"type":"invoke","f":"read","value":null}
{"process":3,"type":"ok","f":"read","value":2}
{"process":3,"type":"invoke","f":"read","value":null}
{"process":3,"type":"ok","f":"read","value":1}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"ok","f":"write","value":2}"#,
    );
    assert_eq!(race.1, race.2, "{race:?}");
    assert!(race.1.contains("cannot be placed"), "{race:?}");
}
