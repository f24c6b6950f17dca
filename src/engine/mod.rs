//! Container-engine client (Docker and Podman, through bollard): connect
//! with API version negotiation, inspect and list containers, follow their
//! start/die events, run commands in them, and find conlink's own container.
//!
//! The daemon's use, per engine:
//! 1. [`Engine::connect_all`] on the `--docker-socket` / `--podman-socket`
//!    paths ([`NoEngine`](EngineError::NoEngine) when none answers).
//! 2. `let t = SystemTime::now(); let events = engine.events(Some(t));`
//!    then [`Engine::list_running`] and treat each as a start.
//! 3. On [`EngineEvent::Container`]: `Start` → [`Engine::inspect`] and
//!    [`ContainerCache::remember`]; `Die` → [`ContainerCache::forget`].
//! 4. On [`EngineEvent::Disconnected`]: keep the network, [`Backoff::wait`],
//!    reconnect, re-list, [`ContainerCache::forget_missing`] /
//!    [`ContainerCache::unknown`].

mod backoff;
mod cache;
mod client;
mod container;
mod error;
mod events;
mod exec;
mod identity;
mod scope;

pub use backoff::Backoff;
pub use cache::ContainerCache;
pub use client::{DEFAULT_DOCKER_SOCKET, DEFAULT_PODMAN_SOCKET, Engine, EngineKind};
pub use container::{
    ComposeInfo, ComposeLabelError, ContainerId, ContainerInfo, LABEL_NUMBER, LABEL_PROJECT,
    LABEL_SERVICE, LABEL_WORKING_DIR, RunState,
};
pub use error::{EngineError, FailedSocket};
pub use events::{ContainerEvent, EngineEvent, EventStream, classify};
pub use exec::{OutputLine, OutputStream};
pub use identity::{container_id_from_cgroup, container_id_from_mountinfo, own_container_id};
pub use scope::Scope;
