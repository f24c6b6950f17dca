//! The file schema before validation: the four sections (`links`, `bridges`,
//! `tunnels`, `commands`) as items of untyped fields, each field remembering
//! where it was written. Keeping values untyped until after merging lets
//! validation report every problem (a serde struct stops at the first) and
//! name the file and path of the value that actually won the merge.

use serde_json::{Map, Value};

use super::errors::{Diag, Origin};
use super::load::LoadedFile;

/// One value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub value: Value,
    pub at: Origin,
}

/// A field as merged: a single value, or the items of a string-or-list key
/// (`route`, `netem`, `forward`, `ethtool`; a single string is one item).
/// `list` remembers whether the value was written as a list, because
/// merging follows 2.x's rules on the values as written (see
/// [`super::merge`]): two strings → the later wins, two lists → they
/// concatenate.
#[derive(Debug, Clone, PartialEq)]
pub enum RawField {
    One(Field),
    Many { items: Vec<Field>, list: bool },
}

/// One link, bridge, tunnel or command definition (possibly merged from
/// several), with its fields in the order first written.
#[derive(Debug, Clone, PartialEq)]
pub struct RawItem {
    /// Every place this item was defined; the first is used for errors that
    /// concern the item as a whole.
    pub origins: Vec<Origin>,
    pub fields: Vec<(String, RawField)>,
}

impl RawItem {
    pub fn at(&self) -> &Origin {
        &self.origins[0]
    }
    pub fn get(&self, key: &str) -> Option<&RawField> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, f)| f)
    }
    /// A single-valued field.
    pub fn one(&self, key: &str) -> Option<&Field> {
        match self.get(key)? {
            RawField::One(f) => Some(f),
            RawField::Many { .. } => None,
        }
    }
    /// A list field (empty when absent).
    pub fn many(&self, key: &str) -> &[Field] {
        match self.get(key) {
            Some(RawField::Many { items, .. }) => items,
            _ => &[],
        }
    }
    /// A string field's text, if it is a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.one(key).and_then(|f| f.value.as_str())
    }
}

/// The four sections of one config block, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawConfig {
    pub links: Vec<RawItem>,
    pub bridges: Vec<RawItem>,
    pub tunnels: Vec<RawItem>,
    pub commands: Vec<RawItem>,
}

/// Link and tunnel keys whose values are lists (a string is a list of one).
pub const LIST_KEYS: [&str; 4] = ["route", "netem", "forward", "ethtool"];

const SECTIONS: [&str; 4] = ["links", "bridges", "tunnels", "commands"];
const TARGET_KEYS: [&str; 3] = ["service", "container", "netns"];

/// What kind of file a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Network config under top-level `x-network` and `services.*.x-network`.
    Compose,
    /// Network config at the top level.
    Network,
}

/// One block of network config and where it sits.
pub struct Block {
    pub at: Origin,
    pub value: Value,
    /// Service whose `x-network` this is: its links and commands default
    /// their target to it.
    pub service: Option<String>,
}

/// The network config blocks of a file, in merge order (compose: top-level
/// block, then each service's).
pub fn blocks(file: &LoadedFile, kind: FileKind, diag: &mut Diag) -> Vec<Block> {
    let root = Origin::new(file.name.clone(), "");
    let Some(top) = file.value.as_object() else {
        diag.bad(
            &root,
            "the file must hold a map at the top level",
            &type_only(&file.value),
        );
        return vec![];
    };
    match kind {
        FileKind::Network => vec![Block {
            at: root,
            value: file.value.clone(),
            service: None,
        }],
        FileKind::Compose => {
            let mut out = vec![];
            if let Some(v) = top.get("x-network") {
                out.push(Block {
                    at: root.key("x-network"),
                    value: v.clone(),
                    service: None,
                });
            }
            match top.get("services") {
                None | Some(Value::Null) => {}
                Some(Value::Object(services)) => {
                    for (name, svc) in services {
                        if let Some(v) = svc.get("x-network") {
                            out.push(Block {
                                at: root.key("services").key(name).key("x-network"),
                                value: v.clone(),
                                service: Some(name.clone()),
                            });
                        }
                    }
                }
                Some(other) => diag.bad(&root.key("services"), "must be a map", &type_only(other)),
            }
            out
        }
    }
}

/// The replica counts a compose file states (`services.NAME.scale`, else
/// `services.NAME.deploy.replicas`), as whole numbers or strings that
/// interpolate to one. Anything else is left to compose to complain about:
/// the count only widens what `--check` can see.
pub fn compose_scales(file: &LoadedFile, env: &dyn super::interpolate::Env) -> Vec<(String, u32)> {
    let Some(Value::Object(services)) = file.value.get("services") else {
        return vec![];
    };
    let count = |v: &Value| -> Option<u32> {
        match v {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => super::interpolate::interpolate(s, env)
                .ok()?
                .trim()
                .parse()
                .ok(),
            _ => None,
        }
    };
    services
        .iter()
        .filter_map(|(name, svc)| {
            let n = svc
                .get("scale")
                .and_then(count)
                .or_else(|| svc.get("deploy")?.get("replicas").and_then(count))?;
            Some((name.clone(), n))
        })
        .collect()
}

