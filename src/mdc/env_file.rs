//! Env files: checking that a mode's `env`/`.env` is dotenv that Compose can
//! read (so a broken one is reported against its own file, not as a
//! confusing Compose error about the merged `.env`), quoting values mdc
//! writes itself, finding what a write would replace, and replacing a file
//! atomically.

use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use super::MdcError;

/// Check `text` (read from `path`) line by line: blank lines, `#` comments,
/// and `[export ]KEY[=VALUE]` where KEY is `[A-Za-z_][A-Za-z0-9_.-]*` and a
/// quoted VALUE may span lines but must be closed.
pub fn validate(path: &Path, text: &str) -> Result<(), MdcError> {
    let bad = |line: usize, reason: String| MdcError::EnvFile {
        path: path.to_owned(),
        line,
        reason,
    };
    if text.contains('\0') {
        let line = text[..text.find('\0').unwrap_or(0)].lines().count().max(1);
        return Err(bad(line, "contains a NUL byte".into()));
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        let line = lines[i].trim_start();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export")
            .filter(|rest| rest.starts_with([' ', '\t']))
            .map_or(line, str::trim_start);
        let key_len = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
            .unwrap_or(line.len());
        let key = &line[..key_len];
        if key.is_empty() {
            return Err(bad(start + 1, format!("expected KEY=VALUE, got `{line}`")));
        }
        if key.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '-') {
            return Err(bad(start + 1, format!("`{key}` is not a variable name")));
        }
        let rest = line[key_len..].trim_start_matches([' ', '\t']);
        let Some(value) = rest.strip_prefix('=') else {
            if rest.is_empty() || rest.starts_with('#') {
                continue; // a bare KEY: Compose takes it from the environment
            }
            return Err(bad(
                start + 1,
                format!("expected `=` after `{key}`, got `{rest}`"),
            ));
        };
        let value = value.trim_start_matches([' ', '\t']);
        let Some(quote) = value.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue; // unquoted: anything up to the end of the line
        };
        // Find the closing quote, possibly on a later line.
        let mut rest = &value[1..];
        loop {
            if let Some(end) = closing_quote(rest, quote) {
                let after = rest[end + 1..].trim_start_matches([' ', '\t']);
                if !(after.is_empty() || after.starts_with('#')) {
                    return Err(bad(
                        i,
                        format!("unexpected `{after}` after the quoted value of `{key}`"),
                    ));
                }
                break;
            }
            let Some(next) = lines.get(i) else {
                return Err(bad(
                    start + 1,
                    format!("the value of `{key}` opens {quote} but never closes it"),
                ));
            };
            rest = next;
            i += 1;
        }
    }
    Ok(())
}

/// Byte index of the first unescaped `quote` in `s` (backslash escapes only
/// count inside double quotes).
fn closing_quote(s: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quote == '"' {
            escaped = true;
        } else if c == quote {
            return Some(i);
        }
    }
    None
}

/// A value as mdc writes it: bare when it holds only characters that mean
/// nothing to dotenv or interpolation, otherwise single-quoted (literal);
/// `None` when it cannot be written safely at all.
pub fn quote(value: &str, always: bool) -> Option<String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:,@%+=-".contains(c);
    if value.chars().all(plain) {
        Some(if always {
            format!("\"{value}\"")
        } else {
            value.to_owned()
        })
    } else if value.contains(['\'', '\n', '\r', '\0']) {
        None
    } else {
        Some(format!("'{value}'"))
    }
}

/// How many symlinks [`write_target`] follows before giving up (Linux's
/// own limit for one path lookup).
const MAX_SYMLINKS: usize = 40;

/// Where writing `path` must land, checked before anything is written.
///
/// mdc replaces only regular files: a device (`/dev/null`), FIFO or socket
/// at `path` is an error rather than something to swap a file in for. A
/// symlink is followed, so `.env -> env/dev.env` keeps being a link and the
/// file it points at gets the new content; the end of the chain must itself
/// be a regular file or not exist yet (a dangling link creates its target).
/// The result is the path to rename onto: the temporary file is staged in
/// its directory, so the rename stays atomic.
pub fn write_target(path: &Path) -> Result<PathBuf, MdcError> {
    let mut at = path.to_owned();
    for _ in 0..=MAX_SYMLINKS {
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(at),
            Err(e) => return Err(MdcError::read(&at)(e)),
        };
        let ft = meta.file_type();
        if ft.is_symlink() {
            let to = std::fs::read_link(&at).map_err(MdcError::read(&at))?;
            at = match at.parent() {
                Some(dir) if to.is_relative() => dir.join(to),
                _ => to,
            };
            continue;
        }
        if ft.is_file() {
            return Ok(at);
        }
        let kind = if ft.is_dir() {
            "a directory"
        } else if ft.is_char_device() {
            "a character device"
        } else if ft.is_block_device() {
            "a block device"
        } else if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(MdcError::NotRegular {
            path: path.to_owned(),
            target: (at != path).then_some(at),
            kind,
        });
    }
    Err(MdcError::NotRegular {
        path: path.to_owned(),
        target: None,
        kind: "a chain of more than 40 symlinks (a loop?)",
    })
}

