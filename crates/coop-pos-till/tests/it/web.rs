//! The till's UI over HTTP, as the kiosk browser uses it: plain forms with the session's CSRF
//! token, each answered by a redirect. A scripted checkout of every line kind, the PIN pad and
//! its lock-out, a member with member prices, the receipt and the last sales; forms without
//! their token and actions before unlocking change nothing.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use coop_pos_till::store::Cashier;
use coop_pos_till::web::{self, TillApp};
use coop_web::session::SessionConfig;
use coop_web::Lang;
use tower::ServiceExt as _;

use crate::checkout::{ean13, settings, till};

pub struct Kiosk {
    router: Router,
    cookie: String,
    csrf: String,
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Kiosk {
    /// A second tab of the same session (for two requests at once).
    pub fn clone_session(&self) -> Kiosk {
        Kiosk {
            router: self.router.clone(),
            cookie: self.cookie.clone(),
            csrf: self.csrf.clone(),
        }
    }

    async fn send(&mut self, req: Request<Body>) -> Answer {
        let res = self.router.clone().oneshot(req).await.unwrap();
        for c in res.headers().get_all(header::SET_COOKIE) {
            c.to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .clone_into(&mut self.cookie);
        }
        let status = res.status();
        let location = res
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(res.into_body(), 4 << 20)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(i) = body.find("name=\"csrf_token\" value=\"") {
            let i = i + 25;
            body[i..i + body[i..].find('"').unwrap()].clone_into(&mut self.csrf);
        }
        Answer {
            status,
            location,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let req = Request::get(path)
            .header(header::COOKIE, &self.cookie)
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    pub async fn post_with(
        &mut self,
        path: &str,
        csrf: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Answer {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = csrf {
            pairs.push(("csrf_token", t));
        }
        pairs.extend_from_slice(fields);
        let req = Request::post(path)
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(&pairs).unwrap()))
            .unwrap();
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let csrf = self.csrf.clone();
        self.post_with(path, Some(&csrf), fields).await
    }
}

pub async fn kiosk() -> (tempfile::TempDir, coop_pos_till::store::Store, Kiosk) {
    kiosk_with(|_| {}).await
}

/// [`kiosk`] with its app changed first (its devices, its terminal).
pub async fn kiosk_with(
    change: impl FnOnce(&mut TillApp),
) -> (tempfile::TempDir, coop_pos_till::store::Store, Kiosk) {
    let (dir, store) = till().await;
    store
        .set_cashiers(&[
            Cashier {
                sub: "c-kim".into(),
                name: "Kim".into(),
                pin_hash: coop_pos_till::pin::hash("4711".into()).await,
                manager: false,
            },
            Cashier {
                sub: "c-sam".into(),
                name: "Sam".into(),
                pin_hash: coop_pos_till::pin::hash("1234".into()).await,
                manager: true,
            },
        ])
        .await
        .unwrap();
    let mut app = TillApp::new(store.clone(), settings(), "kassa-1", Lang::Sv).unwrap();
    change(&mut app);
    let key = coop_web::session::load_or_create_key(dir.path()).unwrap();
    let session = Arc::new(SessionConfig::new(
        key,
        "till",
        false,
        "http://127.0.0.1:8180".into(),
    ));
    let mut k = Kiosk {
        router: web::router(app, session),
        cookie: String::new(),
        csrf: String::new(),
    };
    k.get("/").await;
    (dir, store, k)
}

#[tokio::test]
async fn a_cashier_unlocks_sells_every_line_kind_and_prints_the_receipt() {
    let (_dir, store, mut k) = kiosk().await;
    let page = k.get("/?lang=en").await;
    assert!(
        page.body.contains("Kim") && page.body.contains("name=\"pin\""),
        "{}",
        page.body
    );
    // Locked: a scan goes nowhere.
    let a = k.post("/scan", &[("code", "OL-33")]).await;
    assert_eq!(a.location.as_deref(), Some("/"));
    assert!(k.get("/").await.body.contains("name=\"pin\""));

    let a = k
        .post("/unlock", &[("cashier", "c-kim"), ("pin", "4711")])
        .await;
    assert_eq!(
        (a.status, a.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/"))
    );
    k.post("/shift/open", &[("amount", "500")]).await;
    let page = k.get("/").await;
    assert!(
        page.body.contains("id=\"code\"") && page.body.contains("autofocus"),
        "{}",
        page.body
    );

    for (code, q) in [
        (ean13("731000100001"), ""),
        (ean13("731000100012"), ""),
        ("4011".to_owned(), "1,25"),
        (ean13("230012300347"), ""),
        (ean13("200012304850"), ""),
        ("OL-33".to_owned(), "2"),
    ] {
        let a = k.post("/scan", &[("code", &code), ("quantity", q)]).await;
        assert_eq!(a.location.as_deref(), Some("/"), "{code}");
        let page = k.get("/").await;
        assert!(
            !page.body.contains("id=\"message\""),
            "{code}: {}",
            page.body
        );
    }
    let page = k.get("/").await;
    assert!(page.body.contains("Lättöl 6-pack"), "{}", page.body);
    assert!(page.body.contains("260.06"), "{}", page.body);
    // A mistyped code says why on the next page and adds nothing.
    k.post("/scan", &[("code", &ean13("731999999999"))]).await;
    let page = k.get("/").await;
    assert!(
        page.body.contains("No product has the code"),
        "{}",
        page.body
    );
    assert!(page.body.contains("260.06"));
    // Two oats, no light beer, a member's prices.
    k.post("/lines/1", &[("new_quantity", "2")]).await;
    k.post("/lines/6/void", &[]).await;
    k.post("/member", &[("number", "1042")]).await;
    let page = k.get("/").await;
    assert!(page.body.contains("Alva Berg"), "{}", page.body);
    // 2 × 22.90 + 64.90 + 43.63 + 48.23 + 48.50 = 251.06
    assert!(page.body.contains("251.06"), "{}", page.body);

    // The terminal declines (the simulator declines amounts ending in 13 öre): nothing sold.
    k.post("/pay", &[("t-card", "100.13"), ("t-cash", "200")])
        .await;
    let page = k.get("/").await;
    assert!(page.body.contains("The card was declined"), "{}", page.body);
    assert_eq!(store.pending_count().await.unwrap().0, 0);
    let a = k
        .post("/pay", &[("t-card", "100"), ("t-cash", "200")])
        .await;
    let receipt = a.location.expect("a redirect to the receipt");
    assert!(receipt.starts_with("/receipts/"), "{receipt}");
    let page = k.get(&receipt).await;
    assert!(page.body.contains("kassa-1-1"), "{}", page.body);
    assert!(page.body.contains("Testköpinge Matkooperativ") && page.body.contains("769600-0000"));
    assert!(page.body.contains("id=\"change\""), "{}", page.body);
    // The terminal's reference is on the sale.
    let sale = &store.recent(1).await.unwrap()[0];
    let card = sale.tenders.iter().find(|t| t.kind == "card").unwrap();
    assert!(
        card.reference
            .as_deref()
            .is_some_and(|r| r.starts_with("SIM-")),
        "{card:?}"
    );
    // 151.06 in cash rounds to 151: 49 back.
    assert!(page.body.contains("49.00"), "{}", page.body);
    let page = k.get("/sales").await;
    assert!(page.body.contains(&receipt), "{}", page.body);
    assert_eq!(store.pending_count().await.unwrap().0, 1);
    // A new basket for the next sale.
    assert!(k.get("/").await.body.contains("id=\"empty\""));
}

#[tokio::test]
async fn wrong_pins_lock_a_cashier_out_and_forms_need_their_token() {
    let (_dir, store, mut k) = kiosk().await;
    k.get("/?lang=en").await;
    for _ in 0..5 {
        k.post("/unlock", &[("cashier", "c-kim"), ("pin", "0000")])
            .await;
    }
    // Now even the right PIN waits.
    k.post("/unlock", &[("cashier", "c-kim"), ("pin", "4711")])
        .await;
    let page = k.get("/?lang=en").await;
    assert!(page.body.contains("Too many wrong PINs"), "{}", page.body);
    assert!(page.body.contains("name=\"pin\""));
    // Another cashier is not locked out.
    k.post("/unlock", &[("cashier", "c-sam"), ("pin", "1234")])
        .await;
    k.post("/shift/open", &[("amount", "0")]).await;
    assert!(k.get("/").await.body.contains("id=\"code\""));
    // A form without its token, or with another, is refused and adds nothing.
    let a = k.post_with("/scan", None, &[("code", "OL-33")]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = k
        .post_with("/scan", Some("forged"), &[("code", "OL-33")])
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(k.get("/").await.body.contains("id=\"empty\""));
    // Short cash: the sale is not made and the basket stays.
    k.post("/scan", &[("code", "OL-33")]).await;
    k.post("/pay", &[("t-cash", "5")]).await;
    let page = k.get("/").await;
    assert!(page.body.contains("is still to pay"), "{}", page.body);
    assert_eq!(store.pending_count().await.unwrap().0, 0);
    // Park, and resume.
    k.post("/park", &[]).await;
    let page = k.get("/").await;
    assert!(
        page.body.contains("id=\"empty\"") && page.body.contains("/resume"),
        "{}",
        page.body
    );
    let id = {
        let i = page.body.find("/parked/").unwrap() + 8;
        page.body[i..i + 36].to_owned()
    };
    k.post(&format!("/parked/{id}/resume"), &[]).await;
    assert!(k.get("/").await.body.contains("12.90"));
    // Refusals are in the cashier's language.
    k.get("/?lang=sv").await;
    k.post("/scan", &[("code", "4011")]).await;
    let page = k.get("/").await;
    assert!(page.body.contains("säljs per vikt"), "{}", page.body);
    k.post("/pay", &[("t-cash", "5")]).await;
    assert!(k.get("/").await.body.contains("återstår att betala"));
    // Locking the till ends the cashier's session.
    k.post("/lock", &[]).await;
    assert!(k.get("/").await.body.contains("name=\"pin\""));
}

#[tokio::test]
async fn money_is_taken_only_in_an_open_shift_and_its_z_report_balances() {
    let (_dir, store, mut k) = kiosk().await;
    k.get("/?lang=en").await;
    k.post("/unlock", &[("cashier", "c-kim"), ("pin", "4711")])
        .await;
    k.post("/scan", &[("code", "OL-33")]).await;
    k.post("/pay", &[("t-cash", "20")]).await;
    let page = k.get("/").await;
    assert!(page.body.contains("No shift is open"), "{}", page.body);
    assert_eq!(store.pending_count().await.unwrap().0, 0);
    let page = k.get("/shift").await;
    assert!(page.body.contains("id=\"no-shift\""), "{}", page.body);
    // A float that is not an amount is refused; 500 opens the shift.
    k.post("/shift/open", &[("amount", "fem hundra")]).await;
    assert!(k.get("/shift").await.body.contains("id=\"message\""));
    k.post("/shift/open", &[("amount", "500")]).await;
    k.post("/pay", &[("t-cash", "20")]).await; // 12.90 -> 13, 7 back
    k.post("/scan", &[("code", "OL-33"), ("quantity", "2")])
        .await;
    k.post("/pay", &[("t-card", "25.80")]).await;
    k.post(
        "/shift/cash",
        &[
            ("kind", "in"),
            ("amount", "100"),
            ("note", "växel från banken"),
        ],
    )
    .await;
    k.post(
        "/shift/cash",
        &[("kind", "out"), ("amount", "50"), ("note", "")],
    )
    .await;
    k.post("/shift/cash", &[("kind", "sideways"), ("amount", "50")])
        .await;
    let x = k.get("/shift").await;
    assert!(x.body.contains("X report"), "{}", x.body);
    assert!(x.body.contains("2 sales"), "{}", x.body);
    // 500 + 13 + 100 - 50
    assert!(x.body.contains("563.00"), "{}", x.body);
    // Counted 560: 3 short.
    let a = k.post("/shift/close", &[("amount", "560")]).await;
    let z = a.location.expect("the Z report");
    assert!(z.starts_with("/shifts/"), "{z}");
    let page = k.get(&z).await;
    assert!(
        page.body.contains("Z report") && page.body.contains("id=\"over-short\""),
        "{}",
        page.body
    );
    let line = &page.body[page.body.find("id=\"over-short\"").unwrap()..];
    let line = &line[..line.find("</li>").unwrap()];
    assert!(
        line.contains("3.00") && line.contains('-'),
        "3 short: {line}"
    );
    // Closed: no more cash moves, no sales until a new shift.
    k.post("/shift/cash", &[("kind", "in"), ("amount", "10")])
        .await;
    assert!(k.get("/shift").await.body.contains("id=\"message\""));
    k.post("/scan", &[("code", "OL-33")]).await;
    k.post("/pay", &[("t-cash", "20")]).await;
    assert_eq!(store.pending_count().await.unwrap().0, 2);
}

#[tokio::test]
async fn a_return_from_a_receipt_needs_a_managers_pin_above_the_limit() {
    let (_dir, store, mut k) = kiosk().await;
    k.post("/unlock", &[("cashier", "c-kim"), ("pin", "4711")])
        .await;
    k.post("/shift/open", &[("amount", "500")]).await;
    // Four six-packs to Alva: 4 × 64.90 = 259.60, paid 260 in cash.
    k.post(
        "/scan",
        &[("code", &ean13("731000100012")), ("quantity", "4")],
    )
    .await;
    k.post("/member", &[("number", "1042")]).await;
    let receipt = k
        .post("/pay", &[("t-cash", "260")])
        .await
        .location
        .expect("the receipt");
    let id = receipt.trim_start_matches("/receipts/").to_owned();
    let page = k.get(&receipt).await;
    assert!(page.body.contains("id=\"return-items\""), "{}", page.body);
    let form = k.get(&format!("/returns/{id}")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains("name=\"q-1\"") && form.body.contains("value=\"wallet\""),
        "{}",
        form.body
    );

    // One back in cash: below the limit (100), no manager.
    let a = k
        .post(
            &format!("/returns/{id}"),
            &[("q-1", "1"), ("tender", "cash")],
        )
        .await;
    let back = a.location.expect("the return's receipt");
    assert!(back.starts_with("/receipts/") && back != receipt, "{back}");
    let page = k.get(&back).await;
    assert!(
        page.body.contains("id=\"return\"") && page.body.contains("kassa-1-1"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("id=\"return-items\""));

    // Two more to the wallet: 129.80, above the limit. Without a manager, with a cashier who is
    // no manager, with a wrong PIN: refused, and nothing is written.
    let before = store.recent(100).await.unwrap().len();
    for (manager, pin, says) in [
        ("", "", "Välj chefen"),
        ("c-kim", "4711", "Chefens PIN-kod är fel"),
        ("c-sam", "9999", "Chefens PIN-kod är fel"),
    ] {
        let a = k
            .post(
                &format!("/returns/{id}"),
                &[
                    ("q-1", "2"),
                    ("tender", "wallet"),
                    ("manager", manager),
                    ("manager_pin", pin),
                ],
            )
            .await;
        assert_eq!(
            a.location.as_deref(),
            Some(format!("/returns/{id}").as_str())
        );
        let page = k.get(&format!("/returns/{id}")).await;
        assert!(page.body.contains(says), "{manager}: {}", page.body);
    }
    assert_eq!(store.recent(100).await.unwrap().len(), before);
    let a = k
        .post(
            &format!("/returns/{id}"),
            &[
                ("q-1", "2"),
                ("tender", "wallet"),
                ("manager", "c-sam"),
                ("manager_pin", "1234"),
            ],
        )
        .await;
    assert!(a.location.unwrap().starts_with("/receipts/"));
    let last = &store.recent(1).await.unwrap()[0];
    assert_eq!(last.approved_by.as_deref(), Some("c-sam"));
    assert_eq!(last.total, rust_decimal_macros::dec!(-129.80));
    // Two asked back, one left: refused with what is left.
    k.post(
        &format!("/returns/{id}"),
        &[("q-1", "2"), ("tender", "cash")],
    )
    .await;
    let page = k.get(&format!("/returns/{id}")).await;
    assert!(page.body.contains("högst 1"), "{}", page.body);
    // A form without its token does nothing.
    k.csrf = "forged".into();
    let a = k
        .post(
            &format!("/returns/{id}"),
            &[("q-1", "1"), ("tender", "cash")],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(store.recent(100).await.unwrap().len(), before + 1);
}

#[tokio::test]
async fn an_unknown_code_sells_at_an_open_price_that_a_manager_allows() {
    let (_dir, store, mut k) = kiosk().await;
    k.post("/unlock", &[("cashier", "c-kim"), ("pin", "4711")])
        .await;
    k.post("/shift/open", &[("amount", "0")]).await;
    let unknown = ean13("731999999999");
    k.post("/scan", &[("code", &unknown)]).await;
    let page = k.get("/").await;
    assert!(
        page.body.contains("id=\"open-price\"") && page.body.contains(&unknown),
        "{}",
        page.body
    );
    // The form shows once: the next page is the plain sale again.
    assert!(!k.get("/").await.body.contains("id=\"open-price\""));
    let fields = |manager: &'static str, pin: &'static str, amount: &'static str| {
        vec![
            ("code", unknown.clone()),
            ("name", "Honung från grannen".to_owned()),
            ("amount", amount.to_owned()),
            ("vat_class", "food".to_owned()),
            ("manager", manager.to_owned()),
            ("manager_pin", pin.to_owned()),
        ]
    };
    // Without a manager, with a wrong PIN, with no price: nothing is added.
    for (m, p, a, says) in [
        ("", "", "89", "Välj chefen"),
        ("c-sam", "0000", "89", "Chefens PIN-kod är fel"),
        ("c-sam", "1234", "0", "ett pris över noll"),
        ("c-sam", "1234", "12.345", "ett pris över noll"),
    ] {
        let f = fields(m, p, a);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        k.post("/open-price", &f).await;
        let page = k.get("/").await;
        assert!(page.body.contains(says), "{m} {a}: {}", page.body);
        assert!(page.body.contains("id=\"open-price\""), "the form again");
    }
    let f = fields("c-sam", "1234", "89,50");
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    k.post("/open-price", &f).await;
    let page = k.get("/").await;
    assert!(page.body.contains("Honung från grannen"), "{}", page.body);
    assert!(
        page.body.contains("89.50") || page.body.contains("89,50"),
        "{}",
        page.body
    );
    k.post("/pay", &[("t-cash", "90")]).await;
    let sale = &store.recent(1).await.unwrap()[0];
    assert_eq!(sale.approved_by.as_deref(), Some("c-sam"));
    let line = &sale.lines[0];
    assert!(line.product_id.is_nil());
    assert_eq!(
        (
            line.sku.as_str(),
            line.name.as_str(),
            line.amount,
            line.vat_percent
        ),
        (
            unknown.as_str(),
            "Honung från grannen",
            rust_decimal_macros::dec!(89.50),
            rust_decimal_macros::dec!(6)
        )
    );
    assert_eq!(sale.total, rust_decimal_macros::dec!(89.50));
}

#[tokio::test]
async fn workers_clock_in_and_out_with_their_pin_and_nothing_else() {
    let (_dir, store, mut k) = kiosk().await;
    // No cashier need be unlocked: the clock is on the locked screen too.
    assert!(k.get("/").await.body.contains("id=\"clock-link\""));
    let page = k.get("/clock").await;
    assert!(page.body.contains("id=\"nobody-inside\""), "{}", page.body);
    // A wrong PIN clocks nothing.
    k.post(
        "/clock",
        &[("who", "c-kim"), ("pin", "0000"), ("kind", "in")],
    )
    .await;
    assert!(k.get("/clock").await.body.contains("id=\"message\""));
    assert!(store.pending_clock(10).await.unwrap().is_empty());
    // Out before in: refused.
    k.post(
        "/clock",
        &[("who", "c-kim"), ("pin", "4711"), ("kind", "out")],
    )
    .await;
    let page = k.get("/clock").await;
    assert!(page.body.contains("inte instämplad"), "{}", page.body);
    let a = k
        .post(
            "/clock",
            &[("who", "c-kim"), ("pin", "4711"), ("kind", "in")],
        )
        .await;
    assert_eq!(a.location.as_deref(), Some("/clock"));
    let page = k.get("/clock").await;
    assert!(page.body.contains("Kim stämplade in"), "{}", page.body);
    assert!(
        page.body.contains("id=\"inside\"") && page.body.contains("Kim"),
        "{}",
        page.body
    );
    // In twice: refused; then out.
    k.post(
        "/clock",
        &[("who", "c-kim"), ("pin", "4711"), ("kind", "in")],
    )
    .await;
    assert!(k.get("/clock").await.body.contains("redan instämplad"));
    k.post(
        "/clock",
        &[("who", "c-kim"), ("pin", "4711"), ("kind", "out")],
    )
    .await;
    let page = k.get("/clock").await;
    assert!(page.body.contains("Kim stämplade ut"), "{}", page.body);
    let events = store.pending_clock(10).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["in", "out"]);
    assert!(store.clocked_in().await.unwrap().is_empty());
    // Kept: the till cannot drop or rewrite a clocking.
    assert!(sqlx::query("delete from clock_event")
        .execute(store.pool())
        .await
        .is_err());
    // Marked once central has them.
    store
        .clock_uploaded(&events.iter().map(|e| e.event_id).collect::<Vec<_>>())
        .await
        .unwrap();
    assert!(store.pending_clock(10).await.unwrap().is_empty());
    // Without the form's token, nothing.
    k.csrf = "forged".into();
    let a = k
        .post(
            "/clock",
            &[("who", "c-kim"), ("pin", "4711"), ("kind", "in")],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_cashier_finds_a_product_by_name_and_weighs_it_less_its_container() {
    let (_dir, store, mut k) = kiosk().await;
    k.post("/unlock", &[("cashier", "c-kim"), ("pin", "4711")])
        .await;
    // Words in the scan field look among the names.
    let a = k.post("/scan", &[("code", "grevé")]).await;
    assert_eq!(a.location.as_deref(), Some("/search?q=grev%C3%A9"));
    let page = k.get("/search?q=grev").await;
    assert!(
        page.body.contains("Grevé") && page.body.contains("OST-GRE"),
        "{}",
        page.body
    );
    let page = k.get("/search?q=nothing-like-it").await;
    assert!(page.body.contains("id=\"nothing-found\""));
    // 0.640 kg on the scale in a 0.140 kg box: 0.5 kg of cheese at 139.00.
    k.post(
        "/scan",
        &[
            ("code", "OST-GRE"),
            ("quantity", "0,640"),
            ("tare", "0,140"),
        ],
    )
    .await;
    let page = k.get("/").await;
    assert!(
        page.body.contains("69,50") && page.body.contains("0.5 kg"),
        "{}",
        page.body
    );
    // A tare as heavy as the weight, or on goods sold by the piece: refused, nothing added.
    let before = k.get("/").await.body.matches("<tr>").count();
    for (code, q, says) in [
        ("OST-GRE", "0,140", "minus taran"),
        ("HAV-1KG", "2", "efter vikt"),
    ] {
        k.post(
            "/scan",
            &[("code", code), ("quantity", q), ("tare", "0,140")],
        )
        .await;
        let page = k.get("/").await;
        assert!(page.body.contains(says), "{code}: {}", page.body);
    }
    assert_eq!(k.get("/").await.body.matches("<tr>").count(), before);
    let _ = store;
}

#[tokio::test]
async fn a_second_screen_on_the_network_reaches_the_customer_display_and_nothing_else() {
    let (dir, store) = till().await;
    let app = TillApp::new(store.clone(), settings(), "kassa-1", Lang::Sv).unwrap();
    let key = coop_web::session::load_or_create_key(dir.path()).unwrap();
    let session = Arc::new(SessionConfig::new(
        key,
        "till",
        false,
        "http://127.0.0.1:8180".into(),
    ));
    let mut screen = Kiosk {
        router: web::display_router(app, session),
        cookie: String::new(),
        csrf: String::new(),
    };
    let shown = screen.get("/display").await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("id=\"welcome\""), "{}", shown.body);
    assert_eq!(screen.get("/static/kit.css").await.status, StatusCode::OK);
    assert_eq!(screen.get("/").await.location.as_deref(), Some("/display"));
    // The till itself is not on this address: no page, no form, no sale.
    for path in ["/shift", "/sales", "/search?q=a", "/clock", "/healthz"] {
        assert_eq!(
            screen.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    for path in ["/unlock", "/pay", "/drawer", "/display"] {
        let a = screen.post_with(path, None, &[("pin", "4711")]).await;
        assert!(
            matches!(
                a.status,
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
            ),
            "{path}: {}",
            a.status
        );
    }
}

#[tokio::test]
async fn a_locked_till_and_a_form_without_its_token_change_nothing() {
    let (_dir, store, mut k) = kiosk().await;
    let nil = uuid::Uuid::nil();
    let paths = [
        "/scan".to_owned(),
        "/pay".into(),
        "/park".into(),
        "/lines/1/void".into(),
        "/member".into(),
        "/shift/open".into(),
        "/shift/cash".into(),
        "/shift/close".into(),
        "/drawer".into(),
        format!("/receipts/{nil}/print"),
        format!("/shifts/{nil}/print"),
        format!("/shifts/{nil}/terminal-day"),
        format!("/returns/{nil}"),
    ];
    let fields = [
        ("code", "OL-33"),
        ("amount", "500"),
        ("t-cash", "20"),
        ("kind", "in"),
        ("manager", "c-sam"),
        ("manager_pin", "1234"),
        ("q-1", "1"),
        ("tender", "cash"),
    ];
    // Nobody has unlocked the till: every action sends back to the locked screen.
    for path in &paths {
        let a = k.post(path, &fields).await;
        assert_eq!(a.location.as_deref(), Some("/"), "{path}: {}", a.status);
    }
    // Unlocked, but a form without its token (or with another session's) is refused.
    k.post("/unlock", &[("cashier", "c-kim"), ("pin", "4711")])
        .await;
    for token in [None, Some("not-this-sessions-token")] {
        for path in &paths {
            let a = k.post_with(path, token, &fields).await;
            assert!(
                a.status.is_client_error(),
                "{path} with {token:?}: {}",
                a.status
            );
        }
    }
    // Nothing happened: no shift, no sale, no basket line, no drawer opened.
    assert!(store.shifts(1).await.unwrap().is_empty());
    assert!(store.recent(1).await.unwrap().is_empty());
    assert!(store.drawer_openings().await.unwrap().is_empty());
    let page = k.get("/").await;
    assert!(
        !page.body.contains("Lättöl"),
        "a line was scanned: {}",
        page.body
    );
}
