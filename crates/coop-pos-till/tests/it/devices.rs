//! The till with its devices: a network receipt printer (a stand-in on loopback that answers
//! `DLE EOT` as a printer does and keeps what it is sent), a cash drawer behind it, and the
//! card terminal through the payment bridge (in-process, with the simulated ZVT terminal).
//! A receipt prints after each sale, the drawer opens on cash; a printer out of paper never
//! loses a sale, the problem shows on the screen and the receipt prints again; a manager's
//! "no sale" opens the drawer and is logged; the Z report prints.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coop_pos_devices::escpos::decode;
use coop_pos_devices::printer::PrinterConfig;
use coop_pos_till::devices::{BridgeTerminal, Devices, DevicesConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::web::kiosk_with;

#[derive(Clone, Default)]
struct Printer {
    received: Arc<Mutex<Vec<u8>>>,
    paper_out: Arc<Mutex<bool>>,
}

#[allow(clippy::many_single_char_names)]
async fn printer() -> (String, Printer) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let p = Printer::default();
    let keep = p.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let keep = keep.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut pending = Vec::new();
                loop {
                    let n = match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    pending.extend_from_slice(&buf[..n]);
                    let mut i = 0;
                    while i < pending.len() {
                        if pending[i] == 0x10 && pending.get(i + 1) == Some(&0x04) {
                            let Some(&q) = pending.get(i + 2) else { break };
                            let out = *keep.paper_out.lock().unwrap();
                            let answer = match (out, q) {
                                (true, 2) => 0x32,
                                (true, 4) => 0x72,
                                _ => 0x12,
                            };
                            if s.write_all(&[answer]).await.is_err() {
                                return;
                            }
                            i += 3;
                        } else {
                            keep.received.lock().unwrap().push(pending[i]);
                            i += 1;
                        }
                    }
                    pending.drain(..i);
                }
            });
        }
    });
    (address, p)
}

