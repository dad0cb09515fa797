//! `cargo xtask demo`: the whole suite on this machine, with demo data, on a private PostgreSQL
//! cluster that is kept between runs. `--check` starts everything, checks that every printed URL
//! answers, and stops again (used by `cargo xtask test`).
//!
//! The cluster does not live in the checkout: as root, PostgreSQL runs as the `postgres` account,
//! which cannot reach into a private folder such as root's home. It lives in a folder of its own
//! per checkout (see [`cluster_home`]), with the services' own state beside it (`state/`: what
//! coop-sso sealed in the database opens only with the key there, so the two go together); the
//! rendered config and the lock stay in `.demo/` in the checkout.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _};

use crate::prereq::{self, run_cmd};
use crate::supervise;

/// A service the demo starts, with the local port it gets.
struct DemoService {
    key: &'static str,
    binary: &'static str,
    port: u16,
}

/// Each service issue adds its line here.
const SERVICES: &[DemoService] = &[
    DemoService {
        key: "sso",
        binary: "coop-sso",
        port: 8101,
    },
    DemoService {
        key: "pos",
        binary: "coop-pos",
        port: 8102,
    },
    DemoService {
        key: "ims",
        binary: "coop-ims",
        port: 8103,
    },
    DemoService {
        key: "finance",
        binary: "coop-finance",
        port: 8104,
    },
    DemoService {
        key: "buyers_club",
        binary: "coop-buyers-club",
        port: 8105,
    },
];

pub(crate) struct Pg {
    pub bin: PathBuf,
    pub data: PathBuf,
    pub socket: PathBuf,
    pub root: bool,
}

