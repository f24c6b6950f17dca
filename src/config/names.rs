//! Interface names in conlink's own namespace, checked against each other:
//! bridges (linux and ovs; a patch makes no device), tunnel devices
//! (`<type>-<vni>`) and the outer ends of veth links — explicit `outer-dev`
//! or derived ([`outer_dev_name`]) for every replica whose index is known
//! (the compose file's `scale`/`deploy.replicas`, else replica 1). Two of
//! them with one name would make conlink replace a live interface at run
//! time, so a clash is a config error naming both.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::net::spec::{BridgeSpec, LinkKind, ResolvedBridgeMode, TunnelSpec};

use super::errors::{ConfigError, Diag, Origin};
use super::instance::outer_dev_name;
use super::model::{Link, Target};
use super::validate::{DeclaredBridge, LinkAt};

/// Replicas checked per service at most: enough for any real topology,
/// and keeps `--check` quick on a `scale: 1000000` typo.
pub const MAX_CHECKED_REPLICAS: u32 = 10_000;

/// What the check looks at.
pub struct Names<'a> {
    pub links: &'a [Link],
    pub ats: &'a [LinkAt],
    pub declared: &'a [DeclaredBridge],
    pub tunnels: &'a [(TunnelSpec, Origin)],
    /// Resolved bridges (declared and referenced).
    pub bridges: &'a BTreeMap<String, BridgeSpec>,
    /// Known replica counts of services (from compose files).
    pub scales: &'a BTreeMap<String, u32>,
}

/// Who wants a name.
struct Claim {
    what: String,
    at: Origin,
}

#[derive(Default)]
struct Taken {
    by: HashMap<String, Claim>,
}

impl Taken {
    fn claim(&mut self, name: String, what: String, at: &Origin, diag: &mut Diag) {
        if let Some(first) = self.by.get(&name) {
            diag.push(
                ConfigError::new(
                    at,
                    format!(
                        "{what}: interface name {name} is already taken by {} at {}; \
                         interfaces in conlink's namespace need distinct names \
                         (set `outer-dev`, or rename)",
                        first.what, first.at
                    ),
                )
                .with_text(&name),
            );
            return;
        }
        self.by.insert(
            name,
            Claim {
                what,
                at: at.clone(),
            },
        );
    }
}

/// The replica indexes whose names are known before containers start.
fn indexes(target: &Target, scales: &BTreeMap<String, u32>) -> std::ops::RangeInclusive<u32> {
    match target {
        Target::Service(s) => {
            1..=scales
                .get(s)
                .copied()
                .unwrap_or(1)
                .clamp(1, MAX_CHECKED_REPLICAS)
        }
        _ => 1..=1,
    }
}

