//! "Run COMMAND ARGS… after `--`", shared by `wait` and `copy`: resolve the
//! command on PATH and replace this process with it, so the command keeps our
//! PID (PID 1 in a container), receives the signals and owns the exit code.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status when the command cannot be found or executed (as in shells).
pub const EXIT_NOT_FOUND: u8 = 127;

/// PATH used when the environment has none (a FROM-scratch image started
/// without `ENV PATH`); the same list Docker gives containers by default.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why the command could not replace this process.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("command not found: {}", .0.to_string_lossy())]
    NotFound(OsString),
    #[error("cannot execute {}: {source}", .path.display())]
    Exec {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Find `name` the way a shell would: names with a `/` are used as they are,
/// other names are looked up on PATH (or [`DEFAULT_PATH`]).
pub fn resolve(name: &OsStr) -> Result<PathBuf, ExecError> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    which::which_in(name, Some(path), cwd).map_err(|_| ExecError::NotFound(name.to_owned()))
}

/// Replace this process with `argv` (non-empty). Returns only on failure.
pub fn exec(argv: &[OsString], umask: Option<u32>) -> ExecError {
    let Some((name, args)) = argv.split_first() else {
        return ExecError::NotFound(OsString::new());
    };
    let path = match resolve(name) {
        Ok(p) => p,
        Err(e) => return e,
    };
    if let Some(mask) = umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    // argv[0] stays what the user wrote, as a shell would pass it.
    let source = std::process::Command::new(&path)
        .arg0(name)
        .args(args)
        .exec();
    ExecError::Exec { path, source }
}

/// Exec `argv` if there is one; otherwise succeed. On failure print
/// `TOOL: …` and return exit status 127.
pub fn exec_or_exit(tool: &str, argv: &[OsString], umask: Option<u32>) -> ExitCode {
    if argv.is_empty() {
        return ExitCode::SUCCESS;
    }
    let err = exec(argv, umask);
    eprintln!("{tool}: {err}");
    ExitCode::from(EXIT_NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_on_path_and_paths_as_given() {
        assert!(resolve(OsStr::new("sh")).is_ok_and(|p| p.is_absolute()));
        assert_eq!(
            resolve(OsStr::new("/bin/sh")).ok(),
            Some(PathBuf::from("/bin/sh"))
        );
        assert!(matches!(
            resolve(OsStr::new("no-such-command-xyz")),
            Err(ExecError::NotFound(_))
        ));
    }

    #[test]
    fn empty_argv_is_not_found_rather_than_a_panic() {
        assert!(matches!(exec(&[], None), ExecError::NotFound(_)));
    }
}
