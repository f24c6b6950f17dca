//! Rule expressions, one small constructor per nft building block.

use netlink_packet_core::DefaultNla;
use netlink_packet_netfilter::nftables::{
    ChecksumFlags, ChecksumType, Cmp, DataAttribute, ExpressionAttribute, Expressions, Immediate,
    ListAttribute, Meta, MetaKey, Operator, Payload, Register,
};

pub type Expr = ListAttribute<ExpressionAttribute>;

/// Payload bases (NFT_PAYLOAD_*_HEADER).
pub const NETWORK_HEADER: u32 = 1;
pub const TRANSPORT_HEADER: u32 = 2;
/// Offsets in the IPv4 header.
pub const IP_SADDR: u32 = 12;
pub const IP_DADDR: u32 = 16;
const IP_CSUM: u32 = 10;
/// Offsets in the IPv6 header.
pub const IP6_SADDR: u32 = 8;
pub const IP6_DADDR: u32 = 24;

/// `meta KEY` into reg 1.
pub fn meta(key: MetaKey) -> Expr {
    Expressions::Meta(vec![
        Meta::DestinationRegister(Register::Reg1),
        Meta::Key(key),
    ])
    .into()
}

/// `cmp eq reg 1 VALUE`.
pub fn cmp_eq(value: Vec<u8>) -> Expr {
    Expressions::Cmp(vec![
        Cmp::SourceRegister(Register::Reg1),
        Cmp::Op(Operator::Equal),
        Cmp::Data(DataAttribute::Value(value)),
    ])
    .into()
}

/// An interface name as nft compares it: NUL-padded to IFNAMSIZ.
pub fn ifname_bytes(name: &str) -> Vec<u8> {
    let mut v = name.as_bytes().to_vec();
    v.resize(16, 0);
    v
}

/// `payload load BASE OFFSET LEN` into reg 1.
pub fn payload_load(base: u32, offset: u32, len: u32) -> Expr {
    Expressions::Payload(vec![
        Payload::DestinationRegister(Register::Reg1),
        Payload::Base(base),
        Payload::Offset(offset),
        Payload::Len(len),
    ])
    .into()
}

/// Write reg 1 into an IPv4 address field, fixing the IP header checksum
/// and the TCP/UDP pseudo-header checksum, as `ip daddr set` does.
pub fn payload_write_ip(offset: u32) -> Expr {
    Expressions::Payload(vec![
        Payload::SourceRegister(Register::Reg1),
        Payload::Base(NETWORK_HEADER),
        Payload::Offset(offset),
        Payload::Len(4),
        Payload::CsumType(ChecksumType::Inet),
        Payload::CsumOffset(IP_CSUM),
        Payload::CsumFlags(ChecksumFlags::L4PseudoHeader),
    ])
    .into()
}

/// Write reg 1 into an IPv6 address field, fixing the TCP/UDP
/// pseudo-header checksum (IPv6 has no header checksum), as
/// `ip6 daddr set` does.
pub fn payload_write_ip6(offset: u32) -> Expr {
    Expressions::Payload(vec![
        Payload::SourceRegister(Register::Reg1),
        Payload::Base(NETWORK_HEADER),
        Payload::Offset(offset),
        Payload::Len(16),
        Payload::CsumType(ChecksumType::None),
        Payload::CsumOffset(0),
        Payload::CsumFlags(ChecksumFlags::L4PseudoHeader),
    ])
    .into()
}

/// `immediate reg REG VALUE`.
pub fn immediate(reg: Register, value: Vec<u8>) -> Expr {
    Expressions::Immediate(vec![
        Immediate::DestinationRegister(reg),
        Immediate::Data(DataAttribute::Value(value)),
    ])
    .into()
}

fn be32(v: u32) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

/// `dnat to reg1:reg2` (IPv4 address in reg 1, port in reg 2). The kernel
/// sets the range flags itself from which registers are given.
pub fn dnat_ipv4_with_port() -> Expr {
    dnat_with_port(false)
}

/// `dnat to [reg1]:reg2` with an IPv6 address in reg 1 (an `ip6` table).
pub fn dnat_ipv6_with_port() -> Expr {
    dnat_with_port(true)
}

fn dnat_with_port(v6: bool) -> Expr {
    const NFTA_NAT_TYPE: u16 = 1;
    const NFTA_NAT_FAMILY: u16 = 2;
    const NFTA_NAT_REG_ADDR_MIN: u16 = 3;
    const NFTA_NAT_REG_PROTO_MIN: u16 = 5;
    const NFT_NAT_DNAT: u32 = 1;
    const NFPROTO_IPV4: u32 = 2;
    const NFPROTO_IPV6: u32 = 10;
    let family = if v6 { NFPROTO_IPV6 } else { NFPROTO_IPV4 };
    Expressions::Other {
        expression_type: "nat".into(),
        attributes: vec![
            DefaultNla::new(NFTA_NAT_TYPE, be32(NFT_NAT_DNAT)),
            DefaultNla::new(NFTA_NAT_FAMILY, be32(family)),
            DefaultNla::new(NFTA_NAT_REG_ADDR_MIN, be32(u32::from(Register::Reg1))),
            DefaultNla::new(NFTA_NAT_REG_PROTO_MIN, be32(u32::from(Register::Reg2))),
        ],
    }
    .into()
}

/// `masquerade`.
pub fn masquerade() -> Expr {
    Expressions::Other {
        expression_type: "masq".into(),
        attributes: vec![],
    }
    .into()
}
