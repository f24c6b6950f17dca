//! `conlink graph`: the topology as Graphviz DOT — each service, container
//! and namespace a cluster with its interfaces (a scaled service once, with
//! its replica count and address range), bridges and tunnels inside a
//! conlink cluster, *vlan parents inside a host cluster, tunnels to their
//! remotes, routes on the interfaces and dotted arrows to the gateways
//! conlink knows, routers marked — and SVG/PNG by piping the DOT through
//! `dot` when installed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::Stdio;

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use crate::net::addr::IpNet;
use crate::net::spec::{LinkKind, ResolvedBridgeMode};

use super::instance::offset_net;
use super::model::{CommandLine, Link, Network, Target};

/// Output formats of `conlink graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Svg,
    Png,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "rendering {0} needs Graphviz's `dot`, which is not installed (install graphviz, or use --format dot)"
    )]
    NoDot(&'static str),
    #[error("running dot: {0}")]
    Io(#[from] std::io::Error),
    #[error("dot failed: {0}")]
    Failed(String),
}

/// A DOT identifier or label, quoted.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn target_id(t: &Target) -> String {
    format!("{}:{}", t.key(), t.name())
}

fn dev_id(l: &Link) -> String {
    format!("{}:{}", target_id(&l.target), l.dev)
}

/// How many replicas a target stands for, when known (services whose
/// compose file states `scale`/`deploy.replicas`); 1 otherwise.
fn replicas(net: &Network, t: &Target) -> u32 {
    match t {
        Target::Service(name) => net.scales.get(name).copied().unwrap_or(1),
        _ => 1,
    }
}

/// The addresses of one of a link's `ip` entries for its replicas, first
/// to last.
fn replica_ips(ip: IpNet, n: u32) -> Vec<IpNet> {
    (0..n.max(1)).filter_map(|i| offset_net(ip, i)).collect()
}

/// Every address of every replica of a link.
fn all_replica_ips(l: &Link, n: u32) -> Vec<IpNet> {
    l.ip.iter().flat_map(|&ip| replica_ips(ip, n)).collect()
}

/// `10.0.2.11/24`, or for replicas `10.0.2.11–12/24` (the whole last
/// address when more than the last octet changes); IPv6 alike by its last
/// group (`fd00:2::b–c/64`).
fn ip_range(ips: &[IpNet]) -> Option<String> {
    let (first, last) = (ips.first()?, ips.last()?);
    if first == last {
        return Some(format!("{}/{}", first.addr(), first.prefix()));
    }
    let tail = match (first.addr(), last.addr()) {
        (IpAddr::V4(a), IpAddr::V4(b)) if a.octets()[..3] == b.octets()[..3] => {
            b.octets()[3].to_string()
        }
        (IpAddr::V6(a), IpAddr::V6(b)) if a.segments()[..7] == b.segments()[..7] => {
            format!("{:x}", b.segments()[7])
        }
        (_, b) => b.to_string(),
    };
    Some(format!("{}–{tail}/{}", first.addr(), first.prefix()))
}

/// `s`, cut to `max` characters with `…` when longer.
fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The interface box: name, address (range), NAT, and one line per route.
fn dev_label(l: &Link, n: u32) -> String {
    let mut s = l.dev.to_string();
    for &ip in &l.ip {
        if let Some(ip) = ip_range(&replica_ips(ip, n)) {
            write!(s, "\n{ip}").ok();
        }
    }
    if let Some(nat) = l.nat {
        write!(s, "\nnat {nat}").ok();
    }
    for r in &l.text.route {
        write!(s, "\n→ {}", short(r, 40)).ok();
    }
    s
}

/// Which interface each address belongs to (every replica's address).
fn owners(net: &Network) -> HashMap<IpAddr, &Link> {
    let mut out = HashMap::new();
    for l in &net.links {
        for ip in all_replica_ips(l, replicas(net, &l.target)) {
            out.entry(ip.addr()).or_insert(l);
        }
    }
    out
}

