//! Wiring one target (a container or a named namespace): its links in config
//! order, then its port forwards, then its commands. A failing link is logged
//! with its `container:dev` id and the others go on; one that failed for a
//! reason that can pass is retried with backoff (see `retry`), and the
//! target's commands run once none is left to retry.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::config::model::{Command, Link};
use crate::net::netns::NsId;
use crate::net::spec::{LinkKind, LinkSpec};
use crate::net::{NetError, NsTarget};

use super::Daemon;
use super::commands::Runner;
use super::overrides::{LinkKey, StableTarget};
use super::state::{FailedLink, Wired, WiredLink};
use crate::control::api::{CommandStatus, EventKind};

/// A container or named namespace to wire, and what it needs.
pub struct Target {
    /// State key: container id or `netns:NAME`.
    pub key: String,
    /// Container or namespace name, for logs and link ids.
    pub label: String,
    pub ns: NsTarget,
    /// The target as it stays across restarts (for runtime overrides).
    pub stable: StableTarget,
    /// Named namespaces: which one (device and inode of its file).
    pub ns_identity: Option<NsId>,
    /// Replica number (1 for anything that is not a scaled service).
    pub index: u32,
    /// Container id (or namespace name), passed to the naming of outer ends.
    pub name_seed: String,
    pub replica: Option<(String, u32)>,
    pub commands: Vec<Command>,
    pub runner: Runner,
}

/// Everything needed to wire one target now.
pub struct Job {
    pub target: Arc<Target>,
    pub links: Vec<Link>,
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

/// Whether an attempt logs what it does (a first try) or only its outcome
/// to the caller (a retry, which logs changes of state itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quiet {
    No,
    Yes,
}

/// What became of one attempt at a link.
pub(super) enum Attempt {
    Made(Box<WiredLink>),
    Failed(FailedLink),
    /// conlink is stopping: nothing was tried.
    Stopping,
}

impl Daemon {
    /// Wire `job`'s target; the caller holds the target's lock.
    pub(super) async fn wire(self: &Arc<Self>, job: Job) {
        let t = &job.target;
        let wiring = Instant::now();
        let mut made = Vec::new();
        let mut failed: Vec<(Link, FailedLink)> = Vec::new();
        for link in &job.links {
            match self.attempt_link(t, link, Quiet::No).await {
                Attempt::Made(w) => made.push(*w),
                Attempt::Failed(f) => failed.push((link.clone(), f)),
                Attempt::Stopping => break,
            }
        }
        let took = job.since.elapsed();
        if !job.links.is_empty() {
            self.metrics.wired_in(took);
        }
        // The split shows where the time goes when many containers start
        // at once; the rest of `took` is waiting for a turn.
        let lookup = job
            .lookup
            .map(|l| format!("pid via {} {:.2?}, ", l.how, l.took))
            .unwrap_or_default();
        tracing::debug!(
            "{}: {} of {} links in {took:.2?} ({lookup}wiring {:.2?})",
            t.label,
            made.len(),
            job.links.len(),
            wiring.elapsed()
        );
        let generation = {
            let mut state = self.state.lock().expect("state lock");
            let generation = state.next_generation();
            state.insert(
                t.key.clone(),
                Wired {
                    label: t.label.clone(),
                    ns: t.ns.clone(),
                    generation,
                    replica: t.replica.clone(),
                    links: made,
                    failed: failed.iter().map(|(_, f)| f.clone()).collect(),
                    ns_identity: t.ns_identity,
                    took,
                },
            );
            generation
        };
        let retry: Vec<(Link, FailedLink)> =
            failed.into_iter().filter(|(_, f)| f.retrying).collect();
        if retry.is_empty() {
            self.run_commands(t);
        } else {
            tokio::spawn(self.clone().retry(job.target.clone(), generation, retry));
        }
        self.check_milestone();
    }

