//! The checkout scale. [`Scale`] is what the till asks; [`Toledo8217`] speaks the Mettler Toledo
//! 8217 protocol over a serial line, the one most POS scales offer (Mettler Toledo Ariva, Viva
//! and Diva, Datalogic Magellan scanner-scales, Ohaus, Brecknell, CAS in its "8217" mode);
//! [`Simulator`] stands in for demos and training. [`weigh`] takes a weight only when the scale
//! says it is stable, subtracts the tare, and refuses a net weight of zero or less.
//!
//! The 8217 protocol (docs/tills.md has the whole of it): 9600 baud, 7 data bits, even parity, 1
//! stop bit. The till sends `W` (no line end); the scale answers `STX <weight> CR`, the weight
//! with three decimals in kilograms (two in pounds), `N` after it for a net weight; or
//! `STX ? <status> CR` when it has no weight to give, the status a character whose bits say
//! why: 0 in motion, 1 over capacity, 2 under zero, 3 outside the zero range, 4 centre of zero,
//! 5 net, 6 always set. At least 200 ms between commands.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// What the scale says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reading", rename_all = "snake_case")]
pub enum Reading {
    /// A weight at rest, in kilograms (the tare the scale itself took already off when `net`).
    Stable {
        kg: Decimal,
        net: bool,
    },
    /// Still moving.
    Motion,
    OverCapacity,
    UnderZero,
    /// No weight for another reason the status byte gives.
    NoWeight {
        status: u8,
    },
}

/// Why the scale gave no reading at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScaleError {
    #[error("the scale does not answer ({0})")]
    NoAnswer(String),
    #[error("the scale's answer makes no sense: {0:?}")]
    Garbled(String),
    #[error("the scale weighs in pounds: set it to kilograms (three decimals)")]
    Pounds,
}

pub type ScaleFuture<'a> = Pin<Box<dyn Future<Output = Result<Reading, ScaleError>> + Send + 'a>>;

/// A scale the till reads.
pub trait Scale: Send + Sync {
    fn read(&self) -> ScaleFuture<'_>;
}

/// Where the scale is, in the till's config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScaleConfig {
    /// A Mettler Toledo 8217 scale on a serial line (7E1).
    Toledo8217 {
        path: PathBuf,
        #[serde(default = "default_baud")]
        baud: u32,
    },
    /// No scale: weights typed or simulated (training).
    Simulator,
}

fn default_baud() -> u32 {
    9600
}

/// Reads one answer of the 8217 protocol (`STX … CR`) out of `raw`.
///
/// # Errors
/// An answer that is not one.
pub fn parse_8217(raw: &[u8]) -> Result<Reading, ScaleError> {
    let text = String::from_utf8_lossy(raw).into_owned();
    let garbled = || ScaleError::Garbled(text.clone());
    // Bytes before the STX (line noise) are skipped; the answer ends at CR.
    let start = raw.iter().position(|b| *b == 0x02).ok_or_else(garbled)?;
    let body = &raw[start + 1..];
    let end = body.iter().position(|b| *b == b'\r').ok_or_else(garbled)?;
    let body = std::str::from_utf8(&body[..end]).map_err(|_| garbled())?;
    let body = body.trim_start();
    if let Some(status) = body.strip_prefix('?') {
        let s = status.bytes().next().ok_or_else(garbled)? & 0x7f;
        if s & 0x40 == 0 || status.len() != 1 {
            return Err(garbled());
        }
        return Ok(if s & 0x01 != 0 {
            Reading::Motion
        } else if s & 0x02 != 0 {
            Reading::OverCapacity
        } else if s & 0x04 != 0 {
            Reading::UnderZero
        } else {
            Reading::NoWeight { status: s }
        });
    }
    let (digits, net) = match body.strip_suffix('N') {
        Some(d) => (d, true),
        None => (body, false),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(garbled());
    }
    let decimals = digits.split_once('.').map_or(0, |(_, f)| f.len());
    if decimals == 2 {
        return Err(ScaleError::Pounds);
    }
    if decimals != 3 {
        return Err(garbled());
    }
    let kg: Decimal = digits.parse().map_err(|_| garbled())?;
    Ok(Reading::Stable { kg, net })
}

/// A Mettler Toledo 8217 scale on a serial line.
#[derive(Debug)]
pub struct Toledo8217 {
    path: PathBuf,
    baud: u32,
    /// The line, opened at the first read and kept.
    port: tokio::sync::Mutex<Option<tokio::fs::File>>,
    pub timeout: Duration,
}

impl Toledo8217 {
    #[must_use]
    pub fn new(path: PathBuf, baud: u32) -> Self {
        Self {
            path,
            baud,
            port: tokio::sync::Mutex::new(None),
            timeout: Duration::from_secs(1),
        }
    }

