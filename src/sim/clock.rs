//! A process's local clock: virtual time as the process sees it.
//!
//! Faults injected here: skew (the clock runs at `rate_ppm` millionths of real
//! speed) and jumps (the clock steps forward or back at once). Local time is
//! piecewise linear in global time; each change re-bases it at the current
//! instant so the clock never jumps except when told to.

use crate::sim::queue::Nanos;

/// Parts per million of real speed that means "exact".
pub const RATE_PPM_EXACT: u64 = 1_000_000;

/// A process's local clock.
#[derive(Clone, Copy, Debug)]
pub struct LocalClock {
    base_global_ns: Nanos,
    base_local_ns: Nanos,
    rate_ppm: u64,
}

impl Default for LocalClock {
    fn default() -> Self {
        LocalClock { base_global_ns: 0, base_local_ns: 0, rate_ppm: RATE_PPM_EXACT }
    }
}

impl LocalClock {
    /// Local time at global time `global_ns` (which must not precede the last change).
    #[inline]
    pub fn local(&self, global_ns: Nanos) -> Nanos {
        let elapsed = global_ns - self.base_global_ns;
        if self.rate_ppm == RATE_PPM_EXACT {
            self.base_local_ns + elapsed
        } else {
            self.base_local_ns + (elapsed as u128 * self.rate_ppm as u128 / 1_000_000) as u64
        }
    }

    /// The earliest global time, not before `now_ns`, at which local time
    /// reaches `target_local_ns`; `local_now` is the local time at `now_ns`
    /// (a timer's poll has read it already).
    #[inline]
    pub fn global_for(&self, target_local_ns: Nanos, now_ns: Nanos, local_now: Nanos) -> Nanos {
        if target_local_ns <= local_now {
            return now_ns;
        }
        let delta = target_local_ns - local_now;
        if self.rate_ppm == RATE_PPM_EXACT {
            now_ns + delta
        } else {
            let g = (delta as u128 * 1_000_000).div_ceil(self.rate_ppm as u128);
            now_ns.saturating_add(u64::try_from(g).unwrap_or(u64::MAX))
        }
    }

    /// Whether the clock runs at exactly real speed.
    pub fn is_exact(&self) -> bool {
        self.rate_ppm == RATE_PPM_EXACT
    }

    /// Sets the clock's speed from `now_ns` on.
    pub fn set_rate(&mut self, now_ns: Nanos, rate_ppm: u64) {
        assert!(rate_ppm > 0, "a clock rate must be positive");
        self.base_local_ns = self.local(now_ns);
        self.base_global_ns = now_ns;
        self.rate_ppm = rate_ppm;
    }

    /// Steps the clock by `by_ns` (negative = back) at `now_ns`; never below zero.
    pub fn jump(&mut self, now_ns: Nanos, by_ns: i64) {
        self.base_local_ns = self.local(now_ns).saturating_add_signed(by_ns);
        self.base_global_ns = now_ns;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_and_jump_shift_local_time_only_as_told() {
        let mut c = LocalClock::default();
        assert_eq!(c.local(500), 500);
        c.set_rate(1_000, 2_000_000);
        assert_eq!(c.local(1_000), 1_000);
        assert_eq!(c.local(1_500), 2_000);
        assert_eq!(c.global_for(3_000, 1_500, c.local(1_500)), 2_000);
        c.jump(2_000, -2_500);
        assert_eq!(c.local(2_000), 500);
        c.set_rate(2_000, RATE_PPM_EXACT);
        assert_eq!(c.local(2_100), 600);
        assert_eq!(c.global_for(100, 2_100, c.local(2_100)), 2_100, "a past target is due now");
    }
}
