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
use crate::kit::{Named, Needs, NoOptions, Protocol, Setup, LIVENESS};
use crate::node::Ctx;

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
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Obs {
    /// A requester received `ticket`.
    Granted {
        /// The ticket.
        ticket: u64,
    },
}

/// The protocol.
pub struct Tickets;

const CHECKS: &[Named] = &[
    Named::new("unique-tickets", "no ticket is granted twice"),
    Named::new(LIVENESS, "after the last heal, a requester is granted a ticket in time").needing(Needs::Liveness),
];
const BUGS: &[Named] =
    &[Named::new("reply-before-sync", "the sequencer replies before its counter is durable; a crash reissues tickets")];

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
    type Msg = Msg;
    type Obs = Obs;
    type Options = NoOptions;
    fn msg_label(msg: &Msg) -> String {
        match msg {
            Msg::Request { req } => format!("Request #{req}"),
            Msg::Grant { req, ticket } => format!("Grant #{req} ticket {ticket}"),
        }
    }
    fn obs_label(obs: &Obs) -> String {
        let Obs::Granted { ticket } = obs;
        format!("got ticket {ticket}")
    }

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
    fn nodes_min(&self) -> usize {
        2
    }

    fn setup(&self, s: &mut Setup<'_, Self>) {
        let bug = s.bug("reply-before-sync");
        s.role([0], move |ctx| sequencer(ctx, bug));
        s.role(1..s.node_count(), requester);
        s.progress("a requester is granted a ticket", |Obs::Granted { .. }| true);
        s.invariant("unique-tickets", || {
            let mut seen = BTreeSet::new();
            Box::new(FnInvariant::new("unique-tickets", move |_, node, obs: &Obs| {
                let Obs::Granted { ticket } = obs;
                if seen.insert(*ticket) {
                    Ok(())
                } else {
                    Err(format!("ticket {ticket} granted twice (the second time to n{node})"))
                }
            }))
        });
    }
}
