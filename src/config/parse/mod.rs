//! Text → typed values: each module parses one kind of config string into
//! the shared value types of `crate::net`.

pub mod ethtool;
pub mod forward;
pub mod netem;
pub mod route;
pub mod units;
