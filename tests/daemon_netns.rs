//! The real `conlink` binary building topologies of named namespaces (no
//! container engine): it runs inside a namespace of its own, like in its
//! container, and the test checks the kernel's state and real traffic.

mod common;

use std::time::Duration;

use common::netns::Netns;
use common::sidecar::{Conlink, links, write};

/// h1 ── s1 ── r0 ── s2 ── h2, all made by conlink from a network file;
/// r0 turns on forwarding through a `commands` entry.
#[test]
fn router_topology_from_a_network_file_then_clean_shutdown() {
    if !common::require_root("router_topology_from_a_network_file_then_clean_shutdown") {
        return;
    }
    let p = common::unique("dn");
    let (home, h1, r0, h2) = (
        Netns::new(&format!("{p}c")),
        Netns::new(&format!("{p}h1")),
        Netns::new(&format!("{p}r0")),
        Netns::new(&format!("{p}h2")),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "net.yaml",
        &format!(
            r#"
links:
  - {{netns: {h1}, bridge: s1, ip: 10.61.1.1/24, route: "default via 10.61.1.100"}}
  - {{netns: {r0}, bridge: s1, dev: eth1, ip: 10.61.1.100/24}}
  - {{netns: {r0}, bridge: s2, dev: eth2, ip: 10.61.2.100/24, mtu: 1400}}
  - {{netns: {h2}, bridge: s2, ip: 10.61.2.1/24, mac: "c2:00:00:61:02:01", route: "default via 10.61.2.100"}}
commands:
  - {{netns: {r0}, command: "echo 1 > /proc/sys/net/ipv4/ip_forward && echo forwarding-on"}}
"#,
            h1 = h1.name,
            r0 = r0.name,
            h2 = h2.name
        ),
    );
    let mut cl = Conlink::start(&home, &["--network-file", &file]);
    assert!(
        cl.wait_for("All links connected", Duration::from_secs(10)),
        "{}",
        cl.log()
    );
    assert!(
        cl.wait_for(
            &format!("{}: forwarding-on", r0.name),
            Duration::from_secs(5)
        ),
        "{}",
        cl.log()
    );

    // The kernel's view: addresses, MAC, MTU, routes, bridges.
    let eth0 = h2.link("eth0");
    assert_eq!(eth0["address"], "c2:00:00:61:02:01");
    assert_eq!(r0.link("eth2")["mtu"], 1400);
    assert!(
        h1.ok(&["-4", "addr", "show", "dev", "eth0"])
            .contains("10.61.1.1/24")
    );
    assert!(h1.ok(&["route"]).contains("default via 10.61.1.100"));
    let home_links = links(&home);
    assert!(
        home_links.contains(&"s1".to_owned()) && home_links.contains(&"s2".to_owned()),
        "{home_links:?}"
    );

    // Real traffic through the router.
    assert!(h1.ping("10.61.2.1"), "h1 -> h2 via r0");
    assert!(h2.ping("10.61.1.1"), "h2 -> h1 via r0");

    // SIGTERM: everything this run made is gone, exit 0.
    cl.signal("-TERM");
    assert_eq!(cl.wait(Duration::from_secs(10)), Some(0), "{}", cl.log());
    assert_eq!(links(&home), vec!["lo"], "{}", cl.log());
    for ns in [&h1, &r0, &h2] {
        assert_eq!(links(ns), vec!["lo"], "{}", ns.name);
    }
}

/// A conlink killed without cleanup leaves its links; the next run removes
/// them and builds the topology again instead of failing on "exists".
#[test]
fn a_restarted_conlink_cleans_up_after_a_killed_one() {
    if !common::require_root("a_restarted_conlink_cleans_up_after_a_killed_one") {
        return;
    }
    let p = common::unique("dr");
    let (home, a, b) = (
        Netns::new(&format!("{p}c")),
        Netns::new(&format!("{p}a")),
        Netns::new(&format!("{p}b")),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "net.yaml",
        &format!(
            "links:\n  - {{netns: {}, bridge: s1, ip: 10.62.0.1/24}}\n  - {{netns: {}, bridge: s1, ip: 10.62.0.2/24}}\n",
            a.name, b.name
        ),
    );
    let mut first = Conlink::start(&home, &["--network-file", &file]);
    assert!(
        first.wait_for("All links connected", Duration::from_secs(10)),
        "{}",
        first.log()
    );
    first.signal("-KILL");
    first.wait(Duration::from_secs(5));
    assert!(
        links(&home).contains(&"s1".to_owned()),
        "a killed run leaves its bridge"
    );

    let mut second = Conlink::start(&home, &["--network-file", &file]);
    assert!(
        second.wait_for("All links connected", Duration::from_secs(10)),
        "{}",
        second.log()
    );
    let log = second.log();
    assert!(log.contains("Removed leftovers of an earlier run"), "{log}");
    assert!(!log.contains("ERROR"), "{log}");
    assert!(a.ping("10.62.0.2"));
    second.signal("-TERM");
    assert_eq!(second.wait(Duration::from_secs(10)), Some(0));
    assert_eq!(links(&home), vec!["lo"]);
}

