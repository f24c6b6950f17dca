//! mdc's command line and its flow: resolve → plan → (print | write) →
//! exec compose. Nothing is written until every input has been read and
//! checked, and then the env file is the last thing to change.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgAction, Parser};

use super::assemble::{self, ResolvedMode};
use super::env_file::Staged;
use super::files::{self, StagedTree};
use super::modes::{self, Catalog};
use super::report::{self, Format};
use super::{MdcError, deps, env_file, resolve};

/// mdc: modular compose — resolve modes, assemble .env and .files, then run docker compose.
///
/// MODES is a dependency string: mode names separated by commas or spaces,
/// `a|b` for "at least one of", `+a` for "after a, if a is in". mdc picks
/// the smallest set of modes that satisfies every mode's `deps` file, and
/// for each in dependency order adds its compose file to COMPOSE_FILE, its
/// `env`/`.env` to the env file and its `<svc>/files/` trees to the files
/// dir. With COMPOSE-ARGS it then runs `<compose> --env-file <env-file>
/// COMPOSE-ARGS…`. Everything after MODES goes to compose.
#[derive(Debug, Parser)]
#[command(name = "mdc", version, max_term_width = 100, after_help = EXAMPLES)]
pub struct Args {
    /// Modes dirs (each subdirectory is a mode) or JSON dep files,
    /// colon- or comma-separated
    #[arg(
        long,
        env = "MODES_DIR",
        default_value = "./modes",
        value_name = "DIR[:DIR…]"
    )]
    modes_dir: String,

    /// The env file to write (and to pass to compose)
    #[arg(long, env = "ENV_FILE", default_value = ".env", value_name = "FILE")]
    env_file: PathBuf,

    /// Where the modes' `<svc>/files/` trees are merged (rebuilt every run)
    #[arg(
        long,
        env = "MDC_FILES_DIR",
        default_value = "./.files",
        value_name = "DIR"
    )]
    files_dir: PathBuf,

    /// The compose command [env: DOCKER_COMPOSE; default: `docker compose`
    /// when the v2 plugin is installed, else `docker-compose`]
    #[arg(long, value_name = "CMD")]
    compose_command: Option<String>,

    /// More log output (also VERBOSE=1)
    #[arg(short, long, action = ArgAction::Count)]
    verbose: u8,

    /// Only print the resolved modes (every argument is then part of MODES);
    /// writes nothing
    #[arg(long)]
    resolve: bool,

    /// Output format for --resolve
    #[arg(long, value_enum, default_value_t = Format::Nodes, requires = "resolve")]
    format: Format,

    /// Print the resolved modes, the env file and the compose command; write
    /// and run nothing
    #[arg(long, conflicts_with = "resolve")]
    dry_run: bool,

    /// MODES, then the arguments for compose (e.g. `up -d`)
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_names = ["MODES", "COMPOSE-ARGS"],
        num_args = 1..
    )]
    args: Vec<OsString>,
}

const EXAMPLES: &str = "\
Examples:
  mdc web,db up -d                  modes web and db (and their deps), then `compose up -d`
  mdc 'web db|sqlite' up -d         web, and db or sqlite (db unless sqlite is in anyway)
  mdc all                           only write .env and .files for the modes of `all`
  mdc --dry-run web                 show the modes, the env file and the compose command
  mdc --resolve --format paths all  list the resolved modes' directories
  MODES_DIR=./modes:../shared mdc web ps
                                    modes from two directories, then `compose ps`

Everything after MODES goes to compose; mdc's own options come before MODES.";

/// The clap command, for help and completions.
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

