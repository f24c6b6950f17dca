//! The validated, enriched network model: what the daemon, `--show-config`,
//! `--check` and `conlink graph` work from. Every value is typed; the
//! original text of list values is kept for `--show-config`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::net::addr::{IfName, IpNet, MacAddr};
use crate::net::ethtool::Offload;
use crate::net::netem::Netem;
use crate::net::route::Route;
use crate::net::spec::{BridgeSpec, Forward, LinkKind, TunnelSpec};

use super::errors::Origin;

/// What a link or command attaches to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// Every container of this compose service (one link per replica).
    Service(String),
    /// The container with this name.
    Container(String),
    /// The named network namespace `/run/netns/NAME` (no engine needed).
    Netns(String),
}

impl Target {
    /// The config key (`service`, `container`, `netns`).
    pub fn key(&self) -> &'static str {
        match self {
            Target::Service(_) => "service",
            Target::Container(_) => "container",
            Target::Netns(_) => "netns",
        }
    }
    pub fn name(&self) -> &str {
        match self {
            Target::Service(n) | Target::Container(n) | Target::Netns(n) => n,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.key(), self.name())
    }
}

/// The namespace a link's outer side lives in (2.x's `base`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Base {
    /// conlink's own namespace (veth outer ends, bridges).
    Conlink,
    /// The host namespace (PID 1): parents of *vlan/*vtap links.
    Host,
    /// No outer side (dummy).
    Local,
}

/// The config text of a link's list values, as merged (for `--show-config`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkText {
    /// `ip` was written as a list (shown as a list even with one entry).
    pub ip_list: bool,
    pub route: Vec<String>,
    pub netem: Vec<String>,
    pub forward: Vec<String>,
    /// Including the `--offload tx off` conlink prepends to veth links.
    pub ethtool: Vec<String>,
}

/// One configured link (per target; a service link stands for one link per
/// replica, see [`Link::instance`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub target: Target,
    pub kind: LinkKind,
    pub dev: IfName,
    /// As configured: veth outer end name (else derived per instance);
    /// *vlan/*vtap: the parent interface in the host namespace.
    pub outer_dev: Option<IfName>,
    /// veth only.
    pub bridge: Option<String>,
    /// Interface addresses, IPv4 and/or IPv6, in config order (empty: none).
    pub ip: Vec<IpNet>,
    /// Configured, or generated at load (first octet 0xc2) for every kind
    /// but ipvlan/ipvtap, so a restarted container keeps its MAC.
    pub mac: Option<MacAddr>,
    pub mac_generated: bool,
    /// Default `--default-mtu` for veth and dummy; *vlan/*vtap inherit the
    /// parent's unless set.
    pub mtu: Option<u32>,
    pub routes: Vec<Route>,
    pub netem: Option<Netem>,
    pub offloads: Vec<Offload>,
    /// IPv4 or IPv6; the link has an address of the same family.
    pub nat: Option<IpAddr>,
    pub forwards: Vec<Forward>,
    pub text: LinkText,
    /// Where the link was (first) defined.
    pub origin: Origin,
}

/// A command's argv: a string runs through `sh -c` in the container, a
/// list is executed as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    Shell(String),
    Exec(Vec<String>),
}

impl CommandLine {
    /// The argv to exec.
    pub fn argv(&self) -> Vec<String> {
        match self {
            CommandLine::Shell(s) => vec!["sh".into(), "-c".into(), s.clone()],
            CommandLine::Exec(v) => v.clone(),
        }
    }
}

/// A command to run in a target once all its links are up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub target: Target,
    pub command: CommandLine,
    pub origin: Origin,
}

/// The whole validated, enriched network config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Network {
    /// In merge order.
    pub links: Vec<Link>,
    /// Declared bridges and those only referenced by links or tunnels,
    /// with their modes resolved.
    pub bridges: BTreeMap<String, BridgeSpec>,
    pub tunnels: Vec<TunnelSpec>,
    pub commands: Vec<Command>,
    /// Things worth a warning log line.
    pub warnings: Vec<String>,
    /// Things worth an info log line, once per run (e.g. `auto` bridges
    /// becoming linux bridges).
    pub notes: Vec<String>,
    /// Replica counts of services, where the compose files state them
    /// (`scale`, `deploy.replicas`); others run however many compose starts.
    pub scales: BTreeMap<String, u32>,
}
