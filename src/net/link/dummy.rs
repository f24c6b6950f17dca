//! dummy: made directly in the target namespace under its final name.

use netlink_packet_route::link::{InfoKind, LinkMessage};
use rtnetlink::{LinkMessageBuilder, LinkUnspec};

use super::mtu_mac_attrs;
use crate::net::addr::MacAddr;

pub fn message(name: &str, mtu: Option<u32>, mac: Option<MacAddr>) -> LinkMessage {
    let mut b = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Dummy).name(name);
    for a in mtu_mac_attrs(mtu, mac) {
        b = b.append_extra_attribute(a);
    }
    let mut msg = b.build();
    super::kind_as_iproute2(&mut msg);
    msg
}
