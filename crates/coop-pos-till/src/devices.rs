//! The till's devices, from its config: the receipt printer and the cash drawer behind it, the
//! scale, and the card terminal through the payment bridge (crate `coop-pos-devices`). A device
//! that fails never stops a sale: the sale is stored first, the problem is shown on the till's
//! screen until the device works again, and the receipt can be printed again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use coop_pos_devices::escpos::{encode, Op};
use coop_pos_devices::printer::{PrintError, Printer, PrinterConfig};
use coop_pos_devices::scale::{Scale, ScaleConfig};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `devices` section of till.json.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevicesConfig {
    /// The receipt printer; none: receipts on screen only.
    pub printer: Option<PrinterConfig>,
    /// Characters a line: 42 on 80 mm paper (the default), 32 on 58 mm.
    pub paper_width: Option<usize>,
    /// A cash drawer on the printer's drawer port: opened on a cash tender and a manager's
    /// "no sale".
    pub drawer: bool,
    /// The drawer on the port's pin 5 instead of pin 2.
    pub drawer_pin5: bool,
    /// The receipt number as a QR code instead of a CODE128 barcode.
    pub receipt_qr: bool,
    /// The scale; none: weights are typed.
    pub scale: Option<ScaleConfig>,
    /// The payment bridge (`coop-pos bridge`), e.g. `http://127.0.0.1:8190`; none: the card
    /// terminal is simulated (training).
    pub bridge_url: Option<String>,
    /// A file with the bridge's token, for a bridge on another device (`token_file` there).
    pub bridge_token_file: Option<std::path::PathBuf>,
    /// Whether closing a shift ends the card terminal's day. By default only when the bridge
    /// is this till's own (on loopback) or there is none (the simulator): a terminal that
    /// several tills share is ended by one device, not by each till's close.
    pub terminal_day_at_close: Option<bool>,
    /// A pole display (two lines of twenty, Epson DM-D commands) on a serial line.
    pub pole: Option<coop_pos_devices::pole::PoleConfig>,
    /// Where a second screen reaches the customer display (`/display` only), e.g.
    /// `0.0.0.0:8181`; none: only on the till's own address.
    pub display_listen: Option<String>,
}

impl DevicesConfig {
    /// # Errors
    /// What is wrong, naming the key.
    pub fn check(&self) -> anyhow::Result<()> {
        if let Some(w) = self.paper_width {
            anyhow::ensure!(
                (24..=64).contains(&w),
                "till.json: devices.paper_width is 24 to 64 characters (42 on 80 mm paper, 32 on 58 mm)"
            );
        }
        anyhow::ensure!(
            !self.drawer || self.printer.is_some(),
            "till.json: devices.drawer opens through the printer: set devices.printer too"
        );
        if let Some(url) = &self.bridge_url {
            let u = reqwest::Url::parse(url)
                .map_err(|e| anyhow::anyhow!("till.json: devices.bridge_url `{url}`: {e}"))?;
            anyhow::ensure!(
                matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && u.query().is_none(),
                "till.json: devices.bridge_url is the bridge's http address, like http://127.0.0.1:8190"
            );
        }
        if let Some(p) = &self.pole {
            anyhow::ensure!(
                p.path.is_absolute(),
                "till.json: devices.pole.path is the display's serial device, like /dev/ttyUSB0"
            );
            anyhow::ensure!(
                [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200].contains(&p.baud),
                "till.json: devices.pole.baud is a serial speed (9600 on most displays)"
            );
        }
        if let Some(l) = &self.display_listen {
            anyhow::ensure!(
                l.parse::<std::net::SocketAddr>().is_ok(),
                "till.json: devices.display_listen is an address and port, like 0.0.0.0:8181"
            );
        }
        if let Some(PrinterConfig::Network { address }) = &self.printer {
            anyhow::ensure!(
                address
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()),
                "till.json: devices.printer.address is host:port, like 192.168.1.60:9100"
            );
        }
        Ok(())
    }
}

/// The devices, as the till's pages use them.
pub struct Devices {
    pub printer: Option<Printer>,
    pub width: usize,
    pub drawer: bool,
    pub drawer_pin5: bool,
    pub qr: bool,
    pub scale: Option<Arc<dyn Scale>>,
    pub pole: Option<Arc<coop_pos_devices::pole::Pole>>,
    /// Closing a shift ends the card terminal's day.
    pub terminal_day: bool,
    /// The last device problem, shown on every screen until the device works again.
    problem: Mutex<Option<String>>,
}

