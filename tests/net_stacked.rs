//! Links stacked on a parent in the "host" namespace (a test namespace here):
//! macvlan with real traffic, macvtap read back, the parent-MTU check, and
//! kinds this kernel lacks reported as such.

mod common;

use common::engine::{bridge, config_in, target};
use common::netns::Netns;
use common::spec::tunnel;
use conlink::net::spec::{IpvlanMode, LinkKind, LinkSpec, MacvlanMode};
use conlink::net::{Engine, NetError};

fn spec(kind: LinkKind, dev: &str, parent: &str, ip: Option<&str>) -> LinkSpec {
    LinkSpec {
        kind,
        dev: dev.parse().unwrap(),
        outer_dev: Some(parent.parse().unwrap()),
        bridge: None,
        ip: ip.into_iter().map(|i| i.parse().unwrap()).collect(),
        mac: None,
        mtu: None,
        routes: vec![],
        netem: None,
        offloads: vec![],
        nat: None,
        forwards: vec![],
    }
}

/// A "host" namespace whose `p0` leads (veth) to an `ext` namespace at
/// 10.64.0.100/24, and an engine whose host and home are that namespace.
fn setup() -> (Netns, Netns, Engine) {
    let host = Netns::new(&common::unique("clH"));
    let ext = Netns::new(&common::unique("cle"));
    host.ok(&[
        "link", "add", "p0", "mtu", "1500", "type", "veth", "peer", "name", "x0", "netns",
        &ext.name,
    ]);
    host.ok(&["link", "set", "p0", "up"]);
    ext.ok(&["addr", "add", "10.64.0.100/24", "dev", "x0"]);
    ext.ok(&["link", "set", "x0", "up"]);
    let mut cfg = config_in(&host, &common::unique("t"));
    cfg.host = target(&host);
    let eng = Engine::new(cfg).expect("engine");
    (host, ext, eng)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn macvlan_and_macvtap_on_host_parent() {
    if !common::require_root("macvlan_and_macvtap_on_host_parent") {
        return;
    }
    let (host, _ext, eng) = setup();
    let c1 = Netns::new(&common::unique("clc"));
    let c2 = Netns::new(&common::unique("clc"));
    // The target already has nothing called eth0, but the host might: the
    // temporary name avoids that collision. Make one to prove it.
    host.ok(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p",
    ]);

    let mut m = spec(
        LinkKind::Macvlan {
            mode: MacvlanMode::Bridge,
        },
        "eth0",
        "p0",
        Some("10.64.0.1/24"),
    );
    m.mac = Some("c2:00:00:64:00:01".parse().unwrap());
    m.mtu = Some(1400);
    let made = eng.create_link(&target(&c1), "c1:eth0", &m).await.unwrap();
    assert_eq!(made.outer, None);
    let l = c1.link("eth0");
    assert_eq!(l["linkinfo"]["info_kind"], "macvlan", "{l}");
    assert_eq!(l["linkinfo"]["info_data"]["mode"], "bridge");
    assert_eq!(l["address"], "c2:00:00:64:00:01");
    assert_eq!(l["mtu"], 1400);
    assert!(l["flags"].as_array().unwrap().iter().any(|f| f == "UP"));
    assert!(
        c1.ping_ip("10.64.0.100"),
        "macvlan reaches the host's network"
    );

    let t = spec(
        LinkKind::Macvtap {
            mode: MacvlanMode::Vepa,
        },
        "tap0",
        "p0",
        Some("10.64.0.2/24"),
    );
    eng.create_link(&target(&c2), "c2:tap0", &t).await.unwrap();
    let l = c2.link("tap0");
    assert_eq!(l["linkinfo"]["info_kind"], "macvtap", "{l}");
    assert_eq!(l["linkinfo"]["info_data"]["mode"], "vepa");
    // No temporary names left behind anywhere.
    for ns in [&host, &c1, &c2] {
        let links = ns.json(&["link", "show"]);
        assert!(
            !links
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["ifname"].as_str().unwrap_or("").starts_with("cltmp")),
            "{links}"
        );
    }

    // MTU above the parent's is refused with a clear message, nothing made.
    let mut big = spec(
        LinkKind::Macvlan {
            mode: MacvlanMode::Bridge,
        },
        "eth1",
        "p0",
        None,
    );
    big.mtu = Some(9000);
    let err = eng
        .create_link(&target(&c1), "c1:eth1", &big)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "c1:eth1: macvlan link eth1: mtu 9000 exceeds the mtu 1500 of its parent p0"
    );
    assert!(!c1.has_link("eth1"));

    // A missing parent is named.
    let err = eng
        .create_link(
            &target(&c1),
            "c1:eth2",
            &spec(
                LinkKind::Macvlan {
                    mode: MacvlanMode::Bridge,
                },
                "eth2",
                "nope0",
                None,
            ),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("parent interface nope0 not found"),
        "{err}"
    );
}

