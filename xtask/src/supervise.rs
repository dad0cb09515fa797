//! Looking after the demo's processes: one demo per checkout, every service's output kept and
//! shown, and every process stopped on Ctrl-C, SIGTERM, SIGHUP, or when one of them dies.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader, Read};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

/// How many of a service's last output lines are kept to show when it dies.
const TAIL: usize = 25;

/// The signals that end the demo. The first one received is remembered.
#[derive(Debug)]
pub struct Signals(Arc<AtomicUsize>);

impl Signals {
    pub fn install() -> anyhow::Result<Self> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let got = Arc::new(AtomicUsize::new(0));
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            // `register_usize` stores the signal number: which one ended the demo is printed.
            signal_hook::flag::register_usize(sig, Arc::clone(&got), usize::try_from(sig)?)
                .context("installing a signal handler")?;
        }
        Ok(Self(got))
    }

    /// The name of the signal received, if any.
    pub fn received(&self) -> Option<&'static str> {
        let n = i32::try_from(self.0.load(Ordering::SeqCst)).ok()?;
        match n {
            0 => None,
            signal_hook::consts::SIGINT => Some("Ctrl-C"),
            signal_hook::consts::SIGTERM => Some("SIGTERM"),
            signal_hook::consts::SIGHUP => Some("SIGHUP"),
            _ => Some("a signal"),
        }
    }
}

/// `.demo/demo.pid` while a demo runs from this checkout; a second one is refused by name.
#[derive(Debug)]
pub struct DemoLock(PathBuf);

impl DemoLock {
    pub fn take(path: &Path) -> anyhow::Result<Self> {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse::<u32>() {
                if pid != std::process::id() && is_demo_process(pid) {
                    bail!(
                        "a demo is already running from this checkout (process {pid}). Use that \
                         one, or stop it first: Ctrl-C in its terminal, or `kill {pid}`."
                    );
                }
            }
        }
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(Self(path.to_path_buf()))
    }
}

impl Drop for DemoLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A live process whose command line is an xtask's (a pid left behind by a crash may have been
/// given to some other program since).
fn is_demo_process(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
        c.split(|b| *b == 0)
            .next()
            .is_some_and(|argv0| String::from_utf8_lossy(argv0).ends_with("xtask"))
    })
}

/// Fails with a clear message when something else already listens on the demo's port.
pub fn port_free(port: u16, binary: &str) -> anyhow::Result<()> {
    match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => bail!(
            "port {port}, where the demo runs {binary}, is already in use: is a demo from another \
             checkout running? Stop it first (`ss -ltnp 'sport = :{port}'` shows which program \
             holds it)."
        ),
        Err(e) => Err(e).with_context(|| format!("checking port {port}")),
    }
}

/// The processes one demo started.
#[derive(Debug, Default)]
pub struct Group {
    members: Vec<Member>,
}

#[derive(Debug)]
struct Member {
    name: &'static str,
    child: Child,
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl Group {
    /// Starts `cmd` in a process group of its own (a terminal's Ctrl-C reaches only us, and we
    /// stop the services in order), its output shown line by line with its name in front.
    pub fn spawn(&mut self, name: &'static str, mut cmd: Command) -> anyhow::Result<()> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL)));
        if let Some(out) = child.stdout.take() {
            forward(name, out, Arc::clone(&tail));
        }
        if let Some(err) = child.stderr.take() {
            forward(name, err, Arc::clone(&tail));
        }
        self.members.push(Member { name, child, tail });
        Ok(())
    }

    /// Waits until `url` answers 200, failing if the service dies or a signal comes first.
    pub fn wait_healthy(
        &mut self,
        name: &str,
        url: &str,
        timeout: Duration,
        signals: &Signals,
    ) -> anyhow::Result<()> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(sig) = signals.received() {
                bail!("stopped by {sig} while {name} was starting");
            }
            self.check_alive()?;
            if crate::demo::http_status(url).is_ok_and(|s| s == 200) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        bail!("{name}: {url} did not answer within {timeout:?}")
    }

    /// Runs until a signal arrives (`Ok`) or a service dies (an error naming it).
    pub fn watch(&mut self, signals: &Signals) -> anyhow::Result<()> {
        loop {
            if let Some(sig) = signals.received() {
                eprintln!("\ndemo: {sig} received, stopping every service");
                return Ok(());
            }
            self.check_alive()?;
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// An error naming the first service that has exited, with its last lines of output.
    fn check_alive(&mut self) -> anyhow::Result<()> {
        for m in &mut self.members {
            if let Some(status) = m.child.try_wait()? {
                // Let the output threads catch up with what it wrote last.
                std::thread::sleep(Duration::from_millis(100));
                let tail = m.tail.lock().map(|t| t.clone()).unwrap_or_default();
                let mut msg = format!("{} stopped ({status})", m.name);
                if tail.is_empty() {
                    msg.push_str(" without any output");
                } else {
                    msg.push_str("; its last lines:");
                    for line in tail {
                        msg.push_str("\n    ");
                        msg.push_str(&line);
                    }
                }
                bail!(msg);
            }
        }
        Ok(())
    }

    /// SIGTERM to every service still running, then SIGKILL to any still there after `grace`.
    pub fn stop_all(&mut self, grace: Duration) {
        for m in &mut self.members {
            if m.child.try_wait().ok().flatten().is_none() {
                signal(m.child.id(), "-TERM");
            }
        }
        let start = Instant::now();
        for m in &mut self.members {
            loop {
                match m.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if start.elapsed() > grace => {
                        eprintln!("demo: {} did not stop within {grace:?}; killing it", m.name);
                        let _ = m.child.kill();
                        let _ = m.child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        }
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(sig)
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

fn forward(
    name: &'static str,
    from: impl Read + Send + 'static,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            eprintln!("[{name}] {line}");
            if let Ok(mut t) = tail.lock() {
                if t.len() == TAIL {
                    t.pop_front();
                }
                t.push_back(line);
            }
        }
    });
}
