//! Raw merged items → typed values (parse, don't validate). Every problem
//! is reported with the file and path of the offending value; a bad field
//! never hides the problems of the other fields.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::str::FromStr;

use serde_json::Value;

use crate::net::addr::{IfName, IpNet, Ipv4Net, Ipv6Net, MacAddr};
use crate::net::spec::BridgeMode;
use crate::net::spec::{IpvlanMode, LinkKind, MacvlanMode, TunnelKind, TunnelSpec};

use super::errors::{Diag, Origin};
use super::model::{Command, CommandLine, Link, LinkText, Target};
use super::parse::{ethtool, forward, netem, route};
use super::raw::{Field, RawConfig, RawItem};

pub(crate) const LINK_KEYS: &[&str] = &[
    "type",
    "service",
    "container",
    "netns",
    "bridge",
    "outer-dev",
    "dev",
    "ip",
    "mac",
    "mtu",
    "route",
    "nat",
    "netem",
    "mode",
    "vlanid",
    "forward",
    "ethtool",
];
pub(crate) const BRIDGE_KEYS: &[&str] = &["bridge", "mode"];
pub(crate) const TUNNEL_KEYS: &[&str] = &["type", "bridge", "remote", "vni", "netem", "port"];
pub(crate) const COMMAND_KEYS: &[&str] = &["service", "container", "netns", "command"];

/// Where the fields of a link that later checks refer to were written.
#[derive(Debug, Clone, Default)]
pub struct LinkAt {
    pub bridge: Option<Origin>,
    pub outer_dev: Option<Origin>,
    pub forward: Option<Origin>,
    /// One per parsed route, in the order of `Link::routes`.
    pub route: Vec<Origin>,
}

/// A bridge as declared in `bridges:`.
#[derive(Debug, Clone)]
pub struct DeclaredBridge {
    pub name: String,
    /// The (first) definition.
    pub at: Origin,
    pub mode: Option<BridgeMode>,
    pub mode_at: Option<Origin>,
}

/// The typed config before enrichment (no defaults, no bridge resolution).
#[derive(Debug, Default)]
pub struct Validated {
    pub links: Vec<(Link, LinkAt)>,
    pub bridges: Vec<DeclaredBridge>,
    pub tunnels: Vec<(TunnelSpec, Origin)>,
    pub commands: Vec<Command>,
    /// Replica counts of services, where the compose files state them.
    pub scales: BTreeMap<String, u32>,
}

pub fn validate(raw: &RawConfig, diag: &mut Diag) -> Validated {
    Validated {
        links: raw.links.iter().filter_map(|i| link(i, diag)).collect(),
        bridges: raw.bridges.iter().filter_map(|i| bridge(i, diag)).collect(),
        tunnels: raw.tunnels.iter().filter_map(|i| tunnel(i, diag)).collect(),
        commands: raw
            .commands
            .iter()
            .filter_map(|i| command(i, diag))
            .collect(),
        scales: BTreeMap::new(),
    }
}

/// Reads typed fields out of one item, reporting problems as it goes.
struct Reader<'a> {
    item: &'a RawItem,
    diag: &'a mut Diag,
    ok: bool,
}

impl<'a> Reader<'a> {
    fn new(item: &'a RawItem, diag: &'a mut Diag, known: &[&str]) -> Self {
        let mut r = Reader {
            item,
            diag,
            ok: true,
        };
        for (k, f) in &item.fields {
            if !known.contains(&k.as_str()) {
                let at = match f {
                    super::raw::RawField::One(f) => f.at.clone(),
                    super::raw::RawField::Many { items, .. } => items
                        .first()
                        .map(|f| f.at.clone())
                        .unwrap_or_else(|| item.at().key(k)),
                };
                r.fail(
                    &at,
                    format!("unknown key `{k}` (expected one of: {})", known.join(", ")),
                    None,
                );
            }
        }
        r
    }

    fn fail(&mut self, at: &Origin, msg: impl Into<String>, v: Option<&Value>) {
        self.ok = false;
        match v {
            Some(v) => self.diag.bad(at, msg, v),
            None => self.diag.err(at, msg),
        }
    }

