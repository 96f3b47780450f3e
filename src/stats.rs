//! The one quantile definition of the crate: every latency percentile that
//! faultline prints, saves (`summary.json`) or draws (`report.html`, the
//! charts, the sweep) comes from [`quantile`], so two places can never
//! disagree about what "p50" of the same samples is.
//!
//! Why it is shaped so:
//! - Nearest-rank, not interpolation: the `q` quantile of `n` ascending
//!   samples is the sample of 1-based rank `ceil(q * n)` (rank 1 for
//!   `q = 0`), i.e. the smallest sample such that at least a fraction `q` of
//!   the samples are at or below it. It is always one of the samples (a
//!   latency that really happened), it commutes with any increasing unit
//!   conversion (ns to ms before or after gives the same answer), and it
//!   needs no tie-breaking rule, which is where `round((n - 1) * q)` style
//!   definitions drift apart.
//! - Empty input gives `f64::NAN`, never `0.0`: "no samples" must not read
//!   as "zero latency". Callers that have no samples say so themselves
//!   (`serde_json` writes a NaN as `null`).
//! - A leaf module: it imports nothing from the crate, so the workload, the
//!   runner and the report can all depend on it without cycles.

/// Ratio of the sample rank tolerance to `q * n`: products that should be an
/// exact integer (0.07 * 100 = 7.000000000000001 in binary floating point)
/// must not be pushed up to the next rank. The rounding error of `q` and of
/// one multiplication is at most about two ulps, so eight is ample.
const RANK_TOLERANCE: f64 = 8.0 * f64::EPSILON;

/// The `q` quantile of `sorted` (ascending, as `f64::total_cmp` sorts),
/// nearest-rank: the sample of 1-based rank `ceil(q * n)`, with rank at least
/// one. So `q = 0` is the minimum, `q = 1` the maximum, and for `[1, 2, 3,
/// 4]` `q = 0.5` is `2` (rank `ceil(0.5 * 4) = 2`).
///
/// `q` is clamped to `0..=1` (a NaN `q` counts as 0). Empty `sorted` gives
/// `f64::NAN`. The order of `sorted` is not checked: unsorted input gives the
/// sample at that rank, not the quantile.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n => sorted[rank(n, q) - 1],
    }
}

/// The 1-based nearest rank of the `q` quantile among `n > 0` samples:
/// `ceil(q * n)` within [`RANK_TOLERANCE`], clamped to `1..=n` (a NaN `q`
/// counts as 0).
fn rank(n: usize, q: f64) -> usize {
    let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
    let exact = q * n as f64;
    let rank = (exact - exact * RANK_TOLERANCE).ceil() as usize;
    rank.clamp(1, n)
}

/// The quantiles `summary.json` and the report's latency table carry:
/// p50, p90, p99 and max (`q = 1`).
pub const SUMMARY_QUANTILES: [f64; 4] = [0.50, 0.90, 0.99, 1.0];

/// Sorts `values` ascending with `f64::total_cmp` (NaNs last), the order
/// [`quantile`] expects.
pub fn sort(values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
}

/// p50, p90, p99 and max, in milliseconds, of latencies given in
/// nanoseconds (any order), each by [`quantile`]. Empty input gives four
/// NaNs.
pub fn quantiles_ms(latencies_ns: &[u64]) -> [f64; 4] {
    let n = latencies_ns.len();
    if n == 0 {
        return [f64::NAN; 4];
    }
    // The same samples [`quantile`] would pick from the sorted list, found
    // by selection instead of a sort: each quantile's rank is selected
    // within the part below the next higher one, so the four cost about
    // two passes over the samples, not `n log n` (a run's history holds
    // tens of thousands of ops, and every run of a sweep pays this).
    // Integers compare faster than floats, and ns -> ms keeps the order.
    let mut ns = latencies_ns.to_vec();
    let mut out = [0.0; 4];
    let mut bound = n;
    let mut above = u64::MAX;
    for (slot, &q) in SUMMARY_QUANTILES.iter().enumerate().rev() {
        let index = rank(n, q) - 1;
        debug_assert!(index <= bound, "SUMMARY_QUANTILES ascend");
        let value = if index == bound { above } else { *ns[..bound].select_nth_unstable(index).1 };
        (bound, above) = (index, value);
        out[slot] = value as f64 / 1e6;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The case that made `summary.json` and `report.html` disagree: for
    /// four samples, nearest-rank p50 is the 2nd sample (`ceil(0.5 * 4) =
    /// 2`: half the samples are at or below 2), not the 3rd that
    /// `round((4 - 1) * 0.5) = round(1.5) = 2` as a 0-based index gives.
    #[test]
    fn four_samples() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 0.25), 1.0);
        assert_eq!(quantile(&v, 0.5), 2.0);
        assert_eq!(quantile(&v, 0.51), 3.0);
        assert_eq!(quantile(&v, 0.75), 3.0);
        assert_eq!(quantile(&v, 0.9), 4.0);
        assert_eq!(quantile(&v, 0.99), 4.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert_eq!(quantiles_ms(&[4_000_000, 1_000_000, 3_000_000, 2_000_000]), [2.0, 4.0, 4.0, 4.0]);
    }

    /// Selection picks the samples a sort would, for sizes around every
    /// rank boundary of the summary's quantiles and with repeated values.
    #[test]
    fn quantiles_by_selection_match_the_sorted_definition() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for n in 1..=260usize {
            let ns: Vec<u64> = (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 50) * 250_000
                })
                .collect();
            let mut ms: Vec<f64> = ns.iter().map(|&v| v as f64 / 1e6).collect();
            sort(&mut ms);
            let want = SUMMARY_QUANTILES.map(|q| quantile(&ms, q));
            assert_eq!(quantiles_ms(&ns), want, "n = {n}: {ns:?}");
        }
    }

    #[test]
    fn empty_is_nan_and_single_is_itself() {
        assert!(quantile(&[], 0.5).is_nan());
        assert!(quantiles_ms(&[]).iter().all(|q| q.is_nan()));
        for q in [0.0, 0.5, 1.0] {
            assert_eq!(quantile(&[7.0], q), 7.0);
        }
    }

    #[test]
    fn q_out_of_range_is_clamped() {
        let v = [1.0, 2.0, 3.0];
        assert_eq!(quantile(&v, -1.0), 1.0);
        assert_eq!(quantile(&v, f64::NAN), 1.0);
        assert_eq!(quantile(&v, 2.0), 3.0);
    }

    /// Integer ranks survive binary floating point: with 100 samples
    /// `1..=100`, the `k / 100` quantile is exactly `k` for every `k`.
    #[test]
    fn integer_ranks_are_exact() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        for k in 1..=100 {
            assert_eq!(quantile(&v, f64::from(k) / 100.0), f64::from(k), "k = {k}");
        }
        let thousand: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(quantile(&thousand, 0.999), 999.0);
        assert_eq!(quantile(&thousand, 0.9995), 1000.0);
    }
}
