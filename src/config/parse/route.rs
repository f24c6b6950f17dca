//! `route:` strings in `ip route add` syntax → [`Route`]:
//!
//! ```text
//! DEST [via GW] [dev DEV] [metric N] [src IP] [mtu N] [scope S] [onlink]
//!      [table T] [proto P]
//! DEST [route options] nexthop via GW [dev DEV] [weight N] [onlink] nexthop …
//! ```
//!
//! DEST is `default`, a prefix or a bare address (a /32, as in ip). As in
//! ip, everything after the first `nexthop` belongs to the nexthops.

use std::net::IpAddr;

use crate::net::addr::{IfName, IpNet, Ipv4Net, Ipv6Net};
use crate::net::route::{Nexthop, Route, RouteDst, RouteScope};

fn ip(s: &str, what: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| {
        if s.contains(':') {
            format!("`{s}` is not an IPv6 address ({what})")
        } else {
            format!("`{s}` is not an IPv4 address ({what})")
        }
    })
}

fn dst(s: &str) -> Result<RouteDst, String> {
    if s == "default" || s == "0.0.0.0/0" {
        return Ok(RouteDst::Default);
    }
    let net: IpNet = if s.contains('/') {
        s.parse().map_err(|_| {
            format!(
                "`{s}` is not a destination (`default`, or a prefix like 10.0.0.0/8 or fd00:2::/64)"
            )
        })?
    } else {
        match ip(s, "destination")? {
            IpAddr::V4(a) => Ipv4Net::new(a, 32).map(IpNet::V4),
            IpAddr::V6(a) => Ipv6Net::new(a, 128).map(IpNet::V6),
        }
        .ok_or_else(|| format!("`{s}` is not a destination"))?
    };
    if net.network() != net.addr() {
        return Err(format!(
            "destination `{s}` has host bits set (did you mean {}/{}?)",
            net.network(),
            net.prefix()
        ));
    }
    Ok(RouteDst::Net(net))
}

/// Routing table names every system knows (`/etc/iproute2/rt_tables` of
/// the container cannot be read from here, so other names are refused).
fn table(s: &str) -> Result<u32, String> {
    match s {
        "main" => Ok(254),
        "local" => Ok(255),
        "default" => Ok(253),
        _ => s.parse::<u32>().ok().filter(|t| *t != 0).ok_or_else(|| {
            format!(
                "table `{s}` is not a table id (1–4294967295) or main, local, default \
                     (names from rt_tables are not read: use the number)"
            )
        }),
    }
}

/// Protocol names from iproute2's rt_protos, or a number 0–255.
fn proto(s: &str) -> Result<u8, String> {
    Ok(match s {
        "redirect" => 1,
        "kernel" => 2,
        "boot" => 3,
        "static" => 4,
        "gated" => 8,
        "ra" => 9,
        "mrt" => 10,
        "zebra" => 11,
        "bird" => 12,
        "dnrouted" => 13,
        "xorp" => 14,
        "ntk" => 15,
        "dhcp" => 16,
        "keepalived" => 18,
        "babel" => 42,
        "openr" => 99,
        "bgp" => 186,
        "isis" => 187,
        "ospf" => 188,
        "rip" => 189,
        "eigrp" => 192,
        _ => s.parse().map_err(|_| {
            format!(
                "proto `{s}` is not a number 0–255 or a protocol name \
                 (static, boot, kernel, dhcp, ra, zebra, bird, bgp, ospf, …)"
            )
        })?,
    })
}

fn scope(s: &str) -> Result<RouteScope, String> {
    Ok(match s {
        "link" => RouteScope::Link,
        "global" | "universe" => RouteScope::Global,
        "site" => RouteScope::Site,
        "host" => RouteScope::Host,
        _ => return Err(format!("unknown scope `{s}` (global, site, link, host)")),
    })
}

fn ifname(s: &str) -> Result<IfName, String> {
    s.parse::<IfName>().map_err(|e| format!("dev `{s}`: {e}"))
}

fn dup(key: &str, present: bool) -> Result<(), String> {
    if present {
        Err(format!("`{key}` is given more than once"))
    } else {
        Ok(())
    }
}

