//! Requests for kinds this kernel lacks (and tunnels) compared byte for byte
//! with what iproute2 sends for the same command: the fixtures in
//! tests/fixtures/netlink were captured with strace (see capture.py there;
//! each file names its command). Only the netlink payload is compared; the
//! header's sequence number differs per run.

use std::time::Duration;

use conlink::config::parse::netem::parse_netem;
use conlink::net::link::{dummy, stacked};
use conlink::net::netem::{
    Chance, Delay, Distribution, Loss, Netem, Percent, Rate, Reorder, Slot, SlotKind,
};
use conlink::net::spec::{IpvlanMode, LinkKind, MacvlanMode, TunnelKind, TunnelSpec};
use conlink::net::tc::netem;
use conlink::net::tunnel;
use netlink_packet_core::Emitable;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/netlink/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let hex = text
        .lines()
        .rfind(|l| !l.starts_with('#'))
        .expect("hex line")
        .trim();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn bytes<T: Emitable>(m: &T) -> Vec<u8> {
    let mut b = vec![0; m.buffer_len()];
    m.emit(&mut b);
    b
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn same(name: &str, ours: Vec<u8>) {
    let theirs = fixture(name);
    if ours != theirs {
        // Requests with distribution tables are ~16 KiB: point at the spot.
        let at = ours
            .iter()
            .zip(&theirs)
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(theirs.len()));
        let window = |b: &[u8]| hex(&b[at.saturating_sub(8).min(b.len())..(at + 24).min(b.len())]);
        panic!(
            "{name}: differs at byte {at} (ours {} bytes, iproute2 {} bytes)\n  ours: {}\n  tc:   {}",
            ours.len(),
            theirs.len(),
            window(&ours),
            window(&theirs)
        );
    }
}

fn pct(p: f64) -> Percent {
    Percent::new(p).unwrap()
}

