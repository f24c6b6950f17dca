//! Errors of the container-engine layer. Each names the socket or container
//! it concerns, so a log line alone tells what failed where.

use std::path::PathBuf;

/// One socket that did not answer, and why (for [`EngineError::NoEngine`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedSocket {
    pub socket: PathBuf,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// None of the configured sockets has a container engine behind it.
    #[error("no container engine answers ({})", describe(.tried))]
    NoEngine { tried: Vec<FailedSocket> },

    /// The socket exists but the engine did not answer the version probe.
    #[error("container engine at {}: {reason}", .socket.display())]
    Connect { socket: PathBuf, reason: String },

    /// The engine does not know this container (any more).
    #[error("container {id} not found")]
    NotFound { id: String },

    /// A request failed (engine error, broken connection, bad reply).
    #[error("container engine at {}: {what}: {source}", .socket.display())]
    Api {
        socket: PathBuf,
        what: String,
        #[source]
        source: bollard::errors::Error,
    },

    /// The engine answered with something we cannot use (e.g. no id).
    #[error("container engine at {}: {what}", .socket.display())]
    BadReply { socket: PathBuf, what: String },

    /// An exec request that cannot be sent (e.g. an empty argv).
    #[error("exec in container {container}: {what}")]
    BadExec { container: String, what: String },
}

fn describe(tried: &[FailedSocket]) -> String {
    if tried.is_empty() {
        return "no socket configured".into();
    }
    tried
        .iter()
        .map(|f| format!("{}: {}", f.socket.display(), f.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

impl EngineError {
    /// True when the engine said the container does not exist; the caller
    /// then falls back to what it cached at start.
    pub fn is_not_found(&self) -> bool {
        matches!(self, EngineError::NotFound { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_engine_names_every_socket_and_reason() {
        let e = EngineError::NoEngine {
            tried: vec![
                FailedSocket {
                    socket: "/a.sock".into(),
                    reason: "no such file".into(),
                },
                FailedSocket {
                    socket: "/b.sock".into(),
                    reason: "connection refused".into(),
                },
            ],
        };
        let s = e.to_string();
        assert!(s.contains("/a.sock: no such file"), "{s}");
        assert!(s.contains("/b.sock: connection refused"), "{s}");
    }
}
