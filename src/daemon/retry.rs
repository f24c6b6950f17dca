//! Links that failed for a reason that can pass are tried again with
//! backoff until they exist, their target goes away (container died or
//! restarted, namespace deleted or re-created), or conlink stops. Each
//! change of state is logged once (a new reason, success, giving up), not
//! every try.

use std::sync::Arc;
use std::time::Duration;

use crate::config::model::Link;
use crate::control::api::EventKind;
use crate::engine::Backoff;

use super::Daemon;
use super::state::FailedLink;
use super::wire::{Attempt, Quiet, Target};

/// First retry after 100 ms, doubling to one try every 5 s: a namespace
/// the kernel is still tearing down frees its names within seconds even on
/// a loaded host, and slower tries cost nothing while waiting.
fn backoff() -> Backoff {
    Backoff::new(Duration::from_millis(100), Duration::from_secs(5))
}

impl Daemon {
    pub(super) async fn retry(
        self: Arc<Self>,
        t: Arc<Target>,
        generation: u64,
        mut pending: Vec<(Link, FailedLink)>,
    ) {
        let mut backoff = backoff();
        let mut attempts = 1u32;
        while !pending.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(backoff.next_delay()) => {}
                _ = self.shutdown.requested() => return,
            }
            let lock = self.lock_for(&t.key);
            let _held = lock.lock().await;
            let current = self.state.lock().expect("state lock").generation_of(&t.key);
            if current != Some(generation) {
                tracing::debug!(
                    "{}: no longer retrying {} links: the target went away",
                    t.label,
                    pending.len()
                );
                return;
            }
            attempts += 1;
            let mut still = Vec::new();
            for (link, before) in pending {
                match self.attempt_link(&t, &link, Quiet::Yes).await {
                    Attempt::Made(made) => {
                        tracing::info!("{}: connected (attempt {attempts})", made.id);
                        self.state
                            .lock()
                            .expect("state lock")
                            .link_made(&t.key, *made);
                    }
                    Attempt::Failed(now) => {
                        let changed = !now.retrying || now.reason != before.reason;
                        if !now.retrying {
                            tracing::error!("{}: {} (giving up)", now.id, now.reason);
                        } else if changed {
                            tracing::warn!("{}: {} (will retry)", now.id, now.reason);
                        }
                        if changed {
                            self.events.emit(EventKind::LinkFailed {
                                id: now.id.clone(),
                                reason: now.reason.clone(),
                            });
                        }
                        self.state
                            .lock()
                            .expect("state lock")
                            .link_failed(&t.key, now.clone());
                        if now.retrying {
                            still.push((link, now));
                        }
                    }
                    Attempt::Stopping => return,
                }
            }
            pending = still;
            self.check_milestone();
        }
        self.run_commands(&t);
    }
}
