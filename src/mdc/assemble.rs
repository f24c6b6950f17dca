//! From resolved modes to what mdc writes: the `.env` text (mode env files,
//! `MDC_MODE_*`, COMPOSE_FILE, COMPOSE_DIR, COMPOSE_PROFILES, MDC_MODE_DIRS)
//! and the list of files trees to overlay. Reads inputs, writes nothing.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::MdcError;
use super::env_file;
use super::files::{self, Overlay};

/// The anchor file that starts COMPOSE_FILE: Compose resolves relative
/// paths against the first file's directory, so this keeps every mode's
/// relative paths pointing at the top-level directory.
pub const EMPTY_COMPOSE: &str = "./.compose-empty.yaml";

/// The anchor's content. docker-compose v1 insists that every file of a
/// project has the same format version and takes a file whose `services`,
/// `networks` and `volumes` are all empty for the old v1 format; so the
/// anchor declares the default network (which changes nothing: networks
/// are only created for services that use them) and repeats the `version`
/// of the first mode compose file that declares one. Compose v2 ignores
/// both.
fn anchor_text(version: Option<&str>) -> String {
    let mut text = String::new();
    if let Some(v) = version {
        let _ = writeln!(text, "version: '{v}'");
    }
    text.push_str("services: {}\nnetworks: {default: {}}\n");
    text
}

/// The top-level `version:` of a compose file, if it declares a plain one.
fn declared_version(path: &Path) -> Result<Option<String>, MdcError> {
    let text = std::fs::read_to_string(path).map_err(MdcError::read(path))?;
    Ok(text.lines().find_map(|line| {
        let value = line.strip_prefix("version:")?;
        let value = value.split('#').next()?.trim().trim_matches(['"', '\'']);
        let plain = !value.is_empty() && value.chars().all(|c| c.is_ascii_digit() || c == '.');
        plain.then(|| value.to_owned())
    }))
}

/// Compose file names a mode may use, in order of preference.
const COMPOSE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// Env file names a mode may use; both are included when both exist.
const ENV_NAMES: [&str; 2] = ["env", ".env"];

/// A resolved mode: its name and, when it has one, its directory.
#[derive(Debug, Clone)]
pub struct ResolvedMode {
    pub name: String,
    pub dir: Option<PathBuf>,
}

#[derive(Debug)]
pub struct Plan {
    pub env_text: String,
    /// What `./.compose-empty.yaml` must hold.
    pub anchor_text: String,
    pub overlays: Vec<Overlay>,
}

/// `MDC_MODE_<name>` with every character but ASCII letters and digits
/// turned into `_`.
pub fn mode_var(name: &str) -> String {
    let suffix: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("MDC_MODE_{suffix}")
}

fn utf8(path: &Path) -> Result<&str, MdcError> {
    path.to_str().ok_or_else(|| MdcError::Unwritable {
        path: path.to_owned(),
        reason: "path is not UTF-8, so it cannot go into the env file",
    })
}

fn quoted(path: &Path, value: &str, always: bool) -> Result<String, MdcError> {
    env_file::quote(value, always).ok_or_else(|| MdcError::Unwritable {
        path: path.to_owned(),
        reason: "holds a quote or newline, so it cannot go into the env file",
    })
}

/// Read every resolved mode's compose file, env files and files trees and
/// put the env file together. `command_line` is recorded in the first
/// line; `env_dir` is the env file's absolute directory (COMPOSE_DIR).
pub fn plan(modes: &[ResolvedMode], command_line: &str, env_dir: &Path) -> Result<Plan, MdcError> {
    let mut text = String::new();
    let _ = writeln!(text, "### mdc command line: {command_line}");
    // All MDC_MODE_* first, so any mode's env file can test any mode. Two
    // modes that map to one variable (`a-b`, `a.b`, `a_b`) would make it
    // impossible to tell them apart there: an error, not a silent merge.
    let mut vars: HashMap<String, &str> = HashMap::new();
    for mode in modes {
        let var = mode_var(&mode.name);
        if let Some(first) = vars.insert(var.clone(), &mode.name) {
            return Err(MdcError::ModeVarClash {
                first: first.to_owned(),
                second: mode.name.clone(),
                var,
            });
        }
        let _ = writeln!(text, "{var}=enabled");
    }

    let mut compose_files = vec![EMPTY_COMPOSE.to_owned()];
    let mut profiles = Vec::new();
    let mut dirs = Vec::new();
    let mut overlays = Vec::new();
    let mut version = None;
    for mode in modes {
        profiles.push(format!("MODE_{}", mode.name));
        let Some(dir) = &mode.dir else { continue };
        dirs.push(utf8(dir)?.to_owned());
        if let Some(file) = COMPOSE_NAMES
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
        {
            if version.is_none() {
                version = declared_version(&file)?;
            }
            compose_files.push(utf8(&file)?.to_owned());
        }
        for name in ENV_NAMES {
            let path = dir.join(name);
            if !path.is_file() {
                continue;
            }
            let content = std::fs::read(&path).map_err(MdcError::read(&path))?;
            let content = String::from_utf8(content).map_err(|_| MdcError::EnvFile {
                path: path.clone(),
                line: 1,
                reason: "not UTF-8".into(),
            })?;
            env_file::validate(&path, &content)?;
            let shown = path.display();
            let _ = writeln!(text, "### mdc begin mode {} ({shown})", mode.name);
            text.push_str(&content);
            if !content.is_empty() && !content.ends_with('\n') {
                text.push('\n');
            }
            let _ = writeln!(text, "### mdc end mode {} ({shown})", mode.name);
        }
        overlays.extend(files::overlays_of(dir)?);
    }

    let env_dir_str = utf8(env_dir)?;
    let _ = writeln!(
        text,
        "COMPOSE_FILE={}",
        quoted(env_dir, &compose_files.join(":"), false)?
    );
    let _ = writeln!(text, "COMPOSE_DIR={}", quoted(env_dir, env_dir_str, false)?);
    let _ = writeln!(
        text,
        "COMPOSE_PROFILES={}",
        quoted(env_dir, &profiles.join(","), false)?
    );
    let _ = writeln!(
        text,
        "MDC_MODE_DIRS={}",
        quoted(env_dir, &dirs.join(","), true)?
    );
    Ok(Plan {
        env_text: text,
        anchor_text: anchor_text(version.as_deref()),
        overlays,
    })
}

