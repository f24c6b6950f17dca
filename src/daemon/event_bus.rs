//! What conlink does, as a stream for `conlink events` (and the live page):
//! a bounded broadcast channel. A subscriber that falls behind loses the
//! oldest events (it is told how many) instead of slowing the wiring.

use tokio::sync::broadcast;

use crate::control::api::{Event, EventKind};

/// Events kept for a slow subscriber before it starts losing them.
const CAPACITY: usize = 4096;

pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl EventBus {
    /// Send one event; nobody listening is fine.
    pub fn emit(&self, what: EventKind) {
        let _ = self.tx.send(Event::now(what));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
