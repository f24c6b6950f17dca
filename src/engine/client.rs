//! Connecting to a Docker or Podman API socket, with API version
//! negotiation, and the container queries (inspect, list running).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::query_parameters::ListContainersOptions;
use bollard::{API_DEFAULT_VERSION, ClientVersion, Docker};

use super::container::{ContainerId, ContainerInfo};
use super::error::{EngineError, FailedSocket};

/// Default `--docker-socket`.
pub const DEFAULT_DOCKER_SOCKET: &str = "/var/run/docker.sock";
/// Default `--podman-socket`.
pub const DEFAULT_PODMAN_SOCKET: &str = "/var/run/podman/podman.sock";

/// The API version every engine we support still accepts (Docker's minimum
/// is far lower; Podman's compat API starts at 1.24). The version probe uses
/// it because an engine rejects *every* request, `/version` included, whose
/// URL names a version newer than its own (Docker 20.10 answers `/v1.53/…`
/// with "client version 1.53 is too new"), which is why bollard's own
/// `negotiate_version` fails against older engines.
const PROBE_VERSION: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 24,
};

/// How long the version probe may take: a socket nobody serves should fail
/// fast, not after bollard's two-minute default.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Timeout for ordinary requests (until the reply headers arrive; streams
/// such as events and exec output may then run for as long as they like).
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// Which engine answers on a socket (from its `/version` reply, not from
/// which flag named the socket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineKind {
    Docker,
    Podman,
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
        })
    }
}

/// A connection to one container engine. Cheap to clone (one shared HTTP
/// client), so each task can hold its own.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(super) docker: Docker,
    kind: EngineKind,
    socket: PathBuf,
    engine_version: String,
    api_version: ClientVersion,
}

