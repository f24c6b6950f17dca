//! Which containers `service:` links may match: only those of conlink's own
//! compose project (and working dir, so two checkouts of one project do not
//! wire each other), or of the project named by `--compose-project`.

use super::container::ContainerInfo;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    project: String,
    /// `None` when the project was given by name: then any working dir.
    working_dir: Option<String>,
}

impl Scope {
    /// `--compose-project NAME`: that project, from any working dir.
    pub fn project(name: impl Into<String>) -> Scope {
        Scope {
            project: name.into(),
            working_dir: None,
        }
    }

    /// The project and working dir of conlink's own container; `None` when
    /// it was not started by compose.
    pub fn of_own_container(own: &ContainerInfo) -> Option<Scope> {
        let compose = own.compose.as_ref()?;
        Some(Scope {
            project: compose.project.clone(),
            working_dir: compose.working_dir.clone(),
        })
    }

    /// The scope to use: the flag wins over conlink's own labels. `None`
    /// means no project is known, and `service:` links match nothing (the
    /// caller should say so; matching every project would wire strangers).
    pub fn resolve(flag: Option<&str>, own: Option<&ContainerInfo>) -> Option<Scope> {
        match flag {
            Some(name) => Some(Scope::project(name)),
            None => own.and_then(Scope::of_own_container),
        }
    }

    pub fn project_name(&self) -> &str {
        &self.project
    }

    pub fn working_dir(&self) -> Option<&str> {
        self.working_dir.as_deref()
    }

    /// True when `container` belongs to this compose project (and working dir).
    pub fn matches(&self, container: &ContainerInfo) -> bool {
        let Some(compose) = &container.compose else {
            return false;
        };
        compose.project == self.project
            && match &self.working_dir {
                Some(dir) => compose.working_dir.as_deref() == Some(dir.as_str()),
                None => true,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::container::{ComposeInfo, ContainerId, RunState};

    fn container(project: Option<(&str, Option<&str>)>) -> ContainerInfo {
        ContainerInfo {
            id: ContainerId::new("0".repeat(64)),
            name: "x".into(),
            state: RunState::Running { pid: 1 },
            labels: Default::default(),
            compose: project.map(|(p, dir)| ComposeInfo {
                project: p.into(),
                working_dir: dir.map(Into::into),
                service: "node".into(),
                number: 1,
            }),
        }
    }

    #[test]
    fn own_scope_needs_project_and_working_dir_to_match() {
        let own = container(Some(("demo", Some("/a"))));
        let scope = Scope::resolve(None, Some(&own)).unwrap();
        assert!(scope.matches(&container(Some(("demo", Some("/a"))))));
        assert!(
            !scope.matches(&container(Some(("demo", Some("/b"))))),
            "other checkout"
        );
        assert!(!scope.matches(&container(Some(("demo", None)))));
        assert!(!scope.matches(&container(Some(("other", Some("/a"))))));
        assert!(!scope.matches(&container(None)), "not a compose container");
    }

    #[test]
    fn the_flag_wins_and_ignores_the_working_dir() {
        let own = container(Some(("demo", Some("/a"))));
        let scope = Scope::resolve(Some("other"), Some(&own)).unwrap();
        assert_eq!(scope.project_name(), "other");
        assert!(scope.matches(&container(Some(("other", Some("/anywhere"))))));
        assert!(scope.matches(&container(Some(("other", None)))));
        assert!(!scope.matches(&container(Some(("demo", Some("/a"))))));
    }

    #[test]
    fn no_flag_and_no_compose_identity_gives_no_scope() {
        assert_eq!(Scope::resolve(None, None), None);
        assert_eq!(Scope::resolve(None, Some(&container(None))), None);
    }
}
