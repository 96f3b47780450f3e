//! Client workloads for key-value protocols: operation generation, the
//! client loop with retries, history recording, and the end-of-run
//! linearizability check. Any protocol whose nodes serve `read`, `write` and
//! `cas` on keys `k0..` can reuse it by implementing [`ClientCodec`].
//!
//! Each client process issues one operation at a time, at `rate / clients`
//! per second with exponential gaps drawn from its own stream. Values are
//! unique per key (`counter * 10_000 + client_index`), so a read names the
//! write it saw. A request carries an id `(client, seq)`; on a timeout the
//! client retries the *same* id on another node, so a server that
//! deduplicates applies it once. An op whose fate the client cannot know
//! (it gave up, or the run ended) is recorded `info`, and the client then
//! continues under a new history process id (`client_index + k * clients`),
//! as DESIGN section 4 asks. The recorder is shared (an `Rc`) between the
//! clients, which write it, and the checks, which read it at the end of the
//! run: checkers observe and never steer.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::hash::Hash;
use std::rc::Rc;
use std::time::Duration;

use crate::check::history::{HistoryLine, LineKind};
use crate::check::lin::{self, Call, History, Model, Op, OpMeta, Outcome, Value};
use crate::check::{Invariant, RunEnd, Verdict};
use crate::node::Ctx;
use crate::scenario::WorkloadSpec;
use crate::sim::Nanos;
use crate::sim::NodeId;

/// A key-value operation as clients send it. Keys are indices (`k{key}`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KvOp {
    /// Read key `key`.
    Read {
        /// Key index.
        key: u32,
    },
    /// Set key `key` to `value`.
    Write {
        /// Key index.
        key: u32,
        /// The (unique) value.
        value: i64,
    },
    /// If key `key` holds `old` (`None` = absent), set it to `new`.
    Cas {
        /// Key index.
        key: u32,
        /// Expected current value.
        old: Option<i64>,
        /// The (unique) new value.
        new: i64,
    },
}

/// The name key `k` has in a history (`history.jsonl` and the checker's):
/// `k0`, `k1`, ...
fn key_name(k: u32) -> String {
    format!("k{k}")
}

/// By hand, to be inlined: every AppendEntries hashes each entry's op into
/// the trace, and the derived impl was a call per op. It writes exactly the
/// words `#[derive(Hash)]` writes (the variant index as an `isize`, then
/// the fields in order), so no trace hash changed; a test holds it to that.
impl std::hash::Hash for KvOp {
    #[inline(always)]
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        match *self {
            KvOp::Read { key } => {
                h.write_isize(0);
                h.write_u32(key);
            }
            KvOp::Write { key, value } => {
                h.write_isize(1);
                h.write_u32(key);
                h.write_i64(value);
            }
            KvOp::Cas { key, old, new } => {
                h.write_isize(2);
                h.write_u32(key);
                std::hash::Hash::hash(&old, h);
                h.write_i64(new);
            }
        }
    }
}

impl KvOp {
    /// The key index.
    pub fn key(&self) -> u32 {
        match *self {
            KvOp::Read { key } | KvOp::Write { key, .. } | KvOp::Cas { key, .. } => key,
        }
    }

    /// `read`, `write` or `cas`.
    pub fn kind(&self) -> &'static str {
        match self {
            KvOp::Read { .. } => "read",
            KvOp::Write { .. } => "write",
            KvOp::Cas { .. } => "cas",
        }
    }

    fn call(&self) -> Call {
        let v = |x: Option<i64>| x.map_or(Value::Null, Value::Int);
        match *self {
            KvOp::Read { .. } => Call::Read,
            KvOp::Write { value, .. } => Call::Write(Value::Int(value)),
            KvOp::Cas { old, new, .. } => Call::Cas(v(old), Value::Int(new)),
        }
    }
}

/// What a server answered to a request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Response {
    /// The op took effect; a read carries the value (`None` = absent).
    Ok(Option<i64>),
    /// A cas whose compare failed: it did not take effect.
    CasFailed,
    /// This node cannot serve the request; try the hinted leader, if any.
    Redirect(Option<NodeId>),
}

/// How a protocol wraps client requests and replies in its message type.
pub trait ClientCodec<M>: 'static {
    /// The request message for request `seq` of this client.
    fn request(&self, seq: u64, op: &KvOp) -> M;
    /// `Some((seq, response))` if `msg` is a reply to a client request.
    fn response(&self, msg: &M) -> Option<(u64, Response)>;
}

