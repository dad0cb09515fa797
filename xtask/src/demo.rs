//! `cargo xtask demo`: the whole suite on this machine, with demo data, on a private PostgreSQL
//! cluster under `.demo/` that is kept between runs. `--check` starts everything, checks that
//! every printed URL answers, and stops again (used by `cargo xtask test`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::prereq::{self, run_cmd};

/// A service the demo starts, with the local port it gets.
struct DemoService {
    key: &'static str,
    binary: &'static str,
    port: u16,
}

/// Each service issue adds its line here.
const SERVICES: &[DemoService] = &[DemoService {
    key: "sso",
    binary: "coop-sso",
    port: 8101,
}];

struct Pg {
    bin: PathBuf,
    data: PathBuf,
    socket: PathBuf,
    root: bool,
}

impl Pg {
    fn cmd(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn running(&self) -> bool {
        self.cmd("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("status")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn start(&self, log: &Path) -> anyhow::Result<()> {
        if !self.data.join("PG_VERSION").is_file() {
            eprintln!(
                "demo: creating the PostgreSQL cluster in {}",
                self.data.display()
            );
            run_cmd(
                self.cmd("initdb")
                    .arg("-D")
                    .arg(&self.data)
                    .args([
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "--encoding=UTF8",
                        "--locale=C",
                    ])
                    .stdout(Stdio::null()),
            )?;
        }
        if self.running() {
            return Ok(());
        }
        let opts = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c port=5432",
            self.socket.display()
        );
        run_cmd(
            self.cmd("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .arg("-l")
                .arg(log)
                .args(["-o", &opts, "-w", "start"])
                .stdout(Stdio::null()),
        )
        .with_context(|| format!("starting PostgreSQL; its log is {}", log.display()))
    }

    fn stop(&self) {
        let _ = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "stop"])
            .stdout(Stdio::null())
            .status();
    }

    fn create_database(&self, name: &str) -> anyhow::Result<()> {
        let out = self
            .cmd("createdb")
            .arg("-h")
            .arg(&self.socket)
            .args(["-p", "5432", "-U", "postgres", name])
            .output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || err.contains("already exists") {
            Ok(())
        } else {
            bail!("createdb {name}: {err}")
        }
    }

    fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@localhost/{db}?host={}&port=5432",
            self.socket.display()
        )
    }
}

fn config_json(pg: &Pg, state: &Path) -> serde_json::Value {
    let mut services = serde_json::Map::new();
    for s in SERVICES {
        services.insert(
            s.key.into(),
            serde_json::json!({
                "listen": format!("127.0.0.1:{}", s.port),
                "public_url": format!("http://127.0.0.1:{}", s.port),
                "database_url": pg.url(&format!("coop_{}", s.key)),
                "state_directory": state.join(s.key),
            }),
        );
    }
    serde_json::json!({
        "organisation": { "name": "Röstånga Matkooperativ (demo)" },
        "domain": "localhost",
        "public_url": format!("http://127.0.0.1:{}", SERVICES[0].port),
        "locale": { "default": "sv", "languages": ["sv", "en"] },
        "currency": "SEK",
        "vat_classes": {
            "food": { "rates": [
                { "from": "2024-01-01", "percent": "12" },
                { "from": "2026-04-01", "percent": "6" },
                { "from": "2028-01-01", "percent": "12" }
            ] },
            "standard": { "rates": [ { "from": "1990-07-01", "percent": "25" } ] },
            "books": { "rates": [ { "from": "2002-01-01", "percent": "6" } ] }
        },
        "services": services,
    })
}

