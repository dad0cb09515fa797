//! Pairing the till through coop-sso's device grant (RFC 8628), and its tokens afterwards.
//!
//! On first start the till asks coop-sso for a code and shows it on its screen; a manager signed
//! in anywhere types the code at coop-sso's `/device`, names the till and pairs it. The till,
//! polling the token endpoint at the interval coop-sso gives (5 seconds more for each
//! `slow_down`), then receives an access token whose subject is `till:<id>` (the till's id from
//! then on) and a refresh token. Both are kept in the till's store, so a reboot keeps the
//! pairing; the access token is renewed with the refresh token shortly before it expires, and
//! coop-sso rotates the refresh token each time. A till that coop-sso unpaired gets
//! `invalid_grant`, says so in its log and on its screen, and must be paired again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::store::Store;
use crate::sync::{SyncError, Tokens};

/// The public client coop-sso knows tills by.
pub const CLIENT_ID: &str = "coop-till";
/// Where the pairing is kept in the till's store.
const KEY: &str = "pairing";
/// Renew the access token this long before it expires.
const EARLY: chrono::Duration = chrono::Duration::seconds(60);

/// A paired till's tokens, as kept.
#[derive(Clone, Serialize, Deserialize)]
struct Kept {
    till_id: String,
    access_token: String,
    expires_at: DateTime<Utc>,
    refresh_token: String,
}

/// coop-sso's endpoints, from its discovery document.
#[derive(Debug, Clone, Deserialize)]
struct Endpoints {
    token_endpoint: String,
    device_authorization_endpoint: String,
}

/// A pairing under way: what the till shows, and what it polls with.
#[derive(Debug, Clone)]
pub struct Pending {
    device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub interval: Duration,
    pub expires_at: DateTime<Utc>,
}

/// What a poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// Nobody has approved it yet.
    Waiting,
    /// Polling too fast: the interval is now longer.
    SlowDown,
    /// Paired: the till's id.
    Paired(String),
    /// The code expired: start again.
    Expired,
    /// A manager refused it.
    Denied,
}

/// The till's tokens from its pairing with coop-sso.
pub struct DeviceTokens {
    store: Store,
    client: reqwest::Client,
    issuer: String,
    kept: Mutex<Option<Kept>>,
    /// One renewal at a time: a refresh token is good once.
    renewing: Mutex<()>,
}

impl std::fmt::Debug for DeviceTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceTokens")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn unreachable(e: &reqwest::Error) -> SyncError {
    SyncError::Unreachable(e.to_string())
}

