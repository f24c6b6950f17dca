//! Rules of the whole pipeline, each checked with the path its error names.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::errors::Diag;
use super::load::LoadedFile;
use super::*;
use crate::net::spec::BridgeMode;
use crate::net::spec::{LinkKind, MacvlanMode, ResolvedBridgeMode};

fn run_with(files: Vec<(&str, FileKind, Value)>, s: &Settings) -> Result<Network, ConfigErrors> {
    let files: Vec<_> = files
        .into_iter()
        .map(|(n, k, v)| {
            (
                LoadedFile {
                    name: n.into(),
                    value: v,
                },
                k,
            )
        })
        .collect();
    let env: HashMap<String, String> = [("NET", "10.0.9"), ("EMPTY", "")]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
    process(&files, s, &env, Diag::default())
}

fn net(v: Value) -> Result<Network, ConfigErrors> {
    run_with(vec![("n.yaml", FileKind::Network, v)], &Settings::default())
}

fn ok(v: Value) -> Network {
    net(v).unwrap_or_else(|e| panic!("unexpected errors:\n{e}"))
}

/// The (path, message) of each error.
fn errs(v: Value) -> Vec<(String, String)> {
    match net(v) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.0.into_iter().map(|e| (e.at.path, e.message)).collect(),
    }
}

/// Exactly one error, at `path`, whose message contains `msg`.
fn one_err(v: Value, path: &str, msg: &str) {
    let e = errs(v);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, path, "{e:?}");
    assert!(e[0].1.contains(msg), "{:?} lacks {msg:?}", e[0].1);
}

fn links(l: Value) -> Value {
    json!({ "links": l })
}

#[test]
fn defaults_are_filled_in() {
    let n = ok(links(
        json!([{"service": "a", "bridge": "s1"}, {"container": "d", "type": "dummy"},
                             {"netns": "ns1", "type": "macvlan", "outer-dev": "eth0", "dev": "m0"},
                             {"service": "a", "type": "ipvlan", "dev": "i0", "outer-dev": "eth0"}]),
    ));
    let l = &n.links[0];
    assert_eq!(
        (l.kind, l.dev.as_str(), l.mtu),
        (LinkKind::Veth, "eth0", Some(65535))
    );
    assert_eq!(l.base(), Base::Conlink);
    assert_eq!(l.text.ethtool, ["--offload tx off"]);
    assert_eq!(l.mac.unwrap().octets()[0], 0xc2);
    assert!(l.mac_generated);
    assert_eq!(n.links[1].mtu, Some(65535));
    assert_eq!(n.links[1].base(), Base::Local);
    assert_eq!(n.links[2].mtu, None, "*vlan inherits the parent's MTU");
    assert_eq!(
        n.links[2].kind,
        LinkKind::Macvlan {
            mode: MacvlanMode::Vepa
        }
    );
    assert_eq!(n.links[2].base(), Base::Host);
    assert_eq!(n.links[3].mac, None, "no generated MAC for ipvlan");
    assert_eq!(n.bridges["s1"].mode, ResolvedBridgeMode::Linux);
    assert!(n.warnings.is_empty());
    assert_eq!(
        n.notes,
        [
            "bridge s1 has mode auto and the openvswitch kernel module is not loaded, \
          so linux bridges are used; to choose a mode, pass --default-bridge-mode \
          linux|ovs|patch (or set CONLINK_BRIDGE_MODE), or set `mode` in `bridges:`"
        ],
        "auto fell back to linux: one note"
    );
}

#[test]
fn auto_bridges_falling_back_to_linux_make_one_note() {
    let n = ok(
        json!({"links": [{"netns": "a", "bridge": "s1"}, {"netns": "b", "bridge": "s2"}],
                      "bridges": [{"bridge": "s3", "mode": "linux"}]}),
    );
    assert_eq!(n.notes.len(), 1, "{:?}", n.notes);
    assert!(
        n.notes[0].starts_with("bridges s1, s2 have mode auto"),
        "{:?}",
        n.notes
    );
    let linux = ok(json!({"links": [{"netns": "a", "bridge": "s1"}],
                          "bridges": [{"bridge": "s1", "mode": "linux"}]}));
    assert!(linux.notes.is_empty(), "an explicit mode needs no note");
}

#[test]
fn settings_change_defaults() {
    let s = Settings {
        default_bridge_mode: BridgeMode::Patch,
        default_mtu: 1500,
        keep_veth_offload: true,
        ovs_loaded: false,
    };
    let n = run_with(
        vec![(
            "n.yaml",
            FileKind::Network,
            links(json!([{"service": "a", "bridge": "p"}])),
        )],
        &s,
    )
    .unwrap();
    assert_eq!(n.links[0].mtu, Some(1500));
    assert!(n.links[0].offloads.is_empty());
    assert_eq!(n.bridges["p"].mode, ResolvedBridgeMode::Patch);
    let s = Settings {
        ovs_loaded: true,
        ..Settings::default()
    };
    let n = run_with(
        vec![(
            "n.yaml",
            FileKind::Network,
            links(json!([{"service": "a", "bridge": "b"}])),
        )],
        &s,
    )
    .unwrap();
    assert_eq!(n.bridges["b"].mode, ResolvedBridgeMode::Ovs);
    let s = Settings {
        default_mtu: 20,
        ..Settings::default()
    };
    let e = run_with(vec![("n.yaml", FileKind::Network, json!({}))], &s).unwrap_err();
    assert_eq!(e.0[0].at.path, "--default-mtu");
}

