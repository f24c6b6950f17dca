//! What the daemon asks of the model: per-instance link specs (replica
//! offsets applied, outer-dev named) and which links and commands belong to
//! a container or namespace.

use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::net::addr::{IfName, IpNet, Ipv4Net, Ipv6Net, MacAddr};
use crate::net::spec::{BridgeSpec, Forward, LinkKind, LinkSpec, TunnelSpec};

use super::model::{Base, Command, Link, Network, Target};

/// A replica offset that does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OffsetError {
    #[error("{target}:{dev}: ip {ip} + {offset} (replica {index}) leaves the subnet {ip}")]
    Ip {
        target: String,
        dev: String,
        ip: IpNet,
        offset: u32,
        index: u32,
    },
    #[error("{target}:{dev}: mac {mac} + {offset} (replica {index}) overflows its first octet")]
    Mac {
        target: String,
        dev: String,
        mac: MacAddr,
        offset: u32,
        index: u32,
    },
    #[error("{target}:{dev}: forward port {port} + {offset} (replica {index}) exceeds 65535")]
    Port {
        target: String,
        dev: String,
        port: u16,
        offset: u32,
        index: u32,
    },
}

/// 2.x's outer-dev name: `<service>_<index>-<dev>`, `<container>-<dev>`,
/// `<netns>-<dev>`, if that is a valid interface name (≤ 15 bytes, no `/`,
/// `:` or whitespace).
pub fn static_outer_dev(target: &Target, index: u32, dev: &IfName) -> Option<IfName> {
    let s = match target {
        Target::Service(s) => format!("{s}_{index}-{dev}"),
        Target::Container(c) | Target::Netns(c) => format!("{c}-{dev}"),
    };
    s.parse().ok()
}

/// The outer end's name of a veth link for replica `index` (1 for
/// containers and namespaces): 2.x's name ([`static_outer_dev`]) when it
/// fits, else [`hashed_outer_dev`].
///
/// It depends only on the config (target kind and name, index, dev), never
/// on a container id: a container keeps its name across restarts, not its
/// id, and `--check` must be able to compute every name.
pub fn outer_dev_name(target: &Target, index: u32, dev: &IfName) -> IfName {
    static_outer_dev(target, index, dev).unwrap_or_else(|| hashed_outer_dev(target, index, dev))
}

/// Characters of the target's name kept in a hashed name's prefix.
const PREFIX_LEN: usize = 6;
/// RFC 4648 base32, lower case: 5 bits per character.
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The name for a link whose 2.x name does not fit: up to the first 6
/// characters of the target's name that are ASCII letters, digits, `_`, `.`
/// or `-` (`c` when none are), then `-`, then 8 base32 characters of a
/// 40-bit hash of (target kind, target name, index, dev): e.g.
/// `verylo-k3x9…`, at most 15 characters.
///
/// The hash is FNV-1a (64-bit) over a length-prefixed encoding of the four
/// parts, finished with MurmurHash3's fmix64, top 40 bits: fixed here, so
/// a name never changes between runs, processes or conlink versions (a
/// unit test pins a value).
pub fn hashed_outer_dev(target: &Target, index: u32, dev: &IfName) -> IfName {
    let mut prefix: String = target
        .name()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .take(PREFIX_LEN)
        .collect();
    if prefix.is_empty() {
        prefix.push('c');
    }
    let h = name_hash(target, index, dev) >> 24; // top 40 bits
    let mut name = prefix;
    name.push('-');
    for i in (0..8).rev() {
        name.push(BASE32[((h >> (i * 5)) & 31) as usize] as char);
    }
    // Only ASCII from the sets above, ≤ 6 + 1 + 8 bytes, never `.`/`..`:
    // always a valid interface name.
    IfName::from_str(&name).expect("hashed outer-dev names are valid interface names")
}

/// The stable 64-bit hash behind [`hashed_outer_dev`].
fn name_hash(target: &Target, index: u32, dev: &IfName) -> u64 {
    let mut h = Fnv1a::default();
    for part in [
        target.key().as_bytes(),
        target.name().as_bytes(),
        index.to_string().as_bytes(),
        dev.as_str().as_bytes(),
    ] {
        // Length-prefixed, so no two different tuples encode the same.
        h.write(&(part.len() as u64).to_le_bytes());
        h.write(part);
    }
    fmix64(h.0)
}

