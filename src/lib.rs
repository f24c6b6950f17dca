//! conlink: layer-2/layer-3 networking for Docker Compose.
//!
//! One binary, four tools (see [`multicall`]): the `conlink` network sidecar
//! ([`cli`] → [`config`] → [`daemon`] over [`engine`] and [`net`]), and the
//! compose helpers [`mdc`], [`wait`] and [`copy`].

pub mod cli;
pub mod compose;
pub mod config;
pub mod control;
pub mod copy;
pub mod daemon;
pub mod engine;
pub mod exec;
pub mod logging;
pub mod mdc;
pub mod multicall;
pub mod net;
pub mod wait;
pub mod web;

/// Exit status for usage and configuration errors (clap uses 2 as well).
pub const EXIT_USAGE: u8 = 2;
