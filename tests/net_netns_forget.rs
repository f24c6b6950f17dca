//! A dead container's namespace must not be kept alive by conlink's cached
//! sockets: once its process is gone, `forget` has to find the cache entry
//! without `/proc/PID/ns/net` (which no longer exists).

mod common;

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use conlink::net::NsTarget;
use conlink::net::netns::NsCache;

/// Our own fds that refer to the namespace with inode `ino`.
fn fds_on(ino: u64) -> usize {
    let want = format!("net:[{ino}]");
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|t| t.to_string_lossy() == want)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_after_the_process_died_releases_the_namespace() {
    let test = "forget_after_the_process_died_releases_the_namespace";
    if !common::require_root(test) {
        return;
    }
    // A process in a namespace of its own, like a container's init.
    let mut child = Command::new("unshare")
        .args(["--net", "sleep", "60"])
        .spawn()
        .expect("run unshare");
    let target = NsTarget::Pid(child.id());
    // unshare execs sleep after entering the new namespace: wait for that.
    let own = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    let mut ino = own;
    for _ in 0..100 {
        ino = std::fs::metadata(format!("/proc/{}/ns/net", child.id()))
            .map(|m| m.ino())
            .unwrap_or(own);
        if ino != own {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_ne!(ino, own, "unshare did not enter a new namespace");

    let cache = NsCache::default();
    cache.get(&target).expect("open the child's namespace");
    assert_eq!(fds_on(ino), 1, "the cache holds the namespace open");

    child.kill().unwrap();
    child.wait().unwrap();
    cache.forget(&target);
    assert_eq!(
        fds_on(ino),
        0,
        "forget released the dead process's namespace"
    );
}
