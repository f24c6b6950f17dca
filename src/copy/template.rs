//! The `-T` template rules (conlink 2.x's, plus defaults): `{{NAME}}` is
//! replaced with the environment variable NAME when it is set and left as it
//! is when not; `{{NAME:-default}}` uses `default` when NAME is unset or
//! empty. NAME is letters, digits and `_`. One pass: replaced text is never
//! scanned again, and a default is literal text up to the first `}}`.

/// A token whose variable was unset (and had no default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unset {
    /// The token as written, e.g. `{{DB_HOST}}`.
    pub token: String,
    /// 1-based line of the token.
    pub line: usize,
}

/// The outcome of rendering one text.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    pub output: Vec<u8>,
    /// Tokens replaced (by a value or a default).
    pub replacements: usize,
    /// What was replaced, for `--dry-run`: `NAME` or `NAME (default)`, in order.
    pub replaced: Vec<String>,
    pub unset: Vec<Unset>,
}

/// A token found at some position of the text.
struct Token<'a> {
    name: &'a str,
    default: Option<&'a str>,
    /// Length of the whole token, braces included.
    len: usize,
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Parse a token starting at `s` (which begins with `{{`).
fn parse_token(s: &str) -> Option<Token<'_>> {
    let body = &s[2..];
    let name_len = body.bytes().take_while(|b| is_name_byte(*b)).count();
    if name_len == 0 {
        return None;
    }
    let name = &body[..name_len];
    let after = &body[name_len..];
    if after.starts_with("}}") {
        return Some(Token {
            name,
            default: None,
            len: 2 + name_len + 2,
        });
    }
    let rest = after.strip_prefix(":-")?;
    let end = rest.find("}}")?;
    let default = &rest[..end];
    // A default never spans lines: an unclosed `{{X:-` is text, not a token
    // that swallows the rest of the file.
    if default.contains('\n') {
        return None;
    }
    Some(Token {
        name,
        default: Some(default),
        len: 2 + name_len + 2 + end + 2,
    })
}

/// Render `input`, looking variables up with `lookup`.
pub fn render(input: &str, lookup: impl Fn(&str) -> Option<Vec<u8>>) -> Rendered {
    render_capped(input, lookup, u64::MAX).unwrap_or_default()
}

/// [`render`], but `None` as soon as the output passes `limit` bytes: many
/// tokens naming one long variable can make a small file huge.
pub fn render_capped(
    input: &str,
    lookup: impl Fn(&str) -> Option<Vec<u8>>,
    limit: u64,
) -> Option<Rendered> {
    let mut r = Rendered {
        output: Vec::with_capacity(
            input
                .len()
                .min(usize::try_from(limit).unwrap_or(usize::MAX)),
        ),
        ..Default::default()
    };
    let mut line = 1;
    let mut rest = input;
    while let Some(at) = rest.find("{{") {
        let (before, from) = rest.split_at(at);
        line += before.bytes().filter(|b| *b == b'\n').count();
        r.output.extend_from_slice(before.as_bytes());
        let Some(tok) = parse_token(from) else {
            // Not a token: keep one brace and look again from the next one,
            // so `{{{A}}}` still finds `{{A}}`.
            r.output.push(b'{');
            rest = &from[1..];
            continue;
        };
        let value = lookup(tok.name);
        match (value, tok.default) {
            (Some(v), None) => {
                r.output.extend_from_slice(&v);
                r.replaced.push(tok.name.to_owned());
            }
            (Some(v), Some(_)) if !v.is_empty() => {
                r.output.extend_from_slice(&v);
                r.replaced.push(tok.name.to_owned());
            }
            (_, Some(d)) => {
                r.output.extend_from_slice(d.as_bytes());
                r.replaced.push(format!("{} (default)", tok.name));
            }
            (None, None) => {
                r.output.extend_from_slice(&from.as_bytes()[..tok.len]);
                r.unset.push(Unset {
                    token: from[..tok.len].to_owned(),
                    line,
                });
                rest = &from[tok.len..];
                continue;
            }
        }
        r.replacements += 1;
        rest = &from[tok.len..];
        // Each step adds at most one value (bounded by the environment's
        // size), so checking here keeps the overshoot small.
        if r.output.len() as u64 > limit {
            return None;
        }
    }
    r.output.extend_from_slice(rest.as_bytes());
    (r.output.len() as u64 <= limit).then_some(r)
}

