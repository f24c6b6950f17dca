//! The control API's contract: the JSON bodies of `/v1/…` (a stable,
//! documented schema: docs/control.md) and the [`Control`] trait the
//! sidecar implements for the server. Kept free of daemon types so the
//! arrows run one way: daemon → control (it implements and starts it),
//! cli → control (the client).

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::net::NsTarget;

/// Version prefix of every path.
pub const PREFIX: &str = "/v1";

/// Answer of `GET /v1/status` (optionally `?id=ID&id=ID…`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// "All links connected" has been reached in this run.
    pub milestone: bool,
    pub links: Vec<LinkStatus>,
    pub bridges: Vec<BridgeStatus>,
    pub tunnels: Vec<TunnelStatus>,
    pub commands: Vec<CommandStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkStatus {
    /// `target:dev`, as in logs (`node_1:eth0`, `mycontainer:eth1`, `ns:eth0`).
    pub id: String,
    /// Container name or namespace name (`node_1`).
    pub target: String,
    /// Compose service, for service links.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub service: Option<String>,
    pub dev: String,
    /// `veth`, `dummy`, `vlan`, `macvlan`, …
    pub kind: String,
    /// veth: the outer end in conlink's namespace; *vlan: the parent.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub outer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bridge: Option<String>,
    /// `"state": "up" | "down" | "missing" | "failed"` (+ `"reason"`).
    #[serde(flatten)]
    pub state: LinkState,
    /// CIDR strings, as configured (after replica offsets).
    pub addresses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mtu: Option<u32>,
    pub netem: NetemStatus,
    /// The kernel's 64-bit counters of the link inside its target, as the
    /// container sees them (`None` when the link does not exist).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub counters: Option<Counters>,
    /// Seconds since the Unix epoch of the last change of `state`.
    pub last_change: f64,
}

/// State of a link as conlink holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum LinkState {
    Up,
    /// Administratively down by request (`conlink link down`).
    Down,
    /// Its target is not running (or the namespace does not exist).
    Missing,
    Failed {
        reason: String,
    },
}

impl std::fmt::Display for LinkState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkState::Up => f.write_str("up"),
            LinkState::Down => f.write_str("down"),
            LinkState::Missing => f.write_str("missing"),
            LinkState::Failed { reason } => write!(f, "failed: {reason}"),
        }
    }
}

/// netem of a link: what the config says and what was set at run time,
/// shown apart. `None` means none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetemStatus {
    /// From the config (traffic leaving the container).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub config: Option<String>,
    /// Runtime override for traffic leaving the container (replaces `config`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub runtime_out: Option<String>,
    /// Runtime setting for traffic arriving at the container.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub runtime_in: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeStatus {
    pub name: String,
    /// `linux`, `ovs` or `patch`.
    pub mode: String,
    /// Created by this conlink (else it existed before and is only used).
    pub owned: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelStatus {
    pub name: String,
    pub remote: String,
    pub bridge: String,
    /// `up`, or `failed: <reason>`.
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandStatus {
    pub target: String,
    pub command: Vec<String>,
    /// `pending`, `running`, `exited N`, `failed: <reason>`.
    pub result: String,
}

/// Which way traffic is impaired, seen from the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Leaving the container (the inner end's egress, like the config's netem).
    Out,
    /// Arriving at the container (the outer end's egress, in conlink's namespace).
    In,
    Both,
}

impl Direction {
    pub fn includes_out(self) -> bool {
        matches!(self, Direction::Out | Direction::Both)
    }
    pub fn includes_in(self) -> bool {
        matches!(self, Direction::In | Direction::Both)
    }
}

/// Body of `POST /v1/links/down` and `POST /v1/links/up`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Select {
    /// Link ids (`node_1:eth0`), service ids (`node:eth0`: every replica)
    /// or bare targets (`node_1`: all its links).
    pub ids: Vec<String>,
}

/// Body of `POST /v1/netem/set`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetemSet {
    pub ids: Vec<String>,
    /// Options in the config's `netem` grammar (`delay 40ms loss 1%`).
    pub options: String,
    pub direction: Direction,
}

/// Body of `POST /v1/netem/reset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetemReset {
    pub ids: Vec<String>,
    pub direction: Direction,
}

/// Answer of the changing calls: the link ids that were changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed {
    pub ids: Vec<String>,
}

/// One line of `GET /v1/events` (newline-delimited JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Seconds since the Unix epoch.
    pub time: f64,
    #[serde(flatten)]
    pub what: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    TargetSeen {
        target: String,
    },
    TargetGone {
        target: String,
    },
    LinkCreated {
        id: String,
    },
    LinkFailed {
        id: String,
        reason: String,
    },
    LinkRemoved {
        id: String,
    },
    LinkDown {
        id: String,
    },
    LinkUp {
        id: String,
    },
    NetemChanged {
        id: String,
        direction: Direction,
        netem: Option<String>,
    },
    Milestone,
}

