//! Outgoing mail over SMTP, set up from the co-op config's `mail` section.
//!
//! Bodies carry one-time sign-in links, which are secrets: neither a body nor a full recipient
//! address ever reaches a log line or an error message. What is logged is the recipient's
//! domain and the subject. Without a `mail` section the mailer sends nothing and says so in one
//! log line, so a demo or a test install works without an SMTP server.

use crate::config::ExposeSecret as _;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::{bail, Context as _};
use coop_domain::EmailAddress;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use uuid::Uuid;

use crate::config::{Mail, SmtpSecurity};

/// How long one message may take, from connecting to the server's final reply.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// One message to one recipient. `text` is required (every client can show it); `html`, when
/// given, is sent beside it as `multipart/alternative`; attachments follow the body in a
/// `multipart/mixed`.
#[derive(Clone)]
pub struct OutgoingMail {
    pub to: EmailAddress,
    /// The recipient's name as it should appear in their mail client; may be empty.
    pub to_name: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// Where a reply should go when `from` is an address nobody reads (a purchase order's
    /// answer goes to the manager who sent it).
    pub reply_to: Option<EmailAddress>,
    pub attachments: Vec<Attachment>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

impl OutgoingMail {
    /// A plain-text message with no reply address and no attachments.
    pub fn text(to: EmailAddress, to_name: &str, subject: &str, text: String) -> Self {
        OutgoingMail {
            to,
            to_name: to_name.to_owned(),
            subject: subject.to_owned(),
            text,
            html: None,
            reply_to: None,
            attachments: Vec::new(),
        }
    }
}

/// A file sent with a message: a purchase order's PDF, say.
#[derive(Clone)]
pub struct Attachment {
    /// The name the recipient sees; anything but letters, digits, `.`, `-` and `_` becomes `_`.
    pub filename: String,
    /// A MIME type such as `application/pdf` or `text/csv; charset=utf-8`.
    pub content_type: String,
    pub body: Vec<u8>,
}

/// `Debug` shows only what may be logged: the body and the full address are secrets.
impl fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("to_domain", &self.to.domain())
            .field("subject", &self.subject)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .field(
                "html",
                &format_args!("<{} bytes>", self.html.as_ref().map_or(0, String::len)),
            )
            .field(
                "attachments",
                &self
                    .attachments
                    .iter()
                    .map(|a| format!("{} <{} bytes>", a.filename, a.body.len()))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// What became of a message that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The SMTP server accepted it.
    Sent,
    /// The co-op has no `mail` section; nothing was sent.
    NotConfigured,
}

/// Why a message was not sent. The text names the recipient's domain and the server, never a
/// password, a body or a full address, so it is safe to log.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail to a recipient at {domain} could not be composed: {reason}")]
    Compose { domain: String, reason: String },
    #[error(
        "mail to a recipient at {domain} was not sent: {server} did not answer within {} s",
        timeout.as_secs_f32()
    )]
    Timeout {
        domain: String,
        server: String,
        timeout: Duration,
    },
    #[error("mail to a recipient at {domain} was not sent via {server}: {detail}")]
    Smtp {
        domain: String,
        server: String,
        /// lettre's description, which holds the server's reply but never what we sent.
        detail: String,
        transient: bool,
    },
}

impl MailError {
    /// Whether trying again later may succeed (a timeout, a network error, a 4xx reply).
    pub fn is_transient(&self) -> bool {
        match self {
            MailError::Compose { .. } => false,
            MailError::Timeout { .. } => true,
            MailError::Smtp { transient, .. } => *transient,
        }
    }
}

/// Sends the co-op's mail. Cheap to clone; each message opens its own connection, which suits
/// the few messages a co-op sends.
#[derive(Clone)]
pub struct Mailer(Backend);

#[derive(Clone)]
enum Backend {
    NotConfigured,
    Smtp(Box<Smtp>),
}

