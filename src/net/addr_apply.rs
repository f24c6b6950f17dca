//! Interface addresses: RTM_NEWADDR for each of a link's `ip` entries.
//!
//! IPv6 addresses are added with IFA_F_NODAD (`ip addr add … nodad`): they
//! are usable the moment the request is acked, like IPv4 addresses, so a
//! link counts as up only when its addresses work and a route via an
//! IPv6 gateway can go in right after. The addresses are conlink's own
//! plan (replica offsets keep them distinct, validation refuses
//! duplicates), so duplicate detection would only add a second of
//! "tentative" during which the address cannot be bound or used as a
//! source. The kernel's own link-local address (fe80::/64, with DAD) is
//! left as the kernel makes it.

use std::net::IpAddr;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use rtnetlink::AddressMessageBuilder;

use super::addr::IpNet;
use super::handle::{CREATE, Pending, Rt};

pub fn message(index: u32, ip: IpNet) -> AddressMessage {
    match ip.addr() {
        IpAddr::V4(a) => AddressMessageBuilder::<std::net::Ipv4Addr>::new()
            .index(index)
            .address(a, ip.prefix())
            .build(),
        IpAddr::V6(a) => {
            let mut m = AddressMessageBuilder::<std::net::Ipv6Addr>::new()
                .index(index)
                .address(a, ip.prefix())
                .build();
            m.header.flags |= AddressHeaderFlags::Nodad;
            m.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
            m
        }
    }
}

/// Send the request now; the caller awaits the returned ack.
pub fn add(rt: &Rt, index: u32, ip: IpNet, dev: &str) -> Pending {
    rt.send(
        format!("add address {ip} to {dev}"),
        RouteNetlinkMessage::NewAddress(message(index, ip)),
        CREATE,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::AddressFamily;

    #[test]
    fn ipv6_addresses_skip_dad_and_ipv4_ones_are_unchanged() {
        let m = message(3, "fd00:1::5/64".parse().unwrap());
        assert_eq!(m.header.family, AddressFamily::Inet6);
        assert_eq!((m.header.prefix_len, m.header.index), (64, 3));
        assert!(m.header.flags.contains(AddressHeaderFlags::Nodad));
        assert!(
            m.attributes
                .contains(&AddressAttribute::Flags(AddressFlags::Nodad))
        );
        let v4 = message(3, "10.0.0.5/24".parse().unwrap());
        assert_eq!(v4.header.family, AddressFamily::Inet);
        assert!(v4.header.flags.is_empty());
        assert!(
            !v4.attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::Flags(_)))
        );
    }
}
