//! The checker at scale, counted in search steps (never in seconds): a step
//! budget gives the same verdict on every machine, a sequential history costs
//! a few steps per op however long it is, and generated histories get the
//! verdict they were built to have.
//!
//! The generator here is also the one `scripts/lin-bench.sh` times: with
//! `LIN_BENCH_OUT=dir`, the test `write_bench_histories` writes its histories
//! there as JSON Lines.

use faultline::check::lin::{check, shrink, Call, History, Model, Op, Outcome, Value, Verdict, Violation};
use faultline::check::linearizability::{check_steps, Budget};
use faultline::sim::rng::Prng;

/// The shape of a generated history.
#[derive(Clone, Copy, Debug)]
struct Shape {
    /// Concurrent clients (1: a sequential history).
    clients: usize,
    /// Operations in all.
    ops: usize,
    /// Keys (1: a key-less register history, checked with model `register`).
    keys: usize,
    /// The violation planted, if any.
    fault: Fault,
    seed: u64,
}

/// A violation planted in a generated history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// None: the history is linearizable.
    None,
    /// One read after 90% of the history returns a value real time proves
    /// stale (the checker's pre-pass sees it without searching).
    StaleRead,
    /// At the end, after a write, two concurrent cas from the written value
    /// both succeed: only a search can tell, and it must first rule out
    /// every other linearization of everything before.
    LostCas,
}

impl Shape {
    fn model(&self) -> Model {
        if self.keys == 1 {
            Model::Register
        } else {
            Model::Kv
        }
    }
}

/// One op being generated: what it did, and where its events are.
struct Gen {
    process: usize,
    key: usize,
    call: Call,
    /// The value read, or whether a cas took effect.
    read: Value,
    cas_ok: bool,
    invoke: usize,
    complete: usize,
}

/// A register (or one register per key) history, linearizable by
/// construction: each client's op takes effect atomically at a random moment
/// between its invoke and its completion, on a simulated register. Ops are
/// reads (50%), writes of fresh values (30%) and cas (20%, half of them from
/// the current value; the others fail). [`Fault::StaleRead`] changes one read
/// late in the history (after 90% of it) to return a value overwritten before
/// it was invoked: the value's write completed before the overwriting op was
/// invoked, which completed before the read was, and no other op writes that
/// value, so no linearization exists. [`Fault::LostCas`] appends, after all
/// of that, a write of a fresh value to the first key and two overlapping
/// cas from that value, both successful.
fn generate(shape: Shape) -> History {
    let mut rng = Prng::stream(shape.seed, "lin-gen");
    let mut ops: Vec<Gen> = Vec::with_capacity(shape.ops);
    // Per client: the op in flight and whether it has taken effect.
    let mut in_flight: Vec<Option<(usize, bool)>> = vec![None; shape.clients];
    let mut registers: Vec<Value> = vec![Value::Null; shape.keys];
    // Per key: the ops whose write took effect, in effect order.
    let mut writers: Vec<Vec<usize>> = vec![Vec::new(); shape.keys];
    let (mut event, mut next_value, mut busy) = (1usize, 1i64, 0usize);
    while ops.len() < shape.ops || busy > 0 {
        let c = rng.index(shape.clients);
        match in_flight[c] {
            None if ops.len() < shape.ops => {
                let key = rng.index(shape.keys);
                let roll = rng.index(10);
                let call = if roll < 5 {
                    Call::Read
                } else if roll < 8 {
                    next_value += 1;
                    Call::Write(Value::Int(next_value))
                } else {
                    let old = if rng.index(2) == 0 { registers[key].clone() } else { Value::Int(next_value - 1) };
                    next_value += 1;
                    Call::Cas(old, Value::Int(next_value))
                };
                in_flight[c] = Some((ops.len(), false));
                ops.push(Gen { process: c, key, call, read: Value::Null, cas_ok: false, invoke: event, complete: 0 });
                event += 1;
                busy += 1;
            }
            None => {}
            Some((i, false)) => {
                let op = &mut ops[i];
                let register = &mut registers[op.key];
                match &op.call {
                    Call::Read => op.read = register.clone(),
                    Call::Write(v) => {
                        *register = v.clone();
                        writers[op.key].push(i);
                    }
                    Call::Cas(old, new) => {
                        op.cas_ok = register == old;
                        if op.cas_ok {
                            *register = new.clone();
                            writers[op.key].push(i);
                        }
                    }
                    Call::Append(_) => unreachable!("the generator makes no appends"),
                }
                in_flight[c] = Some((i, true));
            }
            Some((i, true)) => {
                ops[i].complete = event;
                event += 1;
                in_flight[c] = None;
                busy -= 1;
            }
        }
    }
    match shape.fault {
        Fault::None => {}
        Fault::StaleRead => plant_stale_read(&mut ops, &writers, event),
        Fault::LostCas => {
            let value = Value::Int(next_value + 1);
            let op = |process, call, invoke, complete| Gen {
                process,
                key: 0,
                call,
                read: Value::Null,
                cas_ok: true,
                invoke,
                complete,
            };
            ops.push(op(0, Call::Write(value.clone()), event, event + 1));
            ops.push(op(0, Call::Cas(value.clone(), Value::Int(next_value + 2)), event + 2, event + 4));
            ops.push(op(1, Call::Cas(value, Value::Int(next_value + 3)), event + 3, event + 5));
        }
    }
    let ops = ops
        .into_iter()
        .map(|g| {
            let outcome = match (&g.call, g.cas_ok) {
                (Call::Read, _) => Outcome::Ok(g.read),
                (Call::Cas(..), false) => Outcome::Fail,
                _ => Outcome::Ok(Value::Null),
            };
            Op {
                process: g.process as u64,
                key: (shape.keys > 1).then(|| format!("k{}", g.key)),
                call: g.call,
                outcome,
                invoke_index: g.invoke,
                complete_index: Some(g.complete),
                meta: Default::default(),
            }
        })
        .collect();
    History::from_ops(ops)
}

