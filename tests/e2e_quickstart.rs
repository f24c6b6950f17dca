//! examples/quickstart end to end: a router between two bridges and a
//! scaled service, then the ways a running topology gets disturbed (a node
//! restarts, conlink restarts, conlink is killed) and conlink's cleanup.

mod common;
mod e2e;

use e2e::Example;

#[test]
fn quickstart_wires_routes_and_survives_restarts() {
    let test = "quickstart_wires_routes_and_survives_restarts";
    let Some(ex) = Example::new(test, "e2eqs", "quickstart", &["compose.yaml"]) else {
        return;
    };
    ex.up();

    // Addresses, MTU (conlink's default 65535) and state, as configured.
    let h1 = ex.iface("h1", 1, "eth0");
    assert_eq!(h1.ipv4, ["10.0.1.1/24"]);
    assert_eq!(h1.mtu, 65535);
    assert!(h1.up);
    let r0 = (ex.iface("r0", 1, "eth0"), ex.iface("r0", 1, "eth1"));
    assert_eq!(r0.0.ipv4, ["10.0.1.100/24"]);
    assert_eq!(r0.1.ipv4, ["10.0.2.100/24"]);
    // Replica offsets: node_N gets 10.0.2.(11 + N - 1).
    assert_eq!(ex.iface("node", 1, "eth0").ipv4, ["10.0.2.11/24"]);
    assert_eq!(ex.iface("node", 2, "eth0").ipv4, ["10.0.2.12/24"]);
    assert!(
        ex.sh("h1", 1, "ip route")
            .contains("default via 10.0.1.100"),
        "h1's default route"
    );

    // Across one bridge, and through the router.
    ex.assert_ping("h1", 1, "10.0.1.100");
    ex.assert_ping("h1", 1, "10.0.2.1");
    ex.assert_ping("node", 2, "10.0.1.1");
    ex.assert_ping("node", 1, "10.0.2.12");

    // A node restarts: new namespace, conlink wires it again.
    let before = ex.iface("h2", 1, "eth0");
    ex.compose.ok(&["restart", "-t", "1", "h2"]);
    ex.wait_for_addr("h2", 1, "eth0", "10.0.2.1/24");
    let after = ex.iface("h2", 1, "eth0");
    assert_eq!(after.ipv4, before.ipv4);
    ex.assert_ping("h1", 1, "10.0.2.1");

    // conlink restarts (SIGTERM: it removes its links, then rewires).
    ex.restart_conlink();
    ex.assert_ping("h1", 1, "10.0.2.1");
    ex.assert_ping("node", 2, "10.0.1.1");

    // conlink is killed: no cleanup; the next run starts from scratch.
    ex.kill_and_restart_conlink();
    ex.assert_ping("h1", 1, "10.0.2.12");
    ex.assert_ping("h2", 1, "10.0.1.1");
    ex.assert_no_errors();

    ex.stop_and_check_cleanup(&[("h1", 1), ("h2", 1), ("r0", 1), ("node", 1), ("node", 2)]);
}
