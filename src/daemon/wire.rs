//! Wiring one target (a container or a named namespace): its links in config
//! order, then its port forwards, then its commands. A failing link is logged
//! with its `container:dev` id and the others go on.

use std::time::Instant;

use crate::config::model::{Command, Link};
use crate::net::NsTarget;
use crate::net::spec::{LinkKind, LinkSpec};

use super::Daemon;
use super::commands::Runner;
use super::state::{Wired, WiredLink};

/// Everything needed to wire one target.
pub struct Job<'a> {
    /// State key: container id or `netns:NAME`.
    pub key: String,
    /// Container or namespace name, for logs and link ids.
    pub label: String,
    pub ns: NsTarget,
    /// Replica number (1 for anything that is not a scaled service).
    pub index: u32,
    /// Container id (or namespace name) for long outer-dev names.
    pub name_seed: String,
    pub replica: Option<(String, u32)>,
    pub links: Vec<&'a Link>,
    pub commands: Vec<&'a Command>,
    pub runner: Runner,
    /// When the start event arrived.
    pub since: Instant,
    /// How the container's pid was learned, for containers.
    pub lookup: Option<Lookup>,
}

/// How a started container's pid was learned, and how long that took.
#[derive(Debug, Clone, Copy)]
pub struct Lookup {
    /// `/proc` or `inspect`.
    pub how: &'static str,
    pub took: std::time::Duration,
}

impl Daemon {
    pub(super) async fn wire(&self, job: Job<'_>) {
        let wiring = Instant::now();
        let mut made = Vec::new();
        for link in &job.links {
            let id = format!("{}:{}", job.label, link.dev);
            let spec = match link.instance(job.index, &job.name_seed) {
                Ok(spec) => spec,
                Err(e) => {
                    tracing::error!("{id}: {e}");
                    continue;
                }
            };
            tracing::info!("Creating {}", describe(&id, &spec));
            match self.net.create_link(&job.ns, &id, &spec).await {
                Ok(created) => {
                    self.add_forwards(&id, &job.ns, &spec).await;
                    made.push(WiredLink {
                        id,
                        dev: created.dev,
                        outer: created.outer,
                    });
                }
                Err(e) => tracing::error!("{id}: {e}"),
            }
        }
        let took = job.since.elapsed();
        // The split shows where the time goes when many containers start
        // at once; the rest of `took` is waiting for a turn.
        let lookup = job
            .lookup
            .map(|l| format!("pid via {} {:.2?}, ", l.how, l.took))
            .unwrap_or_default();
        tracing::debug!(
            "{}: {} of {} links in {took:.2?} ({lookup}wiring {:.2?})",
            job.label,
            made.len(),
            job.links.len(),
            wiring.elapsed()
        );
        {
            let mut state = self.state.lock().expect("state lock");
            state.insert(
                job.key.clone(),
                Wired {
                    label: job.label.clone(),
                    ns: job.ns.clone(),
                    replica: job.replica.clone(),
                    links: made,
                    took,
                },
            );
        }
        for command in &job.commands {
            job.runner.spawn(&job.label, &command.command);
        }
        self.check_milestone();
    }

    /// DNAT from conlink's docker-facing interface to the link's ip, and a
    /// /32 route back to conlink's docker address inside the target.
    async fn add_forwards(&self, id: &str, ns: &NsTarget, spec: &LinkSpec) {
        if spec.forwards.is_empty() {
            return;
        }
        let (Some(ip), Some(bridge)) = (spec.ip, spec.bridge.as_deref()) else {
            return;
        };
        let Some(docker) = &self.docker_eth0 else {
            tracing::error!(
                "{id}: forward needs conlink's Docker-provided eth0, and there is none"
            );
            return;
        };
        for fwd in &spec.forwards {
            match self
                .net
                .add_forward(docker.name.as_str(), bridge, ip.addr(), fwd)
                .await
            {
                Ok(()) => tracing::info!(
                    "Forwarding {:?} port {} -> {}:{} ({id})",
                    fwd.proto,
                    fwd.conlink_port,
                    ip.addr(),
                    fwd.port
                ),
                Err(e) => tracing::error!("{id}: forward {}: {e}", fwd.conlink_port),
            }
        }
        if let Err(e) = self.net.add_host_route(ns, &spec.dev, docker.addr).await {
            tracing::error!("{id}: route back to {}: {e}", docker.addr);
        }
    }
}

/// The 2.x log line: `veth link node_1:eth0 (IP 10.0.1.1/16) <-> node_1-eth0 (bridge s1)`.
pub fn describe(id: &str, spec: &LinkSpec) -> String {
    let mut s = format!("{} link {id}", spec.kind.name());
    if let Some(ip) = spec.ip {
        s += &format!(" (IP {ip})");
    }
    if let Some(outer) = &spec.outer_dev {
        let arrow = if matches!(spec.kind, LinkKind::Veth) {
            "<->"
        } else {
            "on"
        };
        s += &format!(" {arrow} {outer}");
    }
    if let Some(bridge) = &spec.bridge {
        s += &format!(" (bridge {bridge})");
    }
    s
}
