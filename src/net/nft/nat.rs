//! Stateless 1:1 NAT of a link (`nat:` in config), inside the target
//! namespace: packets arriving on `dev` for the link's `ip` get `nat` as
//! destination; packets leaving `dev` from `nat` get `ip` as source. No
//! conntrack: plain header rewrites with checksum fix-up, in filter chains
//! that run before conntrack (prerouting −300) and last (postrouting 300).
//! IPv4 pairs go in table `ip conlink-nat`, IPv6 pairs in `ip6 conlink-nat`.

use std::net::IpAddr;

use netlink_packet_netfilter::nftables::{MetaKey, Register};

use super::batch::Batch;
use super::expr::{
    IP_DADDR, IP_SADDR, IP6_DADDR, IP6_SADDR, NETWORK_HEADER, cmp_eq, ifname_bytes, immediate,
    meta, payload_load, payload_write_ip, payload_write_ip6,
};
use crate::net::errors::{NetError, Result};
use crate::net::netns::Netns;

pub const TABLE: &str = "conlink-nat";
const NF_INET_PRE_ROUTING: u32 = 0;
const NF_INET_POST_ROUTING: u32 = 4;

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The rules for `ip` <-> `nat` on `dev`; both addresses of one family
/// (`None` when they are not).
pub fn batch(dev: &str, ip: IpAddr, nat: IpAddr) -> Option<Batch> {
    if ip.is_ipv6() != nat.is_ipv6() {
        return None;
    }
    let v6 = ip.is_ipv6();
    let (saddr, daddr, len) = if v6 {
        (IP6_SADDR, IP6_DADDR, 16)
    } else {
        (IP_SADDR, IP_DADDR, 4)
    };
    let write = |off| {
        if v6 {
            payload_write_ip6(off)
        } else {
            payload_write_ip(off)
        }
    };
    let mut b = Batch::for_v6(v6);
    b.add_table(TABLE)
        .add_base_chain(TABLE, "pre", "filter", NF_INET_PRE_ROUTING, -300)
        .add_base_chain(TABLE, "post", "filter", NF_INET_POST_ROUTING, 300)
        .add_rule(
            TABLE,
            "pre",
            vec![
                meta(MetaKey::Iifname),
                cmp_eq(ifname_bytes(dev)),
                payload_load(NETWORK_HEADER, daddr, len),
                cmp_eq(octets(ip)),
                immediate(Register::Reg1, octets(nat)),
                write(daddr),
            ],
        )
        .add_rule(
            TABLE,
            "post",
            vec![
                meta(MetaKey::Oifname),
                cmp_eq(ifname_bytes(dev)),
                payload_load(NETWORK_HEADER, saddr, len),
                cmp_eq(octets(nat)),
                immediate(Register::Reg1, octets(ip)),
                write(saddr),
            ],
        );
    Some(b)
}

pub fn apply(ns: &Netns, dev: &str, ip: IpAddr, nat: IpAddr) -> Result<()> {
    batch(dev, ip, nat)
        .ok_or_else(|| {
            NetError::Invalid(format!(
                "stateless nat {ip} <-> {nat} on {dev}: the addresses are of different families"
            ))
        })?
        .commit(
            &ns.nft_socket(),
            &format!("stateless nat {ip} <-> {nat} on {dev}"),
        )
}
