//! Power loss at the till: the real `coop-pos till` process is killed with SIGKILL in the middle
//! of a burst of sales made through its UI, and started again. Every sale whose receipt the
//! cashier saw is in the journal exactly once, the journal still chains from the first record,
//! and the basket that was open when the power went is there with its lines.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coop_pos_till::journal::Chain;
use coop_pos_till::store::{Cashier, Store};
use serde_json::json;
use uuid::Uuid;

fn till_settings() -> serde_json::Value {
    json!({
        "org_name": "Testköpinge Matkooperativ", "org_number": "769600-0000", "currency": "SEK",
        "vat": { "food": { "rates": [ { "from": "2026-04-01", "percent": "6" } ] } },
        "prices_include_vat": true, "member_only": false,
        "tenders": [ { "id": "cash", "kind": "cash" }, { "id": "card", "kind": "card" } ],
        "cash_coin": "1", "variable_measure": [], "offline_wallet_limit": "0",
        "time_zone": "Europe/Stockholm"
    })
}

fn product(n: u128, sku: &str, price: &str) -> serde_json::Value {
    json!({
        "product_id": Uuid::from_u128(n).to_string(), "sku": sku, "name": sku, "unit": "each",
        "vat_class": "food", "shelf_price": price, "member_price": null, "active": true,
        "gtins": [], "plus": [], "packs": [], "price_changes": []
    })
}

