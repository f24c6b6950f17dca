//! The sidecar's own counters for `/metrics` (links made and failed,
//! events handled, engine reconnects, the wiring latency histogram):
//! atomics bumped where those things happen, read by the web listener
//! through [`web::Source`].

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::config::Network;
use crate::web::{self, DaemonCounters};

use super::Daemon;

/// Upper bounds (seconds) of the wiring latency buckets: around the
/// 20 ms p50 target, up to the seconds a loaded host can take.
const WIRING_BOUNDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default)]
pub struct Metrics {
    links_created: AtomicU64,
    links_failed: AtomicU64,
    events_processed: AtomicU64,
    engine_reconnects: AtomicU64,
    /// One count per bound, and one for above the last.
    wiring: [AtomicU64; WIRING_BOUNDS.len() + 1],
    wiring_micros: AtomicU64,
}

impl Metrics {
    pub fn link_created(&self) {
        self.links_created.fetch_add(1, Relaxed);
    }
    pub fn link_failed(&self) {
        self.links_failed.fetch_add(1, Relaxed);
    }
    pub fn event_processed(&self) {
        self.events_processed.fetch_add(1, Relaxed);
    }
    pub fn engine_reconnected(&self) {
        self.engine_reconnects.fetch_add(1, Relaxed);
    }
    /// A target's start event → its links configured.
    pub fn wired_in(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let bucket = WIRING_BOUNDS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(WIRING_BOUNDS.len());
        self.wiring[bucket].fetch_add(1, Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.wiring_micros.fetch_add(micros, Relaxed);
    }

    pub fn snapshot(&self) -> DaemonCounters {
        let counts: Vec<u64> = self.wiring.iter().map(|c| c.load(Relaxed)).collect();
        DaemonCounters {
            links_created: self.links_created.load(Relaxed),
            links_failed: self.links_failed.load(Relaxed),
            events_processed: self.events_processed.load(Relaxed),
            engine_reconnects: self.engine_reconnects.load(Relaxed),
            wiring_latency: web::Histogram {
                buckets: WIRING_BOUNDS
                    .iter()
                    .copied()
                    .zip(counts.iter().copied())
                    .collect(),
                count: counts.iter().sum(),
                sum: self.wiring_micros.load(Relaxed) as f64 / 1e6,
            },
        }
    }
}

impl web::Source for Daemon {
    fn counters(&self) -> DaemonCounters {
        self.metrics.snapshot()
    }
    fn network(&self) -> &Network {
        &self.network
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wiring_times_fall_in_their_buckets_and_sum_up() {
        let m = Metrics::default();
        m.wired_in(Duration::from_micros(800));
        m.wired_in(Duration::from_millis(15));
        m.wired_in(Duration::from_millis(20));
        m.wired_in(Duration::from_secs(30));
        m.link_created();
        m.link_created();
        m.link_failed();
        m.event_processed();
        m.engine_reconnected();
        let s = m.snapshot();
        assert_eq!((s.links_created, s.links_failed), (2, 1));
        assert_eq!((s.events_processed, s.engine_reconnects), (1, 1));
        let h = &s.wiring_latency;
        assert_eq!(h.count, 4);
        assert_eq!(h.buckets[0], (0.001, 1));
        // 15 ms and exactly 20 ms both go in the ≤ 20 ms bucket.
        assert_eq!(h.buckets[4], (0.02, 2));
        // 30 s is above every bound: only in the count (+Inf).
        assert_eq!(h.buckets.iter().map(|b| b.1).sum::<u64>(), 3);
        assert!((h.sum - 30.0358).abs() < 1e-9, "{}", h.sum);
    }
}
