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
/// kernel call, see `delete_links`).
///
/// The alias, compared as a whole string, is the authority on what belongs
/// to an instance: different instance names can hash to one group, and the
/// inner ends of veths carry the group without the alias. The group is only
/// a fast pre-filter and a tool for deleting many links at once.
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
        // people use by hand. Mark groups are even and doomed groups odd, so
        // one instance's doomed group is never another's mark group (with
        // `group ^ 1`, projects proj14616 and proj153907 were neighbours and
        // stopping one deleted the other's links).
        let group = 0x1_0000 + (h % 0x3fff_8000) * 2;
        Mark {
            alias: format!("conlink:{instance}"),
            group,
        }
    }

    /// The group links are moved into just before they are deleted
    /// together: odd, so it never equals any instance's mark group.
    pub fn doomed_group(&self) -> u32 {
        self.group | 1
    }

    /// Whether a link's alias is exactly this instance's.
    pub fn owns(&self, alias: Option<&str>) -> bool {
        alias == Some(self.alias.as_str())
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
        assert!(a.owns(Some("conlink:proj1")));
        assert!(!a.owns(Some("conlink:proj10")) && !a.owns(Some("conlink:proj")));
        assert!(!a.owns(None));
        let t = temp_name();
        assert_eq!(t.len(), 13);
        assert!(t.len() <= 15);
    }

    /// The old scheme (`0x1_0000 + h % 0x7fff_0000`, doomed `group ^ 1`)
    /// gave these two projects neighbouring groups; now no doomed group can
    /// be a mark group.
    #[test]
    fn doomed_groups_never_equal_mark_groups() {
        let (a, b) = (Mark::new("proj14616"), Mark::new("proj153907"));
        assert_ne!(a.doomed_group(), b.group);
        assert_ne!(b.doomed_group(), a.group);
        for i in 0..2000 {
            let m = Mark::new(&format!("p{i}"));
            assert_eq!(m.group % 2, 0, "{m:?}");
            assert_eq!(m.doomed_group() % 2, 1);
            assert!(m.group >= 0x1_0000 && m.doomed_group() <= 0x7fff_ffff);
        }
    }
}
