//! The `conlink` sidecar's command line (flags kept compatible with 2.x) and
//! its top-level flow: parse → load config → show/check/graph or run daemon.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

mod control_cmd;

/// How bridges without an explicit `mode` are built (the flag's values;
/// the config layer has its own plain `BridgeMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
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

impl From<BridgeMode> for crate::net::spec::BridgeMode {
    fn from(m: BridgeMode) -> Self {
        match m {
            BridgeMode::Auto => Self::Auto,
            BridgeMode::Linux => Self::Linux,
            BridgeMode::Ovs => Self::Ovs,
            BridgeMode::Patch => Self::Patch,
        }
    }
}

/// Output formats of `conlink graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    /// needs Graphviz's `dot`
    Svg,
    /// needs Graphviz's `dot`
    Png,
    /// the live page's drawing, as one self-contained file (no Graphviz)
    Html,
}

impl GraphFormat {
    /// The Graphviz format, or `None` for html (drawn by the page itself).
    fn graphviz(self) -> Option<crate::config::graph::GraphFormat> {
        use crate::config::graph::GraphFormat as G;
        match self {
            GraphFormat::Dot => Some(G::Dot),
            GraphFormat::Svg => Some(G::Svg),
            GraphFormat::Png => Some(G::Png),
            GraphFormat::Html => None,
        }
    }
}

/// Where the network config comes from and how its defaults are filled in.
/// Shared by the daemon, `--show-config` and `--check`; `conlink graph` has
/// its own subset ([`GraphArgs`]). Not global: `completions` and the tools'
/// entries must not list them.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Compose file whose `x-network` blocks hold network config
    /// (repeatable; each may be a colon-separated list, like COMPOSE_FILE)
    #[arg(long = "compose-file", value_name = "FILE", value_delimiter = ':')]
    pub compose_files: Vec<PathBuf>,

    /// Network config file, YAML or JSON, with top-level links/bridges/tunnels/commands
    /// (repeatable; each may be a colon-separated list)
    #[arg(long = "network-file", value_name = "FILE", value_delimiter = ':')]
    pub network_files: Vec<PathBuf>,

    /// Mode for bridges that do not set one
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        env = "CONLINK_BRIDGE_MODE",
        default_value = "auto"
    )]
    pub default_bridge_mode: BridgeMode,

    /// MTU for links that do not set one (not for *vlan/*vtap links, which inherit their parent's)
    #[arg(long, value_name = "N", default_value_t = 65535)]
    pub default_mtu: u32,

    /// Keep tx checksum offload on veth links (by default it is turned off, as
    /// offloaded checksums are never filled in on veth-to-veth paths)
    #[arg(long)]
    pub keep_veth_offload: bool,
}

/// `conlink graph`'s inputs: only what changes the picture (MTUs and
/// offloads are not drawn).
#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    /// Compose file whose `x-network` blocks hold network config
    /// (repeatable; each may be a colon-separated list, like COMPOSE_FILE)
    #[arg(long = "compose-file", value_name = "FILE", value_delimiter = ':')]
    pub compose_files: Vec<PathBuf>,

    /// Network config file, YAML or JSON (repeatable; each may be a
    /// colon-separated list)
    #[arg(long = "network-file", value_name = "FILE", value_delimiter = ':')]
    pub network_files: Vec<PathBuf>,

    /// Mode for bridges that do not set one (drawn in each bridge's label)
    /// [default: auto]
    #[arg(long, value_enum, value_name = "MODE", env = "CONLINK_BRIDGE_MODE")]
    pub default_bridge_mode: Option<BridgeMode>,

    /// Output format (svg and png need Graphviz's `dot` installed; html is
    /// the sidecar's topology page as a static file)
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,

    /// Write to this file instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl GraphArgs {
    /// The config arguments to load with: the graph's own, added to any
    /// given before `graph` (`conlink --compose-file F graph` as before).
    fn config(&self, outer: &ConfigArgs) -> ConfigArgs {
        let mut args = outer.clone();
        args.compose_files
            .extend(self.compose_files.iter().cloned());
        args.network_files
            .extend(self.network_files.iter().cloned());
        if let Some(mode) = self.default_bridge_mode {
            args.default_bridge_mode = mode;
        }
        args
    }
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
/// `conlink mdc …`; `conlink help wait` shows wait's help).
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

    /// The control socket `conlink status`, `link`, `netem`, `capture` and
    /// `events` talk to [default: /run/conlink/control.sock]
    #[arg(long, value_name = "PATH", env = "CONLINK_CONTROL_SOCKET")]
    pub control_socket: Option<PathBuf>,

    /// Serve a read-only topology page and Prometheus /metrics on this
    /// address (unauthenticated: bind it only where it may be seen; e.g.
    /// 127.0.0.1:8080, or 0.0.0.0:8080 in a container with `ports:`)
    #[arg(long, value_name = "ADDR:PORT", env = "CONLINK_HTTP_LISTEN", value_parser = parse_listen)]
    pub http_listen: Option<std::net::SocketAddr>,

    /// Podman API socket (used when it exists)
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/var/run/podman/podman.sock"
    )]
    pub podman_socket: PathBuf,

    /// More log output (repeat for more; VERBOSE=1 counts as one)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Option<Sub>,
}

/// `--http-listen`: an IP address and port (names are not resolved: the
/// listener must bind exactly where asked).
fn parse_listen(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse().map_err(|_| {
        "expected IP:PORT, like 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080 (names are not resolved)"
            .to_owned()
    })
}