pub fn main(argv: Vec<OsString>) -> ExitCode {
    let shown: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let args = match Args::try_parse_from(&argv) {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    crate::logging::init(args.verbose + u8::from(crate::logging::env_verbose()));
    match run(args, &assemble::shell_words(&shown)) {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(mut compose)) => {
            let source = compose.exec();
            let e = MdcError::Exec {
                program: compose.get_program().to_string_lossy().into_owned(),
                source,
            };
            eprintln!("mdc: {e}");
            ExitCode::from(e.exit_code())
        }
        Err(e) => {
            eprintln!("mdc: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn utf8_arg(arg: &OsString) -> Result<&str, MdcError> {
    arg.to_str()
        .ok_or_else(|| MdcError::Usage(format!("MODES is not UTF-8: {arg:?}")))
}

/// The request parsed from MODES; never empty.
fn parse_request(modes: &str) -> Result<Vec<deps::Dep>, MdcError> {
    if modes.starts_with('-') && modes.len() > 1 {
        return Err(MdcError::Usage(format!(
            "unexpected argument `{modes}` (options go before MODES)"
        )));
    }
    let request =
        deps::parse(modes).map_err(|e| MdcError::Usage(format!("MODES `{modes}`: {e}")))?;
    if request.is_empty() {
        return Err(MdcError::Usage(
            "MODES is empty: name at least one mode".into(),
        ));
    }
    Ok(request)
}

/// Everything but the exec: returns the compose command to exec, if any.
fn run(args: Args, command_line: &str) -> Result<Option<std::process::Command>, MdcError> {
    let (modes_arg, compose_args) = if args.resolve {
        let all: Vec<&str> = args.args.iter().map(utf8_arg).collect::<Result<_, _>>()?;
        (all.join(","), &[][..])
    } else {
        (utf8_arg(&args.args[0])?.to_owned(), &args.args[1..])
    };
    let request = parse_request(&modes_arg)?;
    let modes_dirs = modes::split_list(&args.modes_dir);
    if modes_dirs.is_empty() {
        return Err(MdcError::Usage("the modes dir list is empty".into()));
    }
    let catalog = Catalog::load(&modes_dirs)?;
    let order = resolve::resolve(&request, |n| catalog.deps(n))?;

    if args.resolve {
        print!("{}", report::render(args.format, &order, &catalog));
        return Ok(None);
    }
    eprintln!("MODES: {}", order.join(" "));

    let project = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .map_err(MdcError::read("."))?;
    let env_dir = env_dir(&args.env_file)?;
    // Where the env file's content lands (through symlinks); a device, FIFO
    // or socket there is refused before anything is written.
    let env_target = env_file::write_target(&args.env_file)?;
    let target_dir = env_dir_of(&env_target)?;
    let files_dir = files::check_files_dir(&args.files_dir, &project, &modes_dirs)?;
    if env_dir.starts_with(&files_dir) || target_dir.starts_with(&files_dir) {
        // The swap of the files dir would take the staged env file with it.
        return Err(MdcError::FilesDir {
            path: args.files_dir.clone(),
            reason: "refusing to rebuild it: it holds the env file".into(),
        });
    }
    let resolved: Vec<ResolvedMode> = order
        .iter()
        .map(|name| ResolvedMode {
            name: name.clone(),
            dir: catalog.dir(name).map(Path::to_owned),
        })
        .collect();
    let plan = assemble::plan(&resolved, command_line, &env_dir)?;
    tracing::debug!("env file {}:\n{}", args.env_file.display(), plan.env_text);

    let compose = if compose_args.is_empty() {
        None
    } else {
        let words = match &args.compose_command {
            Some(cmd) => cmd.split_whitespace().map(str::to_owned).collect(),
            None => crate::compose::command(),
        };
        let Some((program, lead)) = words.split_first() else {
            return Err(MdcError::Usage("--compose-command is empty".into()));
        };
        let mut cmd = std::process::Command::new(program);
        cmd.args(lead)
            .arg("--env-file")
            .arg(&args.env_file)
            .args(compose_args);
        Some(cmd)
    };

    if args.dry_run {
        print_dry_run(&args, &order, &plan, &files_dir, compose.as_ref());
        return Ok(None);
    }

    // Stage everything, then swap in: an error up to here changes nothing.
    let env = Staged::write(&env_target, plan.env_text.as_bytes())?;
    let anchor = env_file::write_target(Path::new(assemble::EMPTY_COMPOSE))?;
    let anchor = match std::fs::read_to_string(&anchor) {
        Ok(text) if text == plan.anchor_text => None,
        _ => Some(Staged::write(&anchor, plan.anchor_text.as_bytes())?),
    };
    let tree = StagedTree::build(&files_dir, &plan.overlays)?;
    tree.commit()?;
    if let Some(anchor) = anchor {
        anchor.commit()?;
    }
    env.commit()?;
    tracing::debug!("wrote {}", args.env_file.display());
    Ok(compose)
}

/// The env file's directory, absolute (COMPOSE_DIR); it must exist, and
/// the env file must not be a directory.
fn env_dir(env_file: &Path) -> Result<PathBuf, MdcError> {
    if env_file.is_dir() {
        return Err(MdcError::Unwritable {
            path: env_file.to_owned(),
            reason: "is a directory, not an env file",
        });
    }
    env_dir_of(env_file)
}

/// The absolute directory of `file`, which must exist.
fn env_dir_of(file: &Path) -> Result<PathBuf, MdcError> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    dir.canonicalize().map_err(MdcError::read(dir))
}

fn print_dry_run(
    args: &Args,
    order: &[String],
    plan: &assemble::Plan,
    files_dir: &Path,
    compose: Option<&std::process::Command>,
) {
    println!("MODES: {}", order.join(" "));
    println!("ENV_FILE: {}", args.env_file.display());
    print!("{}", plan.env_text);
    println!("FILES_DIR: {}", files_dir.display());
    for overlay in &plan.overlays {
        println!("FILES: {}/ <- {}/", overlay.svc, overlay.src.display());
    }
    match compose {
        Some(cmd) => {
            let words: Vec<String> = std::iter::once(cmd.get_program())
                .chain(cmd.get_args())
                .map(|w| w.to_string_lossy().into_owned())
                .collect();
            println!("COMMAND: {}", assemble::shell_words(&words));
        }
        None => println!("COMMAND: (none: no compose arguments)"),
    }
}