/// FNV-1a, 64-bit: small and fully specified (std's hashers may change
/// between Rust versions and `RandomState` between processes).
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// MurmurHash3's 64-bit finaliser: FNV's high bits mix poorly on short
/// inputs, and the name takes the high bits.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

impl Link {
    /// Where the outer side lives: conlink's namespace for veth, the host
    /// for *vlan/*vtap, none for dummy.
    pub fn base(&self) -> Base {
        match self.kind {
            LinkKind::Veth => Base::Conlink,
            LinkKind::Dummy => Base::Local,
            _ => Base::Host,
        }
    }

    /// The spec for one instance: `index` is the compose container-number
    /// (1 for plain containers and namespaces). ip, mac and forward ports
    /// are offset by index − 1.
    ///
    /// `_container_id` is unused: the outer-dev name depends only on the
    /// config ([`outer_dev_name`]). It stays in the signature for callers.
    pub fn instance(&self, index: u32, _container_id: &str) -> Result<LinkSpec, OffsetError> {
        let offset = index.saturating_sub(1);
        let target = self.target.name().to_owned();
        let dev = self.dev.to_string();
        let ip = self
            .ip
            .iter()
            .map(|&ip| {
                offset_net(ip, offset).ok_or(OffsetError::Ip {
                    target: target.clone(),
                    dev: dev.clone(),
                    ip,
                    offset,
                    index,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mac = match self.mac {
            Some(mac) => Some(offset_mac(mac, offset).ok_or(OffsetError::Mac {
                target: target.clone(),
                dev: dev.clone(),
                mac,
                offset,
                index,
            })?),
            None => None,
        };
        let forwards = self
            .forwards
            .iter()
            .map(|f| {
                u16::try_from(u32::from(f.conlink_port) + offset)
                    .map(|p| Forward {
                        conlink_port: p,
                        ..*f
                    })
                    .map_err(|_| OffsetError::Port {
                        target: target.clone(),
                        dev: dev.clone(),
                        port: f.conlink_port,
                        offset,
                        index,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let outer_dev = match (&self.outer_dev, self.base()) {
            (Some(o), _) => Some(o.clone()),
            (None, Base::Conlink) => Some(outer_dev_name(&self.target, index, &self.dev)),
            (None, _) => None,
        };
        Ok(LinkSpec {
            kind: self.kind,
            dev: self.dev.clone(),
            outer_dev,
            bridge: self.bridge.clone(),
            ip,
            mac,
            mtu: self.mtu,
            routes: self.routes.clone(),
            netem: self.netem.clone(),
            offloads: self.offloads.clone(),
            nat: self.nat,
            forwards,
        })
    }
}

/// `ip + offset`, staying inside the subnet and off its broadcast address.
pub(crate) fn offset_ip(ip: Ipv4Net, offset: u32) -> Option<Ipv4Net> {
    if offset == 0 {
        return Some(ip);
    }
    let a = Ipv4Addr::from(u32::from(ip.addr()).checked_add(offset)?);
    let broadcast = u32::from(ip.network()) | !ip.netmask();
    if !ip.contains(a) || (ip.prefix() < 31 && u32::from(a) == broadcast) {
        return None;
    }
    Ipv4Net::new(a, ip.prefix())
}

/// `ip + offset` (IPv6: `…::1 + offset` as a 128-bit number), staying
/// inside the prefix.
fn offset_ip6(ip: Ipv6Net, offset: u32) -> Option<Ipv6Net> {
    if offset == 0 {
        return Some(ip);
    }
    let a = std::net::Ipv6Addr::from(u128::from(ip.addr()).checked_add(u128::from(offset))?);
    if !ip.contains(a) {
        return None;
    }
    Ipv6Net::new(a, ip.prefix())
}

/// [`offset_ip`] for either family.
pub(crate) fn offset_net(ip: IpNet, offset: u32) -> Option<IpNet> {
    match ip {
        IpNet::V4(n) => offset_ip(n, offset).map(IpNet::V4),
        IpNet::V6(n) => offset_ip6(n, offset).map(IpNet::V6),
    }
}

/// `mac + offset` as a 48-bit number, keeping the first octet (so the
/// address stays unicast and locally administered as configured).
fn offset_mac(mac: MacAddr, offset: u32) -> Option<MacAddr> {
    let o = mac.octets();
    let n = o.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)) + u64::from(offset);
    let b = n.to_be_bytes();
    (b[2] == o[0])
        .then(|| MacAddr::new([b[2], b[3], b[4], b[5], b[6], b[7]]))
        .flatten()
}

impl Network {
    /// Links of a compose container (its service's links, then any links
    /// naming the container itself), in config order.
    pub fn links_for_container<'a>(
        &'a self,
        service: Option<&'a str>,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Link> + 'a {
        self.links
            .iter()
            .filter(move |l| matches_container(&l.target, service, name))
    }

    /// Commands of a compose container, like [`Network::links_for_container`].
    pub fn commands_for_container<'a>(
        &'a self,
        service: Option<&'a str>,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Command> + 'a {
        self.commands
            .iter()
            .filter(move |c| matches_container(&c.target, service, name))
    }

    /// Links whose target is exactly this one (e.g. a named namespace).
    pub fn links_for<'a>(&'a self, target: &'a Target) -> impl Iterator<Item = &'a Link> + 'a {
        self.links.iter().filter(move |l| &l.target == target)
    }

    pub fn commands_for<'a>(
        &'a self,
        target: &'a Target,
    ) -> impl Iterator<Item = &'a Command> + 'a {
        self.commands.iter().filter(move |c| &c.target == target)
    }

    /// Every distinct target with links or commands, in first-use order.
    pub fn targets(&self) -> Vec<&Target> {
        let mut seen = std::collections::HashSet::new();
        self.links
            .iter()
            .map(|l| &l.target)
            .chain(self.commands.iter().map(|c| &c.target))
            .filter(|t| seen.insert(*t))
            .collect()
    }

    /// Names of the named namespaces the config targets.
    pub fn netns_names(&self) -> Vec<&str> {
        self.targets()
            .into_iter()
            .filter_map(|t| match t {
                Target::Netns(n) => Some(n.as_str()),
                _ => None,
            })
            .collect()
    }

    /// True when nothing needs a container engine (only `netns:` targets).
    pub fn only_netns_targets(&self) -> bool {
        self.targets().iter().all(|t| matches!(t, Target::Netns(_)))
    }

    pub fn bridge(&self, name: &str) -> Option<&BridgeSpec> {
        self.bridges.get(name)
    }

    pub fn tunnels(&self) -> &[TunnelSpec] {
        &self.tunnels
    }

    /// How many links and tunnels must exist before "All links connected":
    /// each service link once per known replica (`replicas(service)`), every
    /// container and namespace link once, every tunnel once.
    pub fn expected_link_count(&self, replicas: impl Fn(&str) -> u32) -> usize {
        let links: usize = self
            .links
            .iter()
            .map(|l| match &l.target {
                Target::Service(s) => replicas(s) as usize,
                _ => 1,
            })
            .sum();
        links + self.tunnels.len()
    }
}

fn matches_container(t: &Target, service: Option<&str>, name: &str) -> bool {
    match t {
        Target::Service(s) => Some(s.as_str()) == service,
        Target::Container(c) => c == name,
        Target::Netns(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> IfName {
        s.parse().unwrap()
    }

    #[test]
    fn outer_dev_names_keep_2x_names_that_fit() {
        let svc = Target::Service("node".into());
        assert_eq!(outer_dev_name(&svc, 3, &n("eth0")).as_str(), "node_3-eth0");
        let c = Target::Container("r1".into());
        assert_eq!(outer_dev_name(&c, 1, &n("eth1")).as_str(), "r1-eth1");
        let ns = Target::Netns("ns-a".into());
        assert_eq!(outer_dev_name(&ns, 1, &n("eth0")).as_str(), "ns-a-eth0");
        // Exactly 15 bytes still fits.
        let c = Target::Container("abcdefghij".into());
        assert_eq!(
            outer_dev_name(&c, 1, &n("eth0")).as_str(),
            "abcdefghij-eth0"
        );
    }

    #[test]
    fn hashed_outer_dev_names_are_pinned() {
        // These values must never change: a restarted conlink (or a newer
        // one) must find the outer ends an earlier run made.
        let long = Target::Service("verylongservice".into());
        let got = outer_dev_name(&long, 2, &n("eth1234567"));
        assert_eq!(got.as_str(), PINNED_SERVICE);
        let ns = Target::Netns("verylongns-a".into());
        assert_eq!(outer_dev_name(&ns, 1, &n("eth0")).as_str(), PINNED_NETNS);
        // The examples in docs/configuration.md.
        let ns_b = Target::Netns("verylongns-b".into());
        assert_eq!(
            outer_dev_name(&ns_b, 1, &n("eth0")).as_str(),
            "verylo-jydozyje"
        );
        for name in [PINNED_SERVICE, PINNED_NETNS] {
            assert_eq!(name.len(), 15, "{name}");
        }
        assert!(PINNED_SERVICE.starts_with("verylo-"));
    }

    // Also computed by an independent implementation of the rule (Python)
    // when they were pinned.
    const PINNED_SERVICE: &str = "verylo-jp56sypg";
    const PINNED_NETNS: &str = "verylo-fbdwfgqi";

    #[test]
    fn hashed_outer_dev_names_differ_where_2x_collided() {
        let eth0 = n("eth0");
        // Two namespaces sharing their first 8 characters (2.x: both
        // `cverylong-eth0`).
        let a = outer_dev_name(&Target::Netns("verylongns-a".into()), 1, &eth0);
        let b = outer_dev_name(&Target::Netns("verylongns-b".into()), 1, &eth0);
        assert_ne!(a, b);
        // Two devs sharing their first 5 characters on one long target.
        let t = Target::Container("a-long-container".into());
        let d1 = outer_dev_name(&t, 1, &n("ethernet1"));
        let d2 = outer_dev_name(&t, 1, &n("ethernet2"));
        assert_ne!(d1, d2);
        let s = Target::Service("a-long-service".into());
        assert_ne!(
            outer_dev_name(&s, 1, &n("eth-s1")),
            outer_dev_name(&s, 1, &n("eth-s2"))
        );
        // Replicas.
        let r: std::collections::HashSet<IfName> =
            (1..=1000).map(|i| outer_dev_name(&s, i, &eth0)).collect();
        assert_eq!(r.len(), 1000);
        // The target kind counts: a service and a container of one name.
        assert_ne!(
            hashed_outer_dev(&Target::Service("x".into()), 1, &eth0),
            hashed_outer_dev(&Target::Container("x".into()), 1, &eth0)
        );
    }

    #[test]
    fn hashed_outer_dev_names_are_valid_and_readable() {
        for (target, want_prefix) in [
            (
                Target::Netns("a very long namespace name".into()),
                "averyl-",
            ),
            (Target::Netns("::::::::::::::::::::".into()), "c-"),
            (Target::Netns("ünïcödé-namespace-name".into()), "ncd-na-"),
            (Target::Container("x".repeat(300)), "xxxxxx-"),
        ] {
            let name = outer_dev_name(&target, 1, &n("eth0"));
            let s = name.as_str();
            assert!(s.starts_with(want_prefix), "{s}");
            assert_eq!(s.len(), want_prefix.len() + 8, "{s}");
            assert!(
                s[want_prefix.len()..].bytes().all(|b| BASE32.contains(&b)),
                "{s}"
            );
            assert_eq!(s.parse::<IfName>().as_ref(), Ok(&name));
        }
    }

    #[test]
    fn instance_names_do_not_depend_on_the_container_id() {
        let link = Link {
            target: Target::Service("a-long-service-name".into()),
            kind: LinkKind::Veth,
            dev: n("eth0"),
            outer_dev: None,
            bridge: Some("s1".into()),
            ip: vec![],
            mac: None,
            mac_generated: false,
            mtu: None,
            routes: vec![],
            netem: None,
            offloads: vec![],
            nat: None,
            forwards: vec![],
            text: Default::default(),
            origin: super::super::errors::Origin::new("f".into(), "links[0]"),
        };
        let a = link.instance(2, "0123456789abcdef").unwrap().outer_dev;
        let b = link.instance(2, "fedcba9876543210").unwrap().outer_dev;
        assert_eq!(a, b);
        assert_eq!(
            a,
            Some(outer_dev_name(&link.target, 2, &link.dev)),
            "instance uses outer_dev_name"
        );
    }

    #[test]
    fn ip_offsets_stay_in_subnet() {
        let ip: Ipv4Net = "10.0.1.1/24".parse().unwrap();
        assert_eq!(offset_ip(ip, 4).unwrap().to_string(), "10.0.1.5/24");
        assert_eq!(offset_ip(ip, 253).unwrap().to_string(), "10.0.1.254/24");
        assert_eq!(offset_ip(ip, 254), None, "broadcast");
        assert_eq!(offset_ip(ip, 300), None);
        let host: Ipv4Net = "10.0.1.1/32".parse().unwrap();
        assert_eq!(offset_ip(host, 0), Some(host));
        assert_eq!(offset_ip(host, 1), None);
        let top: Ipv4Net = "255.255.255.255/0".parse().unwrap();
        assert_eq!(offset_ip(top, 1), None);
    }

    #[test]
    fn ipv6_offsets_count_up_inside_the_prefix() {
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        let ip = net("fd00:1::1/64");
        assert_eq!(offset_net(ip, 0), Some(ip));
        assert_eq!(offset_net(ip, 4).unwrap().to_string(), "fd00:1::5/64");
        assert_eq!(offset_net(ip, 255).unwrap().to_string(), "fd00:1::100/64");
        // The whole host part may be used (no broadcast in IPv6) …
        let top = net("fd00:1::ffff:ffff:ffff:fffe/64");
        assert_eq!(
            offset_net(top, 1).unwrap().to_string(),
            "fd00:1::ffff:ffff:ffff:ffff/64"
        );
        // … but not beyond it.
        assert_eq!(offset_net(top, 2), None);
        assert_eq!(offset_net(net("fd00::ff/120"), 1), None);
        assert_eq!(offset_net(net("fd00::1/128"), 1), None);
        let max = net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/0");
        assert_eq!(offset_net(max, 1), None, "u128 overflow");
        // IPv4 through the same door keeps its rules.
        assert_eq!(offset_net(net("10.0.1.1/24"), 254), None, "broadcast");
    }

    #[test]
    fn dual_stack_replica_offsets_and_their_errors() {
        let mut link = Link {
            target: Target::Service("node".into()),
            kind: LinkKind::Veth,
            dev: n("eth0"),
            outer_dev: None,
            bridge: Some("s1".into()),
            ip: vec![
                "10.0.1.1/24".parse().unwrap(),
                "fd00:1::1/64".parse().unwrap(),
            ],
            mac: None,
            mac_generated: false,
            mtu: None,
            routes: vec![],
            netem: None,
            offloads: vec![],
            nat: None,
            forwards: vec![],
            text: Default::default(),
            origin: super::super::errors::Origin::new("f".into(), "links[0]"),
        };
        let s = link.instance(3, "x").unwrap();
        let got: Vec<String> = s.ip.iter().map(ToString::to_string).collect();
        assert_eq!(got, ["10.0.1.3/24", "fd00:1::3/64"]);
        link.ip[1] = "fd00:1::fe/120".parse().unwrap();
        let e = link.instance(3, "x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "node:eth0: ip fd00:1::fe/120 + 2 (replica 3) leaves the subnet fd00:1::fe/120"
        );
    }

    #[test]
    fn mac_offsets_carry_but_keep_first_octet() {
        let m: MacAddr = "c2:00:00:00:00:ff".parse().unwrap();
        assert_eq!(offset_mac(m, 1).unwrap().to_string(), "c2:00:00:00:01:00");
        let m: MacAddr = "c2:ff:ff:ff:ff:ff".parse().unwrap();
        assert_eq!(offset_mac(m, 1), None);
    }
}
