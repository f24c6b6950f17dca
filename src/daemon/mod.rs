//! The conlink sidecar: keep the kernel's network in the state the config
//! declares while containers come and go.
//!
//! Start-up: install the stop signals' handlers, clean what an earlier run
//! of the same instance left, rename the Docker-provided eth0, make bridges
//! and tunnels, wire named namespaces (and follow them as they come and
//! go), then follow each engine's events (listing running containers as
//! starts). Links that fail for a passing reason are retried.
//! Shutdown (SIGTERM, SIGINT, SIGHUP, SIGQUIT — also during start-up):
//! wait for the link being made, delete what this run made, exit 0.

mod commands;
mod docker_eth0;
mod event_bus;
mod metrics_source;
mod netns_watch;
mod overrides;
mod retry;
mod select;
mod shutdown;
mod state;
mod steering;
mod watch;
mod wire;

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail};

use crate::config::IndexedNetwork;
use crate::config::model::{Network, Target};
use crate::control::api::EventKind;
use crate::engine::{self, ContainerInfo, Scope};
use crate::net::addr::IfName;
use crate::net::{self, NsTarget};

use commands::Runner;
use shutdown::Shutdown;
use state::State;
use wire::{Job, Target as WireTarget};

/// One lock per target (container id or `netns:NAME`): a start, a die, a
/// namespace event and a retry for the same target never run at once.
type TargetLocks = std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

/// conlink's renamed Docker interface, used for forwards.
pub struct DockerEth0 {
    pub name: IfName,
    pub addr: Ipv4Addr,
    /// Its global IPv6 address, when Docker gave one.
    pub addr6: Option<std::net::Ipv6Addr>,
}

pub struct Daemon {
    network: IndexedNetwork,
    net: net::Engine,
    scope: Option<Scope>,
    docker_eth0: Option<DockerEth0>,
    state: Mutex<State>,
    locks: TargetLocks,
    shutdown: Shutdown,
    events: event_bus::EventBus,
    /// Counters for the web listener's `/metrics`.
    metrics: metrics_source::Metrics,
    started: Instant,
    /// Wall-clock start, for "last change" of links never made.
    started_at: std::time::SystemTime,
    verbose: bool,
}

/// How the sidecar is run (from its command line, as plain values).
#[derive(Debug, Clone)]
pub struct Options {
    /// Match services of this compose project instead of conlink's own.
    pub compose_project: Option<String>,
    pub docker_socket: std::path::PathBuf,
    pub podman_socket: std::path::PathBuf,
    pub keep_veth_offload: bool,
    /// Log the config, the wired state and timings.
    pub verbose: bool,
    pub control_socket: ControlSocket,
    /// Serve the read-only web page and metrics here (`--http-listen`).
    pub http_listen: Option<std::net::SocketAddr>,
}

/// Where the control socket goes, and whether failing to make it stops
/// start-up (a path asked for) or only turns runtime control off (the
/// default path, e.g. shared by several conlinks outside containers).
#[derive(Debug, Clone)]
pub enum ControlSocket {
    Required(std::path::PathBuf),
    Default(std::path::PathBuf),
}

