//! Link creation by kind. Each submodule builds the kernel request for its
//! kind as a plain message (unit-tested byte for byte where the kernel here
//! lacks the kind) and knows how to roll back what it made.

pub mod dummy;
pub mod stacked;
pub mod veth;

use netlink_packet_route::link::LinkAttribute;

use super::addr::MacAddr;

/// Mark put on everything conlink creates in its own namespace: an
/// ifalias `conlink:<instance>` (readable by people and `ip link`) and a
/// link group (settable in the create request itself, and deletable in one
/// kernel call, see `cleanup`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub alias: String,
    pub group: u32,
}

impl Mark {
    pub fn new(instance: &str) -> Mark {
        // FNV-1a: stable across runs so a restarted conlink finds its group.
        let mut h: u32 = 0x811c_9dc5;
        for b in instance.bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        // Keep clear of group 0 (every unmarked link) and of small numbers
        // people use by hand.
        let group = 0x1_0000 + h % 0x7fff_0000;
        Mark {
            alias: format!("conlink:{instance}"),
            group,
        }
    }

    /// A second group for links about to be deleted together.
    pub fn doomed_group(&self) -> u32 {
        self.group ^ 1
    }
}

/// Attributes shared by created links: optional MTU and MAC.
pub(crate) fn mtu_mac_attrs(mtu: Option<u32>, mac: Option<MacAddr>) -> Vec<LinkAttribute> {
    let mut v = Vec::new();
    if let Some(m) = mtu {
        v.push(LinkAttribute::Mtu(m));
    }
    if let Some(m) = mac {
        v.push(LinkAttribute::Address(m.octets().to_vec()));
    }
    v
}

/// Write IFLA_INFO_KIND as iproute2 does, without a trailing NUL (the
/// kernel accepts both; this keeps our requests byte-identical to `ip`'s,
/// which the fixture tests check).
pub fn kind_as_iproute2(msg: &mut netlink_packet_route::link::LinkMessage) {
    use netlink_packet_core::DefaultNla;
    use netlink_packet_route::link::LinkInfo;
    const IFLA_INFO_KIND: u16 = 1;
    for a in &mut msg.attributes {
        if let LinkAttribute::LinkInfo(infos) = a {
            for i in infos.iter_mut() {
                if let LinkInfo::Kind(k) = i {
                    *i = LinkInfo::Other(DefaultNla::new(
                        IFLA_INFO_KIND,
                        k.to_string().into_bytes(),
                    ));
                }
            }
        }
    }
}

/// A short random interface name for a link on its way into a namespace.
pub(crate) fn temp_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded randomly per process and changes with every
    // call, which is all a collision-avoiding temporary name needs.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    format!("cltmp{:08x}", h.finish() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_is_stable_and_clear_of_default_group() {
        let a = Mark::new("proj1");
        assert_eq!(a, Mark::new("proj1"));
        assert_eq!(a.alias, "conlink:proj1");
        assert!(a.group >= 0x1_0000);
        assert_ne!(a.group, Mark::new("proj2").group);
        assert_ne!(a.doomed_group(), a.group);
        let t = temp_name();
        assert_eq!(t.len(), 13);
        assert!(t.len() <= 15);
    }
}
