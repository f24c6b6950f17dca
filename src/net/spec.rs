//! What the link engine is asked to build: one fully resolved request per
//! link, bridge or tunnel. The config layer produces these (per container
//! instance, with replica offsets and outer-dev names already applied); the
//! engine makes them real. Nothing here talks to the kernel.

use std::net::IpAddr;

use serde::Serialize;

use super::addr::{IfName, IpNet, MacAddr};
use super::ethtool::Offload;
use super::netem::Netem;
use super::route::Route;

/// The kernel's macvlan/macvtap modes (`mode` in config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MacvlanMode {
    Private,
    Vepa,
    Bridge,
    Passthru,
    Source,
}

/// The kernel's ipvlan/ipvtap modes (`mode` in config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IpvlanMode {
    L2,
    L3,
    L3s,
}

/// The link kinds of the config's `type`, each carrying what only it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum LinkKind {
    /// A veth pair: inner end in the target, outer end in conlink's namespace.
    Veth,
    Dummy,
    Vlan {
        vlanid: u16,
    },
    Macvlan {
        mode: MacvlanMode,
    },
    Macvtap {
        mode: MacvlanMode,
    },
    Ipvlan {
        mode: IpvlanMode,
    },
    Ipvtap {
        mode: IpvlanMode,
    },
}

impl LinkKind {
    /// The `type` keyword in config and kernel link kind.
    pub fn name(&self) -> &'static str {
        match self {
            LinkKind::Veth => "veth",
            LinkKind::Dummy => "dummy",
            LinkKind::Vlan { .. } => "vlan",
            LinkKind::Macvlan { .. } => "macvlan",
            LinkKind::Macvtap { .. } => "macvtap",
            LinkKind::Ipvlan { .. } => "ipvlan",
            LinkKind::Ipvtap { .. } => "ipvtap",
        }
    }

    /// Kinds stacked on a parent interface in the host namespace (`outer-dev`
    /// names the parent); they inherit its MTU unless one is set.
    pub fn has_host_parent(&self) -> bool {
        !matches!(self, LinkKind::Veth | LinkKind::Dummy)
    }
}

/// One link to create in a target namespace, fully resolved for one instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkSpec {
    pub kind: LinkKind,
    /// Interface name inside the target namespace.
    pub dev: IfName,
    /// veth: the outer end's name in conlink's namespace.
    /// *vlan/*vtap: the parent interface in the host namespace. dummy: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outer_dev: Option<IfName>,
    /// veth only: the bridge (or patch) the outer end joins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    /// Interface addresses, IPv4 and/or IPv6 (one is shown as a string).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "super::addr::serialize_ips"
    )]
    pub ip: Vec<IpNet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netem: Option<Netem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub offloads: Vec<Offload>,
    /// Stateless 1:1 NAT address for this link's `ip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat: Option<IpAddr>,
    /// Port forwards from conlink's docker-facing interface to `ip` (veth only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forwards: Vec<Forward>,
}

/// A bridge's mode as declared (or defaulted by `--default-bridge-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BridgeMode {
    /// openvswitch when its kernel module is loaded, else a Linux bridge
    Auto,
    Linux,
    Ovs,
    Patch,
}

/// Bridge modes after `auto` has been resolved against the running kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResolvedBridgeMode {
    Linux,
    Ovs,
    Patch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BridgeSpec {
    pub name: String,
    pub mode: ResolvedBridgeMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelKind {
    Vxlan,
    Geneve,
}

/// A tunnel in conlink's namespace, named `<type>-<vni>`, joined to a bridge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TunnelSpec {
    #[serde(rename = "type")]
    pub kind: TunnelKind,
    /// 0..=16777215 (24 bits)
    pub vni: u32,
    /// IPv4 or IPv6 (an IPv6 underlay).
    pub remote: IpAddr,
    pub bridge: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netem: Option<Netem>,
    /// UDP port; `None` leaves the kernel's default (vxlan 8472, as in
    /// conlink 2.x; geneve 6081), see [`super::tunnel::port`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl TunnelSpec {
    pub fn dev_name(&self) -> String {
        let kind = match self.kind {
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
        };
        format!("{kind}-{}", self.vni)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

/// `forward: "cport:port/proto"` — traffic reaching conlink's docker-facing
/// interface on `conlink_port` goes to the link's ip on `port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Forward {
    pub conlink_port: u16,
    pub port: u16,
    pub proto: Protocol,
}
