//! The sidecar's side of the control API: status read from the one state,
//! and changes (down/up, netem) made under the same per-target locks that
//! wiring takes — so a command and an event for one target never race —
//! and remembered as overrides, so they survive the target's restarts.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::future::join_all;

use crate::config::model::Target;
use crate::control::api::{
    BridgeStatus, CapturePoint, Changed, Control, ControlError, Counters, Direction, Event,
    EventKind, LinkState, LinkStatus, NetemReset, NetemSet, NetemStatus, Status, TunnelStatus,
};
use crate::net::spec::LinkKind;
use crate::net::{NetError, NsTarget};

use super::Daemon;
use super::overrides::{LinkKey, RuntimeNetem, StableTarget};
use super::select::{Selectable, select};

/// One configured link as the control API sees it, with where it lives.
struct Entry {
    status: LinkStatus,
    /// State key of its wired target (container id, `netns:NAME`).
    state_key: Option<String>,
    ns: Option<NsTarget>,
    key: LinkKey,
    /// veth outer end (in conlink's namespace).
    outer: Option<String>,
    /// The link exists now.
    exists: bool,
    /// The config's netem (what `netem reset` returns to).
    config_netem: Option<crate::net::netem::Netem>,
}

impl Selectable for Entry {
    fn id(&self) -> &str {
        &self.status.id
    }
    fn target(&self) -> &str {
        &self.status.target
    }
    fn service(&self) -> Option<&str> {
        self.status.service.as_deref()
    }
    fn dev(&self) -> &str {
        &self.status.dev
    }
}

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

fn kernel_error(e: NetError) -> ControlError {
    let message = e.to_string();
    if matches!(e, NetError::KernelLacks { .. })
        || matches!(&e, NetError::InLink { source, .. } if matches!(**source, NetError::KernelLacks { .. }))
    {
        ControlError::KernelLacks { message }
    } else {
        ControlError::Failed { message }
    }
}

