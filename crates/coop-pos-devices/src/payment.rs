//! Card payments behind one trait, [`Driver`]: start a payment and get its outcome, cancel the
//! one running, refund, end the day, and tell what became of the last transaction (after a
//! crash). The bridge ([`crate::bridge`]) runs a driver for the till. Drivers:
//!
//! - [`Simulator`]: for demos and training (the öre decide, as on the till's own simulator).
//! - [`Zvt`]: ZVT over TCP, for the terminals of German-speaking and Nordic acquirers that
//!   speak it (Ingenico, Verifone, CCV, Worldline, Feig).
//!
//! OPI, nexo and the cloud terminals (SumUp, Adyen, Stripe) plug in behind the same trait; see
//! docs/tills.md, "Card terminals".

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::zvt::{bcd, result_text, Apdu, StatusInfo, ACK};

/// What became of a payment (or a refund).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Outcome {
    /// Charged: the terminal's trace and receipt numbers go on the sale.
    Approved { reference: String },
    /// Not charged: the card, the bank or the terminal said no.
    Declined { reason: String },
    /// Not charged: cancelled at the terminal or from the till.
    Cancelled,
    /// Not charged: nobody presented a card before the terminal gave up.
    TimedOut,
    /// Nobody knows yet (the connection broke after the card was read): the bridge finds out
    /// from the terminal before it takes another payment.
    Unknown { reason: String },
}

impl Outcome {
    #[must_use]
    pub fn is_final(&self) -> bool {
        !matches!(self, Outcome::Unknown { .. })
    }
}

/// The terminal's record of a transaction.
pub type Record = StatusInfo;

pub type OutcomeFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;
pub type RecordFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Record>, String>> + Send + 'a>>;
pub type Saved<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Keeps the terminal's word before the terminal is told it was heard: the bridge writes an
/// approval to its journal here, so a crash after it leaves a trace to resolve.
pub trait Recorder: Send + Sync {
    fn approved<'a>(&'a self, record: &'a Record) -> Saved<'a>;
    /// The terminal's receipt for an approved transaction (its print lines), kept for the
    /// till to print. Losing it loses no money: the default forgets it.
    fn slip<'a>(&'a self, lines: &'a [String]) -> Saved<'a> {
        let _ = lines;
        Box::pin(async { Ok(()) })
    }
}

/// A payment terminal.
pub trait Driver: Send + Sync {
    /// Takes `amount` (minor units) for the sale `id`.
    fn pay<'a>(&'a self, id: &'a str, amount: u64, recorder: &'a dyn Recorder)
        -> OutcomeFuture<'a>;
    /// Gives `amount` back to a card (a return).
    fn refund<'a>(
        &'a self,
        id: &'a str,
        amount: u64,
        recorder: &'a dyn Recorder,
    ) -> OutcomeFuture<'a>;
    /// Cancels the payment that is running, if the terminal still can.
    fn cancel(&self);
    /// Ends the day at the terminal (its batch to the acquirer); answers its total.
    fn end_of_day(&self) -> RecordFuture<'_>;
    /// The terminal's record of its last transaction (to resolve an unknown outcome).
    fn last(&self) -> RecordFuture<'_>;
}

/// A terminal for demos and training: an amount ending in 13 öre is declined, 14 cancelled, 15
/// times out; anything else is approved after `delay`. Its day's total is what it approved less
/// what it refunded since the day last ended.
#[derive(Debug, Default)]
pub struct Simulator {
    pub delay: Duration,
    trace: AtomicU64,
    last: std::sync::Mutex<Option<Record>>,
    day: std::sync::Mutex<i128>,
}