    fn field(&self, key: &str) -> Option<&'a Field> {
        self.item.one(key)
    }

    /// A string field, or an error if it is something else.
    fn string(&mut self, key: &str) -> Option<(&'a str, &'a Origin)> {
        let f = self.field(key)?;
        match &f.value {
            Value::String(s) => Some((s, &f.at)),
            v => {
                self.fail(&f.at, "must be a string", Some(v));
                None
            }
        }
    }

    /// A string field parsed with `parse`; errors carry the parser's message.
    fn parsed<T, E: std::fmt::Display>(
        &mut self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<(T, &'a Origin)> {
        let (s, at) = self.string(key)?;
        match parse(s) {
            Ok(v) => Some((v, at)),
            Err(e) => {
                self.fail(at, e.to_string(), Some(&Value::String(s.into())));
                None
            }
        }
    }

    /// A whole number in `range`, written as a number or (after
    /// interpolation) a numeric string.
    fn number(&mut self, key: &str, lo: u64, hi: u64) -> Option<(u64, &'a Origin)> {
        let f = self.field(key)?;
        let n = match &f.value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if (lo..=hi).contains(&n) => Some((n, &f.at)),
            _ => {
                self.fail(
                    &f.at,
                    format!("must be a whole number from {lo} to {hi}"),
                    Some(&f.value),
                );
                None
            }
        }
    }

    /// A list field's strings parsed with `parse`: the values, their text
    /// and where each was written.
    fn list<T>(
        &mut self,
        key: &str,
        mut parse: impl FnMut(&str) -> Result<T, String>,
    ) -> (Vec<T>, Vec<String>, Vec<Origin>) {
        let mut out = vec![];
        let mut text = vec![];
        let mut at = vec![];
        for f in self.item.many(key) {
            match &f.value {
                Value::String(s) => match parse(s) {
                    Ok(v) => {
                        out.push(v);
                        text.push(s.clone());
                        at.push(f.at.clone());
                    }
                    Err(e) => self.fail(&f.at, e, Some(&f.value)),
                },
                v => self.fail(&f.at, "must be a string", Some(v)),
            }
        }
        (out, text, at)
    }

    /// Exactly one of service/container/netns.
    fn target(&mut self, what: &str) -> Option<Target> {
        let present: Vec<&str> = ["service", "container", "netns"]
            .into_iter()
            .filter(|k| self.field(k).is_some())
            .collect();
        match present.as_slice() {
            [] => {
                let at = self.item.at().clone();
                self.fail(
                    &at,
                    format!("{what} needs one of service, container or netns"),
                    None,
                );
                None
            }
            [key] => {
                let (name, at) = self.string(key)?;
                let bad = if name.is_empty() {
                    Some("must not be empty")
                } else if *key == "netns"
                    && (name == "." || name == ".." || name.contains(['/', '\0']))
                {
                    Some("is not a namespace name (no '/', not '.' or '..')")
                } else {
                    None
                };
                if let Some(msg) = bad {
                    self.fail(at, msg, Some(&Value::String(name.into())));
                    return None;
                }
                Some(match *key {
                    "service" => Target::Service(name.into()),
                    "container" => Target::Container(name.into()),
                    _ => Target::Netns(name.into()),
                })
            }
            several => {
                let at = self.item.at().clone();
                self.fail(
                    &at,
                    format!(
                        "{what} must have exactly one of service, container or netns, not {}",
                        several.join(" and ")
                    ),
                    None,
                );
                None
            }
        }
    }

    /// Report a field that this kind of item must not have.
    fn forbid(&mut self, key: &str, why: &str) {
        if let Some(f) = self.field(key) {
            let at = f.at.clone();
            self.fail(&at, why, Some(&f.value));
        }
    }

    fn require(&mut self, key: &str, why: &str) {
        if self.field(key).is_none() {
            let at = self.item.at().clone();
            self.fail(&at, why, None);
        }
    }
}

/// An interface name conlink creates or uses as a parent: the kernel's
/// rules, and not a name every namespace already has or the kernel keeps
/// for itself.
fn ifname(s: &str) -> Result<IfName, String> {
    let name = IfName::from_str(s).map_err(|e| e.to_string())?;
    match s {
        "lo" => Err("`lo` is reserved: every namespace already has this loopback interface".into()),
        "all" | "default" => Err(format!(
            "`{s}` is reserved: the kernel refuses it as an interface name (it is taken by /proc/sys/net/ipv4/conf/{s})"
        )),
        _ => Ok(name),
    }
}