/// Targets that route between networks: links on two or more bridges, and
/// either another target's route through one of their addresses or a
/// command of theirs that turns on IP forwarding.
fn routers<'a>(net: &'a Network, owners: &HashMap<IpAddr, &'a Link>) -> BTreeSet<&'a Target> {
    let mut out = BTreeSet::new();
    for t in net.targets() {
        let bridges: BTreeSet<&str> = net
            .links_for(t)
            .filter_map(|l| l.bridge.as_deref())
            .collect();
        if bridges.len() < 2 {
            continue;
        }
        let is_gateway = net.links.iter().filter(|l| &l.target != t).any(|l| {
            l.routes
                .iter()
                .flat_map(|r| r.gateways())
                .any(|gw| owners.get(&gw).is_some_and(|o| &o.target == t))
        });
        let forwards = net.commands_for(t).any(|c| match &c.command {
            CommandLine::Shell(s) => s.contains("ip_forward") || s.contains("forwarding"),
            CommandLine::Exec(v) => v
                .iter()
                .any(|a| a.contains("ip_forward") || a.contains("forwarding")),
        });
        if is_gateway || forwards {
            out.insert(t);
        }
    }
    out
}

/// The topology in DOT.
pub fn to_dot(net: &Network) -> String {
    let mut o = String::new();
    o.push_str("graph conlink {\n");
    o.push_str("  graph [rankdir=LR, compound=true, fontname=\"Helvetica\", fontsize=12];\n");
    o.push_str("  node [fontname=\"Helvetica\", fontsize=10];\n");
    o.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n\n");

    // Containers, services and namespaces with their interfaces.
    let owners = owners(net);
    let routers = routers(net, &owners);
    for t in net.targets() {
        let (what, mut color) = match t {
            Target::Service(_) => ("service", "#e8f0fe"),
            Target::Container(_) => ("container", "#e6f4ea"),
            Target::Netns(_) => ("netns", "#fef7e0"),
        };
        let n = replicas(net, t);
        let mut label = format!("{what} {}", t.name());
        if n != 1 {
            write!(label, " ×{n}").ok();
        }
        let mut pen = "";
        if routers.contains(t) {
            label.push_str(" (router)");
            color = "#fde9d9";
            pen = " penwidth=2;";
        }
        writeln!(
            o,
            "  subgraph {} {{",
            q(&format!("cluster_{}", target_id(t)))
        )
        .ok();
        writeln!(
            o,
            "    label={}; style=filled; fillcolor={};{pen}",
            q(&label),
            q(color)
        )
        .ok();
        writeln!(o, "    {} [shape=point, style=invis];", q(&target_id(t))).ok();
        for l in net.links_for(t) {
            writeln!(
                o,
                "    {} [label={}, shape=box, style=\"rounded,filled\", fillcolor=white];",
                q(&dev_id(l)),
                q(&dev_label(l, n))
            )
            .ok();
        }
        o.push_str("  }\n");
    }

    // conlink's own namespace: bridges, patches, tunnel devices.
    o.push_str("\n  subgraph \"cluster_conlink\" {\n    label=\"conlink\"; style=filled; fillcolor=\"#f1f3f4\";\n");
    for b in net.bridges.values() {
        let (shape, mode) = match b.mode {
            ResolvedBridgeMode::Linux => ("ellipse", "linux"),
            ResolvedBridgeMode::Ovs => ("ellipse", "ovs"),
            ResolvedBridgeMode::Patch => ("diamond", "patch"),
        };
        writeln!(
            o,
            "    {} [label={}, shape={shape}, style=filled, fillcolor=\"#fce8e6\"];",
            q(&format!("bridge:{}", b.name)),
            q(&format!("{}\n({mode})", b.name))
        )
        .ok();
    }
    for t in &net.tunnels {
        // vni and port on the device, not on the edge: an edge label next
        // to the cluster's border landed on the cluster's title.
        writeln!(
            o,
            "    {} [label={}, shape=cds];",
            q(&format!("tunnel:{}", t.dev_name())),
            q(&format!(
                "{}\nvni {}, udp {}",
                t.dev_name(),
                t.vni,
                crate::net::tunnel::port(t)
            ))
        )
        .ok();
    }
    o.push_str("  }\n");

    // The host namespace: parents of *vlan/*vtap links.
    let mut parents: Vec<String> = net
        .links
        .iter()
        .filter(|l| l.kind.has_host_parent())
        .filter_map(|l| l.outer_dev.as_ref().map(|p| p.to_string()))
        .collect();
    parents.sort();
    parents.dedup();
    if !parents.is_empty() {
        o.push_str("\n  subgraph \"cluster_host\" {\n    label=\"host\"; style=filled; fillcolor=\"#ede7f6\";\n");
        for p in &parents {
            writeln!(
                o,
                "    {} [label={}, shape=box3d];",
                q(&format!("host:{p}")),
                q(p)
            )
            .ok();
        }
        o.push_str("  }\n");
    }

    // Remote hosts of tunnels.
    let mut remotes: Vec<String> = net.tunnels.iter().map(|t| t.remote.to_string()).collect();
    remotes.sort();
    remotes.dedup();
    for r in &remotes {
        writeln!(
            o,
            "  {} [label={}, shape=house];",
            q(&format!("remote:{r}")),
            q(&format!("remote host\n{r}"))
        )
        .ok();
    }

    o.push('\n');
    for l in &net.links {
        let from = q(&dev_id(l));
        match (&l.kind, &l.bridge, &l.outer_dev) {
            (LinkKind::Veth, Some(b), outer) => {
                let label = match outer {
                    Some(x) => format!(" [label={}]", q(x.as_str())),
                    None => String::new(),
                };
                writeln!(o, "  {from} -- {}{label};", q(&format!("bridge:{b}"))).ok();
            }
            (kind, _, Some(parent)) if kind.has_host_parent() => {
                let label = match kind {
                    LinkKind::Vlan { vlanid } => format!("vlan {vlanid}"),
                    k => k.name().to_owned(),
                };
                writeln!(
                    o,
                    "  {from} -- {} [label={}, style=dashed];",
                    q(&format!("host:{parent}")),
                    q(&label)
                )
                .ok();
            }
            _ => {}
        }
    }
    for t in &net.tunnels {
        let dev = q(&format!("tunnel:{}", t.dev_name()));
        writeln!(o, "  {dev} -- {};", q(&format!("bridge:{}", t.bridge))).ok();
        writeln!(
            o,
            "  {dev} -- {} [style=bold];",
            q(&format!("remote:{}", t.remote))
        )
        .ok();
    }
    // Routes to gateways conlink knows: a dotted arrow from the interface
    // to the gateway's interface, left out of the layout's ranking so the
    // picture keeps its shape.
    let mut drawn = BTreeSet::new();
    for l in &net.links {
        for gw in l.routes.iter().flat_map(|r| r.gateways()) {
            let Some(to) = owners.get(&gw) else { continue };
            if to.target == l.target || !drawn.insert((dev_id(l), dev_id(to))) {
                continue;
            }
            writeln!(
                o,
                "  {} -- {} [style=dotted, dir=forward, arrowhead=vee, color=\"#5f6368\", constraint=false, tooltip={}];",
                q(&dev_id(l)),
                q(&dev_id(to)),
                q(&format!("gateway {gw}"))
            )
            .ok();
        }
    }
    o.push_str("}\n");
    o
}

/// Render DOT text: itself for `dot`, else through Graphviz's `dot -T`.
pub fn render(dot: &str, format: GraphFormat) -> Result<Vec<u8>, RenderError> {
    let ty = match format {
        GraphFormat::Dot => return Ok(dot.as_bytes().to_vec()),
        GraphFormat::Svg => "svg",
        GraphFormat::Png => "png",
    };
    let exe = which::which("dot").map_err(|_| RenderError::NoDot(ty))?;
    let mut child = std::process::Command::new(exe)
        .arg(format!("-T{ty}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Write from another thread so a large output cannot block our write.
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| RenderError::Failed("no stdin".into()))?;
    let input = dot.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| RenderError::Failed("writer thread panicked".into()))??;
    if !out.status.success() {
        return Err(RenderError::Failed(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(out.stdout)
}
