//! The config pipeline on the fixture files under tests/fixtures/config/.

use std::collections::HashMap;
use std::path::PathBuf;

use conlink::config::{FileKind, Network, Settings, Target, load_with};
use conlink::net::spec::{LinkKind, ResolvedBridgeMode};

fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(p)
}

fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
    vars.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn load(files: &[(&str, FileKind)], vars: &[(&str, &str)]) -> Network {
    let files: Vec<_> = files.iter().map(|(p, k)| (fixture(p), *k)).collect();
    load_with(&files, &Settings::default(), &env(vars)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn embedded_config_with_several_services() {
    let n = load(&[("embedded/compose.yaml", FileKind::Compose)], &[]);
    let node2: Vec<_> = n.links_for_container(Some("node2"), "p-node2-1").collect();
    assert_eq!(node2.len(), 1);
    assert_eq!(node2[0].routes.len(), 2);
    assert!(
        node2[0]
            .netem
            .as_ref()
            .is_some_and(|x| x.delay.is_some() && x.loss.is_some())
    );
    let r0: Vec<_> = n
        .links_for_container(Some("r0"), "x")
        .map(|l| l.dev.to_string())
        .collect();
    assert_eq!(r0, ["e1", "e2", "e3"]);
    assert_eq!(n.bridges["s3"].mode, ResolvedBridgeMode::Patch);
    assert_eq!(n.bridges["s1"].mode, ResolvedBridgeMode::Linux);
    // node3 only appears in the top-level block.
    assert_eq!(
        n.links_for_container(Some("node3"), "x")
            .next()
            .unwrap()
            .text
            .ethtool,
        ["--offload tx off", "--offload rx off"]
    );
    assert_eq!(n.commands.len(), 2);
    assert_eq!(n.commands[0].target, Target::Container("standalone".into()));
    assert_eq!(
        n.commands[1].target,
        Target::Service("r0".into()),
        "service block commands default to it"
    );
}

#[test]
fn network_file_and_scaling_offsets() {
    let n = load(
        &[
            ("scaling/compose.yaml", FileKind::Compose),
            ("scaling/network.yaml", FileKind::Network),
        ],
        &[],
    );
    let l = &n.links[0];
    let replicas: Vec<_> = (1..=3)
        .map(|i| l.instance(i, "0123456789abcdef").unwrap())
        .collect();
    let ips: Vec<_> = replicas.iter().map(|s| s.ip[0].to_string()).collect();
    assert_eq!(ips, ["10.0.1.1/16", "10.0.1.2/16", "10.0.1.3/16"]);
    let macs: Vec<_> = replicas
        .iter()
        .map(|s| s.mac.unwrap().to_string())
        .collect();
    assert_eq!(
        macs,
        [
            "c2:00:00:00:01:01",
            "c2:00:00:00:01:02",
            "c2:00:00:00:01:03"
        ]
    );
    let ports: Vec<_> = replicas
        .iter()
        .map(|s| (s.forwards[0].conlink_port, s.forwards[1].conlink_port))
        .collect();
    assert_eq!(ports, [(8080, 5353), (8081, 5354), (8082, 5355)]);
    let outer: Vec<_> = replicas
        .iter()
        .map(|s| s.outer_dev.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(outer, ["node_1-eth0", "node_2-eth0", "node_3-eth0"]);
    assert_eq!(n.expected_link_count(|_| 2), 2);
}

#[test]
fn multiple_compose_files_merge_later_scalar_wins() {
    let n = load(
        &[
            ("multi/base-compose.yaml", FileKind::Compose),
            ("multi/override-compose.yaml", FileKind::Compose),
        ],
        &[],
    );
    assert_eq!(n.links.len(), 2);
    let l = &n.links[0];
    assert_eq!((l.dev.as_str(), l.mtu), ("eth0", Some(9000)));
    assert_eq!(
        l.ip[0].to_string(),
        "10.1.0.1/24",
        "kept from the base file"
    );
    assert_eq!(
        l.text.route,
        ["10.9.0.0/16 via 10.1.0.9"],
        "two strings: the later wins, as in 2.x"
    );
    assert_eq!(n.links[1].bridge.as_deref(), Some("s2"));
}

#[test]
fn test7_later_netem_string_wins_like_2x() {
    let n = load(&[("test7/compose.yaml", FileKind::Compose)], &[]);
    let eth0 = n
        .links
        .iter()
        .find(|l| l.dev.as_str() == "eth0")
        .expect("node:eth0");
    assert_eq!(eth0.text.netem, ["rate 10mbit delay 40ms"]);
    let netem = eth0.netem.as_ref().expect("netem");
    assert_eq!(
        netem.delay.as_ref().map(|d| d.latency),
        Some(std::time::Duration::from_millis(40))
    );
    assert!(netem.rate.is_some());
    assert_eq!(eth0.mtu, Some(4111));
    assert_eq!(eth0.text.ethtool, ["--offload tx off", "--offload rx off"]);
    assert_eq!(n.links.len(), 2);
}

#[test]
fn interpolation_defaults_and_required() {
    let files: Vec<_> = vec![(fixture("interpolation/compose.yaml"), FileKind::Compose)];
    let n = load_with(
        &files,
        &Settings::default(),
        &env(&[("DELAY", "10ms"), ("HOST_OCTET", "9"), ("MTU", "")]),
    )
    .unwrap();
    let l = &n.links[0];
    assert_eq!(l.bridge.as_deref(), Some("s1"));
    assert_eq!(l.ip[0].to_string(), "10.5.0.9/24");
    assert_eq!(l.mtu, Some(1400), ":- also replaces an empty value");
    assert_eq!(n.commands[0].command.argv()[2], "echo $HOME hi");
    let errs = load_with(&files, &Settings::default(), &env(&[])).unwrap_err();
    assert_eq!(errs.0.len(), 1, "{errs}");
    assert_eq!(errs.0[0].at.path, "services.node.x-network.links[0].netem");
    assert!(errs.0[0].message.contains("DELAY must be set"));
}

#[test]
fn merge_keys_and_compose_tags() {
    let n = load(&[("merge-keys/compose.yaml", FileKind::Compose)], &[]);
    let a = &n.links[0];
    assert_eq!((a.bridge.as_deref(), a.mtu), (Some("s1"), Some(1500)));
    assert_eq!(a.ip[0].to_string(), "10.7.0.10/24");
    let b = &n.links[1];
    assert_eq!(b.mtu, Some(9000));
    assert_eq!(b.ip[0].to_string(), "10.7.0.1/24");
    assert_eq!(b.text.route, ["default via 10.7.0.254"]);
}

#[test]
fn netns_targets_and_json_files() {
    let n = load(
        &[
            ("netns/network.yaml", FileKind::Network),
            ("json/network.json", FileKind::Network),
        ],
        &[],
    );
    assert_eq!(n.netns_names(), ["ns-a", "ns-b"]);
    let b = Target::Netns("ns-b".into());
    let kinds: Vec<_> = n.links_for(&b).map(|l| l.kind).collect();
    assert_eq!(kinds, [LinkKind::Veth, LinkKind::Dummy]);
    assert_eq!(
        n.links_for(&b).next().unwrap().nat.unwrap().to_string(),
        "192.168.88.2"
    );
    assert_eq!(n.commands_for(&Target::Netns("ns-a".into())).count(), 1);
    assert_eq!(n.tunnels[0].dev_name(), "geneve-1001");
    assert!(
        !n.only_netns_targets(),
        "the JSON file adds a container link"
    );
    let only = load(&[("netns/network.yaml", FileKind::Network)], &[]);
    assert!(only.only_netns_targets());
    let spec = only.links[0].instance(1, "").unwrap();
    assert_eq!(spec.outer_dev.unwrap().as_str(), "ns-a-eth0");
}