/// Split one block into its sections' items. Unknown top-level keys are
/// errors (2.x rejected them too).
pub fn extract(block: &Block, diag: &mut Diag) -> RawConfig {
    let mut out = RawConfig::default();
    let map = match &block.value {
        Value::Null => return out,
        Value::Object(m) => m,
        other => {
            diag.bad(
                &block.at,
                "network config must be a map with links/bridges/tunnels/commands",
                &type_only(other),
            );
            return out;
        }
    };
    for (key, v) in map {
        let at = block.at.key(key);
        let section = match key.as_str() {
            "links" => &mut out.links,
            "bridges" => &mut out.bridges,
            "tunnels" => &mut out.tunnels,
            "commands" => &mut out.commands,
            _ => {
                diag.err(
                    &at,
                    format!("unknown key (expected one of {})", SECTIONS.join(", ")),
                );
                continue;
            }
        };
        let items = match v {
            Value::Null => continue,
            Value::Array(items) => items,
            other => {
                diag.bad(&at, "must be a list", &type_only(other));
                continue;
            }
        };
        let defaults_service = matches!(key.as_str(), "links" | "commands");
        for (i, item) in items.iter().enumerate() {
            let at = at.index(i);
            let Value::Object(fields) = item else {
                diag.bad(&at, "must be a map", item);
                continue;
            };
            let mut raw = item_from_map(fields, &at);
            if defaults_service {
                if let Some(svc) = &block.service {
                    if !TARGET_KEYS.iter().any(|k| fields.contains_key(*k)) {
                        raw.fields.insert(
                            0,
                            (
                                "service".into(),
                                RawField::One(Field {
                                    value: Value::String(svc.clone()),
                                    at: block.at.clone(),
                                }),
                            ),
                        );
                    }
                }
            }
            section.push(raw);
        }
    }
    out
}

fn item_from_map(fields: &Map<String, Value>, at: &Origin) -> RawItem {
    // A null value (`ip:` with nothing after it, or a failed interpolation)
    // counts as absent.
    let fields = fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let fat = at.key(k);
            let f = if LIST_KEYS.contains(&k.as_str()) {
                match v {
                    Value::Array(vs) => RawField::Many {
                        items: vs
                            .iter()
                            .enumerate()
                            .map(|(i, v)| Field {
                                value: v.clone(),
                                at: fat.index(i),
                            })
                            .collect(),
                        list: true,
                    },
                    v => RawField::Many {
                        items: vec![Field {
                            value: v.clone(),
                            at: fat,
                        }],
                        list: false,
                    },
                }
            } else {
                RawField::One(Field {
                    value: v.clone(),
                    at: fat,
                })
            };
            (k.clone(), f)
        })
        .collect();
    RawItem {
        origins: vec![at.clone()],
        fields,
    }
}

/// A value's type, for errors about big values whose content would only
/// clutter the message.
fn type_only(v: &Value) -> Value {
    Value::String(
        match v {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "a map",
        }
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(v: Value) -> LoadedFile {
        LoadedFile {
            name: "f.yaml".into(),
            value: v,
        }
    }

    #[test]
    fn compose_blocks_in_order_with_service_default() {
        let f = file(json!({
            "services": {"a": {"x-network": {"links": [{"bridge": "s1"}, {"container": "c", "bridge": "s2"}]}},
                          "b": {"image": "x"}},
            "x-network": {"bridges": [{"bridge": "s1"}]}
        }));
        let mut d = Diag::default();
        let bs = blocks(&f, FileKind::Compose, &mut d);
        assert_eq!(bs.len(), 2);
        assert_eq!(bs[0].at.path, "x-network");
        assert_eq!(bs[1].at.path, "services.a.x-network");
        let raw = extract(&bs[1], &mut d);
        assert!(d.is_empty());
        assert_eq!(raw.links[0].str("service"), Some("a"));
        assert_eq!(raw.links[1].str("service"), None, "explicit target wins");
        assert_eq!(
            raw.links[1].one("bridge").unwrap().at.path,
            "services.a.x-network.links[1].bridge"
        );
    }

    #[test]
    fn compose_scales_from_scale_or_deploy_replicas() {
        let f = file(json!({"services": {
            "a": {"scale": 3},
            "b": {"deploy": {"replicas": "${N}"}},
            "c": {"scale": "lots"},
            "d": {"image": "x"},
            "e": {"scale": 2, "deploy": {"replicas": 5}}
        }}));
        let env: std::collections::HashMap<String, String> =
            [("N".to_string(), "4".to_string())].into();
        assert_eq!(
            compose_scales(&f, &env),
            [
                ("a".to_string(), 3),
                ("b".to_string(), 4),
                ("e".to_string(), 2)
            ]
        );
        assert!(compose_scales(&file(json!({"services": 1})), &env).is_empty());
    }

    #[test]
    fn list_keys_normalise_and_errors_name_paths() {
        let f = file(
            json!({"links": [{"route": "default via 1.2.3.4", "netem": ["delay 1ms", "loss 1%"]}, 5],
                            "extra": 1, "tunnels": {}}),
        );
        let mut d = Diag::default();
        let bs = blocks(&f, FileKind::Network, &mut d);
        let raw = extract(&bs[0], &mut d);
        assert_eq!(raw.links.len(), 1);
        assert_eq!(raw.links[0].many("route")[0].at.path, "links[0].route");
        assert_eq!(raw.links[0].many("netem")[1].at.path, "links[0].netem[1]");
        let paths: Vec<_> = d.errors.iter().map(|e| e.at.path.as_str()).collect();
        assert_eq!(paths, ["links[1]", "extra", "tunnels"]);
    }
}
