//! veth links with ip, MAC, MTU, routes on a Linux bridge, against real
//! namespaces: read back with `ip -j`, then real ICMP between them.

mod common;

use common::engine::{bridge, engine, engine_in, target};
use common::netns::Netns;
use common::spec::veth;
use conlink::net::NsTarget;
use conlink::net::addr::IfName;
use conlink::net::ethtool::OffloadFeature;
use conlink::net::route::{Route, RouteDst};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn veth_with_ip_mac_mtu_route_on_bridge() {
    if !common::require_root("veth_with_ip_mac_mtu_route_on_bridge") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let c1 = Netns::new(&common::unique("clc"));
    let c2 = Netns::new(&common::unique("clc"));
    let inst = common::unique("t");
    let eng = engine_in(&home, &inst);
    let br = common::unique("br");
    bridge(&eng, &br).await;

    let mut s1 = veth("eth0", "c1-eth0", &br, "10.77.0.1/24");
    s1.mac = Some("c2:00:00:00:00:01".parse().unwrap());
    s1.mtu = Some(9000);
    s1.routes = vec![Route {
        dst: RouteDst::Net("10.88.0.0/16".parse().unwrap()),
        via: Some("10.77.0.254".parse().unwrap()),
        dev: None,
        metric: Some(7),
        src: None,
        mtu: None,
        scope: None,
        ..Default::default()
    }];
    let made = eng.create_link(&target(&c1), "c1:eth0", &s1).await.unwrap();
    assert_eq!(made.outer, Some("c1-eth0".parse::<IfName>().unwrap()));
    let s2 = veth("eth0", "c2-eth0", &br, "10.77.0.2/24");
    eng.create_link(&target(&c2), "c2:eth0", &s2).await.unwrap();

    // Inner end: name, MAC, MTU, up, address, route.
    let l = c1.link("eth0");
    assert_eq!(l["address"], "c2:00:00:00:00:01");
    assert_eq!(l["mtu"], 9000);
    assert!(
        l["flags"].as_array().unwrap().iter().any(|f| f == "UP"),
        "{l}"
    );
    // One queue each way from the start: no queue cut (and RCU wait under
    // the RTNL lock) after registration.
    assert_eq!(
        (l["num_tx_queues"].as_u64(), l["num_rx_queues"].as_u64()),
        (Some(1), Some(1)),
        "{l}"
    );
    let a = c1.json(&["addr", "show", "dev", "eth0"]);
    let addrs: Vec<String> = a[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["family"] == "inet")
        .map(|i| format!("{}/{}", i["local"].as_str().unwrap(), i["prefixlen"]))
        .collect();
    assert_eq!(addrs, vec!["10.77.0.1/24"]);
    let r = c1.json(&["route", "show", "10.88.0.0/16"]);
    assert_eq!(r[0]["gateway"], "10.77.0.254", "{r}");
    assert_eq!(r[0]["dev"], "eth0");
    assert_eq!(r[0]["metric"], 7);

    // Outer end: in the home namespace, enslaved, up, marked.
    let o = home.link("c1-eth0");
    assert_eq!(o["master"], br.as_str(), "{o}");
    assert_eq!(o["mtu"], 9000);
    assert_eq!(o["ifalias"], format!("conlink:{inst}"));
    assert_eq!(
        (o["num_tx_queues"].as_u64(), o["num_rx_queues"].as_u64()),
        (Some(1), Some(1)),
        "{o}"
    );
    assert_eq!(home.link(&br)["ifalias"], format!("conlink:{inst}"));
    // A bridge port gets no IPv6 address of its own (with one each,
    // every IPv6 packet into the bridge walked one fe80::/64 route per
    // port); the inner end keeps IPv6 as it is.
    let detail = home.ok(&["-d", "link", "show", "c1-eth0"]);
    assert!(detail.contains("addrgenmode none"), "{detail}");
    assert!(
        !home
            .ok(&["-6", "addr", "show", "dev", "c1-eth0"])
            .contains("inet6"),
        "no link-local address on the outer end"
    );
    assert!(
        !c1.ok(&["-d", "link", "show", "eth0"])
            .contains("addrgenmode none")
    );

    // tx checksum offload is off on the inner veth end.
    let off = common::netns::in_netns(&c1.name, || {
        std::process::Command::new("ethtool")
            .args(["-k", "eth0"])
            .output()
    });
    if let Ok(out) = off {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("tx-checksumming: off"), "{text}");
    }
    let ns1 = eng.netns(&target(&c1)).unwrap();
    assert!(!conlink::net::offload::get_in(&ns1, "eth0", OffloadFeature::Tx).unwrap());

    // Real traffic across the bridge.
    assert!(c1.ping_ip("10.77.0.2"), "c1 -> c2 ping over bridge {br}");
    assert!(c2.ping_ip("10.77.0.1"), "c2 -> c1 ping");
    // The probe can fail: nobody answers for an unused address.
    assert!(!common::netns::icmp_ping(
        &c1.name,
        "10.77.0.99".parse().unwrap(),
        1
    ));

    // The bridge MAC is pinned (set explicitly: addr_assign_type 3 = set).
    let b = home.link(&br);
    assert_eq!(b["addr_assign_type"].as_u64().unwrap_or(3), 3, "{b}");

    // Cleanup removes every marked link of the instance at once.
    let removed = eng.cleanup().await.unwrap();
    assert!(removed.contains(&br), "{removed:?}");
    assert!(!home.has_link("c1-eth0") && !home.has_link(&br));
    assert!(!c1.has_link("eth0"), "peer of deleted outer end is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_link_is_rolled_back_and_names_container_dev() {
    if !common::require_root("failed_link_is_rolled_back_and_names_container_dev") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let c1 = Netns::new(&common::unique("clc"));
    let eng = engine(&home);
    let br = common::unique("br");
    bridge(&eng, &br).await;
    // A route through a gateway that is not on any connected network fails
    // after the veth exists: the veth must be gone afterwards.
    let mut s = veth("eth0", "c1-eth0", &br, "10.78.0.1/24");
    s.routes = vec![Route {
        dst: RouteDst::Default,
        via: Some("192.0.2.1".parse().unwrap()),
        dev: None,
        metric: None,
        src: None,
        mtu: None,
        scope: None,
        ..Default::default()
    }];
    let err = eng
        .create_link(&target(&c1), "web_1:eth0", &s)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("web_1:eth0: add route default via 192.0.2.1"),
        "{msg}"
    );
    assert!(!home.has_link("c1-eth0"), "outer end rolled back");
    assert!(!c1.has_link("eth0"), "inner end rolled back");

    // A namespace that does not exist is reported as gone.
    let err = eng
        .create_link(&NsTarget::Name("conlink-no-such-ns".into()), "x:eth0", &s)
        .await
        .unwrap_err();
    assert!(err.is_gone(), "{err}");
    eng.cleanup().await.unwrap();
}

