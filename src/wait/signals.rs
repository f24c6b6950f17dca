//! As PID 1 of a container, signals without a handler are ignored, so
//! `docker stop` would hang for its grace period while we wait. Give SIGTERM
//! and SIGINT a handler that ends wait at once; exec resets handlers, so the
//! command after `--` gets default dispositions again.

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

extern "C" fn exit_on_signal(sig: libc::c_int) {
    // SAFETY: _exit is async-signal-safe; nothing else happens here.
    unsafe { libc::_exit(128 + sig) }
}

/// Install the handlers when we are PID 1 (elsewhere the defaults already
/// terminate us).
pub fn install_if_pid1() {
    if std::process::id() != 1 {
        return;
    }
    let action = SigAction::new(
        SigHandler::Handler(exit_on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for sig in [Signal::SIGTERM, Signal::SIGINT] {
        // SAFETY: the handler only calls _exit.
        if let Err(e) = unsafe { sigaction(sig, &action) } {
            tracing::debug!("sigaction {sig}: {e}");
        }
    }
}