#[test]
fn generated_macs_are_distinct_and_stable_per_link() {
    let l: Vec<Value> = (0..200)
        .map(|i| json!({"service": format!("s{i}"), "bridge": "b"}))
        .collect();
    let n = ok(links(Value::Array(l)));
    let macs: std::collections::HashSet<_> = n.links.iter().map(|l| l.mac.unwrap()).collect();
    assert_eq!(macs.len(), 200);
    let given = ok(links(
        json!([{"service": "a", "bridge": "b", "mac": "02:00:00:00:00:01"}]),
    ));
    assert!(!given.links[0].mac_generated);
    // Stable within the run: every instance derives from the same base.
    let a = n.links[0].instance(1, "abc").unwrap().mac;
    assert_eq!(a, n.links[0].instance(1, "def").unwrap().mac);
}

#[test]
fn ovs_without_module_is_an_error_at_the_mode() {
    one_err(
        json!({"bridges": [{"bridge": "o", "mode": "ovs"}]}),
        "bridges[0].mode",
        "openvswitch kernel module is not loaded",
    );
    let s = Settings {
        default_bridge_mode: BridgeMode::Ovs,
        ..Settings::default()
    };
    let e = run_with(
        vec![(
            "n.yaml",
            FileKind::Network,
            links(json!([{"service": "a", "bridge": "b"}])),
        )],
        &s,
    )
    .unwrap_err();
    assert_eq!(e.0[0].at.path, "--default-bridge-mode");
}

#[test]
fn target_rules() {
    one_err(
        links(json!([{"bridge": "s"}])),
        "links[0]",
        "needs one of service, container or netns",
    );
    one_err(
        links(json!([{"service": "a", "container": "b", "bridge": "s"}])),
        "links[0]",
        "exactly one of",
    );
    one_err(
        links(json!([{"netns": "a/b", "bridge": "s"}])),
        "links[0].netns",
        "not a namespace name",
    );
    one_err(
        links(json!([{"service": "", "bridge": "s"}])),
        "links[0].service",
        "must not be empty",
    );
    one_err(
        links(json!([{"service": 5, "bridge": "s"}])),
        "links[0].service",
        "must be a string",
    );
}

#[test]
fn type_bridge_mode_vlanid_rules() {
    one_err(
        links(json!([{"service": "a", "type": "tap"}])),
        "links[0].type",
        "unknown link type",
    );
    one_err(
        links(json!([{"service": "a"}])),
        "links[0]",
        "veth link needs `bridge`",
    );
    one_err(
        links(json!([{"service": "a", "type": "dummy", "bridge": "s"}])),
        "links[0].bridge",
        "only veth links join a bridge",
    );
    one_err(
        links(json!([{"service": "a", "bridge": "s", "mode": "bridge"}])),
        "links[0].mode",
        "`mode` is for macvlan",
    );
    one_err(
        links(json!([{"service": "a", "type": "macvlan", "outer-dev": "eth0", "mode": "l2"}])),
        "links[0].mode",
        "not a macvlan mode",
    );
    one_err(
        links(json!([{"service": "a", "type": "ipvtap", "outer-dev": "eth0", "mode": "vepa"}])),
        "links[0].mode",
        "not an ipvlan mode",
    );
    one_err(
        links(json!([{"service": "a", "type": "vlan", "outer-dev": "eth0"}])),
        "links[0]",
        "needs `vlanid`",
    );
    one_err(
        links(json!([{"service": "a", "type": "vlan", "outer-dev": "eth0", "vlanid": 4095}])),
        "links[0].vlanid",
        "0 to 4094",
    );
    one_err(
        links(json!([{"service": "a", "bridge": "s", "vlanid": 5}])),
        "links[0].vlanid",
        "only for vlan",
    );
    one_err(
        links(json!([{"service": "a", "type": "macvtap"}])),
        "links[0]",
        "needs `outer-dev`",
    );
    one_err(
        links(json!([{"service": "a", "type": "dummy", "outer-dev": "x"}])),
        "links[0].outer-dev",
        "no outer side",
    );
    one_err(
        links(
            json!([{"service": "a", "type": "ipvlan", "outer-dev": "eth0", "mac": "02:00:00:00:00:01"}]),
        ),
        "links[0].mac",
        "share their parent's MAC",
    );
    let n = ok(links(
        json!([{"service": "a", "type": "vlan", "outer-dev": "eth0", "vlanid": "${NET}"}])
            .to_string()
            .replace("${NET}", "7")
            .parse::<Value>()
            .unwrap(),
    ));
    assert_eq!(n.links[0].kind, LinkKind::Vlan { vlanid: 7 });
}

