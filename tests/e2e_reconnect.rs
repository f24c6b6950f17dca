//! conlink loses its engine connection and reconciles when it is back.
//!
//! Restarting the Docker daemon is not safe on a shared machine, so conlink
//! (examples/quickstart plus a small override) talks to the engine through
//! a socket relay in this test process, bind-mounted into its container.
//! Cutting the relay drops conlink's connection exactly as an engine
//! restart would; while it is cut, a node restarts and the scaled service
//! grows, and conlink misses those events. When the relay is back conlink
//! must reconnect, re-list and wire what it missed.

mod common;
mod e2e;

use std::path::Path;
use std::time::{Duration, Instant};

use common::docker::{DOCKER_SOCKET, SocketProxy};
use e2e::Example;

#[test]
fn reconnects_and_wires_what_it_missed() {
    let test = "reconnects_and_wires_what_it_missed";
    let relay = tempfile::tempdir().expect("temp dir");
    let socket = relay.path().join("docker.sock");
    let override_file = relay.path().join("relay.yaml");
    std::fs::write(
        &override_file,
        format!(
            "services:\n  network:\n    volumes:\n      - {}:/relay\n    command: /conlink --compose-file /topology/compose.yaml --docker-socket /relay/docker.sock\n",
            relay.path().display()
        ),
    )
    .unwrap();
    let Some(ex) = Example::new(
        test,
        "e2erc",
        "quickstart",
        &["compose.yaml", override_file.to_str().unwrap()],
    ) else {
        return;
    };

    // The relay's tasks run on this runtime's threads while the test thread
    // makes blocking compose calls.
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let _ctx = rt.enter();
    let proxy = SocketProxy::start(&socket, Path::new(DOCKER_SOCKET));
    ex.up();
    ex.assert_ping("h1", 1, "10.0.2.1");

    proxy.cut();
    drop(proxy);
    wait_for(&ex, "Lost the engine");

    // Events conlink cannot see: a restart (new namespace, no links) and
    // a new replica.
    ex.compose.ok(&["restart", "-t", "1", "h2"]);
    ex.compose
        .ok(&["up", "-d", "--no-recreate", "--scale", "node=3"]);
    e2e::assert_only_lo(&ex.links("h2", 1), "h2 while conlink is disconnected");
    e2e::assert_only_lo(&ex.links("node", 3), "node_3 while conlink is disconnected");

    let _proxy = SocketProxy::start(&socket, Path::new(DOCKER_SOCKET));
    wait_for(&ex, "Reconnected to /relay/docker.sock; reconciling");
    ex.wait_for_addr("h2", 1, "eth0", "10.0.2.1/24");
    ex.wait_for_addr("node", 3, "eth0", "10.0.2.13/24");
    ex.assert_ping("h1", 1, "10.0.2.1");
    ex.assert_ping("h1", 1, "10.0.2.13");
    // Links made before the cut kept working all along.
    ex.assert_ping("node", 1, "10.0.1.1");
    ex.assert_no_errors();
    ex.stop_and_check_cleanup(&[("h2", 1), ("node", 3)]);
}

fn wait_for(ex: &Example, needle: &str) {
    let start = Instant::now();
    while !ex.logs().contains(needle) {
        assert!(
            start.elapsed() < e2e::CONNECT_TIMEOUT,
            "conlink never logged {needle:?}:\n{}",
            ex.logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
