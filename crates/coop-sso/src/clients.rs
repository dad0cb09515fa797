//! The OIDC clients: the suite's own services (derived from the config, secrets read from
//! credential files or generated at first start) and extra clients declared in the config.

use coop_web::config::ExposeSecret as _;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Context as _};
use coop_web::config::{Secret, SecretFile, ServiceName};
use coop_web::Loaded;
use url::Url;

use crate::config::SsoSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// One of the suite's services: may also use client credentials.
    Suite(ServiceName),
    /// Declared in `services.sso.clients` (Synapse, a forum…).
    External,
    /// The till software: a public client that pairs with the device grant (RFC 8628).
    Till,
}

/// The till's public client id; it exists when the co-op runs coop-pos.
pub use coop_web::config::TILL_CLIENT_ID;

/// The scopes a member's sign-in can grant. `member` carries the member number and the
/// household, `roles` the roles, `offline_access` a refresh token.
pub const MEMBER_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "member",
    "roles",
    "offline_access",
];
/// The scopes of a suite service's own token (client credentials): `members.feed` reads the
/// member feed (number, name, status, whether member prices apply), `members.roles` and
/// `members.households` add those fields to it; `wallet` holds and captures members' wallet
/// money at coop-finance.
pub const SERVICE_SCOPES: [&str; 4] = [
    "members.feed",
    "members.roles",
    "members.households",
    "wallet",
];

/// What each suite service needs of the member feed, unless the config says otherwise
/// (`services.sso.service_scopes`): the till's back office its cashiers' roles, the wallet and
/// the buyers club the households members share; the till and the buyers club the wallet API.
pub fn default_service_scopes(service: ServiceName) -> &'static [&'static str] {
    match service {
        ServiceName::Pos => &["members.feed", "members.roles", "wallet"],
        ServiceName::BuyersClub => &["members.feed", "members.households", "wallet"],
        ServiceName::Finance => &["members.feed", "members.households"],
        ServiceName::Ims | ServiceName::Sso => &["members.feed"],
    }
}
/// The scope of a paired till's token.
pub const TILL_SCOPE: &str = "till";

#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub kind: ClientKind,
    /// What a member's sign-in may grant this client.
    pub scopes: BTreeSet<String>,
    /// What this client may ask for with client credentials (suite services only).
    pub service_scopes: BTreeSet<String>,
    /// The `aud` of every access token issued to this client.
    pub audiences: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// None for a public client, which cannot keep a secret.
    secret: Option<Secret>,
}

impl Client {
    pub fn verify_secret(&self, presented: &str) -> bool {
        self.secret
            .as_ref()
            .is_some_and(|s| crate::secrets::equal(s.expose_secret(), presented))
    }

    pub fn is_public(&self) -> bool {
        self.secret.is_none()
    }

    /// Exact string comparison, as OAuth 2.1 requires: no prefix or pattern matching.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    pub fn may_use_client_credentials(&self) -> bool {
        matches!(self.kind, ClientKind::Suite(_))
    }

    /// The scopes of `requested` that this client may have (the others are dropped, as
    /// OpenID Connect lets a provider grant less than asked), space-separated.
    pub fn grantable(&self, requested: &str) -> String {
        let mut seen = BTreeSet::new();
        requested
            .split(' ')
            .filter(|s| self.scopes.contains(*s) && seen.insert(*s))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Debug, Clone, Default)]
pub struct ClientRegistry {
    clients: BTreeMap<String, Client>,
}

