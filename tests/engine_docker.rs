//! The engine client against the real Docker engine on this machine:
//! negotiation, inspect/list, start/die events, exec, own-container id.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::docker::{Container, DOCKER_SOCKET, SocketProxy, TestImage, docker_ok, require_docker};
use conlink::engine::{
    ContainerEvent, ContainerId, ContainerInfo, Engine, EngineError, EngineEvent, EngineKind,
    EventStream, OutputLine, OutputStream, container_id_from_mountinfo,
};
use futures::StreamExt;

async fn engine() -> Engine {
    Engine::connect(Path::new(DOCKER_SOCKET))
        .await
        .expect("connect to the local Docker engine")
}

/// The next event about `id`, skipping other containers' events (tests run
/// in parallel), or panic after a timeout.
/// A string command as the config runs it: under `sh -c`.
fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

async fn next_event_for(events: &mut EventStream, id: &str) -> ContainerEvent {
    let wait = async {
        loop {
            match events.next().await {
                Some(EngineEvent::Container(e)) if e.id().as_str() == id => return e,
                Some(EngineEvent::Container(_)) => continue,
                other => panic!("event stream ended: {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("no event for {id} within 20 s"))
}

#[tokio::test]
async fn negotiates_an_api_version_the_engine_accepts() {
    if !require_docker("negotiates_an_api_version_the_engine_accepts") {
        return;
    }
    let engine = engine().await;
    assert_eq!(engine.kind(), EngineKind::Docker);
    assert!(!engine.engine_version().is_empty());
    let server_api = docker_ok(&["version", "--format", "{{.Server.APIVersion}}"]);
    // Bollard alone would speak 1.53; on this machine (Docker 20.10, API
    // 1.41) the negotiated version must be the server's.
    let ours: Vec<u32> = engine
        .api_version()
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    let theirs: Vec<u32> = server_api.split('.').map(|p| p.parse().unwrap()).collect();
    // min(server, bollard's 1.53): the newest version both sides speak.
    let expected = if theirs <= vec![1, 53] {
        theirs
    } else {
        vec![1, 53]
    };
    assert_eq!(ours, expected, "server speaks {server_api}");
    // And a real request at that version is accepted.
    engine
        .list_running()
        .await
        .expect("list at the negotiated version");
}

#[tokio::test]
async fn connect_all_uses_the_sockets_that_answer() {
    if !require_docker("connect_all_uses_the_sockets_that_answer") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("podman.sock");
    let engines = Engine::connect_all(&[PathBuf::from(DOCKER_SOCKET), missing])
        .await
        .unwrap();
    assert_eq!(engines.len(), 1);
    assert_eq!(engines[0].socket(), Path::new(DOCKER_SOCKET));
}

#[tokio::test]
async fn a_start_event_and_proc_give_what_inspect_gives() {
    let test = "a_start_event_and_proc_give_what_inspect_gives";
    if !require_docker(test) {
        return;
    }
    let image = TestImage::get();
    let engine = engine().await;
    let mut events = engine.events(Some(SystemTime::now()));
    let name = common::unique("conlink-fast-");
    let c = Container::sleeper(
        &image,
        &name,
        &[
            ("com.docker.compose.project", "fastproj"),
            ("com.docker.compose.service", "node"),
            ("com.docker.compose.container-number", "3"),
        ],
    );
    let ContainerEvent::Start { id, attributes } = next_event_for(&mut events, &c.id).await else {
        panic!("expected a start event");
    };
    let started = std::time::Instant::now();
    let pid = conlink::engine::proc_pid::find(Path::new("/proc"), &id)
        .expect("the container's process is found through /proc");
    let find_took = started.elapsed();
    let fast = ContainerInfo::from_start_event(&id, &attributes, pid).expect("name in the event");
    let started = std::time::Instant::now();
    let slow = engine.inspect(&c.id).await.unwrap();
    eprintln!(
        "{test}: after the start event, find {} µs, inspect {} µs",
        find_took.as_micros(),
        started.elapsed().as_micros()
    );
    assert_eq!(fast.name, slow.name);
    assert_eq!(fast.compose, slow.compose);
    assert_eq!(
        fast.labels, slow.labels,
        "event attributes minus name/image are the labels"
    );
    // The container's init, exactly what inspect reports.
    assert_eq!(Some(pid), slow.pid());
    let netns = |p: u32| std::fs::read_link(format!("/proc/{p}/ns/net")).unwrap();
    assert_ne!(netns(pid), netns(std::process::id()));
}

/// Pids of processes in container `id`'s cgroup other than `init`.
fn other_processes_of(id: &str, init: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != init)
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|t| t.contains(id))
        })
        .collect()
}

