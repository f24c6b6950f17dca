//! Read SRC and decide everything before touching DST: what each entry is,
//! and for templated files their rendered bytes. Template failures are
//! collected here, so `--strict` and `--tera` errors leave DST untouched.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::CopyError;
use super::size::ByteSize;
use super::template::{self, as_template_text};
use super::tera_mode::{self, has_tera_syntax};

/// Bigger files are copied byte for byte, never read whole for templating.
pub const MAX_TEMPLATE_BYTES: u64 = 64 << 20;
/// Files read for templating that turn out verbatim are kept in memory
/// (saving a second open and read) up to this size each …
const KEEP_FILE_BYTES: usize = 64 << 10;
/// … and this much in total.
const KEEP_TOTAL_BYTES: usize = 256 << 20;

/// How file contents are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Templating {
    None,
    Tokens { strict: bool },
    Tera,
}

/// One entry of SRC, by its path relative to SRC.
#[derive(Debug)]
pub struct Item {
    pub rel: PathBuf,
    pub src: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub kind: Kind,
}

#[derive(Debug)]
pub enum Kind {
    Dir {
        mode: u32,
    },
    File {
        mode: u32,
        content: Content,
    },
    Symlink {
        target: PathBuf,
    },
    /// FIFOs, sockets, device nodes: not copied.
    Special,
}

#[derive(Debug)]
pub enum Content {
    /// Copied byte for byte from the source at write time.
    Verbatim,
    /// Copied byte for byte from these bytes, read while planning.
    Read(Vec<u8>),
    /// Rendered template output; `replaced` lists each replacement.
    Rendered {
        bytes: Vec<u8>,
        replaced: Vec<String>,
    },
}

/// Everything to write, or the template problems that stop the copy.
#[derive(Debug, Default)]
pub struct Plan {
    pub items: Vec<Item>,
    pub problems: Vec<String>,
}

/// Walk `src` and render its templates; no rendered file may be bigger than
/// `max_render`.
pub fn build(src: &Path, templating: Templating, max_render: ByteSize) -> Result<Plan, CopyError> {
    let mut plan = Plan::default();
    let mut kept = 0usize;
    // (item index, template name, text) for --tera, rendered together below.
    let mut tera_sources: Vec<(usize, String, String)> = Vec::new();
    for entry in WalkDir::new(src)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| CopyError::Walk {
            path: e.path().unwrap_or(src).to_path_buf(),
            source: e.into(),
        })?;
        let path = entry.path();
        let rel = path.strip_prefix(src).unwrap_or(path).to_path_buf();
        let meta = entry.metadata().map_err(|e| CopyError::Walk {
            path: path.to_path_buf(),
            source: e.into(),
        })?;
        let ft = meta.file_type();
        let mode = meta.permissions().mode() & 0o7777;
        let kind = if ft.is_dir() {
            Kind::Dir { mode }
        } else if ft.is_symlink() {
            let target = std::fs::read_link(path).map_err(|e| CopyError::Read {
                path: path.to_path_buf(),
                source: e,
            })?;
            Kind::Symlink { target }
        } else if ft.is_file() {
            let content = match templating {
                Templating::None => Content::Verbatim,
                _ if meta.len() > MAX_TEMPLATE_BYTES => Content::Verbatim,
                Templating::Tokens { strict } => {
                    let bytes = std::fs::read(path).map_err(|e| CopyError::Read {
                        path: path.to_path_buf(),
                        source: e,
                    })?;
                    match render_tokens(&bytes, path, strict, max_render, &mut plan.problems) {
                        Content::Verbatim
                            if bytes.len() <= KEEP_FILE_BYTES
                                && kept + bytes.len() <= KEEP_TOTAL_BYTES =>
                        {
                            kept += bytes.len();
                            Content::Read(bytes)
                        }
                        other => other,
                    }
                }
                Templating::Tera => {
                    let bytes = std::fs::read(path).map_err(|e| CopyError::Read {
                        path: path.to_path_buf(),
                        source: e,
                    })?;
                    if let Some(text) = as_template_text(&bytes).filter(|t| has_tera_syntax(t)) {
                        tera_sources.push((
                            plan.items.len(),
                            rel.to_string_lossy().into_owned(),
                            text.to_owned(),
                        ));
                    }
                    Content::Verbatim
                }
            };
            Kind::File { mode, content }
        } else {
            Kind::Special
        };
        plan.items.push(Item {
            rel,
            src: path.to_path_buf(),
            uid: meta.uid(),
            gid: meta.gid(),
            kind,
        });
    }
    if !tera_sources.is_empty() {
        render_tera(&mut plan, tera_sources, src, max_render);
    }
    Ok(plan)
}

fn render_tokens(
    bytes: &[u8],
    path: &Path,
    strict: bool,
    max_render: ByteSize,
    problems: &mut Vec<String>,
) -> Content {
    let Some(text) = as_template_text(bytes) else {
        return Content::Verbatim;
    };
    if !text.contains("{{") {
        return Content::Verbatim;
    }
    let Some(r) = template::render_capped(text, template::env_lookup, max_render.bytes()) else {
        problems.push(tera_mode::too_big(&path.display().to_string(), max_render));
        return Content::Verbatim;
    };
    if strict {
        for u in &r.unset {
            problems.push(format!(
                "{}:{}: {} is not set",
                path.display(),
                u.line,
                u.token
            ));
        }
    }
    if r.replacements == 0 {
        return Content::Verbatim;
    }
    Content::Rendered {
        bytes: r.output,
        replaced: r.replaced,
    }
}

fn render_tera(
    plan: &mut Plan,
    sources: Vec<(usize, String, String)>,
    src: &Path,
    max_render: ByteSize,
) {
    let (indexes, named): (Vec<usize>, Vec<(String, String)>) =
        sources.into_iter().map(|(i, n, t)| (i, (n, t))).unzip();
    let results = match tera_mode::render_isolated(&named, max_render) {
        Ok(results) => results,
        Err(e) => {
            plan.problems.push(format!("{}/{e}", src.display()));
            return;
        }
    };
    for (index, result) in indexes.into_iter().zip(results) {
        match result {
            Ok(bytes) => {
                if let Kind::File { content, .. } = &mut plan.items[index].kind {
                    *content = Content::Rendered {
                        bytes,
                        replaced: Vec::new(),
                    };
                }
            }
            Err(e) => plan.problems.push(format!("{}/{e}", src.display())),
        }
    }
}
