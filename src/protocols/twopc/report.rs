//! The blocking problem of 2PC, made visible: a [`Reporter`] that turns
//! the participants' observations into a span chart and numbers for the
//! run's report.
//!
//! The chart `in-doubt` has one lane per participant. Each transaction
//! prepared there is a bar labelled with its name: amber while it is
//! *prepared* (it voted YES and waits, normally a round trip and an fsync),
//! then red once it is *in doubt* (prepared for `in_doubt_after` without a
//! decision, or rebuilt from the log after a restart: it asks for the
//! outcome and keeps its locks). The bar ends when the participant applies
//! the outcome. The coordinator's fault windows (`shade: [0]`) are shaded
//! across the whole chart, and each participant's own on its lane, so a
//! red bar that starts at a shaded stretch and ends soon after it says:
//! this participant was blocked that long because the coordinator was
//! down or cut off.
//!
//! `summary.json` gets, under `protocol_stats`: `in_doubt_count` (bars that
//! turned red), `in_doubt_ms_p99` and `in_doubt_ms_max` (how long they were
//! red: from the first inquiry to the outcome, or to the end of the run;
//! `null` when none was), `prepared_ms_p99` and `prepared_ms_max` (whole
//! bars, YES vote to outcome), `in_doubt_open_at_end`, and the
//! coordinator's `txs_committed` and `txs_aborted`. Quantiles are the
//! crate's nearest-rank ones ([`crate::stats`]).

use std::collections::BTreeMap;

use super::{Config, Obs, TxId, COORDINATOR};
use crate::check::{Extras, Reporter, RunEnd, Span, SpanChart, SpanLane};
use crate::sim::{Nanos, NodeId};

/// Colour of a prepared span.
pub const PREPARED_COLOR: &str = "#e9b949";
/// Colour of an in-doubt span.
pub const IN_DOUBT_COLOR: &str = "#c8383c";

/// A transaction prepared at a participant, not yet resolved there.
struct Open {
    since_ns: Nanos,
    in_doubt_ns: Option<Nanos>,
}

/// A bar of the chart, kept compact until the end of the run.
struct Bar {
    tx: TxId,
    since_ns: Nanos,
    in_doubt_ns: Option<Nanos>,
    end_ns: Nanos,
}

/// Most bars kept per lane that were never in doubt (those that were are
/// all kept): a long run's chart would otherwise draw tens of thousands of
/// slivers. The numbers count every bar.
pub const CALM_BARS_MAX: usize = 2_000;

/// The reporter: bars per participant, and the numbers.
pub struct Blocking {
    participant_count: usize,
    open: BTreeMap<(NodeId, TxId), Open>,
    /// Per participant (index `p - 1`): its bars.
    bars: Vec<Vec<Bar>>,
    /// Per participant: bars kept that were never in doubt.
    calm: Vec<usize>,
    /// Per participant: bars left out by [`CALM_BARS_MAX`].
    dropped: Vec<usize>,
    in_doubt_ns: Vec<Nanos>,
    prepared_ns: Vec<Nanos>,
    committed: u64,
    aborted: u64,
}

impl Blocking {
    /// A reporter for the participants of `cfg`.
    pub fn new(cfg: &Config) -> Blocking {
        Blocking {
            participant_count: cfg.participant_count,
            open: BTreeMap::new(),
            bars: (0..cfg.participant_count).map(|_| Vec::new()).collect(),
            calm: vec![0; cfg.participant_count],
            dropped: vec![0; cfg.participant_count],
            in_doubt_ns: Vec::new(),
            prepared_ns: Vec::new(),
            committed: 0,
            aborted: 0,
        }
    }

    fn close(&mut self, node: NodeId, tx: TxId, o: Open, end_ns: Nanos) {
        if let Some(d) = o.in_doubt_ns {
            self.in_doubt_ns.push(end_ns - d);
        }
        self.prepared_ns.push(end_ns - o.since_ns);
        if o.in_doubt_ns.is_none() {
            if self.calm[node - 1] >= CALM_BARS_MAX {
                self.dropped[node - 1] += 1;
                return;
            }
            self.calm[node - 1] += 1;
        }
        self.bars[node - 1].push(Bar { tx, since_ns: o.since_ns, in_doubt_ns: o.in_doubt_ns, end_ns });
    }
}

