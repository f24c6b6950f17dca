//! `route:` strings in `ip route add` syntax → [`Route`]: `default via GW`,
//! `PREFIX via GW`, `PREFIX dev DEV`, each with optional `metric N`, `src IP`,
//! `mtu N`, `scope link|global|host`. A bare address is a /32, as in ip.

use std::net::Ipv4Addr;

use crate::net::addr::{IfName, Ipv4Net};
use crate::net::route::{Route, RouteDst, RouteScope};

fn ip(s: &str, what: &str) -> Result<Ipv4Addr, String> {
    s.parse()
        .map_err(|_| format!("`{s}` is not an IPv4 address ({what})"))
}

fn dst(s: &str) -> Result<RouteDst, String> {
    if s == "default" || s == "0.0.0.0/0" {
        return Ok(RouteDst::Default);
    }
    let net: Ipv4Net = if s.contains('/') {
        s.parse().map_err(|_| {
            format!("`{s}` is not a destination (`default`, or a prefix like 10.0.0.0/8)")
        })?
    } else {
        let a = ip(s, "destination")?;
        Ipv4Net::new(a, 32).ok_or_else(|| format!("`{s}` is not a destination"))?
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

/// Parse one route string.
pub fn parse_route(s: &str) -> Result<Route, String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let Some((first, rest)) = words.split_first() else {
        return Err("empty route (like `default via 10.0.0.1`)".into());
    };
    let mut r = Route {
        dst: dst(first)?,
        via: None,
        dev: None,
        metric: None,
        src: None,
        mtu: None,
        scope: None,
    };
    let mut it = rest.iter();
    while let Some(&key) = it.next() {
        let val = it
            .next()
            .copied()
            .ok_or_else(|| format!("`{key}` needs a value"))?;
        let dup = |present: bool| -> Result<(), String> {
            if present {
                Err(format!("`{key}` is given more than once"))
            } else {
                Ok(())
            }
        };
        match key {
            "via" => {
                dup(r.via.is_some())?;
                r.via = Some(ip(val, "gateway")?);
            }
            "dev" => {
                dup(r.dev.is_some())?;
                r.dev = Some(
                    val.parse::<IfName>()
                        .map_err(|e| format!("dev `{val}`: {e}"))?,
                );
            }
            "metric" | "preference" | "priority" => {
                dup(r.metric.is_some())?;
                r.metric = Some(
                    val.parse()
                        .map_err(|_| format!("metric `{val}` is not a number"))?,
                );
            }
            "src" => {
                dup(r.src.is_some())?;
                r.src = Some(ip(val, "source")?);
            }
            "mtu" => {
                dup(r.mtu.is_some())?;
                r.mtu = Some(
                    val.parse()
                        .ok()
                        .filter(|m| (68..=65535).contains(m))
                        .ok_or_else(|| format!("route mtu `{val}` is not in 68–65535"))?,
                );
            }
            "scope" => {
                dup(r.scope.is_some())?;
                r.scope = Some(match val {
                    "link" => RouteScope::Link,
                    "global" | "universe" => RouteScope::Global,
                    "host" => RouteScope::Host,
                    _ => return Err(format!("unknown scope `{val}` (link, global, host)")),
                });
            }
            _ => {
                return Err(format!(
                    "unsupported route word `{key}` (supported: via, dev, metric, src, mtu, scope)"
                ));
            }
        }
    }
    if r.via.is_none() && r.dev.is_none() {
        // `ip route add 10.0.0.0/8` alone is refused by the kernel too.
        return Err("a route needs `via GATEWAY` or `dev DEVICE`".into());
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_forms() {
        let r = parse_route("default via 10.0.0.1").unwrap();
        assert_eq!(
            (r.dst, r.via),
            (RouteDst::Default, Some(Ipv4Addr::new(10, 0, 0, 1)))
        );
        let r = parse_route("192.168.0.0/16 via 10.0.0.1 metric 10 src 10.0.0.5 mtu 1400").unwrap();
        assert_eq!(r.dst, RouteDst::Net("192.168.0.0/16".parse().unwrap()));
        assert_eq!(
            (r.metric, r.src, r.mtu),
            (Some(10), Some(Ipv4Addr::new(10, 0, 0, 5)), Some(1400))
        );
        let r = parse_route("10.1.0.0/24 dev eth1 scope link").unwrap();
        assert_eq!(r.dev.unwrap().as_str(), "eth1");
        assert_eq!(r.scope, Some(RouteScope::Link));
        let r = parse_route("10.1.2.3 dev eth1").unwrap();
        assert_eq!(r.dst, RouteDst::Net("10.1.2.3/32".parse().unwrap()));
    }

    #[test]
    fn rejects_with_reasons() {
        let cases = [
            ("", "empty route"),
            ("default", "needs `via GATEWAY` or `dev DEVICE`"),
            ("default via", "`via` needs a value"),
            ("default via 10.0.0.300", "not an IPv4 address (gateway)"),
            (
                "10.0.0.1/24 via 10.0.0.2",
                "host bits set (did you mean 10.0.0.0/24?)",
            ),
            ("10.0.0.0/33 via 10.0.0.2", "not a destination"),
            (
                "default via 1.1.1.1 table 5",
                "unsupported route word `table`",
            ),
            ("default via 1.1.1.1 via 1.1.1.2", "given more than once"),
            ("default dev a/b", "dev `a/b`"),
            ("default via 1.1.1.1 scope site", "unknown scope"),
            ("default via 1.1.1.1 mtu 20", "not in 68–65535"),
        ];
        for (s, want) in cases {
            let e = parse_route(s).unwrap_err();
            assert!(e.contains(want), "{s}: {e}");
        }
    }
}
