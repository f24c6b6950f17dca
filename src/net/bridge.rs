//! Linux bridges in conlink's namespace: create one (exclusively, then
//! mark it), or use one that exists; pin the MAC once the first port is in.
//!
//! Only a bridge conlink created carries its mark and is ever deleted. One
//! the user made is used as it is and left in place at shutdown, with its
//! addresses; one carrying this instance's exact alias was made by an
//! earlier run and is ours.

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage};
use rtnetlink::{LinkMessageBuilder, LinkUnspec};

use super::errors::{NetError, Result};
use super::handle::{CHANGE, LinkMessageExt, Rt};
use super::link::Mark;

pub fn create_message(name: &str, mark: &Mark) -> LinkMessage {
    LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Bridge)
        .name(name)
        .append_extra_attribute(LinkAttribute::Group(mark.group))
        .up()
        .build()
}

/// Set alias and group by index, once our create succeeded.
pub fn mark_message(index: u32, mark: &Mark) -> LinkMessage {
    LinkMessageBuilder::<LinkUnspec>::new()
        .index(index)
        .alias(mark.alias.clone())
        .append_extra_attribute(LinkAttribute::Group(mark.group))
        .build()
}

pub fn is_bridge(link: &LinkMessage) -> bool {
    link.attributes.iter().any(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos
            .iter()
            .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Bridge))),
        _ => false,
    })
}

/// Where a ready bridge came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Our exclusive create made it; now marked.
    Created,
    /// It carries this instance's exact alias: an earlier run made it.
    Leftover,
    /// It existed without our mark: used, never marked, never deleted.
    Foreign,
}

impl Origin {
    /// Whether the bridge is this instance's to delete.
    pub fn ours(self) -> bool {
        self != Origin::Foreign
    }
}

/// Make sure bridge `name` exists and is up; its index and where it came from.
pub async fn ensure(rt: &Rt, name: &str, mark: &Mark) -> Result<(u32, Origin)> {
    // Twice at most: a create that loses a race to another creator finds
    // the winner's bridge on the second look.
    for _ in 0..2 {
        if let Some(existing) = rt.link_by_name(name).await? {
            return use_existing(rt, name, mark, &existing).await;
        }
        match rt
            .create_link_echo(format!("create bridge {name}"), create_message(name, mark))
            .await
        {
            Ok(echoed) => {
                let index = match echoed.filter(|l| l.name() == Some(name)) {
                    Some(l) => l.header.index,
                    None => rt.index_of(name).await?,
                };
                return mark_created(rt, name, index, mark)
                    .await
                    .map(|()| (index, Origin::Created));
            }
            Err(e) if e.errno() == Some(libc::EEXIST) => continue,
            Err(e) if e.errno() == Some(libc::EOPNOTSUPP) => {
                return Err(NetError::KernelLacks {
                    module: "bridge",
                    needed_for: format!("bridge {name}"),
                });
            }
            Err(e) => return Err(e),
        }
    }
    Err(NetError::kernel(
        format!("create bridge {name} (it keeps appearing and vanishing)"),
        libc::EAGAIN,
    ))
}

async fn use_existing(
    rt: &Rt,
    name: &str,
    mark: &Mark,
    existing: &LinkMessage,
) -> Result<(u32, Origin)> {
    if !is_bridge(existing) {
        return Err(NetError::Invalid(format!(
            "bridge {name}: an interface of that name exists and is not a bridge"
        )));
    }
    let origin = if mark.owns(existing.alias()) {
        Origin::Leftover
    } else {
        tracing::info!(
            "using existing bridge {name} (not created by conlink; it will be left in place)"
        );
        Origin::Foreign
    };
    let index = existing.header.index;
    rt.ack(
        format!("set bridge {name} up"),
        RouteNetlinkMessage::SetLink(LinkUnspec::new_with_index(index).up().build()),
        CHANGE,
    )
    .await?;
    Ok((index, origin))
}

/// Mark a bridge our create just made; delete it again when that fails, so
/// nothing unmarked of ours is left behind.
async fn mark_created(rt: &Rt, name: &str, index: u32, mark: &Mark) -> Result<()> {
    let marked = rt
        .ack(
            format!("mark bridge {name}"),
            RouteNetlinkMessage::SetLink(mark_message(index, mark)),
            CHANGE,
        )
        .await;
    if let Err(e) = marked {
        let del = LinkUnspec::new_with_index(index).build();
        if let Err(d) = rt
            .ack(
                format!("delete bridge {name}"),
                RouteNetlinkMessage::DelLink(del),
                CHANGE,
            )
            .await
        {
            tracing::warn!("rollback: {d}");
        }
        return Err(e);
    }
    Ok(())
}

/// Fix the bridge's MAC to the one it has now (its first port's): a Linux
/// bridge otherwise takes the lowest port MAC, which changes as ports come
/// and go and stalls neighbours' ARP caches.
pub async fn pin_mac(rt: &Rt, name: &str) -> Result<()> {
    let link = rt
        .link_by_name(name)
        .await?
        .ok_or_else(|| NetError::kernel(format!("look up bridge {name}"), libc::ENODEV))?;
    let Some(mac) = link.mac().map(<[u8]>::to_vec) else {
        return Ok(());
    };
    let msg = LinkUnspec::new_with_index(link.header.index)
        .address(mac)
        .build();
    rt.ack(
        format!("pin MAC of bridge {name}"),
        RouteNetlinkMessage::SetLink(msg),
        CHANGE,
    )
    .await
}
