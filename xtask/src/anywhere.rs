//! `cargo xtask anywhere`, a step of `cargo xtask test`: both README commands work from a copy
//! of the checkout in a private folder (mode 0700, like root's home), and the demo looks after
//! its processes: a second demo is refused by name, another checkout's demo on the same ports is
//! refused with the port, a service that dies stops the demo with its last lines, and SIGTERM
//! stops every process. Prints one `ok`/`not ok` line per check and `N passed, M failed`.

use std::io::{BufRead as _, BufReader, Read};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::prereq;

/// The step as `cargo xtask test` runs it.
pub fn command() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(prereq::repo_root())
        .args(["xtask", "anywhere"]);
    c
}

#[derive(Default)]
struct Tally {
    passed: u32,
    failed: u32,
}

impl Tally {
    fn check(&mut self, name: &str, ok: bool, detail: &str) {
        if ok {
            self.passed += 1;
            println!("ok - {name}");
        } else {
            self.failed += 1;
            println!("not ok - {name}");
            // What went wrong is often well before the end (the services' shutdown follows it):
            // the lines that say so first, then the last lines.
            let said: Vec<&str> = detail
                .lines()
                .filter(|l| {
                    let l = l.to_ascii_lowercase();
                    (l.contains("error") || l.contains("fail") || l.contains("panick"))
                        && !l.contains(" info ")
                })
                .take(20)
                .collect();
            for line in said {
                println!("#!  {line}");
            }
            for line in detail
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                println!("#   {line}");
            }
        }
    }
}

/// A private folder holding a copy of the checkout; deleted, with the copy's demo data, on drop.
struct PrivateCopy {
    folder: PathBuf,
    checkout: PathBuf,
}

impl PrivateCopy {
    fn new(from: &Path) -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .subsec_nanos();
        let folder = std::env::temp_dir().join(format!(
            "cooperage-anywhere-{}-{nanos:09}",
            std::process::id()
        ));
        std::fs::create_dir(&folder)?;
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700))?;
        let checkout = folder.join("cooperage");
        copy_checkout(from, &checkout)?;
        Ok(Self { folder, checkout })
    }
}

impl Drop for PrivateCopy {
    fn drop(&mut self) {
        let _ = xtask(&self.checkout, &["demo", "--reset"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// What a fresh clone of the working tree would hold: tracked files and new, unignored ones.
fn copy_checkout(from: &Path, to: &Path) -> anyhow::Result<()> {
    let out = Command::new("git")
        .current_dir(from)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .context("git ls-files")?;
    if !out.status.success() {
        bail!("git ls-files failed in {}", from.display());
    }
    for name in out.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let rel = Path::new(std::str::from_utf8(name)?);
        let src = from.join(rel);
        // A file deleted but not yet committed is listed and absent: a clone would lack it too.
        if !src.is_file() {
            continue;
        }
        let dst = to.join(rel);
        std::fs::create_dir_all(dst.parent().context("a file has a folder")?)?;
        std::fs::copy(&src, &dst).with_context(|| format!("copying {}", rel.display()))?;
    }
    Ok(())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| prereq::repo_root().join("target"), PathBuf::from)
}

/// `cargo xtask ARGS` in `checkout`, sharing this checkout's build cache.
fn xtask(checkout: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(checkout)
        .arg("xtask")
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir())
        .stdin(Stdio::null());
    c
}

/// A demo running in the background, its output collected.
struct RunningDemo {
    child: Child,
    output: Arc<Mutex<String>>,
    lines: mpsc::Receiver<String>,
}

impl RunningDemo {
    fn start(checkout: &Path) -> anyhow::Result<Self> {
        let mut child = xtask(checkout, &["demo"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting cargo xtask demo")?;
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        collect(child.stdout.take(), Arc::clone(&output), Some(tx));
        collect(child.stderr.take(), Arc::clone(&output), None);
        Ok(Self {
            child,
            output,
            lines,
        })
    }

    /// Waits for the demo to say it is running.
    fn wait_running(&mut self, timeout: Duration) -> bool {
        let start = Instant::now();
        while let Some(left) = timeout.checked_sub(start.elapsed()) {
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(500)))
            {
                Ok(line) if line.contains("Cooperage demo is running") => return true,
                Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return false,
            }
            if self.child.try_wait().ok().flatten().is_some() {
                return false;
            }
        }
        false
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader threads take the last lines.
                std::thread::sleep(Duration::from_millis(200));
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }
}

impl Drop for RunningDemo {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            signal(self.child.id(), "-TERM");
            if self.wait_exit(Duration::from_secs(20)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

fn collect(
    from: Option<impl Read + Send + 'static>,
    into: Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
) {
    let Some(from) = from else { return };
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            if let Ok(mut o) = into.lock() {
                o.push_str(&line);
                o.push('\n');
            }
            if let Some(tx) = &lines {
                let _ = tx.send(line);
            }
        }
    });
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").arg(sig).arg(pid.to_string()).status();
}

