//! nftables through the engine: a port forward with a TCP server behind it,
//! and stateless 1:1 NAT of a link, checked with real TCP connections and
//! with the rules read back (`nft -j`).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use common::netns::{Netns, spawn_in_netns};
use common::spec::veth;
use conlink::net::route::{Route, RouteDst};
use conlink::net::spec::{BridgeSpec, Forward, Protocol, ResolvedBridgeMode};
use conlink::net::{Engine, EngineConfig, NsTarget};

/// A TCP server in `ns` on `bind`: answers one connection with a greeting
/// and returns (its local address, the peer address) it saw.
fn serve_once(ns: &str, bind: &'static str) -> std::thread::JoinHandle<Option<(String, String)>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = spawn_in_netns(ns, move || {
        let l = TcpListener::bind(bind).expect("bind");
        l.set_nonblocking(false).unwrap();
        tx.send(()).unwrap();
        // Accept with a deadline so a failing test does not hang.
        l.set_nonblocking(true).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            match l.accept() {
                Ok((mut s, peer)) => {
                    let local = s.local_addr().unwrap();
                    s.write_all(b"hello-from-service").unwrap();
                    return Some((local.to_string(), peer.ip().to_string()));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        None
    });
    rx.recv().unwrap();
    h
}

fn connect_from(ns: &str, to: &'static str) -> Option<String> {
    spawn_in_netns(ns, move || {
        let mut s =
            TcpStream::connect_timeout(&to.parse().unwrap(), Duration::from_secs(3)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).ok()?;
        Some(buf)
    })
    .join()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_reaches_tcp_server_behind_bridge() {
    if !common::require_root("port_forward_reaches_tcp_server_behind_bridge") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let outside = Netns::new(&common::unique("clo"));
    let svc = Netns::new(&common::unique("cls"));
    // The docker-facing side: outside (172.31.9.1) <-> home's dock0 (172.31.9.2).
    home.ok(&[
        "link",
        "add",
        "dock0",
        "type",
        "veth",
        "peer",
        "name",
        "o0",
        "netns",
        &outside.name,
    ]);
    home.ok(&["addr", "add", "172.31.9.2/24", "dev", "dock0"]);
    home.ok(&["link", "set", "dock0", "up"]);
    outside.ok(&["addr", "add", "172.31.9.1/24", "dev", "o0"]);
    outside.ok(&["link", "set", "o0", "up"]);

    let inst = common::unique("t");
    let table = conlink::net::nft::forward::table_name(&inst);
    assert_eq!(table, format!("conlink-{inst}"));
    let mut cfg = EngineConfig::new(&inst);
    cfg.home = NsTarget::Name(home.name.clone());
    let eng = Engine::new(cfg).unwrap();
    let br = common::unique("br");
    eng.ensure_bridge(&BridgeSpec {
        name: br.clone(),
        mode: ResolvedBridgeMode::Linux,
    })
    .await
    .unwrap();
    let mut s = veth("eth0", "s-eth0", &br, "10.67.0.5/24");
    // Route back to conlink's docker-facing address (what the daemon adds).
    s.routes = vec![Route {
        dst: RouteDst::Net("172.31.9.2/32".parse().unwrap()),
        via: None,
        dev: None,
        metric: None,
        src: None,
        mtu: None,
        scope: None,
        ..Default::default()
    }];
    eng.create_link(&NsTarget::Name(svc.name.clone()), "svc:eth0", &s)
        .await
        .unwrap();
    let fwd = Forward {
        conlink_port: 9090,
        port: 8080,
        proto: Protocol::Tcp,
    };
    eng.add_forward("dock0", &br, "10.67.0.5".parse().unwrap(), &fwd)
        .await
        .unwrap();

    let rules = home.exec(&["nft", "-j", "list", "table", "ip", &table]);
    if rules.status.success() {
        let text = String::from_utf8_lossy(&rules.stdout);
        assert!(
            text.contains("\"dnat\"") && text.contains("10.67.0.5") && text.contains("8080"),
            "{text}"
        );
        assert!(text.contains("\"masquerade\""), "{text}");
    }

    let server = serve_once(&svc.name, "0.0.0.0:8080");
    let got = connect_from(&outside.name, "172.31.9.2:9090");
    assert_eq!(got.as_deref(), Some("hello-from-service"));
    let (_, peer) = server.join().unwrap().expect("server got the connection");
    assert_eq!(peer, "172.31.9.2", "masqueraded to conlink's address");

    // Cleanup removes the table too.
    eng.cleanup().await.unwrap();
    assert!(
        !home
            .exec(&["nft", "list", "table", "ip", &table])
            .status
            .success()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateless_nat_rewrites_both_ways() {
    if !common::require_root("stateless_nat_rewrites_both_ways") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let c = Netns::new(&common::unique("clc"));
    let d = Netns::new(&common::unique("cld"));
    let mut cfg = EngineConfig::new(&common::unique("t"));
    cfg.home = NsTarget::Name(home.name.clone());
    let eng = Engine::new(cfg).unwrap();
    let br = common::unique("br");
    eng.ensure_bridge(&BridgeSpec {
        name: br.clone(),
        mode: ResolvedBridgeMode::Linux,
    })
    .await
    .unwrap();
    // The service really lives at 10.66.100.5 (on lo); the network knows it
    // as 10.66.0.5.
    c.ok(&["addr", "add", "10.66.100.5/32", "dev", "lo"]);
    let mut sc = veth("eth0", "c-eth0", &br, "10.66.0.5/24");
    sc.nat = Some("10.66.100.5".parse().unwrap());
    eng.create_link(&NsTarget::Name(c.name.clone()), "c:eth0", &sc)
        .await
        .unwrap();
    eng.create_link(
        &NsTarget::Name(d.name.clone()),
        "d:eth0",
        &veth("eth0", "d-eth0", &br, "10.66.0.6/24"),
    )
    .await
    .unwrap();

    let rules = c.exec(&["nft", "list", "table", "ip", "conlink-nat"]);
    if rules.status.success() {
        let text = String::from_utf8_lossy(&rules.stdout);
        assert!(text.contains("ip daddr set 10.66.100.5"), "{text}");
        assert!(text.contains("ip saddr set 10.66.0.5"), "{text}");
    }

    // A server bound only to the real address is reached through the
    // link address: DNAT on the way in, SNAT on the way out (without the
    // SNAT the client would get a SYN-ACK from the wrong address).
    let server = serve_once(&c.name, "10.66.100.5:7000");
    let got = connect_from(&d.name, "10.66.0.5:7000");
    assert_eq!(got.as_deref(), Some("hello-from-service"));
    let (local, peer) = server.join().unwrap().expect("server got the connection");
    assert_eq!(local, "10.66.100.5:7000");
    assert_eq!(peer, "10.66.0.6");
    eng.cleanup().await.unwrap();
}
