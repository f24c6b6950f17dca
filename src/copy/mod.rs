//! copy: overlay a directory tree onto another, binary-safe, with `{{NAME}}`
//! ([`template`]) or Tera ([`tera_mode`]) templating, then exec a command.
//!
//! Flow: [`cli`] → [`plan::build`] (walk SRC, render templates — Tera ones
//! in a child process, [`isolate`] — each bounded by [`size`], collect
//! problems) → [`apply::apply`] (stage everything, then rename into place,
//! via [`atomic_write`]) or [`apply::describe`] for `--dry-run` →
//! [`crate::exec`].

pub mod apply;
pub mod atomic_write;
pub mod cli;
pub mod isolate;
pub mod mode;
pub mod owner;
pub mod plan;
pub mod size;
pub mod template;
pub mod tera_mode;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use apply::Stats;
use plan::Templating;

/// Failures while reading SRC or writing DST (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("reading {}: {source}", .path.display())]
    Walk {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Copying a file failed part-way: reading the one or writing the other.
    #[error("copying {} to {}: {source}", .from.display(), .to.display())]
    Copy {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The clap command, for help and completions.
pub fn command() -> clap::Command {
    cli::Args::command()
}

pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match cli::Args::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    crate::logging::init(u8::from(crate::logging::env_verbose()));
    for dir in [&args.src, &args.dst] {
        if !is_dir(dir) {
            eprintln!("copy: not a directory: {}", dir.display());
            return ExitCode::from(crate::EXIT_USAGE);
        }
    }
    let templating = if args.tera {
        Templating::Tera
    } else if args.template {
        Templating::Tokens {
            strict: args.strict,
        }
    } else {
        Templating::None
    };
    let plan = match plan::build(&args.src, templating, args.max_render_size) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("copy: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !plan.problems.is_empty() {
        for p in &plan.problems {
            eprintln!("copy: {p}");
        }
        eprintln!(
            "copy: {} template problem(s); nothing was written",
            plan.problems.len()
        );
        return ExitCode::FAILURE;
    }
    if args.dry_run {
        let stats = apply::describe(&plan, &args.dst);
        println!("{}", summary(&stats, templating, true));
        if !args.command.is_empty() {
            let words: Vec<_> = args.command.iter().map(|a| a.to_string_lossy()).collect();
            println!("would exec: {}", words.join(" "));
        }
        return ExitCode::SUCCESS;
    }
    let opts = apply::Options {
        owner: args.chown,
        chmod: args.chmod,
        preserve_owner: args.chown.is_none() && nix::unistd::Uid::effective().is_root(),
        verbose: args.verbose,
    };
    match apply::apply(&plan, &args.dst, &opts) {
        Ok(stats) => {
            if !args.quiet {
                eprintln!("copy: {}", summary(&stats, templating, false));
            }
        }
        Err(e) => {
            eprintln!("copy: {e}");
            return ExitCode::FAILURE;
        }
    }
    crate::exec::exec_or_exit("copy", &args.command, None)
}

fn is_dir(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_dir())
}

/// `copied 412 files, templated 37 (93 replacements)`; `would copy …` for --dry-run.
pub fn summary(s: &Stats, templating: Templating, dry_run: bool) -> String {
    let mut out = format!(
        "{} {} file{}",
        if dry_run { "would copy" } else { "copied" },
        s.files,
        if s.files == 1 { "" } else { "s" }
    );
    match templating {
        Templating::None => {}
        Templating::Tokens { .. } => {
            out += &format!(
                ", templated {} ({} replacements)",
                s.templated, s.replacements
            )
        }
        Templating::Tera => out += &format!(", templated {} (tera)", s.templated),
    }
    if s.symlinks > 0 {
        out += &format!(
            ", {} symlink{}",
            s.symlinks,
            if s.symlinks == 1 { "" } else { "s" }
        );
    }
    if s.dirs_created > 0 {
        out += &format!(
            ", {} new director{}",
            s.dirs_created,
            if s.dirs_created == 1 { "y" } else { "ies" }
        );
    }
    if s.skipped > 0 {
        out += &format!(", skipped {}", s.skipped);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_reads_like_the_issue_says() {
        let s = Stats {
            files: 412,
            templated: 37,
            replacements: 93,
            ..Default::default()
        };
        assert_eq!(
            summary(&s, Templating::Tokens { strict: false }, false),
            "copied 412 files, templated 37 (93 replacements)"
        );
        let s = Stats {
            files: 1,
            symlinks: 2,
            dirs_created: 1,
            skipped: 1,
            ..Default::default()
        };
        assert_eq!(
            summary(&s, Templating::None, true),
            "would copy 1 file, 2 symlinks, 1 new directory, skipped 1"
        );
    }

    #[test]
    fn usage_errors_exit_2() {
        for bad in [
            &["copy"][..],
            &["copy", "a"],
            &["copy", "--strict", "a", "b"],
            &["copy", "-T", "--tera", "a", "b"],
            &["copy", "--chmod", "zz", "a", "b"],
            &["copy", "--nope", "a", "b"],
        ] {
            let e = cli::Args::try_parse_from(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} parsed"));
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
    }
}
