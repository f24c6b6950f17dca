//! What the kernel told us about interfaces and addresses in this network
//! namespace, rebuilt from netlink link/address messages (dump replies and
//! multicast notifications alike), and the questions `-i` and `-I` ask of it.

use std::collections::HashMap;
use std::net::IpAddr;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Link {
    name: String,
    up: bool,
}

/// One address on an interface, as far as `-I` cares.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Addr {
    ip: IpAddr,
    prefix_len: u8,
    /// Global/site scope and neither tentative nor failed DAD: a server can
    /// bind to it and peers can reach it.
    usable: bool,
}

/// Interfaces by index, and their addresses.
#[derive(Debug, Default)]
pub struct LinkTable {
    links: HashMap<u32, Link>,
    addrs: HashMap<u32, Vec<Addr>>,
}

impl LinkTable {
    /// Forget everything (before a fresh dump after lost notifications).
    pub fn clear(&mut self) {
        self.links.clear();
        self.addrs.clear();
    }

    /// Apply one message; other message kinds are ignored.
    pub fn apply(&mut self, msg: &RouteNetlinkMessage) {
        match msg {
            RouteNetlinkMessage::NewLink(l) => self.new_link(l),
            RouteNetlinkMessage::DelLink(l) => {
                self.links.remove(&l.header.index);
                self.addrs.remove(&l.header.index);
            }
            RouteNetlinkMessage::NewAddress(a) => self.new_addr(a),
            RouteNetlinkMessage::DelAddress(a) => {
                if let Some(addr) = parse_addr(a) {
                    if let Some(list) = self.addrs.get_mut(&a.header.index) {
                        list.retain(|x| (x.ip, x.prefix_len) != (addr.ip, addr.prefix_len));
                    }
                }
            }
            _ => {}
        }
    }

    fn new_link(&mut self, l: &LinkMessage) {
        let up = l.header.flags.contains(LinkFlags::Up);
        let name = l.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        });
        // Change notifications may omit the name; keep the one we know.
        match (name, self.links.get_mut(&l.header.index)) {
            (Some(name), _) => {
                self.links.insert(l.header.index, Link { name, up });
            }
            (None, Some(link)) => link.up = up,
            (None, None) => {}
        }
    }

    fn new_addr(&mut self, a: &AddressMessage) {
        let Some(addr) = parse_addr(a) else { return };
        let list = self.addrs.entry(a.header.index).or_default();
        match list
            .iter_mut()
            .find(|x| (x.ip, x.prefix_len) == (addr.ip, addr.prefix_len))
        {
            Some(existing) => *existing = addr,
            None => list.push(addr),
        }
    }

    fn index_of(&self, name: &str) -> Option<u32> {
        self.links
            .iter()
            .find(|(_, l)| l.name == name)
            .map(|(i, _)| *i)
    }

    /// `-i NAME`: the interface exists.
    pub fn has_link(&self, name: &str) -> bool {
        self.index_of(name).is_some()
    }

    /// `-I NAME`: the interface is up and has a usable address; that address.
    pub fn usable_address(&self, name: &str) -> Option<(IpAddr, u8)> {
        let index = self.index_of(name)?;
        if !self.links.get(&index)?.up {
            return None;
        }
        self.addrs
            .get(&index)?
            .iter()
            .find(|a| a.usable)
            .map(|a| (a.ip, a.prefix_len))
    }
}

