//! Address value types shared by the config parser and the link engine.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// An IPv4 address with prefix length, as written in config (`10.0.1.1/24`).
/// The host part is kept: this is an interface address, not a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    addr: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Net {
    /// `None` when the prefix is longer than 32.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Option<Self> {
        (prefix <= 32).then_some(Self { addr, prefix })
    }
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
    pub fn netmask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }
    /// The network address (host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.netmask())
    }
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.netmask() == u32::from(self.network())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an IPv4 address with prefix length (like 10.0.1.1/24)")]
pub struct Ipv4NetError;

impl FromStr for Ipv4Net {
    type Err = Ipv4NetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, p) = s.split_once('/').ok_or(Ipv4NetError)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| Ipv4NetError)?;
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Ipv4NetError);
        }
        Ipv4Net::new(addr, p.parse().map_err(|_| Ipv4NetError)?).ok_or(Ipv4NetError)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Ipv4Net {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An IPv6 address with prefix length, as written in config
/// (`fd00:1::1/64`). The host part is kept, as for [`Ipv4Net`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Net {
    addr: Ipv6Addr,
    prefix: u8,
}

impl Ipv6Net {
    /// `None` when the prefix is longer than 128.
    pub fn new(addr: Ipv6Addr, prefix: u8) -> Option<Self> {
        (prefix <= 128).then_some(Self { addr, prefix })
    }
    pub fn addr(&self) -> Ipv6Addr {
        self.addr
    }
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
    pub fn netmask(&self) -> u128 {
        if self.prefix == 0 {
            0
        } else {
            u128::MAX << (128 - self.prefix)
        }
    }
    /// The network address (host bits cleared).
    pub fn network(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.addr) & self.netmask())
    }
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & self.netmask() == u128::from(self.network())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an IPv6 address with prefix length (like fd00:1::1/64)")]
pub struct Ipv6NetError;

/// Digits only, at most `max_len` of them (no sign, no spaces).
fn prefix_digits(p: &str, max_len: usize) -> Option<u8> {
    if p.is_empty() || p.len() > max_len || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

impl FromStr for Ipv6Net {
    type Err = Ipv6NetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, p) = s.split_once('/').ok_or(Ipv6NetError)?;
        let addr: Ipv6Addr = a.parse().map_err(|_| Ipv6NetError)?;
        Ipv6Net::new(addr, prefix_digits(p, 3).ok_or(Ipv6NetError)?).ok_or(Ipv6NetError)
    }
}

