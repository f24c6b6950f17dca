//! Typed routes (`route:` in config, `ip route add` syntax). The config
//! parser builds these; the link engine turns them into RTM_NEWROUTE.

use std::net::IpAddr;

use serde::Serialize;

use super::addr::{IfName, IpNet};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteDst {
    /// `default`: 0.0.0.0/0, or ::/0 when the route's gateway (or `src`)
    /// is IPv6 (as `ip route add default via fd00::1` takes it).
    #[default]
    Default,
    /// A prefix such as `10.0.0.0/8` or `fd00:2::/64` (host bits must be
    /// zero) or a host `/32` (`/128`).
    Net(IpNet),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteScope {
    Global,
    Site,
    Link,
    Host,
}

/// One path of a multipath route (`nexthop via GW [dev DEV] [weight N]
/// [onlink]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nexthop {
    /// At least one of `via` and `dev` is set (the parser guarantees it);
    /// without `dev` the path leaves through the link's own interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<IfName>,
    /// 1–256 (the kernel stores weight − 1 in a byte); 1 when not given.
    pub weight: u16,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub onlink: bool,
}

/// One route inside the link's namespace.
///
/// Either `nexthops` is empty and at least one of `via` and `dev` is set,
/// or it holds the paths of a multipath route and `via`/`dev`/`onlink` are
/// unset (the parser guarantees it). When `dev` is absent the route goes
/// through the link's own interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Route {
    pub dst: RouteDst,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<IfName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<RouteScope>,
    /// The gateway is on the link even if no address or route says so.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub onlink: bool,
    /// Routing table id (1–4294967295); `None` is main (254).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    /// Routing protocol number; `None` is `boot`, as `ip route add` sends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nexthops: Vec<Nexthop>,
}

impl Route {
    /// Every path as (gateway, device, onlink): the route itself, or each
    /// nexthop of a multipath route.
    pub fn paths(&self) -> Vec<(Option<IpAddr>, Option<&IfName>, bool)> {
        if self.nexthops.is_empty() {
            vec![(self.via, self.dev.as_ref(), self.onlink)]
        } else {
            self.nexthops
                .iter()
                .map(|h| (h.via, h.dev.as_ref(), h.onlink))
                .collect()
        }
    }

    /// Every gateway of the route (one, or one per nexthop).
    pub fn gateways(&self) -> Vec<IpAddr> {
        self.paths()
            .into_iter()
            .filter_map(|(gw, _, _)| gw)
            .collect()
    }

    /// Whether this is an IPv6 route: its destination's family, else its
    /// gateways' or source's (the parser makes them agree); IPv4 when
    /// nothing says (`default dev eth0`, as in `ip route`).
    pub fn is_ipv6(&self) -> bool {
        match self.dst {
            RouteDst::Net(n) => n.is_ipv6(),
            RouteDst::Default => self
                .gateways()
                .into_iter()
                .chain(self.src)
                .any(|a| a.is_ipv6()),
        }
    }
}
