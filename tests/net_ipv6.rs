//! IPv6 through the link engine in real namespaces, with real traffic
//! (`ping -6`): dual-stack links on one bridge, an IPv6 router between two
//! bridges with routes from config text, vxlan over an IPv6 underlay
//! between two "hosts", and IPv6 port forwards and stateless NAT (real TCP,
//! rules read back with `nft` as scaffolding).

mod common;

use common::engine::{bridge, engine, engine_in, target};
use common::netns::Netns;
use common::spec::{tunnel, veth};
use common::tcp::{connect_from, serve_once};
use conlink::config::parse::route::parse_route;
use conlink::net::spec::{Forward, LinkSpec, Protocol, TunnelKind};
use serde_json::Value;

/// A veth link with every address in `ips` (the first as `veth` sets it).
fn dual(dev: &str, outer: &str, br: &str, ips: &[&str]) -> LinkSpec {
    let mut s = veth(dev, outer, br, ips[0]);
    s.ip = ips.iter().map(|i| i.parse().unwrap()).collect();
    s
}

/// `ping -6` from `ns` (one echo, up to 3 s).
fn ping6(ns: &Netns, addr: &str) -> bool {
    ns.exec(&["ping", "-6", "-c", "1", "-W", "1", "-w", "3", addr])
        .status
        .success()
}

