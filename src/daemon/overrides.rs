//! Runtime overrides asked for through the control socket — a link held
//! down, netem set on either direction — keyed by what stays the same when
//! a container restarts: (service, replica, dev), (container name, dev) or
//! (namespace, dev). They are applied to a link each time it is made, and
//! dropped by `link up` / `netem reset`, and with conlink itself (they are
//! not persisted across conlink restarts).

use std::collections::HashMap;

use crate::net::netem::Netem;

/// A target as it stays across restarts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StableTarget {
    Service { service: String, replica: u32 },
    Container(String),
    Netns(String),
}

/// One link across restarts of its target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkKey {
    pub target: StableTarget,
    pub dev: String,
}

/// netem asked for at run time, with its text as given (for status).
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeNetem {
    pub netem: Netem,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Override {
    /// Held administratively down.
    pub down: bool,
    /// Replaces the config's netem on traffic leaving the container.
    pub netem_out: Option<RuntimeNetem>,
    /// netem on traffic arriving at the container (outer end's egress).
    pub netem_in: Option<RuntimeNetem>,
}

impl Override {
    fn is_empty(&self) -> bool {
        !self.down && self.netem_out.is_none() && self.netem_in.is_none()
    }
}

#[derive(Debug, Default)]
pub struct Overrides(HashMap<LinkKey, Override>);

impl Overrides {
    pub fn get(&self, key: &LinkKey) -> Option<&Override> {
        self.0.get(key)
    }

    /// Change one link's override; an override left with nothing in it is
    /// forgotten.
    pub fn update(&mut self, key: &LinkKey, f: impl FnOnce(&mut Override)) {
        let entry = self.0.entry(key.clone()).or_default();
        f(entry);
        if entry.is_empty() {
            self.0.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_override_with_nothing_left_is_forgotten() {
        let key = LinkKey {
            target: StableTarget::Service {
                service: "node".into(),
                replica: 2,
            },
            dev: "eth0".into(),
        };
        let mut o = Overrides::default();
        o.update(&key, |x| x.down = true);
        assert!(o.get(&key).is_some_and(|x| x.down));
        o.update(&key, |x| x.down = false);
        assert_eq!(o.get(&key), None);
    }
}
