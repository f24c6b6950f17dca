//! Offload settings (`ethtool:` in config, e.g. `"-K rx off rxvlan off"`).
//! The config parser builds these; the link engine applies them with the
//! SIOCETHTOOL ioctl ([`super::offload`]).
//!
//! Names are the ones `ethtool -K` takes: its classic short and long names
//! (`tx`, `tx-checksumming`, `rxvlan`, `rx-vlan-offload`, …) and every
//! feature string the kernel lists for a device (`ethtool -k DEV`, e.g.
//! `tx-checksum-ip-generic`, `rx-udp-gro-forwarding`). Which strings a
//! device has is only known at run time.

use serde::{Serialize, Serializer};

/// The longest kernel feature string (ETH_GSTRING_LEN 32 with its NUL).
pub const FEATURE_NAME_MAX: usize = 31;

/// A kernel feature string, stored inline so [`Offload`] stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeatureName {
    len: u8,
    bytes: [u8; FEATURE_NAME_MAX],
}

impl FeatureName {
    /// A name as the kernel writes them: lower-case letters, digits and
    /// `_` in words joined by `-` (`tx-udp_tnl-segmentation`), starting
    /// with a letter, at most 31 bytes.
    pub fn new(s: &str) -> Option<FeatureName> {
        let ok = !s.is_empty()
            && s.len() <= FEATURE_NAME_MAX
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && !s.ends_with(['-', '_'])
            && !s.contains("--")
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return None;
        }
        let mut bytes = [0; FEATURE_NAME_MAX];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Some(FeatureName {
            len: s.len() as u8,
            bytes,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (see `new`).
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

impl std::fmt::Debug for FeatureName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// An offload feature as `ethtool -K` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OffloadFeature {
    /// rx-checksumming (legacy ioctl ETHTOOL_SRXCSUM)
    Rx,
    /// tx-checksumming: every tx-checksum-* feature (ETHTOOL_STXCSUM)
    Tx,
    /// scatter-gather (ETHTOOL_SSG)
    Sg,
    /// tcp-segmentation-offload: every tx-tcp*-segmentation (ETHTOOL_STSO)
    Tso,
    /// generic-segmentation-offload (ETHTOOL_SGSO)
    Gso,
    /// generic-receive-offload (ETHTOOL_SGRO)
    Gro,
    /// large-receive-offload: the kernel's `rx-lro`
    Lro,
    /// rx-vlan-offload: `rx-vlan-hw-parse`
    RxVlan,
    /// tx-vlan-offload: `tx-vlan-hw-insert`
    TxVlan,
    /// ntuple-filters: `rx-ntuple-filter`
    Ntuple,
    /// receive-hashing: `rx-hashing`
    RxHash,
    /// Any other feature string of the kernel's.
    Named(FeatureName),
}

impl OffloadFeature {
    /// The name `ethtool -K` takes (the short one for classic names).
    pub fn name(&self) -> &str {
        match self {
            OffloadFeature::Rx => "rx",
            OffloadFeature::Tx => "tx",
            OffloadFeature::Sg => "sg",
            OffloadFeature::Tso => "tso",
            OffloadFeature::Gso => "gso",
            OffloadFeature::Gro => "gro",
            OffloadFeature::Lro => "lro",
            OffloadFeature::RxVlan => "rxvlan",
            OffloadFeature::TxVlan => "txvlan",
            OffloadFeature::Ntuple => "ntuple",
            OffloadFeature::RxHash => "rxhash",
            OffloadFeature::Named(n) => n.as_str(),
        }
    }

    /// The kernel feature string a classic name without a legacy ioctl
    /// stands for, or the string itself; `None` for the six legacy ones.
    pub fn kernel_name(&self) -> Option<&str> {
        Some(match self {
            OffloadFeature::Lro => "rx-lro",
            OffloadFeature::RxVlan => "rx-vlan-hw-parse",
            OffloadFeature::TxVlan => "tx-vlan-hw-insert",
            OffloadFeature::Ntuple => "rx-ntuple-filter",
            OffloadFeature::RxHash => "rx-hashing",
            OffloadFeature::Named(n) => n.as_str(),
            _ => return None,
        })
    }

    /// A name `ethtool -K` takes: a classic short or long name, else a
    /// string shaped like the kernel's feature strings (whether the device
    /// has it is known only at run time).
    pub fn parse(s: &str) -> Option<OffloadFeature> {
        Some(match s {
            "rx" | "rx-checksumming" | "rx-checksum" => OffloadFeature::Rx,
            "tx" | "tx-checksumming" | "tx-checksum" => OffloadFeature::Tx,
            "sg" | "scatter-gather" => OffloadFeature::Sg,
            "tso" | "tcp-segmentation-offload" => OffloadFeature::Tso,
            "gso" | "generic-segmentation-offload" | "tx-generic-segmentation" => {
                OffloadFeature::Gso
            }
            "gro" | "generic-receive-offload" | "rx-gro" => OffloadFeature::Gro,
            "lro" | "large-receive-offload" | "rx-lro" => OffloadFeature::Lro,
            "rxvlan" | "rx-vlan-offload" | "rx-vlan-hw-parse" => OffloadFeature::RxVlan,
            "txvlan" | "tx-vlan-offload" | "tx-vlan-hw-insert" => OffloadFeature::TxVlan,
            "ntuple" | "ntuple-filters" | "rx-ntuple-filter" => OffloadFeature::Ntuple,
            "rxhash" | "receive-hashing" | "rx-hashing" => OffloadFeature::RxHash,
            _ => OffloadFeature::Named(FeatureName::new(s)?),
        })
    }
}

impl Serialize for OffloadFeature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One `feature on|off` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Offload {
    pub feature: OffloadFeature,
    pub enabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_classic_aliases() {
        for (written, name) in [
            ("tx-checksumming", "tx"),
            ("rx-vlan-offload", "rxvlan"),
            ("rx-vlan-hw-parse", "rxvlan"),
            ("receive-hashing", "rxhash"),
            ("tx-checksum-ip-generic", "tx-checksum-ip-generic"),
            ("rx-udp-gro-forwarding", "rx-udp-gro-forwarding"),
            ("tx-udp_tnl-segmentation", "tx-udp_tnl-segmentation"),
        ] {
            assert_eq!(OffloadFeature::parse(written).unwrap().name(), name);
        }
        assert_eq!(OffloadFeature::Tx.kernel_name(), None, "legacy ioctl");
        assert_eq!(
            OffloadFeature::TxVlan.kernel_name(),
            Some("tx-vlan-hw-insert")
        );
        assert_eq!(
            serde_json::to_value(OffloadFeature::parse("tx-nocache-copy").unwrap()).unwrap(),
            "tx-nocache-copy"
        );
    }

    #[test]
    fn kernel_shaped_names_only() {
        for bad in [
            "",
            "TX",
            "tx_",
            "-tx",
            "tx-",
            "tx--csum",
            "1tx",
            "tx csum",
            "a-very-long-feature-name-over-31b",
        ] {
            assert!(OffloadFeature::parse(bad).is_none(), "{bad:?}");
        }
        assert!(FeatureName::new("a-very-long-feature-name-is-31b").is_some());
    }
}
