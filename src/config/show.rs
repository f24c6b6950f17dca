//! `--show-config` (the enriched model as JSON, in conlink 2.x's shape:
//! `links` list, `bridges` map, `services`/`containers`/`netns` maps with
//! `links` and `commands`, `tunnels` and `commands` lists) and the one-line
//! `--check` summary.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::model::{Command, CommandLine, Link, Network, Target};

fn target_fields(t: &Target, m: &mut Map<String, Value>) {
    m.insert(t.key().into(), Value::String(t.name().into()));
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().cloned().map(Value::String).collect())
}

/// One link as 2.x showed it: config keys, with defaults filled in, the
/// bridge resolved to `{bridge, mode}` and list values as lists.
pub fn link_json(l: &Link, net: &Network) -> Value {
    let mut m = Map::new();
    // `type`, plus `mode` / `vlanid` where the kind has them.
    if let Ok(Value::Object(kind)) = serde_json::to_value(l.kind) {
        m.extend(kind);
    }
    target_fields(&l.target, &mut m);
    m.insert("dev".into(), json!(l.dev));
    if let Some(o) = &l.outer_dev {
        m.insert("outer-dev".into(), json!(o));
    }
    if let Some(b) = &l.bridge {
        let v = match net.bridges.get(b) {
            Some(spec) => json!({"bridge": spec.name, "mode": spec.mode}),
            None => json!({"bridge": b}),
        };
        m.insert("bridge".into(), v);
    }
    // One address written as a string stays a string (2.x's shape).
    match l.ip.as_slice() {
        [] => {}
        [one] if !l.text.ip_list => {
            m.insert("ip".into(), json!(one));
        }
        many => {
            m.insert("ip".into(), json!(many));
        }
    }
    if let Some(mac) = l.mac {
        m.insert("mac".into(), json!(mac));
    }
    if let Some(mtu) = l.mtu {
        m.insert("mtu".into(), json!(mtu));
    }
    if let Some(nat) = l.nat {
        m.insert("nat".into(), json!(nat.to_string()));
    }
    for (k, v) in [
        ("route", &l.text.route),
        ("netem", &l.text.netem),
        ("forward", &l.text.forward),
        ("ethtool", &l.text.ethtool),
    ] {
        if !v.is_empty() {
            m.insert(k.into(), strings(v));
        }
    }
    m.insert("base".into(), json!(l.base()));
    Value::Object(m)
}

pub fn command_json(c: &Command) -> Value {
    let mut m = Map::new();
    target_fields(&c.target, &mut m);
    let cmd = match &c.command {
        CommandLine::Shell(s) => Value::String(s.clone()),
        CommandLine::Exec(v) => strings(v),
    };
    m.insert("command".into(), cmd);
    Value::Object(m)
}

/// The whole model in 2.x's `--show-config` shape (plus `netns`).
pub fn to_json(net: &Network) -> Value {
    let links: Vec<Value> = net.links.iter().map(|l| link_json(l, net)).collect();
    let commands: Vec<Value> = net.commands.iter().map(command_json).collect();
    let mut groups = [Map::new(), Map::new(), Map::new()];
    let group = |t: &Target| match t {
        Target::Service(_) => 0,
        Target::Container(_) => 1,
        Target::Netns(_) => 2,
    };
    for (kind, items) in [
        (
            "links",
            net.links
                .iter()
                .map(|l| &l.target)
                .zip(&links)
                .collect::<Vec<_>>(),
        ),
        (
            "commands",
            net.commands
                .iter()
                .map(|c| &c.target)
                .zip(&commands)
                .collect(),
        ),
    ] {
        for (t, v) in items {
            let entry = groups[group(t)]
                .entry(t.name().to_owned())
                .or_insert_with(|| json!({"links": [], "commands": []}));
            if let Some(Value::Array(a)) = entry.get_mut(kind) {
                a.push(v.clone());
            }
        }
    }
    let [services, containers, netns] = groups;
    let bridges: Map<String, Value> = net
        .bridges
        .values()
        .map(|b| (b.name.clone(), json!({"bridge": b.name, "mode": b.mode})))
        .collect();
    let tunnels: Vec<Value> = net
        .tunnels
        .iter()
        .map(|t| {
            let mut v = json!(t);
            if let Value::Object(m) = &mut v {
                m.insert("dev".into(), json!(t.dev_name()));
            }
            v
        })
        .collect();
    json!({
        "links": links,
        "bridges": bridges,
        "tunnels": tunnels,
        "commands": commands,
        "services": services,
        "containers": containers,
        "netns": netns,
    })
}

/// `N links on M services/containers, K bridges, T tunnels, C commands`
/// (namespaces counted with containers).
pub fn summary(net: &Network) -> String {
    let targets: BTreeSet<&Target> = net.links.iter().map(|l| &l.target).collect();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{} on {}, {}, {}, {}",
        plural(net.links.len(), "link", "links"),
        plural(targets.len(), "service/container", "services/containers"),
        plural(net.bridges.len(), "bridge", "bridges"),
        plural(net.tunnels.len(), "tunnel", "tunnels"),
        plural(net.commands.len(), "command", "commands"),
    )
}
