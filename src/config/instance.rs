//! What the daemon asks of the model: per-instance link specs (replica
//! offsets applied, outer-dev named) and which links and commands belong to
//! a container or namespace.

use std::net::Ipv4Addr;

use crate::net::addr::{IfName, Ipv4Net, MacAddr};
use crate::net::spec::{BridgeSpec, Forward, LinkKind, LinkSpec, TunnelSpec};

use super::model::{Base, Command, Link, Network, Target};

/// A replica offset that does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OffsetError {
    #[error("{target}:{dev}: ip {ip} + {offset} (replica {index}) leaves the subnet {ip}")]
    Ip {
        target: String,
        dev: String,
        ip: Ipv4Net,
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

/// The outer-dev name when it does not depend on the container id:
/// `<service>_<index>-<dev>`, `<container>-<dev>`, `<netns>-<dev>`, if that
/// is a valid interface name (≤ 15 characters).
pub fn static_outer_dev(target: &Target, index: u32, dev: &IfName) -> Option<IfName> {
    let s = match target {
        Target::Service(s) => format!("{s}_{index}-{dev}"),
        Target::Container(c) | Target::Netns(c) => format!("{c}-{dev}"),
    };
    s.parse().ok()
}

/// The outer end's name of a veth link (2.x rules): the static name when it
/// fits, else `c<first 8 of container id>-<first 5 of dev>`. Namespaces and
/// containers without an id use a stable hash of their name instead.
pub fn outer_dev_name(target: &Target, index: u32, container_id: &str, dev: &IfName) -> IfName {
    if let Some(n) = static_outer_dev(target, index, dev) {
        return n;
    }
    let id: String = if container_id.is_empty() || !container_id.is_ascii() {
        format!("{:016x}", fnv1a(target.name().as_bytes()))
    } else {
        container_id.to_owned()
    };
    let short: String = dev.as_str().chars().take(5).collect();
    format!("c{}-{short}", &id[..id.len().min(8)])
        .parse()
        .or_else(|_| format!("c{:08x}", fnv1a(id.as_bytes()) as u32).parse())
        .unwrap_or_else(|_| dev.clone())
}

/// FNV-1a: a small stable hash (names must not change between runs).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
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
    /// (1 for plain containers and namespaces), `container_id` the engine's
    /// id ("" for namespaces). ip, mac and forward ports are offset by
    /// index − 1.
    pub fn instance(&self, index: u32, container_id: &str) -> Result<LinkSpec, OffsetError> {
        let offset = index.saturating_sub(1);
        let target = self.target.name().to_owned();
        let dev = self.dev.to_string();
        let ip = match self.ip {
            Some(ip) => Some(offset_ip(ip, offset).ok_or(OffsetError::Ip {
                target: target.clone(),
                dev: dev.clone(),
                ip,
                offset,
                index,
            })?),
            None => None,
        };
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
            (None, Base::Conlink) => {
                Some(outer_dev_name(&self.target, index, container_id, &self.dev))
            }
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
fn offset_ip(ip: Ipv4Net, offset: u32) -> Option<Ipv4Net> {
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
        let mut out: Vec<&Target> = vec![];
        for t in self
            .links
            .iter()
            .map(|l| &l.target)
            .chain(self.commands.iter().map(|c| &c.target))
        {
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out
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
    fn outer_dev_names_follow_2x() {
        let svc = Target::Service("node".into());
        assert_eq!(
            outer_dev_name(&svc, 3, "abcdef0123456789", &n("eth0")).as_str(),
            "node_3-eth0"
        );
        let c = Target::Container("r1".into());
        assert_eq!(
            outer_dev_name(&c, 1, "abcdef0123456789", &n("eth1")).as_str(),
            "r1-eth1"
        );
        let long = Target::Service("verylongservice".into());
        assert_eq!(
            outer_dev_name(&long, 2, "abcdef0123456789", &n("eth1234567")).as_str(),
            "cabcdef01-eth12"
        );
        let ns = Target::Netns("a-very-long-namespace".into());
        let a = outer_dev_name(&ns, 1, "", &n("eth0"));
        assert_eq!(a, outer_dev_name(&ns, 1, "", &n("eth0")), "stable");
        assert!(
            a.as_str().starts_with('c') && a.as_str().ends_with("-eth0") && a.as_str().len() == 14
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
    fn mac_offsets_carry_but_keep_first_octet() {
        let m: MacAddr = "c2:00:00:00:00:ff".parse().unwrap();
        assert_eq!(offset_mac(m, 1).unwrap().to_string(), "c2:00:00:00:01:00");
        let m: MacAddr = "c2:ff:ff:ff:ff:ff".parse().unwrap();
        assert_eq!(offset_mac(m, 1), None);
    }
}
