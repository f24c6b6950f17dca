//! Running a target's `commands` once its links are up: in containers through
//! the engine's exec API, in named namespaces as a child process that joins
//! the namespace. Output lines are logged prefixed with the target's name.
//!
//! These are the user's own commands (2.x semantics: a string runs with
//! `sh -c`, a list as is); conlink's network work never goes through them.

use std::os::fd::AsRawFd;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::config::model::CommandLine;
use crate::engine::{self, OutputLine};

/// Where a target's commands run.
#[derive(Clone)]
pub enum Runner {
    Container { engine: engine::Engine, id: String },
    Netns { name: String },
}

impl Runner {
    /// Start the command in the background; its output and exit status are
    /// logged, and its result (`exited N`, `failed: …`) handed to `done`.
    pub fn spawn(
        &self,
        label: &str,
        command: &CommandLine,
        done: impl FnOnce(String) + Send + 'static,
    ) {
        let label = label.to_owned();
        let command = command.clone();
        let runner = self.clone();
        tokio::spawn(async move {
            tracing::info!("Exec command in {label}: {:?}", command.argv());
            let result = match &runner {
                Runner::Container { engine, id } => {
                    let prefix = label.clone();
                    engine
                        .exec(id, &command.argv(), move |line: OutputLine| {
                            tracing::info!("  {prefix}: {}", line.text)
                        })
                        .await
                        .map_err(|e| e.to_string())
                }
                Runner::Netns { name } => run_in_netns(name, &label, &command).await,
            };
            match &result {
                Ok(0) => tracing::debug!("command in {label} exited 0"),
                Ok(code) => {
                    tracing::warn!("command in {label} exited {code}: {:?}", command.argv())
                }
                Err(e) => tracing::error!("command in {label} failed: {e}"),
            }
            done(match result {
                Ok(code) => format!("exited {code}"),
                Err(e) => format!("failed: {e}"),
            });
        });
    }
}

async fn run_in_netns(name: &str, label: &str, command: &CommandLine) -> Result<i64, String> {
    let path = format!("/run/netns/{name}");
    let ns = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
    let argv = command.argv();
    let Some((program, args)) = argv.split_first() else {
        return Err("empty command".into());
    };
    let fd = ns.as_raw_fd();
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setns(2) is async-signal-safe; the child only joins the
    // namespace between fork and exec and touches no other state.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(fd, libc::CLONE_NEWNET) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut child = cmd.spawn().map_err(|e| format!("{program}: {e}"))?;
    drop(ns);
    let out = child.stdout.take().map(|s| log_lines(label.to_owned(), s));
    let err = child.stderr.take().map(|s| log_lines(label.to_owned(), s));
    let status = child.wait().await.map_err(|e| e.to_string())?;
    for task in [out, err].into_iter().flatten() {
        let _ = task.await;
    }
    Ok(status.code().map_or(-1, i64::from))
}

fn log_lines(
    label: String,
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::info!("  {label}: {line}");
        }
    })
}
