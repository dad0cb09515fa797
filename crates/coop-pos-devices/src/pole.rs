//! A pole display (a customer display of two lines of twenty characters on a serial line or a
//! USB-serial adapter) speaking the ESC/POS customer-display commands of Epson's DM-D series,
//! which most VFD and LCD pole displays (Bixolon, Partner, Posiflex and the unbranded ones)
//! take:
//!
//! | bytes | meaning |
//! |---|---|
//! | `ESC @` (`1B 40`) | initialise |
//! | `ESC t n` (`1B 74 13`) | characters from code page PC858 (n = 19) |
//! | `US C 0` (`1F 43 00`) | no cursor shown |
//! | `US $ x y` (`1F 24 x y`) | cursor to column x (1–20) of line y (1–2) |
//!
//! Each line is written whole (padded to twenty), so what was there before never shows
//! through, and the screen never blanks between two updates.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;

use crate::escpos::pc858;

/// Characters on a line.
pub const WIDTH: usize = 20;

/// Where the pole display is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoleConfig {
    /// Its serial device (`/dev/ttyUSB0`, or a stable `/dev/serial/by-id/...` name).
    pub path: PathBuf,
    /// Its speed: 9600 on most.
    #[serde(default = "default_baud")]
    pub baud: u32,
}

fn default_baud() -> u32 {
    9600
}

/// The two lines, each cut or padded to [`WIDTH`].
#[must_use]
pub fn frame(top: &str, bottom: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(60);
    for (y, text) in [(1u8, top), (2u8, bottom)] {
        out.extend([0x1f, 0x24, 1, y]);
        let mut n = 0;
        for c in text.chars().take(WIDTH) {
            // Control characters would be commands to the display: spaces instead.
            out.push(if c.is_control() { b' ' } else { pc858(c) });
            n += 1;
        }
        out.extend(std::iter::repeat_n(b' ', WIDTH - n));
    }
    out
}

/// What a display is first sent: initialise, PC858, no cursor.
pub const INIT: [u8; 8] = [0x1b, 0x40, 0x1b, 0x74, 0x13, 0x1f, 0x43, 0x00];

/// A label on the left and an amount against the right margin, on one line of [`WIDTH`]; the
/// label gives way to the amount.
#[must_use]
pub fn line(label: &str, amount: &str) -> String {
    let a = amount.chars().count().min(WIDTH);
    let room = WIDTH.saturating_sub(a + 1);
    let l: String = label.chars().take(room).collect();
    let pad = WIDTH - l.chars().count() - a;
    format!(
        "{l}{}{}",
        " ".repeat(pad),
        amount.chars().take(WIDTH).collect::<String>()
    )
}

/// A pole display on a serial line. It is opened at each update (a display unplugged and
/// plugged back in works again at the next one), and initialised the first time and after a
/// failure.
#[derive(Debug)]
pub struct Pole {
    pub config: PoleConfig,
    fresh: std::sync::atomic::AtomicBool,
}

impl Pole {
    #[must_use]
    pub fn new(config: PoleConfig) -> Self {
        Self {
            config,
            fresh: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// Sends the initialisation again with the next lines (a display that may have been
    /// unplugged and plugged back in without a write failing in between).
    pub fn reinitialise(&self) {
        self.fresh.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Shows the two lines.
    ///
    /// # Errors
    /// The display is not there, or the line failed.
    pub async fn show(&self, top: &str, bottom: &str) -> std::io::Result<()> {
        use std::sync::atomic::Ordering;
        let r = async {
            let mut f = crate::serial::open(
                &self.config.path,
                self.config.baud,
                crate::serial::Framing::EightNone,
            )?;
            let mut bytes = Vec::new();
            if self.fresh.load(Ordering::SeqCst) {
                bytes.extend(INIT);
            }
            bytes.extend(frame(top, bottom));
            f.write_all(&bytes).await?;
            f.flush().await
        }
        .await;
        self.fresh.store(r.is_err(), Ordering::SeqCst);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_padded_cut_and_in_pc858() {
        let f = frame("Ägg 12 st", "Total");
        assert_eq!(f.len(), 2 * (4 + WIDTH));
        assert_eq!(&f[..4], &[0x1f, 0x24, 1, 1]);
        assert_eq!(f[4], 0x8e, "Ä in PC858");
        assert_eq!(&f[24..28], &[0x1f, 0x24, 1, 2]);
        let long = frame("a name far longer than twenty characters", "\u{1b}@");
        assert_eq!(&long[4..24], b"a name far longer th");
        assert_eq!(&long[28..30], b" @", "no escape reaches the display");
    }

    #[test]
    fn label_and_amount_share_a_line() {
        assert_eq!(line("Total", "SEK 138,80"), "Total     SEK 138,80");
        assert_eq!(line("Havregryn ekologiska", "12,90").chars().count(), WIDTH);
        assert!(line("Havregryn ekologiska", "12,90").ends_with(" 12,90"));
    }
}
