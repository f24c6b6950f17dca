//! Write a [`Plan`] onto DST, and describe it for `-v` and `--dry-run`.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::CopyError;
use super::atomic_write::{self, Ownership};
use super::mode::ChmodSpec;
use super::owner::Owner;
use super::plan::{Content, Item, Kind, Plan};

/// How entries are written.
#[derive(Debug, Default)]
pub struct Options {
    /// `--chown`.
    pub owner: Option<Owner>,
    /// `--chmod`, for regular files.
    pub chmod: Option<ChmodSpec>,
    /// Give entries their source's owner (we are root and no --chown).
    pub preserve_owner: bool,
    /// `-v`.
    pub verbose: bool,
}

/// Counts for the summary line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub files: usize,
    pub templated: usize,
    pub replacements: usize,
    pub symlinks: usize,
    pub dirs_created: usize,
    pub skipped: usize,
}

impl Options {
    fn ownership(&self, item: &Item) -> Ownership {
        match (self.owner, self.preserve_owner) {
            (Some(o), _) => Ownership {
                uid: o.uid,
                gid: o.gid,
            },
            (None, true) => Ownership {
                uid: Some(item.uid),
                gid: Some(item.gid),
            },
            (None, false) => Ownership::default(),
        }
    }

    fn file_mode(&self, mode: u32) -> u32 {
        self.chmod.as_ref().map_or(mode, |c| c.apply(mode))
    }
}

/// Write every item of `plan` under `dst`, all or nothing: every entry is
/// first staged (files and symlinks under a temporary name beside their
/// destination, a new directory under a temporary name with its whole new
/// subtree inside), and only when all are staged are they renamed into
/// place. Any error before that removes what was staged, so DST is left as
/// it was.
pub fn apply(plan: &Plan, dst: &Path, opts: &Options) -> Result<Stats, CopyError> {
    let mut stage = Stage::default();
    let mut stats = Stats::default();
    let mut log = Vec::new();
    for item in &plan.items {
        stage_item(&mut stage, item, dst, opts, &mut stats, &mut log)?;
    }
    stage.commit()?;
    if opts.verbose {
        for line in log {
            eprintln!("copy: {line}");
        }
    }
    Ok(stats)
}

/// What has been staged so far. Dropped before [`commit`](Stage::commit)
/// finishes, it removes every staged entry not yet renamed into place.
#[derive(Default)]
struct Stage {
    /// (staged path, destination): files and symlinks staged beside an
    /// existing entry, and new top-level directories, in plan order.
    renames: Vec<(PathBuf, PathBuf)>,
    /// How many of `renames` are in place.
    done: usize,
    /// A new directory (path relative to SRC) → where it is being built.
    new_dirs: HashMap<PathBuf, PathBuf>,
    /// Modes of the new directories, set once everything is in them (so a
    /// read-only source directory does not stop us filling its copy).
    dir_modes: Vec<(PathBuf, PathBuf, u32)>,
}

impl Stage {
    /// Where the entry `rel` is written now, and whether that is already its
    /// final name (inside a new directory, which is renamed as a whole).
    fn place(&self, rel: &Path, dst: &Path) -> (PathBuf, bool) {
        let staged_parent = rel.parent().and_then(|p| self.new_dirs.get(p));
        match (staged_parent, rel.file_name()) {
            (Some(parent), Some(name)) => (parent.join(name), true),
            _ => (dst.join(rel), false),
        }
    }

    /// Give the new directories their modes (deepest first), then rename
    /// every staged entry into place.
    fn commit(&mut self) -> Result<(), CopyError> {
        for (at, shown, mode) in self.dir_modes.iter().rev() {
            std::fs::set_permissions(at, std::fs::Permissions::from_mode(*mode)).map_err(
                |source| CopyError::Write {
                    path: shown.clone(),
                    source,
                },
            )?;
        }
        while let Some((staged, target)) = self.renames.get(self.done) {
            atomic_write::rename_over(staged, target).map_err(|source| CopyError::Write {
                path: target.clone(),
                source,
            })?;
            self.done += 1;
        }
        Ok(())
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        for (staged, _) in &self.renames[self.done..] {
            atomic_write::remove_staged(staged);
        }
    }
}

