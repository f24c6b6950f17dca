//! Starting and stopping ovsdb-server and ovs-vswitchd when an ovs bridge
//! is configured and nothing answers on the database socket (what conlink
//! 2.x did with `ovs-ctl start`). These are long-running daemons, not
//! network tools: conlink still configures OVS itself, over JSON-RPC.
//! Programs are run with explicit argv, never through a shell.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use super::OvsPaths;
use crate::net::errors::{NetError, Result};

/// How long a daemon may take to open its socket.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a daemon may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// The daemons this run started, in start order.
pub struct Daemons {
    children: Vec<(&'static str, Child)>,
}

impl Daemons {
    /// Create the database if needed, then start ovsdb-server and
    /// ovs-vswitchd and wait until each has opened its socket.
    pub async fn start(paths: &OvsPaths) -> Result<Daemons> {
        let server = find_program(paths, "ovsdb-server")?;
        let vswitchd = find_program(paths, "ovs-vswitchd")?;
        for dir in [&paths.rundir, &paths.dbdir, &paths.logdir] {
            std::fs::create_dir_all(dir)
                .map_err(|e| NetError::Ovs(format!("creating {}: {e}", dir.display())))?;
        }
        let db = paths.dbdir.join("conf.db");
        if !db.exists() {
            create_db(paths, &db).await?;
        }

        // Dropped (and killed) on any early return below.
        let mut daemons = Daemons {
            children: Vec::new(),
        };
        let socket = paths.socket();
        let mut args = vec![
            db.into_os_string(),
            format!("--remote=punix:{}", socket.display()).into(),
        ];
        args.extend(daemon_args(paths, "ovsdb-server"));
        daemons.spawn("ovsdb-server", &server, &args, paths)?;
        daemons.wait_for("ovsdb-server", &socket, paths).await?;

        // ovs-vswitchd needs the root row before it can apply anything.
        super::client::Client::connect(&socket)
            .await
            .map_err(|e| NetError::Ovs(format!("connect to {}: {e}", socket.display())))?
            .init()
            .await?;

        let mut args = vec![format!("unix:{}", socket.display()).into()];
        args.extend(daemon_args(paths, "ovs-vswitchd"));
        daemons.spawn("ovs-vswitchd", &vswitchd, &args, paths)?;
        daemons
            .wait_for(
                "ovs-vswitchd",
                &paths.rundir.join("ovs-vswitchd.ctl"),
                paths,
            )
            .await?;
        Ok(daemons)
    }

    fn spawn(
        &mut self,
        name: &'static str,
        program: &Path,
        args: &[std::ffi::OsString],
        paths: &OvsPaths,
    ) -> Result<()> {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| NetError::Ovs(format!("starting {}: {e}", program.display())))?;
        tracing::info!(
            "Started {name} (pid {}, log {})",
            child.id().unwrap_or_default(),
            log_file(paths, name).display()
        );
        self.children.push((name, child));
        Ok(())
    }

