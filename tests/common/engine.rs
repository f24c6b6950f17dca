//! The link engine for tests that drive it directly: one engine homed in a
//! test namespace, and the bridges its links join.

use conlink::net::spec::{BridgeSpec, ResolvedBridgeMode};
use conlink::net::{Engine, EngineConfig, NsTarget};

use super::netns::Netns;

/// A namespace as the engine names it.
pub fn target(ns: &Netns) -> NsTarget {
    NsTarget::Name(ns.name.clone())
}

/// The configuration of an engine for `instance` whose home is `home`
/// (for tests that change more before [`Engine::new`]).
pub fn config_in(home: &Netns, instance: &str) -> EngineConfig {
    let mut cfg = EngineConfig::new(instance);
    cfg.home = target(home);
    cfg
}

/// An engine for `instance` (tests that check what is named after it, such
/// as the nft table, or run two instances) whose home is `home`.
pub fn engine_in(home: &Netns, instance: &str) -> Engine {
    Engine::new(config_in(home, instance)).expect("engine")
}

/// An engine with an instance name of its own, whose home is `home`.
pub fn engine(home: &Netns) -> Engine {
    engine_in(home, &super::unique("t"))
}

/// Ensure a bridge of `mode` named `name`; its result, for tests that
/// expect a refusal.
pub async fn try_bridge(
    eng: &Engine,
    name: &str,
    mode: ResolvedBridgeMode,
) -> conlink::net::Result<()> {
    eng.ensure_bridge(&BridgeSpec {
        name: name.to_owned(),
        mode,
    })
    .await
}

/// A Linux bridge named `name`, which must succeed.
pub async fn bridge(eng: &Engine, name: &str) {
    try_bridge(eng, name, ResolvedBridgeMode::Linux)
        .await
        .unwrap();
}