struct Till {
    child: Child,
    url: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(config: &std::path::Path, url: &str) -> Till {
    let child = Command::new(env!("CARGO_BIN_EXE_coop-pos"))
        .args(["till", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting coop-pos till");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if client
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the till did not start within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Till {
        child,
        url: url.to_owned(),
    }
}

/// The till's main page as the kiosk sees it.
async fn main_page(client: &reqwest::Client, url: &str) -> String {
    client
        .get(format!("{url}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn csrf(body: &str) -> String {
    let i = body.find("name=\"csrf_token\" value=\"").expect("a form") + 25;
    body[i..i + body[i..].find('"').unwrap()].to_owned()
}

/// A cashier at the kiosk: a browser with cookies that does not follow redirects.
async fn kiosk(url: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let body = main_page(&client, url).await;
    let token = csrf(&body);
    let res = client
        .post(format!("{url}/unlock"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("cashier", "c-kim"),
            ("pin", "4711"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let body = main_page(&client, url).await;
    assert!(body.contains("id=\"code\""), "unlocked: {body}");
    // A shift, unless one is open since before the power went.
    client
        .post(format!("{url}/shift/open"))
        .form(&[("csrf_token", csrf(&body).as_str()), ("amount", "500")])
        .send()
        .await
        .unwrap();
    let body = main_page(&client, url).await;
    let token = csrf(&body);
    (client, token)
}

#[tokio::test]
async fn a_till_killed_mid_burst_keeps_every_acknowledged_sale_once_and_its_open_basket() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    {
        // The till as it is after a day with the server: catalogue, a cashier, the settings.
        let store = Store::open(&state.join("till.sqlite"), 2).await.unwrap();
        store
            .apply_products(
                "coop-ims",
                &[
                    (1, product(1, "HAV", "24.90")),
                    (2, product(2, "MJOLK", "15.90")),
                ],
            )
            .await
            .unwrap();
        store
            .set_cashiers(&[Cashier {
                sub: "c-kim".into(),
                name: "Kim".into(),
                pin_hash: coop_pos_till::pin::hash("4711".into()).await,
                manager: false,
            }])
            .await
            .unwrap();
        store
            .set_setting("till_settings", &till_settings())
            .await
            .unwrap();
    }
    std::fs::write(dir.path().join("token"), "no-server").unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("till.json");
    std::fs::write(
        &config,
        json!({
            "till_id": "kassa-1",
            "state_directory": state,
            "listen": format!("127.0.0.1:{port}"),
            "lang": "en",
            // The server is out of reach all along: the till sells on its own.
            "central_url": "http://127.0.0.1:9/pos",
            "catalogue_feed_url": "http://127.0.0.1:9/ims/api/feed",
            "token_file": dir.path().join("token"),
        })
        .to_string(),
    )
    .unwrap();

    let mut till = start(&config, &url).await;
    let (client, token) = kiosk(&url).await;
    // Sales in a burst on a task of their own; each acknowledged one is the receipt it got.
    let burst = {
        let (client, token, url) = (client.clone(), token.clone(), url.clone());
        tokio::spawn(async move {
            let mut acknowledged: Vec<Uuid> = Vec::new();
            loop {
                let scan = client
                    .post(format!("{url}/scan"))
                    .form(&[
                        ("csrf_token", token.as_str()),
                        ("code", "HAV"),
                        ("quantity", ""),
                    ])
                    .send()
                    .await;
                if scan.is_err() {
                    return acknowledged;
                }
                let paid = client
                    .post(format!("{url}/pay"))
                    .form(&[("csrf_token", token.as_str()), ("t-cash", "50")])
                    .send()
                    .await;
                match paid {
                    Ok(r) if r.status() == 303 => {
                        let to = r.headers()[reqwest::header::LOCATION]
                            .to_str()
                            .unwrap()
                            .to_owned();
                        let id = to.strip_prefix("/receipts/").expect("a receipt");
                        acknowledged.push(Uuid::parse_str(id).unwrap());
                    }
                    _ => return acknowledged,
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // The power goes.
    Command::new("kill")
        .args(["-KILL", &till.child.id().to_string()])
        .status()
        .unwrap();
    till.child.wait().unwrap();
    let acknowledged = burst.await.unwrap();
    assert!(
        acknowledged.len() >= 5,
        "the burst made {} sales before the kill",
        acknowledged.len()
    );
    eprintln!(
        "power loss: {} sales acknowledged before the kill",
        acknowledged.len()
    );

    // Back on. The sale in flight at the kill may have left its basket open with its line
    // (scanned, not paid): it is there. Three more lines, and the power goes again.
    let mut till = start(&config, &till.url).await;
    let (client, token) = kiosk(&url).await;
    let page = main_page(&client, &url).await;
    let before = page.matches("action=\"/lines/").count() / 2;
    assert!(before <= 1, "{page}");
    for code in ["MJOLK", "HAV", "MJOLK"] {
        let r = client
            .post(format!("{url}/scan"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("code", code),
                ("quantity", ""),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
    }
    Command::new("kill")
        .args(["-KILL", &till.child.id().to_string()])
        .status()
        .unwrap();
    till.child.wait().unwrap();

    // On disk: every acknowledged sale once, the chain whole from record 1.
    {
        let store = Store::open(&state.join("till.sqlite"), 2).await.unwrap();
        let all = store.pending(100_000).await.unwrap();
        let ids: std::collections::BTreeSet<Uuid> = all.iter().map(|r| r.sale_id).collect();
        assert_eq!(ids.len(), all.len(), "no sale twice");
        for id in &acknowledged {
            assert!(ids.contains(id), "acknowledged sale {id} is in the journal");
        }
        assert!(
            all.len() <= acknowledged.len() + 1,
            "at most the sale in flight besides"
        );
        let mut chain = Chain::default();
        for r in &all {
            chain.accept(r).unwrap();
        }
    }
    // The open basket is there after the restart, with its three lines.
    let till = start(&config, &url).await;
    let (client, _) = kiosk(&url).await;
    let page = main_page(&client, &url).await;
    assert_eq!(
        page.matches("action=\"/lines/").count() / 2,
        before + 3,
        "{page}"
    );
    let expected = if before == 0 { "56.70" } else { "81.60" };
    assert!(
        page.contains(expected),
        "15.90 + 24.90 + 15.90 (+ 24.90): {page}"
    );
    drop(till);
}

impl Drop for Till {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
