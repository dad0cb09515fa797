//! A real Synapse for tests: `tests/interop/synapse_server.py` (matrix-synapse from PyPI, in
//! the interop venv) on a free loopback port, server name `localhost`, with a registration
//! shared secret so a test registers its own accounts. Stopped when dropped.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::repo;

#[derive(Debug)]
pub struct Synapse {
    child: Child,
    pub port: u16,
    /// Synapse's `registration_shared_secret`, and a file holding it.
    pub shared_secret: String,
    pub shared_secret_file: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl Synapse {
    /// Starts Synapse and waits (up to 150 s) until it answers.
    ///
    /// # Panics
    /// When it does not start; its log's path is in the message.
    pub fn start() -> Self {
        Self::start_with(None, &serde_json::json!({}))
    }

    /// [`Synapse::start`] on `port` (else a free one), with `extra` settings added to its
    /// config at the top level (e.g. `oidc_providers`).
    ///
    /// # Panics
    /// As [`Synapse::start`].
    pub fn start_with(port: Option<u16>, extra: &serde_json::Value) -> Self {
        let dir = tempfile::tempdir().expect("a folder for Synapse");
        let shared_secret = format!("test-shared-secret-{}", uuid::Uuid::new_v4().simple());
        let shared_secret_file = dir.path().join("shared-secret");
        std::fs::write(&shared_secret_file, &shared_secret).expect("writing the secret");
        let mut child = Command::new(repo::venv_python())
            .arg(repo::root().join("tests/interop/synapse_server.py"))
            .arg(dir.path().join("synapse"))
            .arg(&shared_secret_file)
            .env(
                "SYNAPSE_PORT",
                port.map(|p| p.to_string()).unwrap_or_default(),
            )
            .env("SYNAPSE_EXTRA", extra.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting synapse_server.py");
        let stdout = child.stdout.take().expect("its stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(150))
            .unwrap_or_default();
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "Synapse did not start (first line {line:?}); see {}/synapse/homeserver.log",
                dir.path().display()
            )
        });
        Self {
            child,
            port,
            shared_secret,
            shared_secret_file,
            dir,
        }
    }

    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Synapse's folder (its log is `synapse/homeserver.log` in it).
    #[must_use]
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        // SIGTERM: the script stops Synapse before it exits.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The messages of a room that the account with `token` sees, oldest first: (sender, text).
/// (The client-server API's `/rooms/{room}/messages`, the latest 200.)
///
/// # Panics
/// When the homeserver does not answer with a list of events.
pub async fn room_texts(base: &str, token: &str, room: &str) -> Vec<(String, String)> {
    let mut url: reqwest::Url = base.parse().expect("a homeserver URL");
    url.path_segments_mut()
        .expect("a base URL")
        .extend(["_matrix", "client", "v3", "rooms", room, "messages"]);
    url.query_pairs_mut()
        .append_pair("dir", "b")
        .append_pair("limit", "200");
    let v: serde_json::Value = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("the homeserver answers")
        .json()
        .await
        .expect("the homeserver answers in JSON");
    let mut out: Vec<(String, String)> = v["chunk"]
        .as_array()
        .unwrap_or_else(|| panic!("messages: {v}"))
        .iter()
        .filter(|e| e["type"] == "m.room.message")
        .filter_map(|e| {
            Some((
                e["sender"].as_str()?.to_owned(),
                e["content"]["body"].as_str()?.to_owned(),
            ))
        })
        .collect();
    out.reverse();
    out
}