/// The value an op wrote, if it wrote one.
fn written(op: &Gen) -> Option<&Value> {
    match &op.call {
        Call::Write(v) => Some(v),
        Call::Cas(_, v) if op.cas_ok => Some(v),
        _ => None,
    }
}

/// Makes the first read invoked after 90% of the events return the latest
/// value that is provably stale for it (see [`generate`]).
fn plant_stale_read(ops: &mut [Gen], writers: &[Vec<usize>], events: usize) {
    for r in 0..ops.len() {
        if ops[r].call != Call::Read || ops[r].invoke * 10 < events * 9 {
            continue;
        }
        let chain = &writers[ops[r].key];
        let stale = chain.windows(2).rev().find(|pair| {
            let (w, over) = (&ops[pair[0]], &ops[pair[1]]);
            w.complete < over.invoke && over.complete < ops[r].invoke
        });
        if let Some(pair) = stale {
            ops[r].read = written(&ops[pair[0]]).expect("a writer wrote").clone();
            return;
        }
    }
    panic!("no read late enough to plant a stale read in");
}

/// Checks a generated history without a budget and asserts the verdict its
/// shape promises; returns the steps taken.
fn check_shape(shape: Shape) -> u64 {
    let history = generate(shape);
    let (verdict, steps) = check_steps(&history, shape.model(), Budget::Unlimited);
    match (&verdict, shape.fault) {
        (Verdict::Linearizable, Fault::None) => steps,
        (Verdict::NotLinearizable(v), Fault::StaleRead) if v.forced_order => steps,
        (Verdict::NotLinearizable(v), Fault::LostCas) if !v.forced_order => steps,
        _ => panic!("{shape:?}: got {verdict:?}"),
    }
}

#[test]
fn generated_histories_get_the_verdict_they_were_built_to_have() {
    for seed in 0..4 {
        for (clients, keys) in [(1, 1), (3, 1), (10, 1), (20, 3), (5, 10)] {
            for fault in [Fault::None, Fault::StaleRead, Fault::LostCas] {
                check_shape(Shape { clients, ops: 2_000, keys, fault, seed });
            }
        }
    }
}

#[test]
fn a_step_budget_gives_the_same_verdict_on_any_machine() {
    for fault in [Fault::None, Fault::LostCas] {
        let shape = Shape { clients: 10, ops: 3_000, keys: 1, fault, seed: 7 };
        let history = generate(shape);
        let (verdict, steps) = check_steps(&history, Model::Register, Budget::Unlimited);
        assert!(steps > 3_000, "a concurrent history takes more than a step per op: {steps}");
        // The same budget, the same answer and the same count, every time.
        for _ in 0..2 {
            assert_eq!(check_steps(&history, Model::Register, Budget::Steps(steps)), (verdict.clone(), steps));
        }
        // One step short is Unknown, however fast the machine.
        let (short, spent) = check_steps(&history, Model::Register, Budget::Steps(steps - 1));
        assert_eq!((short, spent), (Verdict::Unknown, steps - 1));
        assert_eq!(check(&history, Model::Register, Budget::Steps(steps / 2)), Verdict::Unknown);
    }
}

#[test]
fn a_step_budget_spans_keys_and_is_spent_in_key_order() {
    // Ten keys: the count is the sum over keys, and a budget that ends
    // inside the last key's search is Unknown.
    let shape = Shape { clients: 20, ops: 4_000, keys: 10, fault: Fault::None, seed: 3 };
    let history = generate(shape);
    let (verdict, steps) = check_steps(&history, Model::Kv, Budget::Unlimited);
    assert_eq!(verdict, Verdict::Linearizable);
    assert_eq!(check_steps(&history, Model::Kv, Budget::Steps(steps)), (Verdict::Linearizable, steps));
    assert_eq!(check(&history, Model::Kv, Budget::Steps(steps - 1)), Verdict::Unknown);
}

