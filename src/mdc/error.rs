//! Everything that can stop mdc, each naming the file or value at fault,
//! and the exit status it maps to.

use std::io;
use std::path::PathBuf;

use super::deps::SyntaxError;
use super::resolve::ResolveError;

#[derive(Debug, thiserror::Error)]
pub enum MdcError {
    /// A bad command line (clap's own errors are reported by clap).
    #[error("{0}")]
    Usage(String),

    /// An input (modes dir, deps file, env file, …) cannot be read.
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },

    /// A modes dir entry that does not exist.
    #[error("{}: modes dir not found", path.display())]
    NoModesDir { path: PathBuf },

    #[error("{}: {source}", path.display())]
    Deps { path: PathBuf, source: SyntaxError },

    #[error("{}: {reason}", path.display())]
    JsonDeps { path: PathBuf, reason: String },

    #[error("mode `{name}` is defined twice: {} and {}", first.display(), second.display())]
    DuplicateMode {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },

    #[error(transparent)]
    Resolve(#[from] ResolveError),

    #[error("{}:{line}: not a valid env file: {reason}", path.display())]
    EnvFile {
        path: PathBuf,
        line: usize,
        reason: String,
    },

    #[error("files dir {}: {reason}", path.display())]
    FilesDir { path: PathBuf, reason: String },

    /// A path that has to go into the env file but cannot be written there.
    #[error("{}: {reason}", path.display())]
    Unwritable { path: PathBuf, reason: &'static str },

    /// A file mdc would replace that is not a regular file (`target` is
    /// where the symlink chain at `path` ends, when it is one).
    #[error("{}{}: is {kind}; mdc writes only to a regular file or a new one",
        path.display(),
        target.as_ref().map(|t| format!(" (-> {})", t.display())).unwrap_or_default())]
    NotRegular {
        path: PathBuf,
        target: Option<PathBuf>,
        kind: &'static str,
    },

    /// Two resolved modes whose names give the same `MDC_MODE_*` variable.
    #[error("modes `{first}` and `{second}` would both set {var}; rename one of them")]
    ModeVarClash {
        first: String,
        second: String,
        var: String,
    },

    /// Writing the result failed (disk full, permissions, …).
    #[error("{}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },

    #[error("cannot run {program}: {source}")]
    Exec { program: String, source: io::Error },
}

impl MdcError {
    pub fn read(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> MdcError {
        let path = path.into();
        move |source| MdcError::Read { path, source }
    }

    pub fn write(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> MdcError {
        let path = path.into();
        move |source| MdcError::Write { path, source }
    }

    /// 2 for bad usage or config, 1 when resolution or writing fails,
    /// 126/127 (as shells do) when the compose command cannot be run.
    pub fn exit_code(&self) -> u8 {
        match self {
            MdcError::Resolve(_) | MdcError::Write { .. } => 1,
            MdcError::Exec { source, .. } if source.kind() == io::ErrorKind::NotFound => 127,
            MdcError::Exec { .. } => 126,
            _ => crate::EXIT_USAGE,
        }
    }
}
