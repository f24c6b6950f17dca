//! examples/bridge-modes end to end: the same two nodes joined by a Linux
//! bridge, by a tc patch (no bridge at all), and by `auto` (a Linux bridge
//! here, where the openvswitch module is not loaded). The three projects
//! run in parallel. Each also survives a node restart and a SIGKILLed
//! conlink.

mod common;
mod e2e;

use e2e::Example;

fn run_mode(test: &str, prefix: &str, mode: &str) {
    let Some(ex) = Example::new(test, prefix, "bridge-modes", &["compose.yaml"]) else {
        return;
    };
    let ex = ex.env("BRIDGE_MODE", mode);
    ex.up();
    assert_eq!(ex.iface("n1", 1, "eth0").ipv4, ["10.0.9.1/24"]);
    assert_eq!(ex.iface("n2", 1, "eth0").ipv4, ["10.0.9.2/24"]);
    ex.assert_ping("n1", 1, "10.0.9.2");
    ex.assert_ping("n2", 1, "10.0.9.1");
    // TCP over the join as well as ICMP.
    ex.sh(
        "n2",
        1,
        "echo hello > /tmp/x && (nc -l -p 7000 < /tmp/x &) ; sleep 0.3",
    );
    let got = ex.sh("n1", 1, "timeout 5 nc 10.0.9.2 7000 </dev/null");
    assert_eq!(got.trim(), "hello", "{mode}: TCP across s1");

    // What joins them, seen in conlink's namespace.
    let bridges = ex.in_conlink_ns(&["ip", "-o", "link", "show", "type", "bridge"]);
    let has_s1 = e2e::link_names(&bridges).contains("s1");
    let outers = ex.outer_ends();
    assert_eq!(outers.len(), 2, "{outers:?}");
    let ovs = std::path::Path::new("/sys/module/openvswitch").exists();
    match mode {
        // With the module loaded, auto picks OVS: not checked here.
        "auto" if ovs => {}
        "patch" => {
            assert!(!has_s1, "patch mode made a bridge:\n{bridges}");
            for outer in &outers {
                let filters = ex.in_conlink_ns(&["tc", "filter", "show", "dev", outer, "ingress"]);
                assert!(
                    filters.contains("mirred") && filters.contains("Redirect"),
                    "{outer} has no redirect:\n{filters}"
                );
            }
        }
        _ => {
            assert!(has_s1, "{mode}: no bridge s1 in conlink's namespace");
            for outer in &outers {
                let link = ex.in_conlink_ns(&["ip", "-o", "link", "show", "dev", outer]);
                assert!(link.contains("master s1"), "{outer} not on s1: {link}");
            }
        }
    }
    if mode == "auto" {
        let logs = ex.logs();
        if !ovs {
            assert!(
                logs.contains("openvswitch kernel module is not loaded, so linux bridges are used"),
                "auto mode did not say why it chose linux:\n{logs}"
            );
        }
    }

    // One end comes back (a patch must re-point its partner's filter at the
    // new outer end), then conlink itself dies without cleaning up and its
    // next run must join both again from the kernel's leftovers.
    e2e::docker(&["restart", "-t", "1", &ex.container_id("n2", 1)]);
    ex.wait_for_addr("n2", 1, "eth0", "10.0.9.2/24");
    ex.assert_ping("n1", 1, "10.0.9.2");
    ex.kill_and_restart_conlink();
    ex.assert_ping("n2", 1, "10.0.9.1");
    ex.assert_no_errors();
    ex.stop_and_check_cleanup(&[("n1", 1), ("n2", 1)]);
}

#[test]
fn bridge_mode_linux() {
    run_mode("bridge_mode_linux", "e2ebl", "linux");
}

#[test]
fn bridge_mode_patch() {
    run_mode("bridge_mode_patch", "e2ebp", "patch");
}

#[test]
fn bridge_mode_auto() {
    run_mode("bridge_mode_auto", "e2eba", "auto");
}