/// The client workload, resolved from the scenario.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Number of protocol nodes (ids `0..node_count`), the servers.
    pub node_count: usize,
    /// Number of clients.
    pub client_count: usize,
    /// Mean gap between one client's ops, in nanoseconds (`clients / rate`).
    pub gap_ns_mean: u64,
    /// Number of keys.
    pub key_count: u32,
    /// Cumulative weights of read, write, cas, scaled to `u64` (last = total).
    pub mix_cumulative: [u64; 3],
    /// How long a client waits for a reply before trying another node, ns.
    pub timeout_ns: u64,
    /// Timeouts after which the client gives up on an op (it becomes `info`).
    pub attempts_max: u32,
    /// Pause before retrying after a redirect without a useful hint, ns.
    pub redirect_backoff_ns: u64,
    /// Most operations the history may hold (`limits.history_ops`): the
    /// run stops at a limit rather than grow a history no one can check.
    pub ops_max: u64,
}

impl ClientConfig {
    /// Resolves the scenario's `workload` section for `node_count` servers.
    pub fn from_spec(spec: &WorkloadSpec, node_count: usize) -> ClientConfig {
        assert!(spec.clients > 0 && spec.rate > 0.0 && spec.keys > 0, "workload validated by the scenario");
        let scale = |w: f64| (w * 1_000_000.0).round() as u64;
        let (r, w, c) = (scale(spec.mix.read), scale(spec.mix.write), scale(spec.mix.cas));
        ClientConfig {
            node_count,
            client_count: spec.clients,
            gap_ns_mean: ((spec.clients as f64 / spec.rate) * 1e9) as u64,
            key_count: spec.keys as u32,
            mix_cumulative: [r, r + w, r + w + c],
            timeout_ns: spec.timeout.map_or(1_000_000_000, |d| d.0),
            attempts_max: 3,
            redirect_backoff_ns: 10_000_000,
            ops_max: u64::MAX,
        }
    }
}

/// One recorded operation (history process ids already assigned).
#[derive(Clone, Debug)]
pub struct RecordedOp {
    /// History process id.
    pub process: u64,
    /// The op.
    pub op: KvOp,
    /// Invoke time (global ns) and event position.
    pub invoke: (Nanos, usize),
    /// Completion time and position, with its outcome; `None` while pending.
    pub complete: Option<(Nanos, usize, Outcome)>,
    /// The server whose reply completed the op (`None`: it timed out, or is pending).
    pub node: Option<NodeId>,
}

/// The shared history of every client.
#[derive(Debug, Default)]
pub struct Recorder {
    ops: Vec<RecordedOp>,
    events: usize,
    /// Per client index: how many times it changed process id.
    generation: BTreeMap<usize, u64>,
    /// Time of every `ok` completion, in order (for liveness).
    ok_times_ns: Vec<Nanos>,
}

impl Recorder {
    /// A shared, empty recorder.
    pub fn shared() -> Rc<RefCell<Recorder>> {
        Rc::new(RefCell::new(Recorder::default()))
    }

    fn process(&self, client_index: usize, client_count: usize) -> u64 {
        client_index as u64 + self.generation.get(&client_index).copied().unwrap_or(0) * client_count as u64
    }

    /// Records an invoke; returns the op's handle.
    pub fn invoke(&mut self, client_index: usize, client_count: usize, op: KvOp, now_ns: Nanos) -> usize {
        let process = self.process(client_index, client_count);
        self.events += 1;
        self.ops.push(RecordedOp { process, op, invoke: (now_ns, self.events), complete: None, node: None });
        self.ops.len() - 1
    }

    /// Records the completion of op `handle`, answered by server `node` (if
    /// any answered). An `info` moves the client to a new process id.
    pub fn complete(
        &mut self,
        handle: usize,
        client_index: usize,
        outcome: Outcome,
        node: Option<NodeId>,
        now_ns: Nanos,
    ) {
        assert!(self.ops[handle].complete.is_none(), "an op completes once");
        if outcome == Outcome::Info {
            *self.generation.entry(client_index).or_insert(0) += 1;
        }
        if matches!(outcome, Outcome::Ok(_)) {
            self.ok_times_ns.push(now_ns);
        }
        self.events += 1;
        self.ops[handle].complete = Some((now_ns, self.events, outcome));
        self.ops[handle].node = node;
    }

