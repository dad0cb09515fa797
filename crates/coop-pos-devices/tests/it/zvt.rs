//! The ZVT driver against a simulated terminal that speaks the terminal's side of the protocol
//! (`coop_pos_devices::zvt_terminal`): approve, decline, the terminal's timeout, a cancel from
//! the till, a refund, the end of the day, and a status information that does not parse.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use coop_pos_devices::payment::{Driver, Outcome, Record, Recorder, Saved, Zvt};
use coop_pos_devices::zvt_terminal::{start, Terminal};

/// Keeps what the driver records.
#[derive(Default)]
pub struct Kept(pub Mutex<Vec<Record>>, pub Mutex<Vec<Vec<String>>>);

impl Recorder for Kept {
    fn approved<'a>(&'a self, r: &'a Record) -> Saved<'a> {
        self.0.lock().unwrap().push(r.clone());
        Box::pin(async { Ok(()) })
    }
    fn slip<'a>(&'a self, lines: &'a [String]) -> Saved<'a> {
        self.1.lock().unwrap().push(lines.to_vec());
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn approve_decline_timeout_and_cancel() {
    let (terminal, address) = start(Terminal::default()).await.unwrap();
    let zvt = Zvt::new(&address, 0, 752);
    let kept = Kept::default();

    let t = Instant::now();
    let approved = zvt.pay("s-1", 13880, &kept).await;
    let took = t.elapsed();
    assert_eq!(
        approved,
        Outcome::Approved {
            reference: "trace 1, receipt 1".into()
        }
    );
    assert_eq!(
        kept.0.lock().unwrap()[0].amount,
        Some(13880),
        "kept before it was acknowledged"
    );
    eprintln!("card to approved with the simulated terminal: {took:?}");

    assert_eq!(
        zvt.pay("s-2", 1013, &kept).await,
        Outcome::Declined {
            reason: "declined by the card issuer".into()
        }
    );
    // Nobody presents a card: the terminal gives up (06 1E 6C).
    assert_eq!(zvt.pay("s-3", 1015, &kept).await, Outcome::TimedOut);
    // The cashier cancels while the terminal waits for the card.
    let mut slow = Terminal::default();
    slow.card_delay = Duration::from_secs(5);
    let (_slow, slow_address) = start(slow).await.unwrap();
    let zvt_slow = std::sync::Arc::new(Zvt::new(&slow_address, 0, 752));
    let z = zvt_slow.clone();
    let paying = tokio::spawn(async move { z.pay("s-4", 5000, &Kept::default()).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    zvt_slow.cancel();
    assert_eq!(paying.await.unwrap(), Outcome::Cancelled);
    // One charge in all, not reversed.
    let charges = terminal.charges();
    assert_eq!(charges.len(), 1);
    assert!(!charges[0].reversed);
}

#[tokio::test]
async fn refund_end_of_day_and_a_message_that_does_not_parse() {
    let (terminal, address) = start(Terminal::default()).await.unwrap();
    let zvt = Zvt::new(&address, 0, 752);
    let kept = Kept::default();
    assert!(matches!(
        zvt.pay("s-1", 10000, &kept).await,
        Outcome::Approved { .. }
    ));
    assert!(matches!(
        zvt.pay("s-2", 2550, &kept).await,
        Outcome::Approved { .. }
    ));
    assert!(matches!(
        zvt.refund("r-1", 550, &kept).await,
        Outcome::Approved { .. }
    ));
    // Each approval's receipt came as print lines, in code page 437 (ö and ä), the receipt's
    // end (an attribute, no text) left out.
    let slips = kept.1.lock().unwrap().clone();
    assert_eq!(slips.len(), 3);
    assert_eq!(
        slips[0],
        ["KORTKÖP", "BELOPP 100.00", "TRACE 1", "GODKÄND"].map(String::from)
    );
    assert_eq!(slips[2][0], "KORTRETUR");
    let eod = zvt.end_of_day().await.unwrap().unwrap();
    assert_eq!(
        eod.amount,
        Some(12000),
        "the day's payments less its refund"
    );
    // A status information with a field the driver cannot read: not acknowledged, so the
    // terminal reverses it; the outcome is unknown until asked.
    let garbled = zvt.pay("s-3", 1016, &kept).await;
    assert!(matches!(garbled, Outcome::Unknown { .. }), "{garbled:?}");
    assert_eq!(terminal.charges().len(), 3);
}

#[tokio::test]
async fn a_terminal_that_is_not_there_charges_nothing() {
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = gone.local_addr().unwrap().to_string();
    drop(gone);
    let zvt = Zvt::new(&address, 0, 752);
    assert!(matches!(
        zvt.pay("s-1", 1000, &Kept::default()).await,
        Outcome::Declined { .. }
    ));
}