/// The words of one `nexthop` (up to the next `nexthop`).
fn nexthop(words: &[&str]) -> Result<Nexthop, String> {
    let mut h = Nexthop {
        via: None,
        dev: None,
        weight: 1,
        onlink: false,
    };
    let mut weight = false;
    let mut it = words.iter();
    while let Some(&key) = it.next() {
        if key == "onlink" {
            dup("onlink", h.onlink)?;
            h.onlink = true;
            continue;
        }
        let val = it
            .next()
            .copied()
            .ok_or_else(|| format!("`{key}` needs a value"))?;
        match key {
            "via" => {
                dup(key, h.via.is_some())?;
                h.via = Some(ip(val, "gateway")?);
            }
            "dev" => {
                dup(key, h.dev.is_some())?;
                h.dev = Some(ifname(val)?);
            }
            "weight" => {
                dup(key, weight)?;
                weight = true;
                h.weight = val
                    .parse()
                    .ok()
                    .filter(|w| (1..=256).contains(w))
                    .ok_or_else(|| format!("nexthop weight `{val}` is not in 1–256"))?;
            }
            _ => {
                return Err(format!(
                    "unsupported nexthop word `{key}` (supported: via, dev, weight, onlink; \
                     route options go before the first `nexthop`)"
                ));
            }
        }
    }
    if h.via.is_none() && h.dev.is_none() {
        return Err("a nexthop needs `via GATEWAY` or `dev DEVICE`".into());
    }
    if h.onlink && h.via.is_none() {
        return Err("`onlink` needs `via` (it says the gateway is on the link)".into());
    }
    Ok(h)
}

/// Parse one route string.
pub fn parse_route(s: &str) -> Result<Route, String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let Some((first, rest)) = words.split_first() else {
        return Err("empty route (like `default via 10.0.0.1`)".into());
    };
    let mut r = Route {
        dst: dst(first)?,
        ..Route::default()
    };
    // Everything from the first `nexthop` on describes the paths.
    let split = rest.iter().position(|w| *w == "nexthop");
    let (opts, hops) = rest.split_at(split.unwrap_or(rest.len()));
    let mut it = opts.iter();
    while let Some(&key) = it.next() {
        if key == "onlink" {
            dup("onlink", r.onlink)?;
            r.onlink = true;
            continue;
        }
        let val = it
            .next()
            .copied()
            .ok_or_else(|| format!("`{key}` needs a value"))?;
        match key {
            "via" => {
                dup(key, r.via.is_some())?;
                r.via = Some(ip(val, "gateway")?);
            }
            "dev" | "oif" => {
                dup("dev", r.dev.is_some())?;
                r.dev = Some(ifname(val)?);
            }
            "metric" | "preference" | "priority" => {
                dup("metric", r.metric.is_some())?;
                r.metric = Some(
                    val.parse()
                        .map_err(|_| format!("metric `{val}` is not a number 0–4294967295"))?,
                );
            }
            "src" => {
                dup(key, r.src.is_some())?;
                r.src = Some(ip(val, "source")?);
            }
            "mtu" => {
                dup(key, r.mtu.is_some())?;
                r.mtu = Some(
                    val.parse()
                        .ok()
                        .filter(|m| (68..=65535).contains(m))
                        .ok_or_else(|| format!("route mtu `{val}` is not in 68–65535"))?,
                );
            }
            "scope" => {
                dup(key, r.scope.is_some())?;
                r.scope = Some(scope(val)?);
            }
            "table" => {
                dup(key, r.table.is_some())?;
                r.table = Some(table(val)?);
            }
            "proto" | "protocol" => {
                dup("proto", r.proto.is_some())?;
                r.proto = Some(proto(val)?);
            }
            _ => {
                return Err(format!(
                    "unsupported route word `{key}` (supported: via, dev, metric, src, mtu, \
                     scope, onlink, table, proto, nexthop)"
                ));
            }
        }
    }
    // hops = ["nexthop", …, "nexthop", …]
    for group in hops.split(|w| *w == "nexthop").skip(1) {
        r.nexthops.push(nexthop(group)?);
    }
    if r.nexthops.is_empty() {
        if r.via.is_none() && r.dev.is_none() {
            // `ip route add 10.0.0.0/8` alone is refused by the kernel too.
            return Err("a route needs `via GATEWAY`, `dev DEVICE` or `nexthop …`".into());
        }
        if r.onlink && r.via.is_none() {
            return Err("`onlink` needs `via` (it says the gateway is on the link)".into());
        }
    } else {
        for (key, given) in [
            ("via", r.via.is_some()),
            ("dev", r.dev.is_some()),
            ("onlink", r.onlink),
        ] {
            if given {
                return Err(format!(
                    "a multipath route takes `{key}` inside each `nexthop`, not before them"
                ));
            }
        }
    }
    family_agrees(&r)?;
    Ok(r)
}

