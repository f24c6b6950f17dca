//! Routes of a link (`route:` in config) as RTM_NEWROUTE, encoded as
//! `ip route add` encodes them: main table and protocol `boot` unless told
//! otherwise, scope link when there is no gateway, a multipath route as
//! RTA_MULTIPATH with one rtnexthop (weight − 1, flags, ifindex, gateway)
//! per path.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteMetric, RouteNextHop, RouteNextHopFlags,
    RouteProtocol, RouteScope as NlScope,
};
use rtnetlink::RouteMessageBuilder;

use super::addr::IfName;
use super::errors::Result;
use super::handle::{CREATE, Pending, Rt};
use super::route::{Route, RouteDst, RouteScope};

/// The interface indexes a route leaves through: the route's own (its
/// `dev`, else the link's) and, for a multipath route, one per nexthop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Devices {
    pub route: u32,
    /// Empty: every nexthop uses `route`.
    pub hops: Vec<u32>,
}

impl From<u32> for Devices {
    fn from(index: u32) -> Self {
        Devices {
            route: index,
            hops: vec![],
        }
    }
}

/// Look up the devices `route` names in `rt`'s namespace; a missing `dev`
/// (or the link's own, `own` at `own_index`) is the link's interface.
pub async fn devices(rt: &Rt, route: &Route, own: &IfName, own_index: u32) -> Result<Devices> {
    async fn index(rt: &Rt, dev: Option<&IfName>, own: &IfName, own_index: u32) -> Result<u32> {
        match dev {
            Some(d) if d != own => rt.index_of(d.as_str()).await,
            _ => Ok(own_index),
        }
    }
    let mut out = Devices::from(index(rt, route.dev.as_ref(), own, own_index).await?);
    for h in &route.nexthops {
        out.hops
            .push(index(rt, h.dev.as_ref(), own, own_index).await?);
    }
    Ok(out)
}

fn gateway(gw: IpAddr) -> RouteAttribute {
    RouteAttribute::Gateway(match gw {
        IpAddr::V4(a) => RouteAddress::Inet(a),
        IpAddr::V6(a) => RouteAddress::Inet6(a),
    })
}

/// The builder calls of one route for one family (the builder's address
/// type differs by family), in the order `ip route add` puts attributes.
macro_rules! build_family {
    ($addr:ident, $v:ident, $route:expr, $devs:expr, $proto:expr) => {{
        let route: &Route = $route;
        let mut b = RouteMessageBuilder::<$addr>::new().protocol($proto);
        if let Some(t) = route.table {
            b = b.table_id(t);
        }
        if let RouteDst::Net(n) = route.dst {
            if let IpAddr::$v(a) = n.network() {
                b = b.destination_prefix(a, n.prefix());
            }
        }
        if route.nexthops.is_empty() {
            if let Some(IpAddr::$v(gw)) = route.via {
                b = b.gateway(gw);
            }
            b = b.output_interface($devs.route);
        }
        if let Some(m) = route.metric {
            b = b.priority(m);
        }
        if let Some(IpAddr::$v(src)) = route.src {
            b = b.pref_source(src);
        }
        b
    }};
}

/// The RTM_NEWROUTE for `route` leaving through `devs`.
pub fn message(route: &Route, devs: &Devices) -> RouteMessage {
    let proto = route.proto.map_or(RouteProtocol::Boot, RouteProtocol::from);
    // The parser made destination, gateways and source agree in family.
    if route.is_ipv6() {
        finish(build_family!(Ipv6Addr, V6, route, devs, proto), route, devs)
    } else {
        finish(build_family!(Ipv4Addr, V4, route, devs, proto), route, devs)
    }
}

/// What every family shares: onlink, scope, metrics, multipath.
fn finish<T>(mut b: RouteMessageBuilder<T>, route: &Route, devs: &Devices) -> RouteMessage {
    if route.onlink {
        b = b.onlink();
    }
    let has_gateway = !route.gateways().is_empty();
    let scope = match route.scope {
        Some(RouteScope::Global) => NlScope::Universe,
        Some(RouteScope::Site) => NlScope::Site,
        Some(RouteScope::Link) => NlScope::Link,
        Some(RouteScope::Host) => NlScope::Host,
        // As `ip -6 route add`: IPv6 routes are always universe scope.
        None if route.is_ipv6() => NlScope::Universe,
        None if !has_gateway => NlScope::Link,
        None => NlScope::Universe,
    };
    b = b.scope(scope);
    let mut msg = b.build();
    if let Some(mtu) = route.mtu {
        msg.attributes
            .push(RouteAttribute::Metrics(vec![RouteMetric::Mtu(mtu)]));
    }
    if !route.nexthops.is_empty() {
        let hops = route
            .nexthops
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let mut nh = RouteNextHop::default();
                if h.onlink {
                    nh.flags |= RouteNextHopFlags::Onlink;
                }
                // The kernel stores weight − 1 (`rtnh_hops`); 1..=256 fits.
                nh.hops = u8::try_from(h.weight.clamp(1, 256) - 1).unwrap_or(u8::MAX);
                nh.interface_index = devs.hops.get(i).copied().unwrap_or(devs.route);
                nh.attributes.extend(h.via.map(gateway));
                nh
            })
            .collect();
        msg.attributes.push(RouteAttribute::MultiPath(hops));
    }
    msg
}

