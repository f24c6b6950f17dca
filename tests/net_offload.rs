//! Offload features by `ethtool -K` names on a real veth: classic aliases
//! and the kernel's own feature strings, set by the link engine and read
//! back with `ethtool -k`; unknown and fixed features are errors naming the
//! feature and the device.

mod common;

use common::engine::{bridge, config_in, target};
use common::netns::Netns;
use common::spec::veth;
use conlink::config::parse::ethtool::parse_ethtool;
use conlink::net::Engine;
use conlink::net::ethtool::{Offload, OffloadFeature};
use conlink::net::offload;

/// An engine that leaves veth tx checksumming alone, so what changes is
/// only what the test asks for.
fn engine(home: &Netns) -> Engine {
    let mut cfg = config_in(home, &common::unique("t"));
    cfg.keep_veth_offload = true;
    Engine::new(cfg).expect("engine")
}

/// `ethtool -k DEV` inside `ns`: feature → "on"/"off" (with " [fixed]").
fn ethtool_k(ns: &Netns, dev: &str) -> std::collections::HashMap<String, String> {
    let out = ns.exec(&["ethtool", "-k", dev]);
    assert!(out.status.success(), "ethtool -k: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(": ")?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offloads_by_ethtool_names_on_a_veth() {
    if !common::require_root("offloads_by_ethtool_names_on_a_veth") {
        return;
    }
    if !std::process::Command::new("ethtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        common::skip(
            "offloads_by_ethtool_names_on_a_veth",
            "no ethtool to read back with",
        );
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let c = Netns::new(&common::unique("clc"));
    let eng = engine(&home);
    let br = common::unique("br");
    bridge(&eng, &br).await;
    let target = target(&c);
    let before = {
        let probe = Netns::new(&common::unique("clp"));
        probe.ok(&["link", "add", "pa", "type", "veth", "peer", "name", "pb"]);
        ethtool_k(&probe, "pa")
    };
    // What a fresh veth has on: the settings below must change it.
    for f in [
        "tx-checksum-ip-generic",
        "rx-vlan-offload",
        "tx-vlan-offload",
    ] {
        assert_eq!(before[f], "on", "{f} on a fresh veth: {before:?}");
    }
    assert_eq!(before["rx-udp-gro-forwarding"], "off", "{before:?}");

    let mut s = veth("eth0", &common::unique("o"), &br, "10.74.0.1/24");
    s.offloads = [
        "-K tx-checksum-ip-generic off rxvlan off",
        "--offload tx-vlan-offload off rx-udp-gro-forwarding on",
        // Already off and fixed: nothing to do, not an error.
        "-K ntuple off lro off",
    ]
    .iter()
    .flat_map(|t| parse_ethtool(t).unwrap_or_else(|e| panic!("{t}: {e}")))
    .collect();
    eng.create_link(&target, "c:eth0", &s).await.unwrap();
    let k = ethtool_k(&c, "eth0");
    assert_eq!(k["tx-checksum-ip-generic"], "off", "{k:?}");
    assert_eq!(k["tx-checksum-sctp"], "on", "only the named feature: {k:?}");
    assert_eq!(k["rx-vlan-offload"], "off", "{k:?}");
    assert_eq!(k["tx-vlan-offload"], "off", "{k:?}");
    assert_eq!(k["rx-udp-gro-forwarding"], "on", "{k:?}");
    assert_eq!(k["ntuple-filters"], "off [fixed]", "{k:?}");
    assert_eq!(
        k["generic-receive-offload"], before["generic-receive-offload"],
        "untouched"
    );

    // Reading through conlink agrees with ethtool.
    let ns = eng.netns(&target).unwrap();
    let rxvlan = OffloadFeature::parse("rxvlan").unwrap();
    assert!(!offload::get_in(&ns, "eth0", rxvlan).unwrap());
    let f = offload::features_in(&ns, "eth0").unwrap();
    assert_eq!(f.is_on("rx-udp-gro-forwarding"), Some(true));
    assert_eq!(f.is_on("tx-checksum-ip-generic"), Some(false));

    // Back on, through the same path.
    offload::set_in(
        &ns,
        "eth0",
        Offload {
            feature: rxvlan,
            enabled: true,
        },
    )
    .unwrap();
    assert_eq!(ethtool_k(&c, "eth0")["rx-vlan-offload"], "on");

    // A name the kernel does not list for the device: named with the device.
    let bogus = OffloadFeature::parse("tx-checksum-ipx").unwrap();
    let err = offload::set_in(
        &ns,
        "eth0",
        Offload {
            feature: bogus,
            enabled: false,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("eth0 has no offload feature `tx-checksum-ipx`"),
        "{err}"
    );
    assert!(err.contains("ethtool -k eth0"), "{err}");
    // A fixed feature asked for the other state.
    let err = offload::set_in(
        &ns,
        "eth0",
        Offload {
            feature: OffloadFeature::parse("lro").unwrap(),
            enabled: true,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("offload feature `lro` of eth0 is fixed off and cannot be turned on"),
        "{err}"
    );

    // Through the engine, a bad name fails the link with its label.
    let mut bad = veth("eth1", &common::unique("o"), &br, "10.75.0.1/24");
    bad.offloads = parse_ethtool("-K no-such-feature off").unwrap();
    let err = eng
        .create_link(&target, "c:eth1", &bad)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("c:eth1") && err.contains("eth1 has no offload feature `no-such-feature`"),
        "{err}"
    );
    assert!(!c.has_link("eth1"), "the failed link is rolled back");
}