#[test]
fn value_rules() {
    let base = |k: &str, v: Value| {
        let mut l = json!({"service": "a", "bridge": "s"});
        l[k] = v;
        links(json!([l]))
    };
    one_err(
        base("dev", json!("averyveryverylongname")),
        "links[0].dev",
        "longer than 15",
    );
    one_err(
        base("outer-dev", json!("a b")),
        "links[0].outer-dev",
        "must not contain",
    );
    one_err(
        base("ip", json!("10.0.0.256/24")),
        "links[0].ip",
        "not an IPv4 address with prefix",
    );
    one_err(
        base("ip", json!("10.0.0.1/33")),
        "links[0].ip",
        "not an IPv4 address with prefix",
    );
    one_err(
        base("mac", json!("01:00:00:00:00:01")),
        "links[0].mac",
        "multicast",
    );
    one_err(
        base("mac", json!("zz:00:00:00:00:01")),
        "links[0].mac",
        "not a MAC",
    );
    one_err(base("mtu", json!(67)), "links[0].mtu", "68 to 65535");
    one_err(base("mtu", json!("lots")), "links[0].mtu", "68 to 65535");
    one_err(
        base(
            "route",
            json!(["default via 10.0.0.1", "default via 10.0.0.1 realm 5"]),
        ),
        "links[0].route[1]",
        "unsupported route word",
    );
    one_err(
        base("netem", json!("delay 10ms sideways")),
        "links[0].netem",
        "unknown netem option `sideways`",
    );
    one_err(
        base("netem", json!(["delay 1ms", "delay 2ms"])),
        "links[0].netem[1]",
        "given more than once",
    );
    one_err(
        base("ethtool", json!("-s speed 10")),
        "links[0].ethtool",
        "unsupported ethtool option",
    );
    one_err(base("wat", json!(1)), "links[0].wat", "unknown key `wat`");
    let n = ok(base("mtu", json!("9000")));
    assert_eq!(
        n.links[0].mtu,
        Some(9000),
        "numeric strings (from interpolation) count"
    );
}

#[test]
fn reserved_interface_names() {
    let base = |k: &str, v: &str| {
        let mut l = json!({"service": "a", "bridge": "s", "dev": "eth1"});
        l[k] = json!(v);
        links(json!([l]))
    };
    for key in ["dev", "outer-dev", "bridge"] {
        one_err(
            base(key, "lo"),
            &format!("links[0].{key}"),
            "`lo` is reserved",
        );
        for name in ["all", "default"] {
            one_err(
                base(key, name),
                &format!("links[0].{key}"),
                &format!("`{name}` is reserved: the kernel refuses it"),
            );
        }
        for (name, msg) in [
            (".", "nor be '.' or '..'"),
            ("..", "nor be '.' or '..'"),
            ("a/b", "must not contain"),
            ("a:b", "must not contain"),
            ("a\tb", "must not contain"),
            ("", "must not be empty"),
            ("abcdefghijklmnop", "longer than 15"),
        ] {
            one_err(base(key, name), &format!("links[0].{key}"), msg);
        }
    }
    one_err(
        json!({"bridges": [{"bridge": "default"}]}),
        "bridges[0].bridge",
        "`default` is reserved",
    );
    // Names that merely contain them are fine.
    ok(base("dev", "lo0"));
    ok(base("dev", "all1"));
}

#[test]
fn link_addresses_must_be_usable_host_addresses() {
    let base = |ip: &str| links(json!([{"service": "a", "bridge": "s", "ip": ip}]));
    for (ip, msg) in [
        (
            "10.0.1.0/24",
            "10.0.1.0 is the network address of 10.0.1.0/24",
        ),
        (
            "10.0.1.255/24",
            "10.0.1.255 is the broadcast address of 10.0.1.0/24",
        ),
        ("10.0.0.0/8", "network address of 10.0.0.0/8"),
        ("192.168.3.255/22", "broadcast address of 192.168.0.0/22"),
        ("224.0.0.5/24", "224.0.0.5 is a multicast address"),
        ("239.255.255.250/32", "multicast"),
        ("127.0.0.2/8", "127.0.0.2 is a loopback address"),
        ("0.0.0.0/0", "0.0.0.0 is the unspecified address"),
        ("0.0.0.0/24", "unspecified"),
        ("255.255.255.255/32", "limited broadcast"),
    ] {
        one_err(base(ip), "links[0].ip", msg);
        let e = errs(base(ip));
        assert!(e[0].1.ends_with("not a usable interface address"), "{e:?}");
    }
    // /31 and /32 have no network or broadcast address (RFC 3021).
    for ip in [
        "10.0.1.0/31",
        "10.0.1.1/31",
        "10.0.1.0/32",
        "10.0.1.255/32",
        "10.0.1.1/24",
        "10.0.1.254/24",
    ] {
        ok(base(ip));
    }
    // The message names the file, the path and the value.
    let e = net(base("10.0.1.255/24")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "n.yaml: links[0].ip: 10.0.1.255 is the broadcast address of 10.0.1.0/24, not a usable interface address (got \"10.0.1.255/24\")"
    );
}

