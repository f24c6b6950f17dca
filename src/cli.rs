//! The `conlink` sidecar's command line (flags kept compatible with 2.x) and
//! its top-level flow: parse → load config → show/check/graph or run daemon.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

/// How bridges without an explicit `mode` are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BridgeMode {
    /// openvswitch when its kernel module is loaded, else a Linux bridge
    Auto,
    /// Linux kernel bridge
    Linux,
    /// Open vSwitch bridge (needs the openvswitch kernel module)
    Ovs,
    /// tc mirred patch between exactly two links
    Patch,
}

/// Where the network config comes from and how its defaults are filled in.
/// Shared by the daemon, `--show-config`, `--check` and `conlink graph`.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Compose file whose `x-network` blocks hold network config
    /// (repeatable; each may be a colon-separated list, like COMPOSE_FILE)
    #[arg(
        long = "compose-file",
        value_name = "FILE",
        value_delimiter = ':',
        global = true
    )]
    pub compose_files: Vec<PathBuf>,

    /// Network config file, YAML or JSON, with top-level links/bridges/tunnels/commands
    /// (repeatable; each may be a colon-separated list)
    #[arg(
        long = "network-file",
        value_name = "FILE",
        value_delimiter = ':',
        global = true
    )]
    pub network_files: Vec<PathBuf>,

    /// Mode for bridges that do not set one
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        env = "CONLINK_BRIDGE_MODE",
        default_value = "auto",
        global = true
    )]
    pub default_bridge_mode: BridgeMode,

    /// MTU for links that do not set one (not for *vlan/*vtap links, which inherit their parent's)
    #[arg(long, value_name = "N", default_value_t = 65535, global = true)]
    pub default_mtu: u32,

    /// Keep tx checksum offload on veth links (by default it is turned off, as
    /// offloaded checksums are never filled in on veth-to-veth paths)
    #[arg(long, global = true)]
    pub keep_veth_offload: bool,
}

/// conlink: real layer-2/layer-3 networking for Docker Compose.
///
/// Runs as a sidecar service: reads `x-network` config from compose files (or
/// separate network files), watches the container engine, and when a matching
/// container starts, creates its declared interfaces (veth into bridges,
/// patches and tunnels; macvlan, vlan, ipvlan, dummy, …) inside the
/// container's network namespace, with addresses, MACs, MTUs, routes, netem,
/// NAT and port forwards. Logs "All links connected" once everything exists.
///
/// The same binary is also `mdc`, `wait` and `copy` (by its name, or as
/// `conlink mdc …`).
#[derive(Debug, Parser)]
#[command(name = "conlink", version, max_term_width = 100, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Only match services of this compose project (default: conlink's own
    /// container's project and working dir)
    #[arg(long, value_name = "NAME")]
    pub compose_project: Option<String>,

    /// Print the merged, enriched network config as JSON and exit
    #[arg(long)]
    pub show_config: bool,

    /// Validate the network config, print a one-line summary, and exit
    #[arg(long, conflicts_with = "show_config")]
    pub check: bool,

    /// Print a JSON Schema of the network config and exit. With a FILE (conlink
    /// 2.x's form, the schema it validated against) it is accepted and
    /// ignored: validation is built in
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    pub config_schema: Option<Option<PathBuf>>,

    /// Docker engine API socket (used when it exists)
    #[arg(long, value_name = "PATH", default_value = "/var/run/docker.sock")]
    pub docker_socket: PathBuf,

    /// Podman API socket (used when it exists)
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/var/run/podman/podman.sock"
    )]
    pub podman_socket: PathBuf,

    /// More log output (repeat for more; VERBOSE=1 counts as one)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Option<Sub>,
}

const EXAMPLES: &str = "\
Examples:
  conlink --compose-file compose.yaml              run as the network sidecar
  conlink --check --compose-file compose.yaml      validate the network config
  conlink --show-config --network-file net.yaml    print the enriched config
  conlink graph --compose-file compose.yaml --format svg -o topo.svg
  conlink wait -i eth0 -- my-server                the other tools: mdc, wait, copy";