fn chance(p: f64, c: Option<f64>) -> Chance {
    Chance {
        percent: pct(p),
        correlation: c.map(pct),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn netem_bytes(n: &Netem) -> Vec<u8> {
    // The fixtures were captured on a device with ifindex 3.
    bytes(&netem::message(3, n).unwrap())
}

#[test]
fn netem_delay() {
    let n = Netem {
        delay: Some(Delay {
            latency: ms(40),
            jitter: Duration::ZERO,
            correlation: None,
        }),
        ..Default::default()
    };
    same("netem-delay", netem_bytes(&n));
}

#[test]
fn netem_delay_jitter_loss_rate() {
    let n = Netem {
        delay: Some(Delay {
            latency: ms(40),
            jitter: ms(10),
            correlation: Some(pct(25.0)),
        }),
        loss: Some(Loss::Random(chance(0.3, None))),
        rate: Some(Rate {
            bytes_per_sec: 1_250_000,
            packet_overhead: 0,
            cell_size: 0,
            cell_overhead: 0,
        }),
        ..Default::default()
    };
    same("netem-delay-jitter-loss-rate", netem_bytes(&n));
}

#[test]
fn netem_limit_loss_corr_dup_corrupt_reorder() {
    let n = Netem {
        limit: Some(500),
        delay: Some(Delay {
            latency: ms(100),
            jitter: ms(20),
            correlation: None,
        }),
        loss: Some(Loss::Random(chance(1.0, Some(25.0)))),
        duplicate: Some(chance(2.0, None)),
        corrupt: Some(chance(0.1, None)),
        reorder: Some(Reorder {
            chance: chance(10.0, Some(50.0)),
            gap: Some(5),
        }),
        ..Default::default()
    };
    same("netem-limit-loss-corr-dup-corrupt-reorder", netem_bytes(&n));
}

#[test]
fn netem_loss_models() {
    let n = Netem {
        loss: Some(Loss::State {
            p13: pct(1.0),
            p31: pct(2.0),
            p32: pct(3.0),
            p23: pct(4.0),
            p14: pct(5.0),
        }),
        ..Default::default()
    };
    same("netem-loss-state", netem_bytes(&n));
    let n = Netem {
        loss: Some(Loss::Gemodel {
            p: pct(1.0),
            r: pct(10.0),
            h: pct(70.0),
            k1: pct(0.1),
        }),
        ..Default::default()
    };
    same("netem-loss-gemodel", netem_bytes(&n));
}

#[test]
fn netem_rates() {
    let n = Netem {
        rate: Some(Rate {
            bytes_per_sec: 125_000_000,
            packet_overhead: 20,
            cell_size: 100,
            cell_overhead: -4,
        }),
        ..Default::default()
    };
    same("netem-rate-overheads", netem_bytes(&n));
    let n = Netem {
        rate: Some(Rate {
            bytes_per_sec: 6_250_000_000,
            packet_overhead: 0,
            cell_size: 0,
            cell_overhead: 0,
        }),
        ..Default::default()
    };
    same("netem-rate64", netem_bytes(&n));
}

#[test]
fn netem_slot_and_attribute_order() {
    let n = Netem {
        delay: Some(Delay {
            latency: ms(1),
            jitter: Duration::ZERO,
            correlation: None,
        }),
        slot: Some(Slot {
            kind: SlotKind::Range {
                min_delay: Duration::from_micros(800),
                max_delay: ms(1),
            },
            max_packets: Some(32),
            max_bytes: Some(64000),
        }),
        ..Default::default()
    };
    same("netem-slot", netem_bytes(&n));
    // `delay 10ms reorder 5% corrupt 1% slot 1ms 2ms loss state 1% rate 100mbit`
    let n = Netem {
        delay: Some(Delay {
            latency: ms(10),
            jitter: Duration::ZERO,
            correlation: None,
        }),
        reorder: Some(Reorder {
            chance: chance(5.0, None),
            gap: None,
        }),
        corrupt: Some(chance(1.0, None)),
        slot: Some(Slot {
            kind: SlotKind::Range {
                min_delay: ms(1),
                max_delay: ms(2),
            },
            max_packets: None,
            max_bytes: None,
        }),
        // tc's defaults for the values not given: p31 = 100 - p13, p32 = 0,
        // p23 = 100, p14 = 0.
        loss: Some(Loss::State {
            p13: pct(1.0),
            p31: pct(99.0),
            p32: pct(0.0),
            p23: pct(100.0),
            p14: pct(0.0),
        }),
        rate: Some(Rate {
            bytes_per_sec: 12_500_000,
            packet_overhead: 0,
            cell_size: 0,
            cell_overhead: 0,
        }),
        ..Default::default()
    };
    same("netem-mixed-order", netem_bytes(&n));
}

/// `delay 10ms 2ms distribution normal`: the table conlink generates is
/// the one tc read from iproute2's normal.dist.
#[test]
fn netem_delay_distribution() {
    let n = Netem {
        delay: Some(Delay {
            latency: ms(10),
            jitter: ms(2),
            correlation: None,
        }),
        distribution: Some(Distribution::Normal),
        ..Default::default()
    };
    same("netem-dist-normal", netem_bytes(&n));
}

/// `slot distribution pareto 10ms 2ms`: delay and jitter in the slot
/// struct, the table as TCA_NETEM_SLOT_DIST.
#[test]
fn netem_slot_distribution() {
    let n = Netem {
        slot: Some(Slot {
            kind: SlotKind::Distribution {
                distribution: Distribution::Pareto,
                delay: ms(10),
                jitter: ms(2),
            },
            max_packets: None,
            max_bytes: None,
        }),
        ..Default::default()
    };
    same("netem-slot-dist", netem_bytes(&n));
}

/// Each distribution fixture's tc options, parsed by conlink's config
/// parser and encoded, give tc's bytes: tables after every other
/// attribute, delay table before slot table.
#[test]
fn netem_distribution_fixtures_from_their_tc_commands() {
    for name in [
        "netem-dist-normal",
        "netem-dist-pareto-all",
        "netem-dist-slot-dist",
        "netem-slot-dist",
    ] {
        let path = format!(
            "{}/tests/fixtures/netlink/{name}.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let command = text.lines().next().unwrap();
        let (_, options) = command
            .split_once(" root netem ")
            .unwrap_or_else(|| panic!("{path}: no netem command in {command:?}"));
        let n = parse_netem(options).unwrap_or_else(|e| panic!("{name}: {options}: {e}"));
        same(name, netem_bytes(&n));
    }
}

/// `uniform` is netem's behaviour without a table: no table is sent, and
/// for slots it becomes the range delay ± jitter.
#[test]
fn netem_uniform_distribution_sends_no_table() {
    let plain = parse_netem("delay 10ms 2ms").unwrap();
    let uniform = parse_netem("delay 10ms 2ms distribution uniform").unwrap();
    assert_eq!(uniform.distribution, Some(Distribution::Uniform));
    assert_eq!(netem_bytes(&uniform), netem_bytes(&plain));

    let range = parse_netem("slot 8ms 12ms packets 4").unwrap();
    let uniform = parse_netem("slot distribution uniform 10ms 2ms packets 4").unwrap();
    assert_eq!(netem_bytes(&uniform), netem_bytes(&range));
    // The range starts at 0 when the jitter exceeds the delay.
    let range = parse_netem("slot 0ms 3ms").unwrap();
    let uniform = parse_netem("slot distribution uniform 1ms 2ms").unwrap();
    assert_eq!(netem_bytes(&uniform), netem_bytes(&range));
}

#[test]
fn netem_refuses_what_it_cannot_encode() {
    let n = Netem {
        reorder: Some(Reorder {
            chance: chance(5.0, None),
            gap: None,
        }),
        ..Default::default()
    };
    assert!(
        netem::options(&n)
            .unwrap_err()
            .to_string()
            .contains("reorder needs a delay")
    );
    // tc refuses a table without latency and jitter, and so do we.
    for (latency, jitter) in [(0, 2), (10, 0)] {
        let n = Netem {
            delay: Some(Delay {
                latency: ms(latency),
                jitter: ms(jitter),
                correlation: None,
            }),
            distribution: Some(Distribution::Normal),
            ..Default::default()
        };
        assert_eq!(
            netem::options(&n).unwrap_err().to_string(),
            "netem distribution needs a delay and a jitter that are not zero",
            "delay {latency}ms {jitter}ms"
        );
    }
    let slot = |distribution, jitter| Netem {
        slot: Some(Slot {
            kind: SlotKind::Distribution {
                distribution,
                delay: ms(10),
                jitter,
            },
            max_packets: None,
            max_bytes: None,
        }),
        ..Default::default()
    };
    assert_eq!(
        netem::options(&slot(Distribution::Normal, Duration::ZERO))
            .unwrap_err()
            .to_string(),
        "netem slot distribution needs a jitter that is not zero"
    );
    assert!(
        netem::options(&slot(Distribution::Pareto, Duration::from_secs(3)))
            .unwrap_err()
            .to_string()
            .contains("too long")
    );
}

fn stacked_bytes(kind: LinkKind, name: &str) -> Vec<u8> {
    bytes(
        &stacked::message(&stacked::StackedRequest {
            kind,
            name,
            parent_index: 3,
            target_fd: None,
            mtu: None,
            mac: None,
        })
        .unwrap(),
    )
}

#[test]
fn links_match_iproute2() {
    same("link-dummy", bytes(&dummy::message("k0", None, None)));
    same(
        "link-vlan",
        stacked_bytes(LinkKind::Vlan { vlanid: 5 }, "k1"),
    );
    same(
        "link-ipvlan",
        stacked_bytes(
            LinkKind::Ipvlan {
                mode: IpvlanMode::L2,
            },
            "k2",
        ),
    );
    same(
        "link-ipvtap",
        stacked_bytes(
            LinkKind::Ipvtap {
                mode: IpvlanMode::L3,
            },
            "k3",
        ),
    );
    same(
        "link-macvlan",
        stacked_bytes(
            LinkKind::Macvlan {
                mode: MacvlanMode::Bridge,
            },
            "k4",
        ),
    );
}

#[test]
fn tunnels_match_iproute2() {
    let t = |kind, port| TunnelSpec {
        kind,
        vni: 77,
        remote: "192.0.2.9".parse().unwrap(),
        bridge: "b".into(),
        netem: None,
        port,
    };
    // No `port`: no port attribute, as iproute2 without `dstport`, so the
    // kernel picks its default (vxlan 8472 as in conlink 2.x, geneve 6081).
    same(
        "link-vxlan-default-port",
        bytes(&tunnel::message(&t(TunnelKind::Vxlan, None))),
    );
    same(
        "link-geneve-default-port",
        bytes(&tunnel::message(&t(TunnelKind::Geneve, None))),
    );
    // `port: N` is `dstport N`.
    same(
        "link-vxlan",
        bytes(&tunnel::message(&t(TunnelKind::Vxlan, Some(4789)))),
    );
    same(
        "link-geneve",
        bytes(&tunnel::message(&t(TunnelKind::Geneve, Some(6081)))),
    );
    // An IPv6 remote (an IPv6 underlay) is GROUP6 / REMOTE6.
    let t6 = |kind| TunnelSpec {
        remote: "2001:db8::9".parse().unwrap(),
        ..t(kind, None)
    };
    same(
        "link-vxlan6-default-port",
        bytes(&tunnel::message(&t6(TunnelKind::Vxlan))),
    );
    same(
        "link-geneve6-default-port",
        bytes(&tunnel::message(&t6(TunnelKind::Geneve))),
    );
    assert_eq!(tunnel::port(&t(TunnelKind::Vxlan, None)), 8472);
    assert_eq!(tunnel::port(&t(TunnelKind::Geneve, None)), 6081);
    assert_eq!(tunnel::port(&t(TunnelKind::Vxlan, Some(4789))), 4789);
}
