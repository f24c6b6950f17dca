//! Small operations the daemon needs beyond creating links: renaming
//! conlink's Docker interface without losing its routes, a host route back
//! for forwarded links, deleting links inside a target namespace, and
//! forgetting patch ports whose container died.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use rtnetlink::LinkUnspec;

use super::addr::{IfName, IpNet, Ipv4Net, Ipv6Net};
use super::engine::Engine;
use super::errors::Result;
use super::handle::{CHANGE, CREATE, Rt};
use super::netns::NsTarget;
use super::route::{Route, RouteDst, RouteScope};
use super::route_apply;

impl Engine {
    /// Rename `from` to `to` in conlink's namespace, keeping its IPv4
    /// routes (taking a link down drops them). Returns its first IPv4
    /// address, or `None` when there is no `from`.
    pub async fn rename_keeping_routes(&self, from: &str, to: &IfName) -> Result<Option<Ipv4Addr>> {
        let rt = self.home().rt();
        let Some(link) = rt.link_by_name(from).await? else {
            return Ok(None);
        };
        let index = link.header.index;
        let routes = ipv4_routes_via(rt, index).await?;
        // IPv6 (when Docker gave conlink an IPv6 address): taking the link
        // down drops its global addresses (unless keep_addr_on_down, which
        // a container cannot set: /proc/sys is read-only there), so they
        // are put back after, then the gateway routes, like IPv4's.
        let addrs6 = global_ipv6_of_index(rt, index).await?;
        let routes6 = if addrs6.is_empty() {
            vec![]
        } else {
            routes_via(rt, index, true).await?
        };
        let op = format!("rename {from} to {to}");
        let set =
            |b: rtnetlink::LinkMessageBuilder<LinkUnspec>| RouteNetlinkMessage::SetLink(b.build());
        rt.ack(
            op.clone(),
            set(LinkUnspec::new_with_index(index).down()),
            CHANGE,
        )
        .await?;
        rt.ack(
            op.clone(),
            set(LinkUnspec::new_with_index(index).name(to.to_string())),
            CHANGE,
        )
        .await?;
        rt.ack(op, set(LinkUnspec::new_with_index(index).up()), CHANGE)
            .await?;
        // Link-scope routes come back with the address; the rest (the
        // default route above all) must be put back by hand.
        for route in routes {
            match rt
                .ack(
                    format!("restore a route of {to}"),
                    RouteNetlinkMessage::NewRoute(route),
                    CREATE,
                )
                .await
            {
                Err(e) if e.errno() == Some(libc::EEXIST) => {}
                r => r?,
            }
        }
        for net in addrs6 {
            match super::addr_apply::add(rt, index, net, to.as_str())
                .ack()
                .await
            {
                Err(e) if e.errno() == Some(libc::EEXIST) => {}
                r => r?,
            }
        }
        for route in routes6 {
            match rt
                .ack(
                    format!("restore an IPv6 route of {to}"),
                    RouteNetlinkMessage::NewRoute(route),
                    CREATE,
                )
                .await
            {
                Err(e) if e.errno() == Some(libc::EEXIST) => {}
                Err(e) => tracing::warn!("{e}"),
                Ok(()) => {}
            }
        }
        ipv4_of_index(rt, index).await
    }

    /// The first global IPv6 address of `name` in conlink's namespace.
    pub async fn ipv6_of(&self, name: &IfName) -> Result<Option<Ipv6Addr>> {
        let rt = self.home().rt();
        let Some(link) = rt.link_by_name(name.as_str()).await? else {
            return Ok(None);
        };
        Ok(global_ipv6_of_index(rt, link.header.index)
            .await?
            .first()
            .map(|n| match n.addr() {
                IpAddr::V6(a) => a,
                IpAddr::V4(_) => unreachable!("IPv6 dump"),
            }))
    }

    /// The first IPv4 address of `name` in conlink's namespace.
    pub async fn ipv4_of(&self, name: &IfName) -> Result<Option<Ipv4Addr>> {
        let rt = self.home().rt();
        match rt.link_by_name(name.as_str()).await? {
            Some(link) => ipv4_of_index(rt, link.header.index).await,
            None => Ok(None),
        }
    }

