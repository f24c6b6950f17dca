//! What the engine tells us about one container, as types the daemon can
//! match on: id, name, pid, labels and the compose identity.

use std::collections::HashMap;
use std::fmt;

use bollard::models::ContainerInspectResponse;

/// Compose labels (set by docker compose v2, docker-compose v1 and
/// podman-compose alike).
pub const LABEL_PROJECT: &str = "com.docker.compose.project";
pub const LABEL_WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub const LABEL_SERVICE: &str = "com.docker.compose.service";
pub const LABEL_NUMBER: &str = "com.docker.compose.container-number";

/// A full container id as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId(String);

impl ContainerId {
    pub fn new(id: impl Into<String>) -> ContainerId {
        ContainerId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 characters, as `docker ps` shows them.
    pub fn short(&self) -> &str {
        self.prefix(12)
    }

    /// The first `n` characters (fewer if the id is shorter), e.g. for the
    /// `c<first 8 of id>-…` outer device names.
    pub fn prefix(&self, n: usize) -> &str {
        match self.0.char_indices().nth(n) {
            Some((i, _)) => &self.0[..i],
            None => &self.0,
        }
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the container runs; only a running container has a pid (and so a
/// network namespace at `/proc/<pid>/ns/net`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    Running {
        pid: u32,
    },
    /// Not running, with the engine's status word (`exited`, `created`, …).
    NotRunning {
        status: String,
    },
}

/// A container's compose identity, from its `com.docker.compose.*` labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeInfo {
    pub project: String,
    /// Absent on containers made by old compose versions.
    pub working_dir: Option<String>,
    pub service: String,
    /// The replica index, 1-based (`node_3` → 3).
    pub number: u32,
}

/// Why a container's compose labels cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeLabelError {
    #[error("label {LABEL_PROJECT} is set but {LABEL_SERVICE} is missing")]
    MissingService,
    #[error("label {LABEL_NUMBER} is missing")]
    MissingNumber,
    #[error("label {LABEL_NUMBER} is {0:?}, not a number ≥ 1")]
    BadNumber(String),
}

impl ComposeInfo {
    /// The compose identity in `labels`: `Ok(None)` when the container is not
    /// a compose container (no project label), an error when the labels are
    /// only partly there.
    pub fn from_labels(
        labels: &HashMap<String, String>,
    ) -> Result<Option<ComposeInfo>, ComposeLabelError> {
        let Some(project) = labels.get(LABEL_PROJECT) else {
            return Ok(None);
        };
        let service = labels
            .get(LABEL_SERVICE)
            .ok_or(ComposeLabelError::MissingService)?;
        let raw = labels
            .get(LABEL_NUMBER)
            .ok_or(ComposeLabelError::MissingNumber)?;
        let number = raw
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| ComposeLabelError::BadNumber(raw.clone()))?;
        Ok(Some(ComposeInfo {
            project: project.clone(),
            working_dir: labels.get(LABEL_WORKING_DIR).cloned(),
            service: service.clone(),
            number,
        }))
    }
}

/// Everything the daemon needs to know about a container when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: ContainerId,
    /// Without the leading `/` the Docker API puts there.
    pub name: String,
    pub state: RunState,
    pub labels: HashMap<String, String>,
    /// `None` for containers not made by compose, or whose compose labels
    /// are incomplete (logged as a warning when the info is built).
    pub compose: Option<ComposeInfo>,
}

impl ContainerInfo {
    pub fn pid(&self) -> Option<u32> {
        match self.state {
            RunState::Running { pid } => Some(pid),
            RunState::NotRunning { .. } => None,
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.state, RunState::Running { .. })
    }

    /// Build from an inspect reply. Fails only when the reply lacks the id.
    pub fn from_inspect(reply: ContainerInspectResponse) -> Result<ContainerInfo, String> {
        let id = reply
            .id
            .filter(|id| !id.is_empty())
            .ok_or("container inspect reply without an id")?;
        let name = reply
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned();
        let state = reply.state.unwrap_or_default();
        let pid = state
            .pid
            .and_then(|p| u32::try_from(p).ok())
            .filter(|p| *p > 0);
        let state = match (state.running, pid) {
            // Running with a pid; a "running" container without a pid (seen
            // while it is being torn down) has no namespace to enter.
            (Some(true), Some(pid)) => RunState::Running { pid },
            _ => RunState::NotRunning {
                status: state.status.map(|s| s.to_string()).unwrap_or_default(),
            },
        };
        let labels = reply.config.and_then(|c| c.labels).unwrap_or_default();
        let compose = match ComposeInfo::from_labels(&labels) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(
                    "container {name} ({}): ignoring its compose labels: {e}",
                    &id
                );
                None
            }
        };
        Ok(ContainerInfo {
            id: ContainerId(id),
            name,
            state,
            labels,
            compose,
        })
    }
}