fn wait_healthy(url: &str, child: &mut Child, timeout: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(status) = child.try_wait()? {
            bail!("exited early ({status})");
        }
        if http_status(url).is_ok_and(|s| s == 200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("{url} did not answer within {timeout:?}")
}

/// A minimal HTTP/1.1 GET on loopback, so the demo needs no HTTP client crate.
fn http_status(url: &str) -> anyhow::Result<u16> {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://").context("only http:// URLs")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = String::new();
    stream.read_to_string(&mut buf)?;
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status line")?;
    Ok(status)
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let check = args.iter().any(|a| a == "--check");
    if let Some(unknown) = args.iter().find(|a| a.as_str() != "--check") {
        bail!("unknown option {unknown}; see `cargo xtask --help`");
    }
    let root_dir = prereq::repo_root();
    let demo = root_dir.join(".demo");
    let bin = prereq::ensure_postgres()?;
    let is_root = prereq::is_root();
    let pg = Pg {
        bin,
        data: demo.join("pg/data"),
        socket: demo.join("pg/run"),
        root: is_root,
    };
    std::fs::create_dir_all(&pg.socket)?;
    std::fs::create_dir_all(demo.join("state"))?;
    if is_root {
        // PostgreSQL will not run as root; its directories belong to the postgres account,
        // which must also be able to reach them.
        run_cmd(
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(demo.join("pg")),
        )?;
        let reachable = Command::new("runuser")
            .args(["-u", "postgres", "--", "test", "-w"])
            .arg(&pg.socket)
            .status()
            .is_ok_and(|s| s.success());
        if !reachable {
            bail!(
                "the postgres account cannot reach {}: a parent directory is private. Clone the \
                 repository somewhere world-traversable (e.g. /srv or /work), or run as a normal user.",
                pg.socket.display()
            );
        }
    }
    pg.start(&demo.join("pg/server.log"))?;

    let result = run_suite(&root_dir, &demo, &pg, check);
    if check {
        pg.stop();
    } else {
        eprintln!(
            "demo: PostgreSQL keeps running for the next start; stop it with:\n  {}",
            format_args!(
                "{}pg_ctl -D {} stop",
                if is_root {
                    "runuser -u postgres -- "
                } else {
                    ""
                },
                pg.data.display()
            )
        );
    }
    result
}

fn run_suite(root_dir: &Path, demo: &Path, pg: &Pg, check: bool) -> anyhow::Result<()> {
    for s in SERVICES {
        pg.create_database(&format!("coop_{}", s.key))?;
    }
    let config = demo.join("cooperage.json");
    std::fs::write(
        &config,
        serde_json::to_string_pretty(&config_json(pg, &demo.join("state")))?,
    )?;

    eprintln!("demo: building the services");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(&cargo);
    build.current_dir(root_dir).args(["build", "--quiet"]);
    for s in SERVICES {
        build.args(["--bin", s.binary]);
    }
    run_cmd(&mut build)?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root_dir.join("target"), PathBuf::from);
    let exe = |name: &str| target.join("debug").join(name);

    for s in SERVICES {
        run_cmd(
            Command::new(exe(s.binary))
                .arg("migrate")
                .arg("--config")
                .arg(&config),
        )?;
    }
    let sign_ins = seed(&exe("coop-sso"), &config)?;

    let mut children: Vec<(&str, Child)> = Vec::new();
    let result = (|| -> anyhow::Result<()> {
        for s in SERVICES {
            let child = Command::new(exe(s.binary))
                .arg("serve")
                .arg("--config")
                .arg(&config)
                .stdin(Stdio::null())
                .spawn()
                .with_context(|| format!("starting {}", s.binary))?;
            children.push((s.binary, child));
        }
        for (s, (name, child)) in SERVICES.iter().zip(children.iter_mut()) {
            wait_healthy(
                &format!("http://127.0.0.1:{}/healthz", s.port),
                child,
                Duration::from_secs(60),
            )
            .with_context(|| format!("{name} did not start"))?;
        }
        println!("\nCooperage demo is running:");
        for s in SERVICES {
            println!("  {:<18} http://127.0.0.1:{}/", s.binary, s.port);
        }
        if !sign_ins.is_empty() {
            println!("\nDemo sign-ins (passwords are made anew at every start):");
            for line in &sign_ins {
                println!("  {line}");
            }
            println!(
                "  (admins and bookkeepers set up an authenticator app at their first sign-in)"
            );
        }
        if check {
            for s in SERVICES {
                for path in ["/", "/?lang=en", "/readyz"] {
                    let url = format!("http://127.0.0.1:{}{path}", s.port);
                    let status = http_status(&url)?;
                    if status != 200 {
                        bail!("{url} answered {status}");
                    }
                    println!("demo check: {url} 200");
                }
            }
            return Ok(());
        }
        println!("\nPress Ctrl-C to stop.");
        // Ctrl-C reaches the whole process group; the services stop gracefully on it and this
        // loop notices they are gone.
        while !children
            .iter_mut()
            .any(|(_, c)| c.try_wait().ok().flatten().is_some())
        {
            std::thread::sleep(Duration::from_millis(300));
        }
        Ok(())
    })();
    for (_, child) in &mut children {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
    }
    for (name, child) in &mut children {
        match child.wait() {
            Ok(s) if !s.success() && result.is_ok() && check => {
                eprintln!("demo: {name} exited with {s}");
            }
            _ => {}
        }
    }
    result
}

/// Demo members with fresh random passwords; returns the lines to print.
fn seed(sso: &Path, config: &Path) -> anyhow::Result<Vec<String>> {
    let out = Command::new(sso)
        .arg("demo-seed")
        .arg("--config")
        .arg(config)
        .stderr(Stdio::inherit())
        .output()
        .context("running coop-sso demo-seed")?;
    if !out.status.success() {
        bail!("coop-sso demo-seed failed");
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}
