//! Finding modes: every subdirectory of a modes dir is a mode (its `deps`
//! file, if any, lists its deps); a modes "dir" may also be a JSON file
//! mapping mode names to deps, as resolve-deps accepted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::MdcError;
use super::deps::{self, Dep};

/// Where a mode was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A directory under a modes dir.
    Dir(PathBuf),
    /// A key of a JSON dependency file (the mode has no directory).
    Json(PathBuf),
}

impl Origin {
    pub fn path(&self) -> &Path {
        match self {
            Origin::Dir(p) | Origin::Json(p) => p,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Mode {
    pub origin: Origin,
    pub deps: Vec<Dep>,
    /// The `deps` file's text as read (empty for a directory without one,
    /// `None` for a mode from a JSON file).
    pub dep_str: Option<String>,
}

impl Mode {
    /// The mode's directory, when it has one.
    pub fn dir(&self) -> Option<&Path> {
        match &self.origin {
            Origin::Dir(p) => Some(p),
            Origin::Json(_) => None,
        }
    }
}

/// Every mode found in the modes dirs, by name.
#[derive(Debug, Default)]
pub struct Catalog {
    modes: HashMap<String, Mode>,
}

/// Split a MODES_DIR value: entries separated by `:` or `,`.
pub fn split_list(list: &str) -> Vec<PathBuf> {
    list.split([':', ','])
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect()
}

impl Catalog {
    /// Read every entry: directories are scanned (in name order), files are
    /// read as JSON. The same mode name twice is an error naming both.
    pub fn load(entries: &[PathBuf]) -> Result<Catalog, MdcError> {
        let mut catalog = Catalog::default();
        for entry in entries {
            let meta = match std::fs::metadata(entry) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(MdcError::NoModesDir {
                        path: entry.clone(),
                    });
                }
                Err(e) => return Err(MdcError::read(entry)(e)),
            };
            if meta.is_dir() {
                catalog.scan_dir(entry)?;
            } else {
                catalog.read_json(entry)?;
            }
        }
        Ok(catalog)
    }

    pub fn get(&self, name: &str) -> Option<&Mode> {
        self.modes.get(name)
    }

    /// A mode's deps; unknown modes have none (they are valid leaves).
    pub fn deps(&self, name: &str) -> &[Dep] {
        self.modes.get(name).map_or(&[], |m| &m.deps)
    }

    pub fn dir(&self, name: &str) -> Option<&Path> {
        self.modes.get(name).and_then(Mode::dir)
    }

    fn add(&mut self, name: String, mode: Mode) -> Result<(), MdcError> {
        if let Some(first) = self.modes.get(&name) {
            return Err(MdcError::DuplicateMode {
                name,
                first: first.origin.path().to_owned(),
                second: mode.origin.path().to_owned(),
            });
        }
        self.modes.insert(name, mode);
        Ok(())
    }

    fn scan_dir(&mut self, dir: &Path) -> Result<(), MdcError> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(MdcError::read(dir))? {
            let entry = entry.map_err(MdcError::read(dir))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue; // not UTF-8: no dep string can name it
            };
            // Hidden entries (.git, editor files) and names no dep string can
            // spell are not modes.
            if name.starts_with('.') || deps::invalid_name_reason(&name).is_some() {
                continue;
            }
            // Follow symlinks: a linked mode directory is still a mode.
            if entry.path().is_dir() {
                names.push(name);
            }
        }
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let deps_path = path.join("deps");
            let (deps, dep_str) = match std::fs::read_to_string(&deps_path) {
                Ok(text) => {
                    let deps = deps::parse(&text).map_err(|source| MdcError::Deps {
                        path: deps_path.clone(),
                        source,
                    })?;
                    (deps, Some(text))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    (Vec::new(), Some(String::new()))
                }
                Err(e) => return Err(MdcError::read(deps_path)(e)),
            };
            self.add(
                name,
                Mode {
                    origin: Origin::Dir(path),
                    deps,
                    dep_str,
                },
            )?;
        }
        Ok(())
    }

    fn read_json(&mut self, path: &Path) -> Result<(), MdcError> {
        let text = std::fs::read_to_string(path).map_err(MdcError::read(path))?;
        let bad = |reason: String| MdcError::JsonDeps {
            path: path.to_owned(),
            reason,
        };
        let value: Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a JSON dep file: {e}")))?;
        let Value::Object(map) = value else {
            return Err(bad("expected an object of mode name → deps".into()));
        };
        for (name, deps) in map {
            if let Some(reason) = deps::invalid_name_reason(&name) {
                return Err(bad(format!("key `{name}`: {reason}")));
            }
            let deps =
                json_deps(&deps).map_err(|reason| bad(format!("mode `{name}`: {reason}")))?;
            self.add(
                name,
                Mode {
                    origin: Origin::Json(path.to_owned()),
                    deps,
                    dep_str: None,
                },
            )?;
        }
        Ok(())
    }
}