    /// Every op recorded so far.
    pub fn ops(&self) -> &[RecordedOp] {
        &self.ops
    }

    /// Operations invoked so far.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether no operation was invoked.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Times of `ok` completions, in order.
    pub fn ok_times_ns(&self) -> &[Nanos] {
        &self.ok_times_ns
    }

    /// The history for the checker: ops still pending are open (`Open`).
    pub fn history(&self) -> History {
        // A run has a handful of keys and thousands of ops (every seed of a
        // sweep builds this): each key's name is formatted once, then copied.
        let mut names: Vec<Option<String>> = Vec::new();
        let ops = self
            .ops
            .iter()
            .map(|r| {
                let (outcome, complete_index) = match &r.complete {
                    Some((_, i, o)) => (o.clone(), Some(*i)),
                    None => (Outcome::Open, None),
                };
                let k = r.op.key() as usize;
                if names.len() <= k {
                    names.resize(k + 1, None);
                }
                let key = names[k].get_or_insert_with(|| key_name(r.op.key())).clone();
                Op {
                    process: r.process,
                    key: Some(key),
                    call: r.op.call(),
                    outcome,
                    invoke_index: r.invoke.1,
                    complete_index,
                    meta: OpMeta {
                        invoke_ns: Some(r.invoke.0),
                        complete_ns: r.complete.as_ref().map(|c| c.0),
                        node: r.node.map(|n| n as u64),
                    },
                }
            })
            .collect();
        History::from_ops(ops)
    }

    /// The history in DESIGN section 4 JSON Lines, with times; ops pending at
    /// `end_ns` are completed as `info` there (their fate is unknown).
    pub fn to_jsonl(&self, end_ns: Nanos) -> String {
        use serde_json::Value as Json;
        let mut events: Vec<(usize, String)> = Vec::with_capacity(self.ops.len() * 2);
        let json = |v: Option<i64>| v.map_or(Json::Null, Json::from);
        for r in &self.ops {
            let key = key_name(r.op.key());
            let (f, invoke_value) = match r.op {
                KvOp::Read { .. } => ("read", Json::Null),
                KvOp::Write { value, .. } => ("write", Json::from(value)),
                KvOp::Cas { old, new, .. } => ("cas", Json::Array(vec![json(old), Json::from(new)])),
            };
            let line = |kind: LineKind, value: Json, time: Nanos| {
                HistoryLine {
                    key: Some(Cow::Borrowed(&key)),
                    time: Some(time),
                    node: if kind == LineKind::Invoke { None } else { r.node.map(|n| n as u64) },
                    ..HistoryLine::new(r.process, kind, f, value)
                }
                .to_json()
            };
            events.push((r.invoke.1, line(LineKind::Invoke, invoke_value.clone(), r.invoke.0)));
            let (time, index, outcome) = match &r.complete {
                Some((t, i, o)) => (*t, *i, o.clone()),
                None => (end_ns, usize::MAX, Outcome::Info),
            };
            let (kind, value) = match outcome {
                Outcome::Ok(Value::Int(v)) => (LineKind::Ok, Json::from(v)),
                Outcome::Ok(_) if r.op.kind() == "read" => (LineKind::Ok, Json::Null),
                Outcome::Ok(_) => (LineKind::Ok, invoke_value),
                Outcome::Fail => (LineKind::Fail, invoke_value),
                Outcome::Info | Outcome::Open => (LineKind::Info, invoke_value),
            };
            events.push((index, line(kind, value, time)));
        }
        events.sort_by_key(|(i, _)| *i);
        let mut out = String::new();
        for (_, l) in events {
            out.push_str(&l);
            out.push('\n');
        }
        out
    }

    /// Completed `ok` ops.
    pub fn ok_count(&self) -> u64 {
        self.ok_times_ns.len() as u64
    }

    /// Per op kind: p50, p90, p99 and max latency of `ok` ops, in ms.
    pub fn latency_ms(&self) -> BTreeMap<String, [f64; 4]> {
        // Keyed by the kind's static name: no string per op (every run pays this).
        let mut by_kind: BTreeMap<&'static str, Vec<Nanos>> = BTreeMap::new();
        for r in &self.ops {
            if let Some((t, _, Outcome::Ok(_))) = &r.complete {
                by_kind.entry(r.op.kind()).or_default().push(t - r.invoke.0);
            }
        }
        by_kind.into_iter().map(|(k, v)| (k.to_string(), crate::stats::quantiles_ms(&v))).collect()
    }
}

