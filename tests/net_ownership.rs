//! What conlink may delete, against real namespaces: an outer name held by
//! a live link of this run, a bridge or a tunnel is an error and never a
//! deletion; a bridge or tunnel the user made is used (or refused) and left
//! in place; two instances in one namespace never delete each other's
//! links or forward tables; an inner name that exists gives a transient
//! error; a stale end of an earlier run is replaced.

mod common;

use common::engine::{bridge, engine, engine_in, target, try_bridge};
use common::netns::{Netns, ip};
use common::spec::{tunnel, veth};
use conlink::net::nft::forward::table_name;
use conlink::net::spec::{Forward, Protocol, ResolvedBridgeMode, TunnelKind, TunnelSpec};
use conlink::net::{NetError, Owned};

/// A vxlan to an address nobody answers on (the tests look at devices).
fn vxlan(vni: u32, bridge: &str) -> TunnelSpec {
    tunnel(TunnelKind::Vxlan, vni, "192.0.2.77", bridge)
}

/// The `ifalias` of a link, "" when it has none.
fn alias(ns: &Netns, dev: &str) -> String {
    ns.link(dev)["ifalias"].as_str().unwrap_or("").to_owned()
}

fn name_taken(e: &NetError) -> Option<(&str, &str)> {
    match e.innermost() {
        NetError::NameTaken { name, holder } => Some((name, holder)),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colliding_outer_name_is_an_error_not_a_deletion() {
    if !common::require_root("colliding_outer_name_is_an_error_not_a_deletion") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let a = Netns::new(&common::unique("cla"));
    let b = Netns::new(&common::unique("clb"));
    let probe = Netns::new(&common::unique("clp"));
    let eng = engine(&home);
    let br = common::unique("br");
    bridge(&eng, &br).await;
    let vni = 4000 + (std::process::id() % 1000);
    let tunnel = eng
        .create_tunnel(&vxlan(vni, &br))
        .await
        .unwrap()
        .to_string();

    // Two targets whose outer names come out equal (as two long netns
    // names sharing a prefix did): forced here with an explicit outer-dev.
    let outer = common::unique("co");
    eng.create_link(
        &target(&a),
        "verylongns-a:eth0",
        &veth("eth0", &outer, &br, "10.71.0.1/24"),
    )
    .await
    .unwrap();
    let err = eng
        .create_link(
            &target(&b),
            "verylongns-b:eth0",
            &veth("eth0", &outer, &br, "10.71.0.2/24"),
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("verylongns-a:eth0") && msg.contains("verylongns-b:eth0"),
        "{msg}"
    );
    assert_eq!(
        name_taken(&err),
        Some((outer.as_str(), "link verylongns-a:eth0")),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert!(!b.has_link("eth0"), "the refused link left nothing behind");

    // The first link is untouched and still carries traffic.
    assert!(a.has_link("eth0") && home.has_link(&outer));
    assert_eq!(
        eng.owned(&outer),
        Some(Owned::Link("verylongns-a:eth0".into()))
    );
    eng.create_link(
        &target(&probe),
        "probe:eth0",
        &veth("eth0", &common::unique("cp"), &br, "10.71.0.9/24"),
    )
    .await
    .unwrap();
    assert!(probe.ping_ip("10.71.0.1"), "first link still pings");

    // An outer-dev equal to this run's bridge or tunnel: refused, and the
    // bridge and tunnel stay (they used to be deleted and replaced).
    for (taken, holder) in [
        (br.as_str(), format!("bridge {br} of this run")),
        (tunnel.as_str(), format!("tunnel {tunnel} of this run")),
    ] {
        let err = eng
            .create_link(
                &target(&b),
                "b:eth1",
                &veth("eth1", taken, &br, "10.71.1.2/24"),
            )
            .await
            .unwrap_err();
        assert_eq!(name_taken(&err), Some((taken, holder.as_str())), "{err}");
        assert!(home.has_link(taken));
    }
    assert_eq!(home.link(&tunnel)["master"], br.as_str());
    assert!(probe.ping_ip("10.71.0.1"), "bridge still forwards");

    // A bridge named like a live outer end is refused the same way.
    let err = try_bridge(&eng, &outer, ResolvedBridgeMode::Linux)
        .await
        .unwrap_err();
    assert_eq!(
        name_taken(&err),
        Some((outer.as_str(), "link verylongns-a:eth0")),
        "{err}"
    );
    eng.cleanup().await.unwrap();
    assert!(!home.has_link(&outer) && !home.has_link(&br) && !home.has_link(&tunnel));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_bridge_and_tunnel_of_the_user_are_left_alone() {
    if !common::require_root("existing_bridge_and_tunnel_of_the_user_are_left_alone") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let c = Netns::new(&common::unique("clc"));
    let inst = common::unique("t");
    let eng = engine_in(&home, &inst);

    // A bridge the user made, with an address.
    let ubr = common::unique("ub");
    home.ok(&["link", "add", &ubr, "type", "bridge"]);
    home.ok(&["addr", "add", "10.72.0.254/24", "dev", &ubr]);
    bridge(&eng, &ubr).await;
    assert_eq!(eng.owned(&ubr), None);
    assert_eq!(alias(&home, &ubr), "", "not marked");
    let outer = common::unique("cu");
    eng.create_link(
        &target(&c),
        "c:eth0",
        &veth("eth0", &outer, &ubr, "10.72.0.1/24"),
    )
    .await
    .unwrap();
    assert!(c.ping_ip("10.72.0.254"), "the user's bridge is used");

    // A bridge conlink makes is marked and in the ledger (the control).
    let obr = common::unique("ob");
    bridge(&eng, &obr).await;
    assert_eq!(eng.owned(&obr), Some(Owned::Bridge));
    assert_eq!(alias(&home, &obr), format!("conlink:{inst}"));

    // Not a bridge: an error, and it stays.
    let other = common::unique("nb");
    home.ok(&[
        "link",
        "add",
        &other,
        "type",
        "veth",
        "peer",
        "name",
        &common::unique("np"),
    ]);
    let err = try_bridge(&eng, &other, ResolvedBridgeMode::Linux)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is not a bridge"), "{err}");
    assert!(home.has_link(&other));

    // A tunnel name the user holds: a clear error, never replaced.
    let vni = 5000 + (std::process::id() % 1000);
    let tname = format!("vxlan-{vni}");
    home.ok(&[
        "link",
        "add",
        &tname,
        "type",
        "vxlan",
        "id",
        &vni.to_string(),
        "remote",
        "192.0.2.99",
        "dstport",
        "8472",
    ]);
    let err = eng.create_tunnel(&vxlan(vni, &obr)).await.unwrap_err();
    assert_eq!(
        name_taken(&err),
        Some((tname.as_str(), "an interface conlink did not create")),
        "{err}"
    );
    assert_eq!(
        home.link(&tname)["linkinfo"]["info_data"]["remote"],
        "192.0.2.99"
    );
    // Another name, same VNI and port (8472, the kernel's default that
    // conlink's tunnel uses): the kernel refuses a second device;
    // the error says why.
    let (vni2, other_vx) = (vni + 1000, common::unique("uv"));
    home.ok(&[
        "link",
        "add",
        &other_vx,
        "type",
        "vxlan",
        "id",
        &vni2.to_string(),
        "remote",
        "192.0.2.99",
        "dstport",
        "8472",
    ]);
    let err = eng.create_tunnel(&vxlan(vni2, &obr)).await.unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "another vxlan device in conlink's namespace already uses VNI {vni2}"
        )),
        "{err}"
    );
    assert!(home.has_link(&other_vx) && !home.has_link(&format!("vxlan-{vni2}")));

    // Shutdown as the daemon does it: veth outer ends, then cleanup.
    assert_eq!(
        eng.delete_links(&[outer.parse().unwrap(), ubr.parse().unwrap()])
            .await
            .unwrap(),
        1,
        "only the veth is ours to delete"
    );
    let removed = eng.cleanup().await.unwrap();
    assert!(
        removed.contains(&obr) && !removed.contains(&ubr),
        "{removed:?}"
    );
    assert!(!home.has_link(&obr) && !c.has_link("eth0"));
    assert!(home.has_link(&ubr), "the user's bridge survives");
    let a = home.json(&["addr", "show", "dev", &ubr]);
    assert!(
        a.to_string().contains("10.72.0.254"),
        "with its address: {a}"
    );
    assert_eq!(alias(&home, &ubr), "");
    assert!(home.has_link(&tname) && home.has_link(&other));
}

/// The link group of the old scheme (`0x1_0000 + fnv1a % 0x7fff_0000`).
fn old_group(instance: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in instance.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    0x1_0000 + h % 0x7fff_0000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_in_one_namespace_keep_their_links() {
    if !common::require_root("two_instances_in_one_namespace_keep_their_links") {
        return;
    }
    let (pa, pb) = ("proj14616", "proj153907");
    // The old doomed group of one was the other's mark group.
    assert_eq!(old_group(pa) ^ 1, old_group(pb));

    let home = Netns::new(&common::unique("clh"));
    let (a1, b1, b2) = (
        Netns::new(&common::unique("cla")),
        Netns::new(&common::unique("clb")),
        Netns::new(&common::unique("clb")),
    );
    let (ea, eb) = (engine_in(&home, pa), engine_in(&home, pb));
    let (bra, brb) = (common::unique("ba"), common::unique("bb"));
    bridge(&ea, &bra).await;
    bridge(&eb, &brb).await;
    let oa = common::unique("oa");
    ea.create_link(
        &target(&a1),
        "a1:eth0",
        &veth("eth0", &oa, &bra, "10.73.0.1/24"),
    )
    .await
    .unwrap();
    let (ob1, ob2) = (common::unique("ob"), common::unique("ob"));
    eb.create_link(
        &target(&b1),
        "b1:eth0",
        &veth("eth0", &ob1, &brb, "10.74.0.1/24"),
    )
    .await
    .unwrap();
    eb.create_link(
        &target(&b2),
        "b2:eth0",
        &veth("eth0", &ob2, &brb, "10.74.0.2/24"),
    )
    .await
    .unwrap();
    let fwd = Forward {
        conlink_port: 9191,
        port: 80,
        proto: Protocol::Tcp,
    };
    ea.add_forward("dock0", &bra, "10.73.0.1".parse().unwrap(), &fwd)
        .await
        .unwrap();
    eb.add_forward("dock0", &brb, "10.74.0.1".parse().unwrap(), &fwd)
        .await
        .unwrap();
    let has_table = |t: &str| home.has_nft_table("ip", t);
    assert!(has_table(&table_name(pa)) && has_table(&table_name(pb)));

    // Interfaces carrying A's link group, or the group A deletes through,
    // but not A's alias (an inner veth end has the first shape; an
    // instance whose name hashes like A's would have the second): not A's.
    let lookalikes = [common::unique("lk"), common::unique("lk")];
    for (name, group) in lookalikes
        .iter()
        .zip([ea.mark().group, ea.mark().doomed_group()])
    {
        home.ok(&[
            "link",
            "add",
            name,
            "group",
            &group.to_string(),
            "type",
            "veth",
            "peer",
            "name",
            &common::unique("lp"),
        ]);
    }

    // B refuses to delete A's outer end by name.
    assert_eq!(eb.delete_links(&[oa.parse().unwrap()]).await.unwrap(), 0);
    assert!(home.has_link(&oa));

    // A stops: its veth, then cleanup (the old doomed group took B's links).
    assert_eq!(ea.delete_links(&[oa.parse().unwrap()]).await.unwrap(), 1);
    let removed = ea.cleanup().await.unwrap();
    assert_eq!(removed, vec![bra.clone()]);
    assert!(!home.has_link(&oa) && !home.has_link(&bra) && !has_table(&table_name(pa)));

    assert!(home.has_link(&ob1) && home.has_link(&ob2) && home.has_link(&brb));
    assert!(has_table(&table_name(pb)), "B's forward table stays");
    for l in &lookalikes {
        assert!(home.has_link(l), "{l}: a group alone marks nothing as ours");
    }
    assert!(b1.ping_ip("10.74.0.2"), "B's links still carry traffic");

    let mut removed = eb.cleanup().await.unwrap();
    removed.sort();
    let mut want = vec![brb.clone(), ob1.clone(), ob2.clone()];
    want.sort();
    assert_eq!(removed, want);
    assert!(!has_table(&table_name(pb)));
    assert!(lookalikes.iter().all(|l| home.has_link(l)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_inner_name_is_transient_foreign_outer_name_is_taken() {
    if !common::require_root("existing_inner_name_is_transient_foreign_outer_name_is_taken") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let c = Netns::new(&common::unique("clc"));
    let peers = Netns::new(&common::unique("clq"));
    let eng = engine(&home);
    let br = common::unique("br");
    bridge(&eng, &br).await;

    // eth0 exists in the target and is not conlink's.
    c.ok(&["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
    let outer = common::unique("ci");
    let err = eng
        .create_link(
            &target(&c),
            "c:eth0",
            &veth("eth0", &outer, &br, "10.75.0.1/24"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err.innermost(), NetError::InnerExists { dev, ours: false } if dev == "eth0"),
        "{err:?}"
    );
    assert!(err.is_transient(), "{err}");
    assert!(
        err.to_string().starts_with("c:eth0: eth0 already exists"),
        "{err}"
    );
    assert!(!home.has_link(&outer) && c.has_link("x0"));

    // eth1 carries our group and its peer is alive elsewhere: ours, and
    // not deleted (only an end whose peer's namespace is dying is).
    let group = eng.mark().group.to_string();
    c.ok(&[
        "link",
        "add",
        "eth1",
        "group",
        &group,
        "type",
        "veth",
        "peer",
        "name",
        "p1",
        "netns",
        &peers.name,
    ]);
    let err = eng
        .create_link(
            &target(&c),
            "c:eth1",
            &veth("eth1", &outer, &br, "10.75.0.1/24"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err.innermost(), NetError::InnerExists { ours: true, .. }),
        "{err:?}"
    );
    assert!(c.has_link("eth1") && peers.has_link("p1"));
    // How "dying" is told apart: the peer's namespace id resolves while
    // the namespace lives, and an id nobody holds does not.
    let nsid = c.link("eth1")["link_netnsid"].as_i64().expect("peer nsid") as i32;
    let rt = eng.netns(&target(&c)).unwrap();
    assert!(rt.rt().netns_id_alive(nsid).await.unwrap());
    assert!(!rt.rt().netns_id_alive(nsid + 1000).await.unwrap());
    assert!(!rt.rt().netns_id_alive(-1).await.unwrap());

    // An outer name held by an interface the user made (here one even
    // carrying our group, but not our alias): taken, never deleted.
    let foreign = common::unique("fo");
    home.ok(&[
        "link",
        "add",
        &foreign,
        "group",
        &group,
        "type",
        "veth",
        "peer",
        "name",
        &common::unique("fp"),
    ]);
    let err = eng
        .create_link(
            &target(&c),
            "c:eth2",
            &veth("eth2", &foreign, &br, "10.75.0.2/24"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        name_taken(&err),
        Some((foreign.as_str(), "an interface conlink did not create")),
        "{err}"
    );
    assert!(!err.is_transient());
    assert!(home.has_link(&foreign) && !c.has_link("eth2"));
    eng.cleanup().await.unwrap();
    assert!(home.has_link(&foreign), "cleanup leaves it too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inner_end_of_a_dying_namespace_is_replaced() {
    if !common::require_root("inner_end_of_a_dying_namespace_is_replaced") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let c = Netns::new(&common::unique("clc"));
    let eng = engine(&home);
    let br = common::unique("br");
    bridge(&eng, &br).await;
    let group = eng.mark().group.to_string();
    // An earlier conlink's veth: inner end in c (our group), outer end in
    // its own namespace, which goes away. The kernel destroys a namespace
    // asynchronously, so the inner end can outlive it for a moment; the
    // new link must be made whether or not this run hits that moment.
    for round in 0..5 {
        let old = common::unique("cld");
        ip(&["netns", "add", &old]);
        c.ok(&[
            "link", "add", "eth0", "group", &group, "type", "veth", "peer", "name", "old0",
            "netns", &old,
        ]);
        let outer = common::unique("cn");
        let del = ip(&["netns", "del", &old]);
        assert!(del.status.success());
        let made = eng
            .create_link(
                &target(&c),
                "c:eth0",
                &veth("eth0", &outer, &br, "10.76.0.1/24"),
            )
            .await;
        assert!(made.is_ok(), "round {round}: {:?}", made.err());
        assert!(home.has_link(&outer), "round {round}: the new pair");
        eng.delete_links(&[outer.parse().unwrap()]).await.unwrap();
        assert!(!c.has_link("eth0"));
    }
    eng.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_outer_end_of_an_earlier_run_is_replaced() {
    if !common::require_root("stale_outer_end_of_an_earlier_run_is_replaced") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let (a, b, b2, probe) = (
        Netns::new(&common::unique("cla")),
        Netns::new(&common::unique("clb")),
        Netns::new(&common::unique("clb")),
        Netns::new(&common::unique("clp")),
    );
    let inst = common::unique("t");
    let br = common::unique("br");
    let outer = common::unique("cs");
    {
        // An earlier run that ended without cleaning up (killed).
        let first = engine_in(&home, &inst);
        bridge(&first, &br).await;
        first
            .create_link(
                &target(&a),
                "a:eth0",
                &veth("eth0", &outer, &br, "10.77.0.1/24"),
            )
            .await
            .unwrap();
    }
    let eng = engine_in(&home, &inst);
    // Its bridge carries our alias: ours again.
    bridge(&eng, &br).await;
    assert_eq!(eng.owned(&br), Some(Owned::Bridge));
    // Its outer end carries our alias and is in no ledger: stale, replaced.
    assert_eq!(eng.owned(&outer), None);
    eng.create_link(
        &target(&b),
        "b:eth0",
        &veth("eth0", &outer, &br, "10.77.0.2/24"),
    )
    .await
    .unwrap();
    assert!(!a.has_link("eth0"), "the stale pair is gone");
    assert!(b.has_link("eth0"));
    assert_eq!(eng.owned(&outer), Some(Owned::Link("b:eth0".into())));

    // The same link made again (its container restarted while its old end
    // lingers): the old end is replaced too.
    eng.create_link(
        &target(&b2),
        "b:eth0",
        &veth("eth0", &outer, &br, "10.77.0.2/24"),
    )
    .await
    .unwrap();
    assert!(!b.has_link("eth0") && b2.has_link("eth0"));
    assert_eq!(home.link(&outer)["master"], br.as_str());
    eng.create_link(
        &target(&probe),
        "probe:eth0",
        &veth("eth0", &common::unique("cp"), &br, "10.77.0.9/24"),
    )
    .await
    .unwrap();
    assert!(probe.ping_ip("10.77.0.2"), "the new link carries traffic");
    eng.cleanup().await.unwrap();
    assert!(!home.has_link(&br) && !home.has_link(&outer));
}
