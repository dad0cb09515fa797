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
    /// What the client may ask for: `openid` always; `profile`, `email`, `member` (member
    /// number and household), `roles` and `offline_access` (refresh tokens) only if listed.
    #[serde(default = "default_client_scopes")]
    pub scopes: Vec<String>,
    /// Suite services (`coop-finance`, …) that accept this client's access tokens, beside
    /// coop-sso's userinfo. Each of them must also trust the client (`trusted_clients`).
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Where coop-sso sends a logout token (OpenID Connect Back-Channel Logout 1.0) when one of
    /// the client's sessions ends: the member signs out, is suspended, resets their password or
    /// loses a role.
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
}

fn default_client_scopes() -> Vec<String> {
    ["openid", "profile", "email"].map(String::from).to_vec()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoSettings {
    #[serde(default)]
    pub bookkeeper_appointment: BookkeeperAppointment,
    #[serde(default)]
    pub signing_key_file: Option<String>,
    /// The key that seals signing keys and TOTP secrets in the database (a credential name or
    /// path; 64 hex digits). Without it, one is made in the state directory.
    #[serde(default)]
    pub secrets_key_file: Option<String>,
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    /// How long a refresh-token family lives at most, however often it is used (the idle
    /// limit is 30 days without use). Default 30 days.
    #[serde(default)]
    pub refresh_token_max_days: Option<u32>,
    /// The scopes each suite service may ask for with client credentials, by client id
    /// (`coop-pos`: `["members.feed"]`). Without an entry: `members.feed`.
    #[serde(default)]
    pub service_scopes: std::collections::BTreeMap<String, Vec<String>>,
}
