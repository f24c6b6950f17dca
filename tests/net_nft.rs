//! nftables through the engine: a port forward with a TCP server behind it,
//! and stateless 1:1 NAT of a link, checked with real TCP connections and
//! with the rules read back (`nft -j`).

mod common;

use common::engine::{bridge, engine, engine_in, target};
use common::netns::Netns;
use common::spec::veth;
use common::tcp::{connect_from, serve_once};
use conlink::net::route::{Route, RouteDst};
use conlink::net::spec::{Forward, Protocol};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_reaches_tcp_server_behind_bridge() {
    if !common::require_root("port_forward_reaches_tcp_server_behind_bridge") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let outside = Netns::new(&common::unique("clo"));
    let svc = Netns::new(&common::unique("cls"));
    // The docker-facing side: outside (172.31.9.1) <-> home's dock0 (172.31.9.2).
    home.veth_to("dock0", "172.31.9.2/24", &outside, "o0", "172.31.9.1/24");

    let inst = common::unique("t");
    let table = conlink::net::nft::forward::table_name(&inst);
    assert_eq!(table, format!("conlink-{inst}"));
    let eng = engine_in(&home, &inst);
    let br = common::unique("br");
    bridge(&eng, &br).await;
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
    eng.create_link(&target(&svc), "svc:eth0", &s)
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
    assert!(!home.has_nft_table("ip", &table));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateless_nat_rewrites_both_ways() {
    if !common::require_root("stateless_nat_rewrites_both_ways") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let c = Netns::new(&common::unique("clc"));
    let d = Netns::new(&common::unique("cld"));
    let eng = engine(&home);
    let br = common::unique("br");
    bridge(&eng, &br).await;
    // The service really lives at 10.66.100.5 (on lo); the network knows it
    // as 10.66.0.5.
    c.ok(&["addr", "add", "10.66.100.5/32", "dev", "lo"]);
    let mut sc = veth("eth0", "c-eth0", &br, "10.66.0.5/24");
    sc.nat = Some("10.66.100.5".parse().unwrap());
    eng.create_link(&target(&c), "c:eth0", &sc).await.unwrap();
    eng.create_link(
        &target(&d),
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
