//! Typed routes (`route:` in config, `ip route add` syntax). The config
//! parser builds these; the link engine turns them into RTM_NEWROUTE.

use std::net::Ipv4Addr;

use serde::Serialize;

use super::addr::{IfName, Ipv4Net};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteDst {
    /// `default` (0.0.0.0/0)
    Default,
    /// A prefix such as `10.0.0.0/8` (host bits must be zero) or a host `/32`.
    Net(Ipv4Net),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteScope {
    Global,
    Link,
    Host,
}

/// One route inside the link's namespace.
///
/// At least one of `via` and `dev` is set (the parser guarantees it); when
/// `dev` is absent the route goes through the link's own interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    pub dst: RouteDst,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<IfName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<RouteScope>,
}