/// Run until a stop signal. Errors here are start-up failures (exit 1).
pub async fn run(opts: Options, network: Network) -> anyhow::Result<()> {
    // Before anything touches the kernel: a stop during start-up must tear
    // down what was made, not kill the process half-way.
    let shutdown = Shutdown::install().context("installing signal handlers")?;
    let server = match &opts.control_socket {
        ControlSocket::Required(p) => Some(
            crate::control::server::Server::bind(p)
                .with_context(|| format!("control socket {}", p.display()))?,
        ),
        ControlSocket::Default(p) => match crate::control::server::Server::bind(p) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(
                    "control socket {}: {e}; runtime control is off (choose another path with --control-socket)",
                    p.display()
                );
                None
            }
        },
    };
    let web = match opts.http_listen {
        Some(addr) => {
            Some(crate::web::Server::bind(addr).with_context(|| format!("--http-listen {addr}"))?)
        }
        None => None,
    };
    let started = Instant::now();
    let needs_engine = !network.only_netns_targets();
    let sockets = [opts.docker_socket.clone(), opts.podman_socket.clone()];
    // Nothing is changed until the engines answer: a stop here just exits.
    let found = tokio::select! {
        found = connect(needs_engine, &sockets) => found?,
        _ = shutdown.requested() => return Ok(()),
    };
    let (engines, own) = found;
    let scope = Scope::resolve(opts.compose_project.as_deref(), own.as_ref());
    match &scope {
        Some(s) => tracing::info!(
            "Matching services of compose project {} (working dir {})",
            s.project_name(),
            s.working_dir().unwrap_or("any")
        ),
        None if needs_engine && has_service_targets(&network) => tracing::warn!(
            "Not in a compose project and no --compose-project given: service links will match nothing"
        ),
        None => {}
    }

    let instance = scope
        .as_ref()
        .map_or_else(|| "default".to_owned(), |s| s.project_name().to_owned());
    let mut cfg = net::EngineConfig::new(&instance);
    cfg.keep_veth_offload = opts.keep_veth_offload;
    let net = net::Engine::new(cfg).context("opening conlink's network namespace")?;

    let removed = net
        .cleanup()
        .await
        .context("removing what an earlier run left")?;
    if !removed.is_empty() {
        tracing::info!(
            "Removed leftovers of an earlier run: {}",
            removed.join(", ")
        );
    }
    let docker_eth0 = if own.is_some() {
        docker_eth0::adopt(&net).await?
    } else {
        None
    };

    let daemon = Arc::new(Daemon {
        network: IndexedNetwork::new(network),
        net,
        scope,
        docker_eth0,
        state: Mutex::new(State::default()),
        locks: TargetLocks::default(),
        shutdown: shutdown.clone(),
        events: event_bus::EventBus::default(),
        metrics: Default::default(),
        started,
        started_at: std::time::SystemTime::now(),
        verbose: opts.verbose,
    });
    if daemon.verbose {
        tracing::debug!(
            "Network config:\n{}",
            crate::config::show::to_json(&daemon.network)
        );
    }

    let mut tasks = Vec::new();
    let serving = server.map(|s| {
        tracing::info!("Control socket: {}", s.path().display());
        let stop = shutdown.clone();
        tokio::spawn(s.run(daemon.clone(), async move { stop.requested().await }))
    });
    if let Some(w) = web {
        // Read-only and unauthenticated: bound only where asked.
        if let Ok(addr) = w.local_addr() {
            tracing::info!("HTTP listener (read-only): http://{addr}/");
        }
        let stop = shutdown.clone();
        tokio::spawn(w.run(daemon.clone(), async move { stop.requested().await }));
    }
    if daemon.network.netns_names().next().is_some() {
        // Before the first namespace is wired, so none that appears in
        // between is missed.
        match netns_watch::Watcher::new() {
            Ok(w) => tasks.push(tokio::spawn(netns_watch::follow(daemon.clone(), w))),
            Err(e) => tracing::warn!(
                "cannot watch {} for namespaces that come and go: {e}",
                netns_watch::NETNS_DIR
            ),
        }
    }
    daemon.build_static().await;
    if !shutdown.is_requested() {
        daemon.check_milestone();
        tasks.extend(
            engines
                .into_iter()
                .map(|e| tokio::spawn(watch::follow(daemon.clone(), e))),
        );
    }

    shutdown.requested().await;
    for t in &tasks {
        t.abort();
    }
    // A link being made is finished and recorded before teardown looks.
    shutdown.drain().await;
    daemon.teardown().await;
    if let Some(s) = serving {
        // The server removes its socket and ends its streams on the stop.
        match tokio::time::timeout(std::time::Duration::from_secs(3), s).await {
            Ok(Ok(Err(e))) => tracing::warn!("control socket: {e}"),
            Ok(_) => {}
            Err(_) => tracing::warn!("control socket: did not stop in time"),
        }
    }
    Ok(())
}

