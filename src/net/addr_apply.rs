//! Interface addresses: RTM_NEWADDR for a link's `ip`.

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressMessage;
use rtnetlink::AddressMessageBuilder;

use super::addr::Ipv4Net;
use super::handle::{CREATE, Pending, Rt};

pub fn message(index: u32, ip: Ipv4Net) -> AddressMessage {
    AddressMessageBuilder::<std::net::Ipv4Addr>::new()
        .index(index)
        .address(ip.addr(), ip.prefix())
        .build()
}

/// Send the request now; the caller awaits the returned ack.
pub fn add(rt: &Rt, index: u32, ip: Ipv4Net, dev: &str) -> Pending {
    rt.send(
        format!("add address {ip} to {dev}"),
        RouteNetlinkMessage::NewAddress(message(index, ip)),
        CREATE,
    )
}
