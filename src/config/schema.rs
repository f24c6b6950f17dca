//! `conlink --config-schema`: a JSON Schema (draft 2020-12) of one network
//! config block — a network file, or the `x-network` of a compose file or
//! service — for editors and linters.
//!
//! It describes the shapes (keys, types, ranges, enums); the value checks
//! that need parsing (route, netem and ethtool strings, host addresses,
//! name clashes) stay in `--check`, which is the authority. A unit test
//! keeps its key lists equal to the validator's.
//!
//! conlink 2.x's `--config-schema FILE` named the schema it validated
//! against; that form is accepted and ignored (validation is built in).

use serde_json::{Value, json};

/// A value as written, or a string that interpolation (`${VAR}`) turns
/// into one: values are checked after interpolation.
fn or_interpolated(v: Value) -> Value {
    json!({"anyOf": [v, {"$ref": "#/$defs/interpolated"}]})
}

fn described(mut v: Value, description: &str) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert("description".into(), Value::String(description.into()));
    }
    v
}

/// A string, or a list of strings (`route`, `netem`, `forward`, `ethtool`).
fn strings(description: &str) -> Value {
    json!({
        "description": description,
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}}
        ]
    })
}

/// A whole number in a range, also written as a string.
fn number(lo: u64, hi: u64, description: &str) -> Value {
    json!({
        "description": description,
        "anyOf": [
            {"type": "integer", "minimum": lo, "maximum": hi},
            {"type": "string", "pattern": "^\\s*[0-9]+\\s*$"},
            {"$ref": "#/$defs/interpolated"}
        ]
    })
}

fn one_of(values: &[&str], description: &str) -> Value {
    described(or_interpolated(json!({"enum": values})), description)
}

fn pattern(re: &str, description: &str) -> Value {
    described(
        or_interpolated(json!({"type": "string", "pattern": re})),
        description,
    )
}

const IPV4: &str = "^[0-9]{1,3}(\\.[0-9]{1,3}){3}$";
const IPV4_CIDR: &str = "^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$";
/// IPv6 text: hex groups, `:` and `::`, maybe a dotted IPv4 tail; the
/// parser checks the rest.
const IPV6: &str = "^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$";
const IPV6_CIDR: &str = "^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/[0-9]{1,3}$";
const MAC: &str = "^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$";

/// An IPv4 or IPv6 address.
fn ip_addr(description: &str) -> Value {
    described(
        or_interpolated(json!({"anyOf": [
            {"type": "string", "pattern": IPV4},
            {"type": "string", "pattern": IPV6},
        ]})),
        description,
    )
}

fn ifname(description: &str) -> Value {
    described(
        or_interpolated(json!({"$ref": "#/$defs/ifname"})),
        description,
    )
}

fn target_keys() -> [(&'static str, Value); 3] {
    [
        (
            "service",
            json!({"type": "string", "minLength": 1,
                   "description": "every container of this compose service (default: the service whose x-network this is)"}),
        ),
        (
            "container",
            json!({"type": "string", "minLength": 1, "description": "the container with this name"}),
        ),
        (
            "netns",
            json!({"type": "string", "minLength": 1, "description": "the named namespace /run/netns/NAME"}),
        ),
    ]
}

/// At most one target key (none only in a service's own x-network).
fn at_most_one_target() -> Value {
    json!({"not": {"anyOf": [
        {"required": ["service", "container"]},
        {"required": ["service", "netns"]},
        {"required": ["container", "netns"]}
    ]}})
}

fn link() -> Value {
    let mut props = serde_json::Map::new();
    props.insert(
        "type".into(),
        one_of(
            &[
                "veth", "dummy", "vlan", "macvlan", "macvtap", "ipvlan", "ipvtap",
            ],
            "kind of interface (default veth)",
        ),
    );
    props.extend(target_keys().map(|(k, v)| (k.to_owned(), v)));
    for (k, v) in [
        (
            "dev",
            ifname("interface name inside the target (default eth0)"),
        ),
        (
            "outer-dev",
            ifname(
                "veth: the outer end's name in conlink's namespace; *vlan/*vtap: the parent interface in the host namespace",
            ),
        ),
        (
            "bridge",
            ifname("veth: the bridge or patch the outer end joins"),
        ),
        ("ip", {
            let one = json!({"anyOf": [
                {"type": "string", "pattern": IPV4_CIDR},
                {"type": "string", "pattern": IPV6_CIDR},
            ]});
            described(
                or_interpolated(json!({"anyOf": [
                    one,
                    {"type": "array", "minItems": 1, "items": one},
                ]})),
                "IPv4 or IPv6 address with prefix length, or a list of them (dual stack); \
                     offset per replica",
            )
        }),
        (
            "mac",
            pattern(
                MAC,
                "unicast MAC (offset per replica; generated when absent)",
            ),
        ),
        (
            "mtu",
            number(68, 65535, "MTU (default --default-mtu for veth and dummy)"),
        ),
        ("route", strings("routes in `ip route add` syntax")),
        (
            "nat",
            ip_addr(
                "stateless 1:1 NAT: traffic to this address arriving on dev goes to ip (same family)",
            ),
        ),
        ("netem", strings("tc-netem options")),
        (
            "mode",
            one_of(
                &[
                    "private", "vepa", "bridge", "passthru", "source", "l2", "l3", "l3s",
                ],
                "macvlan/macvtap: private, vepa, bridge, passthru, source; ipvlan/ipvtap: l2, l3, l3s",
            ),
        ),
        ("vlanid", number(0, 4094, "VLAN id (vlan links)")),
        (
            "forward",
            strings("\"CPORT:PORT/tcp|udp\": conlink's CPORT to ip:PORT (veth)"),
        ),
        (
            "ethtool",
            strings("ethtool offload settings, e.g. \"-K rxvlan off tx-checksum-ip-generic off\""),
        ),
    ] {
        props.insert(k.into(), v);
    }
    let mut v = json!({
        "type": "object",
        "additionalProperties": false,
        "description": "An interface in a service's containers, a container or a named network namespace",
        "properties": props,
    });
    v.as_object_mut()
        .unwrap()
        .extend(at_most_one_target().as_object().unwrap().clone());
    v
}

fn bridge() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["bridge"],
        "properties": {
            "bridge": ifname("bridge name"),
            "mode": one_of(&["auto", "linux", "ovs", "patch"], "default: --default-bridge-mode (auto)")
        }
    })
}