#[test]
fn macs_must_be_unicast_and_not_zero() {
    let base = |mac: &str| links(json!([{"service": "a", "bridge": "s", "mac": mac}]));
    for (mac, msg) in [
        ("00:00:00:00:00:00", "all-zero MAC address"),
        ("ff:ff:ff:ff:ff:ff", "broadcast address"),
        ("33:33:00:00:00:01", "multicast MAC address"),
        ("c3:00:00:00:00:01", "multicast MAC address"),
        ("+2:00:00:00:00:01", "not a MAC address"),
        ("c2:00:00:00:00:+1", "not a MAC address"),
    ] {
        one_err(base(mac), "links[0].mac", msg);
    }
    assert_eq!(
        ok(base("C2:00:00:00:00:0A")).links[0]
            .mac
            .unwrap()
            .to_string(),
        "c2:00:00:00:00:0a"
    );
}

#[test]
fn nat_and_forward_rules() {
    one_err(
        links(json!([{"service": "a", "bridge": "s", "nat": "10.0.0.5"}])),
        "links[0].nat",
        "needs the link's `ip`",
    );
    one_err(
        links(json!([{"service": "a", "bridge": "s", "ip": "10.0.0.1/24", "nat": "10.0.0"}])),
        "links[0].nat",
        "not an IPv4 address",
    );
    one_err(
        links(json!([{"service": "a", "bridge": "s", "forward": "80:80/tcp"}])),
        "links[0].forward",
        "needs the link's `ip`",
    );
    one_err(
        links(
            json!([{"service": "a", "bridge": "s", "ip": "10.0.0.1/24", "forward": ["80:80/tcp", "0:1/udp"]}]),
        ),
        "links[0].forward[1]",
        "not a port",
    );
    one_err(
        links(
            json!([{"service": "a", "type": "dummy", "ip": "10.0.0.1/24", "forward": "80:80/tcp"}]),
        ),
        "links[0].forward",
        "needs a veth link",
    );
    one_err(
        json!({"links": [{"service": "a", "bridge": "p", "ip": "10.0.0.1/24", "forward": "80:80/tcp"}],
                   "bridges": [{"bridge": "p", "mode": "patch"}]}),
        "links[0].forward",
        "needs a linux or ovs bridge",
    );
}

#[test]
fn bridge_and_patch_rules() {
    one_err(
        json!({"bridges": [{"bridge": "b", "mode": "hub"}]}),
        "bridges[0].mode",
        "not a bridge mode",
    );
    one_err(
        json!({"bridges": [{"mode": "linux"}]}),
        "bridges[0]",
        "needs `bridge`",
    );
    one_err(
        json!({"bridges": [{"bridge": "b", "stp": true}]}),
        "bridges[0].stp",
        "unknown key",
    );
    one_err(
        json!({"links": [{"service": "a", "bridge": "p"}, {"service": "b", "bridge": "p"}, {"service": "c", "bridge": "p"}],
                   "bridges": [{"bridge": "p", "mode": "patch"}]}),
        "links[2].bridge",
        "patch bridge p joins exactly two links",
    );
    let n = ok(
        json!({"links": [{"service": "a", "bridge": "p"}, {"service": "b", "bridge": "p"}],
                      "bridges": [{"bridge": "p", "mode": "patch"}, {"bridge": "unused", "mode": "linux"}]}),
    );
    assert_eq!(n.bridges.len(), 2);
}

#[test]
fn outer_dev_collisions() {
    one_err(
        links(
            json!([{"service": "a", "bridge": "s", "outer-dev": "x"}, {"service": "b", "bridge": "s", "outer-dev": "x"}]),
        ),
        "links[1].outer-dev",
        "interface name x is already taken by outer-dev of service a:eth0",
    );
    one_err(
        links(json!([{"service": "a", "bridge": "s"}, {"container": "a_1", "bridge": "s"}])),
        "links[1]",
        "interface name a_1-eth0 is already taken",
    );
    // *vlan parents are shared on purpose.
    ok(links(
        json!([{"service": "a", "type": "macvlan", "outer-dev": "eth0"}, {"service": "b", "type": "macvlan", "outer-dev": "eth0"}]),
    ));
}

#[test]
fn tunnel_rules() {
    let e = errs(json!({"tunnels": [{"type": "gre", "remote": "1.2.3", "vni": 16777216}]}));
    let paths: Vec<_> = e.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "tunnels[0]",
            "tunnels[0].type",
            "tunnels[0].remote",
            "tunnels[0].vni"
        ],
        "{e:?}"
    );
    one_err(
        json!({"tunnels": [{"type": "vxlan", "bridge": "b", "remote": "1.2.3.4", "vni": 5},
                               {"type": "vxlan", "bridge": "c", "remote": "1.2.3.5", "vni": 5}]}),
        "tunnels[1]",
        "vxlan-5 is already defined",
    );
    let n = ok(
        json!({"tunnels": [{"type": "geneve", "bridge": "b", "remote": "1.2.3.4", "vni": "16777215", "netem": "loss 1%"}]}),
    );
    assert_eq!(n.tunnels[0].dev_name(), "geneve-16777215");
    assert!(n.tunnels[0].netem.is_some());
    assert!(
        n.bridges.contains_key("b"),
        "tunnel bridges are created too"
    );
    assert_eq!(n.tunnels[0].port, None, "no port: the kernel's default");
}