impl fmt::Display for Ipv6Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Ipv6Net {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An interface address of either family (`10.0.1.1/24`, `fd00:1::1/64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpNet {
    V4(Ipv4Net),
    V6(Ipv6Net),
}

impl IpNet {
    pub fn addr(&self) -> IpAddr {
        match self {
            IpNet::V4(n) => n.addr().into(),
            IpNet::V6(n) => n.addr().into(),
        }
    }
    pub fn prefix(&self) -> u8 {
        match self {
            IpNet::V4(n) => n.prefix(),
            IpNet::V6(n) => n.prefix(),
        }
    }
    /// The network address (host bits cleared).
    pub fn network(&self) -> IpAddr {
        match self {
            IpNet::V4(n) => n.network().into(),
            IpNet::V6(n) => n.network().into(),
        }
    }
    /// `false` for an address of the other family.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self, ip) {
            (IpNet::V4(n), IpAddr::V4(a)) => n.contains(a),
            (IpNet::V6(n), IpAddr::V6(a)) => n.contains(a),
            _ => false,
        }
    }
    pub fn is_ipv6(&self) -> bool {
        matches!(self, IpNet::V6(_))
    }
    /// The whole address space of `ip`'s family (`0.0.0.0/0`, `::/0`).
    pub fn any_of(ip: IpAddr) -> IpNet {
        match ip {
            IpAddr::V4(_) => IpNet::V4(Ipv4Net::new(Ipv4Addr::UNSPECIFIED, 0).expect("/0")),
            IpAddr::V6(_) => IpNet::V6(Ipv6Net::new(Ipv6Addr::UNSPECIFIED, 0).expect("/0")),
        }
    }
    pub fn v4(&self) -> Option<Ipv4Net> {
        match self {
            IpNet::V4(n) => Some(*n),
            IpNet::V6(_) => None,
        }
    }
}

impl From<Ipv4Net> for IpNet {
    fn from(n: Ipv4Net) -> Self {
        IpNet::V4(n)
    }
}

impl From<Ipv6Net> for IpNet {
    fn from(n: Ipv6Net) -> Self {
        IpNet::V6(n)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpNetError {
    #[error(transparent)]
    V4(#[from] Ipv4NetError),
    #[error(transparent)]
    V6(#[from] Ipv6NetError),
}

impl FromStr for IpNet {
    type Err = IpNetError;
    /// An address with `:` is IPv6, anything else IPv4 (so a typo in an
    /// IPv4 address keeps 2.x's IPv4 message).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.contains(':') {
            Ok(IpNet::V6(s.parse()?))
        } else {
            Ok(IpNet::V4(s.parse()?))
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpNet::V4(n) => n.fmt(f),
            IpNet::V6(n) => n.fmt(f),
        }
    }
}

impl Serialize for IpNet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A link's addresses as `--show-config` and the API print them: one
/// address as a plain string (2.x's shape), several as a list.
pub fn serialize_ips<S: Serializer>(ips: &[IpNet], s: S) -> Result<S::Ok, S::Error> {
    match ips {
        [one] => one.serialize(s),
        many => many.serialize(s),
    }
}

/// A unicast Ethernet address usable on an interface (`c2:00:00:00:00:01`):
/// neither multicast (which includes broadcast) nor all-zero, both of which
/// the kernel refuses as an interface address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacAddr([u8; 6]);

impl MacAddr {
    /// `None` for multicast addresses (low bit of the first octet set, which
    /// includes the broadcast address) and for the all-zero address.
    pub fn new(octets: [u8; 6]) -> Option<Self> {
        (octets[0] & 1 == 0 && octets != [0; 6]).then_some(Self(octets))
    }
    pub fn octets(&self) -> [u8; 6] {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MacAddrError {
    #[error("not a MAC address (six pairs of hex digits separated by ':', like c2:00:00:00:00:01)")]
    Syntax,
    #[error(
        "a multicast MAC address (lowest bit of the first octet set) cannot be an interface address; use an even first octet, like c2"
    )]
    Multicast,
    #[error("ff:ff:ff:ff:ff:ff is the broadcast address and cannot be an interface address")]
    Broadcast,
    #[error("the all-zero MAC address cannot be an interface address (the kernel refuses it)")]
    Zero,
}

impl FromStr for MacAddr {
    type Err = MacAddrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut octets = [0u8; 6];
        let mut parts = s.split(':');
        for o in &mut octets {
            let p = parts.next().ok_or(MacAddrError::Syntax)?;
            // Exactly two hex digits: `from_str_radix` alone would also take
            // a sign (`+2` → 0x02).
            if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(MacAddrError::Syntax);
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| MacAddrError::Syntax)?;
        }
        if parts.next().is_some() {
            return Err(MacAddrError::Syntax);
        }
        MacAddr::new(octets).ok_or(match octets {
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] => MacAddrError::Broadcast,
            [0, 0, 0, 0, 0, 0] => MacAddrError::Zero,
            _ => MacAddrError::Multicast,
        })
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            o[0], o[1], o[2], o[3], o[4], o[5]
        )
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A kernel interface name: 1–15 bytes, no `/`, `:` or whitespace, not `.`
/// or `..` (the rules of the kernel's `dev_valid_name`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IfNameError {
    #[error("interface name must not be empty")]
    Empty,
    #[error("interface name is longer than 15 characters")]
    TooLong,
    #[error("interface name must not contain '/', ':' or whitespace, nor be '.' or '..'")]
    BadChar,
}

impl IfName {
    pub const MAX_LEN: usize = 15;
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for IfName {
    type Err = IfNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(IfNameError::Empty);
        }
        if s.len() > Self::MAX_LEN {
            return Err(IfNameError::TooLong);
        }
        if s == "."
            || s == ".."
            || s.chars()
                .any(|c| c == '/' || c == ':' || c.is_whitespace() || c == '\0')
        {
            return Err(IfNameError::BadChar);
        }
        Ok(IfName(s.to_owned()))
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for IfName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4net_parses_and_rejects() {
        let n: Ipv4Net = "10.0.1.7/24".parse().unwrap();
        assert_eq!((n.addr(), n.prefix()), (Ipv4Addr::new(10, 0, 1, 7), 24));
        assert_eq!(n.network(), Ipv4Addr::new(10, 0, 1, 0));
        assert!(n.contains(Ipv4Addr::new(10, 0, 1, 200)));
        assert!(!n.contains(Ipv4Addr::new(10, 0, 2, 1)));
        for bad in [
            "10.0.1.1",
            "10.0.1.256/24",
            "10.0.1.1/33",
            "10.0.1.1/",
            "10.0.1.1/+8",
            "x/8",
        ] {
            assert!(bad.parse::<Ipv4Net>().is_err(), "{bad}");
        }
        assert_eq!("0.0.0.0/0".parse::<Ipv4Net>().unwrap().netmask(), 0);
    }

    #[test]
    fn mac_parses_displays_and_rejects_multicast() {
        let m: MacAddr = "C2:00:0a:ff:00:01".parse().unwrap();
        assert_eq!(m.to_string(), "c2:00:0a:ff:00:01");
        assert_eq!(
            "01:00:5e:00:00:01".parse::<MacAddr>(),
            Err(MacAddrError::Multicast)
        );
        assert_eq!(
            "33:33:00:00:00:01".parse::<MacAddr>(),
            Err(MacAddrError::Multicast)
        );
        assert_eq!(
            "FF:ff:ff:ff:ff:ff".parse::<MacAddr>(),
            Err(MacAddrError::Broadcast)
        );
        assert_eq!(
            "00:00:00:00:00:00".parse::<MacAddr>(),
            Err(MacAddrError::Zero)
        );
        assert_eq!(MacAddr::new([0; 6]), None);
        assert!("00:00:00:00:00:01".parse::<MacAddr>().is_ok());
        for bad in [
            "c2:00:00:00:00",
            "c2:00:00:00:00:00:00",
            "c2-00-00-00-00-00",
            "c2:0:00:00:00:00",
            "+2:00:00:00:00:01",
            "c2:00:00:00:00:+1",
            "c2:-1:00:00:00:01",
            "c2:00:00:00:00:0x",
            "c2:00:00:00:00: 1",
            "c2:00:00:00:00:é",
            "",
        ] {
            assert_eq!(bad.parse::<MacAddr>(), Err(MacAddrError::Syntax), "{bad}");
        }
    }

    #[test]
    fn ifname_follows_kernel_rules() {
        assert!("eth0".parse::<IfName>().is_ok());
        assert!("a23456789012345".parse::<IfName>().is_ok());
        assert_eq!(
            "a234567890123456".parse::<IfName>(),
            Err(IfNameError::TooLong)
        );
        assert_eq!("".parse::<IfName>(), Err(IfNameError::Empty));
        for bad in ["a/b", "a:b", "a b", ".", ".."] {
            assert_eq!(bad.parse::<IfName>(), Err(IfNameError::BadChar), "{bad}");
        }
    }

    #[test]
    fn ipv6net_parses_and_rejects() {
        let n: Ipv6Net = "fd00:1::7/64".parse().unwrap();
        assert_eq!(n.prefix(), 64);
        assert_eq!(n.network(), "fd00:1::".parse::<Ipv6Addr>().unwrap());
        assert!(n.contains("fd00:1::ffff".parse().unwrap()));
        assert!(!n.contains("fd00:2::1".parse().unwrap()));
        assert_eq!(n.to_string(), "fd00:1::7/64");
        for bad in [
            "fd00::1",
            "fd00::1/129",
            "fd00::1/",
            "fd00::1/+8",
            "fd00::g/64",
            "10.0.0.1/8",
        ] {
            assert!(bad.parse::<Ipv6Net>().is_err(), "{bad}");
        }
        assert_eq!("::/0".parse::<Ipv6Net>().unwrap().netmask(), 0);
    }

    #[test]
    fn ipnet_picks_the_family_by_its_text() {
        let v4: IpNet = "10.0.1.1/24".parse().unwrap();
        let v6: IpNet = "fd00::1/64".parse().unwrap();
        assert!(!v4.is_ipv6() && v6.is_ipv6());
        assert_eq!(v4.to_string(), "10.0.1.1/24");
        assert!(!v4.contains("fd00::1".parse().unwrap()));
        assert!(v6.contains("fd00::2".parse().unwrap()));
        // An IPv4 typo keeps the IPv4 message.
        assert_eq!(
            "10.0.1.300/24".parse::<IpNet>().unwrap_err().to_string(),
            Ipv4NetError.to_string()
        );
        assert_eq!(
            "fd00::x/64".parse::<IpNet>().unwrap_err().to_string(),
            Ipv6NetError.to_string()
        );
    }
}