/// The engines to follow, and conlink's own container if it runs in one.
async fn connect(
    needs_engine: bool,
    sockets: &[std::path::PathBuf],
) -> anyhow::Result<(Vec<engine::Engine>, Option<ContainerInfo>)> {
    let engines = if needs_engine {
        let engines = engine::Engine::connect_all(sockets).await?;
        for e in &engines {
            tracing::info!(
                "Listening on {} ({:?} {}, API {})",
                e.socket().display(),
                e.kind(),
                e.engine_version(),
                e.api_version()
            );
        }
        engines
    } else {
        tracing::info!("Only named-namespace targets: not connecting to a container engine");
        Vec::new()
    };

    // Who we are decides which compose project's services we wire.
    let own = match engine::own_container_id() {
        Some(id) => {
            let mut found = None;
            for e in &engines {
                if let Ok(info) = e.inspect(id.as_str()).await {
                    found = Some(info);
                    break;
                }
            }
            if found.is_some() {
                tracing::info!("Detected enclosing container: {}", id.as_str());
            }
            found
        }
        None => None,
    };
    Ok((engines, own))
}

fn has_service_targets(network: &Network) -> bool {
    network
        .targets()
        .iter()
        .any(|t| matches!(t, Target::Service(_)))
}

impl Daemon {
    /// The lock of one target (container id or `netns:NAME`).
    fn lock_for(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .expect("locks")
            .entry(key.to_owned())
            .or_default()
            .clone()
    }

    /// Drop a target's lock once it can have no more events (destroyed).
    fn drop_lock(&self, key: &str) {
        self.locks.lock().expect("locks").remove(key);
    }

    /// Bridges, tunnels and named-namespace targets: everything that does
    /// not wait for a container. Stops early when a stop is requested.
    async fn build_static(self: &Arc<Self>) {
        for bridge in self.network.bridges.values() {
            if self.shutdown.is_requested() {
                return;
            }
            tracing::info!("Creating bridge {} ({:?})", bridge.name, bridge.mode);
            if let Err(e) = self.net.ensure_bridge(bridge).await {
                tracing::error!("bridge {}: {e}", bridge.name);
            }
        }
        for tunnel in self.network.tunnels() {
            let name = tunnel.dev_name();
            let Some(_gate) = self.shutdown.enter().await else {
                return;
            };
            tracing::info!(
                "Creating tunnel {name} to {} (bridge {})",
                tunnel.remote,
                tunnel.bridge
            );
            match self.net.create_tunnel(tunnel).await {
                Ok(_) => self.state.lock().expect("state lock").add_tunnel(name),
                Err(e) => {
                    let reason = wire::reason_of(&e);
                    tracing::error!("tunnel {name}: {reason}");
                    self.state
                        .lock()
                        .expect("state lock")
                        .tunnel_failed(name, reason);
                }
            }
        }
        for name in self.network.netns_names() {
            if self.shutdown.is_requested() {
                return;
            }
            if !self.netns_changed(name, netns_watch::Seen::AtStart).await
                && netns_watch::exists(name)
            {
                // Made before the watch began, its mount not there yet:
                // no event will come for the mount.
                let daemon = self.clone();
                let name = name.to_owned();
                tokio::spawn(async move { netns_watch::settle(&daemon, &name).await });
            }
        }
    }