/// The IPv6 addresses on `dev` as `ip -j -6 addr show` lists them.
fn addrs6(ns: &Netns, dev: &str) -> Vec<Value> {
    ns.json(&["-6", "addr", "show", "dev", dev])[0]["addr_info"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dual_stack_links_on_a_bridge() {
    if !common::require_root("dual_stack_links_on_a_bridge") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let a = Netns::new(&common::unique("cla"));
    let b = Netns::new(&common::unique("clb"));
    let eng = engine(&home);
    let br = common::unique("br");
    bridge(&eng, &br).await;
    let sa = dual(
        "eth0",
        &common::unique("o"),
        &br,
        &["10.66.0.1/24", "fd00:66::1/64"],
    );
    let sb = dual(
        "eth0",
        &common::unique("o"),
        &br,
        &["10.66.0.2/24", "fd00:66::2/64"],
    );
    eng.create_link(&target(&a), "a:eth0", &sa).await.unwrap();
    eng.create_link(&target(&b), "b:eth0", &sb).await.unwrap();

    // Usable at once: no DAD on conlink's addresses (no `tentative`).
    let got = addrs6(&a, "eth0");
    let global = got
        .iter()
        .find(|x| x["local"] == "fd00:66::1")
        .unwrap_or_else(|| panic!("fd00:66::1 on eth0: {got:?}"));
    assert_eq!(global["prefixlen"], 64);
    assert_eq!(global["nodad"], true, "{global}");
    assert!(global.get("tentative").is_none(), "{global}");
    assert!(ping6(&a, "fd00:66::2"), "a -> b over IPv6");
    assert!(ping6(&b, "fd00:66::1"), "b -> a over IPv6");
    assert!(a.ping_ip("10.66.0.2"), "IPv4 alongside");

    // The kernel's link-local address is there too (not disabled), and
    // works once its own DAD is done.
    let ll = addrs6(&a, "eth0")
        .into_iter()
        .find(|x| x["scope"] == "link")
        .unwrap_or_else(|| panic!("no link-local address on a:eth0"));
    let ll = ll["local"].as_str().unwrap().to_owned();
    assert!(ll.starts_with("fe80:"), "{ll}");
    let mut reached = false;
    for _ in 0..5 {
        if ping6(&b, &format!("{ll}%eth0")) {
            reached = true;
            break;
        }
    }
    assert!(reached, "b -> a's link-local {ll}");
    eng.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_router_between_two_bridges() {
    if !common::require_root("ipv6_router_between_two_bridges") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let a = Netns::new(&common::unique("cla"));
    let r = Netns::new(&common::unique("clr"));
    let b = Netns::new(&common::unique("clb"));
    let eng = engine(&home);
    let (br1, br2) = (common::unique("br"), common::unique("br"));
    bridge(&eng, &br1).await;
    bridge(&eng, &br2).await;
    // The router forwards IPv6 (test scaffolding: a config would do this
    // with a command).
    let fwd = r.exec(&["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
    assert!(fwd.status.success(), "{fwd:?}");
    let r0 = dual("eth0", &common::unique("o"), &br1, &["fd00:1::fe/64"]);
    let r1 = dual("eth1", &common::unique("o"), &br2, &["fd00:2::fe/64"]);
    eng.create_link(&target(&r), "r:eth0", &r0).await.unwrap();
    eng.create_link(&target(&r), "r:eth1", &r1).await.unwrap();

    let mut sa = dual(
        "eth0",
        &common::unique("o"),
        &br1,
        &["10.67.1.1/24", "fd00:1::1/64"],
    );
    sa.routes = vec![parse_route("default via fd00:1::fe").unwrap()];
    let mut sb = dual("eth0", &common::unique("o"), &br2, &["fd00:2::1/64"]);
    sb.routes = vec![parse_route("fd00:1::/64 via fd00:2::fe metric 10").unwrap()];
    eng.create_link(&target(&a), "a:eth0", &sa).await.unwrap();
    eng.create_link(&target(&b), "b:eth0", &sb).await.unwrap();

    // The routes as the kernel holds them.
    let ra = a.json(&["-6", "route", "show", "default"]);
    assert_eq!(ra[0]["gateway"], "fd00:1::fe", "{ra}");
    assert_eq!(ra[0]["dev"], "eth0", "{ra}");
    let rb = b.json(&["-6", "route", "show", "fd00:1::/64"]);
    assert_eq!(rb[0]["gateway"], "fd00:2::fe", "{rb}");
    assert_eq!(rb[0]["metric"], 10, "{rb}");
    assert_eq!(rb[0]["protocol"], "boot", "{rb}");
    // No IPv4 default appeared on a: the family came from the gateway.
    assert_eq!(
        a.json(&["-4", "route", "show", "default"]),
        Value::Array(vec![])
    );

    assert!(ping6(&a, "fd00:2::1"), "a -> b through the router");
    assert!(ping6(&b, "fd00:1::1"), "b -> a through the router");
    eng.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vxlan_over_an_ipv6_underlay() {
    if !common::require_root("vxlan_over_an_ipv6_underlay") {
        return;
    }
    let h1 = Netns::new(&common::unique("clx"));
    let h2 = Netns::new(&common::unique("clx"));
    let c1 = Netns::new(&common::unique("clc"));
    let c2 = Netns::new(&common::unique("clc"));
    // Underlay: a veth between the two "hosts", IPv6 only.
    h1.veth_to("u0", "fd00:99::1/64", &h2, "u0", "fd00:99::2/64");
    let (e1, e2) = (engine(&h1), engine(&h2));
    let br = common::unique("br");
    for (e, remote) in [(&e1, "fd00:99::2"), (&e2, "fd00:99::1")] {
        bridge(e, &br).await;
        let name = e
            .create_tunnel(&tunnel(TunnelKind::Vxlan, 4244, remote, &br))
            .await
            .unwrap();
        assert_eq!(name.as_str(), "vxlan-4244");
    }
    let v = h1.link("vxlan-4244");
    let info = &v["linkinfo"]["info_data"];
    assert_eq!(info["id"], 4244, "{v}");
    assert_eq!(info["remote6"], "fd00:99::2", "{v}");
    assert_eq!(v["master"], br.as_str());

    let mut s1 = dual("eth0", "c1-eth0", &br, &["10.68.0.1/24", "fd00:68::1/64"]);
    s1.mtu = Some(1400);
    let mut s2 = dual("eth0", "c2-eth0", &br, &["10.68.0.2/24", "fd00:68::2/64"]);
    s2.mtu = Some(1400);
    e1.create_link(&target(&c1), "c1:eth0", &s1).await.unwrap();
    e2.create_link(&target(&c2), "c2:eth0", &s2).await.unwrap();
    assert!(ping6(&c1, "fd00:68::2"), "c1 -> c2 over vxlan over IPv6");
    assert!(c2.ping_ip("10.68.0.1"), "IPv4 inside the same tunnel");
    e1.cleanup().await.unwrap();
    e2.cleanup().await.unwrap();
    assert!(!h1.has_link("vxlan-4244"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_port_forward_reaches_a_server_behind_the_bridge() {
    if !common::require_root("ipv6_port_forward_reaches_a_server_behind_the_bridge") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let outside = Netns::new(&common::unique("clo"));
    let svc = Netns::new(&common::unique("cls"));
    // The docker-facing side, IPv6: outside fd00:31::1 <-> home's dock0 fd00:31::2.
    home.veth_to("dock0", "fd00:31::2/64", &outside, "o0", "fd00:31::1/64");

    let inst = common::unique("t");
    let table = conlink::net::nft::forward::table_name(&inst);
    let eng = engine_in(&home, &inst);
    let br = common::unique("br");
    bridge(&eng, &br).await;
    let s = dual("eth0", "s-eth0", &br, &["10.69.0.5/24", "fd00:69::5/64"]);
    eng.create_link(&target(&svc), "svc:eth0", &s)
        .await
        .unwrap();
    let fwd = Forward {
        conlink_port: 9090,
        port: 8080,
        proto: Protocol::Tcp,
    };
    // What the daemon does for a link with an IPv6 address when conlink
    // has one on its docker-facing interface.
    let back: std::net::Ipv6Addr = "fd00:31::2".parse().unwrap();
    eng.proxy_ndp(&br, back).await.unwrap();
    eng.add_forward("dock0", &br, "fd00:69::5".parse().unwrap(), &fwd)
        .await
        .unwrap();
    eng.add_host_route(&target(&svc), &"eth0".parse().unwrap(), back.into())
        .await
        .unwrap();

    // The rules, read back (scaffolding): an ip6 table, DNAT and masquerade.
    let rules = home.exec(&["nft", "list", "table", "ip6", &table]);
    assert!(rules.status.success(), "{rules:?}");
    let text = String::from_utf8_lossy(&rules.stdout);
    assert!(text.contains("dnat to [fd00:69::5]:8080"), "{text}");
    assert!(text.contains("ip6 daddr fd00:69::5"), "{text}");
    assert!(text.contains("masquerade"), "{text}");
    // No IPv4 table for an IPv6-only forward.
    assert!(!home.has_nft_table("ip", &table));

    let server = serve_once(&svc.name, "[::]:8080");
    let got = connect_from(&outside.name, "[fd00:31::2]:9090");
    assert_eq!(got.as_deref(), Some("hello-from-service"));
    let (_, peer) = server.join().unwrap().expect("server got the connection");
    assert_eq!(peer, "fd00:31::2", "masqueraded to conlink's address");

    eng.cleanup().await.unwrap();
    assert!(!home.has_nft_table("ip6", &table));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_stateless_nat_rewrites_both_ways() {
    if !common::require_root("ipv6_stateless_nat_rewrites_both_ways") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let c = Netns::new(&common::unique("clc"));
    let d = Netns::new(&common::unique("cld"));
    let eng = engine(&home);
    let br = common::unique("br");
    bridge(&eng, &br).await;
    // The service really lives at fd00:66:100::5 (on lo); the network
    // knows it as fd00:66::5.
    c.ok(&["addr", "add", "fd00:66:100::5/128", "dev", "lo"]);
    let mut sc = dual("eth0", "c-eth0", &br, &["10.70.0.5/24", "fd00:66::5/64"]);
    sc.nat = Some("fd00:66:100::5".parse().unwrap());
    eng.create_link(&target(&c), "c:eth0", &sc).await.unwrap();
    let sd = dual("eth0", "d-eth0", &br, &["fd00:66::6/64"]);
    eng.create_link(&target(&d), "d:eth0", &sd).await.unwrap();

    let rules = c.exec(&["nft", "list", "table", "ip6", "conlink-nat"]);
    assert!(rules.status.success(), "{rules:?}");
    let text = String::from_utf8_lossy(&rules.stdout);
    assert!(text.contains("ip6 daddr set fd00:66:100::5"), "{text}");
    assert!(text.contains("ip6 saddr set fd00:66::5"), "{text}");

    let server = serve_once(&c.name, "[fd00:66:100::5]:7000");
    let got = connect_from(&d.name, "[fd00:66::5]:7000");
    assert_eq!(got.as_deref(), Some("hello-from-service"));
    let (local, peer) = server.join().unwrap().expect("server got the connection");
    assert_eq!(local, "[fd00:66:100::5]:7000");
    assert_eq!(peer, "fd00:66::6");
    eng.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_docker_eth0_keeps_its_ipv6_address_and_routes() {
    if !common::require_root("renaming_docker_eth0_keeps_its_ipv6_address_and_routes") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let peer = Netns::new(&common::unique("clp"));
    // Docker's eth0, dual stack, with default routes of both families.
    home.ok(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "p0", "netns", &peer.name,
    ]);
    home.ok(&["addr", "add", "172.31.8.2/24", "dev", "eth0"]);
    home.ok(&["addr", "add", "fd00:d0c::2/64", "dev", "eth0", "nodad"]);
    home.ok(&["link", "set", "eth0", "up"]);
    peer.ok(&["addr", "add", "fd00:d0c::1/64", "dev", "p0", "nodad"]);
    peer.ok(&["link", "set", "p0", "up"]);
    home.ok(&["route", "add", "default", "via", "172.31.8.1"]);
    home.ok(&["-6", "route", "add", "default", "via", "fd00:d0c::1"]);
    let eng = engine(&home);
    let to: conlink::net::addr::IfName = "DOCKER-ETH0".parse().unwrap();
    let v4 = eng.rename_keeping_routes("eth0", &to).await.unwrap();
    assert_eq!(v4, Some("172.31.8.2".parse().unwrap()));
    assert_eq!(
        eng.ipv6_of(&to).await.unwrap(),
        Some("fd00:d0c::2".parse().unwrap())
    );
    let r6 = home.json(&["-6", "route", "show", "default"]);
    assert_eq!(r6[0]["gateway"], "fd00:d0c::1", "{r6}");
    assert_eq!(r6[0]["dev"], "DOCKER-ETH0", "{r6}");
    let r4 = home.json(&["-4", "route", "show", "default"]);
    assert_eq!(r4[0]["gateway"], "172.31.8.1", "{r4}");
    assert!(ping6(&home, "fd00:d0c::1"), "IPv6 works after the rename");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_addresses_and_routes_come_back_after_an_inner_down_up() {
    if !common::require_root("ipv6_addresses_and_routes_come_back_after_an_inner_down_up") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let a = Netns::new(&common::unique("cla"));
    let b = Netns::new(&common::unique("clb"));
    let eng = engine(&home);
    let br = common::unique("br");
    bridge(&eng, &br).await;
    let mut sa = dual(
        "eth0",
        &common::unique("o"),
        &br,
        &["10.71.0.1/24", "fd00:71::1/64"],
    );
    sa.routes = vec![parse_route("fd00:72::/64 via fd00:71::2").unwrap()];
    let sb = dual("eth0", &common::unique("o"), &br, &["fd00:71::2/64"]);
    eng.create_link(&target(&a), "a:eth0", &sa).await.unwrap();
    eng.create_link(&target(&b), "b:eth0", &sb).await.unwrap();
    assert!(ping6(&a, "fd00:71::2"));

    // Down and up inside the namespace (what `link down/up` does to a link
    // without an outer end): the kernel drops the IPv6 address and route.
    eng.set_admin(Some(&target(&a)), "eth0", false)
        .await
        .unwrap();
    eng.set_admin(Some(&target(&a)), "eth0", true)
        .await
        .unwrap();
    let has = |what: &str| a.ok(&["-6", "addr", "show", "dev", "eth0"]).contains(what);
    assert!(
        !has("fd00:71::1/64"),
        "control: admin down drops IPv6 addresses"
    );
    eng.restore_ipv6(&target(&a), &sa).await.unwrap();
    assert!(has("fd00:71::1/64"));
    let r = a.json(&["-6", "route", "show", "fd00:72::/64"]);
    assert_eq!(r[0]["gateway"], "fd00:71::2", "{r}");
    // Twice is fine (EEXIST), IPv4 untouched.
    eng.restore_ipv6(&target(&a), &sa).await.unwrap();
    assert!(
        a.ok(&["-4", "addr", "show", "dev", "eth0"])
            .contains("10.71.0.1/24")
    );
    assert!(ping6(&a, "fd00:71::2"), "IPv6 works again");
    eng.cleanup().await.unwrap();
}
