//! vxlan and geneve tunnels in conlink's namespace, named `<type>-<vni>`,
//! created up, enslaved to their bridge and marked, in one request.

use netlink_packet_route::link::{
    InfoData, InfoGeneve, InfoKind, InfoVxlan, LinkAttribute, LinkFlags, LinkMessage,
};
use rtnetlink::{LinkMessageBuilder, LinkUnspec};

use super::spec::{TunnelKind, TunnelSpec};

/// IANA ports (iproute2 defaults vxlan to the Linux legacy 8472 unless told;
/// conlink 2.x always passed `dstport 4789`).
pub const VXLAN_PORT: u16 = 4789;
pub const GENEVE_PORT: u16 = 6081;

pub fn kernel_module(kind: TunnelKind) -> &'static str {
    match kind {
        TunnelKind::Vxlan => "vxlan",
        TunnelKind::Geneve => "geneve",
    }
}

/// The create request as `ip link add <type>-<vni> type <type> id VNI
/// remote IP dstport PORT` sends it (iproute2 adds its defaults: vxlan
/// learning on, geneve label/ttl/tos 0).
pub fn message(t: &TunnelSpec) -> LinkMessage {
    let name = t.dev_name();
    let (kind, data) = match t.kind {
        TunnelKind::Vxlan => (
            InfoKind::Vxlan,
            InfoData::Vxlan(vec![
                InfoVxlan::Id(t.vni),
                InfoVxlan::Group(t.remote),
                InfoVxlan::Learning(true),
                InfoVxlan::Port(VXLAN_PORT),
            ]),
        ),
        TunnelKind::Geneve => (
            InfoKind::Geneve,
            InfoData::Geneve(vec![
                InfoGeneve::Id(t.vni),
                InfoGeneve::Remote(t.remote),
                InfoGeneve::Label(0),
                InfoGeneve::Ttl(0),
                InfoGeneve::Tos(0),
                InfoGeneve::Port(GENEVE_PORT),
            ]),
        ),
    };
    let mut msg = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(kind)
        .name(name)
        .set_info_data(data)
        .build();
    super::link::kind_as_iproute2(&mut msg);
    msg
}

/// [`message`] plus what conlink adds: up, its link group, its bridge.
pub fn create_message(t: &TunnelSpec, master: Option<u32>, group: u32) -> LinkMessage {
    let mut msg = message(t);
    msg.header.flags |= LinkFlags::Up;
    msg.header.change_mask |= LinkFlags::Up;
    msg.attributes.push(LinkAttribute::Group(group));
    if let Some(m) = master {
        msg.attributes.push(LinkAttribute::Controller(m));
    }
    msg
}
