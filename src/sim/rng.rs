//! The one source of randomness: named ChaCha8 streams forked from the run's seed.
//!
//! Every random decision in a run draws from a stream named for its purpose
//! (`net`, `nemesis`, `workload`, `node/3`, ...). A stream's key is a stable
//! hash of (seed, name), so adding a draw to one stream never reshuffles the
//! others: that is what lets a scenario change in one place and stay the same
//! run everywhere else. Float conversions for probabilities and distributions
//! live here and nowhere else.

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A deterministic pseudo-random stream.
#[derive(Clone, Debug)]
pub struct Prng {
    inner: ChaCha8Rng,
}

impl Prng {
    /// The stream `name` of the run with master seed `seed`.
    pub fn stream(seed: u64, name: &str) -> Prng {
        let mut key = [0u8; 32];
        let mut h = crate::sim::trace::StableHasher::new();
        h.write_u64(seed);
        h.write_bytes(name.as_bytes());
        let a = h.finish();
        h.write_u64(0x9e37_79b9_7f4a_7c15);
        let b = h.finish();
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&a.to_le_bytes());
        key[16..24].copy_from_slice(&b.to_le_bytes());
        key[24..].copy_from_slice(&(name.len() as u64).to_le_bytes());
        Prng { inner: ChaCha8Rng::from_seed(key) }
    }

    /// A uniformly random `u64`.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform integer in `[low, high]` (inclusive). Uses Lemire's
    /// multiply-shift; the tiny bias for huge ranges is irrelevant here and
    /// keeps the draw count fixed at one, which keeps streams aligned.
    #[inline(always)]
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high, "between: low {low} > high {high}");
        let span = high - low;
        if span == u64::MAX {
            return self.next_u64();
        }
        let r = ((self.next_u64() as u128 * (span as u128 + 1)) >> 64) as u64;
        low + r
    }

    /// A uniform index in `[0, n)`; `n` must be positive.
    #[inline]
    pub fn index(&mut self, n: usize) -> usize {
        assert!(n > 0, "index: empty range");
        self.between(0, n as u64 - 1) as usize
    }

    /// True with probability `p`.
    #[inline]
    pub fn chance(&mut self, p: Probability) -> bool {
        match p.threshold {
            0 => false,
            u64::MAX => true,
            t => self.next_u64() < t,
        }
    }

    /// A float uniform in the open interval (0, 1): never 0, so `ln` is safe.
    #[inline]
    pub fn unit_open(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal variate (Box-Muller; two draws, one value kept, so
    /// the draw count per call is fixed).
    pub fn standard_normal(&mut self) -> f64 {
        let u1 = self.unit_open();
        let u2 = self.unit_open();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// A probability as an integer threshold over `u64`, converted once from the
/// scenario's float so that every decision is an integer comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Probability {
    threshold: u64,
}

impl Probability {
    /// Never.
    pub const ZERO: Probability = Probability { threshold: 0 };
    /// Always.
    pub const ONE: Probability = Probability { threshold: u64::MAX };

    /// From a float in `[0, 1]`; callers validate the range first.
    pub fn from_f64(p: f64) -> Probability {
        assert!((0.0..=1.0).contains(&p), "probability {p} out of [0, 1]");
        if p >= 1.0 {
            Probability::ONE
        } else {
            Probability { threshold: (p * 18_446_744_073_709_551_616.0) as u64 }
        }
    }

    /// Whether the probability is exactly zero (no draw needed).
    pub fn is_zero(self) -> bool {
        self.threshold == 0
    }

    /// The probability as a float, for display.
    pub fn as_f64(self) -> f64 {
        if self.threshold == u64::MAX {
            1.0
        } else {
            self.threshold as f64 / 18_446_744_073_709_551_616.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a1: Vec<u64> = (0..4)
            .map({
                let mut r = Prng::stream(7, "net");
                move |_| r.next_u64()
            })
            .collect();
        let a2: Vec<u64> = (0..4)
            .map({
                let mut r = Prng::stream(7, "net");
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Prng::stream(7, "nemesis");
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = Prng::stream(8, "net");
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, c);
    }

    #[test]
    fn between_stays_in_range_and_covers_it() {
        let mut r = Prng::stream(1, "t");
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let v = r.between(10, 14);
            assert!((10..=14).contains(&v));
            seen[(v - 10) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn chance_extremes_and_rate() {
        let mut r = Prng::stream(1, "t");
        assert!((0..1000).all(|_| !r.chance(Probability::ZERO)));
        assert!((0..1000).all(|_| r.chance(Probability::ONE)));
        let p = Probability::from_f64(0.25);
        let hits = (0..100_000).filter(|_| r.chance(p)).count();
        assert!((24_000..26_000).contains(&hits), "hits {hits}");
    }
}