#[test]
fn tunnel_port_is_validated() {
    let t = |port: Value| json!({"tunnels": [{"type": "vxlan", "bridge": "b", "remote": "1.2.3.4", "vni": 5, "port": port}]});
    assert_eq!(ok(t(json!(4789))).tunnels[0].port, Some(4789));
    assert_eq!(ok(t(json!("65535"))).tunnels[0].port, Some(65535));
    for bad in [json!(0), json!(65536), json!("udp"), json!(-1)] {
        one_err(t(bad), "tunnels[0].port", "whole number from 1 to 65535");
    }
}

#[test]
fn command_rules() {
    one_err(
        json!({"commands": [{"service": "a"}]}),
        "commands[0]",
        "needs `command`",
    );
    one_err(
        json!({"commands": [{"service": "a", "command": ""}]}),
        "commands[0].command",
        "non-empty",
    );
    one_err(
        json!({"commands": [{"service": "a", "command": ["ls", 5]}]}),
        "commands[0].command",
        "non-empty",
    );
    one_err(
        json!({"commands": [{"command": "ls"}]}),
        "commands[0]",
        "needs one of service",
    );
    let n = ok(
        json!({"commands": [{"netns": "n1", "command": "ip a"}, {"container": "c", "command": ["ip", "a"]}]}),
    );
    assert_eq!(n.commands[0].command.argv(), ["sh", "-c", "ip a"]);
    assert_eq!(
        n.commands[1].command,
        CommandLine::Exec(vec!["ip".into(), "a".into()])
    );
}

#[test]
fn all_errors_are_reported_together() {
    let e = errs(
        json!({"links": [{"service": "a", "bridge": "s", "ip": "bad", "mac": "bad", "mtu": 1},
                                  {"container": "c", "type": "nope"}],
                        "tunnels": [{"type": "vxlan"}], "extra": {}}),
    );
    let paths: Vec<_> = e.iter().map(|(p, _)| p.as_str()).collect();
    for p in [
        "links[0].ip",
        "links[0].mac",
        "links[0].mtu",
        "links[1].type",
        "tunnels[0]",
        "extra",
    ] {
        assert!(paths.contains(&p), "{p} missing from {paths:?}");
    }
}

#[test]
fn compose_paths_merge_and_interpolation() {
    let compose = json!({
        "x-network": {"links": [{"service": "node", "bridge": "s1", "ip": "${NET}.1/24", "mtu": 1500}]},
        "services": {"node": {"x-network": {"links": [{"bridge": "s2", "ip": "${MISSING:?set MISSING}"}]}}}
    });
    let e = run_with(
        vec![("c.yaml", FileKind::Compose, compose.clone())],
        &Settings::default(),
    )
    .unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert_eq!(e.0[0].at.path, "services.node.x-network.links[0].ip");
    assert!(e.0[0].message.contains("MISSING"));
    let mut fixed = compose;
    fixed["services"]["node"]["x-network"]["links"][0]["ip"] = json!("${NET}.2/24");
    let later =
        json!({"links": [{"service": "node", "mtu": 9000, "route": "default via 10.0.9.254"}]});
    let n = run_with(
        vec![
            ("c.yaml", FileKind::Compose, fixed),
            ("n.yaml", FileKind::Network, later),
        ],
        &Settings::default(),
    )
    .unwrap();
    assert_eq!(n.links.len(), 1);
    let l = &n.links[0];
    assert_eq!(
        l.ip[0].to_string(),
        "10.0.9.2/24",
        "service block is later than top-level"
    );
    assert_eq!(l.bridge.as_deref(), Some("s2"));
    assert_eq!(l.mtu, Some(9000), "network file is last");
    assert_eq!(l.routes.len(), 1);
}

#[test]
fn instances_offset_and_name() {
    let n = ok(links(
        json!([{"service": "node", "bridge": "s", "ip": "10.0.1.1/24", "mac": "c2:00:00:00:00:01",
                              "forward": "8080:80/tcp"},
                             {"service": "node", "dev": "eth1", "bridge": "s", "ip": "10.0.2.250/24", "forward": "60000:80/udp"}]),
    ));
    let s = n.links[0].instance(3, "0123456789abcdef").unwrap();
    assert_eq!(s.ip[0].to_string(), "10.0.1.3/24");
    assert_eq!(s.mac.unwrap().to_string(), "c2:00:00:00:00:03");
    assert_eq!(s.forwards[0].conlink_port, 8082);
    assert_eq!(s.outer_dev.unwrap().as_str(), "node_3-eth0");
    assert_eq!(s.offloads.len(), 1);
    assert_eq!(
        n.links[1].instance(5, "x").unwrap().ip[0].to_string(),
        "10.0.2.254/24"
    );
    assert!(
        matches!(n.links[1].instance(6, "x"), Err(OffsetError::Ip { .. })),
        "10.0.2.255 is the broadcast"
    );
    assert!(n.links[1].instance(1, "x").is_ok());
    let m = ok(links(
        json!([{"service": "a", "bridge": "s", "ip": "10.0.0.1/24", "forward": "65535:80/udp"}]),
    ));
    assert!(matches!(
        m.links[0].instance(2, "x"),
        Err(OffsetError::Port { .. })
    ));
}

