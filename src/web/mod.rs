//! The sidecar's read-only HTTP listener (`--http-listen ADDR:PORT`, off by
//! default; docs/observability.md): a live topology page (`GET /`), the
//! control API's read side as JSON (`/v1/status`, `/v1/links`,
//! `/v1/topology`), its events as server-sent events (`/v1/events`) and
//! Prometheus metrics (`/metrics`). Nothing served here changes the
//! network: only GET and HEAD are answered.
//!
//! The same page, with the topology of a config embedded instead of
//! fetched, is what `conlink graph --format html` writes ([`page`],
//! [`topology::from_config`]).
//!
//! Layering: this module sits beside `control` (whose HTTP plumbing it
//! reuses); the daemon implements [`Source`] and starts the [`Server`].

pub mod metrics;
pub mod page;
pub mod server;
pub mod topology;

pub use server::Server;

use crate::config::Network;
use crate::control::api::Control;

/// What the listener reads from the sidecar beyond the control API.
pub trait Source: Control {
    /// The sidecar's own counters, for `/metrics`.
    fn counters(&self) -> DaemonCounters;
    /// The network config the sidecar runs, to tell namespaces from
    /// containers and to place replicas under their service.
    fn network(&self) -> &Network;
}

/// The sidecar's counters since it started (`/metrics`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DaemonCounters {
    /// Links made (first tries, retries, re-creations after a restart).
    pub links_created: u64,
    /// Attempts at a link that failed (each retry counts).
    pub links_failed: u64,
    /// Container-engine events (start, die, destroy) and namespace changes
    /// handled.
    pub events_processed: u64,
    /// Times a lost container-engine connection was made again.
    pub engine_reconnects: u64,
    /// Start event → that target's links configured, in seconds.
    pub wiring_latency: Histogram,
}

/// A histogram as Prometheus takes it: per-bucket counts (not cumulative)
/// for each upper bound, the count of all observations (those above the
/// last bound included) and their sum.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// `(upper bound, observations ≤ it and > the previous bound)`.
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
    pub sum: f64,
}
