//! Write a [`Plan`] onto DST, and describe it for `-v` and `--dry-run`.

use std::fs::File;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
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

/// Write every item of `plan` under `dst`.
pub fn apply(plan: &Plan, dst: &Path, opts: &Options) -> Result<Stats, CopyError> {
    let mut stats = Stats::default();
    // Modes of directories we create are set last, so a read-only source
    // directory does not stop us from filling its copy.
    let mut created_dirs: Vec<(PathBuf, u32)> = Vec::new();
    for item in &plan.items {
        let target = dst.join(&item.rel);
        let werr = |source: io::Error| CopyError::Write {
            path: target.clone(),
            source,
        };
        match &item.kind {
            Kind::Dir { mode } => {
                if make_dir(&target, opts.ownership(item)).map_err(werr)? {
                    created_dirs.push((target.clone(), *mode));
                    stats.dirs_created += 1;
                    if opts.verbose {
                        eprintln!("copy: mkdir {}", target.display());
                    }
                }
            }
            Kind::File { mode, content } => {
                let mode = opts.file_mode(*mode);
                match content {
                    Content::Verbatim => {
                        let mut from = File::open(&item.src).map_err(|source| CopyError::Read {
                            path: item.src.clone(),
                            source,
                        })?;
                        atomic_write::replace_file(&target, mode, opts.ownership(item), |to| {
                            io::copy(&mut from, to).map(drop)
                        })
                        .map_err(werr)?;
                        if opts.verbose {
                            eprintln!("copy: copied {}", target.display());
                        }
                    }
                    Content::Read(bytes) => {
                        atomic_write::replace_file(&target, mode, opts.ownership(item), |to| {
                            io::Write::write_all(to, bytes)
                        })
                        .map_err(werr)?;
                        if opts.verbose {
                            eprintln!("copy: copied {}", target.display());
                        }
                    }
                    Content::Rendered { bytes, replaced } => {
                        atomic_write::replace_file(&target, mode, opts.ownership(item), |to| {
                            io::Write::write_all(to, bytes)
                        })
                        .map_err(werr)?;
                        stats.templated += 1;
                        stats.replacements += replaced.len();
                        if opts.verbose {
                            eprintln!(
                                "copy: templated {}{}",
                                target.display(),
                                replaced_note(replaced)
                            );
                        }
                    }
                }
                stats.files += 1;
            }
            Kind::Symlink { target: points_to } => {
                atomic_write::replace_symlink(&target, points_to, opts.ownership(item))
                    .map_err(werr)?;
                stats.symlinks += 1;
                if opts.verbose {
                    eprintln!(
                        "copy: symlink {} -> {}",
                        target.display(),
                        points_to.display()
                    );
                }
            }
            Kind::Special => {
                stats.skipped += 1;
                eprintln!(
                    "copy: skipped {} (not a file, directory or symlink)",
                    item.src.display()
                );
            }
        }
    }
    for (dir, mode) in created_dirs.iter().rev() {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(*mode)).map_err(
            |source| CopyError::Write {
                path: dir.clone(),
                source,
            },
        )?;
    }
    Ok(stats)
}

/// Ensure `dir` is a directory (following symlinks, so an overlay onto `/`
/// writes through `/lib -> usr/lib`); true when we created it.
fn make_dir(dir: &Path, owner: Ownership) -> io::Result<bool> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(false),
        Ok(_) => return Err(io::Error::other("exists and is not a directory")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::DirBuilder::new().mode(0o700).create(dir)?;
    if owner.uid.is_some() || owner.gid.is_some() {
        std::os::unix::fs::chown(dir, owner.uid, owner.gid)?;
    }
    Ok(true)
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
