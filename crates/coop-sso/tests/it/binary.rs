//! The real `coop-sso` binary for the tests that drive it from outside (third-party relying
//! parties, a browser): a config file, `migrate`, `serve` on a free loopback port, and a pool
//! on its database for setting up members.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::PgPool;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs a harness's `setup.sh` (idempotent), failing with `hint` when it cannot.
pub fn setup(script: &str, hint: &str) {
    let status = Command::new("bash")
        .arg(repo().join(script))
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("running {script}: {e}"));
    assert!(status.success(), "{script} failed: {hint}");
}

/// A running `coop-sso serve`, stopped with SIGTERM on drop.
pub struct Binary {
    process: Child,
    pub base_url: String,
    pub pool: PgPool,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.process.id().to_string())
            .status();
        let _ = self.process.wait();
    }
}

/// A fresh database and the co-op test config for it; `configure` adds what the test needs.
/// Migrates, starts serving and waits until `/readyz` answers.
pub async fn start(dir: &Path, configure: impl FnOnce(&mut serde_json::Value)) -> Binary {
    let db = coop_testkit::fresh_database().await;
    let port = free_port();
    let base_url = format!("http://127.0.0.1:{port}");
    let mut config =
        coop_testkit::config::coop_config("sso", &db.url, &dir.join("state"), &base_url);
    config["services"]["sso"]["listen"] = serde_json::json!(format!("127.0.0.1:{port}"));
    configure(&mut config);
    let config_path = dir.join("cooperage.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let bin = env!("CARGO_BIN_EXE_coop-sso");
    let status = Command::new(bin)
        .args(["migrate", "--config"])
        .arg(&config_path)
        .status()
        .unwrap();
    assert!(status.success(), "coop-sso migrate failed");
    let pool = coop_web::db::connect(&coop_web::config::DatabaseUrl::parse(&db.url).unwrap(), 2)
        .await
        .unwrap();
    let process = Command::new(bin)
        .args(["serve", "--config"])
        .arg(&config_path)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let binary = Binary {
        process,
        base_url,
        pool,
    };
    let started = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(format!("{}/readyz", binary.base_url)).await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "coop-sso did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    binary
}
