//! Outgoing mail and the Matrix homeserver.

use serde::{Deserialize, Serialize};
use url::Url;

use super::secrets::SecretFile;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMail {
    pub(super) from: String,
    pub(super) smtp_host: String,
    #[serde(default)]
    pub(super) smtp_port: Option<u16>,
    #[serde(default)]
    pub(super) smtp_security: Option<SmtpSecurity>,
    #[serde(default)]
    pub(super) smtp_username: Option<String>,
    #[serde(default)]
    pub(super) smtp_password_file: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMatrix {
    pub(super) enable: bool,
    #[serde(default)]
    pub(super) server_name: Option<String>,
    #[serde(default)]
    pub(super) public_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mail {
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: SmtpSecurity,
    pub smtp_username: Option<String>,
    pub smtp_password_file: Option<SecretFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    pub server_name: String,
    pub public_url: Url,
}
