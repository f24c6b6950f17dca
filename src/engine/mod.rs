//! Container-engine client (Docker and Podman, through bollard): connect
//! with API version negotiation, inspect and list containers, follow their
//! start/die events, run commands in them, and find conlink's own container.
//!
//! The daemon's use, per engine:
//! 1. [`Engine::connect_all`] on the `--docker-socket` / `--podman-socket`
//!    paths ([`NoEngine`](EngineError::NoEngine) when none answers).
//! 2. `let t = SystemTime::now(); let events = engine.events(Some(t));`
//!    then [`Engine::list_running`] and treat each as a start.
//! 3. On [`EngineEvent::Container`]: `Start` → the container's pid (from
//!    [`proc_pid::find`] with the event's attributes, else
//!    [`Engine::inspect`]); the daemon keeps what it wired for `Die`, when
//!    inspect may already answer 404.
//! 4. On [`EngineEvent::Disconnected`]: keep the network, [`Backoff::wait`],
//!    reconnect, re-list and reconcile.

mod backoff;
mod client;
mod container;
mod error;
mod events;
mod exec;
mod identity;
pub mod proc_pid;
mod scope;

pub use backoff::Backoff;
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
