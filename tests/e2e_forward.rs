//! examples/forward end to end: ports published on the conlink service
//! (host 127.0.0.1, random free ports) reach web replicas and an app that
//! have no Docker network at all, through conlink's DNAT; replica 2's
//! conlink port is offset by one; the app sits behind router r0.

mod common;
mod e2e;

use std::time::Duration;

use e2e::{Example, free_port, http_get};

#[test]
fn forward_published_ports_into_replicas_and_behind_a_router() {
    let test = "forward_published_ports_into_replicas_and_behind_a_router";
    let Some(ex) = Example::new(test, "e2efw", "forward", &["compose.yaml"]) else {
        return;
    };
    let ports = [free_port(), free_port(), free_port()];
    let ex = ex
        .env("WEB_PORT", &ports[0].to_string())
        .env("WEB_PORT2", &ports[1].to_string())
        .env("APP_PORT", &ports[2].to_string());
    ex.up();

    let hostname = |svc: &str, n: u32| ex.sh(svc, n, "hostname").trim().to_owned();
    let targets = [
        (ports[0], hostname("web", 1), "web_1"),
        (ports[1], hostname("web", 2), "web_2"),
        (ports[2], hostname("app", 1), "app"),
    ];
    let check_forwards = |when: &str| {
        for (port, expected, who) in &targets {
            let body = http_get(*port, Duration::from_secs(20)).unwrap_or_else(|| {
                panic!(
                    "{when}: nothing answered on 127.0.0.1:{port} ({who}); conlink logs:\n{}",
                    ex.logs()
                )
            });
            assert_eq!(body.trim(), expected, "{when}: 127.0.0.1:{port} -> {who}");
        }
    };
    check_forwards("after up");

    // The forward target's route back to conlink, and the app's way to s1
    // through the router.
    let logs = ex.logs();
    let docker_addr = logs
        .lines()
        .find_map(|l| l.split("Renamed conlink's eth0 to DOCKER-ETH0 (").nth(1))
        .and_then(|r| r.split(')').next())
        .unwrap_or_else(|| panic!("conlink did not adopt its Docker eth0:\n{logs}"))
        .to_owned();
    let routes = ex.sh("web", 2, "ip route");
    assert!(
        routes
            .lines()
            .any(|l| l.starts_with(&format!("{docker_addr} ")) && l.contains("dev eth0")),
        "web_2 has no route back to conlink's {docker_addr}:\n{routes}"
    );
    ex.assert_ping("app", 1, "10.0.10.1");
    let page = ex.sh("app", 1, "timeout 10 wget -qO- http://10.0.10.2/");
    assert_eq!(page.trim(), targets[1].1, "app -> web_2 through r0");

    // conlink restarts: its namespace (and nft table) is new, forwards are
    // made again.
    ex.restart_conlink();
    check_forwards("after conlink restarted");
    ex.assert_no_errors();
    ex.stop_and_check_cleanup(&[("web", 1), ("web", 2), ("app", 1), ("r0", 1)]);
}
