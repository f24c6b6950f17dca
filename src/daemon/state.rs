//! What this run has wired, in one place: the links per container or
//! namespace, the replicas seen per service, and the "All links connected"
//! milestone. Kept apart from the event handling so a future control socket
//! can read it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use crate::net::NsTarget;
use crate::net::addr::IfName;

/// One link this run created.
#[derive(Debug, Clone)]
pub struct WiredLink {
    /// `container:dev`, as in logs.
    pub id: String,
    pub dev: IfName,
    /// veth outer end in conlink's namespace (deleting it removes the pair).
    pub outer: Option<IfName>,
}

/// A container or named namespace and what was made in it.
#[derive(Debug, Clone)]
pub struct Wired {
    pub label: String,
    pub ns: NsTarget,
    /// `Some((service, replica number))` for compose service containers.
    pub replica: Option<(String, u32)>,
    pub links: Vec<WiredLink>,
    /// Start event → links configured.
    pub took: Duration,
}

#[derive(Debug, Default)]
pub struct State {
    /// Keyed by container id, or `netns:NAME`.
    wired: HashMap<String, Wired>,
    tunnels: BTreeSet<String>,
    all_connected: bool,
}

impl State {
    /// The namespace a wired target's links live in.
    pub fn ns_of(&self, key: &str) -> Option<NsTarget> {
        self.wired.get(key).map(|w| w.ns.clone())
    }

    pub fn insert(&mut self, key: String, wired: Wired) {
        self.wired.insert(key, wired);
    }

    pub fn remove(&mut self, key: &str) -> Option<Wired> {
        self.wired.remove(key)
    }

    pub fn add_tunnel(&mut self, name: String) {
        self.tunnels.insert(name);
    }

    pub fn all(&self) -> impl Iterator<Item = &Wired> {
        self.wired.values()
    }

    /// Replicas of each service currently wired.
    pub fn replicas(&self) -> BTreeMap<&str, u32> {
        let mut out = BTreeMap::new();
        for w in self.wired.values() {
            if let Some((svc, _)) = &w.replica {
                *out.entry(svc.as_str()).or_insert(0) += 1;
            }
        }
        out
    }

    /// Links and tunnels that exist now.
    pub fn connected(&self) -> usize {
        self.wired.values().map(|w| w.links.len()).sum::<usize>() + self.tunnels.len()
    }

    /// True exactly once: the first time `connected() >= expected`.
    pub fn reach_milestone(&mut self, expected: usize) -> bool {
        if self.all_connected || self.connected() < expected {
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

    fn wired(n: usize, replica: Option<(&str, u32)>) -> Wired {
        Wired {
            label: "x".into(),
            ns: NsTarget::Current,
            replica: replica.map(|(s, i)| (s.to_owned(), i)),
            links: (0..n)
                .map(|i| WiredLink {
                    id: format!("x:eth{i}"),
                    dev: format!("eth{i}").parse().unwrap(),
                    outer: None,
                })
                .collect(),
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
    fn replicas_count_wired_service_containers() {
        let mut s = State::default();
        s.insert("a".into(), wired(1, Some(("node", 1))));
        s.insert("b".into(), wired(1, Some(("node", 2))));
        s.insert("c".into(), wired(1, None));
        assert_eq!(s.replicas().get("node"), Some(&2));
        assert_eq!(s.connected(), 3);
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