impl ClientRegistry {
    pub fn get(&self, client_id: &str) -> Option<&Client> {
        self.clients.get(client_id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Client> {
        self.clients.values()
    }

    pub fn from_config(loaded: &Loaded<SsoSettings>, issuer: &str) -> anyhow::Result<Self> {
        let mut clients = BTreeMap::new();
        let state = &loaded.service.state_directory;
        // Tokens of the suite's own clients name every suite service; a service accepts them
        // only if it trusts the client too (`trusted_clients`).
        let suite_audiences: Vec<String> =
            loaded.coop.services.keys().map(|s| s.client_id()).collect();
        let all = |list: &[&str]| {
            list.iter()
                .map(|s| (*s).to_owned())
                .collect::<BTreeSet<_>>()
        };
        for (client_id, scopes) in &loaded.extra.service_scopes {
            let known = loaded
                .coop
                .services
                .keys()
                .any(|s| *s != ServiceName::Sso && s.client_id() == *client_id);
            if !known {
                bail!("services.sso.service_scopes.{client_id}: not a suite service of this co-op");
            }
            if let Some(bad) = scopes
                .iter()
                .find(|s| !SERVICE_SCOPES.contains(&s.as_str()))
            {
                bail!(
                    "services.sso.service_scopes.{client_id}: unknown scope `{bad}`; expected one of {}",
                    SERVICE_SCOPES.join(", ")
                );
            }
        }
        for svc in loaded
            .coop
            .services
            .values()
            .filter(|s| s.name != ServiceName::Sso)
        {
            let client_id = svc.name.client_id();
            let secret = match &svc.client_secret_file {
                Some(f) => f.read()?,
                None => generated_secret(state, &client_id)?,
            };
            let service_scopes = loaded.extra.service_scopes.get(&client_id).map_or_else(
                || all(default_service_scopes(svc.name)),
                |s| s.iter().cloned().collect(),
            );
            clients.insert(
                client_id.clone(),
                Client {
                    client_id,
                    name: svc.name.binary().to_owned(),
                    redirect_uris: vec![svc.url("/auth/callback")],
                    post_logout_redirect_uris: vec![svc.url("/")],
                    kind: ClientKind::Suite(svc.name),
                    scopes: all(&MEMBER_SCOPES),
                    service_scopes,
                    audiences: suite_audiences.clone(),
                    backchannel_logout_uri: Some(svc.url("/auth/backchannel-logout")),
                    secret: Some(secret),
                },
            );
            if svc.name == ServiceName::Pos {
                clients.insert(
                    TILL_CLIENT_ID.to_owned(),
                    Client {
                        client_id: TILL_CLIENT_ID.to_owned(),
                        name: "Till".to_owned(),
                        redirect_uris: Vec::new(),
                        post_logout_redirect_uris: Vec::new(),
                        kind: ClientKind::Till,
                        scopes: all(&[TILL_SCOPE]),
                        service_scopes: BTreeSet::new(),
                        // The till's own API at coop-pos, the member feed here, and the
                        // catalogue feed at coop-ims when the co-op runs it.
                        audiences: [ServiceName::Pos, ServiceName::Sso, ServiceName::Ims]
                            .into_iter()
                            .map(ServiceName::client_id)
                            .filter(|a| suite_audiences.contains(a))
                            .collect(),
                        backchannel_logout_uri: None,
                        secret: None,
                    },
                );
            }
        }
        for (i, c) in loaded.extra.clients.iter().enumerate() {
            let key = format!("services.sso.clients[{i}]");
            if c.client_id.is_empty()
                || !c
                    .client_id
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
            {
                bail!(
                    "{key}.client_id: use letters, digits, `-`, `_` and `.` only, got `{}`",
                    c.client_id
                );
            }
            if clients.contains_key(&c.client_id) {
                bail!(
                    "{key}.client_id: `{}` is already taken by a suite service",
                    c.client_id
                );
            }
            if c.redirect_uris.is_empty() {
                bail!("{key}.redirect_uris: at least one redirect URI is needed");
            }
            for (j, uri) in c
                .redirect_uris
                .iter()
                .chain(&c.post_logout_redirect_uris)
                .enumerate()
            {
                check_redirect_uri(uri).with_context(|| format!("{key}: URI {j} `{uri}`"))?;
            }
            let file = loaded.secret_file(&format!("{key}.secret_file"), &c.secret_file);
            let secret = read_secret(&format!("{key}.secret_file"), file.path())?;
            if !c.scopes.iter().any(|s| s == "openid") {
                bail!("{key}.scopes: `openid` is needed to sign in at all");
            }
            if let Some(bad) = c
                .scopes
                .iter()
                .find(|s| !MEMBER_SCOPES.contains(&s.as_str()))
            {
                bail!(
                    "{key}.scopes: unknown scope `{bad}`; expected some of {}",
                    MEMBER_SCOPES.join(", ")
                );
            }
            if let Some(bad) = c.audiences.iter().find(|a| !suite_audiences.contains(a)) {
                bail!(
                    "{key}.audiences: `{bad}` is not a suite service of this co-op; expected some of {}",
                    suite_audiences.join(", ")
                );
            }
            if let Some(uri) = &c.backchannel_logout_uri {
                check_redirect_uri(uri)
                    .with_context(|| format!("{key}.backchannel_logout_uri `{uri}`"))?;
            }
            // Good at userinfo, and at the suite services the config names.
            let mut audiences = vec![format!("{issuer}/userinfo")];
            audiences.extend(c.audiences.iter().cloned());
            clients.insert(
                c.client_id.clone(),
                Client {
                    client_id: c.client_id.clone(),
                    name: c.name.clone(),
                    redirect_uris: c.redirect_uris.clone(),
                    post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
                    kind: ClientKind::External,
                    scopes: c.scopes.iter().cloned().collect(),
                    service_scopes: BTreeSet::new(),
                    audiences,
                    backchannel_logout_uri: c.backchannel_logout_uri.clone(),
                    secret: Some(secret),
                },
            );
        }
        Ok(Self { clients })
    }
}

fn read_secret(key: &str, path: &Path) -> anyhow::Result<Secret> {
    let raw = std::fs::read_to_string(path)
        .with_context(|| format!("{key}: reading {}", path.display()))?;
    let s = raw.trim_end_matches(['\n', '\r']);
    if s.len() < 16 {
        bail!(
            "{key}: the secret in {} is shorter than 16 characters",
            path.display()
        );
    }
    Ok(Secret::from(s))
}

/// A suite service without a configured secret gets one generated into coop-sso's state
/// directory, where the local demo and single-host installs can read it.
fn generated_secret(state: &Path, client_id: &str) -> anyhow::Result<Secret> {
    let dir = state.join("client-secrets");
    let path = dir.join(client_id);
    if path.exists() {
        return read_secret(client_id, &path);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let secret = crate::secrets::new_token();
    coop_web::session::write_private_file(&path, secret.as_bytes())?;
    Ok(Secret::from(secret))
}

/// Redirect URIs must be absolute, without fragment, and https unless on this machine.
pub fn check_redirect_uri(uri: &str) -> anyhow::Result<()> {
    let url = Url::parse(uri).context("not an absolute URL")?;
    if url.fragment().is_some() {
        bail!("a redirect URI has no fragment");
    }
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        other => bail!("scheme `{other}` is not allowed; use https (http only on loopback)"),
    }
}

/// For `check-config`: the secret file a suite client uses.
pub fn describe_secret(file: Option<&SecretFile>) -> String {
    file.map_or_else(
        || "generated in the state directory".into(),
        |f| f.path().display().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::check_redirect_uri;

    #[test]
    fn redirect_uris_must_be_https_or_loopback() {
        assert!(check_redirect_uri(
            "https://matrix.coop.example.org/_synapse/client/oidc/callback"
        )
        .is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:8008/cb").is_ok());
        assert!(check_redirect_uri("http://matrix.coop.example.org/cb").is_err());
        assert!(check_redirect_uri("https://x.example.org/cb#frag").is_err());
        assert!(check_redirect_uri("/relative").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
    }
}
