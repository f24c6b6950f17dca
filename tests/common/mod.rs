//! Shared helpers for integration tests: unique names, guards that clean up
//! on drop (also when a test fails), and honest skipping.
#![allow(dead_code)]

pub mod browser;
pub mod compose;
pub mod docker;
pub mod engine;
pub mod netns;
pub mod sidecar;
pub mod spec;
pub mod tcp;

use std::sync::atomic::{AtomicU32, Ordering};

/// When set (tools/test sets it in CI), a suite that would skip fails instead:
/// CI has root and a Docker engine, so a skip there means something is broken.
pub const REQUIRE_ALL_ENV: &str = "CONLINK_TEST_REQUIRE_ALL";

/// Say plainly why a test does not run; panic instead when CI requires it.
pub fn skip(test: &str, why: &str) {
    if std::env::var_os(REQUIRE_ALL_ENV).is_some() {
        panic!("{test}: would skip ({why}), but {REQUIRE_ALL_ENV} is set");
    }
    eprintln!("SKIPPED {test}: {why}");
}

pub fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// True when the test may touch network namespaces; prints the skip otherwise.
pub fn require_root(test: &str) -> bool {
    if is_root() {
        true
    } else {
        skip(test, "needs root for network namespaces");
        false
    }
}

/// A short name unique to this test process and call, e.g. `ct4821a3`
/// (short because interface names are limited to 15 characters).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{:x}{n:x}", std::process::id() & 0xffff)
}

/// Path of the built `conlink` binary (cargo builds it for integration tests).
pub fn conlink_bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_conlink"))
}