/// Arguments joined for display, single-quoted where a shell would need it.
pub fn shell_words<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| {
            let w = w.as_ref();
            let safe = |c: char| c.is_ascii_alphanumeric() || "_./:,@%+=-|".contains(c);
            if !w.is_empty() && w.chars().all(safe) {
                w.to_owned()
            } else {
                // Newlines would break the env file's comment line.
                let w = w.replace('\'', "'\\''").replace('\n', "\\n");
                format!("'{w}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn mode_vars_keep_letters_and_digits() {
        assert_eq!(mode_var("web-1.x"), "MDC_MODE_web_1_x");
        assert_eq!(mode_var("node2"), "MDC_MODE_node2");
    }

    #[test]
    fn modes_that_share_a_variable_are_an_error_naming_both() {
        let modes: Vec<ResolvedMode> = ["a;b", "x", "a=b"]
            .iter()
            .map(|n| ResolvedMode {
                name: (*n).into(),
                dir: None,
            })
            .collect();
        let err = plan(&modes, "mdc", Path::new("/proj")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "modes `a;b` and `a=b` would both set MDC_MODE_a_b; rename one of them"
        );
        assert_eq!(err.exit_code(), crate::EXIT_USAGE);
        // One of them alone is fine.
        assert!(plan(&modes[..2], "mdc", Path::new("/proj")).is_ok());
    }

    #[test]
    fn shell_words_quote_only_when_needed() {
        assert_eq!(
            shell_words(&["mdc", "a|b", "up", "-d", "a b", "it's", ""]),
            "mdc a|b up -d 'a b' 'it'\\''s' ''"
        );
    }

    #[test]
    fn plan_puts_the_env_file_together() {
        let tmp = tempfile::tempdir().unwrap();
        let m = tmp.path().join("modes");
        fs::create_dir_all(m.join("a/svc/files")).unwrap();
        fs::create_dir_all(m.join("b")).unwrap();
        fs::write(m.join("a/docker-compose.yml"), "services: {}\n").unwrap();
        fs::write(m.join("a/compose.yml"), "services: {}\n").unwrap();
        fs::write(m.join("a/env"), "A=1").unwrap();
        fs::write(m.join("a/.env"), "A2=2\n").unwrap();
        fs::write(m.join("b/compose.yaml"), "services: {}\n").unwrap();
        let modes = [
            ResolvedMode {
                name: "a".into(),
                dir: Some(m.join("a")),
            },
            ResolvedMode {
                name: "x-y".into(),
                dir: None,
            },
            ResolvedMode {
                name: "b".into(),
                dir: Some(m.join("b")),
            },
        ];
        let p = plan(&modes, "mdc a,x-y,b", Path::new("/proj")).unwrap();
        let d = m.display();
        assert_eq!(
            p.env_text,
            format!(
                "### mdc command line: mdc a,x-y,b
MDC_MODE_a=enabled
MDC_MODE_x_y=enabled
MDC_MODE_b=enabled
### mdc begin mode a ({d}/a/env)
A=1
### mdc end mode a ({d}/a/env)
### mdc begin mode a ({d}/a/.env)
A2=2
### mdc end mode a ({d}/a/.env)
COMPOSE_FILE=./.compose-empty.yaml:{d}/a/compose.yml:{d}/b/compose.yaml
COMPOSE_DIR=/proj
COMPOSE_PROFILES=MODE_a,MODE_x-y,MODE_b
MDC_MODE_DIRS=\"{d}/a,{d}/b\"
"
            )
        );
        assert_eq!(p.anchor_text, "services: {}\nnetworks: {default: {}}\n");
        assert_eq!(
            p.overlays,
            vec![Overlay {
                svc: "svc".into(),
                src: m.join("a/svc/files")
            }]
        );

        // A 2.x-style project: the anchor repeats the first declared version.
        fs::write(m.join("b/compose.yaml"), "# x\nversion: \"2.4\" # old\n").unwrap();
        let p = plan(&modes, "mdc", Path::new("/proj")).unwrap();
        assert_eq!(
            p.anchor_text,
            "version: '2.4'\nservices: {}\nnetworks: {default: {}}\n"
        );

        fs::write(m.join("b/env"), "A=\"open\n").unwrap();
        let err = plan(&modes, "mdc", Path::new("/proj")).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "{}:1: not a valid env file",
                m.join("b/env").display()
            )),
            "{err}"
        );
    }
}