fn micros(times: &[Duration]) -> String {
    let mut us: Vec<u128> = times.iter().map(|t| t.as_micros()).collect();
    us.sort_unstable();
    format!(
        "median {} µs, max {} µs",
        us[us.len() / 2],
        us[us.len() - 1]
    )
}

/// A main process that keeps spawning short-lived children: the highest
/// pid of the container is usually a child that is gone a moment later,
/// which is why /proc must give the init, as inspect does.
#[tokio::test]
async fn proc_finds_the_init_of_a_container_whose_init_spawns_children() {
    let test = "proc_finds_the_init_of_a_container_whose_init_spawns_children";
    if !require_docker(test) {
        return;
    }
    let image = TestImage::get();
    let name = common::unique("conlink-kids-");
    // `cat` is an external command for busybox sh: one fork per round.
    let c = Container::run(
        &image,
        &name,
        &[],
        &["sh", "-c", "while :; do cat /dev/null; done"],
    );
    let engine = engine().await;
    let id = ContainerId::new(c.id.clone());
    let init = engine.inspect(&c.id).await.unwrap().pid().expect("running");
    let (mut finds, mut inspects, mut with_children) = (Vec::new(), Vec::new(), 0);
    for round in 0..20 {
        let started = std::time::Instant::now();
        let found = conlink::engine::proc_pid::find(Path::new("/proc"), &id);
        finds.push(started.elapsed());
        assert_eq!(found, Some(init), "round {round}");
        let started = std::time::Instant::now();
        let inspected = engine.inspect(&c.id).await.unwrap();
        inspects.push(started.elapsed());
        assert_eq!(inspected.pid(), Some(init), "round {round}");
        if !other_processes_of(&c.id, init).is_empty() {
            with_children += 1;
        }
    }
    eprintln!(
        "{test}: find {}; inspect {}; children seen in {with_children} of 20 rounds",
        micros(&finds),
        micros(&inspects)
    );
    // Otherwise the test would not show that children are passed over.
    assert!(with_children > 0, "the container never had a child");
}

/// `docker run ARGS…` of a container removed on drop, for options that
/// [`Container::run`] does not take.
fn run_with(args: &[&str]) -> Container {
    let mut cmd = vec!["run", "-d"];
    cmd.extend_from_slice(args);
    let name = args[args.iter().position(|a| *a == "--name").unwrap() + 1];
    Container {
        name: name.to_owned(),
        id: docker_ok(&cmd),
    }
}

