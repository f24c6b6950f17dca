//! Open vSwitch bridges: conlink talks to ovsdb-server over its unix socket
//! ([`client`]) and, when nothing answers there, starts ovsdb-server and
//! ovs-vswitchd itself ([`daemons`]) and stops them on shutdown.
//!
//! Where things live follows OVS's own environment variables, so conlink
//! finds the same daemons `ovs-vsctl` would: `OVS_RUNDIR` (socket, pid
//! files; default /var/run/openvswitch), `OVS_DBDIR` (conf.db; default
//! /etc/openvswitch), `OVS_LOGDIR` (default /var/log/openvswitch) and
//! `OVS_PKGDATADIR` (vswitch.ovsschema; default /usr/share/openvswitch).

pub mod client;
pub mod daemons;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use tokio::sync::Mutex;

use super::errors::{NetError, Result};
use client::Client;
use daemons::Daemons;

/// Whether the running kernel has the openvswitch datapath.
pub fn kernel_has_openvswitch() -> bool {
    Path::new("/sys/module/openvswitch").exists()
}

/// Where OVS keeps its socket, database, logs and schema, and where its
/// programs are searched.
#[derive(Debug, Clone)]
pub struct OvsPaths {
    pub rundir: PathBuf,
    pub dbdir: PathBuf,
    pub logdir: PathBuf,
    pub schema: PathBuf,
    pub search_path: OsString,
}

impl OvsPaths {
    /// From OVS's environment variables, with OVS's defaults.
    pub fn from_env() -> OvsPaths {
        let dir = |var: &str, default: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(default), PathBuf::from)
        };
        OvsPaths {
            rundir: dir("OVS_RUNDIR", "/var/run/openvswitch"),
            dbdir: dir("OVS_DBDIR", "/etc/openvswitch"),
            logdir: dir("OVS_LOGDIR", "/var/log/openvswitch"),
            schema: dir("OVS_PKGDATADIR", "/usr/share/openvswitch").join("vswitch.ovsschema"),
            search_path: std::env::var_os("PATH").unwrap_or_else(|| {
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()
            }),
        }
    }

    /// ovsdb-server's database socket.
    pub fn socket(&self) -> PathBuf {
        self.rundir.join("db.sock")
    }
}

/// conlink's access to OVS for one run: bridges are marked with the
/// instance, daemons are started at most once and only when needed.
pub struct Ovs {
    paths: OvsPaths,
    instance: String,
    /// `Some` once this run started the daemons.
    started: Mutex<Option<Daemons>>,
}

impl Ovs {
    pub fn new(paths: OvsPaths, instance: &str) -> Ovs {
        Ovs {
            paths,
            instance: instance.to_owned(),
            started: Mutex::new(None),
        }
    }

    pub fn paths(&self) -> &OvsPaths {
        &self.paths
    }

    /// A connection to ovsdb-server, starting the daemons first when
    /// nothing answers and this run has not started them yet.
    async fn client(&self) -> Result<Client> {
        let socket = self.paths.socket();
        let mut started = self.started.lock().await;
        match Client::connect(&socket).await {
            Ok(c) => Ok(c),
            Err(_) if started.is_none() => {
                tracing::info!(
                    "Nothing answers at {}: starting the Open vSwitch daemons",
                    socket.display()
                );
                *started = Some(Daemons::start(&self.paths).await?);
                Client::connect(&socket)
                    .await
                    .map_err(|e| NetError::Ovs(format!("connect to {}: {e}", socket.display())))
            }
            Err(e) => Err(NetError::Ovs(format!(
                "connect to {} (ovsdb-server started by this run): {e}",
                socket.display()
            ))),
        }
    }

    /// Add a bridge (marked as this instance's) unless it exists.
    pub async fn add_bridge(&self, bridge: &str) -> Result<()> {
        let mut c = self.client().await?;
        c.init().await?;
        c.add_bridge(bridge, &self.instance).await
    }

    pub async fn add_port(&self, bridge: &str, port: &str) -> Result<()> {
        self.client().await?.add_port(bridge, port).await
    }

    /// Delete the bridges this instance marked, in this or an earlier run.
    /// Starts nothing: with no ovsdb-server answering there is nothing to
    /// delete.
    pub async fn remove_marked_bridges(&self) -> Result<Vec<String>> {
        let Ok(mut c) = Client::connect(&self.paths.socket()).await else {
            return Ok(Vec::new());
        };
        let mut removed = Vec::new();
        for (name, uuid) in c.marked_bridges(&self.instance).await? {
            c.del_bridge_uuid(&uuid).await?;
            removed.push(name);
        }
        Ok(removed)
    }

    /// Stop the daemons if this run started them; ones it found running
    /// are left alone.
    pub async fn stop_daemons(&self) {
        if let Some(d) = self.started.lock().await.take() {
            d.stop().await;
        }
    }

    /// Process ids of the daemons this run started (empty when it found
    /// them running).
    pub async fn started_pids(&self) -> Vec<(&'static str, u32)> {
        self.started
            .lock()
            .await
            .as_ref()
            .map(Daemons::pids)
            .unwrap_or_default()
    }
}
