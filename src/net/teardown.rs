//! Deleting what this instance owns in conlink's namespace, and forgetting
//! what went away by itself. The alias is the authority: a link is deleted
//! only when it carries this instance's exact `conlink:<instance>`. Many
//! links go in one kernel call through the doomed link group, after a
//! check that nobody else's link is in it.

use std::collections::HashMap;

use futures::future::join_all;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use rtnetlink::LinkUnspec;

use super::addr::IfName;
use super::engine::{BridgeState, Engine};
use super::errors::{NetError, Result};
use super::handle::{CHANGE, LinkMessageExt, Pending, Rt};

impl Engine {
    /// Delete links of conlink's namespace by name, all in one kernel call:
    /// they are moved into a link group first (cheap), then the group is
    /// deleted, which costs one RCU grace period instead of one per link.
    /// Only links carrying this instance's exact alias are deleted; names
    /// that do not exist are skipped, others are left with a warning.
    /// Returns how many were deleted.
    pub async fn delete_links(&self, names: &[IfName]) -> Result<usize> {
        let links = self.home.rt().links().await?;
        let by_name: HashMap<&str, &LinkMessage> =
            links.iter().filter_map(|l| Some((l.name()?, l))).collect();
        let mut doomed = Vec::new();
        let mut settled = Vec::new();
        for n in names {
            match by_name.get(n.as_str()) {
                None => settled.push(n.as_str()),
                Some(l) if self.mark.owns(l.alias()) => {
                    doomed.push((n.as_str(), l.header.index));
                    settled.push(n.as_str());
                }
                Some(l) => tracing::warn!(
                    "not deleting {n}: conlink did not create it (alias {:?})",
                    l.alias().unwrap_or("")
                ),
            }
        }
        let n = self.delete_ours(&doomed).await?;
        self.forget_deleted(&settled).await;
        Ok(n)
    }

    /// Delete links whose alias was checked to be ours, by index: move
    /// them into the doomed group, check that nobody else's link is in it,
    /// delete the group. The number of links deleted.
    async fn delete_ours(&self, links: &[(&str, u32)]) -> Result<usize> {
        if links.is_empty() {
            return Ok(0);
        }
        let rt = self.home.rt();
        let doomed = self.mark.doomed_group();
        let pending: Vec<Pending> = links
            .iter()
            .map(|(name, index)| {
                rt.send(
                    format!("mark {name} for deletion"),
                    RouteNetlinkMessage::SetLink(
                        LinkUnspec::new_with_index(*index)
                            .append_extra_attribute(LinkAttribute::Group(doomed))
                            .build(),
                    ),
                    CHANGE,
                )
            })
            .collect();
        let mut moved = Vec::with_capacity(links.len());
        for (r, link) in join_all(pending.into_iter().map(Pending::ack))
            .await
            .into_iter()
            .zip(links)
        {
            match r {
                Ok(()) => moved.push(*link),
                Err(e) if e.errno() == Some(libc::ENODEV) => {}
                Err(e) => return Err(e),
            }
        }
        if moved.is_empty() {
            return Ok(0);
        }
        // Deleting a group deletes every member. Only an instance whose
        // name hashes to our group uses this doomed group, but if one is
        // deleting at this moment its links are in it too: then go one by one.
        let strangers: Vec<String> = rt
            .links()
            .await?
            .iter()
            .filter(|l| l.group() == Some(doomed) && !self.mark.owns(l.alias()))
            .map(|l| l.name().unwrap_or("?").to_owned())
            .collect();
        if strangers.is_empty() {
            delete_group(rt, doomed).await?;
        } else {
            tracing::warn!(
                "link group {doomed} also holds {} (not ours): deleting ours one by one",
                strangers.join(", ")
            );
            for (name, index) in &moved {
                delete_index(rt, *index, name).await?;
            }
        }
        Ok(moved.len())
    }

    /// Forget ports that vanished with their container (veth outer ends
    /// go when the peer's namespace does), so a patch can take the
    /// restarted container's new end and the name is free in the ledger.
    pub async fn forget_ports(&self, names: &[IfName]) {
        for n in names {
            self.forget_outer(n.as_str()).await;
        }
    }

    pub(super) async fn forget_outer(&self, name: &str) {
        self.ledger().forget_outer(name);
        let mut bridges = self.bridges.lock().await;
        for state in bridges.values_mut() {
            if let BridgeState::Patch { ports } = state {
                ports.retain(|p| p != name);
            }
        }
    }

    /// After deleting `names`: drop them from the ledger, the bridges and
    /// the patches.
    async fn forget_deleted(&self, names: &[&str]) {
        {
            let mut ledger = self.ledger();
            for n in names {
                ledger.forget(n);
            }
        }
        let mut bridges = self.bridges.lock().await;
        for n in names {
            bridges.remove(*n);
            for state in bridges.values_mut() {
                if let BridgeState::Patch { ports } = state {
                    ports.retain(|p| p != n);
                }
            }
        }
    }

    /// Remove everything carrying this instance's exact alias in conlink's
    /// namespace (links of this run, or leftovers of an earlier one) and
    /// this instance's nftables table. Bridges that existed before conlink
    /// and other instances' links stay. Returns the names removed.
    pub async fn cleanup(&self) -> Result<Vec<String>> {
        let links = self.home.rt().links().await?;
        let ours: Vec<(&str, u32)> = links
            .iter()
            .filter(|l| self.mark.owns(l.alias()))
            .filter_map(|l| Some((l.name()?, l.header.index)))
            .collect();
        self.delete_ours(&ours).await?;
        let mut names: Vec<String> = ours.iter().map(|(n, _)| (*n).to_owned()).collect();
        super::nft::forward::remove_table(&self.home, &self.forward_table)?;
        // OVS is optional: trouble there must not stop Linux cleanup or startup.
        match self.ovs.remove_marked_bridges().await {
            Ok(ovs) => names.extend(ovs),
            Err(e) => tracing::warn!("removing this instance's OVS bridges: {e}"),
        }
        self.bridges.lock().await.clear();
        self.ledger().clear();
        Ok(names)
    }

    /// Stop the Open vSwitch daemons if this run started them (after
    /// [`Engine::cleanup`] removed its bridges).
    pub async fn stop_ovs(&self) {
        self.ovs.stop_daemons().await;
    }
}

pub(super) async fn delete_index(rt: &Rt, index: u32, name: &str) -> Result<()> {
    match rt
        .ack(
            format!("delete {name}"),
            RouteNetlinkMessage::DelLink(LinkUnspec::new_with_index(index).build()),
            CHANGE,
        )
        .await
    {
        Err(e) if e.errno() == Some(libc::ENODEV) => Ok(()),
        r => r,
    }
}

/// RTM_DELLINK for every link in `group` (never group 0: that is every
/// link nobody grouped).
async fn delete_group(rt: &Rt, group: u32) -> Result<()> {
    if group == 0 {
        return Err(NetError::Invalid("refusing to delete link group 0".into()));
    }
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::Group(group));
    rt.ack(
        format!("delete link group {group}"),
        RouteNetlinkMessage::DelLink(msg),
        CHANGE,
    )
    .await
}