#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Draw the network topology (Graphviz DOT; SVG/PNG through `dot`)
    Graph {
        /// Output format (svg and png need Graphviz's `dot` installed)
        #[arg(long, value_enum, default_value = "dot")]
        format: crate::config::graph::GraphFormat,
        /// Write to this file instead of stdout
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print shell completions for one of the four tools
    Completions {
        /// Shell to generate for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
        /// Tool to complete (the binary answers to all four names)
        #[arg(value_enum, default_value = "conlink")]
        tool: ToolName,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ToolName {
    Conlink,
    Mdc,
    Wait,
    Copy,
}

impl ToolName {
    pub fn command(self) -> clap::Command {
        match self {
            ToolName::Conlink => Cli::command(),
            ToolName::Mdc => crate::mdc::command(),
            ToolName::Wait => crate::wait::command(),
            ToolName::Copy => crate::copy::command(),
        }
    }
}

/// Completions for one tool in one shell, as text.
pub fn completions(shell: clap_complete::Shell, tool: ToolName) -> String {
    let mut cmd = tool.command();
    let name = cmd.get_name().to_string();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

pub fn main(args: Vec<OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    if let Some(Sub::Completions { shell, tool }) = cli.command {
        print!("{}", completions(shell, tool));
        return ExitCode::SUCCESS;
    }
    crate::logging::init(cli.verbose + u8::from(crate::logging::env_verbose()));
    match &cli.config_schema {
        Some(None) => return print_json(&crate::config::schema::schema()),
        Some(Some(file)) => tracing::info!(
            "--config-schema {}: ignored, conlink validates the network config itself \
             (`conlink --config-schema` alone prints its schema)",
            file.display()
        ),
        None => {}
    }
    if let Some(Sub::Graph { format, output }) = &cli.command {
        return graph(&cli.config, *format, output.as_deref());
    }
    if cli.show_config || cli.check {
        let net = match load_config(&cli.config) {
            Ok(net) => net,
            Err(code) => return code,
        };
        if cli.show_config {
            return print_json(&crate::config::show::to_json(&net));
        } else {
            println!("{}", crate::config::show::summary(&net));
        }
        return ExitCode::SUCCESS;
    }
    let net = match load_config(&cli.config) {
        Ok(net) => net,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("conlink: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::daemon::run(&cli, net)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Load the config, logging its warnings; on errors print all of them and
/// give the exit status (2).
fn load_config(args: &ConfigArgs) -> Result<crate::config::Network, ExitCode> {
    match crate::config::load(args) {
        Ok(net) => {
            for w in &net.warnings {
                tracing::warn!("{w}");
            }
            for n in &net.notes {
                tracing::info!("{n}");
            }
            Ok(net)
        }
        Err(errs) => {
            let n = errs.0.len();
            eprintln!(
                "conlink: the network config has {n} error{}:",
                if n == 1 { "" } else { "s" }
            );
            for e in &errs.0 {
                eprintln!("  {e}");
            }
            Err(ExitCode::from(crate::EXIT_USAGE))
        }
    }
}

/// Pretty JSON on stdout; a closed pipe (`| head`) is not an error.
fn print_json(v: &serde_json::Value) -> ExitCode {
    use std::io::Write as _;
    let mut text = match serde_json::to_string_pretty(v) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("conlink: {e}");
            return ExitCode::FAILURE;
        }
    };
    text.push('\n');
    match std::io::stdout().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("conlink: writing to stdout: {e}");
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}

fn graph(
    args: &ConfigArgs,
    format: crate::config::graph::GraphFormat,
    output: Option<&std::path::Path>,
) -> ExitCode {
    use std::io::Write as _;
    let net = match load_config(args) {
        Ok(net) => net,
        Err(code) => return code,
    };
    let dot = crate::config::graph::to_dot(&net);
    let bytes = match crate::config::graph::render(&dot, format) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("conlink graph: {e}");
            return ExitCode::FAILURE;
        }
    };
    let written = match output {
        Some(path) => std::fs::write(path, &bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => std::io::stdout()
            .write_all(&bytes)
            .map_err(|e| e.to_string()),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conlink graph: {e}");
            ExitCode::FAILURE
        }
    }
}