impl std::fmt::Debug for Devices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devices")
            .field("printer", &self.printer)
            .finish_non_exhaustive()
    }
}

impl Devices {
    #[must_use]
    pub fn new(c: &DevicesConfig) -> Self {
        Self {
            printer: c.printer.clone().map(Printer::new),
            width: c.paper_width.unwrap_or(42),
            drawer: c.drawer,
            drawer_pin5: c.drawer_pin5,
            qr: c.receipt_qr,
            scale: c.scale.as_ref().map(|s| -> Arc<dyn Scale> {
                match s {
                    ScaleConfig::Toledo8217 { path, baud } => Arc::new(
                        coop_pos_devices::scale::Toledo8217::new(path.clone(), *baud),
                    ),
                    ScaleConfig::Simulator => {
                        Arc::new(coop_pos_devices::scale::Simulator::default())
                    }
                }
            }),
            pole: c
                .pole
                .clone()
                .map(|p| Arc::new(coop_pos_devices::pole::Pole::new(p))),
            terminal_day: c.terminal_day_at_close.unwrap_or_else(|| {
                c.bridge_url.as_deref().is_none_or(|u| {
                    reqwest::Url::parse(u)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_owned))
                        .is_some_and(|h| {
                            h == "localhost"
                                || h == "[::1]"
                                || h.parse::<std::net::Ipv4Addr>()
                                    .is_ok_and(|a| a.is_loopback())
                        })
                })
            }),
            problem: Mutex::new(None),
        }
    }

    /// No devices (tests, and a till that has none).
    #[must_use]
    pub fn none() -> Self {
        Self::new(&DevicesConfig::default())
    }

    /// The problem to show, if any.
    #[must_use]
    pub fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_problem(&self, p: Option<String>) {
        *self
            .problem
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = p;
    }

    /// Prints a job (a receipt, a report, a drawer pulse). Without a printer, nothing to do.
    ///
    /// # Errors
    /// Why it did not print; the problem is kept for the screen too.
    pub async fn print(&self, ops: &[Op]) -> Result<(), PrintError> {
        let Some(p) = &self.printer else {
            return Ok(());
        };
        match p.print(&encode(ops)).await {
            Ok(status) => {
                self.set_problem(status.paper_low.then(|| "paper_low".to_owned()));
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, "the receipt printer");
                self.set_problem(Some(problem_key(&e).to_owned()));
                Err(e)
            }
        }
    }
}

/// The translation key's tail of a printer problem (`till-printer-<it>`).
#[must_use]
pub fn problem_key(e: &PrintError) -> &'static str {
    match e {
        PrintError::PaperOut => "paper_out",
        PrintError::CoverOpen => "cover_open",
        PrintError::Offline => "offline",
        PrintError::NoAnswer(_) => "no_answer",
        PrintError::Lost(_) => "lost",
    }
}

/// The card terminal through the payment bridge: the basket's id is the payment's, so a till
/// that asks again after a crash or a lost answer gets the same payment, never a second charge.
#[derive(Clone)]
pub struct BridgeTerminal {
    client: reqwest::Client,
    base: String,
    /// The bridge's token, sent as a bearer token, if it has one.
    token: Option<String>,
    /// The currency's decimals (the bridge takes minor units).
    minor: u32,
    /// How long the till waits for the customer at the terminal.
    pub wait: Duration,
}

impl std::fmt::Debug for BridgeTerminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("BridgeTerminal")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

impl BridgeTerminal {
    /// # Panics
    /// Never: the client's settings are fixed.
    #[must_use]
    pub fn new(base: &str, minor: u32, token: Option<String>) -> Self {
        Self {
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client"),
            base: base.trim_end_matches('/').to_owned(),
            token,
            minor,
            wait: Duration::from_secs(150),
        }
    }

