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

/// Why a hold could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// The wallet cannot cover it; `available` is what it could (when coop-finance said).
    #[error("the wallet cannot cover this")]
    Insufficient { available: Option<Decimal> },
    /// coop-finance refuses this member (suspended, or left).
    #[error("this member may not buy now")]
    MemberInactive,
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

/// Sets and settles a member's hold for an order.
pub trait Wallet: Send + Sync {
    /// Makes the hold under `key` on `member`'s wallet `amount`: `from` is what it is now (zero:
    /// there is none under this key yet). Zero releases it.
    fn set_hold<'a>(
        &'a self,
        member: Uuid,
        key: &'a str,
        from: Decimal,
        amount: Decimal,
    ) -> WalletFuture<'a>;

    /// Takes `amount` (the member's final part of the order) from the hold under `key`, giving
    /// back the rest; more than the hold only as far as the co-op allows. The same again
    /// answers the same.
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
        _ => WalletError::Unavailable(format!("coop-finance answered {status}: {body}")),
    }
}

impl Wallet for Finance {
    fn set_hold<'a>(
        &'a self,
        member: Uuid,
        key: &'a str,
        from: Decimal,
        amount: Decimal,
    ) -> WalletFuture<'a> {
        Box::pin(async move {
            let (status, body) = if amount.is_zero() {
                if from.is_zero() {
                    return Ok(());
                }
                self.post(&format!("/api/holds/{key}/release"), &json!({}))
                    .await?
            } else if from.is_zero() {
                self.post(
                    "/api/holds",
                    &json!({ "owner": member, "key": key, "amount": amount }),
                )
                .await?
            } else {
                self.post(
                    &format!("/api/holds/{key}/adjust"),
                    &json!({ "amount": amount }),
                )
                .await?
            };
            if (200..300).contains(&status) {
                return Ok(());
            }
            match refused(status, &body) {
                WalletError::Insufficient { .. } => Err(WalletError::Insufficient {
                    available: self.available(member).await,
                }),
                other => Err(other),
            }
        })
    }

    fn capture<'a>(&'a self, key: &'a str, amount: Decimal) -> WalletFuture<'a> {
        Box::pin(async move {
            let (status, body) = self
                .post(
                    &format!("/api/holds/{key}/capture"),
                    &json!({ "amount": amount, "allow_more": true }),
                )
                .await?;
            if (200..300).contains(&status) {
                Ok(())
            } else {
                Err(refused(status, &body))
            }
        })
    }
}
