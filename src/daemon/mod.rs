//! The conlink sidecar: keep the kernel's network in the state the config
//! declares while containers come and go.
//!
//! Start-up: clean what an earlier run of the same instance left, rename the
//! Docker-provided eth0, make bridges and tunnels, wire named namespaces,
//! then follow each engine's events (listing running containers as starts).
//! Shutdown (SIGINT/SIGTERM): delete what this run made, exit 0.

mod commands;
mod docker_eth0;
mod state;
mod watch;
mod wire;

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail};

use crate::cli::Cli;
use crate::config::model::{Network, Target};
use crate::engine::{self, ContainerInfo, Scope};
use crate::net::addr::IfName;
use crate::net::{self, NsTarget};

use commands::Runner;
use state::State;
use wire::Job;

/// conlink's renamed Docker interface, used for forwards.
pub struct DockerEth0 {
    pub name: IfName,
    pub addr: Ipv4Addr,
}

pub struct Daemon {
    network: Network,
    net: net::Engine,
    scope: Option<Scope>,
    docker_eth0: Option<DockerEth0>,
    state: Mutex<State>,
    started: Instant,
    verbose: bool,
}

/// Run until SIGINT/SIGTERM. Errors here are start-up failures (exit 1).
pub async fn run(cli: &Cli, network: Network) -> anyhow::Result<()> {
    let started = Instant::now();
    let needs_engine = !network.only_netns_targets();
    let sockets = [cli.docker_socket.clone(), cli.podman_socket.clone()];
    let engines = if needs_engine {
        let engines = engine::Engine::connect_all(&sockets).await?;
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
    let scope = Scope::resolve(cli.compose_project.as_deref(), own.as_ref());
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
    cfg.keep_veth_offload = cli.config.keep_veth_offload;
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
        network,
        net,
        scope,
        docker_eth0,
        state: Mutex::new(State::default()),
        started,
        verbose: cli.verbose > 0 || crate::logging::env_verbose(),
    });
    if daemon.verbose {
        tracing::debug!(
            "Network config:\n{}",
            crate::config::show::to_json(&daemon.network)
        );
    }

    daemon.build_static().await;
    daemon.check_milestone();

    let watchers: Vec<_> = engines
        .into_iter()
        .map(|e| tokio::spawn(watch::follow(daemon.clone(), e)))
        .collect();

    wait_for_signal().await?;
    for w in &watchers {
        w.abort();
    }
    // A second signal during teardown exits at once.
    tokio::spawn(async {
        let _ = wait_for_signal().await;
        tracing::warn!("Second signal: exiting without cleanup");
        std::process::exit(130);
    });
    daemon.teardown().await;
    Ok(())
}

fn has_service_targets(network: &Network) -> bool {
    network
        .targets()
        .iter()
        .any(|t| matches!(t, Target::Service(_)))
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("Got SIGTERM"),
        _ = int.recv() => tracing::info!("Got SIGINT"),
    }
    Ok(())
}

impl Daemon {
    /// Bridges, tunnels and named-namespace targets: everything that does
    /// not wait for a container.
    async fn build_static(&self) {
        for bridge in self.network.bridges.values() {
            tracing::info!("Creating bridge {} ({:?})", bridge.name, bridge.mode);
            if let Err(e) = self.net.ensure_bridge(bridge).await {
                tracing::error!("bridge {}: {e}", bridge.name);
            }
        }
        for tunnel in self.network.tunnels() {
            let name = tunnel.dev_name();
            tracing::info!(
                "Creating tunnel {name} to {} (bridge {})",
                tunnel.remote,
                tunnel.bridge
            );
            match self.net.create_tunnel(tunnel).await {
                Ok(_) => self.state.lock().expect("state lock").add_tunnel(name),
                Err(e) => tracing::error!("tunnel {name}: {e}"),
            }
        }
        for name in self.network.netns_names() {
            let target = Target::Netns(name.to_owned());
            let job = Job {
                key: format!("netns:{name}"),
                label: name.to_owned(),
                ns: NsTarget::Name(name.to_owned()),
                index: 1,
                name_seed: name.to_owned(),
                replica: None,
                links: self.network.links_for(&target).collect(),
                commands: self.network.commands_for(&target).collect(),
                runner: Runner::Netns {
                    name: name.to_owned(),
                },
                since: Instant::now(),
                lookup: None,
            };
            self.wire(job).await;
        }
    }

    /// A container started (or was found running).
    async fn container_started(
        &self,
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
            .collect();
        let commands: Vec<_> = self
            .network
            .commands_for_container(service, &info.name)
            .collect();
        if links.is_empty() && commands.is_empty() {
            tracing::debug!("Event: no matching config for {}, ignoring", info.name);
            return;
        }
        tracing::info!("Event: start {} ({})", info.name, info.id.short());
        let job = Job {
            key,
            label: info.name.clone(),
            ns: NsTarget::Pid(pid),
            index: compose.map_or(1, |c| c.number),
            name_seed: info.id.as_str().to_owned(),
            replica: compose.map(|c| (c.service.clone(), c.number)),
            links,
            commands,
            runner: Runner::Container {
                engine: engine.clone(),
                id: info.id.as_str().to_owned(),
            },
            since,
            lookup: Some(lookup),
        };
        self.wire(job).await;
    }

    /// A container died: its namespace (and with it the inner ends and veth
    /// peers) is going away; forget it so a restart wires it afresh.
    async fn container_died(&self, id: &str) {
        let gone = self.state.lock().expect("state lock").remove(id);
        if let Some(w) = gone {
            tracing::info!(
                "Event: die {} ({} links gone with it)",
                w.label,
                w.links.len()
            );
            self.net.forget(&w.ns);
            let outers: Vec<IfName> = w.links.iter().filter_map(|l| l.outer.clone()).collect();
            if !outers.is_empty() {
                self.net.forget_ports(&outers).await;
            }
        }
    }

    fn check_milestone(&self) {
        let mut state = self.state.lock().expect("state lock");
        let replicas = state.replicas();
        let expected = self
            .network
            .expected_link_count(|svc| replicas.get(svc).copied().unwrap_or(1).max(1));
        if state.reach_milestone(expected) {
            tracing::info!("All links connected");
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