    /// A named namespace target may have appeared, vanished or been
    /// re-created: bring what is wired in line with what exists. True when
    /// a namespace was there (and is wired now).
    async fn netns_changed(self: &Arc<Self>, name: &str, seen: netns_watch::Seen) -> bool {
        let key = format!("netns:{name}");
        let lock = self.lock_for(&key);
        let _held = lock.lock().await;
        let now = netns_watch::identity(name);
        let wired = self.state.lock().expect("state lock").ns_identity(&key);
        if wired.is_some() && wired == now {
            return true;
        }
        if wired.is_some() {
            let why = if now.is_some() {
                "re-created"
            } else {
                "deleted"
            };
            self.target_gone(&key, &format!("netns {name} {why}")).await;
        }
        let Some(identity) = now else {
            self.state.lock().expect("state lock").await_netns(name);
            if seen == netns_watch::Seen::AtStart {
                tracing::info!("netns {name} does not exist yet: waiting for it");
            }
            self.check_milestone();
            return false;
        };
        self.state.lock().expect("state lock").netns_appeared(name);
        if seen != netns_watch::Seen::AtStart {
            tracing::info!("netns {name} appeared: wiring it");
        }
        self.events.emit(EventKind::TargetSeen {
            target: name.to_owned(),
        });
        let target = Target::Netns(name.to_owned());
        let t = WireTarget {
            key,
            label: name.to_owned(),
            ns: NsTarget::Name(name.to_owned()),
            stable: overrides::StableTarget::Netns(name.to_owned()),
            ns_identity: Some(identity),
            index: 1,
            name_seed: name.to_owned(),
            replica: None,
            commands: self.network.commands_for(&target).cloned().collect(),
            runner: Runner::Netns {
                name: name.to_owned(),
            },
        };
        let job = Job {
            target: Arc::new(t),
            links: self.network.links_for(&target).cloned().collect(),
            since: Instant::now(),
            lookup: None,
        };
        self.wire(job).await;
        true
    }

    /// A container started (or was found running). The caller holds its lock.
    async fn container_started(
        self: &Arc<Self>,
        engine: &engine::Engine,
        info: ContainerInfo,
        since: Instant,
        lookup: wire::Lookup,
    ) {
        let Some(pid) = info.pid() else {
            tracing::debug!("{} is not running, ignoring", info.name);
            return;
        };
        let key = info.id.as_str().to_owned();
        let wired_ns = self.state.lock().expect("state lock").ns_of(&key);
        match wired_ns {
            // A replayed start for what is already wired.
            Some(NsTarget::Pid(p)) if p == pid => return,
            // Restarted while we were not looking: its old links are gone.
            Some(_) => self.container_died(&key).await,
            None => {}
        }
        let compose = info
            .compose
            .as_ref()
            .filter(|_| self.scope.as_ref().is_some_and(|s| s.matches(&info)));
        let service = compose.map(|c| c.service.as_str());
        let links: Vec<_> = self
            .network
            .links_for_container(service, &info.name)
            .cloned()
            .collect();
        let commands: Vec<_> = self
            .network
            .commands_for_container(service, &info.name)
            .cloned()
            .collect();
        if links.is_empty() && commands.is_empty() {
            tracing::debug!("Event: no matching config for {}, ignoring", info.name);
            return;
        }
        tracing::info!("Event: start {} ({})", info.name, info.id.short());
        self.events.emit(EventKind::TargetSeen {
            target: info.name.clone(),
        });
        let t = WireTarget {
            key,
            label: info.name.clone(),
            ns: NsTarget::Pid(pid),
            stable: match compose {
                Some(c) => overrides::StableTarget::Service {
                    service: c.service.clone(),
                    replica: c.number,
                },
                None => overrides::StableTarget::Container(info.name.clone()),
            },
            ns_identity: None,
            index: compose.map_or(1, |c| c.number),
            name_seed: info.id.as_str().to_owned(),
            replica: compose.map(|c| (c.service.clone(), c.number)),
            commands,
            runner: Runner::Container {
                engine: engine.clone(),
                id: info.id.as_str().to_owned(),
            },
        };
        let job = Job {
            target: Arc::new(t),
            links,
            since,
            lookup: Some(lookup),
        };
        self.wire(job).await;
    }

    /// A container died: its namespace (and with it the inner ends and veth
    /// peers) is going away; forget it so a restart wires it afresh. The
    /// caller holds its lock.
    async fn container_died(&self, id: &str) {
        self.target_gone(id, "die").await;
    }

