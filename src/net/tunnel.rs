//! vxlan and geneve tunnels in conlink's namespace, named `<type>-<vni>`,
//! created up, enslaved to their bridge and marked, in one request.

use netlink_packet_route::link::{
    InfoData, InfoGeneve, InfoKind, InfoVxlan, LinkAttribute, LinkFlags, LinkMessage,
};
use std::net::IpAddr;

use rtnetlink::{LinkMessageBuilder, LinkUnspec};

use super::spec::{TunnelKind, TunnelSpec};

/// The kernel's UDP port when a create request names none: vxlan's is the
/// pre-IANA Linux port 8472 (the one conlink 2.x used, since it never passed
/// `dstport`), geneve's the IANA 6081. A tunnel's `port` overrides it (4789
/// is vxlan's IANA port).
pub const VXLAN_DEFAULT_PORT: u16 = 8472;
pub const GENEVE_DEFAULT_PORT: u16 = 6081;

/// The UDP port a tunnel uses: its `port`, else the kernel's default.
pub fn port(t: &TunnelSpec) -> u16 {
    t.port.unwrap_or(match t.kind {
        TunnelKind::Vxlan => VXLAN_DEFAULT_PORT,
        TunnelKind::Geneve => GENEVE_DEFAULT_PORT,
    })
}

pub fn kernel_module(kind: TunnelKind) -> &'static str {
    match kind {
        TunnelKind::Vxlan => "vxlan",
        TunnelKind::Geneve => "geneve",
    }
}

/// The create request as `ip link add <type>-<vni> type <type> id VNI
/// remote IP [dstport PORT]` sends it (iproute2 adds its defaults: vxlan
/// learning on, geneve label/ttl/tos 0). Without a `port` no port attribute
/// is sent, so the kernel uses its default ([`port`]).
pub fn message(t: &TunnelSpec) -> LinkMessage {
    let name = t.dev_name();
    let (kind, data) = match t.kind {
        TunnelKind::Vxlan => {
            let mut v = vec![
                InfoVxlan::Id(t.vni),
                match t.remote {
                    IpAddr::V4(a) => InfoVxlan::Group(a),
                    IpAddr::V6(a) => InfoVxlan::Group6(a),
                },
                InfoVxlan::Learning(true),
            ];
            v.extend(t.port.map(InfoVxlan::Port));
            (InfoKind::Vxlan, InfoData::Vxlan(v))
        }
        TunnelKind::Geneve => {
            let mut v = vec![
                InfoGeneve::Id(t.vni),
                match t.remote {
                    IpAddr::V4(a) => InfoGeneve::Remote(a),
                    IpAddr::V6(a) => InfoGeneve::Remote6(a),
                },
                InfoGeneve::Label(0),
                InfoGeneve::Ttl(0),
                InfoGeneve::Tos(0),
            ];
            v.extend(t.port.map(InfoGeneve::Port));
            (InfoKind::Geneve, InfoData::Geneve(v))
        }
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
