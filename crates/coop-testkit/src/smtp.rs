//! A real SMTP server for tests: `tests/interop/smtp_capture.py` (aiosmtpd) on a port of its
//! own choosing, writing each message it receives to a file. Messages are read back through
//! Python's `email` package, a MIME implementation independent of lettre, so a check sees a
//! message as a mail client would.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::repo;

/// A running capture server; killed when dropped, also when a test panics.
#[derive(Debug)]
pub struct SmtpCapture {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpCapture {
    /// Starts the server; with `accept_any_auth` it offers AUTH (over plain text) and takes
    /// any login, recording it.
    pub fn start(accept_any_auth: bool) -> Self {
        let python = repo::venv_python();
        let dir = tempfile::tempdir().expect("a folder for the messages");
        let mut cmd = Command::new(python);
        cmd.arg(repo::root().join("tests/interop/smtp_capture.py"))
            .arg(dir.path())
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if accept_any_auth {
            cmd.arg("--accept-any-auth");
        }
        let mut child = cmd.spawn().expect("starting smtp_capture.py");
        let stdout = child.stdout.take().expect("its stdout");
        // The first line is the bound port; read on a thread so that a hung start is bounded.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut capture = Self {
            child,
            port: 0,
            dir,
        };
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("smtp_capture.py printed no port within 30 s");
        capture.port = line.trim().parse().unwrap_or_else(|_| {
            panic!("smtp_capture.py did not start (its first line was {line:?}; see stderr)")
        });
        capture
    }

    /// Points a co-op config's `mail` section at this server.
    pub fn configure(&self, config: &mut Value) {
        config["mail"] = json!({
            "from": "Testköpinge Matkooperativ <noreply@coop.example.org>",
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_security": "none",
        });
    }

    fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("the message folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
    }

    /// How many messages have arrived.
    pub fn count(&self) -> usize {
        self.files().len()
    }

    /// Waits (up to 15 s, without blocking the runtime) for the `n`th message (from 1) and
    /// returns its file.
    pub async fn wait_for(&self, n: usize) -> PathBuf {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let files = self.files();
            if files.len() >= n {
                return files[n - 1].clone();
            }
            assert!(
                Instant::now() < deadline,
                "message {n} did not arrive (have {})",
                files.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The `n`th message, decoded (see [`decode`]).
    pub async fn message(&self, n: usize) -> Value {
        decode(&self.wait_for(n).await)
    }
}

impl Drop for SmtpCapture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The message as Python's `email` package (policy.default) reads it: headers decoded from
/// RFC 2047, each body part decoded from its transfer encoding and charset. `text` is the
/// plain-text body; `attachments` has each attached file's name, type and bytes (base64).
const DECODE_EML: &str = r#"
import base64, email, json, sys
from email import policy
from email.utils import parsedate_to_datetime

raw = open(sys.argv[1], "rb").read()
msg = email.message_from_bytes(raw, policy=policy.default)
leaves = [p for p in msg.walk() if not p.is_multipart() and not p.is_attachment()]
plain = msg.get_body(preferencelist=("plain",))
to = msg["To"].addresses
sender = msg["From"].addresses
print(json.dumps({
    "envelope_to": msg["X-Envelope-To"],
    "to": [[a.display_name, a.addr_spec] for a in to],
    "from": [[a.display_name, a.addr_spec] for a in sender],
    "subject": str(msg["Subject"]),
    "message_id": msg["Message-ID"],
    "date": parsedate_to_datetime(msg["Date"]).isoformat() if msg["Date"] else None,
    "mime_version": msg["MIME-Version"],
    "reply_to": [a.addr_spec for a in msg["Reply-To"].addresses] if msg["Reply-To"] else [],
    "content_type": msg.get_content_type(),
    "raw_headers_ascii": all(v.isascii() for _, v in msg.raw_items()),
    "longest_line": max(len(line) for line in raw.split(b"\r\n")),
    "defects": [repr(d) for part in msg.walk() for d in part.defects],
    "text": plain.get_content().replace("\r\n", "\n") if plain is not None else None,
    "parts": [{
        "content_type": p.get_content_type(),
        "charset": p.get_content_charset(),
        "transfer_encoding": p.get("Content-Transfer-Encoding"),
        "content": p.get_content().replace("\r\n", "\n"),
    } for p in leaves],
    "attachments": [{
        "filename": a.get_filename(),
        "content_type": a.get_content_type(),
        "charset": a.get_content_charset(),
        "base64": base64.b64encode(a.get_payload(decode=True)).decode(),
    } for a in msg.iter_attachments()],
}))
"#;

/// Decodes a captured message file.
pub fn decode(path: &Path) -> Value {
    let out = Command::new(repo::venv_python())
        .arg("-c")
        .arg(DECODE_EML)
        .arg(path)
        .output()
        .expect("running python to decode the message");
    assert!(
        out.status.success(),
        "decoding {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the decoder prints JSON")
}
