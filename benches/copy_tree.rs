//! `copy -T` on 10,000 small files (5% templated), against the 2.x way — a
//! shell loop running `cp` and one `sed` per variable per file — measured on
//! a 500-file subset and scaled to 10,000. Prints times and the ratio; not a
//! test, nothing asserts a time.
//!
//! Run: tools/bench-copy   (or cargo bench --bench copy_tree)

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const FILES: usize = 10_000;
const SUBSET: usize = 500;
const TARGET: Duration = Duration::from_secs(1);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_conlink"))
}

/// `n` files of ~200 bytes in 100 directories; every 20th holds two tokens.
fn make_tree(root: &Path, n: usize) {
    for i in 0..n {
        let dir = root.join(format!("d{:02}", i % 100));
        std::fs::create_dir_all(&dir).unwrap();
        let body = if i % 20 == 0 {
            format!(
                "# file {i}\nhost={{{{BENCH_HOST}}}}\nport={{{{BENCH_PORT}}}}\n{}\n",
                "x".repeat(150)
            )
        } else {
            format!("# file {i}\n{}\n", "y".repeat(180))
        };
        std::fs::write(dir.join(format!("f{i:05}.conf")), body).unwrap();
    }
}

fn time(mut cmd: Command) -> Duration {
    let t = Instant::now();
    let out = cmd.output().unwrap();
    let d = t.elapsed();
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    d
}

fn copy(src: &Path, dst: &Path) -> Command {
    let mut c = Command::new(bin());
    c.args(["copy", "-T", "-q"])
        .arg(src)
        .arg(dst)
        .env("BENCH_HOST", "db.example")
        .env("BENCH_PORT", "5432");
    c
}

/// The 2.x way: per file `mkdir -p`, `cp -a`, and one `sed` per variable.
const SHELL_LOOP: &str = r#"
src=$1; dst=$2
cd "$src" && find . -type f | while read -r f; do
  mkdir -p "$dst/$(dirname "$f")"
  cp -a "$f" "$dst/$f"
  for v in BENCH_HOST BENCH_PORT; do
    eval "val=\$$v"
    sed -i "s/{{$v}}/$val/g" "$dst/$f"
  done
done
"#;

fn main() {
    let work = std::env::temp_dir().join(format!("bench-copy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let (src, small) = (work.join("src"), work.join("src500"));
    make_tree(&src, FILES);
    make_tree(&small, SUBSET);

    let fresh = time(copy(&src, &{
        let d = work.join("dst1");
        std::fs::create_dir_all(&d).unwrap();
        d
    }));
    let replace = time(copy(&src, &work.join("dst1")));

    let mut sh = Command::new("sh");
    let dst2 = work.join("dst2");
    std::fs::create_dir_all(&dst2).unwrap();
    sh.args(["-c", SHELL_LOOP, "sh"])
        .arg(&small)
        .arg(&dst2)
        .env("BENCH_HOST", "db.example")
        .env("BENCH_PORT", "5432");
    let shell = time(sh);
    let shell_scaled = shell.as_secs_f64() * (FILES as f64 / SUBSET as f64);

    // Same output both ways (a benchmark of wrong work would be meaningless).
    let sample = "d00/f00000.conf";
    assert_eq!(
        std::fs::read(work.join("dst1").join(sample)).unwrap(),
        std::fs::read(dst2.join(sample)).unwrap()
    );

    println!(
        "copy -T, {FILES} files (5% templated), binary: {}",
        bin().display()
    );
    println!(
        "  into an empty dir      {:8.1} ms   (target ≤ {} ms: {:.1}× under)",
        fresh.as_secs_f64() * 1e3,
        TARGET.as_millis(),
        TARGET.as_secs_f64() / fresh.as_secs_f64()
    );
    println!(
        "  replacing every file   {:8.1} ms",
        replace.as_secs_f64() * 1e3
    );
    println!(
        "  2.x-style shell loop   {:8.1} ms for {SUBSET} files, scaled to {FILES}: {:.0} ms",
        shell.as_secs_f64() * 1e3,
        shell_scaled * 1e3
    );
    println!(
        "  ratio shell/copy       {:8.0}×",
        shell_scaled / fresh.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&work);
}
