//! A receipt printer, reached over USB (`/dev/usb/lp0`, the kernel's usblp), the network (raw
//! TCP, port 9100) or a serial line; chosen in the till's config. Before each job the till asks
//! the printer how it is (`DLE EOT`: offline, cover open, paper end); a printer that answers
//! nothing, or goes away in the middle of a job, is an error the till shows and keeps: the sale
//! is already stored, and the job can be printed again.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Where the printer is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PrinterConfig {
    /// A USB printer through the kernel's usblp driver.
    Usb { path: PathBuf },
    /// A network printer's raw port: `host:9100`.
    Network { address: String },
    /// A serial printer, at `baud` (8N1).
    Serial {
        path: PathBuf,
        #[serde(default = "default_baud")]
        baud: u32,
    },
}

fn default_baud() -> u32 {
    9600
}

/// Why a job did not print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum PrintError {
    #[error("the printer is out of paper")]
    PaperOut,
    #[error("the printer's cover is open")]
    CoverOpen,
    #[error("the printer is offline")]
    Offline,
    #[error("the printer does not answer ({0})")]
    NoAnswer(String),
    #[error("the printer went away in the middle of the job ({0})")]
    Lost(String),
}

/// What the printer says of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Status {
    pub offline: bool,
    pub cover_open: bool,
    pub paper_out: bool,
    pub paper_low: bool,
}

impl Status {
    /// From the answers to `DLE EOT 1`, `2` and `4`.
    #[must_use]
    pub fn from_bytes(printer: u8, offline_cause: u8, paper: u8) -> Self {
        Self {
            offline: printer & 0x08 != 0,
            cover_open: offline_cause & 0x04 != 0,
            paper_out: offline_cause & 0x20 != 0 || paper & 0x60 == 0x60,
            paper_low: paper & 0x0c == 0x0c,
        }
    }

    /// Whether a job can go now, and if not, why.
    ///
    /// # Errors
    /// What stands in the way.
    pub fn ready(self) -> Result<(), PrintError> {
        if self.paper_out {
            Err(PrintError::PaperOut)
        } else if self.cover_open {
            Err(PrintError::CoverOpen)
        } else if self.offline {
            Err(PrintError::Offline)
        } else {
            Ok(())
        }
    }
}

/// The printer, as the till uses it.
#[derive(Debug, Clone)]
pub struct Printer {
    pub config: PrinterConfig,
    /// How long one answer or one write may take.
    pub timeout: Duration,
}

trait Link: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Link for T {}

impl Printer {
    #[must_use]
    pub fn new(config: PrinterConfig) -> Self {
        Self {
            config,
            timeout: Duration::from_secs(3),
        }
    }

    async fn open(&self) -> Result<Box<dyn Link>, PrintError> {
        let no = |e: &dyn std::fmt::Display| PrintError::NoAnswer(e.to_string());
        match &self.config {
            PrinterConfig::Network { address } => {
                let s = tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(address))
                    .await
                    .map_err(|_| PrintError::NoAnswer(format!("{address}: no connection")))?
                    .map_err(|e| no(&e))?;
                s.set_nodelay(true).map_err(|e| no(&e))?;
                Ok(Box::new(s))
            }
            PrinterConfig::Usb { path } => {
                let f = tokio::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)
                    .await
                    .map_err(|e| no(&format!("{}: {e}", path.display())))?;
                Ok(Box::new(f))
            }
            PrinterConfig::Serial { path, baud } => {
                let port = crate::serial::open(path, *baud, crate::serial::Framing::EightNone)
                    .map_err(|e| no(&format!("{}: {e}", path.display())))?;
                Ok(Box::new(port))
            }
        }
    }

    async fn ask(&self, link: &mut Box<dyn Link>, n: u8) -> Result<u8, PrintError> {
        link.write_all(&[0x10, 0x04, n])
            .await
            .map_err(|e| PrintError::NoAnswer(e.to_string()))?;
        let mut b = [0u8; 1];
        match tokio::time::timeout(self.timeout, link.read_exact(&mut b)).await {
            Ok(Ok(_)) => Ok(b[0]),
            Ok(Err(e)) => Err(PrintError::NoAnswer(e.to_string())),
            Err(_) => Err(PrintError::NoAnswer("no status within the timeout".into())),
        }
    }

    async fn status_on(&self, link: &mut Box<dyn Link>) -> Result<Status, PrintError> {
        let printer = self.ask(link, 1).await?;
        let cause = self.ask(link, 2).await?;
        let paper = self.ask(link, 4).await?;
        Ok(Status::from_bytes(printer, cause, paper))
    }

    /// Asks the printer how it is.
    ///
    /// # Errors
    /// It cannot be reached, or does not answer.
    pub async fn status(&self) -> Result<Status, PrintError> {
        let mut link = self.open().await?;
        self.status_on(&mut link).await
    }

    /// Prints `bytes` (a whole job) if the printer is ready, then checks that it still is: a
    /// printer that ran out of paper in the middle says so.
    ///
    /// # Errors
    /// Why it did not print, or not whole.
    pub async fn print(&self, bytes: &[u8]) -> Result<Status, PrintError> {
        let mut link = self.open().await?;
        self.status_on(&mut link).await?.ready()?;
        for chunk in bytes.chunks(1024) {
            match tokio::time::timeout(self.timeout, link.write_all(chunk)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(PrintError::Lost(e.to_string())),
                Err(_) => return Err(PrintError::Lost("a write did not finish".into())),
            }
        }
        tokio::time::timeout(self.timeout, link.flush())
            .await
            .map_err(|_| PrintError::Lost("the job was not taken".into()))?
            .map_err(|e| PrintError::Lost(e.to_string()))?;
        // After the job: still there, with paper?
        let after = self
            .status_on(&mut link)
            .await
            .map_err(|e| PrintError::Lost(e.to_string()))?;
        if after.paper_out {
            return Err(PrintError::PaperOut);
        }
        Ok(after)
    }
}