/// Draws the next op: kind by the mix, key uniform, values unique per key.
fn next_op<M, O>(
    ctx: &Ctx<M, O>,
    cfg: &ClientConfig,
    client_index: usize,
    counter: &mut i64,
    known: &BTreeMap<u32, Option<i64>>,
) -> KvOp
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    let rng = ctx.rng();
    let key = rng.index(cfg.key_count as usize) as u32;
    let total = cfg.mix_cumulative[2];
    let pick = rng.between(0, total.saturating_sub(1));
    *counter += 1;
    let value = *counter * 10_000 + client_index as i64;
    if pick < cfg.mix_cumulative[0] {
        KvOp::Read { key }
    } else if pick < cfg.mix_cumulative[1] {
        KvOp::Write { key, value }
    } else {
        // Compare against the last value this client saw for the key, so cas sometimes succeeds.
        KvOp::Cas { key, old: known.get(&key).copied().flatten(), new: value }
    }
}

/// An exponential gap with mean `mean_ns`, from the process's stream.
fn exponential_gap<M, O>(ctx: &Ctx<M, O>, mean_ns: u64) -> Duration
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    // Uniform in (0, 1]; the inverse CDF; capped at 20 means.
    let u = (ctx.rng().next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let x = -(1.0 - u).max(1e-12).ln();
    Duration::from_nanos((x.min(20.0) * mean_ns as f64) as u64)
}

/// The client loop of client number `client_index` (its process id is
/// `node_count + client_index`). Runs until the simulation ends.
pub async fn run_client<M, O, C>(ctx: Ctx<M, O>, cfg: Rc<ClientConfig>, recorder: Rc<RefCell<Recorder>>, codec: C)
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
    C: ClientCodec<M>,
{
    let client_index = ctx.id() - cfg.node_count;
    let mut counter = 0i64;
    let mut seq = 0u64;
    let mut known: BTreeMap<u32, Option<i64>> = BTreeMap::new();
    let mut target = ctx.rng().index(cfg.node_count);
    // Invokes are paced from a schedule, not from completions, so the offered
    // rate is `rate` whatever the latency; a client that fell behind (a long
    // op) starts its next op at once but does not burst to catch up.
    let mut next_invoke_ns = ctx.now_ns();
    loop {
        next_invoke_ns = (next_invoke_ns + exponential_gap(&ctx, cfg.gap_ns_mean).as_nanos() as u64).max(ctx.now_ns());
        ctx.sleep_until_ns(next_invoke_ns).await;
        let op = next_op(&ctx, &cfg, client_index, &mut counter, &known);
        seq += 1;
        if recorder.borrow().len() as u64 >= cfg.ops_max {
            ctx.hit_limit(crate::sim::Limit::HistoryOps, cfg.ops_max);
            return;
        }
        let handle = recorder.borrow_mut().invoke(client_index, cfg.client_count, op.clone(), ctx.now_ns());
        let mut timeouts = 0;
        let mut answered = None;
        let outcome = 'op: loop {
            ctx.send(target, codec.request(seq, &op));
            let deadline = ctx.now_ns() + cfg.timeout_ns;
            // Wait for this request's answer; stale replies are ignored.
            let response = loop {
                let left = deadline.saturating_sub(ctx.now_ns());
                match ctx.recv_timeout(Duration::from_nanos(left)).await {
                    None => break None,
                    Some(env) => match codec.response(&env.msg) {
                        // A result for this request counts from any node (a retried
                        // request may be answered by the first one); a redirect only
                        // from the node just asked.
                        Some((s, Response::Redirect(h))) if s == seq && env.from == target => {
                            break Some(Response::Redirect(h))
                        }
                        Some((s, r)) if s == seq && !matches!(r, Response::Redirect(_)) => {
                            answered = Some(env.from);
                            break Some(r);
                        }
                        _ => continue,
                    },
                }
            };
            match response {
                Some(Response::Ok(v)) => {
                    match op {
                        KvOp::Read { key } => {
                            known.insert(key, v);
                        }
                        KvOp::Write { key, value } | KvOp::Cas { key, new: value, .. } => {
                            known.insert(key, Some(value));
                        }
                    }
                    let value = match op {
                        KvOp::Read { .. } => v.map_or(Value::Null, Value::Int),
                        _ => Value::Null,
                    };
                    break 'op Outcome::Ok(value);
                }
                Some(Response::CasFailed) => break 'op Outcome::Fail,
                Some(Response::Redirect(hint)) => match hint {
                    Some(h) if h != target && h < cfg.node_count => target = h,
                    _ => {
                        target = other_node(&ctx, &cfg, target);
                        ctx.sleep(Duration::from_nanos(cfg.redirect_backoff_ns)).await;
                    }
                },
                None => {
                    timeouts += 1;
                    target = other_node(&ctx, &cfg, target);
                    if timeouts >= cfg.attempts_max {
                        break 'op Outcome::Info;
                    }
                }
            }
        };
        if outcome == Outcome::Info {
            // After an unknown outcome the client's view of the key is unknown too.
            known.remove(&op.key());
        }
        recorder.borrow_mut().complete(handle, client_index, outcome, answered, ctx.now_ns());
    }
}

