//! What this run has wired, in one place: the links per container or
//! namespace (made and not made, with why), the replicas seen per service,
//! and the "All links connected" milestone, which is reached only when no
//! configured link is missing. Kept apart from the event handling so a
//! control socket can read it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

use crate::control::api::CommandStatus;
use crate::net::NsTarget;
use crate::net::addr::IfName;
use crate::net::netns::NsId;
use crate::net::spec::LinkSpec;

use super::overrides::{LinkKey, Overrides};

/// One link this run created.
#[derive(Debug, Clone)]
pub struct WiredLink {
    /// `container:dev`, as in logs.
    pub id: String,
    pub dev: IfName,
    /// veth outer end in conlink's namespace (deleting it removes the pair).
    pub outer: Option<IfName>,
    /// What was made (replica offsets applied).
    pub spec: LinkSpec,
    /// The config's netem text, if any.
    pub netem_text: Option<String>,
    /// The link across restarts of its target (for overrides).
    pub key: LinkKey,
    /// Held administratively down by request.
    pub down: bool,
    /// Last change of state (made, down, up).
    pub since: SystemTime,
}

/// A configured link of a wired target that does not exist (yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedLink {
    /// `container:dev`, as in logs.
    pub id: String,
    pub reason: String,
    /// Being retried (the reason can pass), or given up on.
    pub retrying: bool,
    pub key: LinkKey,
    pub since: SystemTime,
}

/// A container or named namespace and what was made in it.
#[derive(Debug, Clone)]
pub struct Wired {
    pub label: String,
    pub ns: NsTarget,
    /// Which wiring of this key this is: a retry started for an earlier
    /// one (the container restarted, the namespace was re-created) must not
    /// touch this one.
    pub generation: u64,
    /// `Some((service, replica number))` for compose service containers.
    pub replica: Option<(String, u32)>,
    pub links: Vec<WiredLink>,
    pub failed: Vec<FailedLink>,
    /// Named namespaces: which namespace (device and inode of its file)
    /// was wired, to tell a re-created one from the same.
    pub ns_identity: Option<NsId>,
    /// Start event → links configured.
    pub took: Duration,
}

#[derive(Debug, Default)]
pub struct State {
    /// Keyed by container id, or `netns:NAME`.
    wired: HashMap<String, Wired>,
    tunnels: BTreeSet<String>,
    /// Tunnels that could not be made, with why.
    failed_tunnels: BTreeMap<String, String>,
    /// Named namespaces the config targets that do not exist now.
    awaited_netns: BTreeSet<String>,
    all_connected: bool,
    generations: u64,
    /// The last "still missing" report, so it is logged once per change.
    last_missing: String,
    /// Something that feeds the missing report changed since it was made.
    missing_changed: bool,
    /// Running totals over `wired`, so a check on every event does not
    /// walk every target.
    tally: Tally,
    /// Runtime overrides (down, netem), across restarts of their targets.
    pub overrides: Overrides,
    /// Results of targets' commands, in the order they were started.
    pub commands: Vec<CommandStatus>,
}

/// Sums over every wired target, kept up to date by each change.
#[derive(Debug, Default)]
struct Tally {
    links: usize,
    failed: usize,
    replicas: HashMap<String, u32>,
    /// How many wired links hold each veth outer name (normally one).
    outers: HashMap<IfName, u32>,
}

impl Tally {
    fn add_outer(&mut self, l: &WiredLink) {
        if let Some(o) = &l.outer {
            *self.outers.entry(o.clone()).or_insert(0) += 1;
        }
    }

    fn add(&mut self, w: &Wired) {
        w.links.iter().for_each(|l| self.add_outer(l));
        self.links += w.links.len();
        self.failed += w.failed.len();
        if let Some((svc, _)) = &w.replica {
            *self.replicas.entry(svc.clone()).or_insert(0) += 1;
        }
    }

    fn sub(&mut self, w: &Wired) {
        for o in w.links.iter().filter_map(|l| l.outer.as_ref()) {
            if let Some(n) = self.outers.get_mut(o) {
                *n -= 1;
                if *n == 0 {
                    self.outers.remove(o);
                }
            }
        }
        self.links -= w.links.len();
        self.failed -= w.failed.len();
        if let Some((svc, _)) = &w.replica
            && let Some(n) = self.replicas.get_mut(svc)
        {
            *n -= 1;
            if *n == 0 {
                self.replicas.remove(svc);
            }
        }
    }
}

impl State {
    /// The namespace a wired target's links live in.
    pub fn ns_of(&self, key: &str) -> Option<NsTarget> {
        self.wired.get(key).map(|w| w.ns.clone())
    }

    /// The generation of what is wired under `key` now.
    pub fn generation_of(&self, key: &str) -> Option<u64> {
        self.wired.get(key).map(|w| w.generation)
    }

    /// Which namespace a named-namespace target was wired in.
    pub fn ns_identity(&self, key: &str) -> Option<NsId> {
        self.wired.get(key).and_then(|w| w.ns_identity)
    }

    pub fn all_connected(&self) -> bool {
        self.all_connected
    }