    async fn run(&self, path: &str, id: String, amount: Decimal) -> crate::terminal::Outcome {
        use crate::terminal::Outcome;
        use rust_decimal::prelude::ToPrimitive as _;
        let Some(minor) = (amount * Decimal::from(10u64.pow(self.minor)))
            .round()
            .to_i64()
        else {
            return Outcome::Declined {
                reason: "an amount the terminal cannot take".into(),
            };
        };
        let auth = |r: reqwest::RequestBuilder| match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        };
        let started = auth(self.client.post(format!("{}/{path}", self.base)))
            .json(&serde_json::json!({ "id": id, "amount": minor }))
            .send()
            .await;
        match started {
            Ok(r) if r.status().is_success() => {}
            Ok(r) if r.status().as_u16() == 409 => {
                return Outcome::Declined {
                    reason:
                        "a card payment of another amount is open for this basket: ask the bridge"
                            .into(),
                }
            }
            Ok(r) if r.status().as_u16() == 401 => {
                return Outcome::Declined {
                    reason: "the payment bridge refused the till's token: check bridge_token_file"
                        .into(),
                }
            }
            Ok(r) if r.status().as_u16() == 503 => {
                return Outcome::Declined {
                    reason: "the terminal is finishing an earlier payment: try again in a moment"
                        .into(),
                }
            }
            Ok(r) => {
                return Outcome::Declined {
                    reason: format!("the payment bridge answered {}", r.status()),
                }
            }
            // Nothing reached the bridge: nothing was charged.
            Err(e) if e.is_connect() => {
                return Outcome::Declined {
                    reason: "the payment bridge is not running".into(),
                }
            }
            // The request may have reached it: ask below.
            Err(_) => {}
        }
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            let state: Option<serde_json::Value> =
                match auth(self.client.get(format!("{}/payments/{id}", self.base)))
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => r.json().await.ok(),
                    _ => None,
                };
            if let Some(s) = state {
                match s["state"].as_str() {
                    Some("approved") => {
                        return Outcome::Approved {
                            reference: s["reference"].as_str().unwrap_or_default().to_owned(),
                        }
                    }
                    Some("declined") => {
                        return Outcome::Declined {
                            reason: s["reason"].as_str().unwrap_or_default().to_owned(),
                        }
                    }
                    Some("cancelled") => return Outcome::Cancelled,
                    Some("timed_out") => {
                        return Outcome::Declined {
                            reason: "no card was presented in time".into(),
                        }
                    }
                    // Pending, or unknown (the bridge resolves it): wait.
                    _ => {}
                }
            }
            if tokio::time::Instant::now() >= deadline {
                // The outcome is not known: the sale is not recorded as paid; asking again for
                // the same basket gets this payment's outcome.
                return Outcome::TimedOut;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl crate::terminal::Terminal for BridgeTerminal {
    fn pay(&self, sale: Uuid, amount: Decimal) -> crate::terminal::TerminalFuture<'_> {
        Box::pin(self.run("payments", sale.to_string(), amount))
    }

    fn refund(&self, key: String, amount: Decimal) -> crate::terminal::TerminalFuture<'_> {
        Box::pin(self.run("refunds", key, amount))
    }

    fn slip(&self, key: String) -> crate::terminal::SlipFuture<'_> {
        Box::pin(async move {
            let mut r = self.client.get(format!("{}/payments/{key}", self.base));
            if let Some(t) = &self.token {
                r = r.bearer_auth(t);
            }
            let Ok(r) = r.send().await else {
                return Vec::new();
            };
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            body["slip"]
                .as_array()
                .map(|l| {
                    l.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    fn end_of_day(&self) -> crate::terminal::DayFuture<'_> {
        Box::pin(async move {
            let mut r = self
                .client
                .post(format!("{}/end-of-day", self.base))
                .json(&serde_json::json!({}))
                // A terminal's batch to its acquirer can take minutes.
                .timeout(Duration::from_secs(300));
            if let Some(t) = &self.token {
                r = r.bearer_auth(t);
            }
            let r = r.send().await.map_err(|e| {
                if e.is_connect() {
                    "the payment bridge is not running".to_owned()
                } else {
                    "the payment bridge did not answer".to_owned()
                }
            })?;
            let status = r.status();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            if !status.is_success() {
                return Err(match body["message"].as_str() {
                    Some(m) => format!("the terminal: {m}"),
                    None => format!("the payment bridge answered {status}"),
                });
            }
            Ok(body["total"].as_i64().map(|t| Decimal::new(t, self.minor)))
        })
    }
}
