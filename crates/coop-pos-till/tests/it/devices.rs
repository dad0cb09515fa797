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

#[tokio::test]
async fn receipts_print_the_drawer_opens_and_the_card_goes_through_the_bridge() {
    let (address, paper) = printer().await;
    // The bridge, with a simulated ZVT terminal behind it.
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
    .with_token(Some("till-and-bridge-0123456789".into()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bridge_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, bridge.router()).await.unwrap() });

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

    // The Z report prints.
    let a = k.post("/shift/close", &[("amount", "525.90")]).await;
    let z = a.location.expect("the Z report");
    k.post(&format!("{z}/print"), &[]).await;
    let lines = printed(&paper).await;
    assert!(lines.iter().any(|l| l.contains("Z report")), "{lines:#?}");
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
