//! The buyers club's Matrix bot, over the Client-Server API: it posts to the co-op's room and
//! writes to a member in a direct room it makes with them. Its account is registered once, by
//! `coop-buyers-club matrix-setup` (the NixOS module runs it before the service), through
//! Synapse's shared-secret registration; the service itself only ever holds the bot's access
//! token (a credential file).

use std::path::Path;
use std::time::Duration;

use coop_web::config::{ExposeSecret as _, Secret};
use hmac::{Hmac, Mac as _};
use reqwest::{Method, StatusCode, Url};
use serde_json::{json, Value};

/// Why a Matrix call failed.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    /// Worth trying again later: no answer, a 5xx, rate limited.
    #[error("the Matrix homeserver could not be reached: {0}")]
    Unavailable(String),
    /// The homeserver refused (an unknown user, no permission): trying again will not help.
    #[error("the Matrix homeserver refused: {0}")]
    Refused(String),
}

impl MatrixError {
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self, MatrixError::Unavailable(_))
    }
}

/// A client of one homeserver, as one account (`token`), or as nobody (registration).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<Secret>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// # Errors
    /// `base` is not an http(s) URL.
    pub fn new(base: &str, token: Option<Secret>) -> anyhow::Result<Self> {
        let base: Url = base.parse()?;
        anyhow::ensure!(
            matches!(base.scheme(), "http" | "https") && base.host().is_some(),
            "the Matrix homeserver's URL is http(s) with a host"
        );
        Ok(Self {
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(3))
                .timeout(Duration::from_secs(10))
                .build()?,
            base,
            token,
        })
    }

    #[must_use]
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The same homeserver, as the account with `token`.
    #[must_use]
    pub fn with_token(&self, token: Secret) -> Self {
        Self {
            token: Some(token),
            ..self.clone()
        }
    }

    /// `base` with these path segments (each percent-encoded: room ids have `!` and `:`).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        {
            let mut path = url.path_segments_mut().expect("an http(s) URL");
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Value, MatrixError> {
        let mut req = self.http.request(method, url);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token.expose_secret());
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req
            .send()
            .await
            .map_err(|e| MatrixError::Unavailable(e.without_url().to_string()))?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        // The homeserver's error code and message name no secret.
        let why = format!(
            "{status}: {} {}",
            body["errcode"].as_str().unwrap_or("?"),
            body["error"].as_str().unwrap_or("")
        );
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Err(MatrixError::Unavailable(why))
        } else {
            Err(MatrixError::Refused(why))
        }
    }

    /// The account's own Matrix id.
    ///
    /// # Errors
    /// The token is not (or no longer) valid, or the homeserver did not answer.
    pub async fn whoami(&self) -> Result<String, MatrixError> {
        let v = self
            .call(
                Method::GET,
                self.url(&["_matrix", "client", "v3", "account", "whoami"]),
                None,
            )
            .await?;
        v["user_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| MatrixError::Refused("whoami answered no user_id".into()))
    }

    /// The room an alias (`#coop:example.org`) names, or a room id as it is.
    ///
    /// # Errors
    /// No such room, or no answer.
    pub async fn resolve(&self, room: &str) -> Result<String, MatrixError> {
        if room.starts_with('!') {
            return Ok(room.to_owned());
        }
        let v = self
            .call(
                Method::GET,
                self.url(&["_matrix", "client", "v3", "directory", "room", room]),
                None,
            )
            .await?;
        v["room_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| MatrixError::Refused(format!("{room} names no room")))
    }

    /// Joins a room (an alias or id; joining again is fine) and answers its id.
    ///
    /// # Errors
    /// The room does not let the bot in, or no answer.
    pub async fn join(&self, room: &str) -> Result<String, MatrixError> {
        let v = self
            .call(
                Method::POST,
                self.url(&["_matrix", "client", "v3", "join", room]),
                Some(&json!({})),
            )
            .await?;
        v["room_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| MatrixError::Refused("join answered no room_id".into()))
    }

    /// Sends a text message. `txn` makes it idempotent: the homeserver keeps one event per
    /// transaction id of this account, so a retry after a lost answer is not a second message.
    ///
    /// # Errors
    /// Not sent.
    pub async fn send_text(&self, room_id: &str, txn: &str, text: &str) -> Result<(), MatrixError> {
        self.call(
            Method::PUT,
            self.url(&[
                "_matrix",
                "client",
                "v3",
                "rooms",
                room_id,
                "send",
                "m.room.message",
                txn,
            ]),
            Some(&json!({ "msgtype": "m.text", "body": text })),
        )
        .await
        .map(|_| ())
    }

    /// A new direct room with `user_id` (invited; Matrix clients show it as a direct chat).
    ///
    /// # Errors
    /// The user does not exist, or no answer.
    pub async fn direct_room(&self, user_id: &str, name: &str) -> Result<String, MatrixError> {
        let v = self
            .call(
                Method::POST,
                self.url(&["_matrix", "client", "v3", "createRoom"]),
                Some(&json!({
                    "preset": "trusted_private_chat", "is_direct": true, "invite": [user_id],
                    "name": name,
                })),
            )
            .await?;
        v["room_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| MatrixError::Refused("createRoom answered no room_id".into()))
    }

    /// The co-op's room under `alias_localpart` (`#<it>:<server>`): found, or made (public on
    /// the co-op's homeserver, so members join it from their client), and joined.
    ///
    /// # Errors
    /// Neither found nor made.
    pub async fn ensure_room(
        &self,
        alias_localpart: &str,
        server_name: &str,
        name: &str,
    ) -> Result<String, MatrixError> {
        let alias = format!("#{alias_localpart}:{server_name}");
        match self.resolve(&alias).await {
            Ok(_) => self.join(&alias).await,
            Err(MatrixError::Refused(_)) => {
                let v = self
                    .call(
                        Method::POST,
                        self.url(&["_matrix", "client", "v3", "createRoom"]),
                        Some(&json!({
                            "preset": "public_chat", "room_alias_name": alias_localpart,
                            "name": name,
                            "topic": "Orders of the co-op's buyers club",
                        })),
                    )
                    .await?;
                v["room_id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| MatrixError::Refused("createRoom answered no room_id".into()))
            }
            Err(e) => Err(e),
        }
    }

    /// Registers `localpart` through Synapse's shared-secret registration
    /// (`/_synapse/admin/v1/register`, an HMAC-SHA1 of nonce, name, password and "notadmin"
    /// under the homeserver's `registration_shared_secret`), not as an admin, and answers its
    /// Matrix id and access token. The password is random and forgotten: the bot only ever uses
    /// the token.
    ///
    /// # Errors
    /// The name is taken, the secret is wrong, or no answer.
    pub async fn register(
        &self,
        shared_secret: &Secret,
        localpart: &str,
    ) -> Result<(String, Secret), MatrixError> {
        let url = self.url(&["_synapse", "admin", "v1", "register"]);
        let nonce = self.call(Method::GET, url.clone(), None).await?["nonce"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| MatrixError::Refused("no registration nonce".into()))?;
        let password: String = {
            use rand::Rng as _;
            let mut rng = rand::thread_rng();
            (0..40)
                .map(|_| char::from(rng.sample(rand::distributions::Alphanumeric)))
                .collect()
        };
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(shared_secret.expose_secret().as_bytes())
            .expect("HMAC takes a key of any length");
        for (i, part) in [nonce.as_str(), localpart, &password, "notadmin"]
            .iter()
            .enumerate()
        {
            if i > 0 {
                mac.update(b"\0");
            }
            mac.update(part.as_bytes());
        }
        let digest = mac
            .finalize()
            .into_bytes()
            .iter()
            .fold(String::new(), |mut s, b| {
                use std::fmt::Write as _;
                let _ = write!(s, "{b:02x}");
                s
            });
        let v = self
            .call(
                Method::POST,
                url,
                Some(&json!({
                    "nonce": nonce, "username": localpart, "displayname": "Cooperage",
                    "password": password, "admin": false, "mac": digest,
                })),
            )
            .await?;
        match (v["user_id"].as_str(), v["access_token"].as_str()) {
            (Some(user), Some(token)) => Ok((user.to_owned(), Secret::from(token.to_owned()))),
            _ => Err(MatrixError::Refused(
                "registration answered no token".into(),
            )),
        }
    }
}

/// `coop-buyers-club matrix-setup`: makes sure the bot has an account and a working token in
/// `token_file` (registered once; a token that still works is kept), and that the co-op's room
/// exists with the bot in it. Answers the room's id.
///
/// # Errors
/// What went wrong, said for the operator.
pub async fn setup(
    homeserver: &str,
    server_name: &str,
    shared_secret: &Secret,
    localpart: &str,
    token_file: &Path,
    room_alias_localpart: &str,
    room_name: &str,
) -> anyhow::Result<String> {
    use anyhow::Context as _;
    let existing = std::fs::read_to_string(token_file).ok();
    let token = match existing {
        Some(t) if !t.trim().is_empty() => {
            let token = Secret::from(t.trim().to_owned());
            match Client::new(homeserver, Some(token.clone()))?.whoami().await {
                Ok(_) => Some(token),
                Err(MatrixError::Refused(_)) => None,
                Err(e) => return Err(e).context("checking the bot's token"),
            }
        }
        _ => None,
    };
    let token = if let Some(t) = token {
        t
    } else {
        let (user, token) = Client::new(homeserver, None)?
            .register(shared_secret, localpart)
            .await
            .with_context(|| {
                format!(
                    "registering the bot @{localpart}:{server_name} (if it exists already and its token file is lost, deactivate it with Synapse's admin API or choose another bot name)"
                )
            })?;
        write_private(token_file, token.expose_secret())
            .with_context(|| format!("writing {}", token_file.display()))?;
        tracing::info!(%user, "Matrix bot registered");
        token
    };
    let client = Client::new(homeserver, Some(token))?;
    client
        .ensure_room(room_alias_localpart, server_name, room_name)
        .await
        .context("making or joining the co-op's room")
}

/// Writes a file only its owner reads, replacing it whole.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}
