//! Outgoing mail against a real SMTP server: `tests/interop/smtp_capture.py` (aiosmtpd), started
//! per test on a free port and stopped when the test ends, however it ends. What arrives is
//! decoded by Python's `email` package, a MIME implementation independent of lettre, so the
//! checks see the message as a mail client would.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coop_domain::EmailAddress;
use coop_web::config::{self, Mail, ServiceName};
use coop_web::mail::{Delivery, MailError, Mailer, OutgoingMail, SEND_TIMEOUT};
use serde_json::{json, Value};

const RECIPIENT: &str = "asa.oberg@example.org";
const PASSWORD: &str = "Zebra-quartz-7734-hunter2";
/// A one-time link as long as real ones, with the characters quoted-printable and line
/// wrapping would damage: `=`, `&`, `%`, `-`, `_` and more than 76 characters in a row.
const LINK: &str = "https://coop.example.org/auth/email-link?token=Qm9vLXRoaXMtaXMtYS12ZXJ5LWxvbmctb25lLXRpbWUtdG9rZW4tdGhhdC1tdXN0LWFycml2ZS1pbnRhY3Q_x-y&next=%2Fmembers%3Fa%3D1%26b%3D2&sig=ab=cd==";

use coop_testkit::smtp::{decode as decode_eml, SmtpCapture};

/// A `Mail` as the config loader makes it from a `mail` section.
fn mail_config(section: Value) -> Mail {
    let mut coop = coop_testkit::config::coop_config(
        "sso",
        "postgres:///coop_sso?host=/run/postgresql",
        Path::new("/var/lib/coop-sso"),
        "https://coop.example.org",
    );
    coop["mail"] = section;
    config::parse::<Value>(coop, ServiceName::Sso, &BTreeMap::new())
        .expect("a valid config")
        .coop
        .mail
        .expect("a mail section")
}

fn plain_section(port: u16) -> Value {
    json!({
        "from": "Röstånga Matkooperativ <noreply@coop.example.org>",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none"
    })
}

/// A section with a login whose password sits in a file in `dir`.
fn login_section(port: u16, dir: &Path) -> Value {
    let file = dir.join("smtp-password");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let mut section = plain_section(port);
    section["smtp_username"] = json!("coop");
    section["smtp_password_file"] = json!(file);
    section
}

fn sign_in_mail() -> OutgoingMail {
    OutgoingMail {
        to: EmailAddress::parse(RECIPIENT).unwrap(),
        to_name: "Åsa Öberg".into(),
        subject: "Välkommen till Röstånga Matkooperativ – här är din inloggningslänk, giltig i \
                  15 minuter"
            .into(),
        text: format!(
            "Hej Åsa!\n\nÖppna länken för att logga in:\n\n{LINK}\n\nLänken fungerar en gång.\n"
        ),
        html: Some(format!(
            "<p>Hej Åsa!</p>\n<p><a href=\"{}\">Logga in</a></p>\n",
            LINK.replace('&', "&amp;")
        )),
        reply_to: None,
        attachments: Vec::new(),
    }
}

