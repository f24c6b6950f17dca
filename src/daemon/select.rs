//! Which links a control request means. Ids are the log's: `node_1:eth0`
//! (one link), `node:eth0` (that dev on every replica of service `node`),
//! `node_1` or `node` (every link of a target or service). An id that
//! matches nothing is an error that lists ids that look alike.

use crate::control::api::ControlError;

/// What selection needs to know of one link.
pub trait Selectable {
    /// `target:dev`.
    fn id(&self) -> &str;
    /// Container or namespace name (or the service, for a missing replica).
    fn target(&self) -> &str;
    fn service(&self) -> Option<&str>;
    fn dev(&self) -> &str;
}

/// The links `ids` select, in catalogue order, each once.
pub fn select<'a, T: Selectable>(all: &'a [T], ids: &[String]) -> Result<Vec<&'a T>, ControlError> {
    let mut picked = vec![false; all.len()];
    for id in ids {
        let id = id.trim();
        let hits: Vec<usize> = all
            .iter()
            .enumerate()
            .filter(|(_, l)| matches(*l, id))
            .map(|(i, _)| i)
            .collect();
        if hits.is_empty() {
            return Err(ControlError::NotFound {
                id: id.to_owned(),
                near: near(all, id),
            });
        }
        for i in hits {
            picked[i] = true;
        }
    }
    Ok(all
        .iter()
        .zip(picked)
        .filter_map(|(l, p)| p.then_some(l))
        .collect())
}

fn matches<T: Selectable>(l: &T, id: &str) -> bool {
    let named = |t: &str| t == l.target() || Some(t) == l.service();
    match id.rsplit_once(':') {
        Some((t, dev)) => dev == l.dev() && named(t),
        None => named(id),
    }
}

/// Up to five ids, targets or services close to `id` (edit distance, or
/// one containing the other).
fn near<T: Selectable>(all: &[T], id: &str) -> Vec<String> {
    let mut names: Vec<&str> = Vec::new();
    for l in all {
        for n in [Some(l.id()), Some(l.target()), l.service()]
            .into_iter()
            .flatten()
        {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    let limit = (id.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = names
        .into_iter()
        .filter_map(|n| {
            let d = distance(n, id);
            let contains = n.contains(id) || id.contains(n);
            (d <= limit || contains).then_some((d, n))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(5)
        .map(|(_, n)| n.to_owned())
        .collect()
}

/// Levenshtein distance over characters, bounded in cost by the (short) ids.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct L(
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static str,
    );

    impl Selectable for L {
        fn id(&self) -> &str {
            self.0
        }
        fn target(&self) -> &str {
            self.1
        }
        fn service(&self) -> Option<&str> {
            self.2
        }
        fn dev(&self) -> &str {
            self.3
        }
    }

    fn all() -> Vec<L> {
        vec![
            L("node_1:eth0", "node_1", Some("node"), "eth0"),
            L("node_1:eth1", "node_1", Some("node"), "eth1"),
            L("node_2:eth0", "node_2", Some("node"), "eth0"),
            L("router:eth0", "router", None, "eth0"),
            L("lab3:eth0", "lab3", None, "eth0"),
        ]
    }

    fn ids(v: &[&L]) -> Vec<&'static str> {
        v.iter().map(|l| l.0).collect()
    }

    #[test]
    fn ids_select_links_replicas_and_targets() {
        let all = all();
        let sel = |q: &[&str]| {
            let q: Vec<String> = q.iter().map(|s| s.to_string()).collect();
            select(&all, &q).map(|v| ids(&v))
        };
        assert_eq!(sel(&["node_1:eth0"]).unwrap(), ["node_1:eth0"]);
        assert_eq!(sel(&["node:eth0"]).unwrap(), ["node_1:eth0", "node_2:eth0"]);
        assert_eq!(sel(&["node_1"]).unwrap(), ["node_1:eth0", "node_1:eth1"]);
        assert_eq!(sel(&["node"]).unwrap().len(), 3);
        // Each link once, in catalogue order.
        assert_eq!(
            sel(&["lab3", "node_2:eth0", "node:eth0"]).unwrap(),
            ["node_1:eth0", "node_2:eth0", "lab3:eth0"]
        );
    }

    #[test]
    fn an_unknown_id_lists_near_matches() {
        let all = all();
        let err = select(&all, &["node_3:eth0".to_string()]).unwrap_err();
        match err {
            ControlError::NotFound { id, near } => {
                assert_eq!(id, "node_3:eth0");
                assert!(near.contains(&"node_1:eth0".to_string()), "{near:?}");
                assert!(near.contains(&"node_2:eth0".to_string()), "{near:?}");
                assert!(!near.iter().any(|n| n.starts_with("lab3")), "{near:?}");
            }
            e => panic!("{e:?}"),
        }
        let err = select(&all, &["zzzzzzzz".to_string()]).unwrap_err();
        assert!(matches!(err, ControlError::NotFound { near, .. } if near.is_empty()));
    }

    #[test]
    fn distance_is_levenshtein() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("node_1", "node_1"), 0);
    }
}
