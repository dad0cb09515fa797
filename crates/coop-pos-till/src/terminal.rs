//! The card terminal, behind a trait: the till asks it to take an amount and gets a clear
//! outcome. The simulator answers here; a real terminal is reached through the payment bridge
//! (`crate::devices::BridgeTerminal`), which runs its protocol and resolves an outcome that a
//! crash left unknown.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What the terminal answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Paid: the terminal's reference goes on the sale and the receipt.
    Approved { reference: String },
    /// The card or the bank said no.
    Declined { reason: String },
    /// The member or the cashier cancelled at the terminal.
    Cancelled,
    /// No answer in time: the card may or may not have been charged.
    TimedOut,
}

pub type TerminalFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

pub type SlipFuture<'a> = Pin<Box<dyn Future<Output = Vec<String>> + Send + 'a>>;

/// The terminal's answer to ending its day: its total (payments less refunds) when it reports
/// one, or why the day could not be ended.
pub type DayFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<Decimal>, String>> + Send + 'a>>;

/// A payment terminal.
pub trait Terminal: Send + Sync {
    /// Takes `amount` for the sale `sale`; answers when the terminal does.
    fn pay(&self, sale: Uuid, amount: Decimal) -> TerminalFuture<'_>;

    /// Gives `amount` back to a card (a return). `key` names this refund: asking again with
    /// the same key never refunds twice. The simulator answers as for a payment.
    fn refund(&self, key: String, amount: Decimal) -> TerminalFuture<'_> {
        let _ = key;
        self.pay(Uuid::nil(), amount)
    }

    /// Ends the terminal's day (its batch goes to the acquirer), as a shift closes.
    fn end_of_day(&self) -> DayFuture<'_> {
        Box::pin(async { Ok(None) })
    }

    /// The terminal's own receipt (its slip) for the payment or refund `key`, line by line, to
    /// print after the till's receipt. Empty when the terminal prints its own or keeps none.
    fn slip(&self, key: String) -> SlipFuture<'_> {
        let _ = key;
        Box::pin(async { Vec::new() })
    }
}

/// A terminal for training, demos and tests. The öre decide: an amount ending in .13 is
/// declined, .14 is cancelled, .15 times out; anything else is approved after `delay`. Its day
/// total is what it approved, less what it refunded, since its day was last ended.
#[derive(Debug, Clone, Default)]
pub struct Simulator {
    pub delay: Duration,
    day: std::sync::Arc<std::sync::Mutex<Decimal>>,
}

impl Simulator {
    #[must_use]
    pub fn new(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::default()
        }
    }

    fn answer(&self, sale: Uuid, amount: Decimal, sign: Decimal) -> TerminalFuture<'_> {
        let delay = self.delay;
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            let ore = (amount.fract() * Decimal::ONE_HUNDRED).abs().round();
            if ore == Decimal::from(13) {
                Outcome::Declined {
                    reason: "insufficient funds (simulated)".into(),
                }
            } else if ore == Decimal::from(14) {
                Outcome::Cancelled
            } else if ore == Decimal::from(15) {
                Outcome::TimedOut
            } else {
                *self.day.lock().expect("not poisoned") += sign * amount;
                Outcome::Approved {
                    reference: format!("SIM-{}", &sale.simple().to_string()[..8]),
                }
            }
        })
    }
}

impl Terminal for Simulator {
    fn pay(&self, sale: Uuid, amount: Decimal) -> TerminalFuture<'_> {
        self.answer(sale, amount, Decimal::ONE)
    }

    fn refund(&self, _key: String, amount: Decimal) -> TerminalFuture<'_> {
        self.answer(Uuid::nil(), amount, Decimal::NEGATIVE_ONE)
    }

    fn end_of_day(&self) -> DayFuture<'_> {
        let total = std::mem::take(&mut *self.day.lock().expect("not poisoned"));
        Box::pin(async move { Ok(Some(total)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_simulator_answers_by_the_ore() {
        let t = Simulator::default();
        let id = Uuid::nil();
        assert!(matches!(
            t.pay(id, Decimal::new(4990, 2)).await,
            Outcome::Approved { .. }
        ));
        assert!(matches!(
            t.pay(id, Decimal::new(4913, 2)).await,
            Outcome::Declined { .. }
        ));
        assert_eq!(t.pay(id, Decimal::new(4914, 2)).await, Outcome::Cancelled);
        assert_eq!(t.pay(id, Decimal::new(4915, 2)).await, Outcome::TimedOut);
        assert!(matches!(
            t.refund("r".into(), Decimal::new(990, 2)).await,
            Outcome::Approved { .. }
        ));
        // Only what was approved counts toward the day, less the refund.
        assert_eq!(t.end_of_day().await, Ok(Some(Decimal::new(4000, 2))));
        assert_eq!(t.end_of_day().await, Ok(Some(Decimal::ZERO)));
    }
}