/// Collects what `tracing` writes while the guard lives (on this thread: tests run on a
/// current-thread runtime).
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn external_utf8_multipart_mail_arrives_with_its_link_intact() {
    let server = SmtpCapture::start(false);
    let mailer = Mailer::from_config(Some(&mail_config(plain_section(server.port)))).unwrap();
    let logs = LogBuffer::default();
    let _guard = logs.capture();

    let mail = sign_in_mail();
    let (subject, text, html) = (
        mail.subject.clone(),
        mail.text.clone(),
        mail.html.clone().unwrap(),
    );
    assert_eq!(mailer.send(mail).await.unwrap(), Delivery::Sent);

    let got = decode_eml(&server.wait_for(1).await);
    assert_eq!(got["defects"], json!([]), "{got:#}");
    assert_eq!(got["envelope_to"], RECIPIENT);
    assert_eq!(got["to"], json!([["Åsa Öberg", RECIPIENT]]));
    assert_eq!(
        got["from"],
        json!([["Röstånga Matkooperativ", "noreply@coop.example.org"]])
    );
    assert_eq!(got["subject"], subject.as_str());
    // Non-ASCII travels as RFC 2047 encoded words, not as raw 8-bit header bytes.
    assert_eq!(got["raw_headers_ascii"], true, "{got:#}");
    assert!(got["longest_line"].as_u64().unwrap() <= 998, "{got:#}");
    let id = got["message_id"].as_str().expect("a Message-ID");
    assert!(
        id.starts_with('<') && id.ends_with("@coop.example.org>"),
        "{id}"
    );
    assert!(got["date"].is_string(), "a parseable Date: {got:#}");
    assert_eq!(got["mime_version"], "1.0");

    assert_eq!(got["content_type"], "multipart/alternative");
    let parts = got["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{got:#}");
    assert_eq!(parts[0]["content_type"], "text/plain");
    assert_eq!(parts[0]["charset"], "utf-8");
    assert_eq!(parts[1]["content_type"], "text/html");
    assert_eq!(parts[1]["charset"], "utf-8");
    let plain = parts[0]["content"].as_str().unwrap();
    assert_eq!(plain, text, "the text part, decoded, is what was sent");
    assert!(plain.lines().any(|l| l == LINK), "{plain}");
    assert_eq!(parts[1]["content"].as_str().unwrap(), html);

    let logged = logs.text();
    assert!(logged.contains("mail sent"), "{logged}");
    assert!(logged.contains("example.org"), "{logged}");
    assert!(logged.contains("Välkommen"), "{logged}");
    assert!(!logged.contains("asa.oberg"), "{logged}");
    assert!(!logged.contains("token="), "{logged}");
}

#[tokio::test]
async fn external_attachments_arrive_byte_for_byte_beside_the_text() {
    use base64::Engine as _;
    let server = SmtpCapture::start(false);
    let mailer = Mailer::from_config(Some(&mail_config(plain_section(server.port)))).unwrap();
    // Every byte value, as a PDF's binary streams have, and a CSV with Swedish letters.
    let binary: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let csv = "artikel;namn;antal\r\nA-1;Havregryn ekologiska;12\r\n"
        .as_bytes()
        .to_vec();
    let mut mail = OutgoingMail::text(
        EmailAddress::parse("order@grossist.example.com").unwrap(),
        "Grossisten AB",
        "Beställning 42 från Röstånga Matkooperativ",
        "Hej!\n\nHär är vår beställning.\n".into(),
    );
    mail.reply_to = Some(EmailAddress::parse("inkop@coop.example.org").unwrap());
    mail.attachments = vec![
        coop_web::mail::Attachment {
            filename: "order-42.pdf".into(),
            content_type: "application/pdf".into(),
            body: binary.clone(),
        },
        coop_web::mail::Attachment {
            filename: "../../etc/beställning 42.csv".into(),
            content_type: "text/csv; charset=utf-8".into(),
            body: csv.clone(),
        },
    ];
    let shown = format!("{mail:?}");
    assert!(shown.contains("order-42.pdf <5000 bytes>"), "{shown}");
    assert_eq!(mailer.send(mail).await.unwrap(), Delivery::Sent);

    let got = decode_eml(&server.wait_for(1).await);
    assert_eq!(got["defects"], json!([]), "{got:#}");
    assert_eq!(got["content_type"], "multipart/mixed");
    assert_eq!(got["reply_to"], json!(["inkop@coop.example.org"]));
    assert_eq!(got["text"], "Hej!\n\nHär är vår beställning.\n");
    assert!(got["longest_line"].as_u64().unwrap() <= 998, "{got:#}");
    let files = got["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{got:#}");
    let bytes = |i: usize| {
        base64::engine::general_purpose::STANDARD
            .decode(files[i]["base64"].as_str().unwrap())
            .unwrap()
    };
    assert_eq!(files[0]["filename"], "order-42.pdf");
    assert_eq!(files[0]["content_type"], "application/pdf");
    assert_eq!(bytes(0), binary);
    // A name cannot carry a path or characters a client might misread.
    assert_eq!(files[1]["filename"], "_.._etc_best_llning_42.csv");
    assert_eq!(files[1]["content_type"], "text/csv");
    assert_eq!(files[1]["charset"], "utf-8");
    assert_eq!(bytes(1), csv);
}

