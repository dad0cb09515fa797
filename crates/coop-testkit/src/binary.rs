//! A service's real binary, for tests that drive it from outside (third-party relying parties,
//! a browser, the end-to-end suite): a config file, `migrate`, then `serve` on a socket the
//! test has already bound and hands over as systemd would (`LISTEN_FDS`), so no other process
//! can take the port between choosing and listening.

use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use command_fds::{CommandFdExt as _, FdMapping};
use sqlx::PgPool;

/// A running `coop-<svc> serve`, stopped with SIGTERM (then waited for) on drop.
#[derive(Debug)]
pub struct ServiceBinary {
    process: Child,
    pub base_url: String,
    /// A pool on the service's database, for setting up what the test needs.
    pub pool: PgPool,
    pub config_path: PathBuf,
}

impl Drop for ServiceBinary {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.process.id().to_string())
            .status();
        let _ = self.process.wait();
    }
}

/// Starts `bin` (from `env!("CARGO_BIN_EXE_coop-…")`) as service `key` (`sso`, `pos`, …) on a
/// fresh database, with the test co-op config that `configure` may change; migrates, serves
/// and waits until `/readyz` answers.
pub async fn start(
    bin: &Path,
    key: &str,
    dir: &Path,
    configure: impl FnOnce(&mut serde_json::Value),
) -> ServiceBinary {
    let db = crate::fresh_database().await;
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let addr = listener.local_addr().expect("its address");
    let base_url = format!("http://{addr}");
    let mut config = crate::config::coop_config(key, &db.url, &dir.join("state"), &base_url);
    config["services"][key]["listen"] = serde_json::json!(addr.to_string());
    configure(&mut config);
    let config_path = dir.join("cooperage.json");
    std::fs::write(&config_path, config.to_string()).expect("writing the config");
    let status = Command::new(bin)
        .args(["migrate", "--config"])
        .arg(&config_path)
        .status()
        .expect("running migrate");
    assert!(status.success(), "{} migrate failed", bin.display());
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&db.url)
        .await
        .expect("connecting to the service's database");
    let mut serve = Command::new(bin);
    serve
        .args(["serve", "--config"])
        .arg(&config_path)
        .env("LISTEN_FDS", "1")
        .env_remove("LISTEN_PID")
        .stdin(Stdio::null());
    serve
        .fd_mappings(vec![FdMapping {
            parent_fd: OwnedFd::from(listener),
            child_fd: 3,
        }])
        .expect("handing the socket over");
    let process = serve.spawn().expect("starting serve");
    let binary = ServiceBinary {
        process,
        base_url,
        pool,
        config_path,
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
            "{} did not become ready",
            bin.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    binary
}

/// Makes `cmd` start with a copy of `listener` as its socket (fd 3, `LISTEN_FDS=1`), as systemd
/// hands a socket over. The test keeps its own copy, so the service can be killed and started
/// again on the same address, with connections waiting in the backlog meanwhile.
///
/// # Panics
/// When the socket cannot be copied.
pub fn hand_over(cmd: &mut Command, listener: &TcpListener) {
    let copy = listener.try_clone().expect("copying the listening socket");
    cmd.env("LISTEN_FDS", "1").env_remove("LISTEN_PID");
    cmd.fd_mappings(vec![FdMapping {
        parent_fd: OwnedFd::from(copy),
        child_fd: 3,
    }])
    .expect("handing the socket over");
}
