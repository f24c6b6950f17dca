//! mdc: modular compose — resolve modes, assemble .env and .files, then run
//! docker compose. The successor of conlink 2.x's bash `mdc` and its
//! resolve-deps helper, with the same files and variables (see docs/mdc.md).
//!
//! - [`deps`]: the dependency-string syntax (`a b|c +d`)
//! - [`modes`]: finding modes in modes dirs and JSON dep files
//! - [`resolve`]: the exact minimum resolver and its output order
//! - [`assemble`]: the env file text and the files overlays to apply
//! - [`env_file`]: dotenv checks, value quoting, atomic replacement
//! - [`files`]: the files dir safety checks and the staged overlay copy
//! - [`report`]: `--resolve` output formats
//! - [`cli`]: the command line and the overall flow

pub mod assemble;
pub mod cli;
pub mod deps;
pub mod env_file;
mod error;
pub mod files;
pub mod modes;
pub mod report;
pub mod resolve;

pub use cli::{command, main};
pub use error::MdcError;