impl Simulator {
    #[must_use]
    pub fn new(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::default()
        }
    }

    async fn run(&self, amount: u64, refund: bool, recorder: &dyn Recorder) -> Outcome {
        tokio::time::sleep(self.delay).await;
        let trace = self.trace.fetch_add(1, Ordering::SeqCst) + 1;
        let record = |result| Record {
            result,
            amount: Some(amount),
            trace: Some(trace),
            receipt: Some(trace),
        };
        let outcome = match amount % 100 {
            13 => {
                *self.last.lock().expect("not poisoned") = Some(record(0x05));
                return Outcome::Declined {
                    reason: result_text(0x05).into(),
                };
            }
            14 => Outcome::Cancelled,
            15 => Outcome::TimedOut,
            _ => {
                let r = record(0);
                if let Err(e) = recorder.approved(&r).await {
                    return Outcome::Declined {
                        reason: format!("not recorded: {e}"),
                    };
                }
                let slip = vec![
                    if refund { "REFUND" } else { "CARD PAYMENT" }.to_owned(),
                    format!("AMOUNT {}.{:02}", amount / 100, amount % 100),
                    format!("TRACE {trace}  SIMULATED"),
                    "APPROVED".to_owned(),
                ];
                if let Err(e) = recorder.slip(&slip).await {
                    tracing::warn!(error = %e, "the simulated slip was not kept");
                }
                *self.last.lock().expect("not poisoned") = Some(r);
                let signed = i128::from(amount);
                *self.day.lock().expect("not poisoned") += if refund { -signed } else { signed };
                Outcome::Approved {
                    reference: format!("SIM-{trace}"),
                }
            }
        };
        outcome
    }
}

impl Driver for Simulator {
    fn pay<'a>(
        &'a self,
        _id: &'a str,
        amount: u64,
        recorder: &'a dyn Recorder,
    ) -> OutcomeFuture<'a> {
        Box::pin(self.run(amount, false, recorder))
    }
    fn refund<'a>(
        &'a self,
        _id: &'a str,
        amount: u64,
        recorder: &'a dyn Recorder,
    ) -> OutcomeFuture<'a> {
        Box::pin(self.run(amount, true, recorder))
    }
    fn cancel(&self) {}
    fn end_of_day(&self) -> RecordFuture<'_> {
        let day = std::mem::take(&mut *self.day.lock().expect("not poisoned"));
        let trace = self.trace.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move {
            Ok(Some(Record {
                result: 0,
                // A day whose refunds passed its payments has no total to report.
                amount: u64::try_from(day).ok(),
                trace: Some(trace),
                receipt: None,
            }))
        })
    }
    fn last(&self) -> RecordFuture<'_> {
        let l = self.last.lock().expect("not poisoned").clone();
        Box::pin(async move { Ok(l) })
    }
}

/// ZVT over TCP.
#[derive(Debug)]
pub struct Zvt {
    /// `host:port` (port 20007 by default on most terminals).
    pub address: String,
    /// The terminal's password (six digits, `000000` unless set).
    pub password: u32,
    /// ISO 4217 numeric currency (752 SEK, 978 EUR).
    pub currency: u16,
    /// How long the terminal may take to acknowledge a command.
    pub ack_timeout: Duration,
    /// How long a whole payment may take before the till gives up on it (the outcome is then
    /// unknown and is asked for).
    pub timeout: Duration,
    abort: Notify,
}

impl Zvt {
    #[must_use]
    pub fn new(address: &str, password: u32, currency: u16) -> Self {
        Self {
            address: address.to_owned(),
            password,
            currency,
            ack_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(120),
            abort: Notify::new(),
        }
    }

    async fn connect(&self) -> Result<TcpStream, String> {
        let s = tokio::time::timeout(self.ack_timeout, TcpStream::connect(&self.address))
            .await
            .map_err(|_| format!("{}: no connection", self.address))?
            .map_err(|e| format!("{}: {e}", self.address))?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(s)
    }