/// Waits until the printer has something, and takes it.
async fn printed(p: &Printer) -> Vec<String> {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let got = std::mem::take(&mut *p.received.lock().unwrap());
        if !got.is_empty() {
            // The rest of the job may still be on its way.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut all = got;
            all.extend(std::mem::take(&mut *p.received.lock().unwrap()));
            let d = decode(&all);
            let mut lines = d.lines;
            lines.extend(d.drawer.iter().map(|pin| format!("<drawer pin {pin}>")));
            return lines;
        }
        assert!(Instant::now() < until, "nothing was printed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The payment bridge (its journal in the folder answered) with a simulated ZVT terminal
/// behind it, serving on `listener`, asking `token` when one is given.
async fn bridge_on(
    listener: tokio::net::TcpListener,
    token: Option<&str>,
) -> (
    Arc<coop_pos_devices::zvt_terminal::Terminal>,
    tempfile::TempDir,
) {
    let (terminal, terminal_address) =
        coop_pos_devices::zvt_terminal::start(coop_pos_devices::zvt_terminal::Terminal::default())
            .await
            .unwrap();
    let journal = tempfile::tempdir().unwrap();
    let bridge = coop_pos_devices::bridge::Bridge::open(
        journal.path(),
        Arc::new(coop_pos_devices::payment::Zvt::new(
            &terminal_address,
            0,
            752,
        )),
    )
    .await
    .unwrap()
    .with_token(token.map(str::to_owned));
    tokio::spawn(async move { axum::serve(listener, bridge.router()).await.unwrap() });
    (terminal, journal)
}

#[tokio::test]
async fn receipts_print_the_drawer_opens_and_the_card_goes_through_the_bridge() {
    let (address, paper) = printer().await;
    // The bridge, with a simulated ZVT terminal behind it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bridge_url = format!("http://{}", listener.local_addr().unwrap());
    let (terminal, _journal) = bridge_on(listener, Some("till-and-bridge-0123456789")).await;

    let config = DevicesConfig {
        printer: Some(PrinterConfig::Network { address }),
        drawer: true,
        ..DevicesConfig::default()
    };
    let url = bridge_url.clone();
    let (_dir, store, mut k) = kiosk_with(move |app| {
        app.devices = Arc::new(Devices::new(&config));
        app.terminal = Arc::new(BridgeTerminal::new(
            &url,
            2,
            Some("till-and-bridge-0123456789".into()),
        ));
    })
    .await;
    k.get("/?lang=en").await;
    k.post("/unlock", &[("cashier", "c-kim"), ("pin", "4711")])
        .await;
    k.post("/shift/open", &[("amount", "500")]).await;

    // The customer display: the line and the total as the cashier scans.
    let shown = k.get("/display").await;
    assert!(shown.body.contains("id=\"welcome\""), "{}", shown.body);
    k.post("/scan", &[("code", "OL-33")]).await;
    let shown = k.get("/display").await;
    assert!(
        shown.body.contains("id=\"display-lines\"") && shown.body.contains("12.90"),
        "{}",
        shown.body
    );
    assert!(shown.body.contains("http-equiv=\"refresh\""));
    // Cash: the receipt prints, the drawer opening first; the display shows the change.
    let a = k.post("/pay", &[("t-cash", "20")]).await;
    assert!(a
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with("/receipts/")));
    let shown = k.get("/display").await;
    assert!(
        shown.body.contains("id=\"display-change\""),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains("7.00"),
        "20 for 13 (12.90 rounded): {}",
        shown.body
    );
    let lines = printed(&paper).await;
    assert!(lines.contains(&"<drawer pin 2>".to_owned()), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.starts_with("Receipt kassa-1-1")),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"[CODE128 kassa-1-1]".to_owned()),
        "{lines:#?}"
    );
    assert!(lines.contains(&"Thank you!".to_owned()), "{lines:#?}");

    // A card, through the bridge and the terminal: the sale has the terminal's reference, and
    // its receipt opens no drawer.
    k.post("/scan", &[("code", "OL-33")]).await;
    let a = k.post("/pay", &[("t-card", "12.90")]).await;
    assert!(
        a.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/receipts/")),
        "{a:?}"
    );
    let sale = &store.recent(1).await.unwrap()[0];
    let card = sale.tenders.iter().find(|t| t.kind == "card").unwrap();
    assert_eq!(card.reference.as_deref(), Some("trace 1, receipt 1"));
    assert_eq!(terminal.charges().len(), 1);
    let lines = printed(&paper).await;
    assert!(
        !lines.iter().any(|l| l.starts_with("<drawer")),
        "{lines:#?}"
    );
    // The terminal's own receipt follows the till's, its letters read from code page 437.
    let slip = lines
        .iter()
        .position(|l| l == "KORTKÖP")
        .expect("the card slip");
    assert!(
        slip > lines.iter().position(|l| l == "Thank you!").unwrap(),
        "{lines:#?}"
    );
    assert_eq!(
        lines[slip + 1..slip + 4],
        ["BELOPP 12.90", "TRACE 1", "GODKÄND"]
    );
    // Returned to the card, through the bridge: the terminal refunds it, once.
    let card_sale = sale.sale_id;
    let form = k.get(&format!("/returns/{card_sale}")).await;
    assert!(form.body.contains("value=\"card\""), "{}", form.body);
    let a = k
        .post(
            &format!("/returns/{card_sale}"),
            &[("q-1", "1"), ("tender", "card")],
        )
        .await;
    assert!(
        a.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/receipts/")),
        "{a:?}"
    );
    let back = &store.recent(1).await.unwrap()[0];
    let refund = back.tenders.iter().find(|t| t.kind == "card").unwrap();
    assert_eq!(
        (
            refund.amount.to_string().as_str(),
            refund.reference.as_deref()
        ),
        ("-12.90", Some("trace 2, receipt 2"))
    );
    let charges = terminal.charges();
    assert_eq!(
        (charges.len(), charges[1].refund, charges[1].amount),
        (2, true, 1290)
    );
    // The return's receipt printed by itself, with the terminal's refund slip after it.
    let lines = printed(&paper).await;
    assert!(
        lines.iter().any(|l| l.starts_with("Receipt kassa-1-3"))
            && lines.contains(&"Return".to_owned()),
        "{lines:#?}"
    );
    assert!(lines.contains(&"KORTRETUR".to_owned()), "{lines:#?}");
    assert!(
        !lines.iter().any(|l| l.starts_with("<drawer")),
        "{lines:#?}"
    );
    // Declined at the terminal: nothing sold, nothing printed, the basket stays.
    let pending = store.pending_count().await.unwrap().0;
    k.post("/scan", &[("code", "OL-33")]).await;
    k.post("/pay", &[("t-card", "12.13"), ("t-cash", "1")])
        .await;
    let page = k.get("/").await;
    assert!(page.body.contains("declined"), "{}", page.body);
    assert_eq!(store.pending_count().await.unwrap().0, pending);

    // Out of paper: the sale is made all the same, and the screen says what to do.
    *paper.paper_out.lock().unwrap() = true;
    k.post("/lines/1/void", &[]).await;
    k.post("/scan", &[("code", "OL-33")]).await;
    let a = k.post("/pay", &[("t-cash", "13")]).await;
    let receipt = a.location.expect("the sale is made");
    assert_eq!(store.pending_count().await.unwrap().0, pending + 1);
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let page = k.get("/").await;
        if page.body.contains("id=\"device-problem\"") {
            assert!(page.body.contains("out of paper"), "{}", page.body);
            break;
        }
        assert!(Instant::now() < until, "the problem was not shown");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        paper.received.lock().unwrap().is_empty(),
        "nothing sent to a printer out of paper"
    );
    // A new roll: the receipt again, and the problem is gone.
    *paper.paper_out.lock().unwrap() = false;
    k.post(&format!("{receipt}/print"), &[]).await;
    let lines = printed(&paper).await;
    assert!(
        lines.iter().any(|l| l.starts_with("Receipt kassa-1-4")),
        "{lines:#?}"
    );
    assert!(!k.get("/").await.body.contains("id=\"device-problem\""));

    // No sale: a wrong PIN opens nothing; the manager's opens the drawer and is logged.
    k.post("/drawer", &[("manager", "c-sam"), ("manager_pin", "0000")])
        .await;
    assert!(store.drawer_openings().await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(paper.received.lock().unwrap().is_empty());
    k.post("/drawer", &[("manager", "c-sam"), ("manager_pin", "1234")])
        .await;
    assert_eq!(printed(&paper).await, vec!["<drawer pin 2>".to_owned()]);
    let openings = store.drawer_openings().await.unwrap();
    assert_eq!(
        (
            openings.len(),
            openings[0].0.as_str(),
            openings[0].1.as_str()
        ),
        (1, "c-kim", "c-sam")
    );

    // One more card sale, then the close: the Z report prints by itself, with the terminal's
    // day (ended at the close) beside the till's card payments; they agree.
    k.post("/scan", &[("code", "OL-33")]).await;
    k.post("/pay", &[("t-card", "12.90")]).await;
    printed(&paper).await;
    let a = k.post("/shift/close", &[("amount", "525.90")]).await;
    let z = a.location.expect("the Z report");
    let lines = printed(&paper).await;
    assert!(lines.iter().any(|l| l.contains("Z report")), "{lines:#?}");
    // The minus of "short (−)" prints as a minus, not a question mark.
    assert!(
        lines.iter().any(|l| l.starts_with("Over (+) or short (-)")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Card terminal, day") && l.ends_with("12.90")),
        "{lines:#?}"
    );
    let page = k.get(&z).await;
    assert!(
        page.body.contains("id=\"terminal-day-total\""),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("id=\"terminal-difference\""),
        "{}",
        page.body
    );
    // And again on request.
    k.post(&format!("{z}/print"), &[]).await;
    let lines = printed(&paper).await;
    assert!(lines.iter().any(|l| l.contains("Z report")), "{lines:#?}");
}

#[tokio::test]
async fn the_terminals_day_ends_with_the_shift_or_later_when_it_could_not() {
    // The till's bridge is not running when the shift closes.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bridge_address = free.local_addr().unwrap();
    drop(free);
    let url = format!("http://{bridge_address}");
    let (_dir, _store, mut k) = kiosk_with(move |app| {
        app.terminal = Arc::new(BridgeTerminal::new(&url, 2, None));
    })
    .await;
    k.get("/?lang=en").await;
    k.post("/unlock", &[("cashier", "c-kim"), ("pin", "4711")])
        .await;
    k.post("/shift/open", &[("amount", "500")]).await;
    let a = k.post("/shift/close", &[("amount", "500")]).await;
    let z = a.location.expect("the Z report");
    let page = k.get(&z).await;
    assert!(
        page.body.contains("id=\"terminal-day-problem\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("not running"), "{}", page.body);
    // The bridge is back; the terminal took a payment the till never recorded.
    let listener = tokio::net::TcpListener::bind(bridge_address).await.unwrap();
    let (_terminal, _journal) = bridge_on(listener, None).await;
    let http = reqwest::Client::new();
    http.post(format!("http://{bridge_address}/payments"))
        .json(&serde_json::json!({ "id": "elsewhere", "amount": 5000 }))
        .send()
        .await
        .unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let s: serde_json::Value = http
            .get(format!("http://{bridge_address}/payments/elsewhere"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["state"] == "approved" {
            break;
        }
        assert!(Instant::now() < until, "{s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Ended from the Z report: the terminal's total, and the difference to look into.
    let page = k.get(&z).await;
    assert!(
        page.body.contains(&format!("action=\"{z}/terminal-day\"")),
        "{}",
        page.body
    );
    k.post(&format!("{z}/terminal-day"), &[]).await;
    let page = k.get(&z).await;
    assert!(
        page.body.contains("id=\"terminal-day-total\""),
        "{}",
        page.body
    );
    let difference = page
        .body
        .split("id=\"terminal-difference\"")
        .nth(1)
        .expect("the difference is shown");
    assert!(
        difference[..200.min(difference.len())].contains("50.00"),
        "{difference}"
    );
    assert!(!page.body.contains("id=\"terminal-day-problem\""));
    // Once ended, it is not ended again.
    let again = k.post(&format!("{z}/terminal-day"), &[]).await;
    assert_eq!(again.status, axum::http::StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_scale_weighs_what_is_sold_by_weight_once_it_is_at_rest() {
    use coop_pos_devices::scale::{Reading, Simulator};
    use rust_decimal_macros::dec;
    let scale = Arc::new(Simulator(Mutex::new(Reading::Motion)));
    let s = scale.clone();
    let (_dir, _store, mut k) = kiosk_with(move |app| {
        let mut d = Devices::new(&DevicesConfig::default());
        d.scale = Some(s);
        app.devices = Arc::new(d);
    })
    .await;
    k.get("/?lang=en").await;
    k.post("/unlock", &[("cashier", "c-kim"), ("pin", "4711")])
        .await;
    // Still moving (for the 3 s the till waits): nothing added, and the cashier is told.
    k.post("/scan", &[("code", "OST-GRE")]).await;
    let page = k.get("/").await;
    assert!(
        page.body.contains("The scale did not settle"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"empty\""), "{}", page.body);
    // At rest: 0.640 kg in a 0.140 kg box gives 0.5 kg of cheese at 139.00.
    *scale.0.lock().unwrap() = Reading::Stable {
        kg: dec!(0.640),
        net: false,
    };
    k.post("/scan", &[("code", "OST-GRE"), ("tare", "0,140")])
        .await;
    let page = k.get("/").await;
    assert!(
        page.body.contains("69.50") && page.body.contains("0.5 kg"),
        "{}",
        page.body
    );
    // Too heavy, or nothing on it: refused with the reason.
    *scale.0.lock().unwrap() = Reading::OverCapacity;
    k.post("/scan", &[("code", "OST-GRE")]).await;
    assert!(k.get("/").await.body.contains("Too heavy for the scale"));
    *scale.0.lock().unwrap() = Reading::Stable {
        kg: dec!(0.000),
        net: false,
    };
    k.post("/scan", &[("code", "OST-GRE")]).await;
    assert!(k.get("/").await.body.contains("Nothing is on the scale"));
    // A weight typed wins over the scale; goods sold by the piece never ask it.
    *scale.0.lock().unwrap() = Reading::Motion;
    k.post("/scan", &[("code", "OST-GRE"), ("quantity", "1")])
        .await;
    assert!(k.get("/").await.body.contains("139.00"));
    k.post("/scan", &[("code", "HAV-1KG")]).await;
    assert!(!k.get("/").await.body.contains("did not settle"));
}

/// A pole display on a pseudo-terminal pair (socat, as a USB-serial adapter would appear): the
/// display's side keeps what the till last wrote on each of its two lines.
struct Pole {
    socat: std::process::Child,
    lines: Arc<Mutex<[String; 2]>>,
    inits: Arc<Mutex<usize>>,
    dir: Option<tempfile::TempDir>,
}

impl Drop for Pole {
    fn drop(&mut self) {
        let _ = self.socat.kill();
        let _ = self.socat.wait();
    }
}

fn pole() -> (std::path::PathBuf, Pole) {
    pole_in(tempfile::tempdir().unwrap())
}

/// A pole display in `dir`: the till opens `dir/pole`, a link made only once the display's side
/// is open (so nothing the till writes is lost), to a new pty pair each time (plugged back in:
/// the same name).
fn pole_in(dir: tempfile::TempDir) -> (std::path::PathBuf, Pole) {
    use std::io::Read as _;
    static PAIRS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = PAIRS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let (till, display) = (
        dir.path().join(format!("till-{n}")),
        dir.path().join(format!("display-{n}")),
    );
    let pole = dir.path().join("pole");
    let socat = std::process::Command::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", till.display()))
        .arg(format!("pty,raw,echo=0,link={}", display.display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("socat (Debian's package socat; `cargo xtask test` installs it)");
    let until = Instant::now() + Duration::from_secs(10);
    while !(till.exists() && display.exists()) {
        assert!(Instant::now() < until, "socat made no pty pair");
        std::thread::sleep(Duration::from_millis(20));
    }
    let lines = Arc::new(Mutex::new([String::new(), String::new()]));
    let inits = Arc::new(Mutex::new(0));
    let (keep, count) = (lines.clone(), inits.clone());
    let (opened, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut f = std::fs::File::open(display).unwrap();
        opened.send(()).unwrap();
        let mut bytes = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            let n = match f.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            bytes.extend_from_slice(&buf[..n]);
            // Commands: ESC @, ESC t n, US C n, and US $ x y followed by twenty characters.
            loop {
                match bytes.as_slice() {
                    [0x1b, 0x40, ..] => {
                        *count.lock().unwrap() += 1;
                        bytes.drain(..2);
                    }
                    [0x1b, 0x74, _, ..] | [0x1f, 0x43, _, ..] => {
                        bytes.drain(..3);
                    }
                    [0x1f, 0x24, 1, y, rest @ ..] if rest.len() >= 20 => {
                        let text: String = rest[..20]
                            .iter()
                            .map(|&b| coop_pos_devices::escpos::pc858_char(b))
                            .collect();
                        keep.lock().unwrap()[usize::from(*y) - 1] = text;
                        bytes.drain(..24);
                    }
                    // Nothing, or a command not all here yet.
                    [] | [0x1b | 0x1f] | [0x1b | 0x1f, _] | [0x1f, 0x24, ..] => break,
                    other => panic!("the display was sent {other:02x?}"),
                }
            }
        }
    });
    wait.recv().unwrap();
    let _ = std::fs::remove_file(&pole);
    std::os::unix::fs::symlink(&till, &pole).unwrap();
    (
        pole,
        Pole {
            socat,
            lines,
            inits,
            dir: Some(dir),
        },
    )
}

impl Pole {
    /// Unplugs the display; answers the folder its device names live in.
    fn unplug(mut self) -> tempfile::TempDir {
        let dir = self.dir.as_ref().expect("plugged in").path().join("pole");
        let _ = std::fs::remove_file(dir);
        let _ = self.socat.kill();
        let _ = self.socat.wait();
        self.dir.take().expect("plugged in")
    }

    /// Waits until the display shows `top` and `bottom` (trimmed).
    async fn shows(&self, want: impl Fn(&str, &str) -> bool) -> [String; 2] {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let now = self.lines.lock().unwrap().clone();
            if want(now[0].trim_end(), now[1].trim_end()) {
                return now;
            }
            assert!(Instant::now() < until, "the display shows {now:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

#[tokio::test]
async fn the_pole_display_follows_the_basket_and_the_change() {
    let (path, display) = pole();
    let config = DevicesConfig {
        pole: Some(coop_pos_devices::pole::PoleConfig { path, baud: 9600 }),
        ..DevicesConfig::default()
    };
    let (_dir, _store, mut k) = kiosk_with(move |app| {
        app.devices = Arc::new(Devices::new(&config));
        tokio::spawn(coop_pos_till::web::run_pole(app.clone()));
    })
    .await;
    // Nobody at the till: the co-op's welcome, in the till's language.
    display
        .shows(|top, bottom| top == "Testköpinge Matkoope" && bottom == "Välkommen!")
        .await;
    assert_eq!(*display.inits.lock().unwrap(), 1, "initialised once");
    k.post("/unlock", &[("cashier", "c-kim"), ("pin", "4711")])
        .await;
    k.post("/shift/open", &[("amount", "500")]).await;
    k.post("/scan", &[("code", "OL-33")]).await;
    let shown = display
        .shows(|top, bottom| top.contains("12,90") && bottom.contains("12,90"))
        .await;
    assert!(shown[1].starts_with("Totalt"), "{shown:?}");
    assert!(
        shown[0].starts_with("Lättöl 33"),
        "the line's name, cut to fit: {shown:?}"
    );
    k.post("/scan", &[("code", "OL-33")]).await;
    display
        .shows(|top, bottom| top.contains("12,90") && bottom.contains("25,80"))
        .await;
    // Paid in cash: the total, and the change (25,80 rounds to 26 in cash).
    k.post("/pay", &[("t-cash", "30")]).await;
    let shown = display.shows(|_, bottom| bottom.contains("4,00")).await;
    assert!(shown[0].contains("25,80"), "{shown:?}");
    // Unplugged: the till goes on selling.
    let dir = display.unplug();
    tokio::time::sleep(Duration::from_millis(600)).await;
    k.post("/scan", &[("code", "OL-33")]).await;
    let a = k.post("/pay", &[("t-cash", "13")]).await;
    assert!(a
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with("/receipts/")));
    // The till tries (and fails) to show the sale while the display is away.
    tokio::time::sleep(Duration::from_millis(600)).await;
    // Plugged back in (the same device name): initialised afresh, and showing the sale.
    let (_, display) = pole_in(dir);
    display
        .shows(|top, bottom| top.contains("12,90") && bottom.starts_with("Växel"))
        .await;
    assert_eq!(*display.inits.lock().unwrap(), 1, "initialised again");
}

#[tokio::test]
async fn the_terminals_day_is_ended_once_and_only_for_the_latest_shift() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (terminal, _journal) = bridge_on(listener, None).await;
    let (_dir, store, mut k) = kiosk_with(move |app| {
        app.terminal = Arc::new(BridgeTerminal::new(&url, 2, None));
    })
    .await;
    k.get("/?lang=en").await;
    k.post("/unlock", &[("cashier", "c-kim"), ("pin", "4711")])
        .await;
    // A shift whose close stopped before the terminal was asked (the till restarted): the
    // close itself marked it, so the report offers to end the day.
    k.post("/shift/open", &[("amount", "500")]).await;
    let first = store.open_shift().await.unwrap().unwrap().shift_id;
    coop_pos_till::shift::close(&store, "c-kim", rust_decimal::Decimal::new(500, 0), true)
        .await
        .unwrap();
    let z = format!("/shifts/{first}");
    let page = k.get(&z).await;
    assert!(
        page.body.contains("the terminal was not asked yet"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("id=\"terminal-day-again\""),
        "{}",
        page.body
    );
    // Two presses at once: the terminal ends its day once.
    let (a, b) = {
        let mut k2 = k.clone_session();
        let path = format!("{z}/terminal-day");
        let one = k.post(&path, &[]);
        let two = k2.post(&path, &[]);
        tokio::join!(one, two)
    };
    assert_eq!(terminal.days_ended(), 1, "{:?} {:?}", a.status, b.status);
    let page = k.get(&z).await;
    assert!(
        page.body.contains("id=\"terminal-day-total\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("id=\"terminal-day-again\""));
    // A later shift: while it is open, and once it is closed, the first one's day is not
    // ended again (its payments would be the later shift's).
    k.post("/shift/open", &[("amount", "500")]).await;
    let again = k.post(&format!("{z}/terminal-day"), &[]).await;
    assert_eq!(again.status, axum::http::StatusCode::CONFLICT);
    k.post("/shift/close", &[("amount", "500")]).await;
    assert_eq!(
        terminal.days_ended(),
        2,
        "the second close ended its own day"
    );
    assert_eq!(
        k.post(&format!("{z}/terminal-day"), &[]).await.status,
        axum::http::StatusCode::CONFLICT
    );
    assert_eq!(terminal.days_ended(), 2);
}