/// Bad config: exit 2, every error named, no interface touched.
#[test]
fn a_config_error_exits_2_and_creates_nothing() {
    if !common::require_root("a_config_error_exits_2_and_creates_nothing") {
        return;
    }
    let p = common::unique("de");
    let (home, a) = (Netns::new(&format!("{p}c")), Netns::new(&format!("{p}a")));
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "net.yaml",
        &format!(
            "links:\n  - {{netns: {}, bridge: s1, ip: 10.63.0.1/24}}\n  - {{netns: {}, bridge: s1, dev: eth1, ip: 10.63.0.300/24}}\n",
            a.name, a.name
        ),
    );
    let mut cl = Conlink::start(&home, &["--network-file", &file]);
    assert_eq!(cl.wait(Duration::from_secs(10)), Some(2), "{}", cl.log());
    let log = cl.log();
    assert!(
        log.contains("links[1].ip") && log.contains("10.63.0.300/24"),
        "{log}"
    );
    assert_eq!(links(&home), vec!["lo"]);
    assert_eq!(links(&a), vec!["lo"]);
}

/// Service links need an engine: with no socket answering, exit 1 saying so.
#[test]
fn no_engine_socket_is_a_clear_startup_error() {
    if !common::require_root("no_engine_socket_is_a_clear_startup_error") {
        return;
    }
    let home = Netns::new(&common::unique("dx"));
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "net.yaml",
        "links:\n  - {service: web, bridge: s1}\n",
    );
    let mut cl = Conlink::start(
        &home,
        &[
            "--network-file",
            &file,
            "--docker-socket",
            "/nonexistent/docker.sock",
            "--podman-socket",
            "/nonexistent/podman.sock",
        ],
    );
    assert_eq!(cl.wait(Duration::from_secs(10)), Some(1), "{}", cl.log());
    let log = cl.log();
    assert!(
        log.contains("/nonexistent/docker.sock") && log.contains("/nonexistent/podman.sock"),
        "{log}"
    );
    assert_eq!(links(&home), vec!["lo"]);
}

/// Dual stack from a network file through the real binary: h1 (IPv4 and
/// IPv6) ── s1 ── r0 ── s2 ── h2 (IPv6 only), IPv6 routes both ways, r0
/// forwarding IPv6 through a `commands` entry; `ping -6` across.
#[test]
fn dual_stack_router_topology_from_a_network_file() {
    if !common::require_root("dual_stack_router_topology_from_a_network_file") {
        return;
    }
    let p = common::unique("d6");
    let (home, h1, r0, h2) = (
        Netns::new(&format!("{p}c")),
        Netns::new(&format!("{p}h1")),
        Netns::new(&format!("{p}r0")),
        Netns::new(&format!("{p}h2")),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "net.yaml",
        &format!(
            r#"
links:
  - {{netns: {h1}, bridge: s1, ip: [10.64.1.1/24, "fd00:64:1::1/64"],
     route: ["default via 10.64.1.100", "default via fd00:64:1::64"]}}
  - {{netns: {r0}, bridge: s1, dev: eth1, ip: [10.64.1.100/24, "fd00:64:1::64/64"]}}
  - {{netns: {r0}, bridge: s2, dev: eth2, ip: "fd00:64:2::64/64"}}
  - {{netns: {h2}, bridge: s2, ip: "fd00:64:2::1/64", route: "fd00:64:1::/64 via fd00:64:2::64"}}
commands:
  - {{netns: {r0}, command: "echo 1 > /proc/sys/net/ipv6/conf/all/forwarding && echo v6-forwarding-on"}}
"#,
            h1 = h1.name,
            r0 = r0.name,
            h2 = h2.name
        ),
    );
    let mut cl = Conlink::start(&home, &["--network-file", &file]);
    assert!(
        cl.wait_for("All links connected", Duration::from_secs(10)),
        "{}",
        cl.log()
    );
    assert!(
        cl.wait_for(
            &format!("{}: v6-forwarding-on", r0.name),
            Duration::from_secs(5)
        ),
        "{}",
        cl.log()
    );
    let a = h1.ok(&["addr", "show", "dev", "eth0"]);
    assert!(
        a.contains("10.64.1.1/24") && a.contains("fd00:64:1::1/64"),
        "{a}"
    );
    assert!(
        h2.ok(&["-6", "route"])
            .contains("fd00:64:1::/64 via fd00:64:2::64"),
        "{}",
        h2.ok(&["-6", "route"])
    );
    let ping6 = |ns: &Netns, addr: &str| {
        ns.exec(&["ping", "-6", "-c", "1", "-W", "1", "-w", "3", addr])
            .status
            .success()
    };
    assert!(ping6(&h1, "fd00:64:2::1"), "h1 -> h2 via r0 over IPv6");
    assert!(ping6(&h2, "fd00:64:1::1"), "h2 -> h1 via r0 over IPv6");
    assert!(h1.ping("10.64.1.100"), "IPv4 alongside");

    cl.signal("-TERM");
    assert_eq!(cl.wait(Duration::from_secs(10)), Some(0), "{}", cl.log());
    assert_eq!(links(&home), vec!["lo"], "{}", cl.log());
}
