//! Dependency strings, as found in a mode's `deps` file and in mdc's MODES
//! argument: `a b,c` (all of them), `a|b` (at least one), `+a` (after `a`
//! when `a` is in the result, without pulling it in), `#` comments.

use std::fmt;

/// One dependency of a mode, in the order it was declared (the order
/// matters: it is the tie-break for alternatives and for output order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dep {
    /// The mode must be in the result.
    Mode(String),
    /// At least one of these (two or more, distinct) must be in the result;
    /// the first listed wins ties.
    AnyOf(Vec<String>),
    /// Order only: after this mode if it is in the result.
    After(String),
}

impl Dep {
    /// Every mode name this dep mentions.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let names: &[String] = match self {
            Dep::Mode(n) | Dep::After(n) => std::slice::from_ref(n),
            Dep::AnyOf(ns) => ns,
        };
        names.iter().map(String::as_str)
    }

    /// An alternatives group, collapsed to a plain dep when only one
    /// distinct name is left (`a|a` is just `a`).
    pub fn any_of(mut names: Vec<String>) -> Dep {
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(n.clone()));
        if names.len() == 1 {
            Dep::Mode(names.remove(0))
        } else {
            Dep::AnyOf(names)
        }
    }
}

/// A syntax error at a 1-based line of the parsed text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason} in `{token}`")]
pub struct SyntaxError {
    pub line: usize,
    pub token: String,
    pub reason: &'static str,
}

/// Why a string is not a usable mode name (`None` when it is).
pub fn invalid_name_reason(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty mode name")
    } else if name == "." || name == ".." {
        Some("`.` and `..` are not mode names")
    } else if name.contains('/') {
        Some("a mode name cannot contain `/`")
    } else if name.starts_with('-') {
        Some("a mode name cannot start with `-`")
    } else if name.contains(['|', '#', ',', '\0']) || name.contains(char::is_whitespace) {
        Some("a mode name cannot contain `|`, `#`, `,` or whitespace")
    } else if name.starts_with('+') {
        Some("a mode name cannot start with `+`")
    } else {
        None
    }
}

fn check_name(name: &str, line: usize, token: &str) -> Result<(), SyntaxError> {
    match invalid_name_reason(name) {
        None => Ok(()),
        Some(reason) => Err(SyntaxError {
            line,
            token: token.to_owned(),
            reason,
        }),
    }
}

fn parse_token(token: &str, line: usize) -> Result<Dep, SyntaxError> {
    if let Some(after) = token.strip_prefix('+') {
        if after.contains('|') {
            return Err(SyntaxError {
                line,
                token: token.to_owned(),
                reason: "an order-only dep (`+`) cannot have alternatives",
            });
        }
        check_name(after, line, token)?;
        return Ok(Dep::After(after.to_owned()));
    }
    if token.contains('|') {
        let names: Vec<String> = token.split('|').map(str::to_owned).collect();
        for n in &names {
            if n.starts_with('+') {
                return Err(SyntaxError {
                    line,
                    token: token.to_owned(),
                    reason: "an alternative cannot be order-only (`+`)",
                });
            }
            check_name(n, line, token)?;
        }
        return Ok(Dep::any_of(names));
    }
    check_name(token, line, token)?;
    Ok(Dep::Mode(token.to_owned()))
}

/// Parse a dependency string: deps separated by whitespace, commas or
/// newlines; `#` comments out the rest of its line.
pub fn parse(text: &str) -> Result<Vec<Dep>, SyntaxError> {
    let mut deps = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split_once('#').map_or(line, |(code, _)| code);
        for token in code.split(|c: char| c == ',' || c.is_whitespace()) {
            if !token.is_empty() {
                deps.push(parse_token(token, i + 1)?);
            }
        }
    }
    Ok(deps)
}

/// Deps written back in the syntax [`parse`] reads (used in messages).
pub struct Display<'a>(pub &'a [Dep]);

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, dep) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match dep {
                Dep::Mode(n) => f.write_str(n)?,
                Dep::After(n) => write!(f, "+{n}")?,
                Dep::AnyOf(ns) => f.write_str(&ns.join("|"))?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(n: &str) -> Dep {
        Dep::Mode(n.into())
    }

    #[test]
    fn separators_comments_and_kinds() {
        let text = "a b,c\n# all comment\nd|e  +f # trailing, x\n\t g,,h\n";
        assert_eq!(
            parse(text).unwrap(),
            vec![
                m("a"),
                m("b"),
                m("c"),
                Dep::AnyOf(vec!["d".into(), "e".into()]),
                Dep::After("f".into()),
                m("g"),
                m("h"),
            ]
        );
    }

    #[test]
    fn empty_and_comment_only_texts_have_no_deps() {
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(parse(" \n# nothing here\n , \n").unwrap(), vec![]);
    }

    #[test]
    fn alternatives_collapse_duplicates() {
        assert_eq!(parse("a|a").unwrap(), vec![m("a")]);
        assert_eq!(
            parse("b|a|b").unwrap(),
            vec![Dep::AnyOf(vec!["b".into(), "a".into()])]
        );
    }

    #[test]
    fn names_may_hold_dots_dashes_and_inner_plus() {
        assert_eq!(parse("web-1.x c++").unwrap(), vec![m("web-1.x"), m("c++")]);
    }

    #[test]
    fn bad_tokens_name_line_and_token() {
        let e = parse("a\nb||c").unwrap_err();
        assert_eq!((e.line, e.token.as_str()), (2, "b||c"));
        assert_eq!(e.reason, "empty mode name");
        assert!(parse("a|").is_err());
        assert!(parse("+").is_err());
        assert!(parse("+a|b").is_err());
        assert!(parse("a|+b").is_err());
        assert!(parse("../x").is_err());
        assert!(parse("..").is_err());
        assert!(parse("-v").is_err());
        assert!(parse("++a").is_err());
        assert_eq!(
            parse("x\n\n  a/b").unwrap_err().to_string(),
            "line 3: a mode name cannot contain `/` in `a/b`"
        );
    }

    #[test]
    fn display_round_trips() {
        let deps = parse("a b|c +d").unwrap();
        assert_eq!(Display(&deps).to_string(), "a b|c +d");
        assert_eq!(parse(&Display(&deps).to_string()).unwrap(), deps);
    }
}
