//! Percentiles of a set of durations, from an `hdrhistogram` (3
//! significant digits, 1 µs to 1 h).

use hdrhistogram::Histogram;
use serde::Serialize;

/// Durations in microseconds, summarised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    /// How many were recorded.
    pub count: u64,
    /// The median, µs.
    pub p50_us: f64,
    /// The 99th percentile, µs.
    pub p99_us: f64,
    /// The 99.9th percentile, µs.
    pub p999_us: f64,
    /// The largest, µs.
    pub max_us: f64,
}

/// A histogram of durations in microseconds.
#[derive(Clone, Debug)]
pub struct Recording {
    histogram: Histogram<u64>,
}

impl Default for Recording {
    fn default() -> Self {
        Recording::new()
    }
}

impl Recording {
    /// An empty one.
    pub fn new() -> Recording {
        Recording {
            // 1 µs .. 1 h at 3 significant digits: valid bounds, so this
            // cannot fail.
            histogram: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("1 µs to 1 h at 3 digits are valid histogram bounds"),
        }
    }

    /// Records `us` microseconds (0 counts as 1; beyond an hour, as an hour).
    pub fn record(&mut self, us: u64) {
        self.histogram.saturating_record(us.max(1));
    }

    /// How many were recorded.
    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `quantile` (0..=1), µs; 0 when empty.
    pub fn quantile(&self, quantile: f64) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        self.histogram.value_at_quantile(quantile) as f64
    }

    /// The summary.
    pub fn summary(&self) -> Latency {
        if self.is_empty() {
            return Latency::default();
        }
        Latency {
            count: self.len(),
            p50_us: self.quantile(0.5),
            p99_us: self.quantile(0.99),
            p999_us: self.quantile(0.999),
            max_us: self.histogram.max() as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_set() {
        let mut r = Recording::new();
        for us in 1..=1000 {
            r.record(us);
        }
        let s = r.summary();
        assert_eq!(s.count, 1000);
        assert_eq!(s.p50_us, 500.0);
        assert_eq!(s.p99_us, 990.0);
        assert_eq!(s.p999_us, 999.0);
        assert_eq!(s.max_us, 1000.0);
    }

    #[test]
    fn an_empty_recording_is_all_zero_and_zero_counts_as_one() {
        assert_eq!(Recording::new().summary(), Latency::default());
        let mut r = Recording::new();
        r.record(0);
        assert_eq!(r.summary().p50_us, 1.0);
    }

    #[test]
    fn a_long_tail_moves_only_the_high_percentiles() {
        let mut r = Recording::new();
        for _ in 0..990 {
            r.record(100);
        }
        for _ in 0..10 {
            r.record(50_000);
        }
        let s = r.summary();
        assert_eq!(s.p50_us, 100.0);
        assert_eq!(s.p99_us, 100.0);
        assert!((49_900.0..=50_100.0).contains(&s.p999_us), "{}", s.p999_us);
    }
}
