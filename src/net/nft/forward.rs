//! Port forwards (`forward:` in config) in conlink's namespace, in one
//! table per conlink instance (`conlink-<instance>`, so stopping one
//! instance never drops another's forwards): traffic arriving on the docker-facing interface
//! for `conlink_port` is DNATed to `ip:port`; what leaves through the bridge
//! to that service is masqueraded, so replies come back through conlink.
//! A forward to an IPv6 address goes in the `ip6` table of the same name.

use std::net::IpAddr;

use netlink_packet_netfilter::nftables::{MetaKey, Register};

use super::batch::Batch;
use super::expr::{
    IP_DADDR, IP6_DADDR, NETWORK_HEADER, TRANSPORT_HEADER, cmp_eq, dnat_ipv4_with_port,
    dnat_ipv6_with_port, ifname_bytes, immediate, masquerade, meta, payload_load,
};
use crate::net::errors::{NetError, Result};
use crate::net::netns::Netns;
use crate::net::spec::{Forward, Protocol};

/// Every forward table's name starts with this.
pub const TABLE_PREFIX: &str = "conlink";
/// Longest instance part kept readable in a table name (the kernel allows
/// 255 bytes; `nft list tables` stays legible).
const MAX_INSTANCE: usize = 40;
const NF_INET_PRE_ROUTING: u32 = 0;
const NF_INET_POST_ROUTING: u32 = 4;

fn l4proto(p: Protocol) -> u8 {
    match p {
        Protocol::Tcp => libc::IPPROTO_TCP as u8,
        Protocol::Udp => libc::IPPROTO_UDP as u8,
    }
}

/// The forward table of `instance`: `conlink-<instance>` when the name
/// is short and made of characters nft accepts in an identifier (compose
/// project names are); otherwise its readable part, shortened, plus a hash
/// of the whole name so two instances never share a table.
pub fn table_name(instance: &str) -> String {
    let clean = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !instance.is_empty() && instance.len() <= MAX_INSTANCE && instance.chars().all(clean) {
        return format!("{TABLE_PREFIX}-{instance}");
    }
    let readable: String = instance
        .chars()
        .map(|c| if clean(c) { c } else { '_' })
        .take(MAX_INSTANCE - 9)
        .collect();
    // FNV-1a, stable across runs so a restarted conlink finds its table.
    let mut h: u32 = 0x811c_9dc5;
    for b in instance.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{TABLE_PREFIX}-{readable}-{h:08x}")
}

pub fn batch(table: &str, ext_dev: &str, bridge: &str, ip: IpAddr, f: &Forward) -> Batch {
    let (addr, daddr, dnat) = match ip {
        IpAddr::V4(a) => (a.octets().to_vec(), IP_DADDR, dnat_ipv4_with_port()),
        IpAddr::V6(a) => (a.octets().to_vec(), IP6_DADDR, dnat_ipv6_with_port()),
    };
    let len = addr.len() as u32;
    let mut b = Batch::for_v6(ip.is_ipv6());
    b.add_table(table)
        .add_base_chain(table, "prerouting", "nat", NF_INET_PRE_ROUTING, -100)
        .add_base_chain(table, "postrouting", "nat", NF_INET_POST_ROUTING, 100)
        .add_rule(
            table,
            "prerouting",
            vec![
                meta(MetaKey::Iifname),
                cmp_eq(ifname_bytes(ext_dev)),
                meta(MetaKey::L4Proto),
                cmp_eq(vec![l4proto(f.proto)]),
                payload_load(TRANSPORT_HEADER, 2, 2),
                cmp_eq(f.conlink_port.to_be_bytes().to_vec()),
                immediate(Register::Reg1, addr.clone()),
                immediate(Register::Reg2, f.port.to_be_bytes().to_vec()),
                dnat,
            ],
        )
        .add_rule(
            table,
            "postrouting",
            vec![
                meta(MetaKey::Oifname),
                cmp_eq(ifname_bytes(bridge)),
                payload_load(NETWORK_HEADER, daddr, len),
                cmp_eq(addr),
                meta(MetaKey::L4Proto),
                cmp_eq(vec![l4proto(f.proto)]),
                payload_load(TRANSPORT_HEADER, 2, 2),
                cmp_eq(f.port.to_be_bytes().to_vec()),
                masquerade(),
            ],
        );
    b
}

pub fn add(
    ns: &Netns,
    table: &str,
    ext_dev: &str,
    bridge: &str,
    ip: IpAddr,
    f: &Forward,
) -> Result<()> {
    batch(table, ext_dev, bridge, ip, f).commit(
        &ns.nft_socket(),
        &format!(
            "forward {ext_dev}:{} to {}",
            f.conlink_port,
            std::net::SocketAddr::new(ip, f.port)
        ),
    )
}

/// Remove an instance's tables, `ip` and `ip6` (and every forward in
/// them); absent is fine. Each table is added first (a no-op when it
/// exists) so the batch never fails: a failed nftables batch is aborted,
/// and the abort waited about 10 ms here (`strace -T`), at every start-up
/// and stop.
pub fn remove_table(ns: &Netns, table: &str) -> Result<()> {
    for v6 in [false, true] {
        let mut b = Batch::for_v6(v6);
        b.add_table(table).delete_table(table);
        match b.commit(&ns.nft_socket(), &format!("delete nftables table {table}")) {
            Err(e) if e.errno() == Some(libc::ENOENT) => {}
            r => r?,
        }
    }
    Ok(())
}

/// Check a forward can work before touching the kernel.
pub fn check(ip: Option<IpAddr>) -> Result<IpAddr> {
    ip.ok_or_else(|| NetError::Invalid("forward needs the link to have an ip".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_per_instance_and_distinct() {
        assert_eq!(table_name("proj14616"), "conlink-proj14616");
        assert_eq!(table_name("my_app-2"), "conlink-my_app-2");
        assert_ne!(table_name("proj14616"), table_name("proj153907"));
        // Characters nft would not take, and names that only differ there,
        // still give distinct readable names.
        let (a, b) = (table_name("a b"), table_name("a/b"));
        assert!(a.starts_with("conlink-a_b-") && b.starts_with("conlink-a_b-"));
        assert_ne!(a, b);
        let long = "x".repeat(300);
        let t = table_name(&long);
        assert!(t.len() <= 8 + MAX_INSTANCE + 1, "{t}");
        assert_ne!(t, table_name(&"x".repeat(301)));
        assert!(table_name("").starts_with("conlink--"));
    }
}