    /// A fresh generation number for a new wiring.
    pub fn next_generation(&mut self) -> u64 {
        self.generations += 1;
        self.generations
    }

    pub fn insert(&mut self, key: String, wired: Wired) {
        self.tally.add(&wired);
        self.missing_changed |= !wired.failed.is_empty();
        if let Some(old) = self.wired.insert(key, wired) {
            self.tally.sub(&old);
            self.missing_changed |= !old.failed.is_empty();
        }
    }

    /// Keys of every wired target.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.wired.keys()
    }

    pub fn get(&self, key: &str) -> Option<&Wired> {
        self.wired.get(key)
    }

    /// One made link of a wired target, to change its state (not whether
    /// it exists: that goes through [`State::link_made`] and friends).
    pub fn link_mut(&mut self, key: &str, id: &str) -> Option<&mut WiredLink> {
        self.wired
            .get_mut(key)?
            .links
            .iter_mut()
            .find(|l| l.id == id)
    }

    /// Tunnels made, and tunnels that failed with why.
    pub fn tunnels(&self) -> (&BTreeSet<String>, &BTreeMap<String, String>) {
        (&self.tunnels, &self.failed_tunnels)
    }

    /// A retried link now exists: record it and drop it from the failed.
    pub fn link_made(&mut self, key: &str, link: WiredLink) {
        if let Some(w) = self.wired.get_mut(key) {
            let before = w.failed.len();
            w.failed.retain(|f| f.id != link.id);
            self.tally.failed -= before - w.failed.len();
            self.missing_changed |= before != w.failed.len();
            self.tally.add_outer(&link);
            w.links.push(link);
            self.tally.links += 1;
        }
    }

    /// A retried link failed again (possibly for another reason).
    pub fn link_failed(&mut self, key: &str, failed: FailedLink) {
        if let Some(w) = self.wired.get_mut(key) {
            match w.failed.iter_mut().find(|f| f.id == failed.id) {
                Some(f) => *f = failed,
                None => {
                    w.failed.push(failed);
                    self.tally.failed += 1;
                }
            }
            self.missing_changed = true;
        }
    }

    pub fn tunnel_failed(&mut self, name: String, reason: String) {
        self.failed_tunnels.insert(name, reason);
        self.missing_changed = true;
    }

    pub fn await_netns(&mut self, name: &str) {
        self.missing_changed |= self.awaited_netns.insert(name.to_owned());
    }

    pub fn netns_appeared(&mut self, name: &str) {
        self.missing_changed |= self.awaited_netns.remove(name);
    }

    /// Every configured link or tunnel known not to exist, with why.
    pub fn missing(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .wired
            .values()
            .flat_map(|w| w.failed.iter().map(|f| (f.id.clone(), f.reason.clone())))
            .collect();
        out.extend(
            self.failed_tunnels
                .iter()
                .map(|(n, r)| (format!("tunnel {n}"), r.clone())),
        );
        out.extend(self.awaited_netns.iter().map(|n| {
            (
                format!("netns {n}"),
                "does not exist (waiting for it)".into(),
            )
        }));
        out.sort();
        out
    }

    /// `Some(report)` when the missing links changed since the last report.
    pub fn missing_report_if_changed(&mut self) -> Option<String> {
        if !std::mem::take(&mut self.missing_changed) {
            return None;
        }
        let report = self
            .missing()
            .iter()
            .map(|(id, why)| format!("{id} ({why})"))
            .collect::<Vec<_>>()
            .join("; ");
        if report == self.last_missing {
            return None;
        }
        self.last_missing = report.clone();
        Some(report)
    }

    pub fn remove(&mut self, key: &str) -> Option<Wired> {
        let gone = self.wired.remove(key)?;
        self.tally.sub(&gone);
        self.missing_changed |= !gone.failed.is_empty();
        Some(gone)
    }

    pub fn add_tunnel(&mut self, name: String) {
        self.tunnels.insert(name);
    }

    pub fn all(&self) -> impl Iterator<Item = &Wired> {
        self.wired.values()
    }

    /// Replicas of each service currently wired.
    pub fn replicas(&self, service: &str) -> u32 {
        self.tally.replicas.get(service).copied().unwrap_or(0)
    }

    /// Whether a wired link holds `outer` as its veth outer end.
    pub fn holds_outer(&self, outer: &IfName) -> bool {
        self.tally.outers.contains_key(outer)
    }

    /// Links and tunnels that exist now.
    pub fn connected(&self) -> usize {
        self.tally.links + self.tunnels.len()
    }

    /// True exactly once: the first time `connected() >= expected` with
    /// nothing known to be missing.
    pub fn reach_milestone(&mut self, expected: usize) -> bool {
        let missing = self.tally.failed + self.failed_tunnels.len() + self.awaited_netns.len();
        if self.all_connected || self.connected() < expected || missing > 0 {
            return false;
        }
        self.all_connected = true;
        true
    }

    /// Start-to-configured times of everything wired, sorted.
    pub fn timings(&self) -> Vec<Duration> {
        let mut t: Vec<Duration> = self.wired.values().map(|w| w.took).collect();
        t.sort();
        t
    }
}

