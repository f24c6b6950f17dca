//! Routes of a link (`route:` in config) as RTM_NEWROUTE, with the defaults
//! of `ip route add`: main table, protocol static, scope link when there is
//! no gateway.

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::{
    RouteAttribute, RouteMessage, RouteMetric, RouteProtocol, RouteScope as NlScope,
};
use rtnetlink::RouteMessageBuilder;

use super::handle::{CREATE, Pending, Rt};
use super::route::{Route, RouteDst, RouteScope};

/// `oif` is the index of the route's device (its `dev`, or the link's own).
pub fn message(route: &Route, oif: u32) -> RouteMessage {
    let mut b = RouteMessageBuilder::<std::net::Ipv4Addr>::new().protocol(RouteProtocol::Boot);
    if let RouteDst::Net(n) = route.dst {
        b = b.destination_prefix(n.network(), n.prefix());
    }
    if let Some(gw) = route.via {
        b = b.gateway(gw);
    }
    b = b.output_interface(oif);
    if let Some(m) = route.metric {
        b = b.priority(m);
    }
    if let Some(src) = route.src {
        b = b.pref_source(src);
    }
    let scope = match route.scope {
        Some(RouteScope::Global) => NlScope::Universe,
        Some(RouteScope::Link) => NlScope::Link,
        Some(RouteScope::Host) => NlScope::Host,
        None if route.via.is_none() => NlScope::Link,
        None => NlScope::Universe,
    };
    b = b.scope(scope);
    let mut msg = b.build();
    if let Some(mtu) = route.mtu {
        msg.attributes
            .push(RouteAttribute::Metrics(vec![RouteMetric::Mtu(mtu)]));
    }
    msg
}

pub fn describe(route: &Route) -> String {
    let dst = match route.dst {
        RouteDst::Default => "default".to_string(),
        RouteDst::Net(n) => format!("{}/{}", n.network(), n.prefix()),
    };
    match route.via {
        Some(gw) => format!("{dst} via {gw}"),
        None => dst,
    }
}

pub fn add(rt: &Rt, route: &Route, oif: u32) -> Pending {
    rt.send(
        format!("add route {}", describe(route)),
        RouteNetlinkMessage::NewRoute(message(route, oif)),
        CREATE,
    )
}
