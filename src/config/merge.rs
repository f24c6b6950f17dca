//! Merging the blocks of all files into one raw config, with 2.x's rules:
//! links keyed by (target, dev) and deep-merged; bridges keyed by name
//! (later fields win); tunnels and commands concatenated.
//!
//! The deep merge works on the values as written, like 2.x's
//! `(merge-with …)`: maps merge, two lists concatenate, and otherwise the
//! later value wins — so two plain strings for `netem` or `route` keep only
//! the later one, and a list after a string replaces it. Only then are the
//! string-or-list keys read as lists. (2.x concatenated a string after a
//! list character by character, which could only fail; here the string is
//! appended as one more item.)

use std::collections::HashMap;

use serde_json::Value;

use super::raw::{RawConfig, RawField, RawItem};

/// Which definitions are the same link: the target and the `dev` (default
/// eth0). Definitions whose target is unclear (none or several target keys,
/// non-string values) are never merged; validation reports them.
fn link_key(item: &RawItem) -> Option<(String, String, String)> {
    let targets: Vec<_> = ["service", "container", "netns"]
        .into_iter()
        .filter_map(|k| item.one(k).map(|f| (k, f)))
        .collect();
    let [(kind, f)] = targets.as_slice() else {
        return None;
    };
    let name = f.value.as_str()?;
    let dev = match item.one("dev") {
        None => "eth0",
        Some(d) => d.value.as_str()?,
    };
    Some(((*kind).to_owned(), name.to_owned(), dev.to_owned()))
}

fn bridge_key(item: &RawItem) -> Option<String> {
    item.str("bridge").map(str::to_owned)
}

/// Accumulates blocks in merge order.
#[derive(Debug, Default)]
pub struct Merger {
    out: RawConfig,
    link_index: HashMap<(String, String, String), usize>,
    bridge_index: HashMap<String, usize>,
}

impl Merger {
    pub fn add(&mut self, block: RawConfig) {
        for l in block.links {
            keyed_merge(&mut self.out.links, &mut self.link_index, link_key(&l), l);
        }
        for b in block.bridges {
            keyed_merge(
                &mut self.out.bridges,
                &mut self.bridge_index,
                bridge_key(&b),
                b,
            );
        }
        self.out.tunnels.extend(block.tunnels);
        self.out.commands.extend(block.commands);
    }

    pub fn finish(self) -> RawConfig {
        self.out
    }
}

fn keyed_merge<K: std::hash::Hash + Eq>(
    items: &mut Vec<RawItem>,
    index: &mut HashMap<K, usize>,
    key: Option<K>,
    item: RawItem,
) {
    match key {
        Some(k) => match index.get(&k) {
            Some(&i) => merge_item(&mut items[i], item),
            None => {
                index.insert(k, items.len());
                items.push(item);
            }
        },
        None => items.push(item),
    }
}

/// Merge a later definition into an earlier one.
pub fn merge_item(into: &mut RawItem, later: RawItem) {
    into.origins.extend(later.origins);
    for (k, f) in later.fields {
        match into.fields.iter_mut().find(|(ik, _)| *ik == k) {
            None => into.fields.push((k, f)),
            Some((_, existing)) => merge_field(existing, f),
        }
    }
}

fn merge_field(into: &mut RawField, later: RawField) {
    match (into, later) {
        // An earlier list absorbs what follows (a string as one item).
        (
            RawField::Many {
                items: a,
                list: true,
            },
            RawField::Many { items: b, .. },
        ) => a.extend(b),
        (RawField::One(a), RawField::One(b)) => {
            if let (Value::Object(am), Value::Object(bm)) = (&mut a.value, &b.value) {
                deep_merge_maps(am, bm);
                a.at = b.at;
            } else {
                *a = b;
            }
        }
        (into, later) => *into = later,
    }
}