pub fn check_names(n: &Names<'_>, diag: &mut Diag) {
    let mut taken = Taken::default();
    // Bridges first: a bridge is where a clash does the most harm, so the
    // error goes to the link or tunnel that would replace it.
    for b in n.bridges.values() {
        if b.mode == ResolvedBridgeMode::Patch {
            continue; // tc redirects between the two ends: no device
        }
        let at = n
            .declared
            .iter()
            .find(|d| d.name == b.name)
            .map(|d| d.at.key("bridge"))
            .or_else(|| {
                n.links
                    .iter()
                    .zip(n.ats)
                    .find(|(l, _)| l.bridge.as_deref() == Some(b.name.as_str()))
                    .map(|(l, at)| at.bridge.clone().unwrap_or_else(|| l.origin.clone()))
            })
            .or_else(|| {
                n.tunnels
                    .iter()
                    .find(|(t, _)| t.bridge == b.name)
                    .map(|(_, at)| at.key("bridge"))
            });
        let Some(at) = at else { continue };
        taken.claim(b.name.clone(), format!("bridge {}", b.name), &at, diag);
    }
    // Tunnels: a second tunnel of the same name is reported by enrich.
    let mut tunnel_names = HashSet::new();
    for (t, at) in n.tunnels {
        let name = t.dev_name();
        if tunnel_names.insert(name.clone()) {
            taken.claim(name.clone(), format!("tunnel device {name}"), at, diag);
        }
    }
    for (l, at) in n.links.iter().zip(n.ats) {
        if l.kind != LinkKind::Veth {
            continue; // other kinds' outer-dev is a parent in the host
        }
        let id = format!("{}:{}", l.target, l.dev);
        match &l.outer_dev {
            Some(o) => {
                let oat = at.outer_dev.as_ref().unwrap_or(&l.origin);
                let replicas = *indexes(&l.target, n.scales).end();
                if replicas > 1 {
                    diag.push(
                        ConfigError::new(
                            oat,
                            format!(
                                "outer-dev of {id}: the service has {replicas} replicas and \
                                 each needs its own outer end, so `outer-dev` (one name) \
                                 cannot be set; leave it out to get one name per replica"
                            ),
                        )
                        .with_text(o.as_str()),
                    );
                }
                taken.claim(o.to_string(), format!("outer-dev of {id}"), oat, diag);
            }
            None => {
                for i in indexes(&l.target, n.scales) {
                    let what = match l.target {
                        Target::Service(_) => format!("outer end of {id} replica {i}"),
                        _ => format!("outer end of {id}"),
                    };
                    let name = outer_dev_name(&l.target, i, &l.dev).to_string();
                    taken.claim(name, what, &l.origin, diag);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{FileKind, Settings, load::Format, load::LoadedFile, load::parse_text};

    fn errors_of(yaml: &str, kind: FileKind) -> Vec<String> {
        let file = LoadedFile {
            name: "n.yaml".into(),
            value: parse_text(yaml, Format::Yaml).unwrap(),
        };
        let env = std::collections::HashMap::<String, String>::new();
        let settings = Settings {
            default_bridge_mode: crate::net::spec::BridgeMode::Linux,
            ..Settings::default()
        };
        match crate::config::process(
            &[(file, kind)],
            &settings,
            &env,
            crate::config::errors::Diag::default(),
        ) {
            Ok(_) => vec![],
            Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
        }
    }

    fn errors(yaml: &str) -> Vec<String> {
        errors_of(yaml, FileKind::Network)
    }

    #[test]
    fn outer_dev_equal_to_a_bridge_or_tunnel_is_an_error() {
        let e = errors(
            "bridges: [{bridge: s1}]
links: [{netns: a, bridge: s1, outer-dev: s1}]",
        );
        assert_eq!(
            e,
            [
                "n.yaml: links[0].outer-dev: outer-dev of netns a:eth0: interface name s1 is \
              already taken by bridge s1 at n.yaml: bridges[0].bridge; interfaces in \
              conlink's namespace need distinct names (set `outer-dev`, or rename) (got \"s1\")"
            ]
        );
        // A bridge only referenced by links counts too.
        let e = errors("links: [{netns: a, bridge: s1}, {netns: b, bridge: s2, outer-dev: s1}]");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("taken by bridge s1 at n.yaml: links[0].bridge"),
            "{e:?}"
        );
        let e = errors(
            "tunnels: [{type: vxlan, bridge: s1, remote: 10.0.0.2, vni: 7}]
links: [{netns: a, bridge: s1, outer-dev: vxlan-7}]",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains(
                "name vxlan-7 is already taken by tunnel device vxlan-7 at n.yaml: tunnels[0]"
            ),
            "{e:?}"
        );
        // A bridge named like a tunnel device.
        let e = errors(
            "bridges: [{bridge: geneve-7}]
tunnels: [{type: geneve, bridge: geneve-7, remote: 10.0.0.2, vni: 7}]",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("n.yaml: tunnels[0]: tunnel device geneve-7"),
            "{e:?}"
        );
    }

    #[test]
    fn a_patch_makes_no_device() {
        let e = errors(
            "bridges: [{bridge: p1, mode: patch}]
links: [{netns: a, bridge: p1}, {netns: b, bridge: p1, outer-dev: p1}]",
        );
        assert_eq!(e, Vec::<String>::new());
    }

    #[test]
    fn derived_names_clash_with_explicit_and_derived_ones() {
        // 2.x's names are ambiguous: service a replica 1 and container a_1.
        let e = errors("links: [{service: a, bridge: s1}, {container: a_1, bridge: s1}]");
        assert_eq!(
            e,
            [
                "n.yaml: links[1]: outer end of container a_1:eth0: interface name a_1-eth0 is \
              already taken by outer end of service a:eth0 replica 1 at n.yaml: links[0]; \
              interfaces in conlink's namespace need distinct names (set `outer-dev`, or \
              rename) (got \"a_1-eth0\")"
            ]
        );
        let e =
            errors("links: [{netns: n1, bridge: s1}, {netns: n2, bridge: s1, outer-dev: n1-eth0}]");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("n.yaml: links[1].outer-dev: outer-dev of netns n2:eth0"));
        // A hashed name is checked too (no longer skipped).
        let long = crate::config::instance::outer_dev_name(
            &crate::config::Target::Netns("verylongns-a".into()),
            1,
            &"eth0".parse().unwrap(),
        );
        let e = errors(&format!(
            "links: [{{netns: verylongns-a, bridge: s1}}, {{netns: b, bridge: s1, outer-dev: {long}}}]"
        ));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("already taken by outer end of netns verylongns-a:eth0"),
            "{e:?}"
        );
    }

    #[test]
    fn long_names_that_collided_in_2x_pass() {
        let e = errors(
            "links: [{netns: verylongns-a, bridge: s1}, {netns: verylongns-b, bridge: s1},
                     {container: a-long-container, dev: ethernet1, bridge: s1},
                     {container: a-long-container, dev: ethernet2, bridge: s1}]",
        );
        assert_eq!(e, Vec::<String>::new());
    }

    #[test]
    fn known_scales_check_every_replica() {
        // Replica 2 of `a` is `a_2-eth0`, which container a_2 also wants.
        let compose = "services:
  a:
    scale: 2
    x-network: {links: [{bridge: s1}]}
x-network:
  links: [{container: a_2, bridge: s1}]
";
        let e = errors_of(compose, FileKind::Compose);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains(
                "outer end of service a:eth0 replica 2: interface name a_2-eth0 is already \
                 taken by outer end of container a_2:eth0 at n.yaml: x-network.links[0]"
            ),
            "{e:?}"
        );
        // Without a scale only replica 1 is known.
        let e = errors_of(&compose.replace("scale: 2", "image: x"), FileKind::Compose);
        assert_eq!(e, Vec::<String>::new());
        // deploy.replicas counts the same; one outer-dev for several
        // replicas cannot work.
        let compose = "services:
  a:
    deploy: {replicas: 3}
    x-network: {links: [{bridge: s1, outer-dev: a-out}]}
";
        let e = errors_of(compose, FileKind::Compose);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("the service has 3 replicas"), "{e:?}");
    }
}
