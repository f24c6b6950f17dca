//! examples/scale end to end: links from a separate network file, a
//! service scaled 2 → 5 → 2 → 3, with per-replica IPs and MACs that follow
//! the replica number (and come back the same after scaling down and up).

mod common;
mod e2e;

use e2e::Example;

fn ip(n: u32) -> String {
    format!("10.0.1.{n}")
}

fn mac(n: u32) -> String {
    format!("c2:00:00:00:01:{n:02x}")
}

/// Wait until replica `n` of `node` exists and conlink gave it its address.
fn wait_for_replica(ex: &Example, n: u32) {
    ex.wait_for_addr("node", n, "eth0", &format!("{}/24", ip(n)));
}

fn check_replica(ex: &Example, n: u32) {
    let eth0 = ex.iface("node", n, "eth0");
    assert_eq!(eth0.ipv4, [format!("{}/24", ip(n))], "node_{n}");
    assert_eq!(eth0.mac, mac(n), "node_{n}");
    assert!(
        ex.sh("node", n, "ip route")
            .contains("default via 10.0.1.254"),
        "node_{n}: default route"
    );
    ex.assert_ping("gateway", 1, &ip(n));
}

#[test]
fn scale_up_and_down_keeps_addresses_per_replica() {
    let test = "scale_up_and_down_keeps_addresses_per_replica";
    let Some(ex) = Example::new(test, "e2esc", "scale", &["compose.yaml"]) else {
        return;
    };
    ex.up();
    assert_eq!(ex.iface("gateway", 1, "eth0").ipv4, ["10.0.1.254/24"]);
    for n in 1..=2 {
        check_replica(&ex, n);
    }

    ex.compose.ok(&["up", "-d", "--scale", "node=5"]);
    for n in 3..=5 {
        wait_for_replica(&ex, n);
        check_replica(&ex, n);
    }
    // New replicas reach old ones over the bridge.
    ex.assert_ping("node", 5, &ip(1));

    ex.compose.ok(&["up", "-d", "--scale", "node=2"]);
    ex.assert_stops_answering("gateway", 1, &ip(5), std::time::Duration::from_secs(15));
    ex.assert_ping("gateway", 1, &ip(2));
    let logs = ex.logs();
    assert!(
        logs.matches("Event: die").count() >= 3,
        "conlink saw the three replicas go:\n{logs}"
    );

    // Scaling up again gives replica 3 the same identity as before.
    ex.compose.ok(&["up", "-d", "--scale", "node=3"]);
    wait_for_replica(&ex, 3);
    check_replica(&ex, 3);

    ex.restart_conlink();
    for n in 1..=3 {
        ex.assert_ping("gateway", 1, &ip(n));
    }
    ex.assert_no_errors();
    ex.stop_and_check_cleanup(&[("gateway", 1), ("node", 1), ("node", 3)]);
}
