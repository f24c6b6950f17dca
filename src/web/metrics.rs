//! `GET /metrics`: the Prometheus text exposition (format 0.0.4, written by
//! the `prometheus-client` crate) of one status snapshot and the sidecar's
//! counters. Every metric, its type and labels are listed in
//! docs/observability.md; a test below pins the names.
//!
//! The snapshot is encoded by a [`Collector`], so a scrape costs one status
//! read (one netlink request per existing link) and one pass over it: no
//! metric objects live between scrapes, and a link that is gone simply
//! stops being exposed.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

use crate::control::api::{Counters, LinkState, LinkStatus, Status};

use super::{DaemonCounters, Histogram};

/// The `Content-Type` of the answer.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Every metric's name starts with it (and counters end in `_total`).
const PREFIX: &str = "conlink";

/// Per-link kernel counters: name, help, value.
type CounterOf = fn(&Counters) -> u64;
const LINK_COUNTERS: [(&str, &str, CounterOf); 8] = [
    (
        "link_rx_bytes",
        "Bytes received by the link's interface inside its target",
        |c| c.rx_bytes,
    ),
    (
        "link_tx_bytes",
        "Bytes sent by the link's interface inside its target",
        |c| c.tx_bytes,
    ),
    (
        "link_rx_packets",
        "Packets received by the link's interface inside its target",
        |c| c.rx_packets,
    ),
    (
        "link_tx_packets",
        "Packets sent by the link's interface inside its target",
        |c| c.tx_packets,
    ),
    (
        "link_rx_errors",
        "Receive errors of the link's interface inside its target",
        |c| c.rx_errors,
    ),
    (
        "link_tx_errors",
        "Transmit errors of the link's interface inside its target",
        |c| c.tx_errors,
    ),
    (
        "link_rx_dropped",
        "Received packets dropped by the link's interface inside its target",
        |c| c.rx_dropped,
    ),
    (
        "link_tx_dropped",
        "Packets to send dropped by the link's interface inside its target",
        |c| c.tx_dropped,
    ),
];

/// The values of `conlink_link_state`'s `state` label.
const STATES: [&str; 4] = ["up", "down", "missing", "failed"];

fn state_name(s: &LinkState) -> &'static str {
    match s {
        LinkState::Up => "up",
        LinkState::Down => "down",
        LinkState::Missing => "missing",
        LinkState::Failed { .. } => "failed",
    }
}

fn netem_active(l: &LinkStatus) -> bool {
    let n = &l.netem;
    n.config.is_some() || n.runtime_out.is_some() || n.runtime_in.is_some()
}

type LinkLabels<'a> = [(&'static str, &'a str); 4];

fn labels(l: &LinkStatus) -> LinkLabels<'_> {
    [
        ("id", l.id.as_str()),
        ("target", l.target.as_str()),
        ("dev", l.dev.as_str()),
        ("bridge", l.bridge.as_deref().unwrap_or("")),
    ]
}

/// One scrape's data, encoded on demand.
#[derive(Debug)]
struct Snapshot {
    status: Status,
    counters: DaemonCounters,
}

/// A histogram already counted elsewhere (the daemon's atomics).
#[derive(Debug)]
struct ConstHistogram<'a>(&'a Histogram);

impl EncodeMetric for ConstHistogram<'_> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.0.sum, self.0.count, &self.0.buckets, None)
    }
    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let c = ConstCounter::new(value);
    c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let links = &self.status.links;
        for (name, help, value) in LINK_COUNTERS {
            let mut m = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for l in links {
                if let Some(c) = &l.counters {
                    ConstCounter::new(value(c)).encode(m.encode_family(&labels(l))?)?;
                }
            }
        }
        let mut m = encoder.encode_descriptor(
            "link_state",
            "State of each configured link: 1 for its current state, 0 for the others",
            None,
            MetricType::Gauge,
        )?;
        for l in links {
            let [id, target, dev, bridge] = labels(l);
            let now = state_name(&l.state);
            for s in STATES {
                let set = [id, target, dev, bridge, ("state", s)];
                ConstGauge::new(i64::from(s == now)).encode(m.encode_family(&set)?)?;
            }
        }
        let mut m = encoder.encode_descriptor(
            "link_netem_active",
            "1 when netem impairs the link (from the config or set at run time), else 0",
            None,
            MetricType::Gauge,
        )?;
        for l in links {
            ConstGauge::new(i64::from(netem_active(l))).encode(m.encode_family(&labels(l))?)?;
        }
        ConstGauge::new(i64::from(self.status.milestone)).encode(encoder.encode_descriptor(
            "all_links_connected",
            "1 once every configured link and tunnel exists (the \"All links connected\" milestone)",
            None,
            MetricType::Gauge,
        )?)?;
        let c = &self.counters;
        ConstHistogram(&c.wiring_latency).encode(encoder.encode_descriptor(
            "wiring_latency",
            "Time from a target's start event to its links configured",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?)?;
        counter(
            &mut encoder,
            "links_created",
            "Links made (first tries, retries and re-creations after a restart)",
            c.links_created,
        )?;
        counter(
            &mut encoder,
            "links_failed",
            "Attempts at making a link that failed (each retry counts)",
            c.links_failed,
        )?;
        counter(
            &mut encoder,
            "events_processed",
            "Container-engine events (start, die, destroy) and namespace changes handled",
            c.events_processed,
        )?;
        counter(
            &mut encoder,
            "engine_reconnects",
            "Times a lost container-engine connection was made again",
            c.engine_reconnects,
        )?;
        let mut m = encoder.encode_descriptor(
            "build",
            "conlink's version (always 1)",
            None,
            MetricType::Info,
        )?;
        m.encode_info(&[("version", env!("CARGO_PKG_VERSION"))])?;
        Ok(())
    }
}

