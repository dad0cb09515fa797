//! coop-sso's own keys in `services.sso` (see docs/config.md).

use serde::{Deserialize, Serialize};

/// Who may appoint a bookkeeper: any member (the buyers-club spec) or admins only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookkeeperAppointment {
    #[default]
    Members,
    Admins,
}

/// An extra OIDC client declared in the config (Synapse, a forum, Nextcloud…).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// A credential name or path; the file holds the client secret.
    pub secret_file: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoSettings {
    #[serde(default)]
    pub bookkeeper_appointment: BookkeeperAppointment,
    #[serde(default)]
    pub signing_key_file: Option<String>,
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
}