#[derive(Clone)]
struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, for error messages.
    server: String,
    security: SmtpSecurity,
    authenticated: bool,
    timeout: Duration,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Backend::NotConfigured => f.write_str("Mailer(NotConfigured)"),
            Backend::Smtp(smtp) => f
                .debug_struct("Mailer")
                .field("server", &smtp.server)
                .field("security", &smtp.security)
                .field("authenticated", &smtp.authenticated)
                .field("from", &smtp.from.email.to_string())
                .field("timeout", &smtp.timeout)
                .finish(),
        }
    }
}

impl Mailer {
    /// Builds the mailer at start. The password file is read here, once; a bad `from`, an
    /// unreadable password file or a half-given login fails now, naming the key.
    pub fn from_config(mail: Option<&Mail>) -> anyhow::Result<Mailer> {
        let Some(mail) = mail else {
            return Ok(Mailer(Backend::NotConfigured));
        };
        let from: Mailbox = mail.from.parse().map_err(|e| {
            anyhow::anyhow!(
                "config key `mail.from`: expected an address such as \
                 \"Our Co-op <noreply@coop.example.org>\", got {:?} ({e})",
                mail.from
            )
        })?;
        let host = mail.smtp_host.as_str();
        let mut builder = match mail.smtp_security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .with_context(|| format!("config key `mail.smtp_host`: {host:?}"))?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .with_context(|| format!("config key `mail.smtp_host`: {host:?}"))?,
        }
        .port(mail.smtp_port)
        .timeout(Some(SEND_TIMEOUT));

        let authenticated = match (&mail.smtp_username, &mail.smtp_password_file) {
            (Some(username), Some(file)) => {
                let password = file.read()?;
                if password.expose_secret().is_empty() {
                    bail!(
                        "config key `mail.smtp_password_file`: {} is empty",
                        file.path().display()
                    );
                }
                builder = builder.credentials(Credentials::new(
                    username.clone(),
                    password.expose_secret().to_owned(),
                ));
                true
            }
            (None, None) => false,
            (Some(_), None) => bail!(
                "config key `mail.smtp_password_file`: required when `mail.smtp_username` is set"
            ),
            (None, Some(_)) => bail!(
                "config key `mail.smtp_username`: required when `mail.smtp_password_file` is set"
            ),
        };
        if authenticated && mail.smtp_security == SmtpSecurity::None && !is_loopback(host) {
            tracing::warn!(
                "mail.smtp_security is \"none\": the SMTP password crosses the network to \
                 {host} unencrypted"
            );
        }

        Ok(Mailer(Backend::Smtp(Box::new(Smtp {
            transport: builder.build(),
            from,
            server: format!("{host}:{}", mail.smtp_port),
            security: mail.smtp_security,
            authenticated,
            timeout: SEND_TIMEOUT,
        }))))
    }

    /// Another limit than [`SEND_TIMEOUT`] for a whole message (tests use a short one). Each
    /// SMTP command keeps lettre's own limit of [`SEND_TIMEOUT`] as well.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        if let Backend::Smtp(smtp) = &mut self.0 {
            smtp.timeout = timeout;
        }
        self
    }

    pub fn is_configured(&self) -> bool {
        matches!(self.0, Backend::Smtp(_))
    }

    /// Sends one message, or logs that mail is not configured.
    pub async fn send(&self, msg: OutgoingMail) -> Result<Delivery, MailError> {
        let smtp = match &self.0 {
            Backend::NotConfigured => {
                tracing::warn!(
                    "mail is not configured; message to {} not sent",
                    msg.to.domain()
                );
                return Ok(Delivery::NotConfigured);
            }
            Backend::Smtp(smtp) => smtp,
        };
        let domain = msg.to.domain().to_owned();
        let subject = clean_header_text(&msg.subject);
        let message = compose(&smtp.from, msg, &subject).map_err(|reason| MailError::Compose {
            domain: domain.clone(),
            reason,
        })?;
        match tokio::time::timeout(smtp.timeout, smtp.transport.send(message)).await {
            Ok(Ok(_reply)) => {
                tracing::info!(recipient_domain = %domain, subject = %subject, "mail sent");
                Ok(Delivery::Sent)
            }
            // lettre's own limit on one command fired first.
            Ok(Err(e)) if e.is_timeout() => Err(MailError::Timeout {
                domain,
                server: smtp.server.clone(),
                timeout: SEND_TIMEOUT,
            }),
            Ok(Err(e)) => Err(MailError::Smtp {
                domain,
                server: smtp.server.clone(),
                transient: !e.is_permanent() && !e.is_client(),
                detail: e.to_string(),
            }),
            Err(_elapsed) => Err(MailError::Timeout {
                domain,
                server: smtp.server.clone(),
                timeout: smtp.timeout,
            }),
        }
    }
}