fn kernel_config_has(option: &str) -> Option<bool> {
    let out = std::process::Command::new("zcat")
        .arg("/proc/config.gz")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.is_empty() {
        return None;
    }
    Some(
        text.lines()
            .any(|l| l == format!("{option}=y") || l == format!("{option}=m")),
    )
}

/// Kinds this kernel lacks fail with "kernel lacks <module>"; if a kernel
/// has them, they must work instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_the_kernel_lacks_are_reported() {
    if !common::require_root("kinds_the_kernel_lacks_are_reported") {
        return;
    }
    let (_host, _ext, eng) = setup();
    let c = Netns::new(&common::unique("clc"));
    let cases = [
        (LinkKind::Dummy, "CONFIG_DUMMY", "dummy", None),
        (
            LinkKind::Vlan { vlanid: 5 },
            "CONFIG_VLAN_8021Q",
            "8021q",
            Some("p0"),
        ),
        (
            LinkKind::Ipvlan {
                mode: IpvlanMode::L2,
            },
            "CONFIG_IPVLAN",
            "ipvlan",
            Some("p0"),
        ),
        (
            LinkKind::Ipvtap {
                mode: IpvlanMode::L3,
            },
            "CONFIG_IPVTAP",
            "ipvtap",
            Some("p0"),
        ),
    ];
    for (i, (kind, option, module, parent)) in cases.into_iter().enumerate() {
        let dev = format!("k{i}");
        let mut s = spec(kind, &dev, parent.unwrap_or("p0"), Some("10.65.0.1/24"));
        if parent.is_none() {
            s.outer_dev = None;
        }
        let res = eng.create_link(&target(&c), &format!("c:{dev}"), &s).await;
        match (res, kernel_config_has(option)) {
            (Ok(_), Some(false)) => panic!("{module}: created although {option} is off"),
            (Ok(_), _) => assert!(c.has_link(&dev), "{module} link made"),
            (Err(e), has) => {
                assert_ne!(has, Some(true), "{module}: kernel has {option} but: {e}");
                let NetError::InLink { source, .. } = &e else {
                    panic!("{e}")
                };
                assert!(matches!(**source, NetError::KernelLacks { .. }), "{e}");
                assert_eq!(
                    e.to_string(),
                    format!(
                        "c:{dev}: kernel lacks {module} (needed for {} link {dev})",
                        kind.name()
                    )
                );
                eprintln!("as expected on this kernel: {e}");
            }
        }
    }
}