#[test]
fn daemon_queries() {
    let n = ok(
        json!({"links": [{"service": "node", "bridge": "s"}, {"container": "c1", "bridge": "s"},
                                {"netns": "ns1", "bridge": "s"}, {"service": "node", "dev": "eth1", "bridge": "s"}],
                      "commands": [{"service": "node", "command": "x"}, {"netns": "ns1", "command": "y"}],
                      "tunnels": [{"type": "vxlan", "bridge": "s", "remote": "1.2.3.4", "vni": 1}]}),
    );
    assert_eq!(n.links_for_container(Some("node"), "p-node-1").count(), 2);
    assert_eq!(n.links_for_container(Some("other"), "c1").count(), 1);
    assert_eq!(n.commands_for_container(Some("node"), "x").count(), 1);
    let ns = Target::Netns("ns1".into());
    assert_eq!(n.links_for(&ns).count(), 1);
    assert_eq!(n.commands_for(&ns).count(), 1);
    assert_eq!(n.netns_names(), ["ns1"]);
    assert!(!n.only_netns_targets());
    assert_eq!(
        n.expected_link_count(|s| if s == "node" { 3 } else { 0 }),
        3 * 2 + 1 + 1 + 1
    );
    assert_eq!(
        show::summary(&n),
        "4 links on 3 services/containers, 1 bridge, 1 tunnel, 2 commands"
    );
    indexed_lookups_match_the_scans(n);
}

/// The daemon's index answers exactly as the plain scans of `Network` do,
/// also for a container named by both its service and its own name.
fn indexed_lookups_match_the_scans(n: Network) {
    let idx = IndexedNetwork::new(n.clone());
    assert_eq!(idx.targets().collect::<Vec<_>>(), n.targets());
    for t in n.targets() {
        assert_eq!(
            idx.links_for(t).collect::<Vec<_>>(),
            n.links_for(t).collect::<Vec<_>>()
        );
        assert_eq!(
            idx.commands_for(t).collect::<Vec<_>>(),
            n.commands_for(t).collect::<Vec<_>>()
        );
    }
    for (svc, name) in [
        (Some("node"), "p-node-1"),
        (Some("node"), "c1"),
        (Some("other"), "c1"),
        (None, "c1"),
        (None, "nobody"),
    ] {
        assert_eq!(
            idx.links_for_container(svc, name).collect::<Vec<_>>(),
            n.links_for_container(svc, name).collect::<Vec<_>>(),
            "{svc:?} {name}"
        );
        assert_eq!(
            idx.commands_for_container(svc, name).collect::<Vec<_>>(),
            n.commands_for_container(svc, name).collect::<Vec<_>>(),
            "{svc:?} {name}"
        );
    }
    assert_eq!(idx.netns_names().collect::<Vec<_>>(), n.netns_names());
    for r in [0, 1, 3] {
        let f = |s: &str| if s == "node" { r } else { 2 };
        assert_eq!(idx.expected_link_count(f), n.expected_link_count(f));
    }
}

#[test]
fn show_config_has_2x_shape() {
    let n = ok(
        json!({"links": [{"service": "node", "bridge": "s", "ip": "10.0.0.1/24"},
                                {"container": "c", "type": "vlan", "outer-dev": "eth0", "vlanid": 5},
                                {"netns": "n", "type": "dummy"}],
                      "commands": [{"service": "node", "command": ["a", "b"]}]}),
    );
    let v = show::to_json(&n);
    assert_eq!(v["bridges"]["s"], json!({"bridge": "s", "mode": "linux"}));
    let l = &v["services"]["node"]["links"][0];
    assert_eq!(l["bridge"]["mode"], "linux");
    assert_eq!(l["ethtool"], json!(["--offload tx off"]));
    assert_eq!(l["base"], "conlink");
    assert_eq!(v["containers"]["c"]["links"][0]["vlanid"], 5);
    assert_eq!(v["netns"]["n"]["links"][0]["type"], "dummy");
    assert_eq!(
        v["services"]["node"]["commands"][0]["command"],
        json!(["a", "b"])
    );
    assert_eq!(v["links"].as_array().unwrap().len(), 3);
}

#[test]
fn graph_has_clusters_bridges_parents_and_remotes() {
    let n = ok(
        json!({"links": [{"service": "node", "bridge": "s", "ip": "10.0.0.1/24"},
                                {"container": "c", "type": "vlan", "outer-dev": "eth0", "vlanid": 5}],
                      "tunnels": [{"type": "vxlan", "bridge": "s", "remote": "1.2.3.4", "vni": 7}]}),
    );
    let d = graph::to_dot(&n);
    for want in [
        "subgraph \"cluster_service:node\"",
        "\"service:node:eth0\" [label=\"eth0\\n10.0.0.1/24\"",
        "\"bridge:s\" [label=\"s\\n(linux)\"",
        "subgraph \"cluster_host\"",
        "\"container:c:eth0\" -- \"host:eth0\" [label=\"vlan 5\"",
        "\"tunnel:vxlan-7\" -- \"remote:1.2.3.4\"",
        "\"tunnel:vxlan-7\" [label=\"vxlan-7\\nvni 7, udp 8472\"",
    ] {
        assert!(d.contains(want), "{want}\nnot in\n{d}");
    }
}

