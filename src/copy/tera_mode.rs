//! `--tera`: full Tera templates (filters, conditionals, loops, includes)
//! with the environment as context: `{{ env.HOME }}`, or `get_env(name=…,
//! default=…)`. All templates of one copy live in one Tera instance named by
//! their path relative to SRC, so `{% include "common/header" %}` works.
//!
//! Templates are input, so nothing in them may crash copy: include cycles
//! and too-deep include chains are refused before rendering (Tera itself
//! would recurse until the stack overflows), output stops at the size
//! limit, and [`render_isolated`] renders in a child process (see
//! [`super::isolate`]) for what cannot be bounded from outside.

use std::collections::HashMap;
use std::error::Error as _;
use std::io::Write;

use tera::ast::Node;
use tera::{Context, Tera};

use super::isolate::{self, Frames};
use super::size::{ByteSize, Limited};

/// How deep `include`/`import`/`extends` may nest (a template including one
/// that includes another is 2 deep).
pub const MAX_INCLUDE_DEPTH: usize = 32;

/// Does the text use any Tera syntax at all? Text without it renders to
/// itself, so it is copied instead.
pub fn has_tera_syntax(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// The set of templates found under SRC, ready to render.
pub struct TeraSet {
    tera: Tera,
    context: Context,
}

impl TeraSet {
    /// Parse all templates (name = path relative to SRC). The error names the
    /// file and, for syntax errors, the line and column.
    pub fn new(templates: &[(String, String)]) -> Result<TeraSet, String> {
        let mut tera = Tera::default();
        // Files are not web pages: no HTML escaping whatever their suffix.
        tera.autoescape_on(vec![]);
        tera.add_raw_templates(templates.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|e| chain(&e))?;
        check_nesting(&tera)?;
        let env: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let mut context = Context::new();
        context.insert("env", &env);
        Ok(TeraSet { tera, context })
    }

    /// Render one template into `out`, stopping as soon as the output would
    /// pass `limit`; errors name the file and, where the message quotes the
    /// culprit, the first line that mentions it.
    pub fn render_to(
        &self,
        name: &str,
        source: &str,
        out: impl Write,
        limit: ByteSize,
    ) -> Result<(), String> {
        let mut out = Limited::new(out, limit);
        let rendered = self.tera.render_to(name, &self.context, &mut out);
        if out.exceeded() {
            return Err(too_big(name, limit));
        }
        rendered.map_err(|e| {
            let msg = chain(&e);
            match culprit_line(source, &msg) {
                Some(line) => format!("{name}:{line}: {msg}"),
                None => format!("{name}: {msg}"),
            }
        })
    }

    /// [`render_to`](Self::render_to) into a string.
    pub fn render(&self, name: &str, source: &str, limit: ByteSize) -> Result<String, String> {
        let mut out = Vec::new();
        self.render_to(name, source, &mut out, limit)?;
        String::from_utf8(out).map_err(|_| format!("{name}: rendered output is not UTF-8"))
    }
}

/// The error for output over the limit.
pub fn too_big(name: &str, limit: ByteSize) -> String {
    format!(
        "{name}: renders to more than {limit}, the limit per file (--max-render-size, COPY_MAX_RENDER_SIZE)"
    )
}

/// The templates a template pulls in when rendered: what it includes (the
/// first of a list that exists, as Tera picks), imports macros from, and
/// extends.
fn pulls_in<'a>(tera: &'a Tera, template: &'a tera::Template) -> Vec<&'a str> {
    fn walk<'a>(tera: &'a Tera, nodes: &'a [Node], out: &mut Vec<&'a str>) {
        for node in nodes {
            match node {
                Node::Include(_, names, _) => {
                    if let Some(n) = names.iter().find(|n| tera.templates.contains_key(*n)) {
                        out.push(n);
                    }
                }
                Node::MacroDefinition(_, m, _) => walk(tera, &m.body, out),
                Node::FilterSection(_, f, _) => walk(tera, &f.body, out),
                Node::Block(_, b, _) => walk(tera, &b.body, out),
                Node::Forloop(_, f, _) => {
                    walk(tera, &f.body, out);
                    walk(tera, f.empty_body.as_deref().unwrap_or_default(), out);
                }
                Node::If(i, _) => {
                    for (_, _, body) in &i.conditions {
                        walk(tera, body, out);
                    }
                    if let Some((_, body)) = &i.otherwise {
                        walk(tera, body, out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(tera, &template.ast, &mut out);
    out.extend(
        template
            .imported_macro_files
            .iter()
            .map(|(f, _)| f.as_str()),
    );
    out.extend(template.parent.as_deref());
    out.retain(|n| tera.templates.contains_key(*n));
    out.sort_unstable();
    out.dedup();
    out
}

/// Refuse include cycles (Tera follows them until the stack overflows;
/// mutual macro imports do the same while loading) and chains deeper than
/// [`MAX_INCLUDE_DEPTH`]. The walk itself never goes deeper than that.
fn check_nesting(tera: &Tera) -> Result<(), String> {
    struct Walk<'a> {
        edges: HashMap<&'a str, Vec<&'a str>>,
        /// Templates fully walked: the longest chain from them, as the next
        /// template on it and its length.
        longest: HashMap<&'a str, (Option<&'a str>, usize)>,
        path: Vec<&'a str>,
    }
    impl<'a> Walk<'a> {
        fn chain_from(&self, mut at: Option<&'a str>) -> Vec<&'a str> {
            let mut chain = Vec::new();
            while let Some(n) = at {
                chain.push(n);
                at = self.longest.get(n).and_then(|(next, _)| *next);
            }
            chain
        }

        fn too_deep(&self, rest: Vec<&'a str>) -> String {
            let chain: Vec<&str> = self.path.iter().copied().chain(rest).collect();
            format!(
                "{}: includes nested more than {MAX_INCLUDE_DEPTH} deep (through include, import or extends): {}",
                chain[0],
                chain.join(" -> ")
            )
        }

        /// The length of the longest chain starting at `n`.
        fn visit(&mut self, n: &'a str) -> Result<usize, String> {
            if let Some((_, len)) = self.longest.get(n) {
                return Ok(*len);
            }
            if let Some(at) = self.path.iter().position(|p| *p == n) {
                let cycle: Vec<&str> = self.path[at..].iter().copied().chain([n]).collect();
                return Err(format!(
                    "{n}: includes itself (through include, import or extends): {}",
                    cycle.join(" -> ")
                ));
            }
            self.path.push(n);
            if self.path.len() > MAX_INCLUDE_DEPTH + 1 {
                return Err(self.too_deep(Vec::new()));
            }
            let mut best = (None, 1);
            for next in self.edges.get(n).cloned().unwrap_or_default() {
                let len = self.visit(next)?;
                if self.path.len() + len > MAX_INCLUDE_DEPTH + 1 {
                    return Err(self.too_deep(self.chain_from(Some(next))));
                }
                if len + 1 > best.1 {
                    best = (Some(next), len + 1);
                }
            }
            self.path.pop();
            self.longest.insert(n, best);
            Ok(best.1)
        }
    }
    let mut names: Vec<&str> = tera.templates.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut walk = Walk {
        edges: tera
            .templates
            .iter()
            .map(|(n, t)| (n.as_str(), pulls_in(tera, t)))
            .collect(),
        longest: HashMap::new(),
        path: Vec::new(),
    };
    for name in names {
        walk.visit(name)?;
    }
    Ok(())
}

/// Frame tags between the rendering child and copy.
mod tag {
    /// Set-up failed (a parse error, an include cycle): the message.
    pub const SETUP: u8 = b'P';
    /// Rendering template N (u32 LE) starts.
    pub const START: u8 = b'S';
    /// A piece of its output.
    pub const DATA: u8 = b'D';
    /// It rendered completely.
    pub const DONE: u8 = b'K';
    /// It failed: the message.
    pub const ERROR: u8 = b'E';
}

/// Output on its way to the parent, in frames of [`CHUNK`] bytes (one
/// write may be far bigger: a long text or a macro's whole output).
struct FrameOut<'a> {
    frames: &'a mut Frames,
    buf: Vec<u8>,
}

const CHUNK: usize = 64 << 10;

impl FrameOut<'_> {
    /// Send every whole chunk, keeping the rest.
    fn send_chunks(&mut self) -> std::io::Result<()> {
        let whole = self.buf.len() / CHUNK * CHUNK;
        for chunk in self.buf[..whole].chunks(CHUNK) {
            self.frames.send(tag::DATA, chunk)?;
        }
        self.buf.drain(..whole);
        Ok(())
    }
}

impl Write for FrameOut<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send_chunks()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send_chunks()?;
        if !self.buf.is_empty() {
            self.frames.send(tag::DATA, &self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// How much memory the rendering child may take beyond what it starts with:
/// generous, so a real template never meets it, but bounded, so a blowup
/// fails in the child instead of exhausting the machine.
pub fn memory_budget(templates: &[(String, String)], limit: ByteSize) -> u64 {
    let text: u64 = templates.iter().map(|(_, t)| t.len() as u64).sum();
    let budget = (256u64 << 20)
        .saturating_add(limit.bytes().saturating_mul(4))
        .saturating_add(text.saturating_mul(8));
    // In whole MiB, so the number in messages reads well.
    budget.div_ceil(1 << 20).saturating_mul(1 << 20)
}

/// Parse and render every template (name = path relative to SRC, text) in a
/// child process. `Err` is one message for the whole set (it did not parse,
/// an include cycle, or the renderer crashed, naming the template it was
/// rendering); otherwise one result per template, in order.
pub fn render_isolated(
    templates: &[(String, String)],
    limit: ByteSize,
) -> Result<Vec<Result<Vec<u8>, String>>, String> {
    let budget = memory_budget(templates, limit);
    let mut results: Vec<Option<Result<Vec<u8>, String>>> = vec![None; templates.len()];
    let mut setup: Option<String> = None;
    let mut current: Option<(usize, Vec<u8>)> = None;
    let mut garbled = false;
    let work = |frames: &mut Frames| -> std::io::Result<()> {
        let set = match TeraSet::new(templates) {
            Ok(set) => set,
            Err(e) => return frames.send(tag::SETUP, e.as_bytes()),
        };
        for (i, (name, text)) in templates.iter().enumerate() {
            frames.send(tag::START, &(i as u32).to_le_bytes())?;
            frames.flush()?;
            let mut out = FrameOut {
                frames: &mut *frames,
                buf: Vec::with_capacity(CHUNK),
            };
            let rendered = set.render_to(name, text, &mut out, limit);
            match rendered.and_then(|()| out.flush().map_err(|e| e.to_string())) {
                Ok(()) => frames.send(tag::DONE, b"")?,
                Err(msg) => frames.send(tag::ERROR, msg.as_bytes())?,
            }
        }
        Ok(())
    };
    let on_frame = |t: u8, payload: Vec<u8>| {
        let text = || String::from_utf8_lossy(&payload).into_owned();
        match (t, current.as_mut()) {
            (tag::SETUP, _) => setup = Some(text()),
            (tag::START, _) => {
                let i = payload
                    .try_into()
                    .map(|b| u32::from_le_bytes(b) as usize)
                    .unwrap_or(usize::MAX);
                garbled |= i >= results.len();
                current = Some((i.min(results.len().saturating_sub(1)), Vec::new()));
            }
            // The child keeps to the limit; check anyway, never trust a pipe
            // with our memory.
            (tag::DATA, Some((_, buf))) if buf.len() + payload.len() <= limit.bytes() as usize => {
                buf.extend_from_slice(&payload)
            }
            (tag::DONE, Some(_)) => {
                if let Some((i, buf)) = current.take() {
                    results[i] = Some(Ok(buf));
                }
            }
            (tag::ERROR, Some(_)) => {
                if let Some((i, _)) = current.take() {
                    results[i] = Some(Err(text()));
                }
            }
            _ => garbled = true,
        }
    };
    let ended = isolate::run_in_child(budget, work, on_frame)
        .map_err(|e| format!("cannot start the template renderer: {e}"))?;
    if let Err(crash) = ended {
        let what = match &current {
            Some((i, _)) => format!("{}: rendering failed", templates[*i].0),
            None => "parsing the templates failed".to_owned(),
        };
        return Err(format!(
            "{what}: {crash}. The renderer may use {} of memory; a macro that calls itself without end, or output built in memory (in a macro, a filter section or with `~`) beyond that, ends it",
            ByteSize(budget)
        ));
    }
    if let Some(msg) = setup {
        return Err(msg);
    }
    if garbled || results.iter().any(Option::is_none) {
        return Err("the template renderer's output was garbled".to_owned());
    }
    Ok(results.into_iter().flatten().collect())
}

/// An error and its causes on one line (Tera keeps the useful part, like
/// "Variable `x` not found" or the parse position, in the causes).
fn chain(e: &tera::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// The first line of `source` containing the first `…`-quoted text of `msg`.
fn culprit_line(source: &str, msg: &str) -> Option<usize> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    let quoted = &msg[start..start + len];
    if quoted.is_empty() {
        return None;
    }
    source
        .lines()
        .position(|l| l.contains(quoted))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: ByteSize = ByteSize(1 << 20);

    fn one(name: &str, text: &str) -> Result<String, String> {
        TeraSet::new(&[(name.into(), text.into())])?.render(name, text, BIG)
    }

    fn set(templates: &[(&str, &str)]) -> Result<TeraSet, String> {
        let owned: Vec<(String, String)> = templates
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        TeraSet::new(&owned)
    }

    #[test]
    fn env_context_filters_conditionals_and_loops() {
        // PATH is set in every test environment.
        let path = std::env::var("PATH").unwrap();
        let out = one(
            "a.conf",
            "{{ env.PATH | length }}|{% if env.PATH %}yes{% endif %}|{% for i in [1,2] %}{{ i }}{% endfor %}|{{ get_env(name=\"NO_SUCH_VAR_XYZ\", default=\"d\") }}|<&>",
        )
        .unwrap();
        assert_eq!(out, format!("{}|yes|12|d|<&>", path.chars().count()));
    }

    #[test]
    fn html_files_are_not_escaped() {
        assert_eq!(one("x.html", "{{ \"<b>\" }}").unwrap(), "<b>");
    }

    #[test]
    fn includes_by_relative_path() {
        let set = set(&[("inc/h", "head"), ("main", "{% include \"inc/h\" %}-body")]).unwrap();
        assert_eq!(set.render("main", "", BIG).unwrap(), "head-body");
    }

    #[test]
    fn errors_name_file_and_line() {
        let src = "line one\nvalue = {{ env.NO_SUCH_VAR_XYZ }}\n";
        let e = one("etc/app.conf", src).unwrap_err();
        assert!(e.starts_with("etc/app.conf:2: "), "{e}");
        assert!(e.contains("NO_SUCH_VAR_XYZ"), "{e}");
        let e = set(&[("bad.tpl", "ok\n{% if %}")]).err().unwrap();
        assert!(e.contains("bad.tpl") && e.contains("2:"), "{e}");
    }

    #[test]
    fn include_cycles_are_refused_naming_the_chain() {
        let e = set(&[("a", "x{% include \"a\" %}")]).err().unwrap();
        assert_eq!(
            e,
            "a: includes itself (through include, import or extends): a -> a"
        );
        let e = set(&[
            ("a", "{% include \"b\" %}"),
            (
                "b",
                "{% if x %}{% for i in [1] %}{% include \"c\" %}{% endfor %}{% endif %}",
            ),
            ("c", "{% include [\"missing\", \"a\"] %}"),
            ("d", "{% include \"a\" %}"),
        ])
        .err()
        .unwrap();
        assert_eq!(
            e,
            "a: includes itself (through include, import or extends): a -> b -> c -> a"
        );
        // Tera loads mutually importing macro files without end as well.
        let e = set(&[
            (
                "m1",
                "{% import \"m2\" as m2 %}{% macro f() %}1{% endmacro %}",
            ),
            (
                "m2",
                "{% import \"m1\" as m1 %}{% macro g() %}2{% endmacro %}",
            ),
        ])
        .err()
        .unwrap();
        assert!(e.starts_with("m1: includes itself"), "{e}");
        // An include inside a macro counts too.
        let e = set(&[(
            "s",
            "{% macro f() %}{% include \"s\" %}{% endmacro f %}{{ self::f() }}",
        )])
        .err()
        .unwrap();
        assert!(e.starts_with("s: includes itself"), "{e}");
        // Shared includes (a diamond) are fine.
        let ok = set(&[
            ("top", "{% include \"l\" %}{% include \"r\" %}"),
            ("l", "{% include \"base\" %}"),
            ("r", "{% include \"base\" %}"),
            ("base", "b"),
        ])
        .unwrap();
        assert_eq!(ok.render("top", "", BIG).unwrap(), "bb");
    }

    #[test]
    fn include_chains_deeper_than_the_bound_are_refused() {
        let chain = |n: usize| -> Vec<(String, String)> {
            (0..n)
                .map(|i| {
                    let body = if i + 1 < n {
                        format!("{{% include \"t{:02}\" %}}", i + 1)
                    } else {
                        "end".to_string()
                    };
                    (format!("t{i:02}"), body)
                })
                .collect()
        };
        // MAX_INCLUDE_DEPTH includes below the top template: fine.
        let ok = TeraSet::new(&chain(MAX_INCLUDE_DEPTH + 1)).unwrap();
        assert_eq!(ok.render("t00", "", BIG).unwrap(), "end");
        let e = TeraSet::new(&chain(MAX_INCLUDE_DEPTH + 2)).err().unwrap();
        assert!(
            e.starts_with("t00: includes nested more than 32 deep"),
            "{e}"
        );
        assert!(e.ends_with("-> t32 -> t33"), "{e}");
    }

    #[test]
    fn output_stops_at_the_limit() {
        let text = "{% for i in range(end=100000) %}0123456789{% endfor %}";
        let s = set(&[("big", text)]).unwrap();
        let e = s.render("big", text, ByteSize(1 << 10)).unwrap_err();
        assert_eq!(
            e,
            "big: renders to more than 1 KiB, the limit per file (--max-render-size, COPY_MAX_RENDER_SIZE)"
        );
        assert_eq!(
            s.render("big", text, ByteSize(1_000_000)).unwrap().len(),
            1_000_000
        );
    }

    #[test]
    fn isolated_rendering_returns_each_result_and_survives_a_crash() {
        let templates: Vec<(String, String)> = [
            ("ok", "{{ 1 + 1 }}"),
            ("bad", "{{ env.NO_SUCH_VAR_XYZ }}"),
            (
                "big",
                "{% for i in range(end=1000) %}xxxxxxxxxx{% endfor %}",
            ),
        ]
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
        let out = render_isolated(&templates, ByteSize(4 << 10)).unwrap();
        assert_eq!(out[0], Ok(b"2".to_vec()));
        assert!(out[1].as_ref().unwrap_err().contains("NO_SUCH_VAR_XYZ"));
        assert!(out[2].as_ref().unwrap_err().contains("more than 4 KiB"));

        // Big single writes (a long text, a macro's output) come back whole.
        let text = "t".repeat(2 << 20);
        let mac = "{% macro m() %}{% for i in range(end=120000) %}0123456789{% endfor %}{% endmacro m %}{{ self::m() }}|";
        let templates = [("text".into(), text.clone()), ("mac".into(), mac.into())];
        let out = render_isolated(&templates, ByteSize(4 << 20)).unwrap();
        assert_eq!(out[0].as_deref(), Ok(text.as_bytes()));
        let mac_out = out[1].as_ref().unwrap();
        assert_eq!(mac_out.len(), 1_200_001);
        assert!(mac_out.starts_with(b"0123456789") && mac_out.ends_with(b"9|"));

        // A macro that calls itself for ever ends the child, not us.
        let text = "{% macro f(n) %}{{ self::f(n=n+1) }}{% endmacro f %}{{ self::f(n=0) }}";
        let crash = render_isolated(&[("loop".into(), text.into())], BIG).unwrap_err();
        assert!(
            crash.starts_with("loop: rendering failed: the renderer was killed by signal"),
            "{crash}"
        );

        let e = render_isolated(&[("c".into(), "{% include \"c\" %}".into())], BIG).unwrap_err();
        assert!(e.starts_with("c: includes itself"), "{e}");
    }

    #[test]
    fn syntax_detection() {
        assert!(
            has_tera_syntax("a {{ b }}")
                && has_tera_syntax("{% if x %}")
                && has_tera_syntax("{# c #}")
        );
        assert!(!has_tera_syntax("plain { text }"));
    }
}
