//! The whole suite as a co-op runs it, on loopback: every service's built binary (`migrate`,
//! then `serve` on a socket the test holds, as systemd hands one over), one private PostgreSQL
//! cluster with a database per service, a real SMTP server (aiosmtpd), a real Synapse that
//! signs members in through coop-sso, and one co-op config file that every binary reads.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use coop_testkit::smtp::SmtpCapture;
use coop_testkit::synapse::Synapse;
use serde_json::json;

/// The services, by their config key and binary.
pub const SERVICES: [(&str, &str); 5] = [
    ("sso", "coop-sso"),
    ("pos", "coop-pos"),
    ("ims", "coop-ims"),
    ("finance", "coop-finance"),
    ("buyers_club", "coop-buyers-club"),
];

/// Held by each test of this binary for its whole run: they share the PostgreSQL cluster, which
/// one of them restarts.
pub static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The Matrix room the buyers club writes its news in.
pub const ROOM: &str = "#orders:localhost";

pub struct Service {
    pub bin: PathBuf,
    listener: TcpListener,
    pub url: String,
    pub db_url: String,
    child: Option<Child>,
}

pub struct Suite {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub services: BTreeMap<&'static str, Service>,
    pub smtp: SmtpCapture,
    /// With `Suite::start(true)`: Synapse, the buyers club's bot and room.
    pub synapse: Option<Synapse>,
    /// The buyers club's bot token (written by `matrix-setup`).
    pub bot_token_file: PathBuf,
    pub till: Option<Till>,
}

pub struct Till {
    pub url: String,
    child: Child,
}

