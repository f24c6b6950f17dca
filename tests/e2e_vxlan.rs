//! examples/vxlan end to end: two compose projects stand for two hosts,
//! their conlink sidecars joined by a vxlan tunnel over a Docker network
//! (the "underlay"); a node on each side pings the other through it.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::compose::{Compose, repo_root, require_docker};
use common::docker::{docker, docker_ok};

/// The underlay's first candidate /24; the test moves on to the next ones
/// when a parallel run (or anything else on this machine) holds it.
/// Override with e.g. CONLINK_TEST_VXLAN_SUBNET=10.213.40.0/24.
const SUBNET_ENV: &str = "CONLINK_TEST_VXLAN_SUBNET";
const DEFAULT_SUBNET: &str = "172.29.213.0/24";
const CANDIDATES: u8 = 16;

fn image(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// A user-defined Docker network, removed on drop (after the compose
/// projects using it: declare it before them).
struct Underlay {
    name: String,
    /// First three octets, e.g. "172.29.213".
    prefix: String,
}

impl Underlay {
    fn create() -> Underlay {
        let base = std::env::var(SUBNET_ENV).unwrap_or_else(|_| DEFAULT_SUBNET.to_owned());
        let octets: Vec<u8> = base
            .trim_end_matches("/24")
            .split('.')
            .map(|o| {
                o.parse()
                    .unwrap_or_else(|_| panic!("{SUBNET_ENV}={base}: not a /24"))
            })
            .collect();
        assert_eq!(octets.len(), 4, "{SUBNET_ENV}={base}: not an IPv4 /24");
        let name = common::unique("conlink-vxlan-");
        let mut errors = Vec::new();
        for i in 0..CANDIDATES {
            let prefix = format!("{}.{}.{}", octets[0], octets[1], octets[2].wrapping_add(i));
            let subnet = format!("{prefix}.0/24");
            let out = docker(&["network", "create", "--subnet", &subnet, &name]);
            if out.status.success() {
                return Underlay { name, prefix };
            }
            errors.push(format!(
                "{subnet}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        panic!("no free underlay subnet:\n{}", errors.join("\n"));
    }
}

impl Drop for Underlay {
    fn drop(&mut self) {
        let _ = docker(&["network", "rm", &self.name]);
    }
}

/// One "host": a compose project of examples/vxlan.
fn host(prefix: &str, net: &Underlay, me: u8, other: u8, node_ip: &str) -> Compose {
    Compose::new(
        prefix,
        repo_root().join("examples/vxlan"),
        &["compose.yaml"],
    )
    .env("CONLINK_IMAGE", &image("CONLINK_IMAGE", "conlink:latest"))
    .env(
        "NODE_IMAGE",
        &image("NODE_IMAGE", "conlink-test-node:latest"),
    )
    .env("UNDERLAY_NETWORK", &net.name)
    .env("HOST_ADDR", &format!("{}.{me}", net.prefix))
    .env("REMOTE_ADDR", &format!("{}.{other}", net.prefix))
    .env("NODE_IP", node_ip)
}

/// `ip ARGS…` inside the network namespace of the service's container.
fn ip_in(c: &Compose, service: &str, args: &[&str]) -> String {
    let id = c.ok(&["ps", "-q", service]).trim().to_owned();
    let pid = docker_ok(&["inspect", "-f", "{{.State.Pid}}", &id]);
    let out = Command::new("nsenter")
        .args(["-t", &pid, "-n", "ip"])
        .args(args)
        .output()
        .expect("run nsenter");
    assert!(
        out.status.success(),
        "nsenter ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Ping from the node until one answer comes back (the first packets may
/// race the other side's wiring), or give up after `timeout`.
fn ping(c: &Compose, target: &str, size: &str, timeout: Duration) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let out = c.exec(
            "node",
            1,
            &["ping", "-c", "1", "-W", "2", "-s", size, target],
        );
        if out.status.success() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn vxlan_between_two_projects() {
    let conlink = image("CONLINK_IMAGE", "conlink:latest");
    let node = image("NODE_IMAGE", "conlink-test-node:latest");
    if !require_docker("vxlan_between_two_projects", &[&conlink, &node]) {
        return;
    }
    // Drop order is reverse declaration order: both projects go down
    // before their underlay network is removed.
    let underlay = Underlay::create();
    let a = host("cvxa", &underlay, 11, 12, "10.0.9.1");
    let b = host("cvxb", &underlay, 12, 11, "10.0.9.2");
    a.up();
    b.up();
    for (name, c) in [("A", &a), ("B", &b)] {
        assert!(
            c.wait_for_log("network", "All links connected", Duration::from_secs(60)),
            "host {name}: no 'All links connected':\n{}",
            c.logs("network")
        );
    }

    // Each tunnel points at the other conlink's underlay address, and
    // conlink's Docker interface was renamed.
    for (c, other) in [(&a, 12), (&b, 11)] {
        let links = ip_in(c, "network", &["-d", "link", "show"]);
        assert!(links.contains("DOCKER-ETH0"), "no DOCKER-ETH0:\n{links}");
        let vx = ip_in(c, "network", &["-d", "link", "show", "vxlan-1001"]);
        let remote = format!("remote {}.{other} ", underlay.prefix);
        assert!(vx.contains(&remote), "expected '{remote}' in:\n{vx}");
        assert!(vx.contains("master s1"), "vxlan-1001 not on s1:\n{vx}");
    }

    let before = tx_packets(&a);
    ping(&a, "10.0.9.2", "56", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("A's node cannot ping B's node: {e}"));
    // A near-full frame (1400 + 28 header bytes) fits the nodes' 1450 MTU
    // and passes the tunnel unfragmented.
    ping(&b, "10.0.9.1", "1400", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("B's node cannot ping A's node with 1400 bytes: {e}"));
    // The nodes have no other way to each other: the packets went through
    // A's tunnel device.
    let after = tx_packets(&a);
    assert!(
        after > before,
        "vxlan-1001 on A sent nothing ({before} -> {after})"
    );
}

/// Packets sent by host's vxlan device so far.
fn tx_packets(c: &Compose) -> u64 {
    let out = ip_in(c, "network", &["-s", "-o", "link", "show", "vxlan-1001"]);
    // One line: "... TX: bytes packets errors ...\    BYTES PACKETS ..."
    let tx = out
        .split("TX:")
        .nth(1)
        .unwrap_or_else(|| panic!("no TX counters in: {out}"));
    let numbers: Vec<u64> = tx
        .split(|ch: char| ch.is_whitespace() || ch == '\\')
        .filter_map(|w| w.parse().ok())
        .collect();
    *numbers
        .get(1)
        .unwrap_or_else(|| panic!("no TX packet count in: {out}"))
}
