//! Defaults and derived values, plus the checks that need the whole config:
//! bridge modes resolved, MTU defaults, generated MACs, veth tx offload off,
//! patch bridges with at most two links, forwards only through linux/ovs
//! bridges, no duplicate tunnels; and the checks of [`super::names`] and
//! [`super::gateways`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasher;
use std::path::Path;

use super::ConfigOptions;
use crate::net::addr::MacAddr;
use crate::net::ethtool::{Offload, OffloadFeature};
use crate::net::spec::BridgeMode;
use crate::net::spec::{BridgeSpec, LinkKind, ResolvedBridgeMode};

use super::errors::{Diag, Origin};
use super::gateways::check_gateways;
use super::model::{Link, Network};
use super::names::{Names, check_names};
use super::validate::{LinkAt, Validated};

/// Command-line defaults and what the running kernel offers.
#[derive(Debug, Clone)]
pub struct Settings {
    pub default_bridge_mode: BridgeMode,
    pub default_mtu: u32,
    pub keep_veth_offload: bool,
    /// Whether the openvswitch kernel module is loaded (decides `auto`).
    pub ovs_loaded: bool,
}

impl Settings {
    /// From the CLI flags, probing `/sys/module/openvswitch`.
    pub fn from_args(args: &ConfigOptions) -> Self {
        Settings {
            default_bridge_mode: args.default_bridge_mode,
            default_mtu: args.default_mtu,
            keep_veth_offload: args.keep_veth_offload,
            ovs_loaded: Path::new("/sys/module/openvswitch").exists(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_bridge_mode: BridgeMode::Auto,
            default_mtu: 65535,
            keep_veth_offload: false,
            ovs_loaded: false,
        }
    }
}

fn cli_origin(flag: &str) -> Origin {
    Origin::new("command line".into(), flag)
}

pub fn enrich(v: Validated, s: &Settings, diag: &mut Diag) -> Network {
    if !(68..=65535).contains(&s.default_mtu) {
        diag.err(
            &cli_origin("--default-mtu"),
            format!("must be from 68 to 65535 (got {})", s.default_mtu),
        );
    }
    let warnings = vec![];
    let mut notes = vec![];
    let bridges = resolve_bridges(&v, s, diag, &mut notes);
    let (mut links, ats): (Vec<Link>, Vec<LinkAt>) = v.links.into_iter().unzip();
    for l in &mut links {
        if !l.kind.has_host_parent() && l.mtu.is_none() {
            l.mtu = Some(s.default_mtu);
        }
        if l.kind == LinkKind::Veth && !s.keep_veth_offload {
            l.offloads.insert(
                0,
                Offload {
                    feature: OffloadFeature::Tx,
                    enabled: false,
                },
            );
            l.text.ethtool.insert(0, "--offload tx off".into());
        }
    }
    generate_macs(&mut links);
    check_bridge_users(&links, &ats, &v.tunnels, &bridges, diag);
    check_gateways(&links, &ats, diag);
    check_names(
        &Names {
            links: &links,
            ats: &ats,
            declared: &v.bridges,
            tunnels: &v.tunnels,
            bridges: &bridges,
            scales: &v.scales,
        },
        diag,
    );
    let mut seen = HashMap::new();
    for (t, at) in &v.tunnels {
        if let Some(first) = seen.insert(t.dev_name(), at) {
            diag.err(
                at,
                format!("tunnel {} is already defined at {first}", t.dev_name()),
            );
        }
    }
    Network {
        links,
        bridges,
        tunnels: v.tunnels.into_iter().map(|(t, _)| t).collect(),
        commands: v.commands,
        warnings,
        notes,
        scales: v.scales,
    }
}

/// Declared bridges plus those only named by links or tunnels (which get
/// the default mode), with `auto` decided by the openvswitch module. The
/// `auto` bridges that become linux bridges are named in one note: it is
/// the normal case on hosts without openvswitch, not a problem.
fn resolve_bridges(
    v: &Validated,
    s: &Settings,
    diag: &mut Diag,
    notes: &mut Vec<String>,
) -> BTreeMap<String, BridgeSpec> {
    let mut wanted: Vec<(String, BridgeMode, Origin)> = vec![];
    let mut index = HashMap::new();
    for b in &v.bridges {
        let (mode, at) = match (&b.mode, &b.mode_at) {
            (Some(m), Some(at)) => (*m, at.clone()),
            _ => (s.default_bridge_mode, cli_origin("--default-bridge-mode")),
        };
        index.insert(b.name.clone(), wanted.len());
        wanted.push((b.name.clone(), mode, at));
    }
    let referenced = v
        .links
        .iter()
        .filter_map(|(l, _)| l.bridge.clone())
        .chain(v.tunnels.iter().map(|(t, _)| t.bridge.clone()));
    for name in referenced {
        if !index.contains_key(&name) {
            index.insert(name.clone(), wanted.len());
            wanted.push((
                name,
                s.default_bridge_mode,
                cli_origin("--default-bridge-mode"),
            ));
        }
    }
    let mut out = BTreeMap::new();
    let mut auto_linux = vec![];
    for (name, mode, at) in wanted {
        let resolved = match mode {
            BridgeMode::Linux => ResolvedBridgeMode::Linux,
            BridgeMode::Patch => ResolvedBridgeMode::Patch,
            BridgeMode::Ovs => {
                if !s.ovs_loaded {
                    diag.err(
                        &at,
                        format!("bridge {name} has mode ovs, but the openvswitch kernel module is not loaded"),
                    );
                }
                ResolvedBridgeMode::Ovs
            }
            BridgeMode::Auto if s.ovs_loaded => ResolvedBridgeMode::Ovs,
            BridgeMode::Auto => {
                auto_linux.push(name.clone());
                ResolvedBridgeMode::Linux
            }
        };
        out.insert(
            name.clone(),
            BridgeSpec {
                name,
                mode: resolved,
            },
        );
    }
    if !auto_linux.is_empty() {
        notes.push(auto_linux_note(&auto_linux));
    }
    out
}

fn auto_linux_note(names: &[String]) -> String {
    let (what, verb) = match names {
        [one] => (format!("bridge {one}"), "has"),
        many => (format!("bridges {}", many.join(", ")), "have"),
    };
    format!(
        "{what} {verb} mode auto and the openvswitch kernel module is not loaded, \
         so linux bridges are used; to choose a mode, pass --default-bridge-mode \
         linux|ovs|patch (or set CONLINK_BRIDGE_MODE), or set `mode` in `bridges:`"
    )
}

/// Patch bridges join exactly two ends; forwards need a real bridge.
fn check_bridge_users(
    links: &[Link],
    ats: &[LinkAt],
    tunnels: &[(crate::net::spec::TunnelSpec, Origin)],
    bridges: &BTreeMap<String, BridgeSpec>,
    diag: &mut Diag,
) {
    let mut users: HashMap<&str, usize> = HashMap::new();
    let mode_of = |b: &str| bridges.get(b).map(|b| b.mode);
    for (l, at) in links.iter().zip(ats) {
        let Some(b) = l.bridge.as_deref() else {
            continue;
        };
        let n = users.entry(b).or_default();
        *n += 1;
        let here = at.bridge.clone().unwrap_or_else(|| l.origin.clone());
        if mode_of(b) == Some(ResolvedBridgeMode::Patch) && *n == 3 {
            diag.err(
                &here,
                format!("patch bridge {b} joins exactly two links; this is a third"),
            );
        }
        if !l.forwards.is_empty() && mode_of(b) == Some(ResolvedBridgeMode::Patch) {
            let fat = at.forward.clone().unwrap_or_else(|| l.origin.clone());
            diag.err(
                &fat,
                format!("`forward` needs a linux or ovs bridge, but bridge {b} is a patch"),
            );
        }
    }
    for (t, at) in tunnels {
        let n = users.entry(&t.bridge).or_default();
        *n += 1;
        if mode_of(&t.bridge) == Some(ResolvedBridgeMode::Patch) && *n == 3 {
            diag.err(
                &at.key("bridge"),
                format!(
                    "patch bridge {} joins exactly two links; this tunnel is a third",
                    t.bridge
                ),
            );
        }
    }
}

/// A MAC for every link without one, except ipvlan/ipvtap (which share the
/// parent's): first octet 0xc2 (locally administered, unicast), the rest
/// from a per-run random hash of the link's target and dev, so the MAC is
/// stable for the run (a restarted container gets the same one) and
/// distinct from other links' MACs.
fn generate_macs(links: &mut [Link]) {
    let seed = std::collections::hash_map::RandomState::new();
    let mut used: HashSet<MacAddr> = links.iter().filter_map(|l| l.mac).collect();
    for l in links.iter_mut() {
        if l.mac.is_some() || matches!(l.kind, LinkKind::Ipvlan { .. } | LinkKind::Ipvtap { .. }) {
            continue;
        }
        for attempt in 0u32.. {
            let b = seed
                .hash_one((&l.target, l.dev.as_str(), attempt))
                .to_be_bytes();
            // Clear the lowest byte's top bit so replica offsets (index − 1)
            // have room before they carry into the next octet.
            let octets = [0xc2, b[0], b[1], b[2], b[3], b[4] & 0x7f];
            if let Some(m) = MacAddr::new(octets) {
                if used.insert(m) {
                    l.mac = Some(m);
                    l.mac_generated = true;
                    break;
                }
            }
        }
    }
}
