//! Stop requests: SIGTERM, SIGINT, SIGHUP and SIGQUIT all mean "stop
//! cleanly". The handlers are installed before conlink changes anything in
//! the kernel, so a signal during start-up stops the build and tears down
//! what was made instead of killing the process half-way. A second signal
//! exits at once, without cleanup (exit 130), for a teardown that hangs.
//!
//! SIGHUP and SIGQUIT get no meaning of their own: a sidecar has no
//! terminal to lose and no config to reload (the config is read once), and
//! their default action would leave every interface behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, RwLock, RwLockReadGuard};

/// Exit status when a second signal cuts the teardown short.
pub const EXIT_SECOND_SIGNAL: i32 = 130;

/// Shared stop flag plus a gate that in-flight wiring holds, so teardown
/// can wait for a link being made to be finished (and recorded) before it
/// deletes what exists.
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    stopping: AtomicBool,
    notify: Notify,
    gate: RwLock<()>,
}

impl Shutdown {
    /// Install the handlers now (before any kernel change) and return the
    /// flag they set.
    pub fn install() -> std::io::Result<Shutdown> {
        let s = Shutdown::default();
        let kinds = [
            (SignalKind::terminate(), "SIGTERM"),
            (SignalKind::interrupt(), "SIGINT"),
            (SignalKind::hangup(), "SIGHUP"),
            (SignalKind::quit(), "SIGQUIT"),
        ];
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<&'static str>();
        for (kind, name) in kinds {
            let mut sig = signal(kind)?;
            let tx = tx.clone();
            tokio::spawn(async move {
                while sig.recv().await.is_some() {
                    if tx.send(name).is_err() {
                        return;
                    }
                }
            });
        }
        let flag = s.clone();
        tokio::spawn(async move {
            let mut seen = 0;
            while let Some(name) = rx.recv().await {
                seen += 1;
                if seen == 1 {
                    tracing::info!("Got {name}: stopping");
                    flag.request();
                } else {
                    tracing::warn!("Second signal ({name}): exiting without cleanup");
                    std::process::exit(EXIT_SECOND_SIGNAL);
                }
            }
        });
        Ok(s)
    }

    /// Ask everything to stop (what a signal does).
    pub fn request(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    pub fn is_requested(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    /// Resolves once a stop was requested (at once if it already was).
    pub async fn requested(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_requested() {
                return;
            }
            notified.await;
        }
    }

    /// Held while one link is made and recorded. `None` once stopping:
    /// nothing new may start then.
    pub async fn enter(&self) -> Option<RwLockReadGuard<'_, ()>> {
        if self.is_requested() {
            return None;
        }
        let guard = self.inner.gate.read().await;
        (!self.is_requested()).then_some(guard)
    }

    /// Wait until no wiring is in flight; called after [`Shutdown::request`],
    /// so none can start after it returns.
    pub async fn drain(&self) {
        drop(self.inner.gate.write().await);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requested_resolves_after_request_and_enter_refuses() {
        let s = Shutdown::default();
        assert!(s.enter().await.is_some());
        let waiter = tokio::spawn({
            let s = s.clone();
            async move { s.requested().await }
        });
        s.request();
        waiter.await.unwrap();
        assert!(s.is_requested());
        assert!(s.enter().await.is_none());
        s.drain().await;
    }

    #[tokio::test]
    async fn drain_waits_for_wiring_in_flight() {
        let s = Shutdown::default();
        let guard = s.enter().await.unwrap();
        s.request();
        let drained = tokio::spawn({
            let s = s.clone();
            async move { s.drain().await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!drained.is_finished(), "drain must wait for the guard");
        drop(guard);
        drained.await.unwrap();
    }
}
