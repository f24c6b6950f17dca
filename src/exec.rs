//! "Run COMMAND ARGS… after `--`", shared by `wait` and `copy`: resolve the
//! command on PATH and replace this process with it, so the command keeps our
//! PID (PID 1 in a container), receives the signals and owns the exit code.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status when the command cannot be found (as in shells).
pub const EXIT_NOT_FOUND: u8 = 127;

/// Exit status when the command was found but cannot be executed: not
/// executable, a directory, or refused by exec(2) (as in shells).
pub const EXIT_NOT_EXECUTABLE: u8 = 126;

/// PATH used when the environment has none (a FROM-scratch image started
/// without `ENV PATH`); the same list Docker gives containers by default.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why the command could not replace this process.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("command not found: {}", .0.to_string_lossy())]
    NotFound(OsString),
    /// A file of that name exists but cannot be run.
    #[error("cannot execute {}: permission denied: {reason}", .path.display())]
    NotExecutable { path: PathBuf, reason: &'static str },
    #[error("cannot execute {}: {source}", .path.display())]
    Exec {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ExecError {
    /// The shell's status for this failure: 127 when nothing of that name
    /// exists, 126 when something does but cannot be run.
    pub fn exit_code(&self) -> u8 {
        match self {
            ExecError::NotFound(_) => EXIT_NOT_FOUND,
            ExecError::NotExecutable { .. } | ExecError::Exec { .. } => EXIT_NOT_EXECUTABLE,
        }
    }
}

/// Find `name` the way a shell would: names with a `/` are used as they are,
/// other names are looked up on PATH (or [`DEFAULT_PATH`]).
pub fn resolve(name: &OsStr) -> Result<PathBuf, ExecError> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    which::which_in(name, Some(&path), &cwd).map_err(|_| not_runnable(name, &path, &cwd))
}

/// Why `which` found nothing runnable: like a shell, name the first file of
/// that name that exists but is not executable (or the directory, for a
/// path), and only say "not found" when there is none.
fn not_runnable(name: &OsStr, path: &OsStr, cwd: &std::path::Path) -> ExecError {
    let given = std::path::Path::new(name);
    let explicit = name.as_encoded_bytes().contains(&b'/');
    let candidates: Vec<PathBuf> = if explicit {
        vec![cwd.join(given)]
    } else if name.is_empty() {
        Vec::new()
    } else {
        std::env::split_paths(path)
            .map(|dir| cwd.join(dir).join(given))
            .collect()
    };
    for candidate in candidates {
        match std::fs::metadata(&candidate) {
            // On PATH a directory of that name is skipped, as shells do.
            Ok(m) if m.is_dir() && !explicit => continue,
            Ok(m) => {
                return ExecError::NotExecutable {
                    path: if explicit {
                        given.to_owned()
                    } else {
                        candidate
                    },
                    reason: if m.is_dir() {
                        "is a directory"
                    } else {
                        "not executable"
                    },
                };
            }
            Err(_) => continue,
        }
    }
    ExecError::NotFound(name.to_owned())
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
/// `TOOL: …` and return exit status 127 (not found) or 126 (found but not
/// runnable).
pub fn exec_or_exit(tool: &str, argv: &[OsString], umask: Option<u32>) -> ExitCode {
    if argv.is_empty() {
        return ExitCode::SUCCESS;
    }
    let err = exec(argv, umask);
    eprintln!("{tool}: {err}");
    ExitCode::from(err.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
    fn present_but_not_executable_is_126_not_127() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("tool");
        std::fs::write(&file, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = resolve(file.as_os_str()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot execute {}: permission denied: not executable",
                file.display()
            )
        );
        assert_eq!(err.exit_code(), 126);
        let err = resolve(d.path().as_os_str()).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("permission denied: is a directory")
        );
        assert_eq!(err.exit_code(), 126);

        // On PATH: the first non-executable match is named; a directory of
        // that name is skipped; nothing at all is 127.
        let sub = d.path().join("sub");
        std::fs::create_dir_all(sub.join("tool")).unwrap();
        let path = std::env::join_paths([&sub, d.path()]).unwrap();
        let err = not_runnable(OsStr::new("tool"), &path, Path::new("/"));
        assert_eq!(err.exit_code(), 126);
        assert!(
            err.to_string().contains(&file.display().to_string()),
            "{err}"
        );
        let err = not_runnable(OsStr::new("nope"), &path, Path::new("/"));
        assert_eq!(
            (err.to_string(), err.exit_code()),
            ("command not found: nope".into(), 127)
        );
        let err = not_runnable(OsStr::new(""), &path, Path::new("/"));
        assert_eq!(err.exit_code(), 127);
    }

    #[test]
    fn empty_argv_is_not_found_rather_than_a_panic() {
        assert!(matches!(exec(&[], None), ExecError::NotFound(_)));
    }
}