impl Daemon {
    /// Every configured link: those of wired targets (made or failed), and
    /// those whose target is not there (missing).
    fn catalogue(&self) -> Vec<Entry> {
        let state = self.state.lock().expect("state lock");
        let runtime = |key: &LinkKey, config: Option<String>| {
            let o = state.overrides.get(key);
            NetemStatus {
                config,
                runtime_out: o.and_then(|o| o.netem_out.as_ref().map(|n| n.text.clone())),
                runtime_in: o.and_then(|o| o.netem_in.as_ref().map(|n| n.text.clone())),
            }
        };
        let mut out = Vec::new();
        let mut wired_keys: Vec<&String> = state.keys().collect();
        wired_keys.sort();
        let mut seen_services = BTreeSet::new();
        let mut seen_targets = BTreeSet::new();
        for k in wired_keys {
            let Some(w) = state.get(k) else { continue };
            let service = w.replica.as_ref().map(|(s, _)| s.clone());
            if let Some(s) = &service {
                seen_services.insert(s.clone());
            }
            seen_targets.insert(w.label.clone());
            for l in &w.links {
                out.push(Entry {
                    status: LinkStatus {
                        id: l.id.clone(),
                        target: w.label.clone(),
                        service: service.clone(),
                        dev: l.dev.to_string(),
                        kind: l.spec.kind.name().to_owned(),
                        outer: l.spec.outer_dev.as_ref().map(|o| o.to_string()),
                        bridge: l.spec.bridge.clone(),
                        state: if l.down {
                            LinkState::Down
                        } else {
                            LinkState::Up
                        },
                        addresses: l.spec.ip.iter().map(|ip| ip.to_string()).collect(),
                        mac: l.spec.mac.map(|m| m.to_string()),
                        mtu: l.spec.mtu,
                        netem: runtime(&l.key, l.netem_text.clone()),
                        counters: None,
                        last_change: epoch(l.since),
                    },
                    state_key: Some(k.clone()),
                    ns: Some(w.ns.clone()),
                    key: l.key.clone(),
                    outer: l.outer.as_ref().map(|o| o.to_string()),
                    exists: true,
                    config_netem: l.spec.netem.clone(),
                });
            }
            for f in &w.failed {
                let link = self.network.links.iter().find(|c| {
                    c.dev.as_str() == f.key.dev
                        && targets_match(&c.target, &w.label, service.as_deref())
                });
                out.push(Entry {
                    status: LinkStatus {
                        id: f.id.clone(),
                        target: w.label.clone(),
                        service: service.clone(),
                        dev: f.key.dev.clone(),
                        kind: link.map_or("veth", |l| l.kind.name()).to_owned(),
                        outer: None,
                        bridge: link.and_then(|l| l.bridge.clone()),
                        state: LinkState::Failed {
                            reason: f.reason.clone(),
                        },
                        addresses: Vec::new(),
                        mac: None,
                        mtu: None,
                        netem: runtime(&f.key, link.and_then(netem_text)),
                        counters: None,
                        last_change: epoch(f.since),
                    },
                    state_key: Some(k.clone()),
                    ns: Some(w.ns.clone()),
                    key: f.key.clone(),
                    outer: None,
                    exists: false,
                    config_netem: link.and_then(|l| l.netem.clone()),
                });
            }
        }
        // Configured links whose target is not running (or not there).
        for l in &self.network.links {
            let (name, service, stable) = match &l.target {
                Target::Service(s) if !seen_services.contains(s) => (
                    s.clone(),
                    Some(s.clone()),
                    StableTarget::Service {
                        service: s.clone(),
                        replica: 1,
                    },
                ),
                Target::Container(c) if !seen_targets.contains(c) => {
                    (c.clone(), None, StableTarget::Container(c.clone()))
                }
                Target::Netns(n) if !seen_targets.contains(n) => {
                    (n.clone(), None, StableTarget::Netns(n.clone()))
                }
                _ => continue,
            };
            let key = LinkKey {
                target: stable,
                dev: l.dev.to_string(),
            };
            out.push(Entry {
                status: LinkStatus {
                    id: format!("{name}:{}", l.dev),
                    target: name,
                    service,
                    dev: l.dev.to_string(),
                    kind: l.kind.name().to_owned(),
                    outer: l.outer_dev.as_ref().map(|o| o.to_string()),
                    bridge: l.bridge.clone(),
                    state: LinkState::Missing,
                    addresses: l.ip.iter().map(|ip| ip.to_string()).collect(),
                    mac: l.mac.map(|m| m.to_string()),
                    mtu: l.mtu,
                    netem: runtime(&key, netem_text(l)),
                    counters: None,
                    last_change: epoch(self.started_at),
                },
                state_key: None,
                ns: None,
                key,
                outer: None,
                exists: false,
                config_netem: l.netem.clone(),
            });
        }
        out
    }

    /// The per-target locks of `entries`, taken in key order (the same
    /// order everywhere, so two commands cannot deadlock).
    async fn lock_targets(&self, entries: &[&Entry]) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
        let keys: BTreeSet<&String> = entries
            .iter()
            .filter_map(|e| e.state_key.as_ref())
            .collect();
        let mut held = Vec::new();
        for k in keys {
            held.push(self.lock_for(k).lock_owned().await);
        }
        held
    }

    /// Re-read one entry after taking the locks (it may have changed, or
    /// its target may have gone, while waiting).
    fn current(&self, id: &str) -> Option<Entry> {
        self.catalogue().into_iter().find(|e| e.status.id == id)
    }

    fn with_link<R>(
        &self,
        e: &Entry,
        f: impl FnOnce(&mut super::state::WiredLink) -> R,
    ) -> Option<R> {
        let mut state = self.state.lock().expect("state lock");
        state.link_mut(e.state_key.as_ref()?, &e.status.id).map(f)
    }
}