    /// Forget a target whose namespace is gone or going: its links go with
    /// it, a retry for it stops, and a patch can take a new end.
    async fn target_gone(&self, key: &str, why: &str) {
        let gone = self.state.lock().expect("state lock").remove(key);
        if let Some(w) = gone {
            tracing::info!(
                "Event: {why}: {} ({} links gone with it)",
                w.label,
                w.links.len()
            );
            for l in &w.links {
                self.events
                    .emit(EventKind::LinkRemoved { id: l.id.clone() });
            }
            self.events.emit(EventKind::TargetGone {
                target: w.label.clone(),
            });
            self.net.forget(&w.ns);
            // A re-created container with the same name may already have
            // taken the same outer names (its start can be handled before
            // the old one's die): those are not ours to forget.
            let outers: Vec<IfName> = {
                let state = self.state.lock().expect("state lock");
                w.links
                    .iter()
                    .filter_map(|l| l.outer.clone())
                    .filter(|o| !state.holds_outer(o))
                    .collect()
            };
            if !outers.is_empty() {
                self.net.forget_ports(&outers).await;
            }
        }
    }

    fn check_milestone(&self) {
        let mut state = self.state.lock().expect("state lock");
        let expected = self
            .network
            .expected_link_count(|svc| state.replicas(svc).max(1));
        // Said once per change, so a link failing keeps its reason in the
        // log without repeating it for every container that starts.
        match state.missing_report_if_changed() {
            Some(report) if !report.is_empty() => {
                tracing::warn!("Not all links connected; missing: {report}")
            }
            Some(_) if state.all_connected() => tracing::info!("No configured link is missing now"),
            _ => {}
        }
        if state.reach_milestone(expected) {
            tracing::info!("All links connected");
            self.events.emit(EventKind::Milestone);
            let t = state.timings();
            tracing::debug!(
                "{} links and tunnels; start→configured p50 {:.1?}, p90 {:.1?}, max {:.1?}; {:.2?} since conlink started",
                state.connected(),
                state::percentile(&t, 50.0),
                state::percentile(&t, 90.0),
                t.last().copied().unwrap_or_default(),
                self.started.elapsed()
            );
            if self.verbose {
                for w in state.all() {
                    let ids: Vec<&str> = w.links.iter().map(|l| l.id.as_str()).collect();
                    tracing::debug!("  {} ({}): {}", w.label, w.ns, ids.join(", "));
                }
            }
        }
    }

    /// Delete everything this run made: veth pairs through their outer ends
    /// (one kernel call), links inside live namespaces, then bridges,
    /// tunnels and the nft table.
    async fn teardown(&self) {
        let wired: Vec<_> = self
            .state
            .lock()
            .expect("state lock")
            .all()
            .cloned()
            .collect();
        let outers: Vec<IfName> = wired
            .iter()
            .flat_map(|w| w.links.iter().filter_map(|l| l.outer.clone()))
            .collect();
        if !outers.is_empty() {
            tracing::info!("Removing {} veth links", outers.len());
            if let Err(e) = self.net.delete_links(&outers).await {
                tracing::error!("removing veth links: {e}");
            }
        }
        for w in &wired {
            let inner: Vec<IfName> = w
                .links
                .iter()
                .filter(|l| l.outer.is_none())
                .map(|l| l.dev.clone())
                .collect();
            if !inner.is_empty() {
                if let Err(e) = self.net.delete_links_in(&w.ns, &inner).await {
                    tracing::warn!("removing links in {}: {e}", w.label);
                }
            }
        }
        match self.net.cleanup().await {
            Ok(names) if !names.is_empty() => tracing::info!("Removed {}", names.join(", ")),
            Ok(_) => {}
            Err(e) => tracing::error!("cleanup: {e}"),
        }
        self.net.stop_ovs().await;
    }
}

/// Fail early with a clear message when the config needs an engine and the
/// process cannot enter namespaces.
pub fn preflight() -> anyhow::Result<()> {
    if !nix::unistd::Uid::effective().is_root() {
        bail!("conlink needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to create interfaces");
    }
    Ok(())
}