    /// Make one link of `t` (and its forwards, and any runtime override
    /// held for it), logging a failure once.
    pub(super) async fn attempt_link(&self, t: &Target, link: &Link, quiet: Quiet) -> Attempt {
        let id = format!("{}:{}", t.label, link.dev);
        let key = LinkKey {
            target: t.stable.clone(),
            dev: link.dev.to_string(),
        };
        let failed = |reason: String, retrying: bool| FailedLink {
            id: id.clone(),
            reason,
            retrying,
            key: key.clone(),
            since: SystemTime::now(),
        };
        let spec = match link.instance(t.index, &t.name_seed) {
            Ok(spec) => spec,
            Err(e) => {
                self.metrics.link_failed();
                if quiet == Quiet::No {
                    tracing::error!("{e}");
                    self.events.emit(EventKind::LinkFailed {
                        id: id.clone(),
                        reason: e.to_string(),
                    });
                }
                return Attempt::Failed(failed(e.to_string(), false));
            }
        };
        // Held until the link is recorded, so a stop waits for it.
        let Some(_gate) = self.shutdown.enter().await else {
            return Attempt::Stopping;
        };
        if quiet == Quiet::No {
            tracing::info!("Creating {}", describe(&id, &spec));
        }
        match self.net.create_link(&t.ns, &id, &spec).await {
            Ok(created) => {
                self.metrics.link_created();
                self.add_forwards(&id, &t.ns, &spec).await;
                let down = self.apply_override(&id, &key, &t.ns, &created).await;
                self.events.emit(EventKind::LinkCreated { id: id.clone() });
                if down {
                    self.events.emit(EventKind::LinkDown { id: id.clone() });
                }
                Attempt::Made(Box::new(WiredLink {
                    id,
                    dev: created.dev,
                    outer: created.outer,
                    netem_text: (!link.text.netem.is_empty()).then(|| link.text.netem.join(" ")),
                    spec,
                    key,
                    down,
                    since: SystemTime::now(),
                }))
            }
            Err(e) => {
                self.metrics.link_failed();
                let retrying = e.is_transient();
                // The error already names the link (`container:dev: …`).
                match (quiet, retrying) {
                    (Quiet::Yes, _) => tracing::debug!("{e}"),
                    (Quiet::No, true) => tracing::warn!("{e} (will retry)"),
                    (Quiet::No, false) => tracing::error!("{e}"),
                }
                let reason = reason_of(&e);
                if quiet == Quiet::No {
                    self.events.emit(EventKind::LinkFailed {
                        id: id.clone(),
                        reason: reason.clone(),
                    });
                }
                Attempt::Failed(failed(reason, retrying))
            }
        }
    }

    /// Re-apply what was asked at run time for this link before its target
    /// restarted (held down, netem). Returns whether it is held down.
    async fn apply_override(
        &self,
        id: &str,
        key: &LinkKey,
        ns: &NsTarget,
        created: &crate::net::CreatedLink,
    ) -> bool {
        let held = self
            .state
            .lock()
            .expect("state lock")
            .overrides
            .get(key)
            .cloned();
        let Some(o) = held else { return false };
        let dev = created.dev.as_str();
        if let Some(n) = &o.netem_out {
            if let Err(e) = self.net.set_netem(Some(ns), dev, Some(&n.netem)).await {
                tracing::error!("{id}: re-applying netem {}: {e}", n.text);
            }
        }
        if let (Some(n), Some(outer)) = (&o.netem_in, &created.outer) {
            if let Err(e) = self
                .net
                .set_netem(None, outer.as_str(), Some(&n.netem))
                .await
            {
                tracing::error!("{id}: re-applying incoming netem {}: {e}", n.text);
            }
        }
        if o.down {
            let r = match &created.outer {
                Some(outer) => self.net.set_admin(None, outer.as_str(), false).await,
                None => self.net.set_admin(Some(ns), dev, false).await,
            };
            match r {
                Ok(()) => tracing::info!("{id}: held down (conlink link down)"),
                Err(e) => tracing::error!("{id}: keeping it down: {e}"),
            }
        }
        o.down
    }

