//! `GET /v1/topology` and the JSON embedded by `conlink graph --format
//! html`: the control API's status (links with their state and counters,
//! bridges, tunnels, commands) plus what the page needs to draw it — every
//! target with its kind and service, where the data comes from, and the
//! version. Documented in docs/observability.md.

use serde::{Deserialize, Serialize};

use crate::config::{Link, Network, Target};
use crate::control::api::{
    BridgeStatus, CommandStatus, LinkState, LinkStatus, NetemStatus, Status, TunnelStatus,
};
use crate::net::spec::{LinkKind, ResolvedBridgeMode};

/// Where a topology comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// A running sidecar: states and counters are real.
    Live,
    /// The config alone (`conlink graph --format html`): nothing is known
    /// to run, every link is `missing` and has no counters.
    Config,
}

/// A container, named namespace or (from the config) compose service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetNode {
    /// As in link ids: container name, namespace name, or (config) service.
    pub name: String,
    /// `container`, `netns` or `service` (a service of the config, standing
    /// for all its replicas).
    pub kind: String,
    /// The compose service a container is a replica of.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub service: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topology {
    pub origin: Origin,
    /// conlink's version.
    pub version: String,
    /// "All links connected" has been reached (always false from a config).
    pub milestone: bool,
    /// Every target with links, sorted by service then name.
    pub targets: Vec<TargetNode>,
    /// As in `conlink status --json`.
    pub links: Vec<LinkStatus>,
    pub bridges: Vec<BridgeStatus>,
    pub tunnels: Vec<TunnelStatus>,
    pub commands: Vec<CommandStatus>,
}

fn kind_of(t: &Target) -> &'static str {
    match t {
        Target::Service(_) => "service",
        Target::Container(_) => "container",
        Target::Netns(_) => "netns",
    }
}

/// The topology of a running sidecar: its status, with each link's target
/// told apart by the config (a replica of a service, a named namespace, or
/// a container).
pub fn live(status: Status, network: &Network) -> Topology {
    let mut targets: Vec<TargetNode> = Vec::new();
    for l in &status.links {
        if targets.iter().any(|t| t.name == l.target) {
            continue;
        }
        let is_netns = l.service.is_none()
            && network
                .links
                .iter()
                .any(|c| matches!(&c.target, Target::Netns(n) if *n == l.target));
        // A service's link whose target is not running is listed under the
        // service's own name: draw it as the service.
        let kind = match &l.service {
            Some(s) if *s == l.target => "service",
            Some(_) => "container",
            None if is_netns => "netns",
            None => "container",
        };
        targets.push(TargetNode {
            name: l.target.clone(),
            kind: kind.into(),
            service: l.service.clone(),
        });
    }
    sort_targets(&mut targets);
    Topology {
        origin: Origin::Live,
        version: env!("CARGO_PKG_VERSION").into(),
        milestone: status.milestone,
        targets,
        links: status.links,
        bridges: status.bridges,
        tunnels: status.tunnels,
        commands: status.commands,
    }
}

fn sort_targets(targets: &mut [TargetNode]) {
    targets.sort_by(|a, b| {
        (a.service.as_deref().unwrap_or(&a.name), &a.name)
            .cmp(&(b.service.as_deref().unwrap_or(&b.name), &b.name))
    });
}

/// The topology a config describes, with no sidecar running: one target
/// per service (standing for its replicas), container and namespace, each
/// link `missing`, bridges with their resolved mode, tunnels to their
/// remotes, commands `pending`.
pub fn from_config(network: &Network) -> Topology {
    let mut targets: Vec<TargetNode> = network
        .targets()
        .into_iter()
        .map(|t| TargetNode {
            name: t.name().to_owned(),
            kind: kind_of(t).into(),
            service: matches!(t, Target::Service(_)).then(|| t.name().to_owned()),
        })
        .collect();
    sort_targets(&mut targets);
    Topology {
        origin: Origin::Config,
        version: env!("CARGO_PKG_VERSION").into(),
        milestone: false,
        targets,
        links: network.links.iter().map(config_link).collect(),
        bridges: network
            .bridges
            .values()
            .map(|b| BridgeStatus {
                name: b.name.clone(),
                mode: match b.mode {
                    ResolvedBridgeMode::Linux => "linux",
                    ResolvedBridgeMode::Ovs => "ovs",
                    ResolvedBridgeMode::Patch => "patch",
                }
                .into(),
                owned: false,
            })
            .collect(),
        tunnels: network
            .tunnels
            .iter()
            .map(|t| TunnelStatus {
                name: t.dev_name(),
                remote: t.remote.to_string(),
                bridge: t.bridge.clone(),
                state: "missing".into(),
            })
            .collect(),
        commands: network
            .commands
            .iter()
            .map(|c| CommandStatus {
                target: c.target.name().to_owned(),
                command: c.command.argv(),
                result: "pending".into(),
            })
            .collect(),
    }
}