    async fn ask(&self) -> Result<Reading, ScaleError> {
        let mut port = self.port.lock().await;
        if port.is_none() {
            *port = Some(
                crate::serial::open(&self.path, self.baud, crate::serial::Framing::SevenEven)
                    .map_err(|e| ScaleError::NoAnswer(format!("{}: {e}", self.path.display())))?,
            );
        }
        let p = port.as_mut().expect("opened");
        let result = async {
            p.write_all(b"W")
                .await
                .map_err(|e| ScaleError::NoAnswer(e.to_string()))?;
            p.flush()
                .await
                .map_err(|e| ScaleError::NoAnswer(e.to_string()))?;
            let deadline = tokio::time::Instant::now() + self.timeout;
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            loop {
                if got.contains(&b'\r') && got.contains(&0x02) {
                    return parse_8217(&got);
                }
                if got.len() > 256 {
                    return Err(ScaleError::Garbled(
                        String::from_utf8_lossy(&got).into_owned(),
                    ));
                }
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                if left.is_zero() {
                    return Err(if got.is_empty() {
                        ScaleError::NoAnswer("no answer within a second".into())
                    } else {
                        ScaleError::Garbled(String::from_utf8_lossy(&got).into_owned())
                    });
                }
                // A read gives up after 0.2 s with nothing (VTIME): loop until the deadline.
                match tokio::time::timeout(left, p.read(&mut buf)).await {
                    Ok(Ok(n)) => got.extend(buf[..n].iter().map(|b| b & 0x7f)),
                    Ok(Err(e)) => return Err(ScaleError::NoAnswer(e.to_string())),
                    Err(_) => {}
                }
            }
        }
        .await;
        if matches!(result, Err(ScaleError::NoAnswer(_))) {
            // Opened again at the next read (the cable may have been pulled).
            *port = None;
        }
        if let Err(e) = &result {
            tracing::warn!(error = %e, "scale");
        }
        // At least 200 ms between commands.
        tokio::time::sleep(Duration::from_millis(200)).await;
        result
    }
}

impl Scale for Toledo8217 {
    fn read(&self) -> ScaleFuture<'_> {
        Box::pin(self.ask())
    }
}

/// A scale for demos and training: it reads what it was last set to.
#[derive(Debug)]
pub struct Simulator(pub Mutex<Reading>);

impl Default for Simulator {
    fn default() -> Self {
        Self(Mutex::new(Reading::Stable {
            kg: Decimal::new(1234, 3),
            net: false,
        }))
    }
}

impl Scale for Simulator {
    fn read(&self) -> ScaleFuture<'_> {
        let r = *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Box::pin(async move { Ok(r) })
    }
}

/// Why no weight was taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeighError {
    #[error("the weight did not settle: wait until the scale is still")]
    Unstable,
    #[error("too heavy for the scale")]
    OverCapacity,
    #[error("the scale reads below zero: empty it and zero it")]
    UnderZero,
    #[error("nothing to weigh: the net weight is {0} kg")]
    NotPositive(Decimal),
    #[error(transparent)]
    Scale(#[from] ScaleError),
}

/// Takes a weight: asks until the scale says it is stable (for at most `wait`), subtracts
/// `tare` (kg; the scale's own tare is already off a net weight), and answers the net weight,
/// which must be above zero.
///
/// # Errors
/// No stable weight in time, over capacity, under zero, a net weight of zero or less, or the
/// scale's own failure.
pub async fn weigh(
    scale: &dyn Scale,
    tare: Decimal,
    wait: Duration,
) -> Result<Decimal, WeighError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match scale.read().await? {
            Reading::Stable { kg, .. } => {
                let net = kg - tare;
                if net <= Decimal::ZERO {
                    return Err(WeighError::NotPositive(net));
                }
                return Ok(net);
            }
            Reading::OverCapacity => return Err(WeighError::OverCapacity),
            Reading::UnderZero => return Err(WeighError::UnderZero),
            Reading::Motion | Reading::NoWeight { .. } => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(WeighError::Unstable);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn answers_of_the_8217_protocol() {
        assert_eq!(
            parse_8217(b"\x02  1.234\r").unwrap(),
            Reading::Stable {
                kg: dec!(1.234),
                net: false
            }
        );
        assert_eq!(
            parse_8217(b"\x0201.500N\r").unwrap(),
            Reading::Stable {
                kg: dec!(1.500),
                net: true
            }
        );
        assert_eq!(parse_8217(b"\x02?A\r").unwrap(), Reading::Motion);
        assert_eq!(parse_8217(b"\x02?B\r").unwrap(), Reading::OverCapacity);
        assert_eq!(parse_8217(b"\x02?D\r").unwrap(), Reading::UnderZero);
        assert_eq!(
            parse_8217(b"\x02?P\r").unwrap(),
            Reading::NoWeight { status: 0x50 }
        );
        assert_eq!(parse_8217(b"\x02 1.23\r").unwrap_err(), ScaleError::Pounds);
        // Line noise before the answer is skipped; garbage is an error.
        assert!(parse_8217(b"\xff\x00\x02  0.250\r").is_ok());
        for bad in [
            &b"hello"[..],
            b"\x021.2x4\r",
            b"\x02?\r",
            b"\x02\r",
            b"\x02?#\r",
            b"\x021.2345\r",
        ] {
            assert!(
                matches!(parse_8217(bad), Err(ScaleError::Garbled(_))),
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_weight_is_taken_when_stable_less_the_tare_and_above_zero() {
        let s = Simulator(Mutex::new(Reading::Motion));
        let short = Duration::from_millis(120);
        assert_eq!(weigh(&s, dec!(0), short).await, Err(WeighError::Unstable));
        *s.0.lock().unwrap() = Reading::Stable {
            kg: dec!(0.735),
            net: false,
        };
        assert_eq!(weigh(&s, dec!(0.035), short).await, Ok(dec!(0.700)));
        assert_eq!(
            weigh(&s, dec!(0.735), short).await,
            Err(WeighError::NotPositive(dec!(0)))
        );
        *s.0.lock().unwrap() = Reading::OverCapacity;
        assert_eq!(
            weigh(&s, dec!(0), short).await,
            Err(WeighError::OverCapacity)
        );
        *s.0.lock().unwrap() = Reading::UnderZero;
        assert_eq!(weigh(&s, dec!(0), short).await, Err(WeighError::UnderZero));
    }
}
