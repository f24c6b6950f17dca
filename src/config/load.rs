//! Reading one config file into a generic value tree. YAML (compose files,
//! `.yaml`/`.yml` network files) goes through serde-saphyr, which resolves
//! anchors, aliases and merge keys (`<<: *a`, `<<: [*a, *b]`); `.json` files
//! through serde_json. Compose's `!reset`/`!override` tags are accepted: they
//! only matter for compose's own multi-file merging, which conlink does not
//! redo, so the tagged value is taken as written.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::errors::{ConfigError, Origin};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    /// conlink 2.x also read `.edn` network files. No maintained, small
    /// Rust EDN reader fits (edn-rs is deprecated; edn-format pulls in
    /// bigdecimal, chrono, uuid 0.8 and more for a format almost nobody
    /// used here), so such a file is an error that says how to convert it.
    Edn,
}

/// How to turn a 2.x `.edn` network file into JSON, in one line.
pub const EDN_CONVERSION: &str = "bb -e '(-> (slurp \"net.edn\") clojure.edn/read-string \
     (cheshire.core/generate-string {:pretty true}) println)' > net.json";

impl Format {
    /// `.json` is JSON, `.edn` EDN; everything else (compose files are
    /// often named without the usual extensions) is YAML, a superset of
    /// JSON anyway.
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
            Some(e) if e.eq_ignore_ascii_case("edn") => Format::Edn,
            _ => Format::Yaml,
        }
    }
}

/// A loaded file: its display name (as given) and its content.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    pub name: Arc<str>,
    pub value: Value,
}

/// Read and parse one file. An empty YAML document counts as an empty map.
pub fn load_file(path: &Path) -> Result<LoadedFile, ConfigError> {
    let name: Arc<str> = path.display().to_string().into();
    let at = Origin::new(name.clone(), "");
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&at, format!("cannot read file: {e}")))?;
    let value = parse_text(&text, Format::of(path)).map_err(|m| ConfigError::new(&at, m))?;
    Ok(LoadedFile { name, value })
}

/// Parse config text; the error is a message for the caller to place.
pub fn parse_text(text: &str, format: Format) -> Result<Value, String> {
    let value = match format {
        Format::Edn => {
            return Err(format!(
                "EDN network files are not supported (conlink 2.x read them): \
                 convert it to JSON or YAML, e.g. with babashka: {EDN_CONVERSION}"
            ));
        }
        Format::Json => {
            serde_json::from_str::<Value>(text).map_err(|e| format!("invalid JSON: {e}"))?
        }
        Format::Yaml => {
            if text.trim().is_empty() {
                return Ok(Value::Object(Default::default()));
            }
            // YAML 1.2 booleans, as compose reads them: `y`, `no`, `on`
            // stay strings (a service named `y` is a name, not `true`).
            let options = serde_saphyr::options! { strict_booleans: true };
            serde_saphyr::from_str_with_options::<Value>(text, options)
                .map_err(|e| format!("invalid YAML: {e}"))?
        }
    };
    Ok(match value {
        Value::Null => Value::Object(Default::default()),
        v => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_merge_keys_single_and_list() {
        let v = parse_text(
            "x-a: &a {mtu: 1500, ip: 10.0.0.1/24}\nx-b: &b {dev: eth1}\nl1:\n  <<: *a\n  bridge: s1\nl2:\n  <<: [*a, *b]\n  mtu: 9000\n",
            Format::Yaml,
        )
        .unwrap();
        assert_eq!(
            v["l1"],
            json!({"mtu": 1500, "ip": "10.0.0.1/24", "bridge": "s1"})
        );
        assert_eq!(v["l2"]["mtu"], json!(9000));
        assert_eq!(v["l2"]["dev"], json!("eth1"));
        assert_eq!(v["l2"]["ip"], json!("10.0.0.1/24"));
    }

    #[test]
    fn compose_reset_and_override_tags_are_tolerated() {
        let v = parse_text(
            "services:\n  a:\n    ports: !reset []\n    environment: !override\n      X: '!reset'\n    x: !reset\n",
            Format::Yaml,
        )
        .unwrap();
        assert_eq!(v["services"]["a"]["ports"], json!([]));
        assert_eq!(v["services"]["a"]["environment"]["X"], json!("!reset"));
        assert_eq!(v["services"]["a"]["x"], json!(null));
    }

    #[test]
    fn yaml_1_1_booleans_stay_strings() {
        let v = parse_text("a: y\nb: on\nc: true\nd: no\n", Format::Yaml).unwrap();
        assert_eq!(v, json!({"a": "y", "b": "on", "c": true, "d": "no"}));
    }

    #[test]
    fn json_and_empty_files() {
        assert_eq!(
            parse_text("{\"links\": []}", Format::Json).unwrap(),
            json!({"links": []})
        );
        assert_eq!(parse_text("", Format::Yaml).unwrap(), json!({}));
        assert!(
            parse_text("{", Format::Json)
                .unwrap_err()
                .starts_with("invalid JSON")
        );
        assert!(
            parse_text("a: [", Format::Yaml)
                .unwrap_err()
                .starts_with("invalid YAML")
        );
        assert_eq!(Format::of(Path::new("x.JSON")), Format::Json);
        assert_eq!(Format::of(Path::new("net.edn")), Format::Edn);
        let e = parse_text("{:links []}", Format::Edn).unwrap_err();
        assert!(e.starts_with("EDN network files are not supported"), "{e}");
        assert!(e.contains("clojure.edn/read-string"), "{e}");
        assert_eq!(Format::of(Path::new("compose")), Format::Yaml);
    }
}