/// Containers without a pid namespace of their own have no process that
/// /proc can tell is their init: the daemon must inspect.
#[tokio::test]
async fn proc_leaves_containers_without_their_own_pid_namespace_to_inspect() {
    let test = "proc_leaves_containers_without_their_own_pid_namespace_to_inspect";
    if !require_docker(test) {
        return;
    }
    let image = TestImage::get();
    let engine = engine().await;
    let host_name = common::unique("conlink-pidhost-");
    let host = run_with(&[
        "--name",
        &host_name,
        "--pid",
        "host",
        &image.name,
        "sleep",
        "3600",
    ]);
    let owner = Container::sleeper(&image, &common::unique("conlink-pidown-"), &[]);
    let shared_name = common::unique("conlink-pidshared-");
    let pid_ns = format!("container:{}", owner.name);
    let shared = run_with(&[
        "--name",
        &shared_name,
        "--pid",
        &pid_ns,
        &image.name,
        "sleep",
        "3600",
    ]);
    for c in [&host, &shared] {
        assert!(engine.inspect(&c.id).await.unwrap().pid().is_some());
        let id = ContainerId::new(c.id.clone());
        assert_eq!(
            conlink::engine::proc_pid::find(Path::new("/proc"), &id),
            None,
            "{}",
            c.name
        );
    }
    // The container whose namespace is shared still has its init found.
    let id = ContainerId::new(owner.id.clone());
    assert_eq!(
        conlink::engine::proc_pid::find(Path::new("/proc"), &id),
        engine.inspect(&owner.id).await.unwrap().pid()
    );
}