/// One configured link as the status would show it before its target runs.
fn config_link(l: &Link) -> LinkStatus {
    let name = l.target.name().to_owned();
    // A container's or namespace's veth has one outer name; a service's
    // differs per replica, so only a configured one is shown.
    let outer = match (&l.target, l.kind) {
        (_, k) if k.has_host_parent() => l.outer_dev.as_ref().map(|o| o.to_string()),
        (Target::Service(_), _) => l.outer_dev.as_ref().map(|o| o.to_string()),
        (_, LinkKind::Veth) => Some(
            l.outer_dev
                .clone()
                .unwrap_or_else(|| crate::config::outer_dev_name(&l.target, 1, &l.dev))
                .to_string(),
        ),
        _ => None,
    };
    LinkStatus {
        id: format!("{name}:{}", l.dev),
        target: name,
        service: matches!(l.target, Target::Service(_)).then(|| l.target.name().to_owned()),
        dev: l.dev.to_string(),
        kind: l.kind.name().to_owned(),
        outer,
        bridge: l.bridge.clone(),
        state: LinkState::Missing,
        addresses: l.ip.iter().map(|ip| ip.to_string()).collect(),
        mac: l.mac.filter(|_| !l.mac_generated).map(|m| m.to_string()),
        mtu: l.mtu,
        netem: NetemStatus {
            config: (!l.text.netem.is_empty()).then(|| l.text.netem.join(" ")),
            runtime_out: None,
            runtime_in: None,
        },
        counters: None,
        last_change: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FileKind, Settings};

    fn network(yaml: &str) -> Network {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("net.yaml");
        std::fs::write(&p, yaml).unwrap();
        let opts = crate::config::ConfigOptions {
            compose_files: vec![],
            network_files: vec![p.clone()],
            default_bridge_mode: crate::net::spec::BridgeMode::Linux,
            default_mtu: 9000,
            keep_veth_offload: false,
        };
        crate::config::load_with(
            &[(p, FileKind::Network)],
            &Settings::from_args(&opts),
            &crate::config::ProcessEnv,
        )
        .unwrap()
    }

    const NET: &str = "
bridges:
  - {bridge: s1, mode: linux}
  - {bridge: p1, mode: patch}
links:
  - {service: web, bridge: s1, ip: 10.0.0.10/24, netem: delay 5ms}
  - {netns: lab, bridge: s1, ip: 10.0.0.1/24}
  - {netns: lab, dev: eth1, bridge: p1}
  - {container: db, bridge: p1}
  - {container: db, dev: d0, type: dummy}
  - {container: db, dev: v0, type: vlan, vlanid: 5, outer-dev: enp1s0}
tunnels:
  - {type: vxlan, bridge: s1, remote: 192.0.2.7, vni: 42}
commands:
  - {container: db, command: [echo, hi]}
";

    #[test]
    fn a_config_becomes_targets_links_bridges_and_tunnels() {
        let t = from_config(&network(NET));
        assert_eq!(t.origin, Origin::Config);
        let targets: Vec<(&str, &str)> = t
            .targets
            .iter()
            .map(|t| (t.name.as_str(), t.kind.as_str()))
            .collect();
        assert_eq!(
            targets,
            [("db", "container"), ("lab", "netns"), ("web", "service")]
        );
        let ids: Vec<&str> = t.links.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "web:eth0", "lab:eth0", "lab:eth1", "db:eth0", "db:d0", "db:v0"
            ]
        );
        let web = &t.links[0];
        assert_eq!(web.service.as_deref(), Some("web"));
        assert_eq!(web.addresses, ["10.0.0.10/24"]);
        assert_eq!(web.netem.config.as_deref(), Some("delay 5ms"));
        assert_eq!(web.state, LinkState::Missing);
        // A namespace's veth has its one outer name; a vlan its parent.
        assert_eq!(t.links[1].outer.as_deref(), Some("lab-eth0"));
        assert_eq!(t.links[5].outer.as_deref(), Some("enp1s0"));
        assert_eq!(t.links[5].kind, "vlan");
        assert_eq!(t.links[4].outer, None);
        let modes: Vec<(&str, &str)> = t
            .bridges
            .iter()
            .map(|b| (b.name.as_str(), b.mode.as_str()))
            .collect();
        assert_eq!(modes, [("p1", "patch"), ("s1", "linux")]);
        assert_eq!(t.tunnels[0].name, "vxlan-42");
        assert_eq!(t.tunnels[0].remote, "192.0.2.7");
        assert_eq!(t.commands[0].command, ["echo", "hi"]);
        assert_eq!(t.commands[0].result, "pending");
    }

    #[test]
    fn live_targets_tell_replicas_namespaces_and_containers_apart() {
        let net = network(NET);
        let link = |id: &str, target: &str, service: Option<&str>| LinkStatus {
            id: id.into(),
            target: target.into(),
            service: service.map(Into::into),
            dev: "eth0".into(),
            kind: "veth".into(),
            outer: None,
            bridge: Some("s1".into()),
            state: LinkState::Up,
            addresses: vec![],
            mac: None,
            mtu: None,
            netem: NetemStatus::default(),
            counters: None,
            last_change: 0.0,
        };
        let status = Status {
            milestone: true,
            links: vec![
                link("web_2:eth0", "web_2", Some("web")),
                link("lab:eth0", "lab", None),
                link("web_1:eth0", "web_1", Some("web")),
                link("db:eth0", "db", None),
                link("lab:eth1", "lab", None),
            ],
            ..Status::default()
        };
        let t = live(status, &net);
        assert_eq!(t.origin, Origin::Live);
        assert!(t.milestone);
        let targets: Vec<(&str, &str, Option<&str>)> = t
            .targets
            .iter()
            .map(|t| (t.name.as_str(), t.kind.as_str(), t.service.as_deref()))
            .collect();
        assert_eq!(
            targets,
            [
                ("db", "container", None),
                ("lab", "netns", None),
                ("web_1", "container", Some("web")),
                ("web_2", "container", Some("web")),
            ]
        );
        assert_eq!(t.links.len(), 5);
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["origin"], "live");
        assert_eq!(json["links"][0]["state"], "up");
    }
}
