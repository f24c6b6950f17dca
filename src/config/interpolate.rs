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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolateError {
    #[error("required variable {name} is missing: {message}")]
    Required { name: String, message: String },
    #[error("unterminated `${{` in interpolation")]
    Unterminated,
    #[error("invalid interpolation `${{{0}}}`")]
    Invalid(String),
}

/// Interpolate one string.
pub fn interpolate(s: &str, env: &dyn Env) -> Result<String, InterpolateError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(body_start) = after.strip_prefix('{') {
            let end = matching_brace(body_start).ok_or(InterpolateError::Unterminated)?;
            out.push_str(&braced(&body_start[..end], env)?);
            rest = &body_start[end + 1..];
        } else {
            let n = name_len(after);
            if n == 0 {
                out.push('$');
            } else {
                out.push_str(&env.var(&after[..n]).unwrap_or_default());
            }
            rest = &after[n..];
        }
    }
    out.push_str(rest);
    Ok(out)
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

/// Index of the `}` closing a `${`, allowing nested `${…}` in defaults.
fn matching_brace(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn braced(body: &str, env: &dyn Env) -> Result<String, InterpolateError> {
    let n = name_len(body);
    let name = &body[..n];
    if n == 0 {
        return Err(InterpolateError::Invalid(body.to_owned()));
    }
    let op = &body[n..];
    let value = env.var(name);
    let set_nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
    let (kind, arg) = if op.is_empty() {
        return Ok(value.unwrap_or_default());
    } else if let Some(a) = op.strip_prefix(":-") {
        ("default-if-empty", a)
    } else if let Some(a) = op.strip_prefix(":?") {
        ("required-nonempty", a)
    } else if let Some(a) = op.strip_prefix(":+") {
        ("alt-if-nonempty", a)
    } else if let Some(a) = op.strip_prefix('-') {
        ("default-if-unset", a)
    } else if let Some(a) = op.strip_prefix('?') {
        ("required", a)
    } else if let Some(a) = op.strip_prefix('+') {
        ("alt-if-set", a)
    } else {
        return Err(InterpolateError::Invalid(body.to_owned()));
    };
    let required = |ok: bool| -> Result<String, InterpolateError> {
        if ok {
            Ok(value.clone().unwrap_or_default())
        } else {
            Err(InterpolateError::Required {
                name: name.to_owned(),
                message: if arg.is_empty() {
                    "not set".to_owned()
                } else {
                    interpolate(arg, env)?
                },
            })
        }
    };
    match kind {
        "default-if-empty" if set_nonempty => Ok(value.unwrap_or_default()),
        "default-if-unset" if value.is_some() => Ok(value.unwrap_or_default()),
        "default-if-empty" | "default-if-unset" => interpolate(arg, env),
        "alt-if-nonempty" if set_nonempty => interpolate(arg, env),
        "alt-if-set" if value.is_some() => interpolate(arg, env),
        "alt-if-nonempty" | "alt-if-set" => Ok(String::new()),
        "required-nonempty" => required(set_nonempty),
        _ => required(value.is_some()),
    }
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
