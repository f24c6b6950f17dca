//! examples/router end to end: one router between three bridges, and HTTP
//! between hosts on different bridges through it.

mod common;
mod e2e;

use e2e::Example;

#[test]
fn router_joins_three_bridges() {
    let test = "router_joins_three_bridges";
    let Some(ex) = Example::new(test, "e2ert", "router", &["compose.yaml"]) else {
        return;
    };
    ex.up();

    for (n, dev) in [(1, "eth1"), (2, "eth2"), (3, "eth3")] {
        let r0 = ex.iface("r0", 1, dev);
        assert_eq!(r0.ipv4, [format!("10.0.{n}.100/24")], "r0 {dev}");
        assert!(r0.up, "r0 {dev} is up");
        let h = format!("h{n}");
        assert_eq!(ex.iface(&h, 1, "eth0").ipv4, [format!("10.0.{n}.1/24")]);
    }
    // r0 has exactly the three links conlink made (and lo).
    let r0_links: Vec<String> = ex.links("r0", 1).into_iter().collect();
    assert_eq!(r0_links, ["eth1", "eth2", "eth3", "lo"]);

    // Every host reaches the router, and the other hosts through it.
    ex.assert_ping("h1", 1, "10.0.1.100");
    ex.assert_ping("h1", 1, "10.0.2.1");
    ex.assert_ping("h2", 1, "10.0.3.1");
    ex.assert_ping("h3", 1, "10.0.1.1");
    // TCP too: each host serves its hostname. (busybox wget -T segfaults
    // in the static build, hence `timeout`.)
    for (from, to, host) in [("h1", "10.0.3.1", "h3"), ("h3", "10.0.2.1", "h2")] {
        let page = ex.sh(from, 1, &format!("timeout 10 wget -qO- http://{to}/"));
        let expected = ex.sh(host, 1, "hostname");
        assert_eq!(page.trim(), expected.trim(), "{from} -> {to}");
    }
    ex.assert_no_errors();
    ex.stop_and_check_cleanup(&[("r0", 1), ("h1", 1), ("h2", 1), ("h3", 1)]);
}
