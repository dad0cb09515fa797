//! The terminal's side of ZVT, simulated: for the bridge's tests and for trying a till without
//! a terminal. It registers, takes payments, refunds, repeats its last transaction and ends the
//! day, and behaves as a terminal does when the till fails it: an approval the till does not
//! acknowledge is reversed.
//!
//! The öre of an amount choose what the card does: 13 declined (`04 0F` with result 05), 15 no
//! card until the terminal gives up (`06 1E 6C`), 16 a status information that does not parse;
//! anything else is approved after `card_delay`. A `06 B0` while waiting for the card ends the
//! payment with `06 1E 6C`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use crate::zvt::{bmps, field, from_bcd, Apdu, StatusInfo, ACK};

/// One charge the terminal made, and whether it was reversed since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub amount: u64,
    pub trace: u64,
    pub refund: bool,
    pub reversed: bool,
}

#[derive(Debug, Default)]
struct Inner {
    trace: u64,
    charges: Vec<Charge>,
    last: Option<StatusInfo>,
    /// Receipts the till asked to be printed again (`06 20` without "print nothing").
    reprints: u32,
    /// Ends of day (`06 50`) done.
    days: u32,
    /// The first charge of the day not yet ended.
    day_start: usize,
}

/// The simulated terminal.
#[derive(Debug)]
pub struct Terminal {
    /// How long a card takes to be read and approved.
    pub card_delay: Duration,
    /// How long the terminal waits for a card before it gives up.
    pub card_timeout: Duration,
    /// How long it waits for the till's acknowledgement of an approval before reversing it.
    pub reverse_after: Duration,
    /// A pause between the acknowledged approval and the completion (`06 0F`).
    pub hold_completion: Duration,
    inner: Mutex<Inner>,
}

impl Default for Terminal {
    fn default() -> Self {
        Self {
            card_delay: Duration::from_millis(50),
            card_timeout: Duration::from_millis(300),
            reverse_after: Duration::from_secs(1),
            hold_completion: Duration::ZERO,
            inner: Mutex::default(),
        }
    }
}