/// p-th percentile of sorted durations (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(dev: &str) -> LinkKey {
        LinkKey {
            target: super::super::overrides::StableTarget::Container("x".into()),
            dev: dev.into(),
        }
    }

    fn link(i: usize) -> WiredLink {
        let dev: IfName = format!("eth{i}").parse().unwrap();
        WiredLink {
            id: format!("x:{dev}"),
            dev: dev.clone(),
            outer: None,
            spec: crate::net::spec::LinkSpec {
                kind: crate::net::spec::LinkKind::Dummy,
                dev,
                outer_dev: None,
                bridge: None,
                ip: vec![],
                mac: None,
                mtu: None,
                routes: Vec::new(),
                netem: None,
                offloads: Vec::new(),
                nat: None,
                forwards: Vec::new(),
            },
            netem_text: None,
            key: key(&format!("eth{i}")),
            down: false,
            since: SystemTime::UNIX_EPOCH,
        }
    }

    fn wired(n: usize, replica: Option<(&str, u32)>) -> Wired {
        Wired {
            label: "x".into(),
            ns: NsTarget::Current,
            generation: 1,
            failed: Vec::new(),
            ns_identity: None,
            replica: replica.map(|(s, i)| (s.to_owned(), i)),
            links: (0..n).map(link).collect(),
            took: Duration::from_millis(n as u64),
        }
    }

    #[test]
    fn milestone_fires_once_when_enough_links_exist() {
        let mut s = State::default();
        s.insert("a".into(), wired(2, Some(("node", 1))));
        assert!(!s.reach_milestone(3));
        s.add_tunnel("vxlan-5".into());
        assert!(s.reach_milestone(3));
        assert!(!s.reach_milestone(3), "only once per run");
        s.remove("a");
        s.insert("b".into(), wired(2, Some(("node", 2))));
        assert!(!s.reach_milestone(3));
    }

    #[test]
    fn milestone_waits_for_failed_links_and_reports_changes_once() {
        let mut s = State::default();
        let mut w = wired(1, None);
        w.failed.push(FailedLink {
            id: "x:eth9".into(),
            reason: "File exists".into(),
            retrying: true,
            key: key("eth9"),
            since: SystemTime::UNIX_EPOCH,
        });
        s.insert("a".into(), w);
        // Enough links by count, but one is known to be missing.
        assert!(!s.reach_milestone(1));
        assert_eq!(
            s.missing_report_if_changed().as_deref(),
            Some("x:eth9 (File exists)")
        );
        assert_eq!(s.missing_report_if_changed(), None, "unchanged: not again");
        s.link_made("a", link(9));
        assert!(s.missing().is_empty());
        assert!(s.reach_milestone(2));
        assert_eq!(s.missing_report_if_changed().as_deref(), Some(""));
    }

    #[test]
    fn awaited_namespaces_and_failed_tunnels_count_as_missing() {
        let mut s = State::default();
        s.await_netns("n1");
        s.tunnel_failed("vxlan-5".into(), "kernel lacks vxlan".into());
        assert!(!s.reach_milestone(0));
        assert_eq!(s.missing().len(), 2);
        s.netns_appeared("n1");
        assert_eq!(s.missing().len(), 1);
    }

    #[test]
    fn replicas_count_wired_service_containers() {
        let mut s = State::default();
        s.insert("a".into(), wired(1, Some(("node", 1))));
        s.insert("b".into(), wired(1, Some(("node", 2))));
        s.insert("c".into(), wired(1, None));
        assert_eq!(s.replicas("node"), 2);
        assert_eq!(s.connected(), 3);
        s.remove("a");
        assert_eq!(s.replicas("node"), 1);
        assert_eq!(s.connected(), 2);
        // Re-wired under the same key: counted once.
        s.insert("b".into(), wired(2, Some(("node", 2))));
        assert_eq!(s.replicas("node"), 1);
        assert_eq!(s.connected(), 3);
    }

    #[test]
    fn outer_names_are_held_while_a_wired_link_has_them() {
        let with_outer = |i: usize, outer: &str| WiredLink {
            outer: Some(outer.parse().unwrap()),
            ..link(i)
        };
        let mut s = State::default();
        let mut old = wired(0, None);
        old.links.push(with_outer(0, "node_1-eth0"));
        s.insert("old".into(), old);
        let mut new = wired(0, None);
        new.links.push(with_outer(0, "node_1-eth0"));
        s.insert("new".into(), new);
        let name: IfName = "node_1-eth0".parse().unwrap();
        s.remove("old");
        assert!(s.holds_outer(&name), "the re-created target holds it");
        s.remove("new");
        assert!(!s.holds_outer(&name));
        s.insert("r".into(), wired(0, None));
        s.link_made("r", with_outer(1, "node_1-eth1"));
        assert!(s.holds_outer(&"node_1-eth1".parse().unwrap()));
    }

    #[test]
    fn percentile_nearest_rank() {
        let d: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        assert_eq!(percentile(&d, 50.0), Duration::from_millis(5));
        assert_eq!(percentile(&d, 90.0), Duration::from_millis(9));
        assert_eq!(percentile(&d, 100.0), Duration::from_millis(10));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }
}