/// A link address of either family (see [`link_ip4`], [`link_ip6`]).
fn link_ip(s: &str) -> Result<IpNet, String> {
    if s.contains(':') {
        link_ip6(s).map(IpNet::V6)
    } else {
        link_ip4(s).map(IpNet::V4)
    }
}

/// An IPv6 link address: unicast, not the unspecified or loopback address,
/// not IPv4-mapped, and not the subnet-router anycast address of its
/// prefix (all host bits zero) unless the prefix is /127 or /128.
fn link_ip6(s: &str) -> Result<Ipv6Net, String> {
    let net: Ipv6Net = s
        .parse()
        .map_err(|e: crate::net::addr::Ipv6NetError| e.to_string())?;
    let a = net.addr();
    let why = if a.is_unspecified() {
        Some(":: is the unspecified address".to_string())
    } else if a.is_loopback() {
        Some("::1 is the loopback address, which only `lo` may carry".to_string())
    } else if a.is_multicast() {
        Some(format!("{a} is a multicast address (ff00::/8)"))
    } else if a.to_ipv4_mapped().is_some() {
        Some(format!(
            "{a} is an IPv4-mapped address (::ffff:0:0/96); write the IPv4 address itself"
        ))
    } else if net.prefix() < 127 && a == net.network() {
        Some(format!(
            "{a} is the subnet-router anycast address of {}/{}",
            net.network(),
            net.prefix()
        ))
    } else {
        None
    };
    match why {
        Some(why) => Err(format!("{why}, not a usable interface address")),
        None => Ok(net),
    }
}

/// An IPv4 link address: a usable unicast host address of its subnet.
fn link_ip4(s: &str) -> Result<Ipv4Net, String> {
    let net: Ipv4Net = s
        .parse()
        .map_err(|e: crate::net::addr::Ipv4NetError| e.to_string())?;
    let a = net.addr();
    let why = if a.is_unspecified() {
        Some("0.0.0.0 is the unspecified address".to_string())
    } else if a.is_broadcast() {
        Some("255.255.255.255 is the limited broadcast address".to_string())
    } else if a.is_multicast() {
        Some(format!("{a} is a multicast address (224.0.0.0/4)"))
    } else if a.is_loopback() {
        Some(format!(
            "{a} is a loopback address (127.0.0.0/8), which only `lo` may carry"
        ))
    } else if net.prefix() < 31 && a == net.network() {
        Some(format!(
            "{a} is the network address of {}/{}",
            net.network(),
            net.prefix()
        ))
    } else if net.prefix() < 31 && u32::from(a) == u32::from(net.network()) | !net.netmask() {
        Some(format!(
            "{a} is the broadcast address of {}/{}",
            net.network(),
            net.prefix()
        ))
    } else {
        None
    };
    match why {
        Some(why) => Err(format!("{why}, not a usable interface address")),
        None => Ok(net),
    }
}

/// An address of either family; text with a `:` is taken for IPv6, so an
/// IPv4 typo keeps 2.x's IPv4 message.
fn ip_addr(s: &str, v4_example: &str, v6_example: &str) -> Result<IpAddr, String> {
    s.parse::<IpAddr>().map_err(|_| {
        if s.contains(':') {
            format!("not an IPv6 address (like {v6_example})")
        } else {
            format!("not an IPv4 address (like {v4_example})")
        }
    })
}

