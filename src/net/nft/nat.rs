//! Stateless 1:1 NAT of a link (`nat:` in config), inside the target
//! namespace: packets arriving on `dev` for the link's `ip` get `nat` as
//! destination; packets leaving `dev` from `nat` get `ip` as source. No
//! conntrack: plain header rewrites with checksum fix-up, in filter chains
//! that run before conntrack (prerouting −300) and last (postrouting 300).

use std::net::Ipv4Addr;

use netlink_packet_netfilter::nftables::{MetaKey, Register};

use super::batch::Batch;
use super::expr::{
    IP_DADDR, IP_SADDR, NETWORK_HEADER, cmp_eq, ifname_bytes, immediate, meta, payload_load,
    payload_write_ip,
};
use crate::net::errors::Result;
use crate::net::netns::Netns;

pub const TABLE: &str = "conlink-nat";
const NF_INET_PRE_ROUTING: u32 = 0;
const NF_INET_POST_ROUTING: u32 = 4;

pub fn batch(dev: &str, ip: Ipv4Addr, nat: Ipv4Addr) -> Batch {
    let mut b = Batch::default();
    b.add_table(TABLE)
        .add_base_chain(TABLE, "pre", "filter", NF_INET_PRE_ROUTING, -300)
        .add_base_chain(TABLE, "post", "filter", NF_INET_POST_ROUTING, 300)
        .add_rule(
            TABLE,
            "pre",
            vec![
                meta(MetaKey::Iifname),
                cmp_eq(ifname_bytes(dev)),
                payload_load(NETWORK_HEADER, IP_DADDR, 4),
                cmp_eq(ip.octets().to_vec()),
                immediate(Register::Reg1, nat.octets().to_vec()),
                payload_write_ip(IP_DADDR),
            ],
        )
        .add_rule(
            TABLE,
            "post",
            vec![
                meta(MetaKey::Oifname),
                cmp_eq(ifname_bytes(dev)),
                payload_load(NETWORK_HEADER, IP_SADDR, 4),
                cmp_eq(nat.octets().to_vec()),
                immediate(Register::Reg1, ip.octets().to_vec()),
                payload_write_ip(IP_SADDR),
            ],
        );
    b
}

pub fn apply(ns: &Netns, dev: &str, ip: Ipv4Addr, nat: Ipv4Addr) -> Result<()> {
    batch(dev, ip, nat).commit(
        &ns.nft_socket(),
        &format!("stateless nat {ip} <-> {nat} on {dev}"),
    )
}
