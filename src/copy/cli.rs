//! copy's command line.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

use super::mode::ChmodSpec;
use super::owner::Owner;
use super::size::ByteSize;

/// copy: overlay a directory tree onto another, optionally filling in
/// templates from the environment, then exec a command.
///
/// Every entry under SRC_DIR (dotfiles included) is written to the same
/// relative path under DST_DIR: directories are created as needed, regular
/// files are copied with their permission bits (and owner, when run as root),
/// symlinks are copied as symlinks and never followed. Existing files are
/// replaced atomically (temporary file + rename in the same directory).
/// Nothing is written when a template fails.
#[derive(Debug, Parser)]
#[command(name = "copy", version, max_term_width = 100, after_help = EXAMPLES)]
pub struct Args {
    /// Replace {{NAME}} with the environment variable NAME where it is set
    /// (left as is where not), {{NAME:-default}} with a default when NAME is
    /// unset or empty. Files that are not UTF-8 text or contain NUL bytes are
    /// copied unchanged
    #[arg(short = 'T', long = "template")]
    pub template: bool,

    /// Render files as Tera templates instead, with the environment as
    /// context: {{ env.NAME }}, get_env(name="NAME", default="d"), filters,
    /// {% if %}, {% for %}, {% include "path/under/src" %}
    #[arg(long, conflicts_with = "template")]
    pub tera: bool,

    /// With -T: fail (exit 1, nothing written) if any {{NAME}} without a
    /// default names an unset variable; every such token is listed
    #[arg(long, requires = "template")]
    pub strict: bool,

    /// Fail (exit 1, nothing written) when a template renders to more than
    /// SIZE: a byte count, or with a K, M or G suffix (binary)
    #[arg(
        long,
        env = "COPY_MAX_RENDER_SIZE",
        default_value = "64M",
        value_name = "SIZE"
    )]
    pub max_render_size: ByteSize,

    /// Print what would be written and which tokens would be replaced; change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// List each entry as it is written
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,

    /// No summary line
    #[arg(short, long)]
    pub quiet: bool,

    /// Owner for copied entries: UID:GID, UID, :GID (names work where
    /// /etc/passwd and /etc/group exist). Default: the source's owner when
    /// run as root, else the current user
    #[arg(long, value_name = "UID:GID")]
    pub chown: Option<Owner>,

    /// Permission bits for copied regular files: octal (0644) or symbolic
    /// (u+w, go-w, a=rX). Default: the source file's bits
    #[arg(long, value_name = "MODE")]
    pub chmod: Option<ChmodSpec>,

    /// Directory to copy from
    #[arg(value_name = "SRC_DIR")]
    pub src: PathBuf,

    /// Directory to copy onto (must exist)
    #[arg(value_name = "DST_DIR")]
    pub dst: PathBuf,

    /// Command to exec afterwards (after `--`; 2.x also accepted it without)
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

const EXAMPLES: &str = "\
Examples:
  copy -T /files / -- /start.sh arg1          overlay /files onto /, templated
  copy -T /files / -- wait -i eth0 -- cmd     chained with wait
  copy --tera --dry-run ./templates /etc/app  show what would change
  copy --chown 1000:1000 --chmod u+w /seed /data

Exit status: 0 (or the command's own status after `--`), 1 when copying or a
template fails (DST_DIR is then left as it was), 2 for usage errors (SRC_DIR
or DST_DIR not a directory), 127 when the command is not found, 126 when it
is found but cannot be run.";
