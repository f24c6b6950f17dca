//! What to do when a create in conlink's namespace answers EEXIST. The
//! name is free for us only when what holds it is ours and stale: an
//! earlier run's (it carries this instance's exact alias and is in no
//! ledger) or this same link's old end. A live link of this run, one of
//! this run's bridges or tunnels, or anything conlink did not create is a
//! [`NetError::NameTaken`], and nothing is deleted.
//!
//! For a veth the kernel does not say which of its two names exists: if the
//! outer one is free, the inner one exists in the target namespace
//! ([`NetError::InnerExists`], transient). An inner end that is ours and
//! whose other end's namespace is being destroyed (an earlier conlink's;
//! the kernel tears namespaces down asynchronously) is removed at once.

use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage};

use super::engine::Engine;
use super::errors::{NetError, Result};
use super::handle::LinkMessageExt;
use super::ledger::Owned;
use super::link::veth;
use super::netns::Netns;
use super::spec::LinkSpec;
use super::teardown::delete_index;

/// What stands in the way of a veth create that answered EEXIST.
enum Clash {
    /// Something we must not delete holds the outer name.
    Taken(NetError),
    /// The outer name is ours and stale: this index may be deleted.
    StaleOuter(u32),
    /// The outer name is free, so the inner name exists in the target.
    Inner {
        index: u32,
        /// It carries our link group.
        ours: bool,
        /// Ours, a veth, and its peer's namespace is being destroyed.
        dying: bool,
    },
    /// Neither name exists any more.
    Vanished,
}

impl Engine {
    /// Send the veth create; on EEXIST find out what holds the name and
    /// either remove it (a stale end of ours) and try again, or fail with
    /// a typed error without deleting anything. On success the outer end
    /// enters the ledger as `id`'s.
    pub(super) async fn create_veth(
        &self,
        ns: &Netns,
        id: &str,
        spec: &LinkSpec,
        outer: &str,
    ) -> Result<Option<LinkMessage>> {
        let dev = spec.dev.as_str();
        let create = || {
            let msg = veth::message(&veth::VethRequest {
                inner: dev,
                outer,
                home_fd: self.home.raw_fd(),
                mtu: spec.mtu,
                mac: spec.mac,
                group: self.mark.group,
            });
            ns.rt()
                .create_link_echo(format!("create veth {dev} (outer end {outer})"), msg)
        };
        // Each kind of removal at most once: what reappears after that is
        // not a leftover.
        let (mut removed_outer, mut removed_inner, mut vanished) = (false, false, false);
        loop {
            let err = match create().await {
                Ok(echoed) => {
                    self.ledger().add_outer(outer, id);
                    return Ok(echoed);
                }
                Err(e) if e.errno() == Some(libc::EEXIST) => e,
                Err(e) => return Err(e),
            };
            match self.veth_clash(ns, id, dev, outer).await? {
                Clash::Taken(e) => return Err(e),
                // A restarted container's old outer end can outlive its
                // namespace for a moment (the kernel tears namespaces down
                // asynchronously), or an earlier run left it.
                Clash::StaleOuter(index) if !removed_outer => {
                    tracing::debug!(
                        "removing stale {outer} left by an earlier run or a dead container"
                    );
                    self.forget_outer(outer).await;
                    delete_index(self.home.rt(), index, outer).await?;
                    removed_outer = true;
                }
                // Our veth whose other end is in a namespace being destroyed
                // (an earlier conlink's): it would go by itself, later.
                Clash::Inner {
                    index, dying: true, ..
                } if !removed_inner => {
                    tracing::info!(
                        "removing {dev} (left by an earlier conlink; its other end's namespace is being destroyed)"
                    );
                    delete_index(ns.rt(), index, dev).await?;
                    removed_inner = true;
                }
                Clash::Inner { ours, .. } => {
                    return Err(NetError::InnerExists {
                        dev: dev.to_owned(),
                        ours,
                    });
                }
                Clash::Vanished if !vanished => vanished = true,
                Clash::StaleOuter(_) | Clash::Vanished => return Err(err),
            }
        }
    }

    /// What holds the names of a veth whose create answered EEXIST. The
    /// kernel does not say which name it was, so: the outer one when it
    /// exists in conlink's namespace, else the inner one.
    async fn veth_clash(&self, ns: &Netns, id: &str, dev: &str, outer: &str) -> Result<Clash> {
        if let Some(link) = self.home.rt().link_by_name(outer).await? {
            return Ok(match self.judge(outer, &link, Some(id)) {
                Ok(index) => Clash::StaleOuter(index),
                Err(e) => Clash::Taken(e),
            });
        }
        Ok(match ns.rt().link_by_name(dev).await? {
            Some(inner) => {
                let ours = inner.group() == Some(self.mark.group);
                let dying = match inner.link_netnsid() {
                    Some(nsid) if ours && is_kind(&inner, InfoKind::Veth) => {
                        // Unknown counts as alive: never delete on a guess.
                        !ns.rt().netns_id_alive(nsid).await.unwrap_or(true)
                    }
                    _ => false,
                };
                Clash::Inner {
                    index: inner.header.index,
                    ours,
                    dying,
                }
            }
            None => Clash::Vanished,
        })
    }

    /// Who holds a tunnel's name, which a create just found taken: the
    /// index to delete when it is an earlier run's, `None` when it is gone.
    pub(super) async fn tunnel_clash(&self, name: &str) -> Result<Option<u32>> {
        match self.home.rt().link_by_name(name).await? {
            Some(link) => self.judge(name, &link, None).map(Some),
            None => Ok(None),
        }
    }

    /// `name` exists in conlink's namespace as `link` and link `id` (a
    /// veth's outer end) or a tunnel (`None`) wants it: the index to delete
    /// when it is ours and stale, else the error naming its holder.
    fn judge(&self, name: &str, link: &LinkMessage, id: Option<&str>) -> Result<u32> {
        // The kernel was read first, then the ledger: our own new end enters
        // the ledger before its alias is set, so it is never taken for stale.
        match self.owned(name) {
            Some(Owned::Link(h)) if Some(h.as_str()) == id => Ok(link.header.index),
            Some(h) => Err(NetError::NameTaken {
                holder: h.describe(name),
                name: name.to_owned(),
            }),
            None if self.mark.owns(link.alias()) => Ok(link.header.index),
            None => Err(NetError::NameTaken {
                name: name.to_owned(),
                holder: "an interface conlink did not create".into(),
            }),
        }
    }
}

fn is_kind(link: &LinkMessage, kind: InfoKind) -> bool {
    link.attributes.iter().any(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos
            .iter()
            .any(|i| matches!(i, LinkInfo::Kind(k) if *k == kind)),
        _ => false,
    })
}