    /// Wait until `socket` accepts connections (ovsdb-server's database
    /// socket) or exists (ovs-vswitchd's control socket), or the daemon dies.
    async fn wait_for(&mut self, name: &str, socket: &Path, paths: &OvsPaths) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let ready = if name == "ovsdb-server" {
                tokio::net::UnixStream::connect(socket).await.is_ok()
            } else {
                socket.exists()
            };
            if ready {
                return Ok(());
            }
            if let Some((_, child)) = self.children.iter_mut().find(|(n, _)| *n == name) {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(NetError::Ovs(format!(
                        "{name} exited ({status}) before it was ready; see {}",
                        log_file(paths, name).display()
                    )));
                }
            }
            if Instant::now() >= deadline {
                return Err(NetError::Ovs(format!(
                    "{name} did not open {} within {READY_TIMEOUT:?}; see {}",
                    socket.display(),
                    log_file(paths, name).display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM in reverse start order, then wait; kill what lingers.
    pub async fn stop(mut self) {
        while let Some((name, mut child)) = self.children.pop() {
            if let Some(pid) = child.id() {
                let pid = nix::unistd::Pid::from_raw(pid as i32);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            }
            match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
                Ok(_) => tracing::info!("Stopped {name}"),
                Err(_) => {
                    tracing::warn!("{name} ignored SIGTERM for {STOP_TIMEOUT:?}: killing it");
                    let _ = child.kill().await;
                }
            }
        }
    }

    /// Process ids of the running daemons, by name (for tests and logs).
    pub fn pids(&self) -> Vec<(&'static str, u32)> {
        self.children
            .iter()
            .filter_map(|(n, c)| Some((*n, c.id()?)))
            .collect()
    }
}

/// `ovsdb-tool create DB SCHEMA`.
async fn create_db(paths: &OvsPaths, db: &Path) -> Result<()> {
    let tool = find_program(paths, "ovsdb-tool")?;
    if !paths.schema.exists() {
        return Err(NetError::Ovs(format!(
            "the OVS database schema {} is missing (set OVS_PKGDATADIR)",
            paths.schema.display()
        )));
    }
    let out = Command::new(&tool)
        .arg("create")
        .arg(db)
        .arg(&paths.schema)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| NetError::Ovs(format!("running {}: {e}", tool.display())))?;
    if !out.status.success() {
        return Err(NetError::Ovs(format!(
            "ovsdb-tool create {} failed ({}): {}",
            db.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    tracing::info!("Created the OVS database {}", db.display());
    Ok(())
}

fn log_file(paths: &OvsPaths, name: &str) -> PathBuf {
    paths.logdir.join(format!("{name}.log"))
}

/// Pid file, control socket and log file under the configured directories,
/// and nothing on the console (conlink's log says what matters).
fn daemon_args(paths: &OvsPaths, name: &str) -> Vec<std::ffi::OsString> {
    vec![
        format!(
            "--pidfile={}",
            paths.rundir.join(format!("{name}.pid")).display()
        )
        .into(),
        format!(
            "--unixctl={}",
            paths.rundir.join(format!("{name}.ctl")).display()
        )
        .into(),
        format!("--log-file={}", log_file(paths, name).display()).into(),
        "-vconsole:off".into(),
    ]
}

/// `name` in the search path, or an error that says how to get OVS.
pub fn find_program(paths: &OvsPaths, name: &str) -> Result<PathBuf> {
    search(&paths.search_path, name).ok_or_else(|| {
        NetError::Ovs(format!(
            "nothing answers at {} and {name} is not installed: mount the host's {} \
             into the conlink container, or run conlink where Open vSwitch is installed",
            paths.socket().display(),
            paths.rundir.display()
        ))
    })
}

fn search(path: &OsStr, name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(dir: &Path, search_path: &str) -> OvsPaths {
        OvsPaths {
            rundir: dir.join("run"),
            dbdir: dir.join("db"),
            logdir: dir.join("log"),
            schema: dir.join("vswitch.ovsschema"),
            search_path: search_path.into(),
        }
    }

    #[test]
    fn programs_are_found_only_as_executable_files_in_the_search_path() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let exe = bin.join("ovsdb-server");
        std::fs::write(&exe, "").unwrap();
        std::fs::write(bin.join("ovs-vswitchd"), "").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let search_path = format!("/nonexistent:{}", bin.display());
        let p = paths(dir.path(), &search_path);
        assert_eq!(find_program(&p, "ovsdb-server").unwrap(), exe);
        // Present but not executable: not a program.
        let e = find_program(&p, "ovs-vswitchd").unwrap_err().to_string();
        assert!(
            e.contains("ovs-vswitchd is not installed") && e.contains("run/db.sock"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn start_without_programs_says_what_is_missing_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = paths(dir.path(), "/nonexistent");
        let e = Daemons::start(&p).await.err().unwrap().to_string();
        assert!(e.starts_with("Open vSwitch: nothing answers at"), "{e}");
        assert!(e.contains("ovsdb-server is not installed"), "{e}");
        assert!(!p.rundir.exists(), "no directories made before the check");
    }
}