/// `ip`: one address as a string (2.x), or a list of them (dual stack:
/// `[10.0.1.1/24, "fd00:1::1/64"]`). The list is one value: a later
/// definition replaces it whole, as it replaces a string. Returns the
/// addresses and whether they were written as a list.
fn link_ips(r: &mut Reader<'_>) -> Option<(Vec<IpNet>, bool)> {
    let f = r.field("ip")?;
    let (items, list): (Vec<(&Value, Origin)>, bool) = match &f.value {
        Value::Array(vs) => (
            vs.iter()
                .enumerate()
                .map(|(i, v)| (v, f.at.index(i)))
                .collect(),
            true,
        ),
        v => (vec![(v, f.at.clone())], false),
    };
    if list && items.is_empty() {
        r.fail(
            &f.at,
            "an empty list; leave `ip` out for a link without addresses",
            Some(&f.value),
        );
        return None;
    }
    let mut out: Vec<IpNet> = Vec::with_capacity(items.len());
    let mut ok = true;
    for (v, at) in items {
        let Value::String(s) = v else {
            let msg = if list {
                "must be a string (an address like 10.0.1.1/24 or fd00:1::1/64)"
            } else {
                "must be a string or a list of strings"
            };
            r.fail(&at, msg, Some(v));
            ok = false;
            continue;
        };
        match link_ip(s) {
            Ok(n) if out.iter().any(|o| o.addr() == n.addr()) => {
                r.fail(&at, format!("{} is given twice", n.addr()), Some(v));
                ok = false;
            }
            Ok(n) => out.push(n),
            Err(e) => {
                r.fail(&at, e, Some(v));
                ok = false;
            }
        }
    }
    ok.then_some((out, list))
}

fn macvlan_mode(s: &str) -> Result<MacvlanMode, String> {
    Ok(match s {
        "private" => MacvlanMode::Private,
        "vepa" => MacvlanMode::Vepa,
        "bridge" => MacvlanMode::Bridge,
        "passthru" => MacvlanMode::Passthru,
        "source" => MacvlanMode::Source,
        _ => return Err("not a macvlan mode (private, vepa, bridge, passthru, source)".into()),
    })
}

fn ipvlan_mode(s: &str) -> Result<IpvlanMode, String> {
    Ok(match s {
        "l2" => IpvlanMode::L2,
        "l3" => IpvlanMode::L3,
        "l3s" => IpvlanMode::L3s,
        _ => return Err("not an ipvlan mode (l2, l3, l3s)".into()),
    })
}

