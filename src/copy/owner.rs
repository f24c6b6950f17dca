//! `--chown USER:GROUP`: numeric ids (always work, also in FROM-scratch
//! images) or names (looked up in /etc/passwd and /etc/group when present).

use std::str::FromStr;

use nix::unistd::{Group, User};

/// The owner to give copied entries; `None` parts are left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl FromStr for Owner {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (user, group) = match s.split_once(':') {
            Some((u, g)) => (u, g),
            None => (s, ""),
        };
        let uid = match user {
            "" => None,
            u => Some(lookup_user(u)?),
        };
        let gid = match group {
            "" => None,
            g => Some(lookup_group(g)?),
        };
        if uid.is_none() && gid.is_none() {
            return Err(format!(
                "'{s}' names no user and no group (expected UID:GID)"
            ));
        }
        Ok(Owner { uid, gid })
    }
}

fn lookup_user(u: &str) -> Result<u32, String> {
    if let Ok(id) = u.parse() {
        return Ok(id);
    }
    match User::from_name(u) {
        Ok(Some(user)) => Ok(user.uid.as_raw()),
        _ => Err(format!(
            "unknown user '{u}' (use a numeric uid where there is no /etc/passwd)"
        )),
    }
}

fn lookup_group(g: &str) -> Result<u32, String> {
    if let Ok(id) = g.parse() {
        return Ok(id);
    }
    match Group::from_name(g) {
        Ok(Some(group)) => Ok(group.gid.as_raw()),
        _ => Err(format!(
            "unknown group '{g}' (use a numeric gid where there is no /etc/group)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_and_partial_forms() {
        assert_eq!(
            "1000:1001".parse(),
            Ok(Owner {
                uid: Some(1000),
                gid: Some(1001)
            })
        );
        assert_eq!(
            "7".parse(),
            Ok(Owner {
                uid: Some(7),
                gid: None
            })
        );
        assert_eq!(
            ":5".parse(),
            Ok(Owner {
                uid: None,
                gid: Some(5)
            })
        );
        assert_eq!(
            "5:".parse(),
            Ok(Owner {
                uid: Some(5),
                gid: None
            })
        );
        assert_eq!(
            "root:root".parse(),
            Ok(Owner {
                uid: Some(0),
                gid: Some(0)
            })
        );
    }

    #[test]
    fn unknown_names_and_empty_are_errors() {
        assert!(
            "no-such-user-xyz:0"
                .parse::<Owner>()
                .unwrap_err()
                .contains("no-such-user-xyz")
        );
        assert!(
            "0:no-such-group-xyz"
                .parse::<Owner>()
                .unwrap_err()
                .contains("no-such-group-xyz")
        );
        assert!(":".parse::<Owner>().is_err());
        assert!("".parse::<Owner>().is_err());
    }
}