/// Destination, gateways and source of one route are all IPv4 or all IPv6
/// (the kernel refuses a mix with a bare EINVAL).
fn family_agrees(r: &Route) -> Result<(), String> {
    let v6 = r.is_ipv6();
    let fam = |v6: bool| if v6 { "IPv6" } else { "IPv4" };
    let mut addrs: Vec<(&str, IpAddr)> = r.gateways().into_iter().map(|g| ("gateway", g)).collect();
    addrs.extend(r.src.map(|a| ("source", a)));
    if let RouteDst::Net(n) = r.dst {
        addrs.insert(0, ("destination", n.network()));
    }
    match addrs.iter().find(|(_, a)| a.is_ipv6() != v6) {
        Some((what, a)) => Err(format!(
            "{what} {a} is {} but this is an {} route (one route cannot mix families)",
            fam(a.is_ipv6()),
            fam(v6)
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn supported_forms() {
        let r = parse_route("default via 10.0.0.1").unwrap();
        assert_eq!(
            (r.dst, r.via),
            (RouteDst::Default, Some(Ipv4Addr::new(10, 0, 0, 1).into()))
        );
        let r = parse_route("192.168.0.0/16 via 10.0.0.1 metric 10 src 10.0.0.5 mtu 1400").unwrap();
        assert_eq!(r.dst, RouteDst::Net("192.168.0.0/16".parse().unwrap()));
        assert_eq!(
            (r.metric, r.src, r.mtu),
            (
                Some(10),
                Some(Ipv4Addr::new(10, 0, 0, 5).into()),
                Some(1400)
            )
        );
        let r = parse_route("10.1.0.0/24 dev eth1 scope link").unwrap();
        assert_eq!(r.dev.unwrap().as_str(), "eth1");
        assert_eq!(r.scope, Some(RouteScope::Link));
        let r = parse_route("10.1.2.3 dev eth1").unwrap();
        assert_eq!(r.dst, RouteDst::Net("10.1.2.3/32".parse().unwrap()));
    }

    #[test]
    fn ipv6_routes() {
        let r = parse_route("default via fd00:1::fe").unwrap();
        assert_eq!(r.dst, RouteDst::Default);
        assert!(r.is_ipv6());
        assert_eq!(r.via, Some("fd00:1::fe".parse().unwrap()));
        let r = parse_route("fd00:2::/64 via fd00:1::fe metric 5 src fd00:1::1").unwrap();
        assert_eq!(r.dst, RouteDst::Net("fd00:2::/64".parse().unwrap()));
        assert!(r.is_ipv6());
        let r = parse_route("fd00:2::9 dev eth1").unwrap();
        assert_eq!(r.dst, RouteDst::Net("fd00:2::9/128".parse().unwrap()));
        let r = parse_route("::/0 dev eth1").unwrap();
        assert!(r.is_ipv6());
        let r = parse_route("default nexthop via fd00:1::1 nexthop via fd00:1::2").unwrap();
        assert!(r.is_ipv6());
        assert!(!parse_route("default dev eth0").unwrap().is_ipv6());
        for (s, want) in [
            (
                "fd00:2::1/64 via fd00:1::1",
                "host bits set (did you mean fd00:2::/64?)",
            ),
            (
                "fd00:2::/64 via 10.0.0.1",
                "gateway 10.0.0.1 is IPv4 but this is an IPv6 route",
            ),
            (
                "10.2.0.0/16 via fd00::1",
                "gateway fd00::1 is IPv6 but this is an IPv4 route",
            ),
            (
                "default via fd00::1 src 10.0.0.1",
                "source 10.0.0.1 is IPv4",
            ),
            (
                "default nexthop via fd00::1 nexthop via 10.0.0.1",
                "gateway 10.0.0.1 is IPv4",
            ),
            (
                "default via fd00::g",
                "`fd00::g` is not an IPv6 address (gateway)",
            ),
            ("fd00:2::/129 dev eth0", "is not a destination"),
        ] {
            let e = parse_route(s).unwrap_err();
            assert!(e.contains(want), "{s}: {e}");
        }
    }

    #[test]
    fn table_proto_onlink_scope() {
        let r = parse_route("default via 192.0.2.1 onlink table 100 proto static").unwrap();
        assert!(r.onlink);
        assert_eq!((r.table, r.proto), (Some(100), Some(4)));
        assert_eq!(
            parse_route("default via 1.1.1.1 table main").unwrap().table,
            Some(254)
        );
        assert_eq!(
            parse_route("default via 1.1.1.1 table 70000")
                .unwrap()
                .table,
            Some(70000)
        );
        assert_eq!(
            parse_route("default via 1.1.1.1 proto 42").unwrap().proto,
            Some(42)
        );
        assert_eq!(
            parse_route("default via 1.1.1.1 protocol bird")
                .unwrap()
                .proto,
            Some(12)
        );
        assert_eq!(
            parse_route("10.0.0.0/8 dev eth0 scope site").unwrap().scope,
            Some(RouteScope::Site)
        );
        assert_eq!(
            parse_route("default via 1.1.1.1 preference 7")
                .unwrap()
                .metric,
            Some(7)
        );
    }

    #[test]
    fn multipath_nexthops() {
        let r = parse_route(
            "default metric 5 nexthop via 10.0.0.1 weight 2 nexthop via 10.1.0.1 dev eth1 onlink",
        )
        .unwrap();
        assert_eq!(r.metric, Some(5));
        assert_eq!(
            r.nexthops,
            [
                Nexthop {
                    via: Some(Ipv4Addr::new(10, 0, 0, 1).into()),
                    dev: None,
                    weight: 2,
                    onlink: false
                },
                Nexthop {
                    via: Some(Ipv4Addr::new(10, 1, 0, 1).into()),
                    dev: Some("eth1".parse().unwrap()),
                    weight: 1,
                    onlink: true
                },
            ]
        );
        assert_eq!(
            r.gateways(),
            [
                IpAddr::from(Ipv4Addr::new(10, 0, 0, 1)),
                Ipv4Addr::new(10, 1, 0, 1).into()
            ]
        );
        let r = parse_route("10.9.0.0/16 nexthop dev eth0 nexthop dev eth1 weight 256").unwrap();
        assert_eq!(r.nexthops[1].weight, 256);
    }

    #[test]
    fn rejects_with_reasons() {
        let cases = [
            ("", "empty route"),
            (
                "default",
                "needs `via GATEWAY`, `dev DEVICE` or `nexthop …`",
            ),
            ("default via", "`via` needs a value"),
            ("default via 10.0.0.300", "not an IPv4 address (gateway)"),
            (
                "10.0.0.1/24 via 10.0.0.2",
                "host bits set (did you mean 10.0.0.0/24?)",
            ),
            ("10.0.0.0/33 via 10.0.0.2", "not a destination"),
            ("default via 1.1.1.1 table 0", "table `0` is not a table id"),
            ("default via 1.1.1.1 table vrf-red", "use the number"),
            (
                "default via 1.1.1.1 proto 256",
                "proto `256` is not a number 0–255",
            ),
            ("default via 1.1.1.1 proto ospfv9", "protocol name"),
            (
                "default via 1.1.1.1 realm 5",
                "unsupported route word `realm`",
            ),
            ("default via 1.1.1.1 via 1.1.1.2", "given more than once"),
            (
                "default via 1.1.1.1 onlink onlink",
                "`onlink` is given more than once",
            ),
            ("default dev a/b", "dev `a/b`"),
            ("default via 1.1.1.1 scope nowhere", "unknown scope"),
            ("default via 1.1.1.1 mtu 20", "not in 68–65535"),
            ("default via 1.1.1.1 metric x", "metric `x` is not a number"),
            ("10.0.0.0/8 dev eth0 onlink", "`onlink` needs `via`"),
            (
                "default nexthop",
                "a nexthop needs `via GATEWAY` or `dev DEVICE`",
            ),
            (
                "default nexthop via 1.1.1.1 weight 0",
                "weight `0` is not in 1–256",
            ),
            ("default nexthop via 1.1.1.1 weight 257", "not in 1–256"),
            (
                "default nexthop via 1.1.1.1 metric 5",
                "unsupported nexthop word `metric`",
            ),
            ("default nexthop dev eth0 onlink", "`onlink` needs `via`"),
            (
                "default via 1.1.1.1 nexthop via 1.1.1.2",
                "takes `via` inside each `nexthop`",
            ),
            (
                "default onlink nexthop via 1.1.1.2",
                "takes `onlink` inside each `nexthop`",
            ),
            (
                "default nexthop via 1.1.1.2 weight 2 weight 3",
                "`weight` is given more than once",
            ),
        ];
        for (s, want) in cases {
            let e = parse_route(s).unwrap_err();
            assert!(e.contains(want), "{s}: {e}");
        }
    }
}