impl Event {
    pub fn now(what: EventKind) -> Event {
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        Event { time, what }
    }
}

impl std::fmt::Display for Event {
    /// The one-line text form of `conlink events`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.what {
            EventKind::TargetSeen { target } => write!(f, "target-seen {target}"),
            EventKind::TargetGone { target } => write!(f, "target-gone {target}"),
            EventKind::LinkCreated { id } => write!(f, "link-created {id}"),
            EventKind::LinkFailed { id, reason } => write!(f, "link-failed {id}: {reason}"),
            EventKind::LinkRemoved { id } => write!(f, "link-removed {id}"),
            EventKind::LinkDown { id } => write!(f, "link-down {id}"),
            EventKind::LinkUp { id } => write!(f, "link-up {id}"),
            EventKind::NetemChanged {
                id,
                direction,
                netem,
            } => write!(
                f,
                "netem-changed {id} {}: {}",
                match direction {
                    Direction::Out => "out",
                    Direction::In => "in",
                    Direction::Both => "both",
                },
                netem.as_deref().unwrap_or("none")
            ),
            EventKind::Milestone => f.write_str("milestone All links connected"),
        }
    }
}

/// Where a link's packets can be captured: an interface in a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturePoint {
    pub id: String,
    pub ns: NsTarget,
    pub ifname: String,
    /// True when `ifname` is the outer end (conlink's side): its "out"
    /// (egress) is traffic arriving at the container.
    pub outer: bool,
}

/// What can go wrong answering a control request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
pub enum ControlError {
    /// No link matches; `near` lists ids that look alike.
    #[error("no link matches {id}{}", near_text(near))]
    NotFound { id: String, near: Vec<String> },
    #[error("{message}")]
    BadRequest { message: String },
    /// The kernel lacks what the request needs (e.g. sch_netem).
    #[error("{message}")]
    KernelLacks { message: String },
    #[error("{message}")]
    Failed { message: String },
}

fn near_text(near: &[String]) -> String {
    if near.is_empty() {
        String::new()
    } else {
        format!(" (did you mean: {}?)", near.join(", "))
    }
}

impl ControlError {
    /// The HTTP status it is answered with.
    pub fn http_status(&self) -> u16 {
        match self {
            ControlError::NotFound { .. } => 404,
            ControlError::BadRequest { .. } => 400,
            ControlError::KernelLacks { .. } => 501,
            ControlError::Failed { .. } => 500,
        }
    }
}

/// What the sidecar offers the control server. The implementation owns the
/// state; the server only translates HTTP to these calls and back.
pub trait Control: Send + Sync + 'static {
    fn status(&self, ids: &[String]) -> impl Future<Output = Result<Status, ControlError>> + Send;
    fn set_admin(
        &self,
        ids: &[String],
        up: bool,
    ) -> impl Future<Output = Result<Changed, ControlError>> + Send;
    fn netem_set(
        &self,
        req: NetemSet,
    ) -> impl Future<Output = Result<Changed, ControlError>> + Send;
    fn netem_reset(
        &self,
        req: NetemReset,
    ) -> impl Future<Output = Result<Changed, ControlError>> + Send;
    /// A new subscriber to the event stream (bounded: a subscriber that
    /// falls behind loses events and is told so by `Lagged`).
    fn events(&self) -> tokio::sync::broadcast::Receiver<Event>;
    /// Where to capture one link's packets (an exact link id only).
    fn capture_point(&self, id: &str) -> Result<CapturePoint, ControlError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_state_and_events_have_the_documented_json_shape() {
        let s = serde_json::to_value(LinkState::Failed {
            reason: "File exists".into(),
        })
        .unwrap();
        assert_eq!(
            s,
            serde_json::json!({"state": "failed", "reason": "File exists"})
        );
        assert_eq!(
            serde_json::to_value(LinkState::Up).unwrap(),
            serde_json::json!({"state": "up"})
        );
        let e = Event {
            time: 1.5,
            what: EventKind::LinkDown {
                id: "node_1:eth0".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"time": 1.5, "event": "link-down", "id": "node_1:eth0"})
        );
        assert_eq!(e.to_string(), "link-down node_1:eth0");
        let back: Event = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn errors_name_near_matches_and_map_to_http() {
        let e = ControlError::NotFound {
            id: "node_3:eth0".into(),
            near: vec!["node_1:eth0".into(), "node_2:eth0".into()],
        };
        assert_eq!(
            e.to_string(),
            "no link matches node_3:eth0 (did you mean: node_1:eth0, node_2:eth0?)"
        );
        assert_eq!(e.http_status(), 404);
    }
}
