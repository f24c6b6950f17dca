//! Port forwards (`forward:` in config) in conlink's namespace, in one
//! table owned by conlink: traffic arriving on the docker-facing interface
//! for `conlink_port` is DNATed to `ip:port`; what leaves through the bridge
//! to that service is masqueraded, so replies come back through conlink.

use std::net::Ipv4Addr;

use netlink_packet_netfilter::nftables::{MetaKey, Register};

use super::batch::Batch;
use super::expr::{
    IP_DADDR, NETWORK_HEADER, TRANSPORT_HEADER, cmp_eq, dnat_ipv4_with_port, ifname_bytes,
    immediate, masquerade, meta, payload_load,
};
use crate::net::errors::{NetError, Result};
use crate::net::netns::Netns;
use crate::net::spec::{Forward, Protocol};

pub const TABLE: &str = "conlink";
const NF_INET_PRE_ROUTING: u32 = 0;
const NF_INET_POST_ROUTING: u32 = 4;

fn l4proto(p: Protocol) -> u8 {
    match p {
        Protocol::Tcp => libc::IPPROTO_TCP as u8,
        Protocol::Udp => libc::IPPROTO_UDP as u8,
    }
}

pub fn batch(ext_dev: &str, bridge: &str, ip: Ipv4Addr, f: &Forward) -> Batch {
    let mut b = Batch::default();
    b.add_table(TABLE)
        .add_base_chain(TABLE, "prerouting", "nat", NF_INET_PRE_ROUTING, -100)
        .add_base_chain(TABLE, "postrouting", "nat", NF_INET_POST_ROUTING, 100)
        .add_rule(
            TABLE,
            "prerouting",
            vec![
                meta(MetaKey::Iifname),
                cmp_eq(ifname_bytes(ext_dev)),
                meta(MetaKey::L4Proto),
                cmp_eq(vec![l4proto(f.proto)]),
                payload_load(TRANSPORT_HEADER, 2, 2),
                cmp_eq(f.conlink_port.to_be_bytes().to_vec()),
                immediate(Register::Reg1, ip.octets().to_vec()),
                immediate(Register::Reg2, f.port.to_be_bytes().to_vec()),
                dnat_ipv4_with_port(),
            ],
        )
        .add_rule(
            TABLE,
            "postrouting",
            vec![
                meta(MetaKey::Oifname),
                cmp_eq(ifname_bytes(bridge)),
                payload_load(NETWORK_HEADER, IP_DADDR, 4),
                cmp_eq(ip.octets().to_vec()),
                meta(MetaKey::L4Proto),
                cmp_eq(vec![l4proto(f.proto)]),
                payload_load(TRANSPORT_HEADER, 2, 2),
                cmp_eq(f.port.to_be_bytes().to_vec()),
                masquerade(),
            ],
        );
    b
}

pub fn add(ns: &Netns, ext_dev: &str, bridge: &str, ip: Ipv4Addr, f: &Forward) -> Result<()> {
    batch(ext_dev, bridge, ip, f).commit(
        &ns.nft_socket(),
        &format!("forward {ext_dev}:{} to {ip}:{}", f.conlink_port, f.port),
    )
}

/// Remove conlink's table (and every forward in it); absent is fine.
pub fn remove_table(ns: &Netns) -> Result<()> {
    let mut b = Batch::default();
    b.delete_table(TABLE);
    match b.commit(&ns.nft_socket(), "delete nftables table conlink") {
        Err(e) if e.errno() == Some(libc::ENOENT) => Ok(()),
        r => r,
    }
}

/// Check a forward can work before touching the kernel.
pub fn check(ip: Option<Ipv4Addr>) -> Result<Ipv4Addr> {
    ip.ok_or_else(|| NetError::Invalid("forward needs the link to have an ip".into()))
}
