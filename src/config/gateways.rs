//! Route gateways the kernel will refuse. A route `via G` goes out of one
//! device (its `dev`, else the link's own) and the kernel accepts it only
//! when G is reachable on that device: inside the subnet of an address on
//! it, or inside a device route (`PREFIX dev D`, no `via`) on it. conlink
//! adds a link's address and routes right after creating it, so when that
//! device is one of the target's own links, the config says everything
//! the kernel will see and a gateway outside all of it is an error here
//! instead of an errno at run time.
//!
//! Families never mix: an IPv6 gateway needs an IPv6 subnet or device
//! route on the device, except a link-local one (fe80::/10), which is on
//! every link since the kernel gives each link its own link-local address.
//!
//! Where conlink cannot know (the device is not one of this target's
//! links, e.g. the engine's own eth0, or a link of the same container
//! declared under another target), nothing is checked.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::net::addr::{IfName, IpNet};
use crate::net::route::RouteDst;

use super::errors::Diag;
use super::model::{Link, Target};
use super::validate::LinkAt;

/// What the kernel will find on `oif` of one target's namespace (`same`:
/// that target's links): the link's address subnet and every device
/// route's destination.
fn reachable_on(same: &[&Link], oif: &IfName) -> Vec<IpNet> {
    let mut nets = vec![];
    for l in same {
        if &l.dev == oif {
            nets.extend(l.ip.iter().copied());
        }
        for r in &l.routes {
            if r.via.is_none() && r.dev.as_ref().unwrap_or(&l.dev) == oif {
                nets.push(match r.dst {
                    RouteDst::Net(n) => n,
                    // `default dev D`: everything (of its family) is on D.
                    RouteDst::Default if r.is_ipv6() => {
                        IpNet::any_of(std::net::Ipv6Addr::UNSPECIFIED.into())
                    }
                    RouteDst::Default => IpNet::any_of(std::net::Ipv4Addr::UNSPECIFIED.into()),
                });
            }
        }
    }
    nets
}