fn tunnel() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["type", "bridge", "remote", "vni"],
        "properties": {
            "type": one_of(&["vxlan", "geneve"], "tunnel kind"),
            "bridge": ifname("the bridge the tunnel device joins"),
            "remote": ip_addr("IPv4 or IPv6 address of the other end"),
            "vni": number(0, 16_777_215, "virtual network identifier"),
            "port": number(1, 65535, "UDP port (default: the kernel's, vxlan 8472, geneve 6081)"),
            "netem": strings("tc-netem options on the tunnel device")
        }
    })
}

fn command() -> Value {
    let mut props = serde_json::Map::new();
    props.extend(target_keys().map(|(k, v)| (k.to_owned(), v)));
    props.insert(
        "command".into(),
        json!({
            "description": "a string runs through sh -c; a list is executed as it is",
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "minItems": 1, "items": {"type": "string"}}
            ]
        }),
    );
    let mut v = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["command"],
        "properties": props,
    });
    v.as_object_mut()
        .unwrap()
        .extend(at_most_one_target().as_object().unwrap().clone());
    v
}

/// The schema.
pub fn schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/LonoCloud/conlink/docs/configuration.md",
        "title": "conlink network config",
        "description": "A network file, or the x-network block of a compose file or of one of its services. See docs/configuration.md; `conlink --check` checks values this schema cannot (route/netem/ethtool strings, addresses, name clashes).",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "links": {"type": "array", "items": {"$ref": "#/$defs/link"}},
            "bridges": {"type": "array", "items": {"$ref": "#/$defs/bridge"}},
            "tunnels": {"type": "array", "items": {"$ref": "#/$defs/tunnel"}},
            "commands": {"type": "array", "items": {"$ref": "#/$defs/command"}}
        },
        "$defs": {
            "ifname": {"type": "string", "minLength": 1, "maxLength": 15,
                       "pattern": "^[^/:\\s]+$", "not": {"enum": [".", "..", "lo", "all", "default"]}},
            "interpolated": {"type": "string", "pattern": "\\$",
                             "description": "a string with ${VAR} that interpolation from conlink's environment turns into the value"},
            "link": link(),
            "bridge": bridge(),
            "tunnel": tunnel(),
            "command": command()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::validate::{BRIDGE_KEYS, COMMAND_KEYS, LINK_KEYS, TUNNEL_KEYS};

    fn keys(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    }

    fn sorted(k: &[&str]) -> Vec<String> {
        let mut k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
        k.sort();
        k
    }

    #[test]
    fn keys_match_the_validator() {
        let s = schema();
        assert_eq!(keys(&s["$defs"]["link"]), sorted(LINK_KEYS));
        assert_eq!(keys(&s["$defs"]["bridge"]), sorted(BRIDGE_KEYS));
        assert_eq!(keys(&s["$defs"]["tunnel"]), sorted(TUNNEL_KEYS));
        assert_eq!(keys(&s["$defs"]["command"]), sorted(COMMAND_KEYS));
        assert_eq!(keys(&s), ["bridges", "commands", "links", "tunnels"]);
    }

    #[test]
    fn every_ref_resolves() {
        fn walk(v: &Value, defs: &serde_json::Map<String, Value>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        let name = r.strip_prefix("#/$defs/").expect("local ref");
                        assert!(defs.contains_key(name), "{r}");
                    }
                    m.values().for_each(|x| walk(x, defs));
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, defs)),
                _ => {}
            }
        }
        let s = schema();
        walk(&s, s["$defs"].as_object().unwrap());
    }
}