impl ConfigArgs {
    /// The flags as the config layer takes them.
    pub fn options(&self) -> crate::config::ConfigOptions {
        crate::config::ConfigOptions {
            compose_files: self.compose_files.clone(),
            network_files: self.network_files.clone(),
            default_bridge_mode: self.default_bridge_mode.into(),
            default_mtu: self.default_mtu,
            keep_veth_offload: self.keep_veth_offload,
        }
    }
}

impl Cli {
    /// The flags as the daemon takes them.
    pub fn daemon_options(&self) -> crate::daemon::Options {
        crate::daemon::Options {
            compose_project: self.compose_project.clone(),
            docker_socket: self.docker_socket.clone(),
            podman_socket: self.podman_socket.clone(),
            keep_veth_offload: self.config.keep_veth_offload,
            verbose: self.verbose > 0 || crate::logging::env_verbose(),
            control_socket: match &self.control_socket {
                Some(p) => crate::daemon::ControlSocket::Required(p.clone()),
                None => crate::daemon::ControlSocket::Default(
                    crate::control::client::DEFAULT_SOCKET.into(),
                ),
            },
            http_listen: self.http_listen,
        }
    }
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
    /// Draw the network topology (Graphviz DOT; SVG/PNG through `dot`; HTML)
    #[command(after_help = GRAPH_EXAMPLES)]
    Graph(GraphArgs),
    /// Print shell completions for one of the four tools
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions {
        /// Shell to generate for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
        /// Tool to complete (the binary answers to all four names)
        #[arg(value_enum, default_value = "conlink")]
        tool: ToolName,
    },
    // The other tools, listed here so `conlink --help` names them. The
    // multicall dispatch (src/multicall.rs) hands `conlink mdc …` to mdc
    // before this parser runs, so these entries only parse when options
    // come first (`conlink -v wait …`), which is refused.
    /// Modular compose: resolve modes, assemble .env and .files, run docker compose
    #[command(disable_help_flag = true)]
    Mdc(ToolArgs),
    /// Wait for files, interfaces, addresses, TCP ports or commands, then exec a command
    #[command(disable_help_flag = true)]
    Wait(ToolArgs),
    /// Overlay a directory tree with {{VAR}} templating, then exec a command
    #[command(disable_help_flag = true)]
    Copy(ToolArgs),
    // The running sidecar's control socket: status, link, netem, capture, events.
    #[command(flatten)]
    Control(control_cmd::ControlSub),
}

/// Everything after a tool's name (see [`Sub::Mdc`]).
#[derive(Debug, Args)]
pub struct ToolArgs {
    /// The tool's own arguments (`conlink help TOOL` lists them)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<OsString>,
}

const GRAPH_EXAMPLES: &str = "\
Examples:
  conlink graph --compose-file compose.yaml                     DOT on stdout
  conlink graph --compose-file compose.yaml --format svg -o topo.svg
  conlink graph --compose-file compose.yaml --format html -o topo.html
  conlink graph --network-file net.yaml --default-bridge-mode linux | dot -Tpng > topo.png";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  conlink completions bash > ~/.local/share/bash-completion/completions/conlink
  conlink completions bash wait > ~/.local/share/bash-completion/completions/wait
  conlink completions zsh mdc > ~/.zfunc/_mdc
  conlink completions fish copy > ~/.config/fish/completions/copy.fish";

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
            // `conlink wait -<TAB>` completes wait's own options: the
            // placeholder entries are replaced by the real commands.
            ToolName::Conlink => [ToolName::Mdc, ToolName::Wait, ToolName::Copy]
                .into_iter()
                .fold(Cli::command(), |cmd, tool| {
                    let real = tool.command();
                    let name = real.get_name().to_owned();
                    cmd.mut_subcommand(name, |stub| {
                        let about = stub.get_about().cloned().unwrap_or_default();
                        real.about(about)
                    })
                }),
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
    if let Some(Sub::Control(c)) = cli.command {
        return control_cmd::run(c);
    }
    match &cli.command {
        Some(Sub::Completions { shell, tool }) => {
            print!("{}", completions(*shell, *tool));
            return ExitCode::SUCCESS;
        }
        Some(Sub::Mdc(_) | Sub::Wait(_) | Sub::Copy(_)) => {
            // Options before the tool's name would be silently dropped.
            eprintln!(
                "conlink: options cannot come before a tool's name: run `conlink TOOL ARGS…` (e.g. `conlink wait -i eth0`)"
            );
            return ExitCode::from(crate::EXIT_USAGE);
        }
        _ => {}
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
    if let Some(Sub::Graph(g)) = &cli.command {
        return graph(&g.config(&cli.config), g.format, g.output.as_deref());
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
    match runtime.block_on(crate::daemon::run(cli.daemon_options(), net)) {
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
    match crate::config::load(&args.options()) {
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

fn graph(args: &ConfigArgs, format: GraphFormat, output: Option<&std::path::Path>) -> ExitCode {
    use std::io::Write as _;
    let net = match load_config(args) {
        Ok(net) => net,
        Err(code) => return code,
    };
    let bytes = match format.graphviz() {
        None => {
            crate::web::page::with_topology(&crate::web::topology::from_config(&net)).into_bytes()
        }
        Some(f) => match crate::config::graph::render(&crate::config::graph::to_dot(&net), f) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("conlink graph: {e}");
                return ExitCode::FAILURE;
            }
        },
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