impl Pg {
    pub(crate) fn cmd(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            // The postgres account may not enter the checkout (a private folder).
            c.current_dir("/");
            c
        } else {
            Command::new(path)
        }
    }

    pub(crate) fn running(&self) -> bool {
        self.cmd("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("status")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    pub(crate) fn start(&self, log: &Path) -> anyhow::Result<()> {
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
            // Running, or still shutting down after an earlier step stopped it: wait until it
            // takes connections, or has stopped and can be started again.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            loop {
                if self.ready() {
                    return Ok(());
                }
                if !self.running() {
                    break;
                }
                if std::time::Instant::now() > deadline {
                    bail!(
                        "PostgreSQL in {} runs but takes no connections; its log is {}",
                        self.data.display(),
                        log.display()
                    );
                }
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
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

    /// Whether the server takes connections on its socket.
    pub(crate) fn ready(&self) -> bool {
        self.cmd("pg_isready")
            .arg("-h")
            .arg(&self.socket)
            .args(["-p", "5432", "-U", "postgres", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Stops the server and waits until it has (a shutdown checkpoint on a slow disk can take
    /// longer than pg_ctl's default minute); if it will not, stops it at once.
    pub(crate) fn stop(&self) {
        let stopped = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "-t", "300", "stop"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !stopped && self.running() {
            let _ = self
                .cmd("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .status();
        }
    }

    pub(crate) fn drop_database(&self, name: &str) -> anyhow::Result<()> {
        let out = self
            .cmd("dropdb")
            .arg("-h")
            .arg(&self.socket)
            .args([
                "-p",
                "5432",
                "-U",
                "postgres",
                "--if-exists",
                "--force",
                name,
            ])
            .output()?;
        if out.status.success() {
            Ok(())
        } else {
            bail!("dropdb {name}: {}", String::from_utf8_lossy(&out.stderr))
        }
    }

    pub(crate) fn create_database(&self, name: &str) -> anyhow::Result<()> {
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

    pub(crate) fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@localhost/{db}?host={}&port=5432",
            self.socket.display()
        )
    }
}

fn config_json(pg: &Pg, state: &Path, root_dir: &Path) -> serde_json::Value {
    let mut services = serde_json::Map::new();
    for s in SERVICES {
        let mut section = serde_json::json!({
            "listen": format!("127.0.0.1:{}", s.port),
            "public_url": format!("http://127.0.0.1:{}", s.port),
            "database_url": pg.url(&format!("coop_{}", s.key)),
            "state_directory": state.join(s.key),
        });
        if s.key != "sso" {
            // The service's client secret at coop-sso, which both read (made anew at each start).
            section["client_secret_file"] =
                serde_json::json!(state.join(format!("{}-client-secret", s.key)));
        }
        services.insert(s.key.into(), section);
    }
    // Four eyes above 2,000 kr, as the example server has it.
    services["finance"]["second_bookkeeper_above"] = serde_json::json!("2000");
    // Members see where a product stands in the demo shop.
    services["ims"]["show_locations"] = serde_json::json!(true);
    serde_json::json!({
        "organisation": {
            "name": "Röstånga Matkooperativ (demo)",
            "logo_file": root_dir.join("xtask/demo/logo.svg"),
            "accent_colour": "#2f6b3a",
        },
        "domain": "localhost",
        "public_url": format!("http://127.0.0.1:{}", SERVICES[0].port),
        "locale": { "default": "sv", "languages": ["sv", "en"], "time_zone": "Europe/Stockholm" },
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

/// A minimal HTTP/1.1 GET on loopback, so the demo needs no HTTP client crate.
pub fn http_status(url: &str) -> anyhow::Result<u16> {
    Ok(http_get(url)?.0)
}

/// [`http_status`] with the answer's body.
pub fn http_get(url: &str) -> anyhow::Result<(u16, String)> {
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
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// The demo till's own port.
const TILL_PORT: u16 = 8180;

/// The demo till's config: it pairs through the demo's coop-sso and sells from central.
fn till_json(state: &Path) -> serde_json::Value {
    let url = |key: &str| {
        let s = SERVICES
            .iter()
            .find(|s| s.key == key)
            .expect("a demo service");
        format!("http://127.0.0.1:{}", s.port)
    };
    serde_json::json!({
        "state_directory": state.join("till"),
        "listen": format!("127.0.0.1:{TILL_PORT}"),
        "lang": "sv",
        "central_url": url("pos"),
        "catalogue_feed_url": format!("{}/api/feed", url("ims")),
        "member_feed_url": format!("{}/api/feed", url("sso")),
        "sso_url": url("sso"),
    })
}

/// Starts the demo till and, the first time, pairs it from coop-sso's console with the code
/// its screen shows, as a manager would at /device.
fn start_till(
    group: &mut supervise::Group,
    exe: &dyn Fn(&str) -> PathBuf,
    demo: &Path,
    state: &Path,
    config: &Path,
    signals: &supervise::Signals,
) -> anyhow::Result<()> {
    let till_config = demo.join("till.json");
    std::fs::write(
        &till_config,
        serde_json::to_string_pretty(&till_json(state))?,
    )?;
    let mut cmd = Command::new(exe("coop-pos"));
    cmd.arg("till").arg("--config").arg(&till_config);
    group.spawn("coop-pos till", cmd)?;
    let screen = format!("http://127.0.0.1:{TILL_PORT}/");
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Some(sig) = signals.received() {
            bail!("stopped by {sig} while the till was starting");
        }
        match http_get(&screen) {
            // Paired before (a second start): it serves its own pages.
            Ok((200, body))
                if !body.contains("id=\"pair-code\"")
                    && !body.contains("http-equiv=\"refresh\"") =>
            {
                break
            }
            Ok((200, body)) => {
                if let Some(code) = body
                    .split_once("id=\"pair-code\">")
                    .and_then(|(_, rest)| rest.split_once('<'))
                    .map(|(code, _)| code.to_owned())
                {
                    run_cmd(
                        Command::new(exe("coop-sso"))
                            .arg("pair-till")
                            .arg("--config")
                            .arg(config)
                            .arg("--code")
                            .arg(&code)
                            .arg("--name")
                            .arg("Kassa 1 (demo)"),
                    )?;
                    break;
                }
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    group.wait_healthy(
        "coop-pos till",
        &format!("http://127.0.0.1:{TILL_PORT}/healthz"),
        Duration::from_secs(60),
        signals,
    )?;
    // Three weeks of the till's sales, once (a second start finds them and adds none); the
    // running till uploads them to central, and coop-ims and coop-finance take them from there.
    run_cmd(
        Command::new(exe("coop-pos"))
            .arg("till-demo-sales")
            .arg("--config")
            .arg(&till_config),
    )
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let check = args.iter().any(|a| a == "--check");
    let reset = args.iter().any(|a| a == "--reset");
    if let Some(unknown) = args
        .iter()
        .find(|a| !matches!(a.as_str(), "--check" | "--reset"))
    {
        bail!("unknown option {unknown}; see `cargo xtask --help`");
    }
    let root_dir = prereq::repo_root();
    let demo = root_dir.join(".demo");
    std::fs::create_dir_all(&demo)?;
    // Before anything else, so a second demo says so instead of failing on a busy port.
    let _lock = supervise::DemoLock::take(&demo.join("demo.pid"))?;
    if reset {
        return forget(&root_dir, &demo);
    }
    for s in SERVICES {
        supervise::port_free(s.port, s.binary)?;
    }

    let signals = supervise::Signals::install()?;
    let (pg, home) = checkout_cluster(&root_dir)?;
    let is_root = pg.root;
    pg.start(&home.join("log/server.log"))?;
    // The services' state (coop-sso's sealing key, session keys, client secrets) lives beside the
    // cluster, because the databases hold what it sealed: the two are kept, or lost, together. A
    // cluster found without it (a checkout deleted and cloned again at the same path, or a
    // cluster from before the state moved here) starts its databases afresh.
    let state = home.join("state");
    if !state.is_dir() {
        for s in SERVICES {
            pg.drop_database(&format!("coop_{}", s.key))?;
        }
        create_private_dir(&state)?;
    }

    let result = run_suite(&root_dir, &demo, &state, &pg, check, &signals);
    if check {
        pg.stop();
    } else {
        eprintln!(
            "demo: PostgreSQL keeps running for the next start; stop it with:\n  {}",
            format_args!(
                "{}{} -D {} stop",
                if is_root {
                    "runuser -u postgres -- "
                } else {
                    ""
                },
                pg.bin.join("pg_ctl").display(),
                pg.data.display()
            )
        );
    }
    result
}

/// `--reset`: stops this checkout's PostgreSQL and deletes its cluster with the services' state
/// beside it (and the state folder of older demos in the checkout), so the next demo starts
/// from nothing.
fn forget(root_dir: &Path, demo: &Path) -> anyhow::Result<()> {
    let is_root = prereq::is_root();
    let home = cluster_home(root_dir, is_root)?;
    if home.join("data/PG_VERSION").is_file() {
        let pg = Pg {
            bin: prereq::ensure_postgres()?,
            data: home.join("data"),
            socket: home.join("run"),
            root: is_root,
        };
        if pg.running() {
            pg.stop();
        }
    }
    for dir in [&home, &demo.join("state")] {
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("deleting {}", dir.display()))?;
        }
    }
    let _ = std::fs::remove_file(demo.join("cooperage.json"));
    eprintln!(
        "demo: deleted the demo data of this checkout ({})",
        home.display()
    );
    Ok(())
}

/// Where this checkout's PostgreSQL cluster lives: a folder named by a hash of the checkout's
/// path, so two checkouts never share one and the same checkout finds its cluster again. As
/// root it is under `/var/lib/cooperage-demo/`, which the `postgres` account can reach wherever
/// the checkout is; otherwise under the user's state directory (`$XDG_STATE_HOME`).
pub fn cluster_home(root_dir: &Path, is_root: bool) -> anyhow::Result<PathBuf> {
    let base = if let Some(dir) = std::env::var_os("COOP_DEMO_HOME") {
        PathBuf::from(dir)
    } else if is_root {
        PathBuf::from("/var/lib/cooperage-demo")
    } else if let Some(state) = std::env::var_os("XDG_STATE_HOME").filter(|s| !s.is_empty()) {
        PathBuf::from(state).join("cooperage-demo")
    } else {
        let home = std::env::var_os("HOME").context("HOME is not set")?;
        PathBuf::from(home).join(".local/state/cooperage-demo")
    };
    let checkout = std::fs::canonicalize(root_dir).unwrap_or_else(|_| root_dir.to_path_buf());
    Ok(base.join(format!(
        "{:016x}",
        fnv1a(checkout.as_os_str().as_encoded_bytes())
    )))
}

/// This checkout's private cluster (made ready, not started) and its folder.
pub(crate) fn checkout_cluster(root_dir: &Path) -> anyhow::Result<(Pg, PathBuf)> {
    let bin = prereq::ensure_postgres()?;
    let is_root = prereq::is_root();
    let home = cluster_home(root_dir, is_root)?;
    let pg = Pg {
        bin,
        data: home.join("data"),
        socket: home.join("run"),
        root: is_root,
    };
    prepare_cluster_home(&home, root_dir, is_root)?;
    Ok((pg, home))
}

/// FNV-1a, 64 bits: stable across Rust versions (the standard hasher is not promised to be).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Creates the cluster's folder: reachable by the database account, private inside.
pub(crate) fn prepare_cluster_home(
    home: &Path,
    root_dir: &Path,
    is_root: bool,
) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let parent = home.parent().context("cluster folder has a parent")?;
    std::fs::create_dir_all(parent)?;
    std::fs::create_dir_all(home.join("run"))?;
    std::fs::create_dir_all(home.join("data"))?;
    std::fs::create_dir_all(home.join("log"))?;
    // Which checkout this cluster belongs to, for a person looking at the folder.
    std::fs::write(home.join("checkout"), format!("{}\n", root_dir.display()))?;
    if is_root {
        for dir in [parent, home] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        }
        run_cmd(
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(home.join("data"))
                .arg(home.join("run"))
                .arg(home.join("log")),
        )?;
        let reachable = Command::new("runuser")
            .args(["-u", "postgres", "--", "test", "-w"])
            .arg(home.join("run"))
            .current_dir("/")
            .status()
            .is_ok_and(|s| s.success());
        if !reachable {
            bail!(
                "the postgres account cannot write to {}; set COOP_DEMO_HOME to a folder it can reach",
                home.join("run").display()
            );
        }
    }
    std::fs::set_permissions(home.join("data"), std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// A folder only its owner can enter.
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

fn run_suite(
    root_dir: &Path,
    demo: &Path,
    state: &Path,
    pg: &Pg,
    check: bool,
    signals: &supervise::Signals,
) -> anyhow::Result<()> {
    for s in SERVICES {
        pg.create_database(&format!("coop_{}", s.key))?;
    }
    for s in SERVICES.iter().filter(|s| s.key != "sso") {
        write_secret(&state.join(format!("{}-client-secret", s.key)))?;
    }
    let config = demo.join("cooperage.json");
    std::fs::write(
        &config,
        serde_json::to_string_pretty(&config_json(pg, state, root_dir))?,
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
    for seeded in ["coop-finance", "coop-ims", "coop-buyers-club"] {
        run_cmd(
            Command::new(exe(seeded))
                .arg("demo-seed")
                .arg("--config")
                .arg(&config),
        )?;
    }

    let mut group = supervise::Group::default();
    let result = (|| -> anyhow::Result<()> {
        for s in SERVICES {
            let mut cmd = Command::new(exe(s.binary));
            cmd.arg("serve").arg("--config").arg(&config);
            group.spawn(s.binary, cmd)?;
        }
        for s in SERVICES {
            group.wait_healthy(
                s.binary,
                &format!("http://127.0.0.1:{}/healthz", s.port),
                Duration::from_secs(60),
                signals,
            )?;
        }
        start_till(&mut group, &exe, demo, state, &config, signals)?;
        println!("\nCooperage demo is running:");
        for s in SERVICES {
            println!("  {:<18} http://127.0.0.1:{}/", s.binary, s.port);
        }
        println!(
            "  {:<18} http://127.0.0.1:{TILL_PORT}/  (a cashier sets a PIN at http://127.0.0.1:{}/pin first)",
            "the till",
            SERVICES.iter().find(|s| s.key == "pos").map_or(0, |s| s.port)
        );
        println!(
            "  {:<18} http://127.0.0.1:{}/styleguide",
            "styleguide", SERVICES[0].port
        );
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
                for path in ["/", "/?lang=en", "/readyz", "/styleguide"] {
                    let url = format!("http://127.0.0.1:{}{path}", s.port);
                    let status = http_status(&url)?;
                    // A service whose start page is for members sends a stranger to sign in.
                    let signs_in = s.key != "sso" && (path == "/" || path.starts_with("/?"));
                    if status != 200 && !(signs_in && status == 303) {
                        bail!("{url} answered {status}");
                    }
                    println!("demo check: {url} {status}");
                }
            }
            // The till, paired, serves its locked screen with the time clock.
            let (status, body) = http_get(&format!("http://127.0.0.1:{TILL_PORT}/"))?;
            if status != 200 || !body.contains("/clock") {
                bail!("the demo till answered {status} without its locked screen");
            }
            println!("demo check: the till at http://127.0.0.1:{TILL_PORT}/ is paired and serving");
            return Ok(());
        }
        println!("\nPress Ctrl-C to stop.");
        group.watch(signals)
    })();
    group.stop_all(Duration::from_secs(15));
    result
}

/// A new random secret (64 hex digits) in a file only its owner reads.
fn write_secret(path: &Path) -> anyhow::Result<()> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let hex = bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    std::io::Write::write_all(&mut f, hex.as_bytes())?;
    Ok(())
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