/// Many requests in flight on one socket, their acknowledgements collected
/// together: each gets its own answer (an error only where the kernel
/// refused), and thousands pipelined do not overrun the receive buffer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_get_their_own_answers() {
    use conlink::net::handle::{CHANGE, Pending};
    use netlink_packet_route::RouteNetlinkMessage;
    use rtnetlink::LinkUnspec;
    if !common::require_root("pipelined_requests_get_their_own_answers") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let eng = engine(&home);
    let rt = eng.home().rt();
    let lo = rt.index_of("lo").await.unwrap();
    let pending: Vec<Pending> = (0..3000u32)
        .map(|i| {
            // Every 1000th asks for an interface that does not exist.
            let index = if i % 1000 == 999 { 0x7fff_fff0 } else { lo };
            rt.send(
                format!("alias {i}"),
                RouteNetlinkMessage::SetLink(
                    LinkUnspec::new_with_index(index)
                        .alias(format!("a{i}"))
                        .build(),
                ),
                CHANGE,
            )
        })
        .collect();
    let results = futures::future::join_all(pending.into_iter().map(Pending::ack)).await;
    let failed: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, vec![999, 1999, 2999], "{results:?}");
    let e = results[999].as_ref().unwrap_err();
    assert_eq!(e.errno(), Some(libc::ENODEV), "{e}");
    assert!(e.to_string().contains("alias 999"), "{e}");
    assert_eq!(home.link("lo")["ifalias"], "a2998");
}
