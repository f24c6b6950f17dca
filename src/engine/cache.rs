//! What `start` learned about each container, kept for `die`: by then the
//! engine may already have removed the container and inspect answers 404.

use std::collections::HashMap;

use super::container::{ContainerId, ContainerInfo};

/// Known containers of one engine (ids are per engine: keep one cache per
/// [`super::Engine`]).
#[derive(Debug, Default, Clone)]
pub struct ContainerCache {
    by_id: HashMap<ContainerId, ContainerInfo>,
}

impl ContainerCache {
    /// Remember `info` (from a start); returns what was known before, e.g.
    /// the previous run of a restarted container (different pid).
    pub fn remember(&mut self, info: ContainerInfo) -> Option<ContainerInfo> {
        self.by_id.insert(info.id.clone(), info)
    }

    pub fn get(&self, id: &ContainerId) -> Option<&ContainerInfo> {
        self.by_id.get(id)
    }

    /// Forget a container (on die/destroy), returning what was known.
    pub fn forget(&mut self, id: &ContainerId) -> Option<ContainerInfo> {
        self.by_id.remove(id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &ContainerInfo> {
        self.by_id.values()
    }

    /// After a reconnect: forget every cached container that is not in
    /// `running` (or runs with another pid, i.e. restarted unseen) and
    /// return them — they died while we were not listening. Containers in
    /// `running` that are not cached (or were just forgotten) are the
    /// caller's to start; see [`ContainerCache::unknown`].
    pub fn forget_missing(&mut self, running: &[ContainerInfo]) -> Vec<ContainerInfo> {
        let current: HashMap<&ContainerId, Option<u32>> =
            running.iter().map(|c| (&c.id, c.pid())).collect();
        let gone: Vec<ContainerId> = self
            .by_id
            .values()
            .filter(|c| current.get(&c.id) != Some(&c.pid()))
            .map(|c| c.id.clone())
            .collect();
        gone.iter().filter_map(|id| self.by_id.remove(id)).collect()
    }

    /// The containers in `running` this cache does not know.
    pub fn unknown<'a>(&self, running: &'a [ContainerInfo]) -> Vec<&'a ContainerInfo> {
        running
            .iter()
            .filter(|c| !self.by_id.contains_key(&c.id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::container::RunState;

    fn info(id: &str, pid: u32) -> ContainerInfo {
        ContainerInfo {
            id: ContainerId::new(id),
            name: format!("n-{id}"),
            state: RunState::Running { pid },
            labels: Default::default(),
            compose: None,
        }
    }

    #[test]
    fn remembers_until_forgotten() {
        let mut cache = ContainerCache::default();
        assert!(cache.remember(info("a", 10)).is_none());
        assert_eq!(cache.remember(info("a", 11)).unwrap().pid(), Some(10));
        assert_eq!(cache.get(&ContainerId::new("a")).unwrap().pid(), Some(11));
        assert_eq!(cache.forget(&ContainerId::new("a")).unwrap().name, "n-a");
        assert!(cache.is_empty());
    }

    #[test]
    fn reconcile_after_reconnect_forgets_the_dead_and_finds_the_new() {
        let mut cache = ContainerCache::default();
        cache.remember(info("stays", 1));
        cache.remember(info("died", 2));
        cache.remember(info("restarted", 3));
        let running = [info("stays", 1), info("restarted", 30), info("new", 4)];

        let mut gone: Vec<String> = cache
            .forget_missing(&running)
            .into_iter()
            .map(|c| c.id.to_string())
            .collect();
        gone.sort();
        assert_eq!(gone, ["died", "restarted"]);

        let mut todo: Vec<&str> = cache
            .unknown(&running)
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        todo.sort();
        assert_eq!(todo, ["new", "restarted"]);
        assert_eq!(cache.len(), 1);
    }
}