impl Daemon {
    /// Set (`Some`) or reset (`None`: back to the config) netem on the
    /// picked links in `direction`, remembering it as an override.
    async fn change_netem(
        &self,
        picked: &[&Entry],
        direction: Direction,
        runtime: Option<RuntimeNetem>,
    ) -> Result<Changed, ControlError> {
        let _held = self.lock_targets(picked).await;
        let mut changed = Vec::new();
        for e in picked {
            let Some(e) = self.current(&e.status.id) else {
                continue;
            };
            if let (true, Some(ns)) = (e.exists, e.ns.as_ref()) {
                if direction.includes_out() {
                    let out = match &runtime {
                        Some(r) => Some(&r.netem),
                        None => e.config_netem.as_ref(),
                    };
                    self.net
                        .set_netem(Some(ns), &e.status.dev, out)
                        .await
                        .map_err(kernel_error)?;
                }
                if let (true, Some(outer)) = (direction.includes_in(), &e.outer) {
                    let incoming = runtime.as_ref().map(|r| &r.netem);
                    self.net
                        .set_netem(None, outer, incoming)
                        .await
                        .map_err(kernel_error)?;
                }
            }
            self.state
                .lock()
                .expect("state lock")
                .overrides
                .update(&e.key, |o| {
                    if direction.includes_out() {
                        o.netem_out = runtime.clone();
                    }
                    if direction.includes_in() {
                        o.netem_in = runtime.clone();
                    }
                });
            self.events.emit(EventKind::NetemChanged {
                id: e.status.id.clone(),
                direction,
                netem: runtime.as_ref().map(|r| r.text.clone()),
            });
            changed.push(e.status.id);
        }
        Ok(Changed { ids: changed })
    }
}

fn netem_text(l: &crate::config::model::Link) -> Option<String> {
    (!l.text.netem.is_empty()).then(|| l.text.netem.join(" "))
}

fn targets_match(t: &Target, label: &str, service: Option<&str>) -> bool {
    match t {
        Target::Service(s) => Some(s.as_str()) == service,
        Target::Container(c) | Target::Netns(c) => c == label,
    }
}

impl Control for Daemon {
    async fn status(&self, ids: &[String]) -> Result<Status, ControlError> {
        let all = self.catalogue();
        let picked: Vec<&Entry> = if ids.is_empty() {
            all.iter().collect()
        } else {
            select(&all, ids)?
        };
        // One dump per namespace, not one request per link.
        let namespaces: std::collections::HashSet<&NsTarget> = picked
            .iter()
            .filter(|e| e.exists)
            .filter_map(|e| e.ns.as_ref())
            .collect();
        let dumps: std::collections::HashMap<&NsTarget, _> = join_all(
            namespaces
                .into_iter()
                .map(|ns| async move { (ns, self.net.counters(Some(ns)).await.ok()) }),
        )
        .await
        .into_iter()
        .filter_map(|(ns, d)| Some((ns, d?)))
        .collect();
        let counters = picked.iter().map(|e| {
            let (true, Some(ns)) = (e.exists, e.ns.as_ref()) else {
                return None;
            };
            let s = dumps.get(ns)?.get(&e.status.dev)?;
            Some(Counters {
                rx_packets: s.rx_packets,
                tx_packets: s.tx_packets,
                rx_bytes: s.rx_bytes,
                tx_bytes: s.tx_bytes,
                rx_errors: s.rx_errors,
                tx_errors: s.tx_errors,
                rx_dropped: s.rx_dropped,
                tx_dropped: s.tx_dropped,
            })
        });
        let links = picked
            .iter()
            .zip(counters)
            .map(|(e, c)| LinkStatus {
                counters: c,
                ..e.status.clone()
            })
            .collect();
        let state = self.state.lock().expect("state lock");
        let (made, failed) = state.tunnels();
        let tunnels = self
            .network
            .tunnels()
            .iter()
            .map(|t| {
                let name = t.dev_name();
                TunnelStatus {
                    state: match failed.get(&name) {
                        Some(why) => format!("failed: {why}"),
                        None if made.contains(&name) => "up".into(),
                        None => "missing".into(),
                    },
                    name,
                    remote: t.remote.to_string(),
                    bridge: t.bridge.clone(),
                }
            })
            .collect();
        let bridges = self
            .network
            .bridges
            .values()
            .map(|b| BridgeStatus {
                name: b.name.clone(),
                mode: format!("{:?}", b.mode).to_lowercase(),
                owned: matches!(self.net.owned(&b.name), Some(crate::net::Owned::Bridge)),
            })
            .collect();
        Ok(Status {
            milestone: state.all_connected(),
            links,
            bridges,
            tunnels,
            commands: state.commands.clone(),
        })
    }