/// Processes whose command line names `needle` (the copy's demo config).
fn processes_with(needle: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn run() -> anyhow::Result<()> {
    let root = prereq::repo_root();
    let copy = PrivateCopy::new(&root)?;
    let here = &copy.checkout;
    let config = here.join(".demo/cooperage.json");
    let config = config.to_string_lossy().into_owned();
    println!(
        "# a copy of the checkout in {} (mode 0700)",
        copy.folder.display()
    );
    let mut t = Tally::default();

    let out = xtask(here, &["demo", "--check"]).output()?;
    t.check(
        "`cargo xtask demo --check` from a private folder",
        out.status.success(),
        &output_text(&out),
    );

    let mut demo = RunningDemo::start(here)?;
    let running = demo.wait_running(Duration::from_secs(600));
    t.check(
        "`cargo xtask demo` starts from a private folder",
        running,
        &demo.output(),
    );
    if running {
        let out = xtask(here, &["demo", "--check"]).output()?;
        let text = output_text(&out);
        t.check(
            "a second demo of the same checkout is refused, naming the running one",
            !out.status.success() && text.contains("a demo is already running from this checkout"),
            &text,
        );
        let out = xtask(&root, &["demo", "--check"]).output()?;
        let text = output_text(&out);
        t.check(
            "a demo of another checkout on the same ports is refused, naming the port",
            !out.status.success() && text.contains("port 8101") && text.contains("already in use"),
            &text,
        );

        let services = processes_with(&config)
            .into_iter()
            .filter(|pid| *pid != demo.child.id())
            .collect::<Vec<_>>();
        for pid in &services {
            signal(*pid, "-KILL");
        }
        let status = demo.wait_exit(Duration::from_secs(30));
        let text = demo.output();
        t.check(
            "a service that dies stops the demo, which names it and shows its last lines",
            !services.is_empty()
                && status.is_some_and(|s| !s.success())
                && (text.contains("coop-sso stopped") || text.contains("coop-finance stopped"))
                && text.contains("its last lines"),
            &text,
        );
    }
    drop(demo);

    let mut demo = RunningDemo::start(here)?;
    if demo.wait_running(Duration::from_secs(300)) {
        signal(demo.child.id(), "-TERM");
        let status = demo.wait_exit(Duration::from_secs(30));
        // Give the services' sockets a moment to close.
        std::thread::sleep(Duration::from_millis(300));
        let left = processes_with(&config);
        t.check(
            "SIGTERM stops the demo and every process it started",
            status.is_some_and(|s| s.success())
                && left.is_empty()
                && port_free(8101)
                && port_free(8104)
                && !here.join(".demo/demo.pid").exists(),
            &format!("{}\nstill running: {left:?}", demo.output()),
        );
    } else {
        t.check(
            "SIGTERM stops the demo and every process it started",
            false,
            &demo.output(),
        );
    }
    drop(demo);

    let out = xtask(
        here,
        &["test", "--", "-p", "coop-web", "--test", "it", "kit::"],
    )
    .output()?;
    t.check(
        "`cargo xtask test` from a private folder (the kit's tests)",
        out.status.success(),
        &output_text(&out),
    );

    println!("{} passed, {} failed", t.passed, t.failed);
    if t.failed > 0 {
        bail!("{} of the checks from a private folder failed", t.failed);
    }
    Ok(())
}