    /// The target's commands, once its links are as made as they will get.
    pub(super) fn run_commands(self: &Arc<Self>, t: &Target) {
        if self.shutdown.is_requested() {
            return;
        }
        for command in &t.commands {
            let slot = {
                let mut state = self.state.lock().expect("state lock");
                state.commands.push(CommandStatus {
                    target: t.label.clone(),
                    command: command.command.argv(),
                    result: "running".into(),
                });
                state.commands.len() - 1
            };
            let daemon = self.clone();
            t.runner.spawn(&t.label, &command.command, move |result| {
                if let Some(c) = daemon
                    .state
                    .lock()
                    .expect("state lock")
                    .commands
                    .get_mut(slot)
                {
                    c.result = result;
                }
            });
        }
    }

    /// DNAT from conlink's docker-facing interface to the link's ip, and a
    /// /32 route back to conlink's docker address inside the target. A
    /// link with an IPv6 address is also forwarded over IPv6 when Docker
    /// gave conlink an IPv6 address (a /128 route back, and conlink
    /// answering neighbour solicitations for that address on the bridge).
    async fn add_forwards(&self, id: &str, ns: &NsTarget, spec: &LinkSpec) {
        if spec.forwards.is_empty() {
            return;
        }
        let ip4 = spec.ip.iter().find_map(|n| n.v4());
        let ip6 = spec.ip.iter().find(|n| n.is_ipv6()).map(|n| n.addr());
        let (true, Some(bridge)) = (ip4.is_some() || ip6.is_some(), spec.bridge.as_deref()) else {
            return;
        };
        let Some(docker) = &self.docker_eth0 else {
            tracing::error!(
                "{id}: forward needs conlink's Docker-provided eth0, and there is none"
            );
            return;
        };
        let mut pairs: Vec<(std::net::IpAddr, std::net::IpAddr)> = vec![];
        if let Some(ip) = ip4 {
            pairs.push((ip.addr().into(), docker.addr.into()));
        }
        match (ip6, docker.addr6) {
            (Some(ip), Some(back)) => pairs.push((ip, back.into())),
            (Some(ip), None) if ip4.is_none() => tracing::error!(
                "{id}: forward to {ip} needs an IPv6 address on conlink's Docker network \
                 (enable_ipv6 on it), and conlink has none"
            ),
            _ => {}
        }
        for (ip, back) in pairs {
            if let std::net::IpAddr::V6(b6) = back {
                if let Err(e) = self.net.proxy_ndp(bridge, b6).await {
                    tracing::error!("{id}: answer for {b6} on {bridge}: {e}");
                    continue;
                }
            }
            for fwd in &spec.forwards {
                match self
                    .net
                    .add_forward(docker.name.as_str(), bridge, ip, fwd)
                    .await
                {
                    Ok(()) => tracing::info!(
                        "Forwarding {:?} port {} -> {} ({id})",
                        fwd.proto,
                        fwd.conlink_port,
                        std::net::SocketAddr::new(ip, fwd.port),
                    ),
                    Err(e) => tracing::error!("{id}: forward {}: {e}", fwd.conlink_port),
                }
            }
            if let Err(e) = self.net.add_host_route(ns, &spec.dev, back).await {
                tracing::error!("{id}: route back to {back}: {e}");
            }
        }
    }
}

/// The 2.x log line: `veth link node_1:eth0 (IP 10.0.1.1/16) <-> node_1-eth0 (bridge s1)`.
pub fn describe(id: &str, spec: &LinkSpec) -> String {
    let mut s = format!("{} link {id}", spec.kind.name());
    if !spec.ip.is_empty() {
        let ips: Vec<String> = spec.ip.iter().map(ToString::to_string).collect();
        s += &format!(" (IP {})", ips.join(", "));
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

/// The error without the link id it starts with (state lists it apart).
pub(super) fn reason_of(e: &NetError) -> String {
    match e {
        NetError::InLink { source, .. } => source.to_string(),
        e => e.to_string(),
    }
}