    /// Sends a command and waits for the terminal's `80 00 00`.
    async fn command(&self, s: &mut TcpStream, apdu: &Apdu) -> Result<(), String> {
        apdu.write(s).await.map_err(|e| e.to_string())?;
        let answer = tokio::time::timeout(self.ack_timeout, Apdu::read(s))
            .await
            .map_err(|_| "the terminal did not acknowledge".to_owned())?
            .map_err(|e| e.to_string())?;
        if answer.class == 0x80 {
            Ok(())
        } else if answer.class == 0x84 {
            Err(format!(
                "the terminal refused the command ({:02X}: {})",
                answer.instr,
                result_text(answer.instr)
            ))
        } else {
            Err(format!(
                "the terminal answered {:02X} {:02X}",
                answer.class, answer.instr
            ))
        }
    }

    /// Registration (`06 00`): password, config byte `0xBA`, currency. The config byte's bits:
    /// the till prints the payment receipt (`0x02`), sent to it as print lines (`0x80`); the
    /// terminal sends intermediate statuses (`0x08`); the till controls payments (`0x10`) and
    /// administration (`0x20`). Administration receipts (the end of day's) print at the
    /// terminal.
    fn registration(&self) -> Apdu {
        let mut d = bcd(u64::from(self.password), 3);
        d.push(0xba);
        d.extend(bcd(u64::from(self.currency), 2));
        Apdu::new(0x06, 0x00, d)
    }

    /// Runs a command that ends with `06 0F` or `06 1E`, acknowledging what the terminal sends
    /// and keeping an approval (`04 0F` with result `00`) before acknowledging it.
    async fn transaction(&self, command: Apdu, recorder: Option<&dyn Recorder>) -> Outcome {
        let unknown = |reason: String| Outcome::Unknown { reason };
        let mut s = match self.connect().await {
            Ok(s) => s,
            // Nothing was sent: nothing can have been charged.
            Err(e) => {
                return Outcome::Declined {
                    reason: format!("the terminal cannot be reached: {e}"),
                }
            }
        };
        if let Err(e) = self.register(&mut s).await {
            return Outcome::Declined { reason: e };
        }
        if let Err(e) = self.command(&mut s, &command).await {
            // The command may have started at the terminal though its acknowledgement was lost.
            return if e.starts_with("the terminal refused") {
                Outcome::Declined { reason: e }
            } else {
                unknown(e)
            };
        }
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut approved: Option<Record> = None;
        let mut declined: Option<u8> = None;
        let mut aborted = false;
        // The receipt's print lines (06 D1), for the till to print.
        let mut slip: Vec<String> = Vec::new();
        loop {
            let apdu = tokio::select! {
                a = Apdu::read(&mut s) => a,
                () = self.abort.notified(), if !aborted => {
                    aborted = true;
                    // Abort (06 B0): the terminal ends the command with 06 1E 6C if it still can.
                    if Apdu::new(0x06, 0xb0, vec![]).write(&mut s).await.is_err() {
                        return unknown("the connection broke while cancelling".into());
                    }
                    continue;
                }
                () = tokio::time::sleep_until(deadline) => {
                    return unknown("the terminal did not finish in time".into());
                }
            };
            let apdu = match apdu {
                Ok(a) => a,
                Err(e) if approved.is_some() => return unknown(format!("after the approval: {e}")),
                Err(e) => return unknown(e.to_string()),
            };
            // The terminal's acknowledgement of our abort.
            if apdu.class == 0x80 || apdu.class == 0x84 {
                continue;
            }
            if apdu.is(0x04, 0x0f) {
                let info = match StatusInfo::parse(&apdu.data) {
                    Ok(i) => i,
                    Err(e) => {
                        // Not acknowledged: the terminal reverses what it cannot report.
                        tracing::warn!(error = %e, "a status information that does not parse");
                        return unknown(format!("a status information that does not parse: {e}"));
                    }
                };
                if info.result == 0 {
                    if let Some(r) = recorder {
                        if let Err(e) = r.approved(&info).await {
                            // Not acknowledged: the terminal reverses it by itself.
                            return Outcome::Declined {
                                reason: format!("not recorded: {e}"),
                            };
                        }
                    }
                    approved = Some(info);
                } else {
                    declined = Some(info.result);
                }
            } else if apdu.is(0x06, 0x0f) {
                let _ = s.write_all_ack().await;
                return match (approved, declined) {
                    (Some(r), _) => {
                        if let Some(rec) = recorder.filter(|_| !slip.is_empty()) {
                            if let Err(e) = rec.slip(&slip).await {
                                tracing::warn!(error = %e, "the terminal's receipt was not kept");
                            }
                        }
                        Outcome::Approved {
                            reference: reference(&r),
                        }
                    }
                    (None, Some(code)) => Outcome::Declined {
                        reason: result_text(code).into(),
                    },
                    // A completion with no status information at all: nothing says it was paid.
                    // The bridge asks the terminal before the next payment.
                    (None, None) => unknown("the terminal completed without a result".into()),
                };
            } else if apdu.is(0x06, 0x1e) {
                let _ = s.write_all_ack().await;
                let code = apdu.data.first().copied().unwrap_or(0xff);
                return match code {
                    0x6c if aborted => Outcome::Cancelled,
                    0x6c => Outcome::TimedOut,
                    _ => Outcome::Declined {
                        reason: result_text(code).into(),
                    },
                };
            }
            if apdu.is(0x06, 0xd1) {
                if let Some(line) = print_line(&apdu.data) {
                    slip.push(line);
                }
            }
            // 04 FF (intermediate status), 06 D1 (print lines), and the rest: heard.
            if s.write_all_ack().await.is_err() {
                return unknown("the connection broke".into());
            }
        }
    }

