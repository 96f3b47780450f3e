//! A protocol written outside faultline, tested with the same machinery.
//!
//! `primary-backup`: node 0 numbers updates and sends each to every backup;
//! backups apply them in order, buffering any that arrive early. The
//! invariant `in-order` says no backup ever applies update n before n - 1.
//! Its planted bug `apply-on-arrival` applies updates as they arrive, which
//! network jitter turns into a violation.
//!
//! Run it under the faultline CLI, with its own protocol registered:
//!
//! ```text
//! cargo run --release --example custom_protocol -- run examples/primary-backup.json
//! cargo run --release --example custom_protocol -- sweep examples/primary-backup.json --seeds 0..100 --bug apply-on-arrival
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use faultline::check::FnInvariant;
use faultline::protocols::{Named, Protocol};
use faultline::runner::{ProtocolRun, RunSpec};
use faultline::scenario::ScenarioError;
use faultline::{Ctx, Sim};

/// Update number `n`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Update(u64);

/// A backup applied update `n`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Applied(u64);

struct PrimaryBackup;

async fn primary(ctx: Ctx<Update, Applied>) {
    for n in 1.. {
        for peer in ctx.peers() {
            ctx.send(peer, Update(n));
        }
        ctx.sleep(Duration::from_millis(2)).await;
    }
}

async fn backup(ctx: Ctx<Update, Applied>, apply_on_arrival: bool) {
    let mut next = 1;
    let mut early = BTreeSet::new();
    loop {
        let Update(n) = ctx.recv().await.msg;
        if apply_on_arrival {
            // BUG(apply-on-arrival): no reordering buffer.
            ctx.emit(Applied(n));
            continue;
        }
        early.insert(n);
        while early.remove(&next) {
            ctx.emit(Applied(next));
            next += 1;
        }
    }
}

impl Protocol for PrimaryBackup {
    fn name(&self) -> &'static str {
        "primary-backup"
    }
    fn about(&self) -> &'static str {
        "a primary streams numbered updates to backups (example of a user protocol)"
    }
    fn checks(&self) -> &'static [Named] {
        &[Named { name: "in-order", about: "every backup applies updates in order" }]
    }
    fn bugs(&self) -> &'static [Named] {
        &[Named { name: "apply-on-arrival", about: "backups apply updates as they arrive" }]
    }
    fn run(&self, spec: &RunSpec) -> Result<ProtocolRun, ScenarioError> {
        let mut sim = Sim::with_options(spec.config.clone(), spec.take_sink(), spec.record_observations);
        let bug = spec.bug("apply-on-arrival");
        sim.set_node_entry(move |ctx| async move {
            if ctx.id() == 0 {
                primary(ctx).await
            } else {
                backup(ctx, bug).await
            }
        });
        let mut last: BTreeMap<usize, u64> = BTreeMap::new();
        sim.add_invariant(Box::new(FnInvariant::new("in-order", move |_, node, Applied(n): &Applied| {
            let prev = last.insert(node, *n).unwrap_or(0);
            if *n == prev + 1 {
                Ok(())
            } else {
                Err(format!("n{node} applied update {n} right after {prev}"))
            }
        })));
        Ok(ProtocolRun::bare(sim.run()))
    }
}

fn main() {
    let mut protocols = faultline::protocols::builtin();
    protocols.push(&PrimaryBackup);
    std::process::exit(faultline::cli::main_with(&protocols, "cargo run --release --example custom_protocol --"));
}
