//! Compose-style interpolation of every string value from the environment:
//! `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`,
//! `${VAR+alt}`, `${VAR:?message}`, `${VAR?message}` and `$$` → `$`.
//! Defaults may themselves contain interpolations (`${A:-${B}}`). An unset
//! `$VAR` becomes empty, as in compose and conlink 2.x; a `$` not followed by
//! a name or `{` stays as it is (2.x behaviour).

use serde_json::Value;

use super::errors::{ConfigError, Diag, Origin};

/// Where variable values come from (the process environment in production,
/// a map in tests).
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<S: std::hash::BuildHasher> Env for std::collections::HashMap<String, String, S> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// How deep `${…}` may nest (`${A:-${B:-…}}`): far beyond any real
/// config, and it bounds the recursion (no stack overflow on hostile input).
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolateError {
    #[error("required variable {name} is missing: {message}")]
    Required { name: String, message: String },
    #[error("unterminated `${{` in interpolation")]
    Unterminated,
    #[error("invalid interpolation `${{{0}}}`")]
    Invalid(String),
    #[error("interpolation `${{…}}` nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// Interpolate one string, in time linear in its length (plus the
/// variables' values written out).
pub fn interpolate(s: &str, env: &dyn Env) -> Result<String, InterpolateError> {
    let closes = match_braces(s)?;
    let mut out = String::with_capacity(s.len());
    Expander { s, closes, env }.expand(0, s.len(), 0, &mut out)?;
    Ok(out)
}

/// For every `${` (a `$` followed by `{`), the index of its closing `}`,
/// keyed by the index of the `$`. Every `${` opens and every `}` closes,
/// whatever precedes them (2.x's and compose's reading of defaults), so one
/// pass with a stack finds them all. Fails when nesting passes
/// [`MAX_DEPTH`].
fn match_braces(s: &str) -> Result<std::collections::HashMap<usize, usize>, InterpolateError> {
    let b = s.as_bytes();
    let mut closes = std::collections::HashMap::new();
    let mut open = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'{') => {
                if open.len() == MAX_DEPTH {
                    return Err(InterpolateError::TooDeep);
                }
                open.push(i);
                i += 1;
            }
            b'}' => {
                if let Some(o) = open.pop() {
                    closes.insert(o, i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(closes)
}

struct Expander<'a> {
    s: &'a str,
    closes: std::collections::HashMap<usize, usize>,
    env: &'a dyn Env,
}

impl Expander<'_> {
    /// Append the interpolation of `s[from..to]` to `out`. Each `${…}`
    /// found is evaluated by [`Expander::braced`], which expands only the
    /// part it needs, once: every byte is looked at a bounded number of
    /// times, and `depth` ≤ [`MAX_DEPTH`] by [`match_braces`].
    fn expand(
        &self,
        from: usize,
        to: usize,
        depth: usize,
        out: &mut String,
    ) -> Result<(), InterpolateError> {
        let mut pos = from;
        while let Some(rel) = self.s[pos..to].find('$') {
            let at = pos + rel;
            out.push_str(&self.s[pos..at]);
            let after = &self.s[at + 1..to];
            if after.starts_with('$') {
                out.push('$');
                pos = at + 2;
            } else if after.starts_with('{') {
                let end = match self.closes.get(&at) {
                    Some(&end) if end < to => end,
                    _ => return Err(InterpolateError::Unterminated),
                };
                self.braced(at + 2, end, depth + 1, out)?;
                pos = end + 1;
            } else {
                let n = name_len(after);
                if n == 0 {
                    out.push('$');
                } else if let Some(v) = self.env.var(&after[..n]) {
                    out.push_str(&v);
                }
                pos = at + 1 + n;
            }
        }
        out.push_str(&self.s[pos..to]);
        Ok(())
    }

    /// The body `s[from..to]` of one `${…}`.
    fn braced(
        &self,
        from: usize,
        to: usize,
        depth: usize,
        out: &mut String,
    ) -> Result<(), InterpolateError> {
        let body = &self.s[from..to];
        let n = name_len(body);
        if n == 0 {
            return Err(InterpolateError::Invalid(body.to_owned()));
        }
        let name = &body[..n];
        let op = &body[n..];
        let value = self.env.var(name);
        let set = value.is_some();
        let set_nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
        if op.is_empty() {
            out.push_str(value.as_deref().unwrap_or_default());
            return Ok(());
        }
        // The operator and where its argument starts.
        let (kind, arg_from) = [":-", ":?", ":+", "-", "?", "+"]
            .into_iter()
            .find(|o| op.starts_with(o))
            .map(|o| (o, from + n + o.len()))
            .ok_or_else(|| InterpolateError::Invalid(body.to_owned()))?;
        let use_value = |out: &mut String| out.push_str(value.as_deref().unwrap_or_default());
        match kind {
            ":-" if set_nonempty => use_value(out),
            "-" if set => use_value(out),
            ":-" | "-" => self.expand(arg_from, to, depth, out)?,
            ":+" if set_nonempty => self.expand(arg_from, to, depth, out)?,
            "+" if set => self.expand(arg_from, to, depth, out)?,
            ":+" | "+" => {}
            ":?" if set_nonempty => use_value(out),
            "?" if set => use_value(out),
            _ => {
                let message = if arg_from == to {
                    "not set".to_owned()
                } else {
                    let mut m = String::new();
                    self.expand(arg_from, to, depth, &mut m)?;
                    m
                };
                return Err(InterpolateError::Required {
                    name: name.to_owned(),
                    message,
                });
            }
        }
        Ok(())
    }
}

/// Length of the variable name at the start of `s` (`[_A-Za-z][_A-Za-z0-9]*`).
fn name_len(s: &str) -> usize {
    let b = s.as_bytes();
    if b.is_empty() || !(b[0] == b'_' || b[0].is_ascii_alphabetic()) {
        return 0;
    }
    b.iter()
        .take_while(|c| **c == b'_' || c.is_ascii_alphanumeric())
        .count()
}

/// Interpolate every string in a value tree in place; errors name the path.
pub fn interpolate_tree(v: &mut Value, at: &Origin, env: &dyn Env, diag: &mut Diag) {
    match v {
        Value::String(s) => match interpolate(s, env) {
            Ok(new) => *s = new,
            Err(e) => {
                diag.push(ConfigError::new(at, e.to_string()).with_text(s));
                // Absent from here on, so validation does not report the
                // uninterpolated text a second time.
                *v = Value::Null;
            }
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_tree(item, &at.index(i), env, diag);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                interpolate_tree(item, &at.key(k), env, diag);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env() -> HashMap<String, String> {
        [("A", "1"), ("E", ""), ("NET", "10.0.1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn i(s: &str) -> Result<String, InterpolateError> {
        interpolate(s, &env())
    }

    #[test]
    fn plain_and_braced_forms() {
        assert_eq!(i("$A-${A}x$NET.1/24").unwrap(), "1-1x10.0.1.1/24");
        assert_eq!(i("${MISSING}|$MISSING|").unwrap(), "||");
        assert_eq!(
            i("cost $$5 and $ alone and $1").unwrap(),
            "cost $5 and $ alone and $1"
        );
    }

    #[test]
    fn defaults_distinguish_unset_from_empty() {
        assert_eq!(i("${E:-d}").unwrap(), "d");
        assert_eq!(i("${E-d}").unwrap(), "");
        assert_eq!(i("${U-d}").unwrap(), "d");
        assert_eq!(i("${A:-d}").unwrap(), "1");
        assert_eq!(i("${U:-${NET}.9}").unwrap(), "10.0.1.9");
        assert_eq!(i("${A:+alt}${E:+x}${E+y}").unwrap(), "alty");
    }

    #[test]
    fn required_variables() {
        assert_eq!(i("${A:?need A}").unwrap(), "1");
        assert_eq!(i("${E?need E}").unwrap(), "");
        assert_eq!(
            i("${E:?need E}"),
            Err(InterpolateError::Required {
                name: "E".into(),
                message: "need E".into()
            })
        );
        let e = i("x${NODE_IP?set NODE_IP please}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "required variable NODE_IP is missing: set NODE_IP please"
        );
        assert_eq!(
            i("${U?}").unwrap_err().to_string(),
            "required variable U is missing: not set"
        );
    }

    #[test]
    fn malformed() {
        assert_eq!(i("${A"), Err(InterpolateError::Unterminated));
        assert_eq!(i("${1}"), Err(InterpolateError::Invalid("1".into())));
        assert_eq!(i("${A%x}"), Err(InterpolateError::Invalid("A%x".into())));
    }

    #[test]
    fn nested_defaults_and_escapes_inside_them() {
        assert_eq!(i("${U:-${V:-${A}}}").unwrap(), "1");
        assert_eq!(i("${U:-$${A}x}").unwrap(), "${A}x");
        assert_eq!(i("${U:-a}}").unwrap(), "a}");
        assert_eq!(i("}${A}{").unwrap(), "}1{");
        assert_eq!(
            i("${A:-${1}}").unwrap(),
            "1",
            "an unused default is not evaluated"
        );
        assert_eq!(i("${U:-${1}}"), Err(InterpolateError::Invalid("1".into())));
        assert_eq!(
            i("${U:?${A} missing}").unwrap_err().to_string(),
            "required variable U is missing: 1 missing"
        );
        assert_eq!(
            i("$${A"),
            Ok("${A".into()),
            "an escaped `${{` opens nothing"
        );
    }

    /// `${A:-${A:-…}}`, `depth` levels.
    fn nested(depth: usize) -> String {
        format!("{}x{}", "${A:-".repeat(depth), "}".repeat(depth))
    }

    #[test]
    fn nesting_is_bounded() {
        let env: HashMap<String, String> = HashMap::new();
        assert_eq!(interpolate(&nested(MAX_DEPTH), &env).unwrap(), "x");
        assert_eq!(
            interpolate(&nested(MAX_DEPTH + 1), &env),
            Err(InterpolateError::TooDeep)
        );
        // Deep enough to overflow the stack or take minutes when each level
        // rescanned its default recursively; now one pass stops at 65.
        assert_eq!(
            interpolate(&nested(40_000), &env),
            Err(InterpolateError::TooDeep)
        );
        assert_eq!(
            InterpolateError::TooDeep.to_string(),
            "interpolation `${…}` nesting deeper than 64 levels"
        );
        // Also when the deep part would not be evaluated (A is set).
        assert_eq!(
            interpolate(&nested(100), &super::tests::env()),
            Err(InterpolateError::TooDeep)
        );
    }

    #[test]
    fn many_siblings() {
        let s = nested(60).repeat(1000);
        let out = interpolate(&s, &HashMap::<String, String>::new()).unwrap();
        assert_eq!(out, "x".repeat(1000));
        let flat = "${U:-a}".repeat(100_000);
        assert_eq!(interpolate(&flat, &env()).unwrap(), "a".repeat(100_000));
    }

    #[test]
    fn tree_errors_name_the_path() {
        let mut v = serde_json::json!({"links": [{"ip": "${A}"}, {"ip": "${NOPE:?gone}"}]});
        let mut d = Diag::default();
        interpolate_tree(&mut v, &Origin::new("n.yaml".into(), ""), &env(), &mut d);
        assert_eq!(v["links"][0]["ip"], "1");
        assert_eq!(d.errors.len(), 1);
        assert_eq!(d.errors[0].at.path, "links[1].ip");
        assert!(d.errors[0].message.contains("NOPE"));
    }
}
