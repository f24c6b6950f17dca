//! examples/ipv6 end to end: a scaled dual-stack service whose replicas
//! reach each other over IPv6 at their offset addresses, an IPv6 router to
//! an IPv6-only web server, and an IPv6 port forward published on the
//! conlink container's address on a Docker network with IPv6 on, reached
//! from another container on that network and from the host.

mod common;
mod e2e;

use std::time::{Duration, Instant};

use e2e::Example;

/// `ping -6` from a node, a few tries (a fresh bridge port may still be
/// learning).
fn ping6(ex: &Example, service: &str, n: u32, addr: &str) -> bool {
    (0..5).any(|_| {
        ex.try_sh(service, n, &format!("ping -6 -c1 -W1 {addr}"))
            .status
            .success()
    })
}

fn assert_ping6(ex: &Example, service: &str, n: u32, addr: &str) {
    assert!(
        ping6(ex, service, n, addr),
        "{service}_{n} cannot ping {addr}; conlink logs:\n{}",
        ex.logs()
    );
}

/// Wait until `addr` is on a node's eth0 (conlink wires after the start event).
fn wait_for_addr6(ex: &Example, service: &str, n: u32, cidr: &str) {
    let start = Instant::now();
    while start.elapsed() < e2e::CONNECT_TIMEOUT {
        let out = ex.try_sh(service, n, "ip -6 addr show dev eth0");
        if String::from_utf8_lossy(&out.stdout).contains(&format!("inet6 {cidr} ")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!(
        "{service}_{n} did not get {cidr}; conlink logs:\n{}",
        ex.logs()
    );
}

#[test]
fn dual_stack_replicas_router_and_ipv6_forward() {
    let test = "dual_stack_replicas_router_and_ipv6_forward";
    let Some(ex) = Example::new(test, "e2ev6", "ipv6", &["compose.yaml"]) else {
        return;
    };
    // A subnet of this run's own, so parallel runs do not collide.
    let tag = std::process::id() & 0xffff;
    let subnet = format!("fd00:d0c:{tag:x}::/64");
    let conlink6 = format!("fd00:d0c:{tag:x}::10");
    let ex = ex.env("V6_SUBNET", &subnet).env("V6_CONLINK", &conlink6);
    ex.up();

    // Every replica has its offset address of both families.
    for n in 1..=3 {
        wait_for_addr6(&ex, "node", n, &format!("fd00:6::{n}/64"));
        assert_eq!(
            ex.iface("node", n, "eth0").ipv4,
            [format!("10.0.6.{n}/24")],
            "node_{n}"
        );
        let routes = ex.sh("node", n, "ip -6 route");
        assert!(
            routes.contains("default via fd00:6::64"),
            "node_{n}: {routes}"
        );
    }
    // Replicas reach each other over IPv6 (and IPv4 alongside).
    assert_ping6(&ex, "node", 1, "fd00:6::3");
    assert_ping6(&ex, "node", 3, "fd00:6::2");
    ex.assert_ping("node", 2, "10.0.6.1");
    // Through the IPv6 router to the IPv6-only web server.
    assert_ping6(&ex, "node", 2, "fd00:7::1");

    // The forward, published on conlink's IPv6 address on v6net.
    let logs = ex.logs();
    assert!(
        logs.contains(&format!("DOCKER-ETH0 has IPv6 address {conlink6}")),
        "conlink did not find its Docker IPv6 address:\n{logs}"
    );
    let web = ex.sh("web", 1, "hostname").trim().to_owned();
    // HTTP by hand with nc: the node image's busybox wget crashes on
    // IPv6 literals in URLs (SIGSEGV, also for http://[::1]/ locally).
    let url = format!("[{conlink6}]:8080");
    let get = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {conlink6} 8080");
    let start = Instant::now();
    let body = loop {
        let out = ex.try_sh("client", 1, &get);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if let (true, Some((_, body))) = (out.status.success(), text.split_once("\r\n\r\n")) {
            break body.trim().to_owned();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "client cannot fetch {url}: {}; conlink logs:\n{}",
            String::from_utf8_lossy(&out.stderr),
            ex.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(body, web, "{url} -> web over IPv6");
    // From the host too: Docker's bridge for v6net has the subnet's first
    // address on the host side, so the host reaches conlink's address.
    let from_host = (0..10).find_map(|_| {
        let r = (|| {
            use std::io::{Read, Write};
            let to: std::net::SocketAddr = format!("[{conlink6}]:8080").parse().ok()?;
            let mut s = std::net::TcpStream::connect_timeout(&to, Duration::from_secs(3)).ok()?;
            s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
            s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
            let mut text = String::new();
            s.read_to_string(&mut text).ok()?;
            text.split_once("\r\n\r\n")
                .map(|(_, b)| b.trim().to_owned())
        })();
        if r.is_none() {
            std::thread::sleep(Duration::from_millis(500));
        }
        r
    });
    assert_eq!(
        from_host.as_deref(),
        Some(web.as_str()),
        "host -> {url} -> web"
    );
    let routes = ex.sh("web", 1, "ip -6 route");
    assert!(
        routes
            .lines()
            .any(|l| l.starts_with(&conlink6) && l.contains("dev eth0")),
        "web has no route back to conlink's {conlink6}:\n{routes}"
    );

    ex.assert_no_errors();
    ex.stop_and_check_cleanup(&[("node", 1), ("node", 3), ("r0", 1), ("web", 1)]);
}