/// One mode's deps in resolve-deps' JSON form: `null` or a list of names,
/// lists of alternatives (or `{"or": [...]}`) and `{"after": name}`.
fn json_deps(value: &Value) -> Result<Vec<Dep>, String> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => return Err(format!("deps must be a list or null, not {other}")),
    };
    let name = |v: &Value| -> Result<String, String> {
        let Value::String(s) = v else {
            return Err(format!("expected a mode name, got {v}"));
        };
        match deps::invalid_name_reason(s) {
            Some(reason) => Err(format!("`{s}`: {reason}")),
            None => Ok(s.clone()),
        }
    };
    let any_of = |v: &Value| -> Result<Dep, String> {
        match v {
            Value::Array(alts) if !alts.is_empty() => Ok(Dep::any_of(
                alts.iter().map(name).collect::<Result<_, _>>()?,
            )),
            other => Err(format!(
                "alternatives must be a non-empty list, got {other}"
            )),
        }
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(_) => name(item).map(Dep::Mode),
            Value::Array(_) => any_of(item),
            Value::Object(obj) if obj.len() == 1 => match obj.iter().next() {
                Some((k, v)) if k == "or" => any_of(v),
                Some((k, v)) if k == "after" => name(v).map(Dep::After),
                _ => Err(format!("unknown dep {item} (expected `or` or `after`)")),
            },
            other => Err(format!("unknown dep {other}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn list_splits_on_colons_and_commas() {
        assert_eq!(
            split_list("./modes:other,x.json::"),
            vec![
                PathBuf::from("./modes"),
                PathBuf::from("other"),
                PathBuf::from("x.json")
            ]
        );
    }

    #[test]
    fn dirs_and_json_files_load_and_duplicates_name_both() {
        let tmp = tempfile::tempdir().unwrap();
        let modes = tmp.path().join("modes");
        fs::create_dir_all(modes.join("a")).unwrap();
        fs::create_dir_all(modes.join("b")).unwrap();
        fs::create_dir_all(modes.join(".hidden")).unwrap();
        fs::write(modes.join("b/deps"), "a # comment\n").unwrap();
        fs::write(modes.join("notes.txt"), "not a mode").unwrap();
        let json = tmp.path().join("more.json");
        fs::write(
            &json,
            r#"{"c": ["a", ["b", "x"], {"after": "e"}, {"or": ["y", "z"]}], "d": null}"#,
        )
        .unwrap();

        let cat = Catalog::load(&[modes.clone(), json.clone()]).unwrap();
        assert_eq!(cat.deps("b"), &[Dep::Mode("a".into())]);
        assert_eq!(
            cat.get("b").unwrap().dep_str.as_deref(),
            Some("a # comment\n")
        );
        assert_eq!(cat.get("a").unwrap().dep_str.as_deref(), Some(""));
        assert_eq!(cat.get("c").unwrap().dep_str, None);
        assert_eq!(cat.dir("a"), Some(modes.join("a").as_path()));
        assert!(cat.get(".hidden").is_none() && cat.get("notes.txt").is_none());
        assert_eq!(
            cat.deps("c"),
            &[
                Dep::Mode("a".into()),
                Dep::AnyOf(vec!["b".into(), "x".into()]),
                Dep::After("e".into()),
                Dep::AnyOf(vec!["y".into(), "z".into()]),
            ]
        );
        assert_eq!(cat.dir("c"), None);
        assert_eq!(cat.deps("unknown"), &[] as &[Dep]);

        let other = tmp.path().join("other");
        fs::create_dir_all(other.join("b")).unwrap();
        let err = Catalog::load(&[modes.clone(), other.clone()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "mode `b` is defined twice: {} and {}",
                modes.join("b").display(),
                other.join("b").display()
            )
        );
    }

    #[test]
    fn bad_inputs_name_their_file() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let err = Catalog::load(std::slice::from_ref(&missing)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: modes dir not found", missing.display())
        );

        let modes = tmp.path().join("modes");
        fs::create_dir_all(modes.join("a")).unwrap();
        fs::write(modes.join("a/deps"), "x y|").unwrap();
        let err = Catalog::load(std::slice::from_ref(&modes)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("{}: line 1:", modes.join("a/deps").display())),
            "{err}"
        );

        for bad in [
            "[1]",
            r#"{"a": "b"}"#,
            r#"{"a": [{"before": "b"}]}"#,
            r#"{"a": [[]]}"#,
            r#"{"a/b": []}"#,
            r#"{"a": ["b|c"]}"#,
            "{",
        ] {
            let json = tmp.path().join("bad.json");
            fs::write(&json, bad).unwrap();
            let err = Catalog::load(std::slice::from_ref(&json)).unwrap_err();
            assert!(matches!(err, MdcError::JsonDeps { .. }), "{bad}: {err}");
            assert!(err.to_string().starts_with(&json.display().to_string()));
        }
    }
}
