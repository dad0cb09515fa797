//! The browser pass over the till's UI (headless Chromium, axe-core and the house rules; see
//! tests/browser/README.md), English and Swedish, light and dark, desktop and phone: the PIN
//! pad, a sale with lines, a refused code, payment and the receipt (with the printer's problem
//! shown), the customer display, the X report with the drawer's "no sale", and the Z report. Screenshots are kept as the
//! test's artefacts.

use std::sync::Arc;

use coop_pos_till::store::Cashier;
use coop_pos_till::web::{self, TillApp};
use coop_testkit::browser::check;
use coop_web::session::SessionConfig;
use coop_web::Lang;
use serde_json::{json, Value};

use crate::checkout::{settings, till};

fn session(lang: &str) -> Value {
    let en = lang == "en";
    json!({
        "name": format!("cashier ({lang})"),
        "steps": [
            { "visit": format!("/?lang={lang}") },
            check("pin pad", lang, json!({ "expect_status": 200, "expect_selector": "input#pin", "expect_focus": "#pin" })),
            { "fill": [{ "name": "pin", "value": "4711" }] },
            { "submit": { "button": if en { "Unlock" } else { "Lås upp" } } },
            { "visit": "/shift" },
            check("shift closed", lang, json!({ "expect_status": 200, "expect_selector": "input#float" })),
            { "fill": [{ "name": "amount", "value": "500" }] },
            { "submit": { "button": if en { "Open the shift" } else { "Öppna passet" } } },
            check("empty basket", lang, json!({ "expect_status": 200, "expect_selector": ["input#code", "#empty"], "expect_focus": "#code" })),
            { "fill": [{ "name": "code", "value": "HAV-1KG" }] },
            { "submit": "enter" },
            { "fill": [{ "name": "code", "value": "4011" }, { "name": "quantity", "value": "0.750" }] },
            { "submit": "enter" },
            { "fill": [{ "name": "code", "value": "7319999999999" }] },
            { "submit": "enter" },
            check("sale with a refused code", lang, json!({ "expect_status": 200, "expect_selector": ["#total", "#message"], "expect_focus": "#code" })),
            { "fill": [{ "name": "t-cash", "value": "100" }] },
            { "submit": { "button": if en { "Complete the sale" } else { "Slutför köpet" } } },
            // The printer (nothing listens where it should be) does not answer: the receipt page
            // says so and offers to print again.
            check("receipt", lang, json!({ "expect_status": 200, "expect_selector": ["#receipt-number", "#change", "#reprint"] })),
            { "visit": "/display" },
            check("customer display", lang, json!({
                "expect_status": 200,
                "expect_selector": "#display-change",
                "allow": { "meta-refresh": "the customer's second screen, which nobody operates: it follows the till every second without a script, and has nothing to read at length or type" },
            })),
            { "visit": "/" },
            check("printer problem", lang, json!({ "expect_status": 200, "expect_selector": "#device-problem", "expect_focus": "#code" })),
            { "visit": "/sales" },
            check("last sales", lang, json!({ "expect_status": 200, "expect_selector": "main a" })),
            { "visit": "/search?q=hav" },
            check("search by name", lang, json!({ "expect_status": 200, "expect_selector": "#found form", "expect_focus": "#q" })),
            { "visit": "/clock" },
            check("time clock", lang, json!({ "expect_status": 200, "expect_selector": ["#clock-in", "#clock-out"], "expect_focus": "#pin" })),
            { "visit": "/shift" },
            check("x report", lang, json!({ "expect_status": 200, "expect_selector": ["#expected-cash", "input#counted", "#no-sale select", "#print-report"] })),
            { "fill": [{ "name": "amount", "value": "560", "all": true }] },
            { "submit": { "button": if en { "Close and print the Z report" } else { "Stäng och skriv ut Z-rapporten" } } },
            check("z report", lang, json!({ "expect_status": 200, "expect_selector": "#over-short" })),
        ]
    })
}

#[tokio::test]
async fn external_the_till_passes_the_browser_checks() {
    let (dir, store) = till().await;
    store
        .set_cashiers(&[Cashier {
            sub: "c-kim".into(),
            name: "Kim".into(),
            pin_hash: coop_pos_till::pin::hash("4711".into()).await,
            manager: false,
        }])
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut app = TillApp::new(store, settings(), "kassa-1", Lang::Sv).unwrap();
    // A printer and a drawer that are not there: the pages show the problem.
    app.devices = Arc::new(coop_pos_till::devices::Devices::new(
        &coop_pos_till::devices::DevicesConfig {
            printer: Some(coop_pos_devices::printer::PrinterConfig::Network {
                address: "127.0.0.1:9".into(),
            }),
            drawer: true,
            ..Default::default()
        },
    ));
    let key = coop_web::session::load_or_create_key(dir.path()).unwrap();
    let session_cfg = Arc::new(SessionConfig::new(key, "till", false, base.clone()));
    let _served = coop_testkit::http::serve_on(listener, web::router(app, session_cfg));
    let sessions = vec![session("en"), session("sv")];
    tokio::task::spawn_blocking(move || {
        coop_testkit::browser::run("coop-pos-till", &base, sessions)
    })
    .await
    .unwrap();
}

/// The screen a till shows before it can sell (its pairing code), in English and Swedish. It
/// reloads itself every 5 seconds so that an unattended kiosk moves on to the till's own screen
/// once a manager has paired it, with no script: axe's `meta-refresh` is allowed for it, with
/// that reason; every other rule applies.
#[tokio::test]
async fn external_the_pairing_screen_passes_the_browser_checks() {
    use std::sync::atomic::AtomicBool;
    for lang in [Lang::En, Lang::Sv] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let screen = coop_pos_till::run::HoldingScreen::serve(
            listener,
            lang,
            Arc::new(AtomicBool::new(false)),
        )
        .unwrap();
        screen.show(
            "till-pair-title",
            "till-pair-intro",
            Some(("BCDF-GHJK", "https://coop.example.org/device")),
        );
        let code = lang.code();
        let sessions = vec![json!({
            "name": format!("pairing ({code})"),
            "steps": [
                { "visit": "/" },
                check("pairing code", code, json!({
                    "expect_status": 200,
                    "expect_selector": "#pair-code",
                    "allow": { "meta-refresh": "an unattended kiosk screen that must move on to the till once paired, without a script; nothing on it is read or typed by the cashier" },
                })),
            ]
        })];
        tokio::task::spawn_blocking(move || {
            coop_testkit::browser::run("coop-pos-till", &base, sessions)
        })
        .await
        .unwrap();
        screen.stop().await.unwrap();
    }
}