/// netem and geneve: applied for real when the kernel has them, otherwise
/// reported as missing (and the link with netem is rolled back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netem_and_geneve_report_missing_modules() {
    if !common::require_root("netem_and_geneve_report_missing_modules") {
        return;
    }
    use conlink::net::netem::{Delay, Netem};
    use conlink::net::spec::TunnelKind;
    let (host, _ext, eng) = setup();
    let c = Netns::new(&common::unique("clc"));
    let br = common::unique("br");
    bridge(&eng, &br).await;
    let mut s = spec(LinkKind::Veth, "eth0", "c-eth0", Some("10.68.0.1/24"));
    s.bridge = Some(br.clone());
    s.netem = Some(Netem {
        delay: Some(Delay {
            latency: std::time::Duration::from_millis(40),
            jitter: std::time::Duration::ZERO,
            correlation: None,
        }),
        ..Default::default()
    });
    let res = eng.create_link(&target(&c), "c:eth0", &s).await;
    match (res, kernel_config_has("CONFIG_NET_SCH_NETEM")) {
        (Ok(_), Some(false)) => panic!("netem applied although CONFIG_NET_SCH_NETEM is off"),
        (Ok(_), _) => {
            let q = c.exec(&["tc", "qdisc", "show", "dev", "eth0"]);
            assert!(String::from_utf8_lossy(&q.stdout).contains("netem"));
        }
        (Err(e), has) => {
            assert_ne!(has, Some(true), "{e}");
            assert_eq!(
                e.to_string(),
                "c:eth0: kernel lacks sch_netem (needed for netem on eth0)"
            );
            assert!(
                !host.has_link("c-eth0") && !c.has_link("eth0"),
                "rolled back"
            );
            eprintln!("as expected on this kernel: {e}");
        }
    }
    let t = tunnel(TunnelKind::Geneve, 99, "192.0.2.7", &br);
    match (
        eng.create_tunnel(&t).await,
        kernel_config_has("CONFIG_GENEVE"),
    ) {
        (Ok(_), Some(false)) => panic!("geneve made although CONFIG_GENEVE is off"),
        (Ok(_), _) => assert!(host.has_link("geneve-99")),
        (Err(e), has) => {
            assert_ne!(has, Some(true), "{e}");
            assert_eq!(
                e.to_string(),
                "kernel lacks geneve (needed for tunnel geneve-99)"
            );
        }
    }
}

/// netem with delay and slot distribution tables: a ~16 KiB request. On
/// this kernel (no sch_netem) the kernel's error reply echoes it back, so
/// this checks that it goes out and the reply is still read as "kernel
/// lacks sch_netem" with the link rolled back; with sch_netem it checks
/// the qdisc is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netem_distribution_tables_reach_the_kernel() {
    if !common::require_root("netem_distribution_tables_reach_the_kernel") {
        return;
    }
    use conlink::config::parse::netem::parse_netem;
    let (host, _ext, eng) = setup();
    let c = Netns::new(&common::unique("clc"));
    let br = common::unique("br");
    bridge(&eng, &br).await;
    let mut s = spec(LinkKind::Veth, "eth0", "d-eth0", Some("10.68.1.1/24"));
    s.bridge = Some(br.clone());
    s.netem = Some(
        parse_netem("delay 40ms 10ms distribution paretonormal slot distribution normal 5ms 1ms")
            .unwrap(),
    );
    let res = eng.create_link(&target(&c), "c:eth0", &s).await;
    match (res, kernel_config_has("CONFIG_NET_SCH_NETEM")) {
        (Ok(_), Some(false)) => panic!("netem applied although CONFIG_NET_SCH_NETEM is off"),
        (Ok(_), _) => {
            let q = c.exec(&["tc", "qdisc", "show", "dev", "eth0"]);
            let q = String::from_utf8_lossy(&q.stdout);
            assert!(q.contains("netem") && q.contains("delay 40ms"), "{q}");
        }
        (Err(e), has) => {
            assert_ne!(has, Some(true), "{e}");
            assert_eq!(
                e.to_string(),
                "c:eth0: kernel lacks sch_netem (needed for netem on eth0)"
            );
            assert!(
                !host.has_link("d-eth0") && !c.has_link("eth0"),
                "rolled back"
            );
            eprintln!("as expected on this kernel: {e}");
        }
    }
}
