//! Replace a path atomically: build the new file or symlink under a temporary
//! name in the same directory, then rename it over the old one, so a reader
//! sees the old content or the new, never half a file. The staging half
//! ([`stage_file`], [`stage_symlink`], [`stage_dir`]) and the rename
//! ([`rename_over`]) are separate, so a whole tree can be staged before any
//! of it is put in place.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh temporary name beside `target`. Short and fixed-length, so long
/// target names cannot push it past NAME_MAX.
pub fn temp_beside(target: &Path) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let name = format!(".copy-{}-{n}.tmp", PID.get_or_init(std::process::id));
    match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(name),
        _ => PathBuf::from(name),
    }
}

/// Removes the temporary path unless the rename succeeded.
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Who should own a new entry; `None` parts keep what creating it gave.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ownership {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl Ownership {
    fn is_empty(&self) -> bool {
        self.uid.is_none() && self.gid.is_none()
    }
}

/// Write a regular file at `target` with `fill`, permission bits `mode`
/// and owner `owner`, replacing whatever non-directory was there.
pub fn replace_file(
    target: &Path,
    mode: u32,
    owner: Ownership,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = stage_file(target, mode, owner, fill)?;
    let mut guard = TempGuard(Some(tmp.clone()));
    rename_over(&tmp, target)?;
    guard.0 = None;
    Ok(())
}

/// Write the new content of `target` under a temporary name beside it and
/// return that name; nothing at `target` changes until [`rename_over`].
pub fn stage_file(
    target: &Path,
    mode: u32,
    owner: Ownership,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<PathBuf> {
    let tmp = temp_beside(target);
    write_new_file(&tmp, mode, owner, fill)?;
    Ok(tmp)
}

/// Create the file `path`, which must not exist, with `fill`, `mode` and
/// `owner`; on any error it is removed again.
pub fn write_new_file(
    path: &Path,
    mode: u32,
    owner: Ownership,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let mut guard = TempGuard(Some(path.to_owned()));
    fill(&mut file)?;
    if !owner.is_empty() {
        // Before chmod: chown clears set-id bits.
        std::os::unix::fs::fchown(&file, owner.uid, owner.gid)?;
    }
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    drop(file);
    guard.0 = None;
    Ok(())
}

/// A symlink to `points_to` under a temporary name beside `target`.
pub fn stage_symlink(target: &Path, points_to: &Path, owner: Ownership) -> io::Result<PathBuf> {
    let tmp = temp_beside(target);
    new_symlink(&tmp, points_to, owner)?;
    Ok(tmp)
}

/// Create the symlink `path` (which must not exist) to `points_to`.
pub fn new_symlink(path: &Path, points_to: &Path, owner: Ownership) -> io::Result<()> {
    std::os::unix::fs::symlink(points_to, path)?;
    let mut guard = TempGuard(Some(path.to_owned()));
    if !owner.is_empty() {
        std::os::unix::fs::lchown(path, owner.uid, owner.gid)?;
    }
    guard.0 = None;
    Ok(())
}

/// Create the directory `path` (which must not exist), private until its
/// contents are in (the caller sets its final mode), owned by `owner`.
pub fn new_dir(path: &Path, owner: Ownership) -> io::Result<()> {
    std::fs::DirBuilder::new().mode(0o700).create(path)?;
    if !owner.is_empty() {
        if let Err(e) = std::os::unix::fs::chown(path, owner.uid, owner.gid) {
            let _ = std::fs::remove_dir(path);
            return Err(e);
        }
    }
    Ok(())
}

/// A new directory for `target` under a temporary name beside it.
pub fn stage_dir(target: &Path, owner: Ownership) -> io::Result<PathBuf> {
    let tmp = temp_beside(target);
    new_dir(&tmp, owner)?;
    Ok(tmp)
}

/// Remove a staged entry and, for a directory, everything in it (made
/// writable first: a staged copy of a read-only directory has its final,
/// read-only mode by then). Errors are ignored: this is clean-up after an
/// error that is already being reported.
pub fn remove_staged(path: &Path) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if !meta.is_dir() {
        let _ = std::fs::remove_file(path);
        return;
    }
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            remove_staged(&entry.path());
        }
    }
    let _ = std::fs::remove_dir(path);
}

/// rename(2), with a plain message for the one refusal users will meet: a
/// file or symlink never replaces a directory.
pub fn rename_over(tmp: &Path, target: &Path) -> io::Result<()> {
    std::fs::rename(tmp, target).map_err(|e| match e.raw_os_error() {
        Some(libc::EISDIR) | Some(libc::ENOTEMPTY) | Some(libc::EEXIST) => io::Error::new(
            e.kind(),
            "is a directory in the destination; not replaced by a file or symlink",
        ),
        _ => e,
    })
}

/// Make `target` a symlink to `points_to`, replacing whatever non-directory
/// was there (a symlink's own owner is set, never its target's).
pub fn replace_symlink(target: &Path, points_to: &Path, owner: Ownership) -> io::Result<()> {
    let tmp = stage_symlink(target, points_to, owner)?;
    let mut guard = TempGuard(Some(tmp.clone()));
    rename_over(&tmp, target)?;
    guard.0 = None;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn replaces_content_mode_and_leaves_no_temp_behind() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("f");
        std::fs::write(&t, "old").unwrap();
        replace_file(&t, 0o640, Ownership::default(), |f| f.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read(&t).unwrap(), b"new");
        assert_eq!(
            std::fs::metadata(&t).unwrap().permissions().mode() & 0o7777,
            0o640
        );
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_fill_keeps_the_old_file_and_removes_the_temp() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("f");
        std::fs::write(&t, "old").unwrap();
        let err = replace_file(&t, 0o644, Ownership::default(), |_| {
            Err(io::Error::other("boom"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&t).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn symlink_replaces_a_file_and_a_symlink() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("l");
        std::fs::write(&t, "was a file").unwrap();
        replace_symlink(&t, Path::new("../elsewhere"), Ownership::default()).unwrap();
        assert_eq!(std::fs::read_link(&t).unwrap(), Path::new("../elsewhere"));
        replace_symlink(&t, Path::new("x"), Ownership::default()).unwrap();
        assert_eq!(std::fs::read_link(&t).unwrap(), Path::new("x"));
    }

    #[test]
    fn staged_trees_are_removed_even_when_read_only() {
        let d = tempfile::tempdir().unwrap();
        let top = stage_dir(&d.path().join("new"), Ownership::default()).unwrap();
        new_dir(&top.join("sub"), Ownership::default()).unwrap();
        write_new_file(&top.join("sub/f"), 0o444, Ownership::default(), |f| {
            f.write_all(b"x")
        })
        .unwrap();
        new_symlink(&top.join("l"), Path::new("sub/f"), Ownership::default()).unwrap();
        for dir in [top.join("sub"), top.clone()] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        remove_staged(&top);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_directory_is_not_replaced() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("sub");
        std::fs::create_dir(&t).unwrap();
        std::fs::write(t.join("keep"), "").unwrap();
        assert!(replace_file(&t, 0o644, Ownership::default(), |_| Ok(())).is_err());
        assert!(t.join("keep").exists());
    }
}