/// The till's id from its access token's subject (`till:<id>`). The token came from coop-sso
/// over the connection the till opened; central verifies its signature on every call.
fn till_of(access_token: &str) -> Option<String> {
    let payload = access_token.split('.').nth(1)?;
    let bytes = data_encoding::BASE64URL_NOPAD
        .decode(payload.trim_end_matches('=').as_bytes())
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["sub"]
        .as_str()?
        .strip_prefix("till:")
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

impl DeviceTokens {
    /// The pairing kept in `store`, if any, for coop-sso at `issuer`.
    pub async fn load(store: Store, issuer: &str) -> Result<Self, SyncError> {
        let kept = match store.setting(KEY).await? {
            Some(v) => serde_json::from_value::<Kept>(v).ok(),
            None => None,
        };
        Ok(Self {
            store,
            client: crate::sync::client(),
            issuer: issuer.trim_end_matches('/').to_owned(),
            kept: Mutex::new(kept),
            renewing: Mutex::new(()),
        })
    }

    /// The till's id, once paired.
    pub async fn till_id(&self) -> Option<String> {
        self.kept.lock().await.as_ref().map(|k| k.till_id.clone())
    }

    async fn endpoints(&self) -> Result<Endpoints, SyncError> {
        let res = self
            .client
            .get(format!("{}/.well-known/openid-configuration", self.issuer))
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        if !res.status().is_success() {
            return Err(SyncError::Refused {
                status: res.status().as_u16(),
                body: "coop-sso's discovery document".into(),
            });
        }
        res.json()
            .await
            .map_err(|e| SyncError::Answer(e.to_string()))
    }

    /// A request to coop-sso's token endpoint: its status and JSON answer.
    async fn token_request(
        &self,
        form: &[(&str, &str)],
    ) -> Result<(reqwest::StatusCode, Value), SyncError> {
        let e = self.endpoints().await?;
        let res = self
            .client
            .post(&e.token_endpoint)
            .form(form)
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        let status = res.status();
        let body: Value = res
            .json()
            .await
            .map_err(|e| SyncError::Answer(e.to_string()))?;
        Ok((status, body))
    }

    /// Asks coop-sso for a code to show, naming the till `device_name` for the manager.
    pub async fn start(&self, device_name: &str) -> Result<Pending, SyncError> {
        #[derive(Deserialize)]
        struct Answer {
            device_code: String,
            user_code: String,
            verification_uri: String,
            #[serde(default = "five")]
            interval: u64,
            expires_in: i64,
        }
        fn five() -> u64 {
            5
        }
        let e = self.endpoints().await?;
        let res = self
            .client
            .post(&e.device_authorization_endpoint)
            .form(&[
                ("client_id", CLIENT_ID),
                ("scope", "till offline_access"),
                ("device_name", device_name),
            ])
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        let status = res.status();
        let body = res.text().await.map_err(|e| unreachable(&e))?;
        if !status.is_success() {
            return Err(SyncError::Refused {
                status: status.as_u16(),
                body: body.chars().take(300).collect(),
            });
        }
        let a: Answer =
            serde_json::from_str(&body).map_err(|e| SyncError::Answer(e.to_string()))?;
        Ok(Pending {
            device_code: a.device_code,
            user_code: a.user_code,
            verification_uri: a.verification_uri,
            interval: Duration::from_secs(a.interval.max(1)),
            expires_at: Utc::now() + chrono::Duration::seconds(a.expires_in),
        })
    }

    /// Asks once whether a manager has paired the till; on success keeps the tokens.
    pub async fn poll(&self, pending: &mut Pending) -> Result<Poll, SyncError> {
        let (status, body) = self
            .token_request(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", pending.device_code.as_str()),
                ("client_id", CLIENT_ID),
            ])
            .await?;
        if status.is_success() {
            let kept = self.keep(&body).await?;
            return Ok(Poll::Paired(kept));
        }
        match body["error"].as_str() {
            Some("authorization_pending") => Ok(Poll::Waiting),
            Some("slow_down") => {
                pending.interval += Duration::from_secs(5);
                Ok(Poll::SlowDown)
            }
            Some("expired_token") => Ok(Poll::Expired),
            Some("access_denied") => Ok(Poll::Denied),
            _ => Err(SyncError::Refused {
                status: status.as_u16(),
                body: body.to_string().chars().take(300).collect(),
            }),
        }
    }

    /// Keeps a token answer (from pairing or a refresh); answers the till's id.
    async fn keep(&self, body: &Value) -> Result<String, SyncError> {
        let access = body["access_token"]
            .as_str()
            .ok_or_else(|| SyncError::Answer("no access token".into()))?;
        let refresh = body["refresh_token"]
            .as_str()
            .ok_or_else(|| SyncError::Answer("no refresh token".into()))?;
        let till_id =
            till_of(access).ok_or_else(|| SyncError::Answer("the token names no till".into()))?;
        let kept = Kept {
            till_id: till_id.clone(),
            access_token: access.to_owned(),
            expires_at: Utc::now()
                + chrono::Duration::seconds(body["expires_in"].as_i64().unwrap_or(300)),
            refresh_token: refresh.to_owned(),
        };
        // On disk first: a rotated refresh token lost to a crash would unpair the till.
        let v = serde_json::to_value(&kept).map_err(|e| SyncError::Answer(e.to_string()))?;
        self.store.set_setting(KEY, &v).await?;
        *self.kept.lock().await = Some(kept);
        Ok(till_id)
    }

    /// Pairs the till: shows nothing itself, but calls `show` with each new code, and polls
    /// until a manager has paired it. Answers the till's id.
    pub async fn pair(
        &self,
        device_name: &str,
        show: &(dyn Fn(Option<&Pending>) + Sync),
    ) -> String {
        loop {
            let mut pending = match self.start(device_name).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "coop-sso cannot start a pairing now");
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    continue;
                }
            };
            tracing::info!(code = %pending.user_code, "pair this till at coop-sso's /device");
            show(Some(&pending));
            loop {
                tokio::time::sleep(pending.interval).await;
                match self.poll(&mut pending).await {
                    Ok(Poll::Paired(id)) => {
                        tracing::info!(till = %id, "the till is paired");
                        show(None);
                        return id;
                    }
                    Ok(Poll::Waiting | Poll::SlowDown) => {}
                    Ok(Poll::Expired | Poll::Denied) => break,
                    Err(e) => tracing::info!(error = %e, "pairing: no answer yet"),
                }
                if Utc::now() > pending.expires_at {
                    break;
                }
            }
        }
    }

    /// A fresh access token from the refresh token.
    async fn refresh(&self, kept: &Kept) -> Result<(), SyncError> {
        let (status, body) = self
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", kept.refresh_token.as_str()),
                ("client_id", CLIENT_ID),
            ])
            .await?;
        if !status.is_success() {
            if body["error"] == "invalid_grant" {
                tracing::error!("coop-sso no longer knows this till: it must be paired again");
            }
            return Err(SyncError::Refused {
                status: status.as_u16(),
                body: body["error"].as_str().unwrap_or("").to_owned(),
            });
        }
        self.keep(&body).await.map(drop)
    }

    /// Forgets the pairing (the till was unpaired at coop-sso, or is being handed on).
    pub async fn forget(&self) -> Result<(), SyncError> {
        self.store.set_setting(KEY, &Value::Null).await?;
        *self.kept.lock().await = None;
        Ok(())
    }
}

