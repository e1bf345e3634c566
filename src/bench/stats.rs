//! Percentiles of measured durations (nearest-rank), printed in milliseconds.

use std::time::Duration;

pub struct Percentiles {
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub count: usize,
}

pub fn percentiles(samples: &[Duration]) -> Option<Percentiles> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank =
        |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    Some(Percentiles {
        p50: rank(0.50),
        p99: rank(0.99),
        max: sorted[sorted.len() - 1],
        count: sorted.len(),
    })
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Sub-millisecond figures (store look-ups) need three decimals to mean anything.
        let ms = |d: Duration| {
            let value = d.as_secs_f64() * 1000.0;
            if value < 1.0 {
                format!("{value:.3}")
            } else {
                format!("{value:.1}")
            }
        };
        write!(
            f,
            "p50 {} ms, p99 {} ms, max {} ms over {} samples",
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let samples: Vec<_> = (1..=100).map(Duration::from_millis).collect();
        let p = percentiles(&samples).unwrap();
        assert_eq!(
            (p.p50, p.p99, p.max),
            (
                Duration::from_millis(50),
                Duration::from_millis(99),
                Duration::from_millis(100)
            )
        );
        assert!(percentiles(&[]).is_none());
    }
}