fn stage_item(
    stage: &mut Stage,
    item: &Item,
    dst: &Path,
    opts: &Options,
    stats: &mut Stats,
    log: &mut Vec<String>,
) -> Result<(), CopyError> {
    let target = dst.join(&item.rel);
    let werr = |source: io::Error| CopyError::Write {
        path: target.clone(),
        source,
    };
    let (at, in_new_dir) = stage.place(&item.rel, dst);
    let owner = opts.ownership(item);
    // A file or symlink is never renamed over a directory: found now, not
    // half-way through the renames.
    if !in_new_dir
        && !matches!(item.kind, Kind::Dir { .. } | Kind::Special)
        && std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir())
    {
        return Err(werr(io::Error::other(
            "is a directory in the destination; not replaced by a file or symlink",
        )));
    }
    match &item.kind {
        Kind::Dir { mode } => {
            let built = if in_new_dir {
                atomic_write::new_dir(&at, owner).map_err(werr)?;
                at
            } else if existing_dir(&target).map_err(werr)? {
                return Ok(());
            } else {
                let staged = atomic_write::stage_dir(&target, owner).map_err(werr)?;
                stage.renames.push((staged.clone(), target.clone()));
                staged
            };
            stage.new_dirs.insert(item.rel.clone(), built.clone());
            stage.dir_modes.push((built, target.clone(), *mode));
            stats.dirs_created += 1;
            log.push(format!("mkdir {}", target.display()));
        }
        Kind::File { mode, content } => {
            let mode = opts.file_mode(*mode);
            let bytes = match content {
                Content::Verbatim => None,
                Content::Read(bytes) | Content::Rendered { bytes, .. } => Some(bytes),
            };
            let mut from = match bytes {
                Some(_) => None,
                None => Some(File::open(&item.src).map_err(|source| CopyError::Read {
                    path: item.src.clone(),
                    source,
                })?),
            };
            let fill_failed = Cell::new(false);
            let fill = |to: &mut File| {
                let filled = match (bytes, from.as_mut()) {
                    (Some(bytes), _) => io::Write::write_all(to, bytes),
                    (None, Some(from)) => io::copy(from, to).map(drop),
                    (None, None) => Ok(()),
                };
                fill_failed.set(filled.is_err());
                filled
            };
            let written = if in_new_dir {
                atomic_write::write_new_file(&at, mode, owner, fill)
            } else {
                atomic_write::stage_file(&target, mode, owner, fill)
                    .map(|staged| stage.renames.push((staged, target.clone())))
            };
            written.map_err(|source| match from {
                // Failing part-way through a copy may be the source's fault
                // (EIO) or DST's (ENOSPC): name both.
                Some(_) if fill_failed.get() => CopyError::Copy {
                    from: item.src.clone(),
                    to: target.clone(),
                    source,
                },
                _ => werr(source),
            })?;
            stats.files += 1;
            match content {
                Content::Rendered { replaced, .. } => {
                    stats.templated += 1;
                    stats.replacements += replaced.len();
                    log.push(format!(
                        "templated {}{}",
                        target.display(),
                        replaced_note(replaced)
                    ));
                }
                _ => log.push(format!("copied {}", target.display())),
            }
        }
        Kind::Symlink { target: points_to } => {
            if in_new_dir {
                atomic_write::new_symlink(&at, points_to, owner).map_err(werr)?;
            } else {
                let staged =
                    atomic_write::stage_symlink(&target, points_to, owner).map_err(werr)?;
                stage.renames.push((staged, target.clone()));
            }
            stats.symlinks += 1;
            log.push(format!(
                "symlink {} -> {}",
                target.display(),
                points_to.display()
            ));
        }
        Kind::Special => {
            stats.skipped += 1;
            eprintln!(
                "copy: skipped {} (not a file, directory or symlink)",
                item.src.display()
            );
        }
    }
    Ok(())
}

/// Whether `dir` is already a directory (following symlinks, so an overlay
/// onto `/` writes through `/lib -> usr/lib`); false when nothing is there;
/// an error when something else is, a dangling symlink included.
fn existing_dir(dir: &Path) -> io::Result<bool> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(true),
        Ok(_) => Err(io::Error::other("exists and is not a directory")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(dir).is_ok() {
                Err(io::Error::other(
                    "is a symlink to nothing; not replaced by a directory",
                ))
            } else {
                Ok(false)
            }
        }
        Err(e) => Err(e),
    }
}

/// ", 2 replacements: A, B (default)", or nothing for Tera renders.
fn replaced_note(replaced: &[String]) -> String {
    if replaced.is_empty() {
        String::new()
    } else {
        format!(", {} replacements: {}", replaced.len(), replaced.join(", "))
    }
}

/// `--dry-run`: one line per entry that would be written, on stdout, and
/// the counts a real run would report.
pub fn describe(plan: &Plan, dst: &Path) -> Stats {
    let mut stats = Stats::default();
    for item in &plan.items {
        let target = dst.join(&item.rel);
        match &item.kind {
            Kind::Dir { .. } => {
                if !std::fs::metadata(&target).is_ok_and(|m| m.is_dir()) {
                    stats.dirs_created += 1;
                    println!("mkdir {}", target.display());
                }
            }
            Kind::File {
                content: Content::Verbatim | Content::Read(_),
                ..
            } => {
                stats.files += 1;
                println!("write {}", target.display());
            }
            Kind::File {
                content: Content::Rendered { replaced, .. },
                ..
            } => {
                stats.files += 1;
                stats.templated += 1;
                stats.replacements += replaced.len();
                println!(
                    "write {} (templated{})",
                    target.display(),
                    replaced_note(replaced)
                );
            }
            Kind::Symlink { target: to } => {
                stats.symlinks += 1;
                println!("symlink {} -> {}", target.display(), to.display());
            }
            Kind::Special => {
                stats.skipped += 1;
                println!(
                    "skip {} (not a file, directory or symlink)",
                    item.src.display()
                );
            }
        }
    }
    stats
}