/// The binaries as cargo built them, built first when they are missing or stale: with the
/// workspace's features all on, as `cargo xtask test` builds them, so nothing is rebuilt there.
fn binaries() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(coop_testkit::repo::root())
        .args([
            "build",
            "--quiet",
            "--workspace",
            "--all-features",
            "--bins",
        ])
        .status()
        .expect("running cargo build");
    assert!(status.success(), "cargo build of the services failed");
    coop_testkit::repo::target_dir().join("debug")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn write_secret(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, uuid::Uuid::new_v4().simple().to_string()).expect("a secret file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// `<bin> <args…> --config <file>`; fails the test when it fails.
fn run(bin: &Path, args: &[&str], config: &Path) -> Output {
    let out = Command::new(bin)
        .args(args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .expect("running a service's command");
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Starts `coop-<svc> serve` on the service's socket.
fn spawn(service: &mut Service, config: &Path) {
    assert!(
        service.child.is_none(),
        "{} runs already",
        service.bin.display()
    );
    let mut cmd = Command::new(&service.bin);
    cmd.args(["serve", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    coop_testkit::binary::hand_over(&mut cmd, &service.listener);
    service.child = Some(cmd.spawn().expect("starting serve"));
}

/// SIGTERM, then SIGKILL after 5 s (a service waits for long polls to end).
fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    for _ in 0..50 {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Suite {
    /// Starts everything (Synapse too, with `matrix`) and waits until every service is ready.
    pub async fn start(matrix: bool) -> Self {
        let t0 = Instant::now();
        let bin_dir = tokio::task::spawn_blocking(binaries).await.unwrap();
        eprintln!("week: {:?} the binaries are built", t0.elapsed());
        let dir = tempfile::tempdir().expect("a folder for the suite");
        let smtp = SmtpCapture::start(false);
        let synapse_port = free_port();
        let synapse_url = format!("http://127.0.0.1:{synapse_port}");

        let mut services = BTreeMap::new();
        let mut sections = serde_json::Map::new();
        for (key, binary) in SERVICES {
            let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
            let addr = listener.local_addr().unwrap();
            let db = coop_testkit::fresh_database().await;
            let url = format!("http://{addr}");
            let state = dir.path().join("state").join(key);
            std::fs::create_dir_all(&state).unwrap();
            let mut section = json!({
                "listen": addr.to_string(),
                "public_url": url,
                "database_url": db.url,
                "state_directory": state,
                "log_filter": "warn",
            });
            if key != "sso" {
                let secret = dir.path().join(format!("{key}-client-secret"));
                write_secret(&secret);
                section["client_secret_file"] = json!(secret);
            }
            sections.insert(key.into(), section);
            services.insert(
                key,
                Service {
                    bin: bin_dir.join(binary),
                    listener,
                    url,
                    db_url: db.url,
                    child: None,
                },
            );
        }
        // Synapse signs members in through coop-sso.
        let synapse_secret = dir.path().join("synapse-oidc-secret");
        write_secret(&synapse_secret);
        sections["sso"]["clients"] = json!([{
            "client_id": "synapse",
            "name": "Matrix chat",
            "redirect_uris": [format!("{synapse_url}/_synapse/client/oidc/callback")],
            "secret_file": synapse_secret,
        }]);
        sections["finance"]["second_bookkeeper_above"] = json!("2000");
        let bot_token_file = dir.path().join("matrix-bot-token");
        if matrix {
            sections["buyers_club"]["matrix_room"] = json!(ROOM);
            sections["buyers_club"]["matrix_token_file"] = json!(bot_token_file);
            sections["buyers_club"]["matrix_url"] = json!(synapse_url);
        }
        let mut config = json!({
            "organisation": { "name": "Testköpinge Matkooperativ" },
            "domain": "localhost",
            "public_url": services["sso"].url,
            "locale": { "default": "en", "languages": ["en", "sv"], "time_zone": "Europe/Stockholm" },
            "currency": "SEK",
            // Walk-ins buy too.
            "member_only_shop": false,
            "vat_classes": {
                "food": { "rates": [
                    { "from": "2024-01-01", "percent": "12" },
                    { "from": "2026-04-01", "percent": "6" },
                    { "from": "2028-01-01", "percent": "12" }
                ] },
                "standard": { "rates": [ { "from": "1990-07-01", "percent": "25" } ] }
            },
            "mail": {
                "from": "Testköpinge Matkooperativ <noreply@localhost>",
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "smtp_security": "none"
            },
            "services": sections,
        });
        if matrix {
            config["matrix"] =
                json!({ "enable": true, "server_name": "localhost", "public_url": synapse_url });
        }
        let issuer = services["sso"].url.clone();
        let config_path = dir.path().join("cooperage.json");
        std::fs::write(&config_path, serde_json::to_string_pretty(&config).unwrap()).unwrap();

        // Synapse starts (half a minute or more) while the services are migrated and started; it
        // reads coop-sso's discovery document at the first sign-in.
        let synapse_extra = json!({
            "oidc_providers": [{
                "idp_id": "cooperage",
                "idp_name": "Testköpinge",
                "issuer": issuer,
                "client_id": "synapse",
                "client_secret_path": synapse_secret,
                "scopes": ["openid", "profile", "email"],
                "pkce_method": "always",
                "user_mapping_provider": { "config": {
                    "localpart_template": "{{ user.preferred_username }}",
                    "display_name_template": "{{ user.name }}",
                    "email_template": "{{ user.email }}"
                } }
            }],
            // Straight back to the client after sign-in, no confirmation page.
            "sso": { "client_whitelist": ["http://127.0.0.1:9/"] }
        });
        let synapse = std::thread::spawn(move || {
            matrix.then(|| Synapse::start_with(Some(synapse_port), &synapse_extra))
        });
        for (key, _) in SERVICES {
            run(&services[key].bin, &["migrate"], &config_path);
        }
        // The shop's catalogue and stock (coop-ims's demo data: oats, flour, …).
        run(&services["ims"].bin, &["demo-seed"], &config_path);
        for (key, _) in SERVICES {
            if key != "buyers_club" {
                spawn(services.get_mut(key).unwrap(), &config_path);
            }
        }
        eprintln!("week: {:?} the services are started", t0.elapsed());
        let synapse = synapse.join().expect("Synapse started");
        eprintln!("week: {:?} Synapse answers", t0.elapsed());
        let mut suite = Self {
            config: config_path,
            services,
            smtp,
            synapse,
            bot_token_file,
            dir,
            till: None,
        };
        // The bot and its room, as the NixOS module's unit makes them before the buyers club.
        if let Some(synapse) = &suite.synapse {
            let shared_secret = synapse.shared_secret_file.clone();
            suite.cli(
                "buyers_club",
                &[
                    "matrix-setup",
                    "--shared-secret-file",
                    shared_secret.to_str().unwrap(),
                    "--token-file",
                    suite.bot_token_file.clone().to_str().unwrap(),
                ],
            );
        }
        suite.spawn("buyers_club");
        suite.wait_ready().await;
        suite
    }

    /// `coop-<svc> <args…> --config <file>`; fails the test when it fails.
    pub fn cli(&self, key: &str, args: &[&str]) -> Output {
        run(&self.services[key].bin, args, &self.config)
    }

    /// Starts `coop-<svc> serve` on its socket.
    pub fn spawn(&mut self, key: &str) {
        spawn(self.services.get_mut(key).expect("a service"), &self.config);
    }

    /// Kills `coop-<svc>` at once (SIGKILL), as a power cut or the OOM killer would. Its socket
    /// stays open in the test, so clients wait in the backlog until it is started again.
    pub fn kill9(&mut self, key: &str) {
        if let Some(mut child) = self.services.get_mut(key).and_then(|s| s.child.take()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until every started service answers `/readyz`.
    pub async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        for (key, service) in &self.services {
            if service.child.is_none() {
                continue;
            }
            let started = Instant::now();
            loop {
                if let Ok(r) = http.get(format!("{}/readyz", service.url)).send().await {
                    if r.status() == 200 {
                        break;
                    }
                }
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "{key} did not become ready"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    pub fn url(&self, key: &str) -> &str {
        &self.services[key].url
    }

    /// A pool on a service's database, for reading what the test checks.
    pub async fn db(&self, key: &str) -> sqlx::PgPool {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(&self.services[key].db_url)
            .await
            .expect("connecting to a service's database")
    }

    /// Starts the till (`coop-pos till`) with its own config, pairing through coop-sso and
    /// selling from central (at `central`, else central's own address), the catalogue from
    /// coop-ims and the members from coop-sso.
    pub fn start_till(&mut self, central: Option<&str>) -> &Till {
        let central = central.unwrap_or(self.url("pos")).to_owned();
        let port = free_port();
        let config = self.dir.path().join("till.json");
        std::fs::write(
            &config,
            json!({
                "state_directory": self.dir.path().join("till"),
                "listen": format!("127.0.0.1:{port}"),
                "lang": "en",
                "central_url": central,
                "catalogue_feed_url": format!("{}/api/feed", self.url("ims")),
                "member_feed_url": format!("{}/api/feed", self.url("sso")),
                "sso_url": self.url("sso"),
            })
            .to_string(),
        )
        .unwrap();
        let child = Command::new(&self.services["pos"].bin)
            .arg("till")
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("starting the till");
        self.till = Some(Till {
            url: format!("http://127.0.0.1:{port}"),
            child,
        });
        self.till.as_ref().unwrap()
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        if let Some(till) = &mut self.till {
            stop(&mut till.child);
        }
        for service in self.services.values_mut() {
            if let Some(child) = &mut service.child {
                stop(child);
            }
        }
    }
}