fn parse_addr(a: &AddressMessage) -> Option<Addr> {
    // IFA_LOCAL is the interface's own address on point-to-point links, where
    // IFA_ADDRESS is the peer; IPv6 sends only IFA_ADDRESS.
    let local = a.attributes.iter().find_map(|x| match x {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    let address = a.attributes.iter().find_map(|x| match x {
        AddressAttribute::Address(ip) => Some(*ip),
        _ => None,
    });
    let ip = local.or(address)?;
    let ext_flags = a.attributes.iter().find_map(|x| match x {
        AddressAttribute::Flags(f) => Some(*f),
        _ => None,
    });
    let not_ready = ext_flags
        .is_some_and(|f| f.intersects(AddressFlags::Tentative | AddressFlags::Dadfailed))
        || a.header
            .flags
            .intersects(AddressHeaderFlags::Tentative | AddressHeaderFlags::Dadfailed);
    let scope_ok = matches!(a.header.scope, AddressScope::Universe | AddressScope::Site);
    Some(Addr {
        ip,
        prefix_len: a.header.prefix_len,
        usable: scope_ok && !not_ready,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::AddressFamily;

    fn link(index: u32, name: Option<&str>, up: bool) -> RouteNetlinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        if up {
            m.header.flags = LinkFlags::Up;
        }
        if let Some(n) = name {
            m.attributes.push(LinkAttribute::IfName(n.into()));
        }
        RouteNetlinkMessage::NewLink(m)
    }

    fn addr(index: u32, ip: &str, scope: AddressScope, flags: AddressFlags) -> AddressMessage {
        let ip: IpAddr = ip.parse().unwrap();
        let mut m = AddressMessage::default();
        m.header.index = index;
        m.header.family = if ip.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        m.header.prefix_len = 24;
        m.header.scope = scope;
        m.attributes.push(AddressAttribute::Address(ip));
        m.attributes.push(AddressAttribute::Flags(flags));
        m
    }

    #[test]
    fn links_appear_rename_and_disappear() {
        let mut t = LinkTable::default();
        t.apply(&link(5, Some("tmp0"), false));
        assert!(t.has_link("tmp0") && !t.has_link("eth0"));
        t.apply(&link(5, Some("eth0"), false));
        assert!(t.has_link("eth0") && !t.has_link("tmp0"));
        t.apply(&RouteNetlinkMessage::DelLink(match link(5, None, false) {
            RouteNetlinkMessage::NewLink(m) => m,
            _ => unreachable!(),
        }));
        assert!(!t.has_link("eth0"));
    }

    #[test]
    fn address_counts_only_when_up_global_and_not_tentative() {
        let mut t = LinkTable::default();
        t.apply(&link(7, Some("eth1"), false));
        t.apply(&RouteNetlinkMessage::NewAddress(addr(
            7,
            "10.9.0.1",
            AddressScope::Universe,
            AddressFlags::Permanent,
        )));
        assert_eq!(t.usable_address("eth1"), None, "link is down");
        // A flags-only change (no name) must keep the name we know.
        t.apply(&link(7, None, true));
        assert_eq!(
            t.usable_address("eth1"),
            Some(("10.9.0.1".parse().unwrap(), 24))
        );

        let mut t = LinkTable::default();
        t.apply(&link(8, Some("eth2"), true));
        t.apply(&RouteNetlinkMessage::NewAddress(addr(
            8,
            "fe80::1",
            AddressScope::Link,
            AddressFlags::Permanent,
        )));
        assert_eq!(t.usable_address("eth2"), None, "link-local does not count");
        t.apply(&RouteNetlinkMessage::NewAddress(addr(
            8,
            "fd00::1",
            AddressScope::Universe,
            AddressFlags::Tentative,
        )));
        assert_eq!(t.usable_address("eth2"), None, "tentative does not count");
        // DAD finished: the kernel re-announces the same address without the flag.
        t.apply(&RouteNetlinkMessage::NewAddress(addr(
            8,
            "fd00::1",
            AddressScope::Universe,
            AddressFlags::Permanent,
        )));
        assert_eq!(
            t.usable_address("eth2").map(|a| a.0),
            Some("fd00::1".parse().unwrap())
        );
        t.apply(&RouteNetlinkMessage::DelAddress(addr(
            8,
            "fd00::1",
            AddressScope::Universe,
            AddressFlags::Permanent,
        )));
        assert_eq!(t.usable_address("eth2"), None);
    }

    #[test]
    fn header_flags_alone_also_mark_tentative() {
        let mut t = LinkTable::default();
        t.apply(&link(9, Some("e"), true));
        let mut m = addr(9, "fd00::2", AddressScope::Universe, AddressFlags::empty());
        m.attributes
            .retain(|a| !matches!(a, AddressAttribute::Flags(_)));
        m.header.flags = AddressHeaderFlags::Tentative;
        t.apply(&RouteNetlinkMessage::NewAddress(m));
        assert_eq!(t.usable_address("e"), None);
    }
}
