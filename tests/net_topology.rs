//! Multi-namespace topologies built through the engine: a router between
//! two bridges, a patch that passes frames a bridge drops, and vxlan
//! between two "hosts" joined by an underlay veth.

mod common;

use common::engine::{bridge, engine, target, try_bridge};
use common::netns::{Netns, capture, lldp_frame, send_frame};
use common::spec::{tunnel, veth};
use conlink::net::route::{Route, RouteDst};
use conlink::net::spec::{LinkSpec, ResolvedBridgeMode, TunnelKind};

fn default_via(gw: &str) -> Route {
    Route {
        dst: RouteDst::Default,
        via: Some(gw.parse().unwrap()),
        dev: None,
        metric: None,
        src: None,
        mtu: None,
        scope: None,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_between_two_bridges() {
    if !common::require_root("router_between_two_bridges") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let a = Netns::new(&common::unique("cla"));
    let r = Netns::new(&common::unique("clr"));
    let b = Netns::new(&common::unique("clb"));
    r.exec(&["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    let eng = engine(&home);
    let (bra, brb) = (common::unique("bra"), common::unique("brb"));
    bridge(&eng, &bra).await;
    bridge(&eng, &brb).await;

    let mut la = veth("eth0", "a-eth0", &bra, "10.61.1.1/24");
    la.routes = vec![default_via("10.61.1.254")];
    let mut lb = veth("eth0", "b-eth0", &brb, "10.61.2.1/24");
    lb.routes = vec![default_via("10.61.2.254")];
    let r0 = veth("eth0", "r-eth0", &bra, "10.61.1.254/24");
    let r1 = veth("eth1", "r-eth1", &brb, "10.61.2.254/24");
    let (ta, tb, tr) = (target(&a), target(&b), target(&r));
    let (x, y, z, w) = tokio::join!(
        eng.create_link(&ta, "a:eth0", &la),
        eng.create_link(&tb, "b:eth0", &lb),
        eng.create_link(&tr, "r:eth0", &r0),
        eng.create_link(&tr, "r:eth1", &r1),
    );
    for res in [x, y, z, w] {
        res.unwrap();
    }
    let routes = a.json(&["route", "show", "default"]);
    assert_eq!(routes[0]["gateway"], "10.61.1.254", "{routes}");
    assert!(a.ping_ip("10.61.2.1"), "a -> b through router");
    assert!(b.ping_ip("10.61.1.1"), "b -> a through router");
    eng.cleanup().await.unwrap();
    assert!(!home.has_link(&bra) && !home.has_link(&brb));
}

fn p2_link(patch: &str) -> LinkSpec {
    let mut s = veth("eth0", "p2-eth0", patch, "10.62.0.2/24");
    s.mac = Some("c2:00:00:62:00:02".parse().unwrap());
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_passes_frames_a_bridge_drops() {
    if !common::require_root("patch_passes_frames_a_bridge_drops") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let p1 = Netns::new(&common::unique("clp"));
    let p2 = Netns::new(&common::unique("clp"));
    let q1 = Netns::new(&common::unique("clq"));
    let q2 = Netns::new(&common::unique("clq"));
    let eng = engine(&home);
    let (patch, br) = (common::unique("pt"), common::unique("br"));
    try_bridge(&eng, &patch, ResolvedBridgeMode::Patch)
        .await
        .unwrap();
    bridge(&eng, &br).await;
    let mut s1 = veth("eth0", "p1-eth0", &patch, "10.62.0.1/24");
    s1.mac = Some("c2:00:00:62:00:01".parse().unwrap());
    eng.create_link(&target(&p1), "p1:eth0", &s1).await.unwrap();
    eng.create_link(&target(&p2), "p2:eth0", &p2_link(&patch))
        .await
        .unwrap();
    eng.create_link(
        &target(&q1),
        "q1:eth0",
        &veth("eth0", "q1-eth0", &br, "10.62.1.1/24"),
    )
    .await
    .unwrap();
    eng.create_link(
        &target(&q2),
        "q2:eth0",
        &veth("eth0", "q2-eth0", &br, "10.62.1.2/24"),
    )
    .await
    .unwrap();

    // The kernel's view: ingress qdisc and a u32 filter with mirred on each end.
    for dev in ["p1-eth0", "p2-eth0"] {
        let q = home.exec(&["tc", "-j", "qdisc", "show", "dev", dev, "ingress"]);
        let q: serde_json::Value = serde_json::from_slice(&q.stdout).unwrap();
        assert_eq!(q[0]["kind"], "ingress", "{dev}: {q}");
        let f = home.exec(&["tc", "filter", "show", "dev", dev, "ingress"]);
        let f = String::from_utf8_lossy(&f.stdout);
        let other = if dev == "p1-eth0" {
            "p2-eth0"
        } else {
            "p1-eth0"
        };
        assert!(
            f.contains("u32") && f.contains(&format!("Redirect to device {other}")),
            "{dev}: {f}"
        );
    }
    // A third link on a patch is refused.
    let p3 = Netns::new(&common::unique("clp"));
    let err = eng
        .create_link(
            &target(&p3),
            "p3:eth0",
            &veth("eth0", "p3-eth0", &patch, "10.62.0.3/24"),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exactly two"), "{err}");
    assert!(!home.has_link("p3-eth0"), "refused link is rolled back");

    // IP works across the patch.
    assert!(p1.ping_ip("10.62.0.2"));

    // LLDP: passes the patch, not the Linux bridge.
    const M1: &[u8] = b"conlink-patch-lldp-1";
    let cap = capture(&p2.name, "eth0", M1, 2);
    send_frame(&p1.name, "eth0", lldp_frame([0xc2, 0, 0, 0x62, 0, 1], M1));
    assert!(cap.join().unwrap(), "LLDP frame crossed the patch");
    const M2: &[u8] = b"conlink-bridge-lldp-2";
    let cap = capture(&q2.name, "eth0", M2, 1);
    send_frame(&q1.name, "eth0", lldp_frame([0xc2, 0, 0, 0x62, 1, 1], M2));
    assert!(
        !cap.join().unwrap(),
        "a Linux bridge drops LLDP (control for the patch check)"
    );

    // Idempotent when an end comes back: recreate p2's link (same MAC, so
    // p1's ARP cache stays right), traffic flows again.
    eng.delete_links(&["p2-eth0".parse().unwrap()])
        .await
        .unwrap();
    assert!(!p2.has_link("eth0"));
    eng.create_link(&target(&p2), "p2:eth0", &p2_link(&patch))
        .await
        .unwrap();
    assert!(
        p1.ping_ip("10.62.0.2"),
        "patch re-joined after an end came back"
    );
    let f = home.exec(&["tc", "filter", "show", "dev", "p1-eth0", "ingress"]);
    let f = String::from_utf8_lossy(&f.stdout);
    assert_eq!(
        f.matches("Redirect to device").count(),
        1,
        "old filter replaced: {f}"
    );
    eng.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vxlan_between_two_hosts() {
    if !common::require_root("vxlan_between_two_hosts") {
        return;
    }
    let h1 = Netns::new(&common::unique("clx"));
    let h2 = Netns::new(&common::unique("clx"));
    let c1 = Netns::new(&common::unique("clc"));
    let c2 = Netns::new(&common::unique("clc"));
    // Underlay: a veth between the two "hosts".
    h1.veth_to("u0", "192.168.231.1/24", &h2, "u0", "192.168.231.2/24");
    let (e1, e2) = (engine(&h1), engine(&h2));
    let br = common::unique("br");
    for (e, remote) in [(&e1, "192.168.231.2"), (&e2, "192.168.231.1")] {
        bridge(e, &br).await;
        let name = e
            .create_tunnel(&tunnel(TunnelKind::Vxlan, 4242, remote, &br))
            .await
            .unwrap();
        assert_eq!(name.as_str(), "vxlan-4242");
    }
    let v = h1.link("vxlan-4242");
    let info = &v["linkinfo"]["info_data"];
    assert_eq!(info["id"], 4242, "{v}");
    assert_eq!(info["remote"], "192.168.231.2");
    assert_eq!(
        info["port"], 8472,
        "no `port`: the kernel's default, as 2.x"
    );
    assert_eq!(v["master"], br.as_str());
    // An explicit `port` is the device's UDP port.
    let mut t = tunnel(TunnelKind::Vxlan, 4243, "192.168.231.2", &br);
    t.port = Some(4789);
    e1.create_tunnel(&t).await.unwrap();
    assert_eq!(h1.link("vxlan-4243")["linkinfo"]["info_data"]["port"], 4789);

    let mut s1 = veth("eth0", "c1-eth0", &br, "10.63.0.1/24");
    s1.mtu = Some(1400);
    let mut s2 = veth("eth0", "c2-eth0", &br, "10.63.0.2/24");
    s2.mtu = Some(1400);
    e1.create_link(&target(&c1), "c1:eth0", &s1).await.unwrap();
    e2.create_link(&target(&c2), "c2:eth0", &s2).await.unwrap();
    assert!(c1.ping_ip("10.63.0.2"), "c1 -> c2 over vxlan");
    assert!(c2.ping_ip("10.63.0.1"), "c2 -> c1 over vxlan");
    e1.cleanup().await.unwrap();
    e2.cleanup().await.unwrap();
    assert!(!h1.has_link("vxlan-4242"));
}
