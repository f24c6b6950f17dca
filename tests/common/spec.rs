//! Link requests for tests that drive the link engine directly.

use conlink::net::spec::{LinkKind, LinkSpec, TunnelKind, TunnelSpec};

/// A veth link with an address, its outer end joining `bridge`; every other
/// property empty (tests set what they check).
pub fn veth(dev: &str, outer: &str, bridge: &str, ip: &str) -> LinkSpec {
    LinkSpec {
        kind: LinkKind::Veth,
        dev: dev.parse().unwrap(),
        outer_dev: Some(outer.parse().unwrap()),
        bridge: Some(bridge.to_owned()),
        ip: vec![ip.parse().unwrap()],
        mac: None,
        mtu: None,
        routes: vec![],
        netem: None,
        offloads: vec![],
        nat: None,
        forwards: vec![],
    }
}

/// A tunnel of `kind` to `remote` whose device joins `bridge`, on the
/// kernel's default UDP port and without netem.
pub fn tunnel(kind: TunnelKind, vni: u32, remote: &str, bridge: &str) -> TunnelSpec {
    TunnelSpec {
        kind,
        vni,
        remote: remote.parse().unwrap(),
        bridge: bridge.to_owned(),
        netem: None,
        port: None,
    }
}