fn deep_merge_maps(a: &mut serde_json::Map<String, Value>, b: &serde_json::Map<String, Value>) {
    for (k, bv) in b {
        match (a.get_mut(k), bv) {
            (Some(Value::Object(am)), Value::Object(bm)) => deep_merge_maps(am, bm),
            (Some(Value::Array(aa)), Value::Array(ba)) => aa.extend(ba.iter().cloned()),
            _ => {
                a.insert(k.clone(), bv.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::errors::{Diag, Origin};
    use crate::config::load::LoadedFile;
    use crate::config::raw::{FileKind, blocks, extract};
    use serde_json::json;

    fn add(m: &mut Merger, name: &str, kind: FileKind, v: Value) {
        let f = LoadedFile {
            name: name.into(),
            value: v,
        };
        let mut d = Diag::default();
        for b in blocks(&f, kind, &mut d) {
            m.add(extract(&b, &mut d));
        }
        assert!(d.is_empty(), "{:?}", d.errors);
    }

    #[test]
    fn links_merge_by_target_and_dev_later_scalar_wins_lists_concat() {
        let mut m = Merger::default();
        add(
            &mut m,
            "a.yaml",
            FileKind::Compose,
            json!({
                "x-network": {"links": [{"service": "n", "bridge": "s1", "ip": "10.0.0.1/24", "route": "default via 10.0.0.254"}]},
                "services": {"n": {"x-network": {"links": [{"dev": "eth0", "ip": "10.0.0.2/24", "route": ["10.9.0.0/16 via 10.0.0.9"]},
                                                           {"dev": "eth1", "bridge": "s2"}]}}}
            }),
        );
        add(
            &mut m,
            "net.yaml",
            FileKind::Network,
            json!({
                "links": [{"service": "n", "mtu": 1500}, {"container": "n", "bridge": "s3"}],
                "bridges": [{"bridge": "s1", "mode": "linux"}], "tunnels": [{"type": "vxlan"}], "commands": [{"service": "n", "command": "x"}]
            }),
        );
        add(
            &mut m,
            "net2.yaml",
            FileKind::Network,
            json!({
                "bridges": [{"bridge": "s1", "mode": "patch"}, {"bridge": "s2"}], "tunnels": [{"type": "geneve"}]
            }),
        );
        let c = m.finish();
        assert_eq!(c.links.len(), 3, "n:eth0 merged, n:eth1, container n:eth0");
        let l = &c.links[0];
        assert_eq!(l.str("ip"), Some("10.0.0.2/24"));
        assert_eq!(
            l.one("ip").unwrap().at,
            Origin::new("a.yaml".into(), "services.n.x-network.links[0].ip")
        );
        assert_eq!(l.one("mtu").unwrap().value, json!(1500));
        let routes: Vec<_> = l.many("route").iter().map(|f| f.at.path.as_str()).collect();
        assert_eq!(
            routes,
            ["services.n.x-network.links[0].route[0]"],
            "a list after a string replaces it"
        );
        assert_eq!(l.origins.len(), 3);
        assert_eq!(c.bridges.len(), 2);
        assert_eq!(c.bridges[0].str("mode"), Some("patch"));
        assert_eq!(c.tunnels.len(), 2);
        assert_eq!(c.commands.len(), 1);
    }

    /// The `netem` values of one link defined twice, in order.
    fn merged_netem(first: Value, second: Value) -> (Vec<Value>, Vec<String>) {
        let mut m = Merger::default();
        add(
            &mut m,
            "a.yaml",
            FileKind::Network,
            json!({"links": [{"service": "n", "netem": first}, {"service": "n", "netem": second}]}),
        );
        let c = m.finish();
        assert_eq!(c.links.len(), 1);
        let items = c.links[0].many("netem");
        (
            items.iter().map(|f| f.value.clone()).collect(),
            items.iter().map(|f| f.at.path.clone()).collect(),
        )
    }

    #[test]
    fn string_or_list_values_merge_as_written_like_2x() {
        // Two strings: the later wins (2.x's test7).
        assert_eq!(
            merged_netem(json!("delay 200ms"), json!("rate 10mbit delay 40ms")),
            (
                vec![json!("rate 10mbit delay 40ms")],
                vec!["links[1].netem".into()]
            )
        );
        // Two lists: concatenated.
        assert_eq!(
            merged_netem(json!(["delay 1ms"]), json!(["loss 1%"])).0,
            [json!("delay 1ms"), json!("loss 1%")]
        );
        // A list after a string replaces it.
        assert_eq!(
            merged_netem(json!("delay 1ms"), json!(["loss 1%", "rate 1mbit"])).0,
            [json!("loss 1%"), json!("rate 1mbit")]
        );
        // A string after a list is appended (2.x split it into characters).
        assert_eq!(
            merged_netem(json!(["delay 1ms"]), json!("loss 1%")),
            (
                vec![json!("delay 1ms"), json!("loss 1%")],
                vec!["links[0].netem[0]".into(), "links[1].netem".into()]
            )
        );
        // A list that absorbed a string stays a list for the next merge.
        let mut m = Merger::default();
        add(
            &mut m,
            "a.yaml",
            FileKind::Network,
            json!({"links": [{"service": "n", "route": ["a"]}, {"service": "n", "route": "b"},
                             {"service": "n", "route": "c"}]}),
        );
        let c = m.finish();
        let r: Vec<_> = c.links[0]
            .many("route")
            .iter()
            .map(|f| f.value.clone())
            .collect();
        assert_eq!(r, [json!("a"), json!("b"), json!("c")]);
    }

    #[test]
    fn unclear_targets_are_not_merged() {
        let mut m = Merger::default();
        add(
            &mut m,
            "n.yaml",
            FileKind::Network,
            json!({"links": [
            {"bridge": "s1"}, {"bridge": "s1"}, {"service": "a", "container": "b"}, {"service": "a", "container": "b"}]}),
        );
        assert_eq!(m.finish().links.len(), 4);
    }

    #[test]
    fn maps_deep_merge() {
        let mut a = json!({"x": {"y": 1, "l": [1]}});
        let b = json!({"x": {"z": 2, "l": [2]}});
        deep_merge_maps(a.as_object_mut().unwrap(), b.as_object().unwrap());
        assert_eq!(a, json!({"x": {"y": 1, "z": 2, "l": [1, 2]}}));
    }
}