#[tokio::test]
async fn inspect_and_list_report_a_started_container() {
    if !require_docker("inspect_and_list_report_a_started_container") {
        return;
    }
    let image = TestImage::get();
    let name = common::unique("conlink-eng-");
    let project = common::unique("proj");
    let c = Container::sleeper(
        &image,
        &name,
        &[
            ("com.docker.compose.project", &project),
            ("com.docker.compose.project.working_dir", "/src/demo"),
            ("com.docker.compose.service", "node"),
            ("com.docker.compose.container-number", "2"),
            ("test.label", "yes"),
        ],
    );
    let engine = engine().await;

    let info = engine.inspect(&c.id).await.unwrap();
    assert_eq!(info.id.as_str(), c.id);
    assert_eq!(info.name, name, "name without the leading /");
    let pid = info.pid().expect("running container has a pid");
    assert!(
        Path::new(&format!("/proc/{pid}/ns/net")).exists(),
        "pid {pid} is a live process"
    );
    assert_eq!(
        info.labels.get("test.label").map(String::as_str),
        Some("yes")
    );
    let compose = info.compose.as_ref().expect("compose labels parsed");
    assert_eq!(compose.project, project);
    assert_eq!(compose.working_dir.as_deref(), Some("/src/demo"));
    assert_eq!((compose.service.as_str(), compose.number), ("node", 2));

    let by_name = engine.inspect(&name).await.unwrap();
    assert_eq!(by_name.id, info.id);

    let running = engine.list_running().await.unwrap();
    let listed = running
        .iter()
        .find(|r| r.id == info.id)
        .expect("listed while running");
    assert_eq!(listed.pid(), Some(pid));

    docker_ok(&["kill", &name]);
    let stopped = engine.inspect(&c.id).await.unwrap();
    assert!(!stopped.is_running());
    assert_eq!(stopped.pid(), None);
    let running = engine.list_running().await.unwrap();
    assert!(
        running.iter().all(|r| r.id != info.id),
        "stopped container not listed"
    );

    drop(c);
    let err = engine.inspect(&info.id.to_string()).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn events_report_start_and_die_of_a_container() {
    if !require_docker("events_report_start_and_die_of_a_container") {
        return;
    }
    let image = TestImage::get();
    let engine = engine().await;
    let mut events = engine.events(Some(SystemTime::now()));

    let name = common::unique("conlink-ev-");
    let c = Container::sleeper(&image, &name, &[("com.docker.compose.service", "web")]);
    let id = ContainerId::new(c.id.clone());
    // Docker's start event names the container and carries its labels:
    // what lets the daemon skip an inspect.
    match next_event_for(&mut events, &c.id).await {
        ContainerEvent::Start {
            id: got,
            attributes,
        } => {
            assert_eq!(got, id);
            assert_eq!(attributes.get("name"), Some(&name), "{attributes:?}");
            assert_eq!(
                attributes
                    .get("com.docker.compose.service")
                    .map(String::as_str),
                Some("web"),
                "{attributes:?}"
            );
        }
        other => panic!("expected a start, got {other:?}"),
    }

    docker_ok(&["kill", &name]);
    assert_eq!(
        next_event_for(&mut events, &c.id).await,
        ContainerEvent::Die {
            id: id.clone(),
            exit_code: Some(137)
        }
    );

    docker_ok(&["start", &name]);
    assert!(matches!(
        next_event_for(&mut events, &c.id).await,
        ContainerEvent::Start { id: got, .. } if got == id
    ));

    docker_ok(&["rm", "-f", &name]);
    assert!(matches!(
        next_event_for(&mut events, &c.id).await,
        ContainerEvent::Die { .. }
    ));
    assert_eq!(
        next_event_for(&mut events, &c.id).await,
        ContainerEvent::Destroy { id }
    );
}

#[tokio::test]
async fn events_since_replay_a_start_that_happened_before_subscribing() {
    if !require_docker("events_since_replay_a_start_that_happened_before_subscribing") {
        return;
    }
    let image = TestImage::get();
    let engine = engine().await;
    let before = SystemTime::now();
    let c = Container::sleeper(&image, &common::unique("conlink-since-"), &[]);
    // Subscribing only now: the start is in the past, and must be replayed.
    let mut events = engine.events(Some(before));
    assert!(matches!(
        next_event_for(&mut events, &c.id).await,
        ContainerEvent::Start { .. }
    ));
}

#[tokio::test]
async fn a_cut_connection_ends_the_stream_with_disconnected_and_reconnecting_works() {
    let test = "a_cut_connection_ends_the_stream_with_disconnected_and_reconnecting_works";
    if !require_docker(test) {
        return;
    }
    let image = TestImage::get();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.sock");
    let proxy = SocketProxy::start(&path, Path::new(DOCKER_SOCKET));
    let engine = Engine::connect(&path).await.unwrap();
    let mut events = engine.events(Some(SystemTime::now()));
    let first = Container::sleeper(&image, &common::unique("conlink-rc-"), &[]);
    assert!(matches!(
        next_event_for(&mut events, &first.id).await,
        ContainerEvent::Start { .. }
    ));

    proxy.cut();
    // Tests run in parallel and start their own containers, so events of
    // theirs may still be queued ahead of the cut: only they may come first.
    let until_cut = async {
        loop {
            match events.next().await {
                Some(EngineEvent::Container(_)) => continue,
                other => return other,
            }
        }
    };
    let next = tokio::time::timeout(Duration::from_secs(10), until_cut).await;
    assert!(
        matches!(next, Ok(Some(EngineEvent::Disconnected { .. }))),
        "expected Disconnected, got {next:?}"
    );
    assert!(events.next().await.is_none(), "nothing after Disconnected");
    assert!(
        Engine::connect(&path).await.is_err(),
        "no engine while the socket is gone"
    );

    let _proxy = SocketProxy::start(&path, Path::new(DOCKER_SOCKET));
    let engine = Engine::connect(&path).await.expect("reconnect");
    let mut events = engine.events(Some(SystemTime::now()));
    let second = Container::sleeper(&image, &common::unique("conlink-rc-"), &[]);
    assert!(matches!(
        next_event_for(&mut events, &second.id).await,
        ContainerEvent::Start { .. }
    ));
    let running = engine.list_running().await.unwrap();
    assert!(
        running.iter().any(|c| c.id.as_str() == first.id),
        "re-list finds the earlier one"
    );
}

fn lines(out: &[OutputLine], stream: OutputStream) -> Vec<&str> {
    out.iter()
        .filter(|l| l.stream == stream)
        .map(|l| l.text.as_str())
        .collect()
}

#[tokio::test]
async fn exec_streams_output_lines_and_returns_the_exit_code() {
    if !require_docker("exec_streams_output_lines_and_returns_the_exit_code") {
        return;
    }
    let image = TestImage::get();
    let name = common::unique("conlink-ex-");
    let _c = Container::sleeper(&image, &name, &[]);
    let engine = engine().await;

    let mut out = Vec::new();
    let shell = sh("echo one; echo two >&2; printf 'three\\nfour'; exit 3");
    let code = engine.exec(&name, &shell, |l| out.push(l)).await.unwrap();
    assert_eq!(code, 3);
    assert_eq!(lines(&out, OutputStream::Stdout), ["one", "three", "four"]);
    assert_eq!(lines(&out, OutputStream::Stderr), ["two"]);

    // A list is not split or interpreted by a shell.
    let mut out = Vec::new();
    let argv: Vec<String> = vec!["echo".into(), "a  b".into(), "$HOME;".into()];
    let code = engine.exec(&name, &argv, |l| out.push(l)).await.unwrap();
    assert_eq!(code, 0);
    assert_eq!(lines(&out, OutputStream::Stdout), ["a  b $HOME;"]);

    // Lines arrive while the command still runs, not only at its end.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let slow = sh("echo early; sleep 2; echo late");
    let run = engine.exec(&name, &slow, move |l| {
        let _ = tx.send((l.text, std::time::Instant::now()));
    });
    let started = std::time::Instant::now();
    let (code, got) = tokio::join!(run, async {
        let mut got = Vec::new();
        while let Some(item) = rx.recv().await {
            got.push(item);
        }
        got
    });
    assert_eq!(code.unwrap(), 0);
    let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(texts, ["early", "late"]);
    assert!(
        got[0].1 - started < Duration::from_millis(1500),
        "early line came late"
    );

    let mut out = Vec::new();
    let missing = ["/no/such/program".to_owned()];
    let code = engine.exec(&name, &missing, |l| out.push(l)).await.unwrap();
    assert_ne!(code, 0, "a missing program fails: {out:?}");

    let err = engine.exec(&name, &[], |_| {}).await.unwrap_err();
    assert!(matches!(err, EngineError::BadExec { .. }), "{err}");
    let gone = common::unique("conlink-none-");
    let err = engine.exec(&gone, &shell, |_| {}).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn own_container_id_is_found_in_a_real_containers_mountinfo() {
    if !require_docker("own_container_id_is_found_in_a_real_containers_mountinfo") {
        return;
    }
    let image = TestImage::get();
    let name = common::unique("conlink-id-");
    let c = Container::sleeper(&image, &name, &[]);
    let engine = engine().await;
    let mut text = String::new();
    let code = engine
        .exec(
            &name,
            &["cat".to_owned(), "/proc/self/mountinfo".to_owned()],
            |l| {
                text.push_str(&l.text);
                text.push('\n');
            },
        )
        .await
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(
        container_id_from_mountinfo(&text),
        Some(ContainerId::new(c.id.clone()))
    );
}

/// The helper's fallback when tools/build-images has not run: build the
/// busybox image here, run a shell in it, and untag it on drop.
#[tokio::test]
async fn the_self_built_test_image_runs_a_shell() {
    if !require_docker("the_self_built_test_image_runs_a_shell") {
        return;
    }
    let image = TestImage::build();
    let tag = image.name.clone();
    let name = common::unique("conlink-img-");
    let c = Container::run(&image, &name, &[], &["sh", "-c", "echo ok; sleep 3600"]);
    let engine = engine().await;
    let mut out = Vec::new();
    let code = engine
        .exec(&c.name, &sh("ls /bin/sh && echo $PATH"), |l| {
            out.push(l.text)
        })
        .await
        .unwrap();
    assert_eq!(
        (code, out.as_slice()),
        (0, &["/bin/sh".to_owned(), "/bin".to_owned()][..])
    );
    drop(c);
    drop(image);
    assert!(
        !common::docker::docker(&["image", "inspect", &tag])
            .status
            .success(),
        "tag removed"
    );
}
