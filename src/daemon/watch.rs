//! Following one engine: list what runs, then react to start/die events.
//! When the connection drops, keep the network as it is, reconnect with
//! backoff, re-list and reconcile, so a missed event never leaves a
//! container unwired (or a dead one remembered).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use futures::StreamExt;

use crate::engine::{
    Backoff, ContainerEvent, ContainerId, ContainerInfo, Engine, EngineError, EngineEvent,
    EngineKind, proc_pid,
};

use super::Daemon;
use super::wire::Lookup;

pub async fn follow(daemon: Arc<Daemon>, mut engine: Engine) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut backoff = Backoff::default();
    loop {
        // Subscribe before listing: a container starting in between is
        // replayed by the engine (`since`) instead of missed.
        let mut events = engine.events(Some(SystemTime::now()));
        match engine.list_running().await {
            Ok(running) => {
                backoff.reset();
                let now: HashSet<String> =
                    running.iter().map(|c| c.id.as_str().to_owned()).collect();
                for gone in seen.difference(&now).cloned().collect::<Vec<_>>() {
                    seen.remove(&gone);
                    let lock = daemon.lock_for(&gone);
                    let _held = lock.lock().await;
                    daemon.container_died(&gone).await;
                }
                for info in running {
                    seen.insert(info.id.as_str().to_owned());
                    // A listing carries no pid: these are inspected.
                    spawn_start(
                        &daemon,
                        &engine,
                        info.id.clone(),
                        HashMap::new(),
                        Instant::now(),
                    );
                }
            }
            Err(e) => {
                tracing::warn!("listing containers on {}: {e}", engine.socket().display());
                backoff.wait().await;
                continue;
            }
        }
        while let Some(event) = events.next().await {
            if matches!(event, EngineEvent::Container(_)) {
                daemon.metrics.event_processed();
            }
            match event {
                EngineEvent::Container(ContainerEvent::Start { id, attributes }) => {
                    let since = Instant::now();
                    seen.insert(id.as_str().to_owned());
                    spawn_start(&daemon, &engine, id, attributes, since);
                }
                EngineEvent::Container(ContainerEvent::Die { id, .. }) => {
                    seen.remove(id.as_str());
                    let lock = daemon.lock_for(id.as_str());
                    let daemon = daemon.clone();
                    tokio::spawn(async move {
                        let _held = lock.lock().await;
                        daemon.container_died(id.as_str()).await;
                    });
                }
                EngineEvent::Container(ContainerEvent::Destroy { id }) => {
                    daemon.drop_lock(id.as_str());
                }
                EngineEvent::Disconnected { reason } => {
                    tracing::warn!(
                        "Lost the engine at {} ({reason}); the network stays as it is, reconnecting",
                        engine.socket().display()
                    );
                    break;
                }
            }
        }
        engine = reconnect(&engine, &mut backoff).await;
        daemon.metrics.engine_reconnected();
        tracing::info!("Reconnected to {}; reconciling", engine.socket().display());
    }
}

async fn reconnect(old: &Engine, backoff: &mut Backoff) -> Engine {
    loop {
        backoff.wait().await;
        match Engine::connect(old.socket()).await {
            Ok(e) => return e,
            Err(e) => tracing::debug!("reconnect: {e}"),
        }
    }
}

fn spawn_start(
    daemon: &Arc<Daemon>,
    engine: &Engine,
    id: ContainerId,
    attributes: HashMap<String, String>,
    since: Instant,
) {
    let lock = daemon.lock_for(id.as_str());
    let daemon = daemon.clone();
    let engine = engine.clone();
    tokio::spawn(async move {
        let _held = lock.lock().await;
        let looking = Instant::now();
        match look_up(&engine, &id, &attributes).await {
            Ok((info, how)) => {
                let lookup = Lookup {
                    how,
                    took: looking.elapsed(),
                };
                daemon.container_started(&engine, info, since, lookup).await
            }
            Err(e) if e.is_not_found() => tracing::debug!("{id} is gone before it could be wired"),
            Err(e) => tracing::error!("inspecting {id}: {e}"),
        }
    });
}

/// What the daemon needs of a started container. With Docker, whose start
/// events carry name and labels, the pid comes from /proc without waiting
/// for the engine to answer an inspect; otherwise (Podman, a listing, a
/// process not visible from here) the engine is asked.
async fn look_up(
    engine: &Engine,
    id: &ContainerId,
    attributes: &HashMap<String, String>,
) -> Result<(ContainerInfo, &'static str), EngineError> {
    if engine.kind() == EngineKind::Docker && !attributes.is_empty() {
        let fast = proc_pid::find(Path::new("/proc"), id)
            .and_then(|pid| ContainerInfo::from_start_event(id, attributes, pid));
        if let Some(info) = fast {
            return Ok((info, "/proc"));
        }
    }
    Ok((engine.inspect(id.as_str()).await?, "inspect"))
}
