//! The members' wallets at coop-finance, as the buyers club uses them: while an order is open,
//! each member's purchases in it are covered by one hold on their wallet, set to what they could
//! at most be charged (quantity and tolerance at the order's prices). A purchase the wallet
//! cannot cover is refused. When the order completes, each member's final part is captured from
//! their hold (the rest given back), and coop-finance books the order from this service's feed.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use coop_web::auth::ServiceTokenClient;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use uuid::Uuid;

/// Why a wallet call did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// The wallet cannot cover it; `available` is what it could (when coop-finance said).
    #[error("the wallet cannot cover this")]
    Insufficient { available: Option<Decimal> },
    /// coop-finance refuses this member (suspended, or left).
    #[error("this member may not buy now")]
    MemberInactive,
    /// A hold under this key exists already, for another amount: an earlier request went
    /// through though its answer was lost.
    #[error("a hold under this key exists already")]
    KeyReused,
    /// No hold under this key: an earlier request never got there.
    #[error("no hold under this key")]
    NoHold,
    /// The hold under this key is settled (released or captured) already.
    #[error("the hold under this key is settled")]
    Settled,
    /// coop-finance did not answer, or answered what it should not.
    #[error("coop-finance could not be reached: {0}")]
    Unavailable(String),
}

/// The key of a member's hold for an order, at coop-finance.
#[must_use]
pub fn hold_key(order: Uuid, member: Uuid, generation: i32) -> String {
    format!("order:{order}:{member}:{generation}")
}

pub type WalletFuture<'a> = Pin<Box<dyn Future<Output = Result<(), WalletError>> + Send + 'a>>;

/// coop-finance's hold API as the buyers club uses it. Every call is idempotent by its key; the
/// buyers club puts right what a lost answer left (see `store::set_hold`).
pub trait Wallet: Send + Sync {
    /// Holds `amount` of `member`'s wallet under a new `key`.
    fn hold<'a>(&'a self, member: Uuid, key: &'a str, amount: Decimal) -> WalletFuture<'a>;

    /// Makes the open hold under `key` `amount` (more only as far as the wallet covers).
    fn adjust<'a>(&'a self, member: Uuid, key: &'a str, amount: Decimal) -> WalletFuture<'a>;

    /// Gives the hold under `key` back; one released already (or never made) is fine.
    fn release<'a>(&'a self, key: &'a str) -> WalletFuture<'a>;

    /// Takes `amount` (the member's final part of the order) from the hold under `key`, giving
    /// back the rest. The same again answers the same.
    fn capture<'a>(&'a self, key: &'a str, amount: Decimal) -> WalletFuture<'a>;
}

/// coop-finance's wallet API (`/api/holds`), with this service's own token (scope `wallet`).
#[derive(Debug, Clone)]
pub struct Finance {
    client: reqwest::Client,
    base: String,
    token: ServiceTokenClient,
}

impl Finance {
    /// `base` is coop-finance's URL, e.g. `https://coop.example.org/finance`.
    ///
    /// # Panics
    /// Never: the client's settings are fixed.
    #[must_use]
    pub fn new(base: &str, token: ServiceTokenClient) -> Self {
        Self {
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(5))
                .build()
                .expect("an HTTP client"),
            base: base.trim_end_matches('/').to_owned(),
            token,
        }
    }

    async fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), WalletError> {
        let auth = self
            .token
            .authorization()
            .await
            .map_err(|e| WalletError::Unavailable(format!("no service token: {e}")))?;
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::AUTHORIZATION, auth)
            .json(body)
            .send()
            .await
            .map_err(|e| WalletError::Unavailable(e.to_string()))?;
        let status = res.status().as_u16();
        Ok((status, res.json().await.unwrap_or(Value::Null)))
    }

    async fn available(&self, member: Uuid) -> Option<Decimal> {
        let auth = self.token.authorization().await.ok()?;
        let res = self
            .client
            .get(format!("{}/api/wallets/{member}", self.base))
            .header(reqwest::header::AUTHORIZATION, auth)
            .send()
            .await
            .ok()?;
        let v: Value = res.json().await.ok()?;
        serde_json::from_value(v["balance"]["available"].clone()).ok()
    }
}

fn refused(status: u16, body: &Value) -> WalletError {
    match (status, body["error"].as_str()) {
        (409, Some("insufficient_funds" | "capture_above_hold")) | (404, Some("no_wallet")) => {
            WalletError::Insufficient { available: None }
        }
        (403, Some("member_inactive")) => WalletError::MemberInactive,
        (409, Some("key_reused")) => WalletError::KeyReused,
        (404, Some("no_hold")) => WalletError::NoHold,
        (409, Some("hold_settled")) => WalletError::Settled,
        _ => WalletError::Unavailable(format!("coop-finance answered {status}: {body}")),
    }
}

impl Finance {
    async fn call(
        &self,
        member: Option<Uuid>,
        path: &str,
        body: &Value,
    ) -> Result<(), WalletError> {
        let (status, answer) = self.post(path, body).await?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        match (refused(status, &answer), member) {
            (WalletError::Insufficient { .. }, Some(m)) => Err(WalletError::Insufficient {
                available: self.available(m).await,
            }),
            (other, _) => Err(other),
        }
    }
}

impl Wallet for Finance {
    fn hold<'a>(&'a self, member: Uuid, key: &'a str, amount: Decimal) -> WalletFuture<'a> {
        Box::pin(async move {
            self.call(
                Some(member),
                "/api/holds",
                &json!({ "owner": member, "key": key, "amount": amount }),
            )
            .await
        })
    }

    fn adjust<'a>(&'a self, member: Uuid, key: &'a str, amount: Decimal) -> WalletFuture<'a> {
        Box::pin(async move {
            self.call(
                Some(member),
                &format!("/api/holds/{key}/adjust"),
                &json!({ "amount": amount }),
            )
            .await
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> WalletFuture<'a> {
        Box::pin(async move {
            match self
                .call(None, &format!("/api/holds/{key}/release"), &json!({}))
                .await
            {
                Err(WalletError::NoHold) => Ok(()),
                other => other,
            }
        })
    }

    fn capture<'a>(&'a self, key: &'a str, amount: Decimal) -> WalletFuture<'a> {
        Box::pin(async move {
            self.call(
                None,
                &format!("/api/holds/{key}/capture"),
                &json!({ "amount": amount }),
            )
            .await
        })
    }
}
