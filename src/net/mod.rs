//! Everything conlink does to the kernel, over netlink and ioctl from inside
//! the process (no `ip`, `tc`, `nft`, `ethtool` or shell).
//!
//! The value types ([`addr`], [`route`], [`netem`], [`ethtool`], [`spec`])
//! are shared with the config layer, which parses text into them. The
//! daemon drives [`Engine`]; the other modules are its parts, one job each.

pub mod addr;
pub mod ethtool;
pub mod netem;
pub mod route;
pub mod spec;

pub mod addr_apply;
pub mod bridge;
mod clash;
pub mod engine;
pub mod errors;
pub mod fd_limits;
pub mod handle;
pub mod iface_ops;
pub mod ledger;
pub mod link;
pub mod netns;
pub mod nft;
pub mod offload;
pub mod ovs;
pub mod patch;
pub mod route_apply;
pub mod runtime_ops;
pub mod tc;
mod teardown;
pub mod tunnel;

pub use engine::{CreatedLink, Engine, EngineConfig};
pub use errors::{NetError, Result};
pub use ledger::Owned;
pub use netns::NsTarget;