/// The spans of one bar: prepared, then in doubt if it was.
fn spans(b: &Bar) -> impl Iterator<Item = Span> {
    let label = format!("{:?}", b.tx);
    let prepared = Span {
        start_ns: b.since_ns,
        end_ns: b.in_doubt_ns.unwrap_or(b.end_ns),
        label: label.clone(),
        color: PREPARED_COLOR.into(),
    };
    let doubt = b.in_doubt_ns.map(|d| Span { start_ns: d, end_ns: b.end_ns, label, color: IN_DOUBT_COLOR.into() });
    std::iter::once(prepared).chain(doubt)
}

/// The p99 and the max of `samples` in ms; `null`s when there are none.
fn p99_max_ms(samples: &mut [Nanos]) -> [serde_json::Value; 2] {
    // Integers sort faster than floats, and ns to ms keeps the order.
    samples.sort_unstable();
    let ms: Vec<f64> = samples.iter().map(|&ns| ns as f64 / 1e6).collect();
    [0.99, 1.0].map(|q| {
        let v = crate::stats::quantile(&ms, q);
        if v.is_nan() {
            serde_json::Value::Null
        } else {
            serde_json::Value::from(v)
        }
    })
}

impl Reporter<Obs> for Blocking {
    fn on_observe(&mut self, time_ns: Nanos, node: NodeId, obs: &Obs) {
        let participant = node >= 1 && node <= self.participant_count;
        match obs {
            Obs::Decided { commit: true, .. } => self.committed += 1,
            Obs::Decided { commit: false, .. } => self.aborted += 1,
            Obs::Prepared { tx, .. } if participant => {
                self.open.entry((node, *tx)).or_insert(Open { since_ns: time_ns, in_doubt_ns: None });
            }
            Obs::InDoubt { tx } if participant => {
                if let Some(o) = self.open.get_mut(&(node, *tx)) {
                    o.in_doubt_ns.get_or_insert(time_ns);
                }
            }
            Obs::Committed { tx, .. } | Obs::Aborted { tx } if participant => {
                if let Some(o) = self.open.remove(&(node, *tx)) {
                    self.close(node, *tx, o, time_ns);
                }
            }
            _ => {}
        }
    }

    fn on_finish(&mut self, end: &RunEnd<'_>) -> Extras {
        let open_at_end = self.open.values().filter(|o| o.in_doubt_ns.is_some()).count();
        for ((node, tx), o) in std::mem::take(&mut self.open) {
            self.close(node, tx, o, end.end_ns);
        }
        let lanes = self
            .bars
            .iter_mut()
            .enumerate()
            .map(|(i, bars)| {
                bars.sort_by_key(|b| (b.since_ns, b.end_ns));
                let mut label = format!("participant n{}", i + 1);
                if self.dropped[i] > 0 {
                    label.push_str(&format!(" ({} calm bars left out)", self.dropped[i]));
                }
                SpanLane { label, node: Some(i + 1), spans: bars.iter().flat_map(spans).collect(), marks: Vec::new() }
            })
            .collect();
        let chart = SpanChart {
            name: "in-doubt".into(),
            title: "Prepared and in-doubt transactions per participant".into(),
            about: "Each bar is a transaction prepared at that participant: amber while it waits for the decision, \
                    red once it is in doubt (asking for the outcome, its locks held). Shaded: the coordinator's \
                    crashes, pauses and partitions (across the chart) and the participant's own (on its lane); \
                    red bars that outlast a shaded stretch are participants blocked by the coordinator."
                .into(),
            shade: vec![COORDINATOR],
            lanes,
        };
        let mut stats = BTreeMap::new();
        stats.insert("in_doubt_count".to_string(), serde_json::Value::from(self.in_doubt_ns.len()));
        let [p99, max] = p99_max_ms(&mut self.in_doubt_ns);
        stats.insert("in_doubt_ms_p99".to_string(), p99);
        stats.insert("in_doubt_ms_max".to_string(), max);
        stats.insert("in_doubt_open_at_end".to_string(), serde_json::Value::from(open_at_end));
        let [p99, max] = p99_max_ms(&mut self.prepared_ns);
        stats.insert("prepared_ms_p99".to_string(), p99);
        stats.insert("prepared_ms_max".to_string(), max);
        stats.insert("txs_committed".to_string(), serde_json::Value::from(self.committed));
        stats.insert("txs_aborted".to_string(), serde_json::Value::from(self.aborted));
        Extras { stats, charts: vec![chart] }
    }
}