impl Engine {
    /// Connect to the engine on `socket` and settle on the newest API
    /// version both sides speak.
    pub async fn connect(socket: &Path) -> Result<Engine, EngineError> {
        let fail = |reason: String| EngineError::Connect {
            socket: socket.to_owned(),
            reason,
        };
        let path = socket
            .to_str()
            .ok_or_else(|| fail("socket path is not UTF-8".into()))?;
        if !socket.exists() {
            return Err(fail("no such socket".into()));
        }
        let probe = Docker::connect_with_unix(path, PROBE_TIMEOUT.as_secs(), &PROBE_VERSION)
            .map_err(|e| fail(e.to_string()))?;
        let version = probe.version().await.map_err(|e| fail(e.to_string()))?;

        let server_api = version
            .api_version
            .as_deref()
            .and_then(parse_api_version)
            .ok_or_else(|| fail(format!("unusable API version {:?}", version.api_version)))?;
        if server_api < PROBE_VERSION {
            return Err(fail(format!(
                "API version {server_api} is older than {PROBE_VERSION}"
            )));
        }
        let api_version = if server_api < *API_DEFAULT_VERSION {
            server_api
        } else {
            *API_DEFAULT_VERSION
        };
        let is_podman = version
            .components
            .iter()
            .flatten()
            .any(|c| c.name.to_ascii_lowercase().contains("podman"));
        let kind = if is_podman {
            EngineKind::Podman
        } else {
            EngineKind::Docker
        };
        let docker = Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, &api_version)
            .map_err(|e| fail(e.to_string()))?;
        let engine = Engine {
            docker,
            kind,
            socket: socket.to_owned(),
            engine_version: version.version.unwrap_or_default(),
            api_version,
        };
        tracing::debug!(
            "connected to {kind} {} at {} (API {api_version})",
            engine.engine_version,
            socket.display()
        );
        Ok(engine)
    }

    /// Connect to every socket in `sockets` that has an engine behind it
    /// (e.g. both the Docker and the Podman socket). Sockets that do not
    /// answer are skipped with a debug log; if none answers the error names
    /// each socket and why.
    pub async fn connect_all(sockets: &[PathBuf]) -> Result<Vec<Engine>, EngineError> {
        let attempts = futures::future::join_all(sockets.iter().map(|s| Engine::connect(s))).await;
        let mut engines = Vec::new();
        let mut tried = Vec::new();
        for (socket, attempt) in sockets.iter().zip(attempts) {
            match attempt {
                Ok(engine) => engines.push(engine),
                Err(e) => {
                    let reason = match e {
                        EngineError::Connect { reason, .. } => reason,
                        other => other.to_string(),
                    };
                    tracing::debug!("no engine at {}: {reason}", socket.display());
                    tried.push(FailedSocket {
                        socket: socket.clone(),
                        reason,
                    });
                }
            }
        }
        if engines.is_empty() {
            return Err(EngineError::NoEngine { tried });
        }
        Ok(engines)
    }

    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The engine's own version string, e.g. `20.10.24+dfsg1`.
    pub fn engine_version(&self) -> &str {
        &self.engine_version
    }

    /// The API version this client speaks with the engine, e.g. `1.41`.
    pub fn api_version(&self) -> String {
        self.api_version.to_string()
    }

    pub(super) fn api_error(
        &self,
        what: impl Into<String>,
        source: bollard::errors::Error,
    ) -> EngineError {
        EngineError::Api {
            socket: self.socket.clone(),
            what: what.into(),
            source,
        }
    }

    /// Inspect one container by id or name. A container the engine does not
    /// know gives [`EngineError::NotFound`].
    pub async fn inspect(&self, id: &str) -> Result<ContainerInfo, EngineError> {
        let reply = match self.docker.inspect_container(id, None).await {
            Ok(reply) => reply,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {
                return Err(EngineError::NotFound { id: id.to_owned() });
            }
            Err(e) => return Err(self.api_error(format!("inspect container {id}"), e)),
        };
        ContainerInfo::from_inspect(reply).map_err(|what| EngineError::BadReply {
            socket: self.socket.clone(),
            what,
        })
    }

    /// All running containers, inspected (the list reply has no pid).
    /// Containers that vanish between list and inspect are left out.
    pub async fn list_running(&self) -> Result<Vec<ContainerInfo>, EngineError> {
        let filters = HashMap::from([("status".to_owned(), vec!["running".to_owned()])]);
        let options = ListContainersOptions {
            filters: Some(filters),
            ..Default::default()
        };
        let summaries = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.api_error("list running containers", e))?;
        let ids: Vec<ContainerId> = summaries
            .into_iter()
            .filter_map(|s| s.id.filter(|id| !id.is_empty()))
            .map(ContainerId::new)
            .collect();
        let inspected =
            futures::future::join_all(ids.iter().map(|id| self.inspect(id.as_str()))).await;
        let mut running = Vec::with_capacity(inspected.len());
        for result in inspected {
            match result {
                Ok(info) if info.is_running() => running.push(info),
                Ok(_) | Err(EngineError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(running)
    }
}

/// `"1.41"` → 1.41; anything else (missing minor, junk) → `None`.
fn parse_api_version(s: &str) -> Option<ClientVersion> {
    let (major, minor) = s.trim().split_once('.')?;
    Some(ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_parse_and_order() {
        let v = parse_api_version("1.41").unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        assert!(v < *API_DEFAULT_VERSION, "bollard speaks newer than 1.41");
        assert!(
            parse_api_version("1.9").unwrap() < v,
            "1.9 < 1.41: numeric, not textual"
        );
        for bad in ["", "1", "1.x", "v1.41", "1.41.2"] {
            assert!(parse_api_version(bad).is_none(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn missing_sockets_give_one_error_naming_each() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("docker.sock");
        let b = dir.path().join("podman.sock");
        let err = Engine::connect_all(&[a.clone(), b.clone()])
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("{}: no such socket", a.display())),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("{}: no such socket", b.display())),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn a_socket_nobody_serves_is_refused_quickly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stale.sock");
        // Bind and drop: the socket file stays, but nobody listens.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let err = Engine::connect(&path).await.unwrap_err();
        assert!(matches!(err, EngineError::Connect { .. }), "{err}");
    }
}
