//! `--resolve` output: `nodes` (one line), `paths` (`node=dir` lines, as
//! resolve-deps printed them for 2.x mdc) or `json` (one line).

use serde_json::{Value, json};

use super::deps::Dep;
use super::modes::Catalog;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// mode names, space-separated, on one line
    Nodes,
    /// one `mode=dir` line per mode (`mode=` when it has no directory)
    Paths,
    /// a JSON list of {node, path, dep-str, deps}, on one line
    Json,
}

fn dep_json(dep: &Dep) -> Value {
    match dep {
        Dep::Mode(n) => json!(n),
        Dep::AnyOf(ns) => json!({ "or": ns }),
        Dep::After(n) => json!({ "after": n }),
    }
}

/// The text to print for `order` (ends with a newline).
pub fn render(format: Format, order: &[String], catalog: &Catalog) -> String {
    let dir = |n: &str| catalog.dir(n).map(|d| d.to_string_lossy().into_owned());
    match format {
        Format::Nodes => format!("{}\n", order.join(" ")),
        Format::Paths => order
            .iter()
            .map(|n| format!("{n}={}\n", dir(n).unwrap_or_default()))
            .collect(),
        Format::Json => {
            let nodes: Vec<Value> = order
                .iter()
                .map(|n| {
                    let mode = catalog.get(n);
                    json!({
                        "node": n,
                        "path": dir(n),
                        "dep-str": mode.and_then(|m| m.dep_str.clone()),
                        "deps": catalog.deps(n).iter().map(dep_json).collect::<Vec<_>>(),
                    })
                })
                .collect();
            format!("{}\n", Value::Array(nodes))
        }
    }
}
