//! The files overlay: every `<svc>/files/` tree of every resolved mode,
//! copied in mode order into `<files-dir>/<svc>/` (later modes overwrite
//! earlier files; dotfiles, permissions, mtimes and symlinks kept).
//!
//! The new tree is built beside the old one and swapped in only when it is
//! complete, and the files dir must be a safe thing to delete.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use walkdir::WalkDir;

use super::MdcError;

/// One tree to copy: `src` (a mode's `<svc>/files`) into `<files-dir>/<svc>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlay {
    pub svc: String,
    pub src: PathBuf,
}

/// The `<svc>/files` directories of a mode directory, by service name.
pub fn overlays_of(mode_dir: &Path) -> Result<Vec<Overlay>, MdcError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(mode_dir).map_err(MdcError::read(mode_dir))? {
        let entry = entry.map_err(MdcError::read(mode_dir))?;
        let src = entry.path().join("files");
        // Following symlinks on purpose: `svc` or `svc/files` may be links.
        if src.is_dir() {
            let svc = entry.file_name().to_string_lossy().into_owned();
            found.push(Overlay { svc, src });
        }
    }
    found.sort_by(|a, b| a.svc.cmp(&b.svc));
    Ok(found)
}

/// `path` made absolute against `cwd`, with `.` and `..` removed lexically
/// and its longest existing ancestor resolved through symlinks.
fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    let mut lexical = PathBuf::new();
    for comp in cwd.join(path).components() {
        match comp {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return lexical,
        }
    }
}

/// Check that the files dir may be deleted and rebuilt: not `/`, the
/// project dir (`project`, canonical) or the home dir, inside the project,
/// neither holding nor inside a modes dir (it would destroy the modes), and
/// a directory if it exists. Returns its absolute path.
pub fn check_files_dir(
    path: &Path,
    project: &Path,
    modes_dirs: &[PathBuf],
) -> Result<PathBuf, MdcError> {
    let refuse = |reason: String| MdcError::FilesDir {
        path: path.to_owned(),
        reason,
    };
    let abs = absolute(path, project);
    let home = std::env::var_os("HOME").map(|h| absolute(Path::new(&h), project));
    if abs.parent().is_none() {
        return Err(refuse("refusing to delete `/`".into()));
    }
    if abs == project {
        return Err(refuse("refusing to delete the project dir itself".into()));
    }
    if home.as_deref() == Some(abs.as_path()) {
        return Err(refuse("refusing to delete the home dir".into()));
    }
    if !abs.starts_with(project) {
        return Err(refuse(format!(
            "refusing to delete {} outside the project dir {}",
            abs.display(),
            project.display()
        )));
    }
    for modes in modes_dirs {
        let modes_abs = absolute(modes, project);
        if modes_abs.starts_with(&abs) {
            return Err(refuse(format!(
                "refusing to delete it: it holds the modes dir {}",
                modes.display()
            )));
        }
        if abs.starts_with(&modes_abs) {
            return Err(refuse(format!(
                "refusing to rebuild it inside the modes dir {}",
                modes.display()
            )));
        }
    }
    if let Ok(meta) = fs::symlink_metadata(&abs) {
        if !meta.is_dir() {
            return Err(refuse("exists and is not a directory".into()));
        }
    }
    Ok(abs)
}

/// Copy every overlay, in order, into a fresh directory `dest`.
fn build(dest: &Path, overlays: &[Overlay]) -> Result<(), MdcError> {
    fs::create_dir(dest).map_err(MdcError::write(dest))?;
    // Directory permissions are applied last, so a read-only directory from
    // one mode does not stop a later mode from adding files to it.
    let mut dir_modes: BTreeMap<PathBuf, fs::Permissions> = BTreeMap::new();
    for overlay in overlays {
        let root = dest.join(&overlay.svc);
        make_dir(&root)?;
        let walk = WalkDir::new(&overlay.src)
            .min_depth(1)
            .follow_links(false)
            .sort_by_file_name();
        for entry in walk {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(&overlay.src).to_owned();
                MdcError::Read {
                    path,
                    source: e.into(),
                }
            })?;
            let rel = entry
                .path()
                .strip_prefix(&overlay.src)
                .unwrap_or_else(|_| unreachable!("walkdir yields paths under its root"));
            let target = root.join(rel);
            let src = entry.path();
            let kind = entry.file_type();
            if kind.is_dir() {
                make_dir(&target)?;
                let meta = fs::metadata(src).map_err(MdcError::read(src))?;
                dir_modes.insert(target, meta.permissions());
            } else if kind.is_symlink() {
                clear(&target)?;
                let link = fs::read_link(src).map_err(MdcError::read(src))?;
                std::os::unix::fs::symlink(&link, &target).map_err(MdcError::write(&target))?;
            } else if kind.is_file() {
                clear(&target)?;
                copy_file(src, &target)?;
            } else {
                tracing::warn!("{}: skipping special file", src.display());
            }
        }
    }
    for (dir, perms) in dir_modes.into_iter().rev() {
        fs::set_permissions(&dir, perms).map_err(MdcError::write(&dir))?;
    }
    Ok(())
}