#[test]
fn graph_shows_replicas_routes_gateways_and_routers() {
    let mut n = ok(json!({
        "links": [
            {"service": "r", "dev": "e1", "bridge": "s1", "ip": "10.0.1.100/24"},
            {"service": "r", "dev": "e2", "bridge": "s2", "ip": "10.0.2.100/24"},
            {"service": "node", "bridge": "s1", "ip": "10.0.1.11/24", "route": "default via 10.0.1.100"},
            {"service": "wide", "bridge": "s2", "ip": "10.0.2.254/16"},
            {"service": "two", "dev": "e1", "bridge": "s1", "ip": "10.0.1.50/24"},
            {"service": "two", "dev": "e2", "bridge": "s2", "ip": "10.0.2.50/24"}
        ],
        "tunnels": [{"type": "vxlan", "bridge": "s1", "remote": "1.2.3.4", "vni": 7, "port": 4789}]
    }));
    n.scales.insert("node".into(), 2);
    n.scales.insert("wide".into(), 3);
    let d = graph::to_dot(&n);
    for want in [
        // One box per scaled service, with the count and the address range.
        "label=\"service node ×2\"",
        "\"service:node:eth0\" [label=\"eth0\\n10.0.1.11–12/24\\n→ default via 10.0.1.100\"",
        "\"service:wide:eth0\" [label=\"eth0\\n10.0.2.254–10.0.3.0/16\"",
        // The gateway's interface, as a dotted arrow.
        "\"service:node:eth0\" -- \"service:r:e1\" [style=dotted, dir=forward",
        // Two bridges and someone's gateway: a router; two bridges alone: not.
        "label=\"service r (router)\"",
        "label=\"service two\"",
        "vni 7, udp 4789",
    ] {
        assert!(d.contains(want), "{want}\nnot in\n{d}");
    }
    assert!(!d.contains("label=\"vni"), "no edge label on tunnels: {d}");
    assert!(!d.contains("label=\"\"]"), "no empty edge labels: {d}");
}

#[test]
fn ip_takes_ipv6_and_dual_stack_lists() {
    let n = ok(links(json!([
        {"netns": "a", "bridge": "s", "ip": "fd00:1::1/64"},
        {"netns": "b", "bridge": "s", "ip": ["10.0.1.2/24", "fd00:1::2/64"]},
        {"netns": "c", "bridge": "s", "ip": ["10.0.1.3/24"]},
        {"netns": "d", "bridge": "s", "ip": "10.0.1.4/24"}
    ])));
    let ips = |i: usize| -> Vec<String> { n.links[i].ip.iter().map(|x| x.to_string()).collect() };
    assert_eq!(ips(0), ["fd00:1::1/64"]);
    assert_eq!(ips(1), ["10.0.1.2/24", "fd00:1::2/64"]);
    // --show-config: a string stays a string, a list stays a list.
    let v = show::to_json(&n);
    let shown = |ns: &str| v["netns"][ns]["links"][0]["ip"].clone();
    assert_eq!(shown("a"), json!("fd00:1::1/64"));
    assert_eq!(shown("b"), json!(["10.0.1.2/24", "fd00:1::2/64"]));
    assert_eq!(shown("c"), json!(["10.0.1.3/24"]));
    assert_eq!(shown("d"), json!("10.0.1.4/24"));
}

#[test]
fn ipv6_link_addresses_are_checked_with_path_and_value() {
    let base = |ip: Value| links(json!([{"service": "a", "bridge": "s", "ip": ip}]));
    for (ip, path, msg) in [
        (
            json!("::/0"),
            "links[0].ip",
            ":: is the unspecified address",
        ),
        (
            json!("::1/128"),
            "links[0].ip",
            "::1 is the loopback address",
        ),
        (
            json!("ff02::1/64"),
            "links[0].ip",
            "ff02::1 is a multicast address",
        ),
        (
            json!("fd00:1::/64"),
            "links[0].ip",
            "subnet-router anycast address of fd00:1::/64",
        ),
        (json!("::ffff:10.0.0.1/96"), "links[0].ip", "IPv4-mapped"),
        (
            json!("fd00::1/129"),
            "links[0].ip",
            "not an IPv6 address with prefix length",
        ),
        (
            json!("fd00::1"),
            "links[0].ip",
            "not an IPv6 address with prefix length",
        ),
        (
            json!(["10.0.1.1/24", "fd00::1/200"]),
            "links[0].ip[1]",
            "not an IPv6 address",
        ),
        (
            json!(["10.0.1.1/24", 5]),
            "links[0].ip[1]",
            "must be a string",
        ),
        (
            json!(["fd00::1/64", "fd00::1/64"]),
            "links[0].ip[1]",
            "fd00::1 is given twice",
        ),
        (json!([]), "links[0].ip", "an empty list"),
        (
            json!(["10.0.1.0/24"]),
            "links[0].ip[0]",
            "network address of 10.0.1.0/24",
        ),
    ] {
        one_err(base(ip.clone()), path, msg);
    }
    // /127 and /128 have no anycast address; link-local addresses may be set.
    for ip in ["fd00::/127", "fd00::/128", "fe80::10/64", "2001:db8::1/64"] {
        ok(base(json!(ip)));
    }
    let e = net(base(json!(["10.0.1.1/24", "ff02::1/64"]))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "n.yaml: links[0].ip[1]: ff02::1 is a multicast address (ff00::/8), not a usable interface address (got \"ff02::1/64\")"
    );
}

