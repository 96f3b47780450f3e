//! `tickets`: a tiny ticket service, the kernel's end-to-end test protocol.
//!
//! Node 0 is a sequencer. Every other node asks it for a ticket now and
//! then, retrying on a timeout. The sequencer hands out `next`, writes
//! `next + 1` to disk, waits for the fsync and only then replies, so a
//! ticket, once seen by anyone, survives a sequencer crash.
//!
//! Invariant promised: `unique-tickets`, no ticket is granted twice.
//!
//! Planted bug `reply-before-sync`: the sequencer replies before its fsync
//! completes. A crash in that window loses the write, and the restarted
//! sequencer hands out the same ticket again. Only crashes that land in the
//! window expose it, so some seeds fail and others pass.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::check::FnInvariant;
use crate::node::Ctx;
use crate::protocols::{Named, Protocol};
use crate::runner::{ProtocolRun, RunSpec};
use crate::scenario::ScenarioError;
use crate::sim::Sim;

/// The protocol's messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    /// A request for a ticket; `req` is unique per requester.
    Request {
        /// Request number.
        req: u64,
    },
    /// The sequencer's answer to request `req`.
    Grant {
        /// The request answered.
        req: u64,
        /// The ticket.
        ticket: u64,
    },
}

/// What nodes report.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Obs {
    /// A requester received `ticket`.
    Granted {
        /// The ticket.
        ticket: u64,
    },
}

/// The protocol.
pub struct Tickets;

const CHECKS: &[Named] = &[Named { name: "unique-tickets", about: "no ticket is granted twice" }];
const BUGS: &[Named] = &[Named {
    name: "reply-before-sync",
    about: "the sequencer replies before its counter is durable; a crash reissues tickets",
}];

async fn sequencer(ctx: Ctx<Msg, Obs>, reply_before_sync: bool) {
    let disk = ctx.storage();
    let mut next: u64 = disk.get_json("next").unwrap_or(0);
    loop {
        let env = ctx.recv().await;
        let Msg::Request { req } = env.msg else {
            continue;
        };
        let ticket = next;
        next += 1;
        disk.put_json("next", &next);
        if reply_before_sync {
            // BUG(reply-before-sync): the reply escapes before the write is durable.
            ctx.send(env.from, Msg::Grant { req, ticket });
            disk.sync().await;
        } else {
            disk.sync().await;
            ctx.send(env.from, Msg::Grant { req, ticket });
        }
    }
}

async fn requester(ctx: Ctx<Msg, Obs>) {
    let mut req = 0;
    loop {
        let pause = ctx.rng().duration_between(Duration::from_millis(5), Duration::from_millis(15));
        ctx.sleep(pause).await;
        req += 1;
        ctx.send(0, Msg::Request { req });
        // Wait for this request's grant; stale or duplicate grants are ignored.
        while let Some(env) = ctx.recv_timeout(Duration::from_millis(50)).await {
            if let Msg::Grant { req: r, ticket } = env.msg {
                if r == req {
                    ctx.emit(Obs::Granted { ticket });
                    break;
                }
            }
        }
    }
}

impl Protocol for Tickets {
    fn name(&self) -> &'static str {
        "tickets"
    }
    fn about(&self) -> &'static str {
        "a sequencer handing out unique tickets (kernel test protocol)"
    }
    fn checks(&self) -> &'static [Named] {
        CHECKS
    }
    fn bugs(&self) -> &'static [Named] {
        BUGS
    }
    fn run(&self, spec: &RunSpec) -> Result<ProtocolRun, ScenarioError> {
        if spec.scenario.options.as_object().is_some_and(|o| !o.is_empty()) {
            return Err(ScenarioError {
                file: spec.file.to_string(),
                path: "options".into(),
                message: "expected no options for protocol tickets".into(),
            });
        }
        let mut sim: Sim<Msg, Obs> = Sim::with_options(spec.config.clone(), spec.take_sink(), spec.record_observations);
        let bug = spec.bug("reply-before-sync");
        sim.set_node_entry(move |ctx| async move {
            if ctx.id() == 0 {
                sequencer(ctx, bug).await
            } else {
                requester(ctx).await
            }
        });
        if spec.wants_check("unique-tickets") {
            let mut seen = BTreeSet::new();
            sim.add_invariant(Box::new(FnInvariant::new("unique-tickets", move |_, node, obs: &Obs| {
                let Obs::Granted { ticket } = obs;
                if seen.insert(*ticket) {
                    Ok(())
                } else {
                    Err(format!("ticket {ticket} granted twice (the second time to n{node})"))
                }
            })));
        }
        Ok(ProtocolRun::bare(sim.run()))
    }
}
