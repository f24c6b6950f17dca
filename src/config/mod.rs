//! The network configuration pipeline (reference: docs/configuration.md):
//!
//! files ─[load]→ values ─[raw::blocks + interpolate]→ blocks ─[raw::extract,
//! merge]→ one raw config ─[validate]→ typed ─[enrich]→ [`Network`]
//!
//! It is pure: nothing here touches the network or the engine (it only
//! reads the files and checks `/sys/module/openvswitch`). Every problem found
//! is collected into [`ConfigErrors`], each naming file, path and value.

pub mod enrich;
pub mod errors;
pub mod gateways;
pub mod graph;
pub mod index;
pub mod instance;
pub mod interpolate;
pub mod load;
pub mod merge;
pub mod model;
pub mod names;
pub mod parse;
pub mod raw;
pub mod schema;
pub mod show;
pub mod validate;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use crate::net::spec::BridgeMode;

pub use enrich::Settings;
pub use errors::{ConfigError, ConfigErrors, Origin};
pub use index::IndexedNetwork;
pub use instance::{OffsetError, hashed_outer_dev, outer_dev_name, static_outer_dev};
pub use interpolate::{Env, ProcessEnv};
pub use model::{Base, Command, CommandLine, Link, Network, Target};
pub use raw::FileKind;

/// Where the network config comes from and how its defaults are filled in
/// (the command line's flags, as plain values).
#[derive(Debug, Clone)]
pub struct ConfigOptions {
    pub compose_files: Vec<PathBuf>,
    pub network_files: Vec<PathBuf>,
    pub default_bridge_mode: BridgeMode,
    pub default_mtu: u32,
    pub keep_veth_offload: bool,
}

/// Load the config the options name, with the process environment and the
/// running kernel.
pub fn load(args: &ConfigOptions) -> Result<Network, ConfigErrors> {
    load_with(&sources(args), &Settings::from_args(args), &ProcessEnv)
}

/// The files to read, in merge order: compose files, then network files.
pub fn sources(args: &ConfigOptions) -> Vec<(PathBuf, FileKind)> {
    args.compose_files
        .iter()
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| (p.clone(), FileKind::Compose))
        .chain(
            args.network_files
                .iter()
                .filter(|p| !p.as_os_str().is_empty())
                .map(|p| (p.clone(), FileKind::Network)),
        )
        .collect()
}

/// The whole pipeline with explicit inputs (tests and benchmarks).
pub fn load_with(
    files: &[(PathBuf, FileKind)],
    settings: &Settings,
    env: &dyn Env,
) -> Result<Network, ConfigErrors> {
    let mut diag = errors::Diag::default();
    if files.is_empty() {
        diag.err(
            &Origin::new("command line".into(), ""),
            "no config: give --compose-file or --network-file",
        );
    }
    let mut loaded = vec![];
    for (path, kind) in files {
        match load::load_file(path) {
            Ok(f) => loaded.push((f, *kind)),
            Err(e) => diag.push(e),
        }
    }
    process(&loaded, settings, env, diag)
}

/// Everything after reading the files.
pub fn process(
    files: &[(load::LoadedFile, FileKind)],
    settings: &Settings,
    env: &dyn Env,
    mut diag: errors::Diag,
) -> Result<Network, ConfigErrors> {
    let mut merger = merge::Merger::default();
    let mut scales = std::collections::BTreeMap::new();
    for (file, kind) in files {
        if *kind == FileKind::Compose {
            // Later compose files override earlier ones, as in compose.
            scales.extend(raw::compose_scales(file, env));
        }
        for mut block in raw::blocks(file, *kind, &mut diag) {
            interpolate::interpolate_tree(&mut block.value, &block.at, env, &mut diag);
            merger.add(raw::extract(&block, &mut diag));
        }
    }
    let raw = merger.finish();
    let mut typed = validate::validate(&raw, &mut diag);
    typed.scales = scales;
    let network = enrich::enrich(typed, settings, &mut diag);
    if diag.is_empty() {
        Ok(network)
    } else {
        Err(ConfigErrors(diag.errors))
    }
}