#[test]
fn a_million_sequential_ops_take_a_few_steps_each() {
    // A budget of 4 steps per op would be far too small for a search that
    // does work proportional to the history per op; this one needs about one
    // step per op when linearizable, two when it must back out of a lost cas
    // at the very end, and one in all for a stale read real time gives away.
    let n = 1_000_000;
    for fault in [Fault::None, Fault::StaleRead, Fault::LostCas] {
        let shape = Shape { clients: 1, ops: n, keys: 1, fault, seed: 1 };
        let history = generate(shape);
        let (verdict, steps) = check_steps(&history, Model::Register, Budget::Steps(4 * n as u64));
        assert_eq!(matches!(verdict, Verdict::NotLinearizable(_)), fault != Fault::None, "{verdict:?}");
        let steps_max = match fault {
            Fault::None => n as u64 + 1,
            Fault::StaleRead => 1,
            Fault::LostCas => 3 * n as u64,
        };
        assert!(steps <= steps_max, "{fault:?}: {steps} steps for {n} ops");
        if let Verdict::NotLinearizable(violation) = verdict {
            if fault == Fault::LostCas {
                // The report keeps the end of a partial linearization of
                // nearly everything, and the shrink starts from that end.
                assert!(violation.linearization_len > n / 2, "{}", violation.linearization_len);
                assert_eq!(violation.linearization.len(), Violation::STEPS_KEPT_MAX);
            }
            let shrunk = shrink(&history, Model::Register, &violation, Budget::Steps(n as u64));
            assert!(shrunk.complete, "{fault:?}: the shrink finishes within {n} steps");
            assert_eq!(shrunk.history.len(), 3, "{fault:?}: {}", shrunk.history.to_jsonl());
        }
    }
}

#[test]
fn high_concurrency_stays_cheap_per_op() {
    // 100 clients in flight at once over 1,000 ops: the reductions keep the
    // search near-linear (a plain search would branch a hundredfold).
    let steps = check_shape(Shape { clients: 100, ops: 1_000, keys: 1, fault: Fault::None, seed: 5 });
    assert!(steps < 1_000 * 1_000, "{steps} steps");
    check_shape(Shape { clients: 100, ops: 1_000, keys: 1, fault: Fault::StaleRead, seed: 5 });
}

/// The histories `scripts/lin-bench.sh` times, by file name.
const BENCH: [(&str, Shape); 11] = [
    ("seq-1m", Shape { clients: 1, ops: 1_000_000, keys: 1, fault: Fault::None, seed: 1 }),
    ("seq-1m-stale", Shape { clients: 1, ops: 1_000_000, keys: 1, fault: Fault::StaleRead, seed: 1 }),
    ("c10-10k", Shape { clients: 10, ops: 10_000, keys: 1, fault: Fault::None, seed: 2 }),
    ("c10-10k-stale", Shape { clients: 10, ops: 10_000, keys: 1, fault: Fault::StaleRead, seed: 2 }),
    ("c10-10k-lostcas", Shape { clients: 10, ops: 10_000, keys: 1, fault: Fault::LostCas, seed: 2 }),
    ("k10-c100-100k", Shape { clients: 100, ops: 100_000, keys: 10, fault: Fault::None, seed: 3 }),
    ("k100-c100-300k", Shape { clients: 100, ops: 300_000, keys: 100, fault: Fault::None, seed: 4 }),
    ("c50-1k", Shape { clients: 50, ops: 1_000, keys: 1, fault: Fault::None, seed: 5 }),
    ("c100-1k", Shape { clients: 100, ops: 1_000, keys: 1, fault: Fault::None, seed: 6 }),
    ("c100-1k-stale", Shape { clients: 100, ops: 1_000, keys: 1, fault: Fault::StaleRead, seed: 6 }),
    ("c100-1k-lostcas", Shape { clients: 100, ops: 1_000, keys: 1, fault: Fault::LostCas, seed: 6 }),
];

/// Writes the bench histories into `$LIN_BENCH_OUT` (nothing without it).
/// With `LIN_BENCH_SHAPE=clients,ops,keys,fault,seed` (fault: 0 none, 1
/// stale read, 2 lost cas) it
/// writes that one history instead, as `custom.jsonl`.
#[test]
fn write_bench_histories() {
    let Some(dir) = std::env::var_os("LIN_BENCH_OUT") else { return };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("the bench directory can be made");
    let custom = std::env::var("LIN_BENCH_SHAPE").ok().map(|text| {
        let n: Vec<usize> = text.split(',').map(|f| f.trim().parse().expect("LIN_BENCH_SHAPE: integers")).collect();
        let [clients, ops, keys, fault, seed] = n[..] else { panic!("LIN_BENCH_SHAPE: five fields") };
        let fault = [Fault::None, Fault::StaleRead, Fault::LostCas][fault];
        ("custom", Shape { clients, ops, keys, fault, seed: seed as u64 })
    });
    for (name, shape) in custom.map_or(BENCH.to_vec(), |c| vec![c]) {
        let text = generate(shape).to_jsonl();
        std::fs::write(dir.join(format!("{name}.jsonl")), text).expect("the bench history can be written");
    }
}