impl ContainerInfo {
    /// Build from a Docker `start` event's attributes and a pid found
    /// elsewhere ([`super::proc_pid`]). Docker's attributes are the
    /// container's labels plus `name` and `image`; `None` without a name
    /// (an engine that does not send it: inspect instead).
    pub fn from_start_event(
        id: &ContainerId,
        attributes: &HashMap<String, String>,
        pid: u32,
    ) -> Option<ContainerInfo> {
        let name = attributes.get("name").filter(|n| !n.is_empty())?.clone();
        let mut labels = attributes.clone();
        labels.remove("name");
        labels.remove("image");
        let compose = match ComposeInfo::from_labels(&labels) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("container {name} ({id}): ignoring its compose labels: {e}");
                None
            }
        };
        Some(ContainerInfo {
            id: id.clone(),
            name,
            state: RunState::Running { pid },
            labels,
            compose,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerConfig, ContainerState};

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn compose_labels_parse_into_project_service_and_number() {
        let l = labels(&[
            (LABEL_PROJECT, "demo"),
            (LABEL_WORKING_DIR, "/src/demo"),
            (LABEL_SERVICE, "node"),
            (LABEL_NUMBER, "3"),
        ]);
        let c = ComposeInfo::from_labels(&l).unwrap().unwrap();
        assert_eq!(c.project, "demo");
        assert_eq!(c.working_dir.as_deref(), Some("/src/demo"));
        assert_eq!(c.service, "node");
        assert_eq!(c.number, 3);
    }

    #[test]
    fn no_project_label_means_not_a_compose_container() {
        let l = labels(&[(LABEL_SERVICE, "node"), ("other", "x")]);
        assert_eq!(ComposeInfo::from_labels(&l), Ok(None));
    }

    #[test]
    fn partial_or_bad_compose_labels_are_errors() {
        let l = labels(&[(LABEL_PROJECT, "p"), (LABEL_NUMBER, "1")]);
        assert_eq!(
            ComposeInfo::from_labels(&l),
            Err(ComposeLabelError::MissingService)
        );
        let l = labels(&[(LABEL_PROJECT, "p"), (LABEL_SERVICE, "s")]);
        assert_eq!(
            ComposeInfo::from_labels(&l),
            Err(ComposeLabelError::MissingNumber)
        );
        for bad in ["0", "-1", "x", ""] {
            let l = labels(&[
                (LABEL_PROJECT, "p"),
                (LABEL_SERVICE, "s"),
                (LABEL_NUMBER, bad),
            ]);
            assert_eq!(
                ComposeInfo::from_labels(&l),
                Err(ComposeLabelError::BadNumber(bad.into())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn inspect_reply_strips_the_leading_slash_and_reads_pid() {
        let reply = ContainerInspectResponse {
            id: Some("ab".repeat(32)),
            name: Some("/web_1".into()),
            state: Some(ContainerState {
                running: Some(true),
                pid: Some(4242),
                ..Default::default()
            }),
            config: Some(ContainerConfig {
                labels: Some(labels(&[
                    (LABEL_PROJECT, "p"),
                    (LABEL_SERVICE, "web"),
                    (LABEL_NUMBER, "1"),
                ])),
                ..Default::default()
            }),
            ..Default::default()
        };
        let info = ContainerInfo::from_inspect(reply).unwrap();
        assert_eq!(info.name, "web_1");
        assert_eq!(info.pid(), Some(4242));
        assert_eq!(info.id.short(), "abababababab");
        assert_eq!(info.id.prefix(8), "abababab");
        assert_eq!(info.compose.unwrap().service, "web");
    }

    #[test]
    fn stopped_or_pidless_containers_are_not_running() {
        let reply = ContainerInspectResponse {
            id: Some("cd".repeat(32)),
            state: Some(ContainerState {
                running: Some(true),
                pid: Some(0),
                ..Default::default()
            }),
            ..Default::default()
        };
        let info = ContainerInfo::from_inspect(reply).unwrap();
        assert!(!info.is_running());
        assert_eq!(info.pid(), None);
        assert!(ContainerInfo::from_inspect(ContainerInspectResponse::default()).is_err());
    }
}
