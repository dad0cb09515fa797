//! The card terminal, behind a trait: the till asks it to take an amount and gets a clear
//! outcome. A simulator drives it now; real protocols (ZVT over TCP, OPI, nexo, cloud terminals)
//! plug in behind the same trait with the hardware issue, as does the recovery of an outcome
//! that a crash left unknown.

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
}

/// A terminal for training, demos and tests. The öre decide: an amount ending in .13 is
/// declined, .14 is cancelled, .15 times out; anything else is approved after `delay`.
#[derive(Debug, Clone, Default)]
pub struct Simulator {
    pub delay: Duration,
}

impl Terminal for Simulator {
    fn pay(&self, sale: Uuid, amount: Decimal) -> TerminalFuture<'_> {
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
                Outcome::Approved {
                    reference: format!("SIM-{}", &sale.simple().to_string()[..8]),
                }
            }
        })
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
    }
}
