//! Which Docker Compose to run: the v2 plugin (`docker compose`) when the
//! engine's CLI has it, else the standalone v1 `docker-compose`.
//! `DOCKER_COMPOSE` (as in conlink 2.x mdc) overrides the detection.

use std::process::{Command, Stdio};

/// The compose command as program + leading arguments, e.g.
/// `["docker", "compose"]` or `["docker-compose"]`.
pub fn command() -> Vec<String> {
    if let Ok(custom) = std::env::var("DOCKER_COMPOSE") {
        let words: Vec<String> = custom.split_whitespace().map(str::to_owned).collect();
        if !words.is_empty() {
            return words;
        }
    }
    let v2 = Command::new("docker")
        .args(["compose", "version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if v2 {
        vec!["docker".into(), "compose".into()]
    } else {
        vec!["docker-compose".into()]
    }
}