impl Tokens for DeviceTokens {
    fn bearer(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, SyncError>> + Send + '_>>
    {
        Box::pin(async move {
            let fresh = |k: &Kept| k.expires_at - EARLY > Utc::now();
            let current = self.kept.lock().await.clone();
            let Some(kept) = current else {
                return Err(SyncError::Unreachable("the till is not paired yet".into()));
            };
            if fresh(&kept) {
                return Ok(kept.access_token);
            }
            // One renewal at a time; whoever waited finds the renewed token.
            let _one = self.renewing.lock().await;
            let current = self.kept.lock().await.clone();
            match current {
                Some(k) if fresh(&k) => Ok(k.access_token),
                Some(k) => {
                    self.refresh(&k).await?;
                    self.kept
                        .lock()
                        .await
                        .as_ref()
                        .map(|k| k.access_token.clone())
                        .ok_or_else(|| SyncError::Unreachable("the till is not paired".into()))
                }
                None => Err(SyncError::Unreachable("the till is not paired".into())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_till_id_is_the_tokens_subject() {
        let enc = |v: &str| data_encoding::BASE64URL_NOPAD.encode(v.as_bytes());
        let token = format!(
            "{}.{}.sig",
            enc("{}"),
            enc(r#"{"sub":"till:4f2c","scope":"till"}"#)
        );
        assert_eq!(super::till_of(&token).as_deref(), Some("4f2c"));
        let member = format!("{}.{}.sig", enc("{}"), enc(r#"{"sub":"m-1"}"#));
        assert_eq!(super::till_of(&member), None);
        assert_eq!(super::till_of("garbage"), None);
    }
}