    async fn register(&self, s: &mut TcpStream) -> Result<(), String> {
        self.command(s, &self.registration()).await?;
        // The terminal completes the registration with 06 0F (acknowledged).
        loop {
            let a = tokio::time::timeout(self.ack_timeout, Apdu::read(s))
                .await
                .map_err(|_| "the terminal did not complete the registration".to_owned())?
                .map_err(|e| e.to_string())?;
            s.write_all_ack().await.map_err(|e| e.to_string())?;
            if a.is(0x06, 0x0f) {
                return Ok(());
            }
            if a.is(0x06, 0x1e) {
                return Err(format!(
                    "the terminal refused the registration: {}",
                    result_text(a.data.first().copied().unwrap_or(0xff))
                ));
            }
        }
    }

    /// Asks for the status information of the last transaction (`06 20`, repeat receipt). Its
    /// service byte (BMP 03) asks for the status information (`0x01`) and for no receipt to be
    /// printed anywhere (`0x02`).
    async fn ask_last(&self) -> Result<Option<Record>, String> {
        let mut s = self.connect().await?;
        self.register(&mut s).await?;
        let mut d = bcd(u64::from(self.password), 3);
        d.extend([0x03, 0x03]);
        self.command(&mut s, &Apdu::new(0x06, 0x20, d)).await?;
        let mut last = None;
        loop {
            let a = tokio::time::timeout(self.timeout, Apdu::read(&mut s))
                .await
                .map_err(|_| "no answer to the repeat".to_owned())?
                .map_err(|e| e.to_string())?;
            s.write_all_ack().await.map_err(|e| e.to_string())?;
            if a.is(0x04, 0x0f) {
                last = Some(StatusInfo::parse(&a.data).map_err(|e| e.to_string())?);
            } else if a.is(0x06, 0x0f) || a.is(0x06, 0x1e) {
                return Ok(last);
            }
        }
    }
}

/// Code page 437's characters for 0x80 to 0xFF (ZVT's character set).
const CP437_HIGH: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', //
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ', //
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»', //
    '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐', //
    '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧', //
    '╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀', //
    'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩', //
    '≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', '\u{a0}',
];