    /// `addr/32 dev <dev>` inside `target`: forwarded traffic is
    /// masqueraded to conlink's Docker address, and replies must go back
    /// through the link rather than the container's default route.
    pub async fn add_host_route(
        &self,
        target: &NsTarget,
        dev: &IfName,
        addr: IpAddr,
    ) -> Result<()> {
        let ns = self.netns(target)?;
        let rt = ns.rt();
        let oif = rt.index_of(dev.as_str()).await?;
        let host = match addr {
            IpAddr::V4(a) => IpNet::V4(Ipv4Net::new(a, 32).expect("32 is a valid prefix")),
            IpAddr::V6(a) => IpNet::V6(Ipv6Net::new(a, 128).expect("128 is a valid prefix")),
        };
        let route = Route {
            dst: RouteDst::Net(host),
            dev: Some(dev.clone()),
            scope: Some(RouteScope::Link),
            ..Default::default()
        };
        match route_apply::add(rt, &route, oif).ack().await {
            Err(e) if e.errno() == Some(libc::EEXIST) => Ok(()),
            r => r,
        }
    }

    /// Delete links by name inside `target`; links (or a namespace) that
    /// are already gone count as done.
    pub async fn delete_links_in(&self, target: &NsTarget, names: &[IfName]) -> Result<()> {
        let ns = match self.netns(target) {
            Ok(ns) => ns,
            Err(e) if e.is_gone() => return Ok(()),
            Err(e) => return Err(e),
        };
        for name in names {
            let msg =
                RouteNetlinkMessage::DelLink(LinkUnspec::new_with_name(name.as_str()).build());
            match ns.rt().ack(format!("delete {name}"), msg, CHANGE).await {
                Err(e) if e.errno() == Some(libc::ENODEV) => {}
                r => r?,
            }
        }
        Ok(())
    }
}

async fn ipv4_routes_via(rt: &Rt, index: u32) -> Result<Vec<RouteMessage>> {
    routes_via(rt, index, false).await
}

/// The main table's gateway routes out of `index`, of one family.
async fn routes_via(rt: &Rt, index: u32, v6: bool) -> Result<Vec<RouteMessage>> {
    let mut query = RouteMessage::default();
    query.header.address_family = if v6 {
        netlink_packet_route::AddressFamily::Inet6
    } else {
        netlink_packet_route::AddressFamily::Inet
    };
    let msgs = rt
        .dump("list routes", RouteNetlinkMessage::GetRoute(query))
        .await?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewRoute(r) => Some(r),
            _ => None,
        })
        .filter(|r| {
            r.header.table == libc::RT_TABLE_MAIN
                && r.header.scope != netlink_packet_route::route::RouteScope::Link
                && r.attributes
                    .iter()
                    .any(|a| matches!(a, RouteAttribute::Oif(i) if *i == index))
                && r.attributes.iter().any(|a| match a {
                    RouteAttribute::Gateway(RouteAddress::Inet(_)) => !v6,
                    RouteAttribute::Gateway(RouteAddress::Inet6(_)) => v6,
                    _ => false,
                })
        })
        .collect())
}

/// The global (universe scope) IPv6 addresses of `index`.
async fn global_ipv6_of_index(rt: &Rt, index: u32) -> Result<Vec<IpNet>> {
    let mut query = AddressMessage::default();
    query.header.family = netlink_packet_route::AddressFamily::Inet6;
    let msgs = rt
        .dump("list addresses", RouteNetlinkMessage::GetAddress(query))
        .await?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewAddress(a)
                if a.header.index == index
                    && a.header.scope == netlink_packet_route::address::AddressScope::Universe =>
            {
                let prefix = a.header.prefix_len;
                a.attributes.iter().find_map(|attr| match attr {
                    AddressAttribute::Address(IpAddr::V6(v6)) => {
                        Ipv6Net::new(*v6, prefix).map(IpNet::V6)
                    }
                    _ => None,
                })
            }
            _ => None,
        })
        .collect())
}

async fn ipv4_of_index(rt: &Rt, index: u32) -> Result<Option<Ipv4Addr>> {
    let mut query = AddressMessage::default();
    query.header.family = netlink_packet_route::AddressFamily::Inet;
    let msgs = rt
        .dump("list addresses", RouteNetlinkMessage::GetAddress(query))
        .await?;
    Ok(msgs.into_iter().find_map(|m| match m {
        RouteNetlinkMessage::NewAddress(a) if a.header.index == index => {
            a.attributes.iter().find_map(|attr| match attr {
                AddressAttribute::Address(IpAddr::V4(v4)) => Some(*v4),
                _ => None,
            })
        }
        _ => None,
    }))
}
