//! Route options and multipath routes, from config text to the kernel: each
//! `route:` string is parsed by the config parser, created by the link
//! engine in a real namespace, and read back with `ip -j route show table
//! all`.

mod common;

use common::engine::{bridge, engine, target};
use common::netns::Netns;
use common::spec::veth;
use conlink::config::parse::route::parse_route;
use serde_json::Value;

/// The route to `dst` in any table, as `ip -j -d route show table all`
/// prints it.
fn route(ns: &Netns, dst: &str) -> Value {
    let all = ns.json(&["route", "show", "table", "all"]);
    all.as_array()
        .unwrap()
        .iter()
        .find(|r| r["dst"] == dst)
        .cloned()
        .unwrap_or_else(|| panic!("no route to {dst} in {all:#}"))
}

fn has_flag(r: &Value, flag: &str) -> bool {
    r["flags"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == flag))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_options_and_multipath_reach_the_kernel() {
    if !common::require_root("route_options_and_multipath_reach_the_kernel") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let c = Netns::new(&common::unique("clc"));
    let eng = engine(&home);
    let br = common::unique("br");
    bridge(&eng, &br).await;
    let target = target(&c);
    // eth1 first: eth0's routes name it.
    let outer1 = common::unique("o");
    eng.create_link(
        &target,
        "c:eth1",
        &veth("eth1", &outer1, &br, "10.72.0.1/24"),
    )
    .await
    .unwrap();

    let texts = [
        "10.80.0.0/16 via 10.71.0.254 metric 7 src 10.71.0.1 mtu 1400 proto static",
        "10.81.0.0/16 via 10.71.0.254 table 100",
        "10.82.0.0/16 via 10.71.0.254 table 70000 proto 77",
        "10.83.0.0/16 via 192.0.2.1 onlink",
        "10.84.0.0/16 dev eth0 scope link",
        "10.85.0.0/16 via 10.72.0.254 dev eth1 proto bird",
        "10.86.0.0/16 nexthop via 10.71.0.254 weight 3 nexthop via 10.72.0.254 dev eth1",
        "10.87.0.0/16 metric 9 nexthop via 192.0.2.1 onlink nexthop via 10.72.0.254 dev eth1 weight 256",
    ];
    let mut s = veth("eth0", &common::unique("o"), &br, "10.71.0.1/24");
    s.routes = texts
        .iter()
        .map(|t| parse_route(t).unwrap_or_else(|e| panic!("{t}: {e}")))
        .collect();
    eng.create_link(&target, "c:eth0", &s).await.unwrap();

    let r = route(&c, "10.80.0.0/16");
    assert_eq!(r["gateway"], "10.71.0.254", "{r}");
    assert_eq!(r["dev"], "eth0", "{r}");
    assert_eq!(r["metric"], 7, "{r}");
    assert_eq!(r["prefsrc"], "10.71.0.1", "{r}");
    assert_eq!(r["protocol"], "static", "{r}");
    assert_eq!(r["metrics"][0]["mtu"], 1400, "{r}");
    assert_eq!(r["table"], "main", "{r}");

    let r = route(&c, "10.81.0.0/16");
    assert_eq!(r["table"], "100", "{r}");
    assert_eq!(r["protocol"], "boot", "ip route add's default: {r}");

    let r = route(&c, "10.82.0.0/16");
    assert_eq!(r["table"], "70000", "a table id above 255: {r}");
    assert_eq!(r["protocol"], "77", "{r}");

    let r = route(&c, "10.83.0.0/16");
    assert_eq!(r["gateway"], "192.0.2.1", "{r}");
    assert!(has_flag(&r, "onlink"), "{r}");

    let r = route(&c, "10.84.0.0/16");
    assert_eq!(r["scope"], "link", "{r}");
    assert!(r.get("gateway").is_none(), "{r}");

    let r = route(&c, "10.85.0.0/16");
    assert_eq!(
        (&r["dev"], &r["protocol"]),
        (&"eth1".into(), &"bird".into()),
        "{r}"
    );

    let r = route(&c, "10.86.0.0/16");
    let hops = r["nexthops"].as_array().unwrap_or_else(|| panic!("{r}"));
    let got: Vec<_> = hops
        .iter()
        .map(|h| (h["gateway"].clone(), h["dev"].clone(), h["weight"].clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("10.71.0.254".into(), "eth0".into(), 3.into()),
            ("10.72.0.254".into(), "eth1".into(), 1.into()),
        ],
        "{r}"
    );

    let r = route(&c, "10.87.0.0/16");
    assert_eq!(r["metric"], 9, "{r}");
    let hops = r["nexthops"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(hops[0]["gateway"], "192.0.2.1", "{r}");
    assert!(has_flag(&hops[0], "onlink"), "{r}");
    assert_eq!(
        (&hops[1]["dev"], &hops[1]["weight"]),
        (&"eth1".into(), &256.into()),
        "{r}"
    );
}

/// A gateway the kernel refuses (not on the link, no `onlink`) is an error
/// naming the route, not a silent skip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_route_is_an_error_naming_it() {
    if !common::require_root("refused_route_is_an_error_naming_it") {
        return;
    }
    let home = Netns::new(&common::unique("clh"));
    let c = Netns::new(&common::unique("clc"));
    let eng = engine(&home);
    let br = common::unique("br");
    bridge(&eng, &br).await;
    let mut s = veth("eth0", &common::unique("o"), &br, "10.73.0.1/24");
    s.routes = vec![parse_route("10.90.0.0/16 via 192.0.2.1 table 100").unwrap()];
    let err = eng
        .create_link(&target(&c), "c:eth0", &s)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("add route 10.90.0.0/16 via 192.0.2.1 table 100"),
        "{err}"
    );
}
