//! The kernel objects this run created in conlink's namespace, and for
//! whom: veth outer ends (by the `container:dev` id of the link holding
//! each), bridges and tunnels. An object enters only after our exclusive
//! create of it succeeded, and leaves when it is deleted or forgotten.
//!
//! The ledger answers the question the kernel cannot: whether an interface
//! carrying this instance's mark is a live object of this run (never to be
//! deleted to make room for another) or a leftover of an earlier run or a
//! dead container (safe to remove). Objects that existed before conlink are
//! never entered, whatever the config does with them.

use std::collections::{HashMap, HashSet};

/// Who holds a name in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owned {
    /// A veth outer end, held by the link with this `container:dev` id.
    Link(String),
    Bridge,
    Tunnel,
}

impl Owned {
    /// How an error names the holder of `name`.
    pub fn describe(&self, name: &str) -> String {
        match self {
            Owned::Link(id) => format!("link {id}"),
            Owned::Bridge => format!("bridge {name} of this run"),
            Owned::Tunnel => format!("tunnel {name} of this run"),
        }
    }
}

#[derive(Debug, Default)]
pub struct Ledger {
    outers: HashMap<String, String>,
    bridges: HashSet<String>,
    tunnels: HashSet<String>,
}

impl Ledger {
    /// Who holds `name`, if this run created it.
    pub fn holder(&self, name: &str) -> Option<Owned> {
        if let Some(id) = self.outers.get(name) {
            Some(Owned::Link(id.clone()))
        } else if self.bridges.contains(name) {
            Some(Owned::Bridge)
        } else if self.tunnels.contains(name) {
            Some(Owned::Tunnel)
        } else {
            None
        }
    }

    pub fn add_outer(&mut self, name: &str, id: &str) {
        self.outers.insert(name.to_owned(), id.to_owned());
    }

    pub fn add_bridge(&mut self, name: &str) {
        self.bridges.insert(name.to_owned());
    }

    pub fn add_tunnel(&mut self, name: &str) {
        self.tunnels.insert(name.to_owned());
    }

    /// Drop a veth outer end (it went with its container); bridges and
    /// tunnels of that name, which cannot exist at the same time, stay.
    pub fn forget_outer(&mut self, name: &str) {
        self.outers.remove(name);
    }

    /// Drop `name` whatever it was (it was deleted).
    pub fn forget(&mut self, name: &str) {
        self.outers.remove(name);
        self.bridges.remove(name);
        self.tunnels.remove(name);
    }

    pub fn clear(&mut self) {
        *self = Ledger::default();
    }

    pub fn len(&self) -> usize {
        self.outers.len() + self.bridges.len() + self.tunnels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_enter_and_leave() {
        let mut l = Ledger::default();
        assert!(l.is_empty());
        l.add_outer("web_1-eth0", "web_1:eth0");
        l.add_bridge("s1");
        l.add_tunnel("vxlan-7");
        assert_eq!(
            l.holder("web_1-eth0"),
            Some(Owned::Link("web_1:eth0".into()))
        );
        assert_eq!(l.holder("s1"), Some(Owned::Bridge));
        assert_eq!(l.holder("vxlan-7"), Some(Owned::Tunnel));
        assert_eq!(l.holder("eth9"), None);
        assert_eq!(
            l.holder("web_1-eth0").unwrap().describe("web_1-eth0"),
            "link web_1:eth0"
        );
        assert_eq!(Owned::Bridge.describe("s1"), "bridge s1 of this run");

        // Forgetting a port never drops a bridge of the same name.
        l.forget_outer("s1");
        assert_eq!(l.holder("s1"), Some(Owned::Bridge));
        l.forget_outer("web_1-eth0");
        assert_eq!(l.holder("web_1-eth0"), None);
        l.forget("s1");
        assert_eq!(l.holder("s1"), None);
        assert_eq!(l.len(), 1);
        l.clear();
        assert!(l.is_empty());
    }
}
