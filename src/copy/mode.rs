//! `--chmod MODE`: an octal mode (`0644`) or chmod(1)-style symbolic
//! clauses (`u+w`, `go-w,a+r`, `u=rwX`), applied to each copied regular file.

use std::str::FromStr;

/// A parsed `--chmod` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChmodSpec {
    Octal(u32),
    Symbolic(Vec<Clause>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// Bits of the `who` part (`u` → 0o4700 …); `a` or nothing means all.
    who: u32,
    op: Op,
    /// Permission letters as rwx bits repeated for u/g/o, plus s/t.
    perms: u32,
    /// `X`: execute only if the file is already executable by someone.
    cond_exec: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Set,
}

impl FromStr for ChmodSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return match u32::from_str_radix(s, 8) {
                Ok(m) if m <= 0o7777 => Ok(ChmodSpec::Octal(m)),
                _ => Err(format!("'{s}' is not an octal mode (0 to 7777)")),
            };
        }
        let clauses = s
            .split(',')
            .map(parse_clause)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                format!("'{s}' is not a mode (octal like 0644, or symbolic like u+w,go-w)")
            })?;
        Ok(ChmodSpec::Symbolic(clauses))
    }
}

fn parse_clause(c: &str) -> Option<Clause> {
    let op_at = c.find(['+', '-', '='])?;
    let (who_s, rest) = c.split_at(op_at);
    let mut who = 0;
    for ch in who_s.chars() {
        who |= match ch {
            'u' => 0o4700,
            'g' => 0o2070,
            'o' => 0o0007,
            'a' => 0o7777,
            _ => return None,
        };
    }
    if who == 0 {
        who = 0o7777;
    }
    let op = match rest.as_bytes()[0] {
        b'+' => Op::Add,
        b'-' => Op::Remove,
        _ => Op::Set,
    };
    let mut perms = 0;
    let mut cond_exec = false;
    for ch in rest[1..].chars() {
        perms |= match ch {
            'r' => 0o444,
            'w' => 0o222,
            'x' => 0o111,
            's' => 0o6000,
            't' => 0o1000,
            'X' => {
                cond_exec = true;
                0
            }
            _ => return None,
        };
    }
    Some(Clause {
        who,
        op,
        perms,
        cond_exec,
    })
}

impl ChmodSpec {
    /// The new permission bits for a file whose bits are `mode`.
    pub fn apply(&self, mode: u32) -> u32 {
        match self {
            ChmodSpec::Octal(m) => *m,
            ChmodSpec::Symbolic(clauses) => clauses.iter().fold(mode & 0o7777, |m, c| {
                let mut bits = c.perms;
                if c.cond_exec && m & 0o111 != 0 {
                    bits |= 0o111;
                }
                let bits = bits & c.who;
                match c.op {
                    Op::Add => m | bits,
                    Op::Remove => m & !bits,
                    Op::Set => (m & !c.who) | bits,
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ap(spec: &str, mode: u32) -> u32 {
        spec.parse::<ChmodSpec>().unwrap().apply(mode)
    }

    #[test]
    fn octal_replaces_the_bits() {
        assert_eq!(ap("0644", 0o755), 0o644);
        assert_eq!(ap("600", 0o777), 0o600);
        assert_eq!(ap("4755", 0o644), 0o4755);
    }

    #[test]
    fn symbolic_clauses_add_remove_and_set() {
        assert_eq!(ap("u+w", 0o444), 0o644);
        assert_eq!(ap("+w", 0o444), 0o666);
        assert_eq!(ap("go-w", 0o666), 0o644);
        assert_eq!(ap("a=r", 0o755), 0o444);
        assert_eq!(ap("u=rw,go=r", 0o777), 0o644);
        assert_eq!(ap("a+X", 0o644), 0o644);
        assert_eq!(ap("a+X", 0o744), 0o755);
        assert_eq!(ap("u+s", 0o755), 0o4755);
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["", "8", "77777", "u", "z+w", "u+q", "u+w,", "rw"] {
            assert!(bad.parse::<ChmodSpec>().is_err(), "{bad:?}");
        }
    }
}
