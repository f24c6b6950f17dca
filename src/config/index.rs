//! A [`Network`] with its links and commands indexed by target, for the
//! sidecar, which looks them up on every container start and counts the
//! expected links on every change: with 1,000 targets a scan of every link
//! per lookup adds up to a million comparisons at start-up alone. The
//! index is built once; the network is read-only behind it, so the index
//! can never go stale.

use std::collections::HashMap;
use std::ops::Deref;

use super::model::{Command, Link, Network, Target};

/// Positions in `links` and `commands` of one target's entries, in config
/// order.
#[derive(Debug, Default)]
struct Entries {
    links: Vec<usize>,
    commands: Vec<usize>,
}

#[derive(Debug)]
pub struct IndexedNetwork {
    net: Network,
    by_target: HashMap<Target, Entries>,
    /// Every distinct target, in first-use order.
    targets: Vec<Target>,
    /// Links of each service (counted once per replica).
    service_links: HashMap<String, usize>,
    /// Links of containers and namespaces, plus tunnels: counted once.
    fixed: usize,
}

impl IndexedNetwork {
    pub fn new(net: Network) -> IndexedNetwork {
        let mut by_target: HashMap<Target, Entries> = HashMap::new();
        let mut targets = Vec::new();
        fn entry<'m>(
            t: &Target,
            by_target: &'m mut HashMap<Target, Entries>,
            order: &mut Vec<Target>,
        ) -> &'m mut Entries {
            by_target.entry(t.clone()).or_insert_with(|| {
                order.push(t.clone());
                Entries::default()
            })
        }
        for (i, l) in net.links.iter().enumerate() {
            entry(&l.target, &mut by_target, &mut targets).links.push(i);
        }
        for (i, c) in net.commands.iter().enumerate() {
            entry(&c.target, &mut by_target, &mut targets)
                .commands
                .push(i);
        }
        let mut service_links = HashMap::new();
        let mut fixed = net.tunnels.len();
        for l in &net.links {
            match &l.target {
                Target::Service(s) => *service_links.entry(s.clone()).or_insert(0) += 1,
                _ => fixed += 1,
            }
        }
        IndexedNetwork {
            net,
            by_target,
            targets,
            service_links,
            fixed,
        }
    }

    fn entries(&self, t: &Target) -> Option<&Entries> {
        self.by_target.get(t)
    }

    /// Links whose target is exactly this one, in config order.
    pub fn links_for<'a>(&'a self, t: &Target) -> impl Iterator<Item = &'a Link> + 'a {
        let idx = self.entries(t).map(|e| e.links.as_slice()).unwrap_or(&[]);
        idx.iter().map(|&i| &self.net.links[i])
    }

    pub fn commands_for<'a>(&'a self, t: &Target) -> impl Iterator<Item = &'a Command> + 'a {
        let idx = self
            .entries(t)
            .map(|e| e.commands.as_slice())
            .unwrap_or(&[]);
        idx.iter().map(|&i| &self.net.commands[i])
    }

    /// The targets a compose container answers to: its service, then its
    /// own name.
    fn container_targets(service: Option<&str>, name: &str) -> Vec<Target> {
        let mut out: Vec<Target> = service
            .map(|s| Target::Service(s.to_owned()))
            .into_iter()
            .collect();
        out.push(Target::Container(name.to_owned()));
        out
    }

    /// Positions of a container's entries in config order, whichever of
    /// its targets they name.
    fn container_positions(
        &self,
        service: Option<&str>,
        name: &str,
        pick: fn(&Entries) -> &[usize],
    ) -> Vec<usize> {
        let mut out: Vec<usize> = Self::container_targets(service, name)
            .iter()
            .filter_map(|t| self.entries(t))
            .flat_map(|e| pick(e).iter().copied())
            .collect();
        out.sort_unstable();
        out
    }

    /// Links of a compose container (its service's and its own name's),
    /// in config order.
    pub fn links_for_container<'a>(
        &'a self,
        service: Option<&str>,
        name: &str,
    ) -> impl Iterator<Item = &'a Link> + 'a {
        self.container_positions(service, name, |e| &e.links)
            .into_iter()
            .map(|i| &self.net.links[i])
    }

    pub fn commands_for_container<'a>(
        &'a self,
        service: Option<&str>,
        name: &str,
    ) -> impl Iterator<Item = &'a Command> + 'a {
        self.container_positions(service, name, |e| &e.commands)
            .into_iter()
            .map(|i| &self.net.commands[i])
    }

    /// Every distinct target with links or commands, in first-use order.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.targets.iter()
    }

    /// Names of the named namespaces the config targets.
    pub fn netns_names(&self) -> impl Iterator<Item = &str> {
        self.targets.iter().filter_map(|t| match t {
            Target::Netns(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// As [`Network::expected_link_count`], in time proportional to the
    /// number of services.
    pub fn expected_link_count(&self, replicas: impl Fn(&str) -> u32) -> usize {
        self.fixed
            + self
                .service_links
                .iter()
                .map(|(s, n)| n * replicas(s) as usize)
                .sum::<usize>()
    }
}

impl Deref for IndexedNetwork {
    type Target = Network;
    fn deref(&self) -> &Network {
        &self.net
    }
}