/// Builds the message: From, To, Subject, Date, a Message-ID in the sender's domain, and the
/// body as UTF-8 text (plus HTML as an alternative). lettre picks a transfer encoding that
/// keeps long lines such as links intact.
fn compose(from: &Mailbox, msg: OutgoingMail, subject: &str) -> Result<Message, String> {
    let address = Address::new(msg.to.local_part(), msg.to.domain())
        .map_err(|e| format!("the recipient address is not usable: {e}"))?;
    let name = clean_header_text(&msg.to_name);
    let to = Mailbox::new((!name.is_empty()).then_some(name), address);
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(format!(
            "<{}@{}>",
            Uuid::new_v4().simple(),
            from.email.domain()
        )))
        .date_now();
    if let Some(reply_to) = &msg.reply_to {
        let address = Address::new(reply_to.local_part(), reply_to.domain())
            .map_err(|e| format!("the reply-to address is not usable: {e}"))?;
        builder = builder.reply_to(Mailbox::new(None, address));
    }
    let text = SinglePart::plain(msg.text);
    let built = match (msg.html, msg.attachments.is_empty()) {
        (None, true) => builder.singlepart(text),
        (Some(html), true) => builder.multipart(
            MultiPart::alternative()
                .singlepart(text)
                .singlepart(SinglePart::html(html)),
        ),
        (html, false) => {
            let mut mixed = match html {
                None => MultiPart::mixed().singlepart(text),
                Some(html) => MultiPart::mixed().multipart(
                    MultiPart::alternative()
                        .singlepart(text)
                        .singlepart(SinglePart::html(html)),
                ),
            };
            for a in msg.attachments {
                let content_type = ContentType::parse(&a.content_type)
                    .map_err(|e| format!("attachment {:?}: bad content type: {e}", a.filename))?;
                mixed = mixed.singlepart(
                    lettre::message::Attachment::new(safe_filename(&a.filename))
                        .body(a.body, content_type),
                );
            }
            builder.multipart(mixed)
        }
    };
    built.map_err(|e| e.to_string())
}