    async fn set_admin(&self, ids: &[String], up: bool) -> Result<Changed, ControlError> {
        let all = self.catalogue();
        let picked = select(&all, ids)?;
        let _held = self.lock_targets(&picked).await;
        let mut changed = Vec::new();
        let mut errors = Vec::new();
        for e in picked {
            let Some(e) = self.current(&e.status.id) else {
                continue;
            };
            if e.exists {
                let ns = e.ns.as_ref().expect("an existing link has a namespace");
                let r = match &e.outer {
                    Some(outer) => self.net.set_admin(None, outer, up).await,
                    None => match self.net.set_admin(Some(ns), &e.status.dev, up).await {
                        // Admin down dropped the link's IPv6 addresses and routes.
                        Ok(()) if up => match self.with_link(&e, |l| l.spec.clone()) {
                            Some(spec) => self.net.restore_ipv6(ns, &spec).await,
                            None => Ok(()),
                        },
                        r => r,
                    },
                };
                if let Err(err) = r {
                    errors.push(format!("{}: {err}", e.status.id));
                    continue;
                }
                self.with_link(&e, |l| {
                    l.down = !up;
                    l.since = SystemTime::now();
                });
            }
            self.state
                .lock()
                .expect("state lock")
                .overrides
                .update(&e.key, |o| o.down = !up);
            let id = e.status.id.clone();
            tracing::info!("{id}: {} by request", if up { "up" } else { "down" });
            self.events.emit(if up {
                EventKind::LinkUp { id: id.clone() }
            } else {
                EventKind::LinkDown { id: id.clone() }
            });
            changed.push(id);
        }
        if errors.is_empty() {
            Ok(Changed { ids: changed })
        } else {
            Err(ControlError::Failed {
                message: errors.join("; "),
            })
        }
    }

    async fn netem_set(&self, req: NetemSet) -> Result<Changed, ControlError> {
        let netem = crate::config::parse::netem::parse_netem(&req.options).map_err(|e| {
            ControlError::BadRequest {
                message: format!("netem `{}`: {e}", req.options),
            }
        })?;
        let all = self.catalogue();
        let picked = select(&all, &req.ids)?;
        if req.direction.includes_in() {
            if let Some(e) = picked
                .iter()
                .find(|e| e.status.kind != LinkKind::Veth.name())
            {
                return Err(ControlError::BadRequest {
                    message: format!(
                        "{}: incoming netem needs a veth link (it is set on the outer end); this is a {} link — use --direction out",
                        e.status.id, e.status.kind
                    ),
                });
            }
        }
        let runtime = RuntimeNetem {
            netem,
            text: req.options.trim().to_owned(),
        };
        self.change_netem(&picked, req.direction, Some(runtime))
            .await
    }

    async fn netem_reset(&self, req: NetemReset) -> Result<Changed, ControlError> {
        let all = self.catalogue();
        let picked = select(&all, &req.ids)?;
        self.change_netem(&picked, req.direction, None).await
    }

    fn events(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn capture_point(&self, id: &str) -> Result<CapturePoint, ControlError> {
        let all = self.catalogue();
        let Some(e) = all.iter().find(|e| e.status.id == id) else {
            let near = select(&all, &[id.to_owned()])
                .map(|v| v.iter().map(|e| e.status.id.clone()).collect())
                .unwrap_or_else(|e| match e {
                    ControlError::NotFound { near, .. } => near,
                    _ => Vec::new(),
                });
            return Err(ControlError::NotFound {
                id: id.to_owned(),
                near,
            });
        };
        if !e.exists {
            return Err(ControlError::BadRequest {
                message: format!("{id} does not exist now ({})", e.status.state),
            });
        }
        Ok(match (&e.outer, &e.ns) {
            (Some(outer), _) => CapturePoint {
                id: id.to_owned(),
                ns: NsTarget::Current,
                ifname: outer.clone(),
                outer: true,
            },
            (None, Some(ns)) => CapturePoint {
                id: id.to_owned(),
                ns: ns.clone(),
                ifname: e.status.dev.clone(),
                outer: false,
            },
            (None, None) => {
                return Err(ControlError::Failed {
                    message: format!("{id}: no namespace known"),
                });
            }
        })
    }
}
