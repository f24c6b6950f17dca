//! veth: one request, sent in the target namespace, makes both ends: the
//! inner one there (up, with MTU and MAC) and the outer one straight in
//! conlink's namespace (IFLA_NET_NS_FD in the peer). Both ends carry
//! conlink's link group from the start: the outer one so it can be found
//! and deleted in bulk, the inner one so a later run can tell its own dying
//! inner end (EEXIST on the inner name) from an interface that was there
//! before. Only the outer end gets the alias, the mark that decides what
//! conlink deletes; an inner end is never deleted by group. The kernel refuses to bring a veth peer up in the
//! create request (ENOTCONN: its partner is not registered yet), so the
//! outer end is enslaved and set up by a second, pipelined request.
//!
//! Both ends ask for one tx and one rx queue. Left to itself the kernel
//! gives a veth one queue per CPU and then cuts the real count to one
//! after registering it, and that cut waits for an RCU grace period while
//! holding the RTNL lock (veth_init_queues → netif_set_real_num_tx_queues →
//! synchronize_net). On a busy host — runc mounting and unmounting for every
//! container that starts — each such wait took up to a second here and
//! stalled every other netlink request with it. `ip link add … numtxqueues 1
//! numrxqueues 1` does the same.

use std::os::fd::RawFd;

use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkMessage};
use rtnetlink::{LinkMessageBuilder, LinkUnspec};

use super::mtu_mac_attrs;
use crate::net::addr::MacAddr;

pub struct VethRequest<'a> {
    /// Inner end, in the namespace the request is sent to.
    pub inner: &'a str,
    /// Outer end, created in `home_fd`'s namespace (conlink's).
    pub outer: &'a str,
    pub home_fd: RawFd,
    pub mtu: Option<u32>,
    /// MAC of the inner end.
    pub mac: Option<MacAddr>,
    /// Link group of both ends (conlink's mark group).
    pub group: u32,
}

pub fn message(r: &VethRequest<'_>) -> LinkMessage {
    let mut peer = LinkMessageBuilder::<LinkUnspec>::new()
        .name(r.outer)
        .setns_by_fd(r.home_fd)
        .append_extra_attribute(LinkAttribute::Group(r.group))
        .append_extra_attribute(LinkAttribute::NumTxQueues(1))
        .append_extra_attribute(LinkAttribute::NumRxQueues(1));
    if let Some(m) = r.mtu {
        peer = peer.mtu(m);
    }
    let mut inner = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Veth)
        .name(r.inner)
        .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())))
        .append_extra_attribute(LinkAttribute::Group(r.group))
        .append_extra_attribute(LinkAttribute::NumTxQueues(1))
        .append_extra_attribute(LinkAttribute::NumRxQueues(1))
        .up();
    for a in mtu_mac_attrs(r.mtu, r.mac) {
        inner = inner.append_extra_attribute(a);
    }
    inner.build()
}

/// Sent in conlink's namespace before the outer end goes up, when it joins
/// a Linux bridge: no IPv6 link-local address on it (`ip link set OUTER
/// addrgenmode none`). A bridge port needs no address of its own, and with
/// one each, conlink's namespace held one fe80::/64 route per port: every
/// IPv6 packet the bridge took in (the inner ends' DAD, MLD and router
/// solicitations) walked all of them (`__find_rr_leaf`, 63% of the CPU
/// while 1,000 links were made). The kernel refuses IFLA_AF_SPEC in a
/// create request, and applies it after IFF_UP in a change request, so it
/// is a request of its own, pipelined before the one that sets the end up.
pub fn outer_no_ipv6_message(outer: &str) -> LinkMessage {
    use netlink_packet_route::link::{AfSpecInet6, AfSpecUnspec, In6AddrGenMode};
    LinkUnspec::new_with_name(outer)
        .append_extra_attribute(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
            vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)],
        )]))
        .build()
}

/// Second request, in conlink's namespace: enslave (when `master` is set),
/// up and ifalias mark of the outer end, addressed by name.
pub fn outer_message(outer: &str, master: Option<u32>, alias: &str) -> LinkMessage {
    let mut b = LinkUnspec::new_with_name(outer)
        .alias(alias.to_owned())
        .up();
    if let Some(m) = master {
        b = b.controller(m);
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(attrs: &[LinkAttribute]) -> Vec<u32> {
        attrs
            .iter()
            .filter_map(|a| match a {
                LinkAttribute::Group(g) => Some(*g),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn both_ends_carry_the_group_only_the_outer_gets_the_alias_later() {
        let msg = message(&VethRequest {
            inner: "eth0",
            outer: "web_1-eth0",
            home_fd: 7,
            mtu: None,
            mac: None,
            group: 0x2_0000,
        });
        assert_eq!(groups(&msg.attributes), vec![0x2_0000], "inner end");
        let peer = msg
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                    netlink_packet_route::link::LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(
                        p,
                    ))) => Some(p.clone()),
                    _ => None,
                }),
                _ => None,
            })
            .expect("peer in the request");
        assert_eq!(groups(&peer.attributes), vec![0x2_0000], "outer end");
        assert!(
            !msg.attributes
                .iter()
                .chain(&peer.attributes)
                .any(|a| matches!(a, LinkAttribute::IfAlias(_)))
        );
    }
}