/// A directory at `path`, replacing a file or symlink an earlier mode put there.
fn make_dir(path: &Path) -> Result<(), MdcError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => fs::remove_file(path).map_err(MdcError::write(path))?,
        Err(_) => {}
    }
    fs::create_dir(path).map_err(MdcError::write(path))
}

/// Remove whatever an earlier mode left at `path`.
fn clear(path: &Path) -> Result<(), MdcError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path).map_err(MdcError::write(path)),
        Ok(_) => fs::remove_file(path).map_err(MdcError::write(path)),
        Err(_) => Ok(()),
    }
}

/// Copy contents and permissions (`fs::copy`), then the modification time.
fn copy_file(src: &Path, dest: &Path) -> Result<(), MdcError> {
    fs::copy(src, dest).map_err(|e| match fs::File::open(src) {
        Err(read) => MdcError::read(src)(read),
        Ok(_) => MdcError::write(dest)(e),
    })?;
    let meta = fs::metadata(src).map_err(MdcError::read(src))?;
    if let Ok(modified) = meta.modified() {
        let file = fs::OpenOptions::new()
            .write(true)
            .open(dest)
            .or_else(|_| fs::File::open(dest));
        // A read-only copy cannot always be reopened for writing; its mtime
        // is cosmetic, so that is not worth failing the run for.
        if let Ok(file) = file {
            let _ = file.set_modified(modified);
        }
    }
    Ok(())
}

/// A complete new files tree waiting beside the files dir; dropped without
/// [`commit`](StagedTree::commit), it is removed.
#[derive(Debug)]
pub struct StagedTree {
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl StagedTree {
    /// Build the tree for `overlays` next to `dest` (its parent is created
    /// when missing).
    pub fn build(dest: &Path, overlays: &[Overlay]) -> Result<StagedTree, MdcError> {
        let parent = dest.parent().unwrap_or(Path::new("/"));
        fs::create_dir_all(parent).map_err(MdcError::write(parent))?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = parent.join(format!(".{name}.mdc-new-{}", std::process::id()));
        let _ = remove_tree(&tmp);
        let staged = StagedTree {
            tmp,
            dest: dest.to_owned(),
            committed: false,
        };
        build(&staged.tmp, overlays)?;
        Ok(staged)
    }

    /// Swap the new tree in and delete the old one.
    pub fn commit(mut self) -> Result<(), MdcError> {
        let old = self.tmp.with_file_name(
            self.tmp
                .file_name()
                .map(|n| n.to_string_lossy().replace(".mdc-new-", ".mdc-old-"))
                .unwrap_or_default(),
        );
        let had_old = match fs::rename(&self.dest, &old) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(MdcError::write(&self.dest)(e)),
        };
        if let Err(e) = fs::rename(&self.tmp, &self.dest) {
            if had_old {
                let _ = fs::rename(&old, &self.dest);
            }
            return Err(MdcError::write(&self.dest)(e));
        }
        self.committed = true;
        if had_old {
            if let Err(e) = remove_tree(&old) {
                tracing::warn!("could not remove the old files tree {}: {e}", old.display());
            }
        }
        Ok(())
    }
}

impl Drop for StagedTree {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_tree(&self.tmp);
        }
    }
}

/// Remove a tree, first making its directories writable (copied trees may
/// hold read-only ones, which would stop a plain recursive delete).
fn remove_tree(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    for entry in WalkDir::new(path).follow_links(false).into_iter().flatten() {
        if entry.file_type().is_dir() {
            let _ = fs::set_permissions(entry.path(), fs::Permissions::from_mode(0o700));
        }
    }
    fs::remove_dir_all(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_dir_safety() {
        let tmp = tempfile::tempdir().unwrap();
        let project = tmp.path().canonicalize().unwrap();
        let modes = vec![PathBuf::from("./modes")];
        let ok = check_files_dir(Path::new("./.files"), &project, &modes).unwrap();
        assert_eq!(ok, project.join(".files"));
        assert_eq!(
            check_files_dir(Path::new("build/x/../files"), &project, &modes).unwrap(),
            project.join("build/files")
        );
        for bad in [
            ".",
            "./",
            "/",
            "..",
            "../elsewhere",
            "/tmp",
            "x/../..",
            "modes/..",
        ] {
            let err = check_files_dir(Path::new(bad), &project, &modes).unwrap_err();
            assert!(matches!(err, MdcError::FilesDir { .. }), "{bad}: {err}");
        }
        fs::write(project.join("plain"), "x").unwrap();
        assert!(check_files_dir(Path::new("plain"), &project, &modes).is_err());
        // A symlink that leads outside is judged by where it leads.
        std::os::unix::fs::symlink("/tmp", project.join("out")).unwrap();
        assert!(check_files_dir(Path::new("out/files"), &project, &modes).is_err());
    }
}
