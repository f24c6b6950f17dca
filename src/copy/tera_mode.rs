//! `--tera`: full Tera templates (filters, conditionals, loops, includes)
//! with the environment as context: `{{ env.HOME }}`, or `get_env(name=…,
//! default=…)`. All templates of one copy live in one Tera instance named by
//! their path relative to SRC, so `{% include "common/header" %}` works.

use std::collections::HashMap;
use std::error::Error as _;

use tera::{Context, Tera};

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
    pub fn new(templates: Vec<(String, String)>) -> Result<TeraSet, String> {
        let mut tera = Tera::default();
        // Files are not web pages: no HTML escaping whatever their suffix.
        tera.autoescape_on(vec![]);
        tera.add_raw_templates(templates).map_err(|e| chain(&e))?;
        let env: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let mut context = Context::new();
        context.insert("env", &env);
        Ok(TeraSet { tera, context })
    }

    /// Render one template; errors name the file and, where the message
    /// quotes the culprit, the first line that mentions it.
    pub fn render(&self, name: &str, source: &str) -> Result<String, String> {
        self.tera.render(name, &self.context).map_err(|e| {
            let msg = chain(&e);
            match culprit_line(source, &msg) {
                Some(line) => format!("{name}:{line}: {msg}"),
                None => format!("{name}: {msg}"),
            }
        })
    }
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

    fn one(name: &str, text: &str) -> Result<String, String> {
        TeraSet::new(vec![(name.into(), text.into())])?.render(name, text)
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
        let set = TeraSet::new(vec![
            ("inc/h".into(), "head".into()),
            ("main".into(), "{% include \"inc/h\" %}-body".into()),
        ])
        .unwrap();
        assert_eq!(set.render("main", "").unwrap(), "head-body");
    }

    #[test]
    fn errors_name_file_and_line() {
        let src = "line one\nvalue = {{ env.NO_SUCH_VAR_XYZ }}\n";
        let e = one("etc/app.conf", src).unwrap_err();
        assert!(e.starts_with("etc/app.conf:2: "), "{e}");
        assert!(e.contains("NO_SUCH_VAR_XYZ"), "{e}");
        let e = TeraSet::new(vec![("bad.tpl".into(), "ok\n{% if %}".into())])
            .err()
            .unwrap();
        assert!(e.contains("bad.tpl") && e.contains("2:"), "{e}");
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