fn link(item: &RawItem, diag: &mut Diag) -> Option<(Link, LinkAt)> {
    let mut r = Reader::new(item, diag, LINK_KEYS);
    let target = r.target("a link");
    let type_name = match r.string("type") {
        Some((t, _)) => t,
        None if r.field("type").is_some() => "",
        None => "veth",
    };
    let kind_name = match type_name {
        "veth" | "dummy" | "vlan" | "macvlan" | "macvtap" | "ipvlan" | "ipvtap" => Some(type_name),
        "" => None,
        other => {
            let at = r
                .field("type")
                .map(|f| f.at.clone())
                .unwrap_or_else(|| item.at().clone());
            r.fail(
                &at,
                "unknown link type (veth, dummy, vlan, macvlan, macvtap, ipvlan, ipvtap)",
                Some(&Value::String(other.into())),
            );
            None
        }
    };
    let dev = match r.field("dev") {
        None => IfName::from_str("eth0").ok(),
        Some(_) => r.parsed("dev", ifname).map(|(v, _)| v),
    };
    let outer = r.parsed("outer-dev", ifname);
    let bridge = r.parsed("bridge", ifname);
    let ip = link_ips(&mut r);
    let mac = r.parsed("mac", |s| s.parse::<MacAddr>().map_err(|e| e.to_string()));
    let mtu = r.number("mtu", 68, 65535).map(|(v, _)| v as u32);
    let nat = r.parsed("nat", |s| ip_addr(s, "10.0.0.100", "fd00::100"));
    let (routes, route_text, route_at) = r.list("route", route::parse_route);
    let (fwds, forward_text, _) = r.list("forward", forward::parse_forward);
    let (offload_lists, ethtool_text, _) = r.list("ethtool", ethtool::parse_ethtool);
    let netem = netem_field(&mut r);

    let mut kind = None;
    if let Some(k) = kind_name {
        let vlan_like = matches!(k, "macvlan" | "macvtap" | "ipvlan" | "ipvtap");
        if k == "veth" {
            r.require(
                "bridge",
                "a veth link needs `bridge` (the bridge its outer end joins)",
            );
        } else {
            r.forbid(
                "bridge",
                &format!("only veth links join a bridge, not {k} links"),
            );
        }
        if !vlan_like {
            r.forbid(
                "mode",
                &format!("`mode` is for macvlan, macvtap, ipvlan and ipvtap links, not {k}"),
            );
        }
        if k == "vlan" {
            r.require("vlanid", "a vlan link needs `vlanid`");
        } else {
            r.forbid(
                "vlanid",
                &format!("`vlanid` is only for vlan links, not {k}"),
            );
        }
        if k == "dummy" {
            r.forbid(
                "outer-dev",
                "dummy links have no outer side, so no `outer-dev`",
            );
        } else if k != "veth" {
            r.require(
                "outer-dev",
                &format!(
                    "a {k} link needs `outer-dev` (its parent interface in the host namespace)"
                ),
            );
        }
        if matches!(k, "ipvlan" | "ipvtap") {
            r.forbid(
                "mac",
                &format!("{k} links share their parent's MAC; `mac` cannot be set"),
            );
        }
        if k != "veth" && !r.item.many("forward").is_empty() {
            let at = r.item.many("forward")[0].at.clone();
            r.fail(&at, format!("`forward` needs a veth link, not {k}"), None);
        }
        kind = match k {
            "veth" => Some(LinkKind::Veth),
            "dummy" => Some(LinkKind::Dummy),
            "vlan" => r
                .number("vlanid", 0, 4094)
                .map(|(v, _)| LinkKind::Vlan { vlanid: v as u16 }),
            "macvlan" | "macvtap" => {
                let mode = match r.field("mode") {
                    None => Some(MacvlanMode::Vepa), // the kernel's default
                    Some(_) => r.parsed("mode", macvlan_mode).map(|(m, _)| m),
                };
                mode.map(|mode| match k {
                    "macvlan" => LinkKind::Macvlan { mode },
                    _ => LinkKind::Macvtap { mode },
                })
            }
            _ => {
                let mode = match r.field("mode") {
                    None => Some(IpvlanMode::L3), // the kernel's default
                    Some(_) => r.parsed("mode", ipvlan_mode).map(|(m, _)| m),
                };
                mode.map(|mode| match k {
                    "ipvlan" => LinkKind::Ipvlan { mode },
                    _ => LinkKind::Ipvtap { mode },
                })
            }
        };
    }
    if let Some((_, at)) = &nat {
        if r.field("ip").is_none() {
            let at = (*at).clone();
            r.fail(
                &at,
                "`nat` needs the link's `ip` (the address it translates to)",
                None,
            );
        } else if let (Some((ips, _)), Some((n, _))) = (&ip, &nat) {
            if !ips.iter().any(|i| i.is_ipv6() == n.is_ipv6()) {
                let at = (*at).clone();
                let fam = if n.is_ipv6() { "IPv6" } else { "IPv4" };
                r.fail(
                    &at,
                    format!("`nat` (an {fam} address) needs an {fam} address in the link's `ip`"),
                    Some(&Value::String(n.to_string())),
                );
            }
        }
    }
    if !r.item.many("forward").is_empty() && r.field("ip").is_none() {
        let at = r.item.many("forward")[0].at.clone();
        r.fail(
            &at,
            "`forward` needs the link's `ip` (where traffic is forwarded to)",
            None,
        );
    }
    if !r.ok {
        return None;
    }
    let at = LinkAt {
        bridge: bridge.as_ref().map(|(_, a)| (*a).clone()),
        outer_dev: outer.as_ref().map(|(_, a)| (*a).clone()),
        forward: item.many("forward").first().map(|f| f.at.clone()),
        route: route_at,
    };
    let link = Link {
        target: target?,
        kind: kind?,
        dev: dev?,
        outer_dev: outer.map(|(v, _)| v),
        bridge: bridge.map(|(v, _)| v.to_string()),
        ip: ip.as_ref().map(|(v, _)| v.clone()).unwrap_or_default(),
        mac: mac.map(|(v, _)| v),
        mac_generated: false,
        mtu,
        routes,
        netem: netem.0,
        offloads: offload_lists.into_iter().flatten().collect(),
        nat: nat.map(|(v, _)| v),
        forwards: fwds,
        text: LinkText {
            ip_list: ip.as_ref().is_some_and(|(_, list)| *list),
            route: route_text,
            netem: netem.1,
            forward: forward_text,
            ethtool: ethtool_text,
        },
        origin: item.at().clone(),
    };
    Some((link, at))
}