/// A file written next to its destination and renamed over it on
/// [`commit`](Staged::commit); dropped uncommitted, it is removed and the
/// destination never changes.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl Staged {
    pub fn write(dest: &Path, content: &[u8]) -> Result<Staged, MdcError> {
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "env".into());
        let tmp = dest.with_file_name(format!(".{name}.mdc-tmp-{}", std::process::id()));
        let staged = Staged {
            tmp,
            dest: dest.to_owned(),
            committed: false,
        };
        let mut file = std::fs::File::create(&staged.tmp).map_err(MdcError::write(dest))?;
        file.write_all(content)
            .and_then(|()| file.sync_all())
            .map_err(MdcError::write(dest))?;
        Ok(staged)
    }

    pub fn commit(mut self) -> Result<(), MdcError> {
        std::fs::rename(&self.tmp, &self.dest).map_err(MdcError::write(&self.dest))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<(), String> {
        validate(Path::new("m/env"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_what_compose_reads() {
        let ok = "\
# comment
  # indented comment

FOO=bar
EMPTY=
SPACED = value with spaces # trailing comment
export EXPORTED=1
BAZ=\"${FOO:-${BAR}}-SUFF\"
SINGLE='lit $x'
MULTI=\"line one
line two\"  # closed on a later line
ESC=\"quote \\\" inside\"
dotted.key-x=1
BARE
_U=1
";
        assert_eq!(check(ok), Ok(()));
    }

    #[test]
    fn rejects_with_file_and_line() {
        assert_eq!(
            check("A=1\n=oops\n"),
            Err("m/env:2: not a valid env file: expected KEY=VALUE, got `=oops`".into())
        );
        assert_eq!(
            check("A=1\nB=\"open\nC=2\n"),
            Err(
                "m/env:2: not a valid env file: the value of `B` opens \" but never closes it"
                    .into()
            )
        );
        assert_eq!(
            check("1A=x"),
            Err("m/env:1: not a valid env file: `1A` is not a variable name".into())
        );
        assert!(check("A B=1").is_err());
        assert!(check("A='x' junk").is_err());
        assert!(
            check("A=\"x\ny\" junk")
                .unwrap_err()
                .starts_with("m/env:2:")
        );
        assert!(check("some text\n").is_err());
        assert!(check("A=1\0").is_err());
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("./a/b.yaml:x", false).unwrap(), "./a/b.yaml:x");
        assert_eq!(quote("./a,./b", true).unwrap(), "\"./a,./b\"");
        assert_eq!(quote("my dir/$x", false).unwrap(), "'my dir/$x'");
        assert_eq!(quote("it's", false), None);
        assert_eq!(quote("a\nb", true), None);
    }

    #[test]
    fn write_targets_are_regular_files_or_new_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let file = d.join("file");
        std::fs::write(&file, "").unwrap();
        assert_eq!(write_target(&file).unwrap(), file);
        assert_eq!(write_target(&d.join("new")).unwrap(), d.join("new"));

        // Symlinks are followed to the end, relative to the link's dir.
        std::fs::create_dir(d.join("sub")).unwrap();
        std::os::unix::fs::symlink("../file", d.join("sub/rel")).unwrap();
        std::os::unix::fs::symlink(d.join("sub/rel"), d.join("abs")).unwrap();
        assert_eq!(write_target(&d.join("abs")).unwrap(), d.join("sub/../file"));
        std::os::unix::fs::symlink("sub/not-yet", d.join("dangling")).unwrap();
        assert_eq!(
            write_target(&d.join("dangling")).unwrap(),
            d.join("sub/not-yet")
        );

        let fifo = d.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let err = write_target(&fifo).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: is a FIFO; mdc writes only to a regular file or a new one",
                fifo.display()
            )
        );
        assert_eq!(err.exit_code(), crate::EXIT_USAGE);
        std::os::unix::fs::symlink("fifo", d.join("to-fifo")).unwrap();
        assert_eq!(
            write_target(&d.join("to-fifo")).unwrap_err().to_string(),
            format!(
                "{} (-> {}): is a FIFO; mdc writes only to a regular file or a new one",
                d.join("to-fifo").display(),
                d.join("fifo").display()
            )
        );
        let err = write_target(Path::new("/dev/null")).unwrap_err();
        assert!(err.to_string().contains("is a character device"), "{err}");
        assert!(
            write_target(d)
                .unwrap_err()
                .to_string()
                .contains("is a directory")
        );

        std::os::unix::fs::symlink("loop-b", d.join("loop-a")).unwrap();
        std::os::unix::fs::symlink("loop-a", d.join("loop-b")).unwrap();
        assert!(
            write_target(&d.join("loop-a"))
                .unwrap_err()
                .to_string()
                .contains("more than 40 symlinks")
        );
    }

    #[test]
    fn staged_files_change_nothing_until_committed() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join(".env");
        std::fs::write(&dest, "OLD=1\n").unwrap();
        drop(Staged::write(&dest, b"NEW=1\n").unwrap());
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "OLD=1\n");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
        Staged::write(&dest, b"NEW=1\n").unwrap().commit().unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "NEW=1\n");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }
}
