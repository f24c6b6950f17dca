//! `conlink graph`: the topology as Graphviz DOT — each service, container
//! and namespace a cluster with its interfaces, bridges and tunnels inside a
//! conlink cluster, *vlan parents inside a host cluster, tunnels to their
//! remotes — and SVG/PNG by piping the DOT through `dot` when installed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::Stdio;

use crate::net::spec::{LinkKind, ResolvedBridgeMode};

use super::model::{Link, Network, Target};

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

fn dev_label(l: &Link) -> String {
    let mut s = l.dev.to_string();
    if let Some(ip) = l.ip {
        write!(s, "\n{ip}").ok();
    }
    if let Some(nat) = l.nat {
        write!(s, "\nnat {nat}").ok();
    }
    s
}

/// The topology in DOT.
pub fn to_dot(net: &Network) -> String {
    let mut o = String::new();
    o.push_str("graph conlink {\n");
    o.push_str("  graph [rankdir=LR, compound=true, fontname=\"Helvetica\", fontsize=12];\n");
    o.push_str("  node [fontname=\"Helvetica\", fontsize=10];\n");
    o.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n\n");

    // Containers, services and namespaces with their interfaces.
    for t in net.targets() {
        let (what, color) = match t {
            Target::Service(_) => ("service", "#e8f0fe"),
            Target::Container(_) => ("container", "#e6f4ea"),
            Target::Netns(_) => ("netns", "#fef7e0"),
        };
        writeln!(
            o,
            "  subgraph {} {{",
            q(&format!("cluster_{}", target_id(t)))
        )
        .ok();
        writeln!(
            o,
            "    label={}; style=filled; fillcolor={};",
            q(&format!("{what} {}", t.name())),
            q(color)
        )
        .ok();
        writeln!(o, "    {} [shape=point, style=invis];", q(&target_id(t))).ok();
        for l in net.links_for(t) {
            writeln!(
                o,
                "    {} [label={}, shape=box, style=\"rounded,filled\", fillcolor=white];",
                q(&dev_id(l)),
                q(&dev_label(l))
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
        writeln!(
            o,
            "    {} [label={}, shape=cds];",
            q(&format!("tunnel:{}", t.dev_name())),
            q(&t.dev_name())
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
                let label = outer.as_ref().map(|x| x.to_string()).unwrap_or_default();
                writeln!(
                    o,
                    "  {from} -- {} [label={}];",
                    q(&format!("bridge:{b}")),
                    q(&label)
                )
                .ok();
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
            "  {dev} -- {} [label={}, style=bold];",
            q(&format!("remote:{}", t.remote)),
            q(&format!("vni {}", t.vni))
        )
        .ok();
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