/// Whether bytes may be templated: valid UTF-8 without NUL. Anything else
/// (images, archives, compiled files) is copied byte for byte.
pub fn as_template_text(bytes: &[u8]) -> Option<&str> {
    if bytes.contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

/// Variable lookup in the process environment (values need not be UTF-8).
pub fn env_lookup(name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    std::env::var_os(name).map(OsStringExt::into_vec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<Vec<u8>> {
        match name {
            "A" => Some(b"1".to_vec()),
            "B" => Some(b"two".to_vec()),
            "EMPTY" => Some(Vec::new()),
            "LOOP" => Some(b"{{A}}".to_vec()),
            "X_9" => Some(b"x".to_vec()),
            _ => None,
        }
    }

    fn r(s: &str) -> String {
        String::from_utf8(render(s, env).output).unwrap()
    }

    #[test]
    fn set_variables_are_replaced_and_counted() {
        let out = render("a={{A}} b={{B}} again={{A}} {{X_9}}", env);
        assert_eq!(
            String::from_utf8(out.output).unwrap(),
            "a=1 b=two again=1 x"
        );
        assert_eq!(out.replacements, 4);
        assert_eq!(out.replaced, ["A", "B", "A", "X_9"]);
        assert!(out.unset.is_empty());
        assert_eq!(r("[{{EMPTY}}]"), "[]");
    }

    #[test]
    fn unset_variables_stay_and_are_reported_with_their_line() {
        let out = render("x\ny {{NOPE}}\n{{A}}{{ALSO_NOT}}", env);
        assert_eq!(
            String::from_utf8(out.output).unwrap(),
            "x\ny {{NOPE}}\n1{{ALSO_NOT}}"
        );
        assert_eq!(
            out.unset,
            [
                Unset {
                    token: "{{NOPE}}".into(),
                    line: 2
                },
                Unset {
                    token: "{{ALSO_NOT}}".into(),
                    line: 3
                }
            ]
        );
        assert_eq!(out.replacements, 1);
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        assert_eq!(r("{{NOPE:-fallback}}"), "fallback");
        assert_eq!(r("{{EMPTY:-fallback}}"), "fallback");
        assert_eq!(r("{{A:-fallback}}"), "1");
        assert_eq!(r("{{NOPE:-}}|"), "|");
        assert_eq!(r("{{NOPE:-a b:c/d}}"), "a b:c/d");
        let out = render("{{NOPE:-d}}", env);
        assert_eq!(
            (out.replacements, out.replaced),
            (1, vec!["NOPE (default)".to_string()])
        );
        assert!(out.unset.is_empty());
    }

    #[test]
    fn adjacent_and_nested_braces() {
        assert_eq!(r("{{A}}{{B}}"), "1two");
        assert_eq!(r("{{{A}}}"), "{1}");
        assert_eq!(r("{{{{A}}}}"), "{{1}}");
        // A default is literal up to the first `}}`.
        assert_eq!(r("{{NOPE:-{{A}}}}"), "{{A}}");
    }

    #[test]
    fn malformed_tokens_are_left_alone() {
        for s in [
            "{{ A }}",
            "{{A }}",
            "{{}}",
            "{{A",
            "{{A}",
            "{A}}",
            "{{A-B}}",
            "{{A:x}}",
            "{{A:-\n}}",
            "{{",
            "}}",
            "{{NOPE:-unclosed",
            "${{A}",
            "{{é}}",
        ] {
            assert_eq!(r(s), s, "{s:?}");
        }
    }

    #[test]
    fn output_over_the_cap_is_refused() {
        let text = "{{B}}".repeat(1000);
        assert_eq!(render_capped(&text, env, 3000).unwrap().output.len(), 3000);
        assert!(render_capped(&text, env, 2999).is_none());
        assert!(render_capped("plain text", env, 5).is_none());
    }

    #[test]
    fn single_pass_does_not_rescan_values() {
        assert_eq!(r("{{LOOP}}"), "{{A}}");
    }

    #[test]
    fn multibyte_text_around_tokens_survives() {
        assert_eq!(r("é{{A}}ü {{ß}}"), "é1ü {{ß}}");
    }

    #[test]
    fn binary_and_nul_bytes_are_not_template_text() {
        assert!(as_template_text(b"plain {{A}}").is_some());
        assert!(as_template_text(b"nul\0{{A}}").is_none());
        assert!(as_template_text(&[0xff, 0xfe, b'{', b'{']).is_none());
    }
}