/// A file name that no mail client or browser can read as a path or a header: letters,
/// digits, `.`, `-` and `_`, never starting with a dot.
pub fn safe_filename(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.');
    if trimmed.is_empty() {
        "attachment".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Header text on one line: a line break in a subject or name could otherwise start a header
/// of its own.
fn clean_header_text(text: &str) -> String {
    let joined: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    joined.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use serde_json::{json, Value};

    use super::*;
    use crate::config::{self, ServiceName};

    /// A `Mail` as the config loader makes it from a `mail` section.
    fn mail_config(section: Value) -> Mail {
        let coop = json!({
            "organisation": { "name": "Röstånga Matkooperativ" },
            "domain": "coop.example.org",
            "locale": { "default": "sv" },
            "currency": "SEK",
            "vat_classes": { "standard": { "rates": [ { "from": "1990-07-01", "percent": "25" } ] } },
            "mail": section,
            "services": { "sso": {} }
        });
        config::parse::<Value>(coop, ServiceName::Sso, &BTreeMap::new())
            .expect("a valid config")
            .coop
            .mail
            .expect("a mail section")
    }

    fn plain_section() -> Value {
        json!({
            "from": "Röstånga Matkooperativ <noreply@coop.example.org>",
            "smtp_host": "127.0.0.1",
            "smtp_port": 2525,
            "smtp_security": "none"
        })
    }

    fn with_login(password_file: &Path) -> Mail {
        let mut section = plain_section();
        section["smtp_username"] = json!("coop");
        section["smtp_password_file"] = json!(password_file);
        mail_config(section)
    }

    fn sample_mail() -> OutgoingMail {
        OutgoingMail {
            to: EmailAddress::parse("asa.oberg@example.org").unwrap(),
            to_name: "Åsa Öberg".into(),
            subject: "Din inloggningslänk".into(),
            text: "Öppna https://coop.example.org/auth/link?token=s3cr3t-t0ken\n".into(),
            html: Some("<p><a href=\"https://coop.example.org/auth/link?token=s3cr3t-t0ken\">Logga in</a></p>".into()),
            reply_to: None,
            attachments: Vec::new(),
        }
    }

    fn formatted(msg: OutgoingMail) -> (Message, String) {
        let from: Mailbox = "Röstånga Matkooperativ <noreply@coop.example.org>"
            .parse()
            .unwrap();
        let subject = clean_header_text(&msg.subject);
        let message = compose(&from, msg, &subject).unwrap();
        let text = String::from_utf8(message.formatted()).expect("7-bit clean");
        (message, text)
    }

    fn headers(formatted: &str) -> &str {
        formatted.split("\r\n\r\n").next().unwrap()
    }

    #[test]
    fn without_a_mail_section_nothing_is_configured() {
        let mailer = Mailer::from_config(None).unwrap();
        assert!(!mailer.is_configured());
        assert_eq!(format!("{mailer:?}"), "Mailer(NotConfigured)");
    }

    #[test]
    fn a_plain_section_builds_a_mailer() {
        let mailer = Mailer::from_config(Some(&mail_config(plain_section()))).unwrap();
        assert!(mailer.is_configured());
        let shown = format!("{mailer:?}");
        assert!(shown.contains("127.0.0.1:2525"), "{shown}");
        assert!(shown.contains("authenticated: false"), "{shown}");
    }

    #[test]
    fn the_password_file_is_read_once_at_start_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("smtp-password");
        std::fs::write(&file, "correct-horse-battery\n").unwrap();
        let mailer = Mailer::from_config(Some(&with_login(&file))).unwrap();
        // Read at start: removing the file afterwards changes nothing.
        std::fs::remove_file(&file).unwrap();
        let shown = format!("{mailer:?}");
        assert!(shown.contains("authenticated: true"), "{shown}");
        assert!(!shown.contains("correct-horse"), "{shown}");
    }

    #[test]
    fn an_unreadable_password_file_fails_at_start_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-file");
        let err = Mailer::from_config(Some(&with_login(&missing))).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("mail.smtp_password_file"), "{text}");
        assert!(text.contains("no-such-file"), "{text}");
    }

    #[test]
    fn an_empty_password_file_fails_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("smtp-password");
        std::fs::write(&file, "\n").unwrap();
        let err = Mailer::from_config(Some(&with_login(&file))).unwrap_err();
        assert!(err.to_string().contains("mail.smtp_password_file"), "{err}");
    }

    #[test]
    fn a_login_needs_both_username_and_password_file() {
        let mut section = plain_section();
        section["smtp_username"] = json!("coop");
        let err = Mailer::from_config(Some(&mail_config(section))).unwrap_err();
        assert!(err.to_string().contains("mail.smtp_password_file"), "{err}");

        let mut section = plain_section();
        section["smtp_password_file"] = json!("/run/credentials/smtp-password");
        let err = Mailer::from_config(Some(&mail_config(section))).unwrap_err();
        assert!(err.to_string().contains("mail.smtp_username"), "{err}");
    }

    #[test]
    fn a_bad_sender_fails_at_start_naming_the_key() {
        let mut section = plain_section();
        section["from"] = json!("Röstånga Matkooperativ");
        let err = Mailer::from_config(Some(&mail_config(section))).unwrap_err();
        assert!(err.to_string().contains("mail.from"), "{err}");
    }

    #[test]
    fn tls_settings_build() {
        for security in ["starttls", "tls"] {
            let mut section = plain_section();
            section["smtp_security"] = json!(security);
            section["smtp_host"] = json!("smtp.example.org");
            let mailer = Mailer::from_config(Some(&mail_config(section))).unwrap();
            assert!(mailer.is_configured(), "{security}");
        }
    }

    #[test]
    fn the_message_has_the_headers_mail_clients_need() {
        let (message, text) = formatted(sample_mail());
        let head = headers(&text);
        assert!(head.is_ascii(), "{head}");
        assert!(head.contains("MIME-Version: 1.0"), "{head}");
        assert!(
            head.contains("Content-Type: multipart/alternative"),
            "{head}"
        );
        assert!(head.contains("\r\nDate: "), "{head}");
        let id = head
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .expect("a Message-ID");
        assert!(
            id.starts_with('<') && id.ends_with("@coop.example.org>"),
            "{id}"
        );
        assert!(text.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(text.contains("Content-Type: text/html; charset=utf-8"));
        let recipients: Vec<String> = message
            .envelope()
            .to()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(recipients, ["asa.oberg@example.org"]);
    }

    #[test]
    fn each_message_gets_its_own_id() {
        let id = |text: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix("Message-ID: "))
                .unwrap()
                .to_owned()
        };
        let (_, a) = formatted(sample_mail());
        let (_, b) = formatted(sample_mail());
        assert_ne!(id(&a), id(&b));
    }

    #[test]
    fn text_only_mail_is_a_single_part() {
        let mut mail = sample_mail();
        mail.html = None;
        let (_, text) = formatted(mail);
        let head = headers(&text);
        assert!(
            head.contains("Content-Type: text/plain; charset=utf-8"),
            "{head}"
        );
        assert!(!text.contains("multipart"), "{text}");
    }

    #[test]
    fn line_breaks_cannot_inject_headers() {
        let mut mail = sample_mail();
        mail.subject = "Hej\r\nBcc: mallory@example.net".into();
        mail.to_name = "Åsa\nCc: mallory@example.net".into();
        let (message, text) = formatted(mail);
        let head = headers(&text);
        assert!(
            !head
                .lines()
                .any(|l| l.starts_with("Bcc:") || l.starts_with("Cc:")),
            "{head}"
        );
        assert_eq!(message.envelope().to().len(), 1);
    }

    #[test]
    fn an_empty_name_leaves_a_bare_address() {
        let mut mail = sample_mail();
        mail.to_name = "  ".into();
        let (_, text) = formatted(mail);
        assert!(
            headers(&text).contains("\r\nTo: asa.oberg@example.org\r\n"),
            "{text}"
        );
    }

    #[test]
    fn debug_of_a_message_hides_body_and_address() {
        let shown = format!("{:?}", sample_mail());
        assert!(shown.contains("example.org"), "{shown}");
        assert!(shown.contains("Din inloggningslänk"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(!shown.contains("asa.oberg"), "{shown}");
    }

    #[test]
    fn header_text_is_one_clean_line() {
        assert_eq!(clean_header_text("  Åsa \t Öberg\r\n"), "Åsa Öberg");
        assert_eq!(clean_header_text("a\u{0}b"), "a b");
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in ["localhost", "LOCALHOST", "127.0.0.1", "::1", "[::1]"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["smtp.example.org", "10.0.0.1", "localhost.example.org"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn errors_say_whether_a_retry_may_help() {
        let timeout = MailError::Timeout {
            domain: "example.org".into(),
            server: "127.0.0.1:25".into(),
            timeout: SEND_TIMEOUT,
        };
        assert!(timeout.is_transient());
        assert_eq!(
            timeout.to_string(),
            "mail to a recipient at example.org was not sent: 127.0.0.1:25 did not answer \
             within 10 s"
        );
        let compose = MailError::Compose {
            domain: "example.org".into(),
            reason: "x".into(),
        };
        assert!(!compose.is_transient());
    }
}