pub fn describe(route: &Route) -> String {
    let dst = match route.dst {
        RouteDst::Default => "default".to_string(),
        RouteDst::Net(n) => format!("{}/{}", n.network(), n.prefix()),
    };
    let mut s = match route.via {
        Some(gw) => format!("{dst} via {gw}"),
        None => dst,
    };
    for h in &route.nexthops {
        s.push_str(" nexthop");
        if let Some(gw) = h.via {
            s.push_str(&format!(" via {gw}"));
        }
        if let Some(d) = &h.dev {
            s.push_str(&format!(" dev {d}"));
        }
    }
    if let Some(t) = route.table {
        s.push_str(&format!(" table {t}"));
    }
    s
}

pub fn add(rt: &Rt, route: &Route, devs: impl Into<Devices>) -> Pending {
    rt.send(
        format!("add route {}", describe(route)),
        RouteNetlinkMessage::NewRoute(message(route, &devs.into())),
        CREATE,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse::route::parse_route;
    use netlink_packet_route::route::RouteFlags;

    #[test]
    fn options_land_where_ip_route_puts_them() {
        let r =
            parse_route("10.8.0.0/16 via 10.0.0.1 onlink table 300 proto static metric 3").unwrap();
        let m = message(&r, &Devices::from(4));
        assert_eq!(m.header.protocol, RouteProtocol::Static);
        assert!(m.header.flags.contains(RouteFlags::Onlink));
        assert_eq!(m.header.scope, NlScope::Universe);
        // Table ids above 255 go in RTA_TABLE (the header keeps 252, compat).
        assert!(m.attributes.contains(&RouteAttribute::Table(300)));
        assert!(m.attributes.contains(&RouteAttribute::Oif(4)));
        assert!(m.attributes.contains(&RouteAttribute::Priority(3)));
        let plain = message(&parse_route("10.8.0.0/16 dev eth0").unwrap(), &4.into());
        assert_eq!(plain.header.protocol, RouteProtocol::Boot);
        assert_eq!(plain.header.scope, NlScope::Link);
        assert_eq!(plain.header.table, 254);
    }

    #[test]
    fn multipath_is_one_rtnexthop_per_path() {
        let r = parse_route(
            "default nexthop via 10.0.0.1 weight 3 nexthop via 10.1.0.1 dev eth1 onlink",
        )
        .unwrap();
        let m = message(
            &r,
            &Devices {
                route: 4,
                hops: vec![4, 9],
            },
        );
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Oif(_) | RouteAttribute::Gateway(_))),
            "no single-path oif/gateway: {m:?}"
        );
        let hops = m
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::MultiPath(h) => Some(h),
                _ => None,
            })
            .expect("RTA_MULTIPATH");
        assert_eq!(hops.len(), 2);
        assert_eq!((hops[0].hops, hops[0].interface_index), (2, 4));
        assert_eq!((hops[1].hops, hops[1].interface_index), (0, 9));
        assert!(hops[1].flags.contains(RouteNextHopFlags::Onlink));
        assert_eq!(
            hops[0].attributes,
            [gateway(Ipv4Addr::new(10, 0, 0, 1).into())]
        );
    }

    #[test]
    fn ipv6_route_is_an_inet6_request() {
        use netlink_packet_route::AddressFamily;
        let r = parse_route("fd00:2::/64 via fd00:1::fe metric 7").unwrap();
        let m = message(&r, &Devices::from(4));
        assert_eq!(m.header.address_family, AddressFamily::Inet6);
        assert_eq!(m.header.destination_prefix_length, 64);
        assert_eq!(m.header.scope, NlScope::Universe);
        assert!(
            m.attributes
                .contains(&gateway("fd00:1::fe".parse().unwrap()))
        );
        assert!(m.attributes.contains(&RouteAttribute::Oif(4)));
        let d = message(&parse_route("default via fd00:1::fe").unwrap(), &4.into());
        assert_eq!(d.header.address_family, AddressFamily::Inet6);
        assert_eq!(d.header.destination_prefix_length, 0);
        // Without a gateway too: `ip -6 route add` sends universe scope.
        let l = message(&parse_route("fd00:9::/64 dev eth0").unwrap(), &4.into());
        assert_eq!(l.header.scope, NlScope::Universe);
        let v4 = message(&parse_route("10.9.0.0/16 dev eth0").unwrap(), &4.into());
        assert_eq!(v4.header.address_family, AddressFamily::Inet);
    }
}
