//! Changes to links that already exist, asked for at run time (the control
//! socket): administrative up/down, the kernel's counters, and netem set or
//! removed. Each addresses a link by name in its namespace.

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, Stats64};
use netlink_packet_route::tc::{TcHandle, TcHeader, TcMessage};
use rtnetlink::LinkUnspec;

use super::engine::Engine;
use super::errors::Result;
use super::handle::CHANGE;
use super::netem::Netem;
use super::netns::{Netns, NsTarget};

impl Engine {
    /// The namespace of `target`, or conlink's own for `None`.
    fn ns_or_home(&self, target: Option<&NsTarget>) -> Result<std::sync::Arc<Netns>> {
        match target {
            Some(t) => self.netns(t),
            None => Ok(self.home().clone()),
        }
    }

    /// Set link `name` administratively up or down. On a veth, taking one
    /// end down takes the carrier of its peer down with it.
    pub async fn set_admin(&self, target: Option<&NsTarget>, name: &str, up: bool) -> Result<()> {
        let ns = self.ns_or_home(target)?;
        let b = LinkUnspec::new_with_name(name);
        let msg = if up { b.up() } else { b.down() }.build();
        ns.rt()
            .ack(
                format!("set {name} {}", if up { "up" } else { "down" }),
                RouteNetlinkMessage::SetLink(msg),
                CHANGE,
            )
            .await
    }

    /// Put back the IPv6 addresses and IPv6 routes of `spec` on its device
    /// in `target` (EEXIST is fine). The kernel drops an interface's IPv6
    /// addresses, and the routes through them, when the interface itself
    /// goes administratively down (IPv4 keeps them), so a link that was
    /// taken down inside its namespace and brought up again needs them back.
    /// (A veth is taken down at its outer end, which keeps them.)
    pub async fn restore_ipv6(
        &self,
        target: &NsTarget,
        spec: &super::spec::LinkSpec,
    ) -> Result<()> {
        let ns = self.netns(target)?;
        let rt = ns.rt();
        let dev = spec.dev.as_str();
        let index = rt.index_of(dev).await?;
        let tolerate = |r: Result<()>| match r {
            Err(e) if e.errno() == Some(libc::EEXIST) => Ok(()),
            r => r,
        };
        for &ip in spec.ip.iter().filter(|n| n.is_ipv6()) {
            tolerate(super::addr_apply::add(rt, index, ip, dev).ack().await)?;
        }
        for r in spec.routes.iter().filter(|r| r.is_ipv6()) {
            let devs = super::route_apply::devices(rt, r, &spec.dev, index).await?;
            tolerate(super::route_apply::add(rt, r, devs).ack().await)?;
        }
        Ok(())
    }

    /// The kernel's 64-bit counters of every link in the namespace, by
    /// name: one dump answers for all of a target's links.
    pub async fn counters(
        &self,
        target: Option<&NsTarget>,
    ) -> Result<std::collections::HashMap<String, Stats64>> {
        let ns = self.ns_or_home(target)?;
        Ok(ns
            .rt()
            .links()
            .await?
            .into_iter()
            .filter_map(|link| {
                let mut name = None;
                let mut stats = None;
                for a in link.attributes {
                    match a {
                        LinkAttribute::IfName(n) => name = Some(n),
                        LinkAttribute::Stats64(s) => stats = Some(s),
                        _ => {}
                    }
                }
                Some((name?, stats?))
            })
            .collect())
    }

    /// Put netem on `name`'s egress (replacing its root qdisc), or remove
    /// the root qdisc for `None`.
    pub async fn set_netem(
        &self,
        target: Option<&NsTarget>,
        name: &str,
        netem: Option<&Netem>,
    ) -> Result<()> {
        let ns = self.ns_or_home(target)?;
        let rt = ns.rt();
        let index = rt.index_of(name).await?;
        match netem {
            Some(n) => super::tc::netem::apply(rt, index, name, n).await,
            None => {
                let mut msg = TcMessage::default();
                msg.header = TcHeader::default();
                msg.header.index = index as i32;
                msg.header.parent = TcHandle::ROOT;
                match rt
                    .ack(
                        format!("remove the root qdisc of {name}"),
                        RouteNetlinkMessage::DelQueueDiscipline(msg),
                        CHANGE,
                    )
                    .await
                {
                    // Nothing to remove: the default qdisc is in place.
                    Err(e) if matches!(e.errno(), Some(libc::ENOENT) | Some(libc::EINVAL)) => {
                        Ok(())
                    }
                    r => r,
                }
            }
        }
    }
}
