//! Benchmark (not a test): N veth links from conlink's namespace into N
//! namespaces, each with ip, mac, mtu, up and one route, made three ways:
//!
//! - conlink's engine (netlink from inside the process),
//! - (a) conlink 2.x style: one bash script of iproute2 commands per link,
//! - (b) iproute2 batch mode: one `ip -b` for all veths on the conlink side
//!   plus one `ip -n NS -b` per namespace for the inner side (iproute2
//!   cannot address several namespaces from one process).
//!
//! Also teardown of the N links. Needs root. Run:
//!   cargo bench --bench links -- [N]        (default N = 200)
//! Prints medians, p90 and ratios; asserts nothing.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use conlink::net::addr::IfName;
use conlink::net::route::{Route, RouteDst};
use conlink::net::spec::{BridgeSpec, LinkKind, LinkSpec, ResolvedBridgeMode};
use conlink::net::{Engine, EngineConfig, NsTarget};

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    if !out.status.success() {
        eprintln!("ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

struct Namespaces(Vec<String>);
impl Drop for Namespaces {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

fn make_namespaces(prefix: &str, n: usize) -> Namespaces {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    let mut batch = String::new();
    for name in &names {
        batch.push_str(&format!("netns add {name}\n"));
    }
    run_batch(&[], &batch);
    Namespaces(names)
}

fn run_batch(pre: &[&str], batch: &str) {
    let mut child = Command::new("ip")
        .args(pre)
        .args(["-b", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("ip -b");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(batch.as_bytes())
        .unwrap();
    child.wait().unwrap();
}

fn ipaddr(i: usize) -> (String, String) {
    let (hi, lo) = (i / 250, i % 250 + 1);
    (
        format!("10.{}.{hi}.{lo}", 120),
        format!("c2:00:00:00:{hi:02x}:{lo:02x}"),
    )
}

fn stats(name: &str, mut v: Vec<Duration>) -> f64 {
    v.sort();
    let med = v[v.len() / 2].as_secs_f64() * 1e3;
    let p90 = v[v.len() * 9 / 10].as_secs_f64() * 1e3;
    println!("{name:<44} median {med:7.3} ms   p90 {p90:7.3} ms   per link");
    med
}

fn spec(i: usize, bridge: &str) -> LinkSpec {
    let (addr, mac) = ipaddr(i);
    LinkSpec {
        kind: LinkKind::Veth,
        dev: "eth0".parse().unwrap(),
        outer_dev: Some(format!("bo{i}").parse().unwrap()),
        bridge: Some(bridge.into()),
        ip: vec![format!("{addr}/16").parse().unwrap()],
        mac: Some(mac.parse().unwrap()),
        mtu: Some(9000),
        routes: vec![Route {
            dst: RouteDst::Net("10.200.0.0/16".parse().unwrap()),
            via: Some("10.120.255.254".parse().unwrap()),
            dev: None,
            metric: None,
            src: None,
            mtu: None,
            scope: None,
            ..Default::default()
        }],
        netem: None,
        offloads: vec![],
        nat: None,
        forwards: vec![],
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    if !nix::unistd::Uid::effective().is_root() {
        println!("bench-links: needs root (network namespaces); skipped");
        return;
    }
    let tag = format!("{:x}", std::process::id() & 0xffff);
    println!("{n} veth links (ip, mac, mtu 9000, up, one route) into {n} namespaces\n");

    // conlink's "home" is a namespace of its own, like a conlink container.
    let home = make_namespaces(&format!("bh{tag}-"), 1);
    let home_ns = home.0[0].clone();
    let br = "bbr0";

    // ---- conlink engine, one link at a time --------------------------------
    let targets = make_namespaces(&format!("be{tag}-"), n);
    let mut cfg = EngineConfig::new(&format!("bench{tag}"));
    cfg.home = NsTarget::Name(home_ns.clone());
    let eng = Engine::new(cfg).expect("engine");
    eng.ensure_bridge(&BridgeSpec {
        name: br.into(),
        mode: ResolvedBridgeMode::Linux,
    })
    .await
    .unwrap();
    // Opening a namespace (a thread + 3 sockets) is part of the per-link cost.
    let mut per = Vec::with_capacity(n);
    let t_all = Instant::now();
    for (i, ns) in targets.0.iter().enumerate() {
        let t = Instant::now();
        eng.create_link(&NsTarget::Name(ns.clone()), ns, &spec(i, br))
            .await
            .unwrap();
        per.push(t.elapsed());
    }
    let seq_total = t_all.elapsed();
    let ours = stats("conlink engine, sequential", per);
    println!("{:<44} total  {:7.1} ms", "", seq_total.as_secs_f64() * 1e3);

    let names: Vec<IfName> = (0..n).map(|i| format!("bo{i}").parse().unwrap()).collect();
    let t = Instant::now();
    eng.delete_links(&names).await.unwrap();
    let teardown = t.elapsed();
    println!(
        "conlink teardown of {n} links (one group delete)  {:7.1} ms total, {:.3} ms per link",
        teardown.as_secs_f64() * 1e3,
        teardown.as_secs_f64() * 1e3 / n as f64
    );
    for ns in &targets.0 {
        eng.forget(&NsTarget::Name(ns.clone()));
    }

    // ---- conlink engine, all links concurrently ------------------------------
    let t = Instant::now();
    let futs = targets.0.iter().enumerate().map(|(i, ns)| {
        let eng = &eng;
        let ns = ns.clone();
        async move {
            eng.create_link(&NsTarget::Name(ns.clone()), &ns, &spec(i, br))
                .await
        }
    });
    for r in futures::future::join_all(futs).await {
        r.unwrap();
    }
    let conc = t.elapsed();
    let conc_per = conc.as_secs_f64() * 1e3 / n as f64;
    println!(
        "{:<44} total  {:7.1} ms = {conc_per:.3} ms per link",
        "conlink engine, all at once",
        conc.as_secs_f64() * 1e3
    );
    // One-by-one deletion, for comparison with the group delete.
    let t = Instant::now();
    for i in 0..n.min(50) {
        ip(&["-n", &home_ns, "link", "del", &format!("bo{i}")]);
    }
    let one_by_one = t.elapsed().as_secs_f64() * 1e3 / n.min(50) as f64;
    println!("deleting veths one by one with ip link del    {one_by_one:7.3} ms per link");
    eng.cleanup().await.unwrap();
    drop(eng);
    drop(targets);

    // ---- (a) one bash script of iproute2 commands per link ------------------
    let targets = make_namespaces(&format!("ba{tag}-"), n);
    ip(&["-n", &home_ns, "link", "add", br, "type", "bridge"]);
    ip(&["-n", &home_ns, "link", "set", br, "up"]);
    let mut per = Vec::with_capacity(n);
    for (i, ns) in targets.0.iter().enumerate() {
        let (addr, mac) = ipaddr(i);
        let script = format!(
            "set -e
ip -n {home_ns} link add bo{i} mtu 9000 type veth peer name eth0 netns {ns} mtu 9000
ip -n {ns} link set eth0 address {mac}
ip -n {ns} addr add {addr}/16 dev eth0
ip -n {ns} link set eth0 up
ip -n {home_ns} link set bo{i} master {br} up
ip -n {ns} route add 10.200.0.0/16 via 10.120.255.254 dev eth0
"
        );
        let t = Instant::now();
        let st = Command::new("bash").args(["-c", &script]).status().unwrap();
        per.push(t.elapsed());
        assert!(st.success(), "iproute2 script for link {i}");
    }
    let a = stats("(a) bash + iproute2 per link (2.x style)", per);
    ip(&["-n", &home_ns, "link", "del", br]);
    drop(targets);

    // ---- (b) iproute2 batch mode --------------------------------------------
    let targets = make_namespaces(&format!("bb{tag}-"), n);
    ip(&["-n", &home_ns, "link", "add", br, "type", "bridge"]);
    ip(&["-n", &home_ns, "link", "set", br, "up"]);
    let t = Instant::now();
    let mut home_batch = String::new();
    for (i, ns) in targets.0.iter().enumerate() {
        let (_, mac) = ipaddr(i);
        home_batch.push_str(&format!(
            "link add bo{i} mtu 9000 master {br} up type veth peer name eth0 netns {ns} mtu 9000 address {mac}\n"
        ));
    }
    run_batch(&["-n", &home_ns], &home_batch);
    let home_only = t.elapsed();
    for (i, ns) in targets.0.iter().enumerate() {
        let (addr, _) = ipaddr(i);
        run_batch(
            &["-n", ns],
            &format!(
                "addr add {addr}/16 dev eth0\nlink set eth0 up\nroute add 10.200.0.0/16 via 10.120.255.254 dev eth0\n"
            ),
        );
    }
    let b_total = t.elapsed();
    let b = b_total.as_secs_f64() * 1e3 / n as f64;
    println!(
        "{:<44} total  {:7.1} ms = {b:.3} ms per link",
        "(b) ip -b (home batch + one per namespace)",
        b_total.as_secs_f64() * 1e3
    );
    let b_home = home_only.as_secs_f64() * 1e3 / n as f64;
    println!(
        "    of which the one-process home batch (create, mac, mtu, master, up) {b_home:.3} ms per link"
    );
    ip(&["-n", &home_ns, "link", "del", br]);
    drop(targets);
    drop(home);

    println!();
    println!("ratios (lower is better for conlink):");
    println!(
        "  conlink sequential / (b) batch       {:6.2}x   (target <= 1.5x)",
        ours / b
    );
    println!(
        "  conlink all-at-once / (b) batch      {:6.2}x",
        conc_per / b
    );
    println!(
        "  (a) per-link scripts / conlink       {:6.1}x faster (target >= 20x)",
        a / ours
    );
    println!(
        "  one-by-one delete / group delete     {:6.1}x",
        one_by_one / (teardown.as_secs_f64() * 1e3 / n as f64)
    );
}