/// fe80::/10: the kernel's own address on every link makes it reachable.
fn is_link_local(gw: IpAddr) -> bool {
    matches!(gw, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
}

fn describe(nets: &[IpNet]) -> String {
    nets.iter()
        .map(|n| format!("{}/{}", n.network(), n.prefix()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Report every `via` the kernel would refuse on a device of the target's
/// own links (each nexthop of a multipath route on its own device). An
/// `onlink` gateway is taken as on the link, as the kernel takes it.
pub fn check_gateways(links: &[Link], ats: &[LinkAt], diag: &mut Diag) {
    // Grouped once: a lookup per route among all links was quadratic in
    // the number of targets (a second at 8,000 links).
    let mut by_target: HashMap<&Target, Vec<&Link>> = HashMap::new();
    for l in links {
        by_target.entry(&l.target).or_default().push(l);
    }
    for (l, at) in links.iter().zip(ats) {
        let same = &by_target[&l.target];
        for (i, r) in l.routes.iter().enumerate() {
            for (gw, dev, onlink) in r.paths() {
                let Some(gw) = gw else { continue };
                if onlink || is_link_local(gw) {
                    continue;
                }
                let oif = dev.unwrap_or(&l.dev);
                if !same.iter().any(|o| &o.dev == oif) {
                    continue; // not a device conlink makes here
                }
                let nets = reachable_on(same, oif);
                if nets.iter().any(|n| n.contains(gw)) {
                    continue;
                }
                let where_ = at.route.get(i).unwrap_or(&l.origin);
                let text = l.text.route.get(i).map(String::as_str).unwrap_or("");
                let family = if gw.is_ipv6() { "IPv6" } else { "IPv4" };
                let has = if nets.is_empty() {
                    format!(
                        "{oif} has no address (`ip`) and no device route (`PREFIX dev {oif}`) in {}",
                        l.target
                    )
                } else if !nets.iter().any(|n| n.addr().is_ipv6() == gw.is_ipv6()) {
                    format!(
                        "{oif} has no {family} address (`ip`) and no {family} device route in {} \
                         (it reaches only {})",
                        l.target,
                        describe(&nets)
                    )
                } else {
                    format!(
                        "{oif} reaches only {} (its `ip` and device routes in {})",
                        describe(&nets),
                        l.target
                    )
                };
                diag.push(
                    super::errors::ConfigError::new(
                        where_,
                        format!(
                            "gateway {gw} is not reachable through {oif}: {has}; the kernel would \
                             refuse this route (add `onlink` if the gateway is on that link anyway)"
                        ),
                    )
                    .with_text(text),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{FileKind, Settings, load::Format, load::LoadedFile, load::parse_text};

    fn errors(yaml: &str) -> Vec<String> {
        let file = LoadedFile {
            name: "n.yaml".into(),
            value: parse_text(yaml, Format::Yaml).unwrap(),
        };
        let diag = crate::config::errors::Diag::default();
        let env = std::collections::HashMap::<String, String>::new();
        match crate::config::process(
            &[(file, FileKind::Network)],
            &Settings::default(),
            &env,
            diag,
        ) {
            Ok(_) => vec![],
            Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn gateways_inside_a_subnet_or_device_route_pass() {
        let ok = [
            // In the link's own subnet.
            "links: [{netns: a, bridge: s1, ip: 10.0.0.1/24, route: default via 10.0.0.254}]",
            // Through another link's device, in that link's subnet.
            "links: [{netns: a, bridge: s1, ip: 10.0.0.1/24, route: '10.9.0.0/16 via 10.1.0.9 dev eth1'},
                     {netns: a, dev: eth1, bridge: s2, ip: 10.1.0.1/24}]",
            // Reachable through a device route on the same device.
            "links: [{netns: a, bridge: s1, ip: 10.0.0.1/32,
                      route: ['10.0.0.254/32 dev eth0', default via 10.0.0.254]}]",
            // A device conlink does not make: not checked.
            "links: [{netns: a, bridge: s1, ip: 10.0.0.1/24, route: default via 172.17.0.1 dev eth9}]",
            // `onlink`: the user says the gateway is on the link.
            "links: [{netns: a, bridge: s1, ip: 10.0.0.1/24, route: default via 192.0.2.1 onlink}]",
            // Multipath: each nexthop on its own device.
            "links: [{netns: a, bridge: s1, ip: 10.0.0.1/24,
                      route: 'default nexthop via 10.0.0.254 nexthop via 10.1.0.254 dev eth1 weight 3'},
                     {netns: a, dev: eth1, bridge: s2, ip: 10.1.0.1/24}]",
        ];
        for y in ok {
            assert_eq!(errors(y), Vec::<String>::new(), "{y}");
        }
    }

    #[test]
    fn unreachable_gateways_are_errors_with_path_and_value() {
        let e = errors(
            "links: [{netns: a, bridge: s1, ip: 10.0.0.1/24,
                      route: [default via 10.0.0.254, 10.8.0.0/16 via 10.1.0.1]}]",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            e[0],
            "n.yaml: links[0].route[1]: gateway 10.1.0.1 is not reachable through eth0: \
             eth0 reaches only 10.0.0.0/24 (its `ip` and device routes in netns a); \
             the kernel would refuse this route (add `onlink` if the gateway is on that \
             link anyway) (got \"10.8.0.0/16 via 10.1.0.1\")"
        );
        // In another link's subnet, but the route leaves through eth0.
        let e = errors(
            "links: [{netns: a, bridge: s1, ip: 10.0.0.1/24, route: default via 10.1.0.254},
                     {netns: a, dev: eth1, bridge: s2, ip: 10.1.0.1/24}]",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("links[0].route: gateway 10.1.0.254"), "{e:?}");
        // A nexthop whose gateway is not on its device.
        let e = errors(
            "links: [{netns: a, bridge: s1, ip: 10.0.0.1/24,
                      route: 'default nexthop via 10.0.0.254 nexthop via 10.0.0.253 dev eth1'},
                     {netns: a, dev: eth1, bridge: s2, ip: 10.1.0.1/24}]",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("links[0].route: gateway 10.0.0.253 is not reachable through eth1"),
            "{e:?}"
        );
        // The same subnet on another target does not count.
        let e = errors(
            "links: [{netns: a, bridge: s1, route: default via 10.0.0.254},
                     {netns: b, bridge: s1, ip: 10.0.0.1/24}]",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("eth0 has no address (`ip`)"), "{e:?}");
    }
}