#[test]
fn ipv6_routes_must_match_an_address_family_on_the_link() {
    // Gateways in an IPv6 subnet of the link, or link-local: fine.
    ok(links(json!([
        {"netns": "a", "bridge": "s", "ip": ["10.0.0.1/24", "fd00:1::1/64"],
         "route": ["default via 10.0.0.254", "default via fd00:1::fe", "fd00:9::/64 via fe80::1"]}
    ])));
    // An IPv6 gateway on an IPv4-only link.
    one_err(
        links(
            json!([{"netns": "a", "bridge": "s", "ip": "10.0.0.1/24", "route": "default via fd00:1::fe"}]),
        ),
        "links[0].route",
        "eth0 has no IPv6 address (`ip`) and no IPv6 device route in netns a (it reaches only 10.0.0.0/24)",
    );
    // An IPv4 gateway on an IPv6-only link.
    one_err(
        links(
            json!([{"netns": "a", "bridge": "s", "ip": "fd00:1::1/64", "route": "default via 10.0.0.254"}]),
        ),
        "links[0].route",
        "eth0 has no IPv4 address",
    );
    // A gateway outside every IPv6 subnet.
    one_err(
        links(
            json!([{"netns": "a", "bridge": "s", "ip": "fd00:1::1/64", "route": "fd00:9::/64 via fd00:2::1"}]),
        ),
        "links[0].route",
        "eth0 reaches only fd00:1::/64",
    );
    // A mixed route is refused by the parser.
    one_err(
        links(
            json!([{"netns": "a", "bridge": "s", "ip": "fd00:1::1/64", "route": "fd00:9::/64 via 10.0.0.1"}]),
        ),
        "links[0].route",
        "gateway 10.0.0.1 is IPv4 but this is an IPv6 route",
    );
}

#[test]
fn ipv6_replicas_tunnels_nat_and_graph() {
    let mut n = ok(json!({
        "links": [
            {"service": "node", "bridge": "s", "ip": ["10.0.1.11/24", "fd00:1::b/64"]},
            {"service": "one", "bridge": "s", "ip": "fd00:1::ff/120"}
        ],
        "tunnels": [{"type": "vxlan", "bridge": "s", "remote": "fd00:99::2", "vni": 7}]
    }));
    n.scales.insert("node".into(), 2);
    let s = n.links[0].instance(2, "x").unwrap();
    let got: Vec<String> = s.ip.iter().map(ToString::to_string).collect();
    assert_eq!(got, ["10.0.1.12/24", "fd00:1::c/64"]);
    let e = n.links[1].instance(2, "x").unwrap_err().to_string();
    assert!(
        e.starts_with("one:eth0: ip fd00:1::ff/120 + 1 (replica 2)"),
        "{e}"
    );
    assert_eq!(n.tunnels[0].remote.to_string(), "fd00:99::2");
    let d = graph::to_dot(&n);
    for want in [
        "\"service:node:eth0\" [label=\"eth0\\n10.0.1.11–12/24\\nfd00:1::b–c/64\"",
        "\"tunnel:vxlan-7\" -- \"remote:fd00:99::2\"",
    ] {
        assert!(d.contains(want), "{want}\nnot in\n{d}");
    }
    // IPv4 nat needs an IPv4 address on the link.
    one_err(
        links(json!([{"netns": "a", "bridge": "s", "ip": "fd00:1::1/64", "nat": "10.9.0.1"}])),
        "links[0].nat",
        "(an IPv4 address) needs an IPv4 address in the link's `ip`",
    );
    one_err(
        json!({"tunnels": [{"type": "vxlan", "bridge": "s", "remote": "fd00::g", "vni": 7}]}),
        "tunnels[0].remote",
        "not an IPv6 address (like fd00::2)",
    );
}

#[test]
fn a_later_ip_replaces_an_earlier_one_whole() {
    let n = run_with(
        vec![
            (
                "a.yaml",
                FileKind::Network,
                links(
                    json!([{"netns": "a", "bridge": "s", "ip": ["10.0.1.1/24", "fd00:1::1/64"]}]),
                ),
            ),
            (
                "b.yaml",
                FileKind::Network,
                links(json!([{"netns": "a", "bridge": "s", "ip": ["fd00:2::1/64"]}])),
            ),
        ],
        &Settings::default(),
    )
    .unwrap();
    assert_eq!(n.links.len(), 1);
    let got: Vec<String> = n.links[0].ip.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        ["fd00:2::1/64"],
        "a list is one value, not concatenated"
    );
}