/// The exposition of one status snapshot and the daemon's counters.
pub fn encode(status: Status, counters: DaemonCounters) -> String {
    let mut registry = Registry::with_prefix(PREFIX);
    let links = status.links.len();
    registry.register_collector(Box::new(Snapshot { status, counters }));
    // About 1.5 KiB of text per link.
    let mut out = String::with_capacity(2048 + 1536 * links);
    // Writing into a String cannot fail, and nothing above returns an
    // error of its own.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::api::NetemStatus;

    fn link(id: &str, state: LinkState, counters: Option<Counters>) -> LinkStatus {
        let (target, dev) = id.split_once(':').unwrap();
        LinkStatus {
            id: id.into(),
            target: target.into(),
            service: None,
            dev: dev.into(),
            kind: "veth".into(),
            outer: None,
            bridge: Some("s1".into()),
            state,
            addresses: vec![],
            mac: None,
            mtu: None,
            netem: NetemStatus::default(),
            counters,
            last_change: 0.0,
        }
    }

    #[test]
    fn links_states_counters_and_the_daemons_figures_are_exposed() {
        let mut a = link(
            "a:eth0",
            LinkState::Up,
            Some(Counters {
                rx_bytes: 1500,
                tx_packets: 7,
                ..Counters::default()
            }),
        );
        a.netem.runtime_in = Some("delay 10ms".into());
        let mut b = link(
            "b\"x:eth1",
            LinkState::Failed {
                reason: "File exists".into(),
            },
            None,
        );
        b.bridge = None;
        let status = Status {
            milestone: false,
            links: vec![a, b],
            ..Status::default()
        };
        let counters = DaemonCounters {
            links_created: 3,
            links_failed: 1,
            events_processed: 9,
            engine_reconnects: 2,
            wiring_latency: Histogram {
                buckets: vec![(0.01, 2), (0.1, 1)],
                count: 4,
                sum: 1.25,
            },
        };
        let text = encode(status, counters);
        for want in [
            "# TYPE conlink_link_rx_bytes_total counter",
            "conlink_link_rx_bytes_total{id=\"a:eth0\",target=\"a\",dev=\"eth0\",bridge=\"s1\"} 1500",
            "conlink_link_tx_packets_total{id=\"a:eth0\",target=\"a\",dev=\"eth0\",bridge=\"s1\"} 7",
            "conlink_link_state{id=\"a:eth0\",target=\"a\",dev=\"eth0\",bridge=\"s1\",state=\"up\"} 1",
            "conlink_link_state{id=\"a:eth0\",target=\"a\",dev=\"eth0\",bridge=\"s1\",state=\"down\"} 0",
            // Label values are escaped; a missing bridge is "".
            "conlink_link_state{id=\"b\\\"x:eth1\",target=\"b\\\"x\",dev=\"eth1\",bridge=\"\",state=\"failed\"} 1",
            "conlink_link_netem_active{id=\"a:eth0\",target=\"a\",dev=\"eth0\",bridge=\"s1\"} 1",
            "conlink_link_netem_active{id=\"b\\\"x:eth1\",target=\"b\\\"x\",dev=\"eth1\",bridge=\"\"} 0",
            "conlink_all_links_connected 0",
            "# TYPE conlink_wiring_latency_seconds histogram",
            "conlink_wiring_latency_seconds_bucket{le=\"0.01\"} 2",
            "conlink_wiring_latency_seconds_bucket{le=\"0.1\"} 3",
            "conlink_wiring_latency_seconds_bucket{le=\"+Inf\"} 4",
            "conlink_wiring_latency_seconds_sum 1.25",
            "conlink_wiring_latency_seconds_count 4",
            "conlink_links_created_total 3",
            "conlink_links_failed_total 1",
            "conlink_events_processed_total 9",
            "conlink_engine_reconnects_total 2",
            "# TYPE conlink_build_info gauge",
            &format!(
                "conlink_build_info{{version=\"{}\"}} 1",
                env!("CARGO_PKG_VERSION")
            ),
        ] {
            assert!(
                text.lines().any(|l| l == want),
                "missing line {want}\n{text}"
            );
        }
        // A link without counters (it does not exist) has no counter series.
        assert!(
            !text.contains("conlink_link_rx_bytes_total{id=\"b"),
            "{text}"
        );
        // Four state series per link, exactly one of them 1.
        let states: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("conlink_link_state{id=\"a:eth0\""))
            .collect();
        assert_eq!(states.len(), 4);
        assert_eq!(states.iter().filter(|l| l.ends_with(" 1")).count(), 1);
    }
}
