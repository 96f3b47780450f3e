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
use faultline::kit::{Named, Protocol, Setup};
use faultline::Ctx;

/// Update number `n`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Update(u64);

/// A backup applied update `n`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Applied(u64);

/// The protocol's options.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// Gap between two updates, e.g. "2ms".
    pub every: faultline::scenario::Dur,
}

impl Default for Options {
    fn default() -> Self {
        Options { every: faultline::scenario::Dur(2_000_000) }
    }
}

/// The protocol.
pub struct PrimaryBackup;

async fn primary(ctx: Ctx<Update, Applied>, every: Duration) {
    for n in 1.. {
        for peer in ctx.peers() {
            ctx.send(peer, Update(n));
        }
        ctx.sleep(every).await;
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
    type Msg = Update;
    type Obs = Applied;
    type Options = Options;

    fn name(&self) -> &'static str {
        "primary-backup"
    }
    fn about(&self) -> &'static str {
        "a primary streams numbered updates to backups (example of a user protocol)"
    }
    fn checks(&self) -> &'static [Named] {
        const CHECKS: &[Named] = &[Named::new("in-order", "every backup applies updates in order")];
        CHECKS
    }
    fn bugs(&self) -> &'static [Named] {
        const BUGS: &[Named] = &[Named::new("apply-on-arrival", "backups apply updates as they arrive")];
        BUGS
    }
    fn nodes_min(&self) -> usize {
        2
    }
    fn setup(&self, s: &mut Setup<'_, Self>) {
        let every = Duration::from_nanos(s.options().every.0);
        let bug = s.bug("apply-on-arrival");
        s.role([0], move |ctx| primary(ctx, every));
        s.role(1..s.node_count(), move |ctx| backup(ctx, bug));
        s.invariant("in-order", || {
            let mut last: BTreeMap<usize, u64> = BTreeMap::new();
            Box::new(FnInvariant::new("in-order", move |_, node, Applied(n): &Applied| {
                let prev = last.insert(node, *n).unwrap_or(0);
                if *n == prev + 1 {
                    Ok(())
                } else {
                    Err(format!("n{node} applied update {n} right after {prev}"))
                }
            }))
        });
    }
}

#[allow(dead_code)] // the tests include this file for the protocol alone
fn main() {
    let mut protocols = faultline::protocols::builtin();
    protocols.push(&PrimaryBackup);
    std::process::exit(faultline::cli::main_with(&protocols, "cargo run --release --example custom_protocol --"));
}
