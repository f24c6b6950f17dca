//! Links stacked on a parent interface of the host namespace: macvlan,
//! macvtap, ipvlan, ipvtap and vlan.
//!
//! Like the CNI plugins, the link is created under a random temporary name
//! straight into the target namespace (IFLA_LINK names the parent in the
//! namespace of the request, IFLA_NET_NS_FD the destination), then renamed
//! to its real name and set up there: the real name may already exist in
//! the host namespace, the temporary one never collides.

use std::os::fd::RawFd;

use netlink_packet_route::link::{
    InfoData, InfoIpVlan, InfoIpVtap, InfoKind, InfoMacVlan, InfoMacVtap, InfoVlan, IpVlanFlags,
    IpVlanMode, IpVtapFlags, LinkAttribute, LinkMessage, MacVlanMode,
};
use rtnetlink::{LinkMessageBuilder, LinkUnspec};

use super::mtu_mac_attrs;
use crate::net::addr::MacAddr;
use crate::net::spec::{IpvlanMode, LinkKind, MacvlanMode};

pub struct StackedRequest<'a> {
    pub kind: LinkKind,
    pub name: &'a str,
    pub parent_index: u32,
    /// Destination namespace; `None` keeps the link in the request's one.
    pub target_fd: Option<RawFd>,
    pub mtu: Option<u32>,
    pub mac: Option<MacAddr>,
}

fn macvlan_mode(m: MacvlanMode) -> MacVlanMode {
    match m {
        MacvlanMode::Private => MacVlanMode::Private,
        MacvlanMode::Vepa => MacVlanMode::Vepa,
        MacvlanMode::Bridge => MacVlanMode::Bridge,
        MacvlanMode::Passthru => MacVlanMode::Passthrough,
        MacvlanMode::Source => MacVlanMode::Source,
    }
}

fn ipvlan_mode(m: IpvlanMode) -> IpVlanMode {
    match m {
        IpvlanMode::L2 => IpVlanMode::L2,
        IpvlanMode::L3 => IpVlanMode::L3,
        IpvlanMode::L3s => IpVlanMode::L3S,
    }
}

/// `None` for kinds that are not stacked on a parent (veth, dummy).
pub fn message(r: &StackedRequest<'_>) -> Option<LinkMessage> {
    let (kind, data) = match r.kind {
        LinkKind::Macvlan { mode } => (
            InfoKind::MacVlan,
            InfoData::MacVlan(vec![InfoMacVlan::Mode(macvlan_mode(mode))]),
        ),
        LinkKind::Macvtap { mode } => (
            InfoKind::MacVtap,
            InfoData::MacVtap(vec![InfoMacVtap::Mode(macvlan_mode(mode))]),
        ),
        LinkKind::Ipvlan { mode } => (
            InfoKind::IpVlan,
            InfoData::IpVlan(vec![
                InfoIpVlan::Mode(ipvlan_mode(mode)),
                InfoIpVlan::Flags(IpVlanFlags::empty()),
            ]),
        ),
        LinkKind::Ipvtap { mode } => (
            InfoKind::IpVtap,
            InfoData::IpVtap(vec![
                InfoIpVtap::Mode(ipvlan_mode(mode)),
                InfoIpVtap::Flags(IpVtapFlags::empty()),
            ]),
        ),
        LinkKind::Vlan { vlanid } => (InfoKind::Vlan, InfoData::Vlan(vec![InfoVlan::Id(vlanid)])),
        LinkKind::Veth | LinkKind::Dummy => return None,
    };
    let mut b = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(kind)
        .set_info_data(data)
        .append_extra_attribute(LinkAttribute::Link(r.parent_index))
        .name(r.name);
    for a in mtu_mac_attrs(r.mtu, r.mac) {
        b = b.append_extra_attribute(a);
    }
    if let Some(fd) = r.target_fd {
        b = b.setns_by_fd(fd);
    }
    let mut msg = b.build();
    super::kind_as_iproute2(&mut msg);
    Some(msg)
}

/// Rename the link at `index` to `name` and bring it up, in one request.
pub fn rename_up_message(index: u32, name: &str) -> LinkMessage {
    LinkUnspec::new_with_index(index).name(name).up().build()
}