/// The `netem` list: every string must be a string, and the strings
/// together must form one valid set of options.
fn netem_field(r: &mut Reader<'_>) -> (Option<crate::net::netem::Netem>, Vec<String>) {
    let fields = r.item.many("netem");
    let mut texts = vec![];
    for f in fields {
        match &f.value {
            Value::String(s) => texts.push(s.clone()),
            v => r.fail(&f.at, "must be a string", Some(v)),
        }
    }
    if texts.is_empty() || texts.len() != fields.len() {
        return (None, texts);
    }
    match netem::parse_netem_list(texts.iter().map(String::as_str)) {
        Ok(n) => (Some(n), texts),
        Err((i, e)) => {
            let f = &fields[i];
            r.fail(&f.at, e, Some(&f.value));
            (None, texts)
        }
    }
}

fn bridge_mode(s: &str) -> Result<BridgeMode, String> {
    Ok(match s {
        "auto" => BridgeMode::Auto,
        "linux" => BridgeMode::Linux,
        "ovs" => BridgeMode::Ovs,
        "patch" => BridgeMode::Patch,
        _ => return Err("not a bridge mode (auto, linux, ovs, patch)".into()),
    })
}

fn bridge(item: &RawItem, diag: &mut Diag) -> Option<DeclaredBridge> {
    let mut r = Reader::new(item, diag, BRIDGE_KEYS);
    r.require("bridge", "a bridge needs `bridge` (its name)");
    let name = r.parsed("bridge", ifname);
    let mode = r.parsed("mode", bridge_mode);
    if !r.ok {
        return None;
    }
    Some(DeclaredBridge {
        at: item.at().clone(),
        name: name?.0.to_string(),
        mode: mode.as_ref().map(|(m, _)| *m),
        mode_at: mode.map(|(_, at)| at.clone()),
    })
}

fn tunnel(item: &RawItem, diag: &mut Diag) -> Option<(TunnelSpec, Origin)> {
    let mut r = Reader::new(item, diag, TUNNEL_KEYS);
    for (k, why) in [
        ("type", "a tunnel needs `type` (geneve or vxlan)"),
        ("bridge", "a tunnel needs `bridge`"),
        (
            "remote",
            "a tunnel needs `remote` (the other host's IPv4 address)",
        ),
        ("vni", "a tunnel needs `vni`"),
    ] {
        r.require(k, why);
    }
    let kind = r.parsed("type", |s| match s {
        "vxlan" => Ok(TunnelKind::Vxlan),
        "geneve" => Ok(TunnelKind::Geneve),
        _ => Err("not a tunnel type (geneve, vxlan)"),
    });
    let bridge = r.parsed("bridge", ifname);
    let remote = r.parsed("remote", |s| ip_addr(s, "192.168.1.2", "fd00::2"));
    let vni = r.number("vni", 0, 16_777_215);
    // UDP port 0 would ask the kernel for its default: say so by leaving
    // `port` out instead.
    let port = r.number("port", 1, 65535).map(|(p, _)| p as u16);
    let netem = netem_field(&mut r).0;
    if !r.ok {
        return None;
    }
    Some((
        TunnelSpec {
            kind: kind?.0,
            vni: vni?.0 as u32,
            remote: remote?.0,
            bridge: bridge?.0.to_string(),
            netem,
            port,
        },
        item.at().clone(),
    ))
}

fn command(item: &RawItem, diag: &mut Diag) -> Option<Command> {
    let mut r = Reader::new(item, diag, COMMAND_KEYS);
    let target = r.target("a command");
    r.require(
        "command",
        "a command needs `command` (a string for sh -c, or a list to exec)",
    );
    let line = r.field("command").and_then(|f| {
        let cl = match &f.value {
            Value::String(s) if !s.trim().is_empty() => Some(CommandLine::Shell(s.clone())),
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .filter(|v| !v[0].is_empty())
                .map(CommandLine::Exec),
            _ => None,
        };
        if cl.is_none() {
            let at = f.at.clone();
            r.fail(
                &at,
                "must be a non-empty string or a non-empty list of strings",
                Some(&f.value),
            );
        }
        cl
    });
    if !r.ok {
        return None;
    }
    Some(Command {
        target: target?,
        command: line?,
        origin: item.at().clone(),
    })
}