#[tokio::test]
async fn external_a_login_is_read_from_the_password_file_and_used() {
    let server = SmtpCapture::start(true);
    let dir = tempfile::tempdir().unwrap();
    let mailer =
        Mailer::from_config(Some(&mail_config(login_section(server.port, dir.path())))).unwrap();
    // Read once at start: the file may go away (systemd credentials do, on restart).
    std::fs::remove_dir_all(dir.path()).unwrap();

    assert_eq!(mailer.send(sign_in_mail()).await.unwrap(), Delivery::Sent);
    let got = decode_eml(&server.wait_for(1).await);
    assert_eq!(got["envelope_to"], RECIPIENT);
    assert_eq!(got["to"], json!([["Åsa Öberg", RECIPIENT]]));
}

#[tokio::test]
async fn external_a_login_is_not_dropped_when_the_server_offers_no_auth() {
    // Against a server that does not offer AUTH, a mailer with a login refuses to send
    // rather than sending unauthenticated: proof that the login is really in use.
    let server = SmtpCapture::start(false);
    let dir = tempfile::tempdir().unwrap();
    let mailer =
        Mailer::from_config(Some(&mail_config(login_section(server.port, dir.path())))).unwrap();
    let err = mailer.send(sign_in_mail()).await.unwrap_err();
    assert_safe(&err);
    assert!(matches!(err, MailError::Smtp { .. }), "{err:?}");
    assert_eq!(server.count(), 0);
}

/// Neither the error's text nor its `Debug` gives away the password, the body or the full
/// recipient address.
fn assert_safe(err: &MailError) {
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(PASSWORD), "{shown}");
        assert!(!shown.contains("token="), "{shown}");
        assert!(!shown.contains("asa.oberg"), "{shown}");
        assert!(shown.contains("example.org"), "{shown}");
    }
}

#[tokio::test]
async fn external_an_unreachable_server_fails_fast_and_safely() {
    // A loopback port that was free a moment ago: connecting is refused.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let mailer = Mailer::from_config(Some(&mail_config(login_section(port, dir.path())))).unwrap();

    let started = Instant::now();
    let err = mailer.send(sign_in_mail()).await.unwrap_err();
    assert!(
        started.elapsed() < SEND_TIMEOUT + Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_safe(&err);
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn external_a_server_that_never_answers_times_out() {
    // A listener that never accepts: the kernel completes the TCP handshake, then nothing is
    // said, like a wedged relay. It stays open until the test ends.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mailer = Mailer::from_config(Some(&mail_config(plain_section(port))))
        .unwrap()
        .with_timeout(Duration::from_millis(500));

    let started = Instant::now();
    let err = mailer.send(sign_in_mail()).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(err, MailError::Timeout { .. }), "{err:?}");
    assert!(err.is_transient());
    assert_safe(&err);
    drop(listener);
}

#[tokio::test]
async fn external_without_mail_config_nothing_is_sent_and_only_the_domain_is_logged() {
    let mailer = Mailer::from_config(None).unwrap();
    let logs = LogBuffer::default();
    let _guard = logs.capture();

    assert_eq!(
        mailer.send(sign_in_mail()).await.unwrap(),
        Delivery::NotConfigured
    );

    let logged = logs.text();
    assert_eq!(
        logged
            .lines()
            .filter(|l| l.contains("mail is not configured; message to example.org not sent"))
            .count(),
        1,
        "{logged}"
    );
    assert!(!logged.contains("token="), "{logged}");
    assert!(!logged.contains("Hej"), "{logged}");
    assert!(!logged.contains("asa.oberg"), "{logged}");
}