async fn send(s: &mut TcpStream, a: Apdu) -> std::io::Result<()> {
    a.write(s)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Waits for the till's `80 00 00`, for at most `within`.
async fn acked(s: &mut TcpStream, within: Duration) -> bool {
    matches!(
        tokio::time::timeout(within, Apdu::read(s)).await,
        Ok(Ok(a)) if a.class == 0x80
    )
}

impl Terminal {
    /// How many times the terminal's day was ended.
    #[must_use]
    pub fn days_ended(&self) -> u32 {
        self.inner.lock().expect("not poisoned").days
    }

    /// How many times the till asked for a receipt to be printed again.
    #[must_use]
    pub fn reprints(&self) -> u32 {
        self.inner.lock().expect("not poisoned").reprints
    }

    /// The charges made, reversed ones marked.
    #[must_use]
    pub fn charges(&self) -> Vec<Charge> {
        self.inner.lock().expect("not poisoned").charges.clone()
    }

    /// Listens on `listener` until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                continue;
            };
            // A terminal answers each message at once (no Nagle delay on its small APDUs).
            let _ = s.set_nodelay(true);
            let me = self.clone();
            tokio::spawn(async move {
                let _ = me.conversation(s).await;
            });
        }
    }

    async fn conversation(&self, mut s: TcpStream) -> std::io::Result<()> {
        loop {
            let Ok(a) = Apdu::read(&mut s).await else {
                return Ok(());
            };
            match (a.class, a.instr) {
                (0x06, 0x00) => {
                    s.write_all_bytes(&ACK).await?;
                    send(&mut s, Apdu::new(0x06, 0x0f, vec![0x19, 0x00])).await?;
                    acked(&mut s, Duration::from_secs(5)).await;
                }
                (0x06, 0x01 | 0x31) => {
                    let refund = a.instr == 0x31;
                    // A refund's data starts with the password (3 bytes).
                    let fields = if refund {
                        &a.data[3.min(a.data.len())..]
                    } else {
                        &a.data[..]
                    };
                    let amount = bmps(fields)
                        .ok()
                        .and_then(|f| field(&f, 0x04).and_then(from_bcd))
                        .unwrap_or(0);
                    s.write_all_bytes(&ACK).await?;
                    self.payment(&mut s, amount, refund).await?;
                }
                (0x06, 0x20) => {
                    s.write_all_bytes(&ACK).await?;
                    // The service byte (BMP 03 after the password): 0x02 prints nothing.
                    let quiet = a.data.get(3) == Some(&0x03)
                        && a.data.get(4).is_some_and(|b| b & 0x02 != 0);
                    if !quiet {
                        self.inner.lock().expect("not poisoned").reprints += 1;
                    }
                    let last = self.inner.lock().expect("not poisoned").last.clone();
                    if let Some(l) = last {
                        send(&mut s, Apdu::new(0x04, 0x0f, l.encode())).await?;
                        acked(&mut s, Duration::from_secs(5)).await;
                    }
                    send(&mut s, Apdu::new(0x06, 0x0f, vec![])).await?;
                    acked(&mut s, Duration::from_secs(5)).await;
                }
                (0x06, 0x50) => {
                    s.write_all_bytes(&ACK).await?;
                    let total: u64 = {
                        let mut i = self.inner.lock().expect("not poisoned");
                        i.days += 1;
                        // Payments less refunds since the day last ended, as the day's batch.
                        let day = &i.charges[i.day_start..];
                        let paid: u64 = day
                            .iter()
                            .filter(|c| !c.reversed && !c.refund)
                            .map(|c| c.amount)
                            .sum();
                        let refunded: u64 = day
                            .iter()
                            .filter(|c| !c.reversed && c.refund)
                            .map(|c| c.amount)
                            .sum();
                        i.day_start = i.charges.len();
                        paid.saturating_sub(refunded)
                    };
                    let info = StatusInfo {
                        result: 0,
                        amount: Some(total),
                        trace: None,
                        receipt: None,
                    };
                    send(&mut s, Apdu::new(0x04, 0x0f, info.encode())).await?;
                    acked(&mut s, Duration::from_secs(5)).await;
                    send(&mut s, Apdu::new(0x06, 0x0f, vec![])).await?;
                    acked(&mut s, Duration::from_secs(5)).await;
                }
                (0x06, 0xb0) | (0x80, _) => {
                    if a.class == 0x06 {
                        s.write_all_bytes(&ACK).await?;
                    }
                }
                _ => s.write_all_bytes(&[0x84, 0x83, 0x00]).await?,
            }
        }
    }

    async fn payment(&self, s: &mut TcpStream, amount: u64, refund: bool) -> std::io::Result<()> {
        // "Insert card".
        send(s, Apdu::new(0x04, 0xff, vec![0x0a])).await?;
        acked(s, Duration::from_secs(5)).await;
        let wait = if amount % 100 == 15 {
            self.card_timeout
        } else {
            self.card_delay
        };
        // While waiting for the card the till may abort (06 B0).
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            a = Apdu::read(s) => {
                if matches!(a, Ok(ref a) if a.is(0x06, 0xb0)) {
                    s.write_all_bytes(&ACK).await?;
                    send(s, Apdu::new(0x06, 0x1e, vec![0x6c])).await?;
                    acked(s, Duration::from_secs(5)).await;
                }
                return Ok(());
            }
        }
        match amount % 100 {
            15 => {
                send(s, Apdu::new(0x06, 0x1e, vec![0x6c])).await?;
                acked(s, Duration::from_secs(5)).await;
                return Ok(());
            }
            13 => {
                let info = StatusInfo {
                    result: 0x05,
                    amount: Some(amount),
                    trace: None,
                    receipt: None,
                };
                self.inner.lock().expect("not poisoned").last = Some(info.clone());
                send(s, Apdu::new(0x04, 0x0f, info.encode())).await?;
                acked(s, Duration::from_secs(5)).await;
                send(s, Apdu::new(0x06, 0x0f, vec![])).await?;
                acked(s, Duration::from_secs(5)).await;
                return Ok(());
            }
            16 => {
                // A field the till cannot read.
                send(s, Apdu::new(0x04, 0x0f, vec![0x27, 0x00, 0x7f, 0x01])).await?;
                acked(s, Duration::from_secs(1)).await;
                return Ok(());
            }
            _ => {}
        }
        let info = {
            let mut i = self.inner.lock().expect("not poisoned");
            i.trace += 1;
            let info = StatusInfo {
                result: 0,
                amount: Some(amount),
                trace: Some(i.trace),
                receipt: Some(i.trace),
            };
            let trace = i.trace;
            i.charges.push(Charge {
                amount,
                trace,
                refund,
                reversed: false,
            });
            i.last = Some(info.clone());
            info
        };
        let reached = send(s, Apdu::new(0x04, 0x0f, info.encode())).await.is_ok()
            && acked(s, self.reverse_after).await;
        if !reached {
            // Not acknowledged: the terminal reverses the payment (auto-reversal); the last
            // transaction now reads "already reversed".
            let mut i = self.inner.lock().expect("not poisoned");
            if let Some(c) = i
                .charges
                .iter_mut()
                .find(|c| c.trace == info.trace.unwrap_or(0))
            {
                c.reversed = true;
            }
            i.last = Some(StatusInfo {
                result: 0xb4,
                ..info
            });
            return Ok(());
        }
        // The payment receipt, as print lines (the till registered with 0x80): code page 437,
        // where 0x99 is Ö and 0x8E is Ä.
        let mut lines: Vec<Vec<u8>> = vec![
            if refund {
                b"\x00KORTRETUR".to_vec()
            } else {
                b"\x00KORTK\x99P".to_vec()
            },
            format!("\0BELOPP {}.{:02}", amount / 100, amount % 100).into_bytes(),
            format!("\0TRACE {}", info.trace.unwrap_or(0)).into_bytes(),
            b"\x00GODK\x8eND".to_vec(),
        ];
        // The receipt's end (an attribute with the top bit set: no text).
        lines.push(vec![0xff]);
        for l in lines {
            send(s, Apdu::new(0x06, 0xd1, l)).await?;
            acked(s, Duration::from_secs(5)).await;
        }
        tokio::time::sleep(self.hold_completion).await;
        send(s, Apdu::new(0x06, 0x0f, vec![0x27, 0x00])).await?;
        acked(s, Duration::from_secs(5)).await;
        Ok(())
    }
}

trait WriteBytes {
    async fn write_all_bytes(&mut self, b: &[u8]) -> std::io::Result<()>;
}

impl WriteBytes for TcpStream {
    async fn write_all_bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt as _;
        self.write_all(b).await
    }
}

/// Starts a simulated terminal on a free loopback port; answers it and its address.
///
/// # Errors
/// No port.
pub async fn start(t: Terminal) -> std::io::Result<(Arc<Terminal>, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    let t = Arc::new(t);
    tokio::spawn(t.clone().serve(listener));
    Ok((t, address))
}
