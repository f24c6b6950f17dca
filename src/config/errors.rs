//! Config errors: each names the file, the path inside it and the bad value,
//! and the pipeline collects all of them instead of stopping at the first.

use std::fmt;
use std::sync::Arc;

/// Where a value came from: the file as given on the command line and the
/// path inside it (`services.node.x-network.links[1].ip`, `links[3].ip`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<str>,
    pub path: String,
}

impl Origin {
    pub fn new(file: Arc<str>, path: impl Into<String>) -> Self {
        Self {
            file,
            path: path.into(),
        }
    }
    /// A child key (`links[1]` + `ip` → `links[1].ip`).
    pub fn key(&self, key: &str) -> Origin {
        let path = if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        };
        Origin::new(self.file.clone(), path)
    }
    /// A list element (`links` + 1 → `links[1]`).
    pub fn index(&self, i: usize) -> Origin {
        Origin::new(self.file.clone(), format!("{}[{i}]", self.path))
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.file)
        } else {
            write!(f, "{}: {}", self.file, self.path)
        }
    }
}

/// One problem in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub at: Origin,
    pub message: String,
    /// The offending value as JSON text, when there is one.
    pub value: Option<String>,
}

impl ConfigError {
    pub fn new(at: &Origin, message: impl Into<String>) -> Self {
        Self {
            at: at.clone(),
            message: message.into(),
            value: None,
        }
    }
    pub fn with_value(mut self, v: &serde_json::Value) -> Self {
        self.value = Some(v.to_string());
        self
    }
    pub fn with_text(mut self, v: &str) -> Self {
        self.value = Some(serde_json::Value::from(v).to_string());
        self
    }
}

/// Longest value echoed back in an error, in characters: a 10 MB string
/// helps nobody on a terminal. Paths and messages (which may quote the
/// config) get more room.
pub const MAX_ECHO: usize = 200;
const MAX_PATH: usize = 400;
const MAX_MESSAGE: usize = 2000;

/// `s` cut to `max` characters, with how long it really was.
pub fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => s.into(),
        Some((cut, _)) => format!("{}… ({} bytes)", &s[..cut], s.len()).into(),
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&clip(&self.at.file, MAX_PATH))?;
        if !self.at.path.is_empty() {
            write!(f, ": {}", clip(&self.at.path, MAX_PATH))?;
        }
        write!(f, ": {}", clip(&self.message, MAX_MESSAGE))?;
        if let Some(v) = &self.value {
            write!(f, " (got {})", clip(v, MAX_ECHO))?;
        }
        Ok(())
    }
}

/// All problems found in one load, in the order they were found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// The error sink each stage writes to.
#[derive(Debug, Default)]
pub struct Diag {
    pub errors: Vec<ConfigError>,
}

impl Diag {
    pub fn push(&mut self, e: ConfigError) {
        self.errors.push(e);
    }
    pub fn err(&mut self, at: &Origin, msg: impl Into<String>) {
        self.push(ConfigError::new(at, msg));
    }
    pub fn bad(&mut self, at: &Origin, msg: impl Into<String>, v: &serde_json::Value) {
        self.push(ConfigError::new(at, msg).with_value(v));
    }
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_clipped_with_their_size() {
        let at = Origin::new("c.yaml".into(), "links[0].ip");
        let e = ConfigError::new(&at, "bad ip").with_text(&"é".repeat(10_000_000));
        let shown = e.to_string();
        // 200 characters of the JSON text (the opening quote and 199 é).
        let want = format!(
            "c.yaml: links[0].ip: bad ip (got \"{}… (20000002 bytes))",
            "é".repeat(199)
        );
        assert_eq!(shown, want);
        assert_eq!(clip("short", 200), "short");
        assert_eq!(clip(&"a".repeat(200), 200).len(), 200, "exactly max stays");
        assert_eq!(
            clip(&"a".repeat(201), 200),
            format!("{}… (201 bytes)", "a".repeat(200))
        );
        let long_path = Origin::new("c.yaml".into(), "p".repeat(5000));
        let e = ConfigError::new(&long_path, "m".repeat(5000));
        assert!(e.to_string().len() < 3000, "{}", e.to_string().len());
    }

    #[test]
    fn paths_compose_and_errors_display_file_path_value() {
        let o = Origin::new("c.yaml".into(), "services.node.x-network");
        let at = o.key("links").index(1).key("ip");
        assert_eq!(at.path, "services.node.x-network.links[1].ip");
        let e = ConfigError::new(&at, "bad ip").with_text("10.0.0.300/24");
        assert_eq!(
            e.to_string(),
            "c.yaml: services.node.x-network.links[1].ip: bad ip (got \"10.0.0.300/24\")"
        );
        let root = Origin::new("n.json".into(), "");
        assert_eq!(
            ConfigError::new(&root, "bad").with_text("x").to_string(),
            "n.json: bad (got \"x\")"
        );
        assert_eq!(root.key("links").index(3).path, "links[3]");
    }
}
