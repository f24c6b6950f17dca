//! examples/props end to end: MAC, MTU, a route with a metric and ethtool
//! offloads on a veth, read back inside the nodes; netem only where the
//! kernel has sch_netem (skipped with a printed reason otherwise).

mod common;
mod e2e;

use std::process::Command;

use e2e::Example;

#[test]
fn props_set_mac_mtu_route_and_offloads() {
    let test = "props_set_mac_mtu_route_and_offloads";
    let Some(ex) = Example::new(test, "e2epr", "props", &["compose.yaml"]) else {
        return;
    };
    ex.up();

    let n1 = ex.iface("n1", 1, "eth0");
    assert_eq!(n1.mac, "c2:00:00:08:00:01");
    assert_eq!(n1.mtu, 4000);
    assert_eq!(n1.ipv4, ["10.0.8.1/24"]);
    let n2 = ex.iface("n2", 1, "eth0");
    assert_eq!(n2.mac, "c2:00:00:08:00:02");
    assert_eq!(n2.mtu, 4000);

    let routes = ex.sh("n1", 1, "ip route");
    assert!(
        routes
            .lines()
            .any(|l| l.starts_with("10.99.0.0/16 via 10.0.8.2") && l.contains("metric 7")),
        "n1's routes:\n{routes}"
    );

    // Offloads, read with the host's ethtool inside n1's namespace: rx off
    // as configured, and tx off (conlink's veth default).
    let n1_id = ex.container_id("n1", 1);
    let features = e2e::in_netns_of(&n1_id, &["ethtool", "-k", "eth0"]);
    let feature = |name: &str| {
        features
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_owned())
            .unwrap_or_else(|| panic!("no {name} in ethtool -k:\n{features}"))
    };
    assert_eq!(feature("rx-checksumming"), "off");
    assert_eq!(feature("tx-checksumming"), "off");
    let n2_id = ex.container_id("n2", 1);
    let features2 = e2e::in_netns_of(&n2_id, &["ethtool", "-k", "eth0"]);
    assert!(
        features2.contains("rx-checksumming: on"),
        "n2 keeps rx offload:\n{features2}"
    );

    // Full-size frames at the configured MTU cross the bridge unfragmented.
    ex.sh("n1", 1, "ping -c1 -W2 -s 3972 10.0.8.2");
    ex.assert_no_errors();
    ex.stop_and_check_cleanup(&[("n1", 1), ("n2", 1)]);
}

/// True when this kernel can make a netem qdisc (tried in a throwaway
/// namespace, so nothing outside the test is touched).
fn kernel_has_netem() -> bool {
    Command::new("unshare")
        .args([
            "--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms",
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// With netem.yaml: where the kernel has sch_netem, n1's link carries the
/// delay; where it has not (this project's test VM), conlink says so
/// plainly for that link and still wires the others.
#[test]
fn props_netem_applies_or_names_the_missing_module() {
    let test = "props_netem_applies_or_names_the_missing_module";
    let Some(ex) = Example::new(test, "e2ene", "props", &["compose.yaml"]) else {
        return;
    };
    let ex = ex.env("NETEM_FILE", "/topology/netem.yaml");
    ex.compose.up();
    let n1_id = ex.container_id("n1", 1);
    if kernel_has_netem() {
        ex.wait_connected(1);
        let qdisc = e2e::in_netns_of(&n1_id, &["tc", "qdisc", "show", "dev", "eth0"]);
        assert!(
            qdisc.contains("netem") && qdisc.contains("delay 40"),
            "{qdisc}"
        );
        let out = ex.sh("n1", 1, "ping -c3 -W2 10.0.8.2 || true");
        assert!(out.contains("time=4") || out.contains("time=3"), "{out}");
        ex.assert_no_errors();
    } else {
        eprintln!("{test}: this kernel has no sch_netem; checking the error path instead");
        let needle = "kernel lacks sch_netem (needed for netem on eth0)";
        assert!(
            ex.compose
                .wait_for_log("network", needle, e2e::CONNECT_TIMEOUT),
            "conlink did not name the missing module:\n{}",
            ex.logs()
        );
        // n1's link is rolled back, n2's is made as usual.
        e2e::assert_only_lo(&ex.links("n1", 1), "n1");
        ex.wait_for_addr("n2", 1, "eth0", "10.0.8.2/24");
        assert!(!ex.logs().contains(e2e::CONNECTED), "n1 is not connected");
    }
}