/// A print line's text (`06 D1`: an attribute byte, then the text in code page 437). An
/// attribute with its top bit set is a control (a line feed, the receipt's end), not text.
/// Control bytes become spaces; what the printer's PC858 lacks prints as `?` there.
fn print_line(data: &[u8]) -> Option<String> {
    let (&attribute, text) = data.split_first()?;
    if attribute & 0x80 != 0 {
        return None;
    }
    Some(
        text.iter()
            .map(|&b| match b {
                0x20..=0x7e => char::from(b),
                0x80..=0xff => CP437_HIGH[usize::from(b - 0x80)],
                _ => ' ',
            })
            .collect(),
    )
}

fn reference(r: &Record) -> String {
    match (r.trace, r.receipt) {
        (Some(t), Some(rc)) => format!("trace {t}, receipt {rc}"),
        (Some(t), None) => format!("trace {t}"),
        (None, Some(rc)) => format!("receipt {rc}"),
        (None, None) => String::new(),
    }
}

trait AckExt {
    async fn write_all_ack(&mut self) -> std::io::Result<()>;
}

impl AckExt for TcpStream {
    async fn write_all_ack(&mut self) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt as _;
        self.write_all(&ACK).await
    }
}

impl Driver for Zvt {
    fn pay<'a>(
        &'a self,
        _id: &'a str,
        amount: u64,
        recorder: &'a dyn Recorder,
    ) -> OutcomeFuture<'a> {
        // Authorization (06 01): the amount, the currency.
        let mut d = vec![0x04];
        d.extend(bcd(amount, 6));
        d.push(0x49);
        d.extend(bcd(u64::from(self.currency), 2));
        Box::pin(self.transaction(Apdu::new(0x06, 0x01, d), Some(recorder)))
    }

    fn refund<'a>(
        &'a self,
        _id: &'a str,
        amount: u64,
        recorder: &'a dyn Recorder,
    ) -> OutcomeFuture<'a> {
        // Refund (06 31): the password, the amount, the currency.
        let mut d = bcd(u64::from(self.password), 3);
        d.push(0x04);
        d.extend(bcd(amount, 6));
        d.push(0x49);
        d.extend(bcd(u64::from(self.currency), 2));
        Box::pin(self.transaction(Apdu::new(0x06, 0x31, d), Some(recorder)))
    }

    fn cancel(&self) {
        self.abort.notify_one();
    }

    fn end_of_day(&self) -> RecordFuture<'_> {
        Box::pin(async move {
            struct Keep(std::sync::Mutex<Option<Record>>);
            impl Recorder for Keep {
                fn approved<'a>(&'a self, r: &'a Record) -> Saved<'a> {
                    *self.0.lock().expect("not poisoned") = Some(r.clone());
                    Box::pin(async { Ok(()) })
                }
            }
            let keep = Keep(std::sync::Mutex::new(None));
            let d = bcd(u64::from(self.password), 3);
            match self
                .transaction(Apdu::new(0x06, 0x50, d), Some(&keep))
                .await
            {
                Outcome::Approved { .. } => Ok(keep.0.lock().expect("not poisoned").clone()),
                other => Err(format!("end of day: {other:?}")),
            }
        })
    }

    fn last(&self) -> RecordFuture<'_> {
        Box::pin(self.ask_last())
    }
}

#[cfg(test)]
mod tests {
    use super::print_line;

    #[test]
    fn print_lines_are_code_page_437() {
        // ö, Ö, ¢ and ¥ (where PC858 has ø and Ø), ß; a control byte as a space.
        assert_eq!(
            print_line(&[0x00, b'K', 0x94, 0x99, 0x9b, 0x9d, 0xe1, 0x07, b'!']).as_deref(),
            Some("KöÖ¢¥ß !")
        );
        // An attribute with the top bit set is not text.
        assert_eq!(print_line(&[0xff]), None);
        assert_eq!(print_line(&[]), None);
    }
}
