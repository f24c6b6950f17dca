//! The things wait can wait for, and how each is named in messages.

use std::fmt;
use std::path::PathBuf;

pub use crate::net::addr::IfName;

use super::tcp::TcpTarget;

/// One readiness condition from the command line.
#[derive(Debug, Clone)]
pub enum Condition {
    /// A path exists (`-f`).
    File(PathBuf),
    /// A network interface exists (`-i`).
    Interface(IfName),
    /// An interface exists, is up and has a usable address (`-I`).
    Address(IfName),
    /// A TCP connection can be made (`-t`).
    Tcp(TcpTarget),
    /// A command exits 0 (`-c`).
    Command(String),
}

impl Condition {
    /// True for conditions answered by the netlink monitor.
    pub fn needs_netlink(&self) -> bool {
        matches!(self, Condition::Interface(_) | Condition::Address(_))
    }
}

/// The condition as a noun phrase: "waiting for {}", "timed out waiting for {}".
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::File(p) => write!(f, "file {}", p.display()),
            Condition::Interface(n) => write!(f, "interface {n}"),
            Condition::Address(n) => write!(f, "address on {n}"),
            Condition::Tcp(t) => write!(f, "tcp {t}"),
            Condition::Command(c) => write!(f, "command `{c}`"),
        }
    }
}