fn other_node<M, O>(ctx: &Ctx<M, O>, cfg: &ClientConfig, current: NodeId) -> NodeId
where
    M: Clone + std::fmt::Debug + Hash + 'static,
    O: std::fmt::Debug + Hash + serde::Serialize + 'static,
{
    if cfg.node_count == 1 {
        return 0;
    }
    (current + 1 + ctx.rng().index(cfg.node_count - 1)) % cfg.node_count
}

/// `linearizability`: at the end of the run, the clients' history must be
/// linearizable under the key-value model. The search has a budget of
/// search steps, not of wall time, so the verdict is the same on any
/// machine; past it the verdict is unknown.
pub struct Linearizability {
    recorder: Rc<RefCell<Recorder>>,
    model: Model,
    /// Search steps allowed (see [`crate::check::linearizability::Budget`]); must be positive.
    steps_max: u64,
}

impl Linearizability {
    /// The check of `recorder`'s history under `model`, with a search budget of `steps_max` steps.
    pub fn new(recorder: Rc<RefCell<Recorder>>, model: Model, steps_max: u64) -> Self {
        assert!(steps_max > 0, "a linearizability check needs a positive step budget");
        Linearizability { recorder, model, steps_max }
    }
}

impl<O> Invariant<O> for Linearizability {
    fn name(&self) -> &str {
        crate::kit::LINEARIZABILITY
    }

    fn on_finish(&mut self, _end: &RunEnd<'_>) -> Verdict {
        let history = self.recorder.borrow().history();
        match lin::check(&history, self.model, crate::check::linearizability::Budget::Steps(self.steps_max)) {
            lin::Verdict::Linearizable => Verdict::Pass,
            lin::Verdict::NotLinearizable(v) => Verdict::Fail(v.render()),
            lin::Verdict::Unknown => Verdict::Unknown(format!(
                "the linearizability search ran out of its {}-step search budget",
                self.steps_max
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::trace::stable_hash;

    /// `KvOp`'s shape with the derived `Hash`: what the hand-written impl
    /// must hash the same as, or every trace hash with a client op changes.
    #[derive(Hash)]
    #[allow(dead_code)]
    enum Derived {
        Read { key: u32 },
        Write { key: u32, value: i64 },
        Cas { key: u32, old: Option<i64>, new: i64 },
    }

    #[test]
    fn kv_op_hashes_as_the_derived_impl_would() {
        let cases = [
            (KvOp::Read { key: 7 }, Derived::Read { key: 7 }),
            (KvOp::Write { key: 0, value: -3 }, Derived::Write { key: 0, value: -3 }),
            (KvOp::Write { key: u32::MAX, value: i64::MAX }, Derived::Write { key: u32::MAX, value: i64::MAX }),
            (KvOp::Cas { key: 2, old: None, new: 9 }, Derived::Cas { key: 2, old: None, new: 9 }),
            (KvOp::Cas { key: 2, old: Some(9), new: 10 }, Derived::Cas { key: 2, old: Some(9), new: 10 }),
        ];
        for (op, derived) in &cases {
            assert_eq!(stable_hash(op), stable_hash(derived), "{op:?}");
        }
        // And the cases tell each other apart (the test would see a hash of nothing).
        let all: std::collections::BTreeSet<u64> = cases.iter().map(|(op, _)| stable_hash(op)).collect();
        assert_eq!(all.len(), cases.len());
    }
}
