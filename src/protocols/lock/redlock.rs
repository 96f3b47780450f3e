//! `redlock`: the Redis documentation's distributed lock over `N`
//! independent lock servers (5 by default), with no replication between
//! them. It runs the lock server and client of `lease-lock` (see
//! [`super::lease`]) with these differences:
//! - a client asks every server at once with the same random value and TTL
//!   and holds the lock if a majority granted it while the validity left,
//!   `TTL - elapsed - drift`, is positive (the drift allowance is
//!   `TTL * clock_drift + 2 ms`); if not, it releases on every server and
//!   retries after a random delay. It releases on every server when done.
//! - there is no fencing token: each server counts its own grants, and no
//!   number grows across successive majorities, so a client writes with no
//!   token and the storage cannot fence (it accepts every write). Redlock's
//!   checks are `mutual-exclusion` and `liveness`; it does not promise
//!   `fenced-writes`.
//!
//! Node layout: lock servers `0..servers`, the storage server `servers`,
//! clients after it.
//!
//! It is what Redis recommends, and it is not safe. A forward clock jump
//! on one server ends that server's lease early; a second client then gets
//! a majority that includes that server while the first still counts on
//! its own: `scenarios/lock/redlock-clock-jump.json` finds two clients
//! acting as holder at once. Planted bugs: `trust-local-lease` and
//! `restart-without-delay`, as in `lease-lock`.

use super::invariants::MUTUAL_EXCLUSION;
use super::lease::{place, validate_common};
use super::{Bugs, Msg, Options, BUGS};
use crate::kit::{Invalid, Named, Needs, Protocol, Setup, LIVENESS};
use crate::scenario::Scenario;

/// The number of lock servers when `options.servers` is absent.
pub const SERVERS_DEFAULT: usize = 5;

/// The checks of `redlock`.
pub const CHECKS: &[Named] = &[
    Named::new(
        MUTUAL_EXCLUSION,
        "while a client's grants are live on a majority by the servers' clocks, no other client acts as \
         the holder, and no server grants over a live lease",
    ),
    Named::new(LIVENESS, "after the last heal, a client acquires the lock within the window").needing(Needs::Liveness),
];

/// Redlock's planted bugs: those of `lease-lock` but `no-fencing` (it has no fence).
pub fn bugs() -> &'static [Named] {
    &BUGS[1..]
}

/// The protocol.
pub struct Redlock;

impl Protocol for Redlock {
    type Msg = Msg;
    type Obs = super::LockObs;
    type Options = Options;
    fn msg_label(msg: &Msg) -> String {
        super::lease::msg_label(msg)
    }
    fn obs_label(obs: &super::LockObs) -> String {
        super::lease::obs_label(obs)
    }

    fn name(&self) -> &'static str {
        "redlock"
    }
    fn about(&self) -> &'static str {
        "Redlock: a majority of independent Redis-style lock servers, no fencing; unsafe under clock jumps"
    }
    fn checks(&self) -> &'static [Named] {
        CHECKS
    }
    fn bugs(&self) -> &'static [Named] {
        bugs()
    }
    fn nodes_min(&self) -> usize {
        3
    }

    fn validate(&self, o: &Options, scenario: &Scenario) -> Result<(), Invalid> {
        if o.servers == Some(0) {
            return Err(Invalid::new("options.servers", "expected at least 1 lock server"));
        }
        let servers = o.servers.unwrap_or(SERVERS_DEFAULT);
        validate_common(o, scenario, servers + 2)
    }

    fn setup(&self, s: &mut Setup<'_, Self>) {
        let bugs = Bugs {
            no_fencing: false,
            trust_local_lease: s.bug("trust-local-lease"),
            restart_without_delay: s.bug("restart-without-delay"),
        };
        let servers = s.options().servers.unwrap_or(SERVERS_DEFAULT);
        let cfg = s.options().resolve(servers, servers / 2 + 1, s.node_count(), false, bugs);
        place(s, cfg, false);
    }
}
