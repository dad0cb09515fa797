//! A receipt on a network printer (raw TCP, as on port 9100) that is a stand-in on loopback: it
//! answers `DLE EOT` as a printer does, keeps what it is sent, and can run out of paper, go away
//! in the middle of a receipt, or answer nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use coop_pos_devices::escpos::{decode, encode};
use coop_pos_devices::printer::{PrintError, Printer, PrinterConfig};
use coop_pos_devices::receipt::{render, Doc, Item};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How the stand-in behaves.
#[derive(Clone, Copy)]
pub enum Mode {
    Fine,
    PaperOut,
    /// Takes this many bytes of the job, then closes the connection.
    GoesAway(usize),
    /// Accepts the connection and never answers.
    Mute,
}

pub struct FakePrinter {
    pub address: String,
    pub received: Arc<Mutex<Vec<u8>>>,
}

pub async fn fake_printer(mode: Mode) -> FakePrinter {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let received = Arc::new(Mutex::new(Vec::new()));
    let keep = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let keep = keep.clone();
            tokio::spawn(async move {
                let mut job = 0usize;
                let mut buf = [0u8; 4096];
                let mut pending: Vec<u8> = Vec::new();
                loop {
                    let n = match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if matches!(mode, Mode::Mute) {
                        continue;
                    }
                    pending.extend(&buf[..n]);
                    // Answer each DLE EOT n at once, as real-time commands are; keep the rest.
                    let mut i = 0;
                    while i < pending.len() {
                        if pending[i] == 0x10 && pending.get(i + 1) == Some(&0x04) {
                            let Some(&n) = pending.get(i + 2) else { break };
                            let answer = match (mode, n) {
                                (Mode::PaperOut, 2) => 0x32,
                                (Mode::PaperOut, 4) => 0x72,
                                _ => 0x12,
                            };
                            if s.write_all(&[answer]).await.is_err() {
                                return;
                            }
                            i += 3;
                        } else {
                            keep.lock().unwrap().push(pending[i]);
                            job += 1;
                            i += 1;
                            if let Mode::GoesAway(after) = mode {
                                if job >= after {
                                    return;
                                }
                            }
                        }
                    }
                    pending.drain(..i);
                }
            });
        }
    });
    FakePrinter { address, received }
}

/// A receipt of thirty goods lines.
pub fn thirty_lines() -> Doc {
    Doc {
        header: vec!["Röstånga Matkooperativ".into(), "Org.nr 769600-1234".into()],
        title: vec!["Kvitto 3-1042 · 2026-11-30 16:02".into()],
        items: (1..=30)
            .map(|i| Item {
                name: format!("Vara nummer {i} (ekologisk)"),
                detail: format!("{i} × 12,50 · 12 %"),
                amount: format!("{},50", i * 12),
            })
            .collect(),
        total: Some(("Att betala".into(), "5 812,50".into())),
        summary: vec![
            ("Moms 12 %".into(), "622,77".into()),
            ("Kort".into(), "5 812,50".into()),
        ],
        footer: vec!["Tack för handeln, ¡gracias, señor!".into()],
        code: Some("3-1042".into()),
        qr: true,
        drawer: false,
    }
}

#[tokio::test]
async fn a_receipt_prints_whole_and_reads_back() {
    let p = fake_printer(Mode::Fine).await;
    let printer = Printer::new(PrinterConfig::Network {
        address: p.address.clone(),
    });
    let bytes = encode(&render(&thirty_lines(), 42));
    let status = printer.print(&bytes).await.unwrap();
    assert!(!status.paper_out && !status.offline);
    // What the printer got is the job, byte for byte (the status queries are not part of it).
    assert_eq!(*p.received.lock().unwrap(), bytes);
    let d = decode(&p.received.lock().unwrap());
    assert!(d
        .lines
        .contains(&"Tack för handeln, ¡gracias, señor!".to_owned()));
    assert!(d
        .lines
        .iter()
        .any(|l| l.starts_with("Vara nummer 30 (ekologisk)")));
    assert!(d.lines.contains(&"[QR 3-1042]".to_owned()));
    assert_eq!(d.cuts, 1);
}

#[tokio::test]
async fn out_of_paper_nothing_is_sent_and_the_till_is_told() {
    let p = fake_printer(Mode::PaperOut).await;
    let printer = Printer::new(PrinterConfig::Network {
        address: p.address.clone(),
    });
    let status = printer.status().await.unwrap();
    assert!(status.paper_out);
    assert_eq!(
        printer.print(&encode(&render(&thirty_lines(), 42))).await,
        Err(PrintError::PaperOut)
    );
    assert!(p.received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_printer_that_goes_away_in_the_middle_is_reported() {
    let p = fake_printer(Mode::GoesAway(300)).await;
    let printer = Printer::new(PrinterConfig::Network {
        address: p.address.clone(),
    });
    let bytes = encode(&render(&thirty_lines(), 42));
    let e = printer.print(&bytes).await.unwrap_err();
    assert!(matches!(e, PrintError::Lost(_)), "{e:?}");
    assert!(p.received.lock().unwrap().len() < bytes.len());
}

#[tokio::test]
async fn a_printer_that_answers_nothing_or_is_not_there() {
    let p = fake_printer(Mode::Mute).await;
    let mut printer = Printer::new(PrinterConfig::Network {
        address: p.address.clone(),
    });
    printer.timeout = Duration::from_millis(300);
    assert!(matches!(
        printer.status().await,
        Err(PrintError::NoAnswer(_))
    ));
    // Nothing listening at all.
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = gone.local_addr().unwrap().to_string();
    drop(gone);
    let printer = Printer::new(PrinterConfig::Network { address });
    assert!(matches!(
        printer.print(b"x").await,
        Err(PrintError::NoAnswer(_))
    ));
    // A USB printer that is not plugged in.
    let usb = Printer::new(PrinterConfig::Usb {
        path: "/dev/usb/lp9-not-here".into(),
    });
    assert!(matches!(usb.status().await, Err(PrintError::NoAnswer(_))));
}
