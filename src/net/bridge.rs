//! Linux bridges in conlink's namespace: create (or adopt one a previous
//! run left), up, marked; pin the MAC once the first port is in.

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage};
use rtnetlink::{LinkMessageBuilder, LinkUnspec};

use super::errors::{NetError, Result};
use super::handle::{CHANGE, CREATE, LinkMessageExt, Rt};
use super::link::Mark;

pub fn create_message(name: &str, mark: &Mark) -> LinkMessage {
    LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Bridge)
        .name(name)
        .append_extra_attribute(LinkAttribute::Group(mark.group))
        .up()
        .build()
}

/// Set alias and group by name (works whether or not we just created it).
pub fn mark_message(name: &str, mark: &Mark) -> LinkMessage {
    LinkMessageBuilder::<LinkUnspec>::new()
        .name(name)
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

/// Make sure bridge `name` exists, is up and carries our mark; its index.
pub async fn ensure(rt: &Rt, name: &str, mark: &Mark) -> Result<u32> {
    if let Some(existing) = rt.link_by_name(name).await? {
        if !is_bridge(&existing) {
            return Err(NetError::Invalid(format!(
                "bridge {name}: an interface of that name exists and is not a bridge"
            )));
        }
        let up = LinkUnspec::new_with_index(existing.header.index)
            .up()
            .build();
        rt.ack(
            format!("set bridge {name} up"),
            RouteNetlinkMessage::SetLink(up),
            CHANGE,
        )
        .await?;
    } else {
        match rt
            .ack(
                format!("create bridge {name}"),
                RouteNetlinkMessage::NewLink(create_message(name, mark)),
                CREATE,
            )
            .await
        {
            // Another task created it between our look-up and create.
            Err(e) if e.errno() == Some(libc::EEXIST) => {}
            Err(e) if e.errno() == Some(libc::EOPNOTSUPP) => {
                return Err(NetError::KernelLacks {
                    module: "bridge",
                    needed_for: format!("bridge {name}"),
                });
            }
            other => other?,
        }
    }
    rt.ack(
        format!("mark bridge {name}"),
        RouteNetlinkMessage::SetLink(mark_message(name, mark)),
        CHANGE,
    )
    .await?;
    rt.index_of(name).await
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
