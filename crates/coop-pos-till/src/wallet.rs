//! The member wallet while the till is online: before a sale that the wallet pays is written,
//! the till asks central to hold that much of the member's wallet at coop-finance (the hold's key
//! is the sale's id), and the sale's arrival in the books turns the hold into the charge. When
//! central or coop-finance cannot be reached in a moment, the till sells offline instead, up to
//! the co-op's limit per member, and the books charge it when it arrives (flagging the wallet if
//! it overdrew). A hold for a sale that then did not happen is released.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::sync::Tokens;

/// What central answered to a hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldOutcome {
    /// Held: the sale may be written, paid online.
    Held,
    /// The wallet has only this much to spend.
    Insufficient { available: Decimal },
    /// The member is suspended or has left: the wallet cannot pay.
    Inactive,
    /// No answer in time (central or coop-finance away): sell offline, within the limit.
    Unreachable,
}

pub type WalletFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Holds and releases on members' wallets.
pub trait Wallet: Send + Sync {
    /// Holds `amount` of `member`'s wallet for the sale `sale`.
    fn hold(&self, member: &str, sale: Uuid, amount: Decimal) -> WalletFuture<'_, HoldOutcome>;
    /// Gives the hold for `sale` back (the sale did not happen). True when central confirmed.
    fn release(&self, sale: Uuid) -> WalletFuture<'_, bool>;
}

/// The wallet through central (`POST /api/till/wallet/holds`), with the till's own token.
pub struct Central {
    client: reqwest::Client,
    base: String,
    tokens: Arc<dyn Tokens>,
}

impl std::fmt::Debug for Central {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Central")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// How long a cashier waits for the wallet before the till sells offline.
pub const HOLD_TIMEOUT: Duration = Duration::from_secs(3);

impl Central {
    pub fn new(central: &str, tokens: Arc<dyn Tokens>) -> Self {
        Self {
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(1))
                .timeout(HOLD_TIMEOUT)
                .build()
                .expect("an HTTP client"),
            base: central.trim_end_matches('/').to_owned(),
            tokens,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Refusal {
    error: String,
    #[serde(default)]
    available: Option<Decimal>,
}

impl Wallet for Central {
    fn hold(&self, member: &str, sale: Uuid, amount: Decimal) -> WalletFuture<'_, HoldOutcome> {
        let member = member.to_owned();
        Box::pin(async move {
            let Ok(token) = self.tokens.bearer().await else {
                return HoldOutcome::Unreachable;
            };
            let res = self
                .client
                .post(format!("{}/api/till/wallet/holds", self.base))
                .bearer_auth(token)
                .json(&json!({ "sale_id": sale, "member": member, "amount": amount }))
                .send()
                .await;
            let res = match res {
                Ok(r) => r,
                Err(e) => {
                    tracing::info!(error = %e, %sale, "the wallet could not be reached: offline");
                    return HoldOutcome::Unreachable;
                }
            };
            if res.status().is_success() {
                return HoldOutcome::Held;
            }
            let status = res.status();
            match res.json::<Refusal>().await {
                Ok(r) if r.error == "insufficient_funds" => HoldOutcome::Insufficient {
                    available: r.available.unwrap_or(Decimal::ZERO),
                },
                Ok(r) if r.error == "member_inactive" => HoldOutcome::Inactive,
                other => {
                    tracing::warn!(%status, answer = ?other, %sale, "the wallet hold failed: offline");
                    HoldOutcome::Unreachable
                }
            }
        })
    }

    fn release(&self, sale: Uuid) -> WalletFuture<'_, bool> {
        Box::pin(async move {
            let Ok(token) = self.tokens.bearer().await else {
                return false;
            };
            match self
                .client
                .post(format!(
                    "{}/api/till/wallet/holds/{sale}/release",
                    self.base
                ))
                .bearer_auth(token)
                .send()
                .await
            {
                // Released now or before; or central holds nothing of this till's for the sale
                // (the hold never reached it): nothing is held either way.
                Ok(r)
                    if r.status().is_success() || r.status() == reqwest::StatusCode::NOT_FOUND =>
                {
                    true
                }
                other => {
                    tracing::warn!(answer = ?other.map(|r| r.status()), %sale,
                        "a wallet hold could not be released now; coop-finance keeps it until a bookkeeper or the next try");
                    false
                }
            }
        })
    }
}
