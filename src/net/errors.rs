//! Typed errors of the link engine. Every error says what was being done
//! (`op`) and, for link work, which `container:dev` it was for, so the daemon
//! can log one line per failed link and go on with the others.

use std::io;

/// Result of link-engine operations.
pub type Result<T, E = NetError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The target namespace no longer exists (container stopped, netns
    /// deleted). Callers treat this as "nothing left to do", not a failure.
    #[error("network namespace {0} is gone")]
    Gone(String),

    /// A link, qdisc or tunnel kind the running kernel does not have.
    #[error("kernel lacks {module} (needed for {needed_for})")]
    KernelLacks {
        module: &'static str,
        needed_for: String,
    },

    /// The kernel refused a request; `source` carries its errno.
    #[error("{op}: {source}")]
    Kernel {
        op: String,
        #[source]
        source: io::Error,
    },

    /// A netlink exchange that failed without an errno (decode trouble,
    /// connection closed).
    #[error("{op}: {detail}")]
    Netlink { op: String, detail: String },

    /// A request that cannot work as given (checked before the kernel would
    /// answer with a bare EINVAL).
    #[error("{0}")]
    Invalid(String),

    /// Open vSwitch: its daemons or its database refused or are missing.
    #[error("Open vSwitch: {0}")]
    Ovs(String),

    /// The interface name a new link or tunnel needs is in use by something
    /// conlink must not delete: a live link of this run (`holder` names its
    /// `container:dev`), one of this run's bridges or tunnels, or an
    /// interface conlink did not create. Nothing was deleted.
    #[error("interface name {name} is already taken by {holder}")]
    NameTaken { name: String, holder: String },

    /// A veth's inner end could not be made because `dev` already exists
    /// in the target namespace. `ours`: it carries this instance's link
    /// group, so it is most likely the end of a veth from an earlier
    /// conlink whose namespace the kernel is still tearing down (it does
    /// that asynchronously); trying again later is expected to work.
    #[error("{dev} already exists in the target namespace ({})", if *ours {
        "a conlink veth from an earlier run, probably still being destroyed by the kernel"
    } else {
        "not made by conlink"
    })]
    InnerExists { dev: String, ours: bool },

    /// An error while working on one link, with its `container:dev` label.
    #[error("{context}: {source}")]
    InLink {
        context: String,
        #[source]
        source: Box<NetError>,
    },
}

impl NetError {
    /// The kernel's errno behind this error, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetError::Kernel { source, .. } => source.raw_os_error(),
            NetError::InLink { source, .. } => source.errno(),
            _ => None,
        }
    }

    /// True for [`NetError::Gone`], also when wrapped in a link context.
    pub fn is_gone(&self) -> bool {
        match self {
            NetError::Gone(_) => true,
            NetError::InLink { source, .. } => source.is_gone(),
            _ => false,
        }
    }

    /// True when trying again later may work: an inner end still being
    /// destroyed ([`NetError::InnerExists`]) or a kernel that was busy or
    /// short of buffers. False for everything that will fail the same way
    /// again (a taken name, a missing kernel module, an invalid request, a
    /// namespace that is gone).
    pub fn is_transient(&self) -> bool {
        match self {
            NetError::InnerExists { .. } => true,
            NetError::Kernel { .. } => matches!(
                self.errno(),
                Some(libc::EBUSY | libc::EAGAIN | libc::ENOBUFS | libc::EINTR | libc::ENOMEM)
            ),
            NetError::InLink { source, .. } => source.is_transient(),
            _ => false,
        }
    }

    /// The error without its link-context wrappers, to match on its kind.
    pub fn innermost(&self) -> &NetError {
        match self {
            NetError::InLink { source, .. } => source.innermost(),
            e => e,
        }
    }

    /// Wrap with the `container:dev` label of the link being made.
    pub fn in_link(self, context: impl Into<String>) -> NetError {
        NetError::InLink {
            context: context.into(),
            source: Box::new(self),
        }
    }

    pub(crate) fn kernel(op: impl Into<String>, errno: i32) -> NetError {
        NetError::Kernel {
            op: op.into(),
            source: io::Error::from_raw_os_error(errno),
        }
    }

    pub(crate) fn io(op: impl Into<String>, source: io::Error) -> NetError {
        NetError::Kernel {
            op: op.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_link_and_cause() {
        let e = NetError::KernelLacks {
            module: "dummy",
            needed_for: "dummy link eth1".into(),
        }
        .in_link("web_1:eth1");
        assert_eq!(
            e.to_string(),
            "web_1:eth1: kernel lacks dummy (needed for dummy link eth1)"
        );
        let e = NetError::kernel("create veth eth0", libc::EEXIST).in_link("c:eth0");
        assert_eq!(e.errno(), Some(libc::EEXIST));
        assert!(
            e.to_string()
                .starts_with("c:eth0: create veth eth0: File exists")
        );
        assert!(NetError::Gone("pid 7".into()).in_link("x").is_gone());
    }

    #[test]
    fn typed_ownership_errors_and_transience() {
        let e = NetError::NameTaken {
            name: "cverylong-eth0".into(),
            holder: "link verylongns-a:eth0".into(),
        }
        .in_link("verylongns-b:eth0");
        assert_eq!(
            e.to_string(),
            "verylongns-b:eth0: interface name cverylong-eth0 is already taken by link verylongns-a:eth0"
        );
        assert!(!e.is_transient());
        assert!(matches!(e.innermost(), NetError::NameTaken { .. }));

        let e = NetError::InnerExists {
            dev: "eth0".into(),
            ours: true,
        }
        .in_link("n1_1:eth0");
        assert!(e.is_transient());
        assert!(e.to_string().contains("still being destroyed"), "{e}");
        let e = NetError::InnerExists {
            dev: "eth0".into(),
            ours: false,
        };
        assert!(e.to_string().ends_with("(not made by conlink)"), "{e}");
        assert!(e.is_transient());

        for errno in [libc::EBUSY, libc::EAGAIN, libc::ENOBUFS] {
            assert!(NetError::kernel("x", errno).in_link("a:b").is_transient());
        }
        for e in [
            NetError::kernel("x", libc::EEXIST),
            NetError::kernel("x", libc::EINVAL),
            NetError::Gone("pid 7".into()),
            NetError::Invalid("no".into()),
            NetError::KernelLacks {
                module: "vxlan",
                needed_for: "tunnel vxlan-1".into(),
            },
        ] {
            assert!(!e.is_transient(), "{e}");
        }
    }
}
