//! Log setup shared by all four tools: `tracing` to stderr, quiet by default,
//! more with `-v` (or `VERBOSE=1`, as in conlink 2.x).

use tracing_subscriber::EnvFilter;

/// Install the global subscriber. `verbosity` counts `-v` flags; `RUST_LOG`
/// overrides everything for debugging.
pub fn init(verbosity: u8) {
    let level = match verbosity {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("conlink={level},warn")));
    // A second init (tests call tools in-process) must not panic.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: `docker logs` and files get plain text.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_target(false)
        .try_init();
}

/// `VERBOSE` counts as one `-v` when set to anything but empty/0/false.
pub fn env_verbose() -> bool {
    matches!(std::env::var("VERBOSE"), Ok(v) if !v.is_empty() && v != "0" && v != "false")
}
