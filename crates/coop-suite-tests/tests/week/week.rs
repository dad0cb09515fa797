//! The week, step by step. Each step says what a person does and checks what they see; the end
//! checks that the services agree with each other.

use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use uuid::Uuid;

use coop_testkit::browser::check;

use crate::browser::Page;
use crate::people::{link_in, mail_to, Person};
use crate::suite::Suite;

/// The admin invites `who` with `roles` in `lang`; they accept through the emailed link.
pub async fn invite(
    suite: &Suite,
    admin: &mut Person,
    who: &mut Person,
    roles: &[&str],
    lang: &str,
) {
    let page = admin.open(suite, "sso", "/admin/members/invite").await;
    let mut fill = vec![("email", who.email), ("name", who.name), ("lang", lang)];
    fill.extend(roles.iter().map(|r| ("role", *r)));
    let sent = admin
        .browser
        .submit(&page, Some("/admin/members/invite"), &fill, None)
        .await;
    assert!(
        sent.text().contains(who.email),
        "the admin is not told the invitation went to {}:\n{}",
        who.email,
        sent.text()
    );
    let subject = if lang == "sv" {
        "Din inbjudan till"
    } else {
        "Your invitation to"
    };
    let mail = mail_to(suite, who.email, subject).await;
    let link = link_in(
        mail["text"].as_str().unwrap(),
        &format!("{}/invite/", suite.url("sso")),
    );
    let page = who.accept(&link).await;
    assert!(page.status < 400);
    // The link works once.
    let again = who.browser.go_until(&link, None, |_| false).await;
    assert_eq!(again.status, 410, "an invitation link used twice");
    who.sign_in(suite).await;
}

/// The first admin, Ada, from the server's console as the operator's guide says: coop-sso's
/// `bootstrap-admin` prints a link, which she accepts, enrolling the second factor.
pub async fn first_admin(suite: &Suite) -> Person {
    let out = suite.cli(
        "sso",
        &[
            "bootstrap-admin",
            "--email",
            "ada@localhost",
            "--name",
            "Ada Admin",
        ],
    );
    let link = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut ada = Person::new("Ada Admin", "ada@localhost");
    ada.accept(&link).await;
    assert!(ada.totp.is_some(), "an admin enrols the second factor");
    ada
}

/// `member` pays `amount` kr into her wallet at the bank and claims it at coop-finance; the
/// bookkeeper confirms it.
pub async fn top_up(suite: &Suite, member: &mut Person, bookkeeper: &mut Person, amount: &str) {
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Stockholm)
        .date_naive()
        .to_string();
    let page = member.open(suite, "finance", "/").await;
    let page = member
        .browser
        .submit(
            &page,
            Some("/top-ups/claim"),
            &[
                ("amount", amount),
                ("paid_on", today.as_str()),
                ("bank_reference", "Swish 1234"),
            ],
            None,
        )
        .await;
    assert!(page.url.contains("claimed=1"), "{}", page.url);
    let page = bookkeeper.open(suite, "finance", "/top-ups").await;
    assert!(page.text().contains(member.name), "{}", page.text());
    let page = bookkeeper
        .browser
        .submit(&page, Some("/confirm"), &[], None)
        .await;
    assert!(page.url.contains("done=confirmed"), "{}", page.url);
}

/// The manager adds a supplier of apples sold by the kilo at 28 kr and starts an order of them
/// at the buyers club. Returns the order's path and the apples' product id.
pub async fn apple_order(suite: &Suite, manager: &mut Person) -> (String, String) {
    let page = manager.open(suite, "buyers_club", "/suppliers").await;
    let page = manager
        .browser
        .submit(
            &page,
            Some("/suppliers"),
            &[
                ("name", "Ingrids äppelgård"),
                ("address", "Äppelvägen 1"),
                ("latitude", "55,99"),
                ("longitude", "13,28"),
                ("order_threshold", "50"),
                ("lead_time_days", "2"),
            ],
            None,
        )
        .await;
    let supplier_url = page.url.clone();
    let page = manager
        .browser
        .submit(
            &page,
            Some("/products"),
            &[
                ("name", "Äpplen Ingrid Marie"),
                ("unit", "kg"),
                ("case_size", "1"),
                ("unit_price", "28,00"),
                ("vat_class", "food"),
            ],
            None,
        )
        .await;
    assert!(
        page.text().contains("Äpplen Ingrid Marie"),
        "{}",
        page.text()
    );
    let supplier = supplier_url.rsplit('/').next().unwrap().to_owned();
    let page = manager
        .open(
            suite,
            "buyers_club",
            &format!("/orders/new?supplier={supplier}"),
        )
        .await;
    let apples = page
        .forms()
        .iter()
        .flat_map(|f| f.names.clone())
        .find_map(|n| n.strip_prefix("p-").map(str::to_owned))
        .expect("the product to choose");
    let ends_on = (chrono::Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .to_string();
    let pick = format!("p-{apples}");
    let page = manager
        .browser
        .submit(
            &page,
            Some("/orders"),
            &[
                ("title", "Äpplen i november"),
                ("ends_on", ends_on.as_str()),
                ("ends_at", "20:00"),
                ("threshold", "50"),
                (pick.as_str(), "on"),
            ],
            None,
        )
        .await;
    (page.path(), apples)
}

/// `member` buys `kilos` of the apples in the order at `order_path`.
pub async fn buy(suite: &Suite, member: &mut Person, order_path: &str, apples: &str, kilos: &str) {
    let (qty, tol) = (format!("q-{apples}"), format!("t-{apples}"));
    let page = member.open(suite, "buyers_club", order_path).await;
    member
        .browser
        .submit(
            &page,
            Some("/purchases"),
            &[(qty.as_str(), kilos), (tol.as_str(), "0")],
            None,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_the_coops_week() {
    let _alone = crate::suite::ALONE.lock().await;
    let started = std::time::Instant::now();
    let mut suite = Suite::start(true).await;
    eprintln!("week: {:?} the suite is up", started.elapsed());

    // Monday: the first admin, from the server's console, as the operator's guide says.
    let mut ada = first_admin(&suite).await;
    ada.sign_in(&suite).await;
    eprintln!("week: {:?} the admin is in", started.elapsed());

    // She invites the shop's people; each accepts by mail. Mia reads Swedish.
    let mut mia = Person::new("Mia Medlem", "mia@localhost");
    let mut carl = Person::new("Carl Cashier", "carl@localhost");
    let mut bea = Person::new("Bea Bookkeeper", "bea@localhost");
    invite(&suite, &mut ada, &mut mia, &["member"], "sv").await;
    invite(
        &suite,
        &mut ada,
        &mut carl,
        &["member", "cashier", "manager"],
        "en",
    )
    .await;
    invite(&suite, &mut ada, &mut bea, &["member", "bookkeeper"], "en").await;
    assert!(bea.totp.is_some(), "a bookkeeper enrols the second factor");
    eprintln!("week: {:?} three members invited", started.elapsed());
    let sso_db = suite.db("sso").await;
    let member_id = |email: &'static str| {
        let db = sso_db.clone();
        async move {
            let row: (Uuid, String) = sqlx::query_as(
                "select member_id, member_number::text from member where email = $1",
            )
            .bind(email)
            .fetch_one(&db)
            .await
            .unwrap();
            row
        }
    };
    let (mia_id, mia_number) = member_id(mia.email).await;
    // As her card and her account page show it.
    let mia_number = format!("{mia_number:0>5}");

    // Tuesday: Mia pays 500 kr into her wallet at the bank and claims it; Bea confirms it.
    top_up(&suite, &mut mia, &mut bea, "500").await;
    let page = mia.open(&suite, "finance", "/?lang=en").await;
    assert_eq!(money(&page, "#available"), dec!(500), "{}", page.text());
    eprintln!("week: {:?} the top-up is confirmed", started.elapsed());

    // Wednesday: Carl starts a buyers-club order of apples by the kilo; Mia buys 3 kg.
    let (order_path, apples) = apple_order(&suite, &mut carl).await;
    buy(&suite, &mut mia, &order_path, &apples, "3").await;
    let page = mia.open(&suite, "finance", "/?lang=en").await;
    assert_eq!(money(&page, "#held"), dec!(84), "3 kg at 28 kr held");

    // Friday: Carl closes it; the delivery weighs 2.85 kg for Mia, which she approves; Carl
    // completes the order and Mia pays for what she got.
    let page = carl.open(&suite, "buyers_club", &order_path).await;
    let page = carl.browser.submit(&page, Some("/close"), &[], None).await;
    assert!(page.text().contains("closed") || page.text().contains("stängd"));
    let mia_sub = mia_id.to_string();
    let page = carl
        .browser
        .submit(
            &page,
            Some("/changes"),
            &[
                ("product", apples.as_str()),
                ("member", mia_sub.as_str()),
                ("quantity", "2,85"),
                ("reason", "Vägd vid leveransen"),
            ],
            None,
        )
        .await;
    assert!(page.status < 400);
    let page = mia.open(&suite, "buyers_club", &order_path).await;
    mia.browser
        .submit(&page, Some("/answer"), &[], Some(("answer", "approve")))
        .await;
    let page = carl.open(&suite, "buyers_club", &order_path).await;
    let page = carl
        .browser
        .submit(&page, Some("/complete"), &[], None)
        .await;
    assert!(
        page.text().contains("completed") || page.text().contains("slutförd"),
        "{}",
        page.text()
    );
    // Her line says what she got: the weighed 2,85 kg, not the 3 kg she asked for.
    let page = mia.open(&suite, "buyers_club", &order_path).await;
    let text = page.text();
    assert!(
        text.contains("→ 2,85 kg") || text.contains("→ 2.85 kg"),
        "{text}"
    );
    // 2.85 kg at 28 kr = 79.80 kr, captured from her hold; the rest is hers again.
    let page = mia.open(&suite, "finance", "/?lang=en").await;
    assert_eq!(money(&page, "#available"), dec!(420.20), "{}", page.text());
    assert_eq!(money(&page, "#held"), dec!(0));
    eprintln!("week: {:?} the order is completed", started.elapsed());

    // Saturday: a till is set up and paired by Carl through the device grant.
    suite.start_till(None);
    let till_url = suite.till.as_ref().unwrap().url.clone();
    let kiosk = crate::browser::Browser::new("the till's screen");
    let code = pairing_code(&kiosk, &till_url).await;
    carl.approve_device(&suite, &code, "Kassa 1").await;
    wait_for(Duration::from_secs(60), || async {
        let r = kiosk.try_get(&format!("{till_url}/healthz")).await?;
        (r.status == 200).then_some(())
    })
    .await
    .expect("the paired till becomes ready");
    // Carl chooses his till PIN at central; the till learns it in its next round.
    let page = carl.open(&suite, "pos", "/pin").await;
    carl.browser
        .submit(
            &page,
            Some("/pin"),
            &[("pin", "4711"), ("again", "4711")],
            None,
        )
        .await;
    let page = wait_for(Duration::from_secs(60), || async {
        let page = kiosk.get(&format!("{till_url}/")).await;
        page.body.contains("name=\"cashier\"").then_some(page)
    })
    .await
    .expect("the till lists its cashiers");
    kiosk
        .submit(&page, Some("/unlock"), &[("pin", "4711")], None)
        .await;
    let page = kiosk.get(&format!("{till_url}/shift")).await;
    let page = kiosk
        .submit(&page, Some("/shift/open"), &[("amount", "500")], None)
        .await;
    eprintln!("week: {:?} the till is paired and open", started.elapsed());

    // What the shop holds of oats before the sales, as Carl sees it at coop-ims.
    let list = carl.open(&suite, "ims", "/products?q=HAV-1KG").await;
    let oats_page = list
        .links("a[href*='/products/']")
        .into_iter()
        .find(|l| !l.contains('?') && !l.ends_with("/new"))
        .expect("the oats in the product list");
    let oats_path = oats_page.trim_start_matches(suite.url("ims")).to_owned();
    let product = carl.open(&suite, "ims", &oats_path).await;
    let on_hand_before = number(&product, "#on-hand-shop", 3);

    // Mia buys oats from her wallet (the member price); a walk-in pays cash.
    let oats = "7310001000019";
    kiosk
        .submit(&page, Some("/scan"), &[("code", oats)], None)
        .await;
    // The till learns the members from coop-sso's feed, in its rounds.
    let page = wait_for(Duration::from_secs(30), || async {
        let page = kiosk.get(&format!("{till_url}/")).await;
        let page = kiosk
            .submit(
                &page,
                Some("/member"),
                &[("number", mia_number.as_str())],
                None,
            )
            .await;
        page.text().contains(mia.name).then_some(page)
    })
    .await
    .expect("the till attaches Mia to the sale");
    let member_total = money(&page, "#total");
    let wallet = member_total.to_string();
    let receipt = kiosk
        .submit(&page, Some("/pay"), &[("t-wallet", wallet.as_str())], None)
        .await;
    assert!(
        receipt.path().starts_with("/receipts/"),
        "{}",
        receipt.text()
    );
    let page = kiosk.get(&format!("{till_url}/")).await;
    let page = kiosk
        .submit(&page, Some("/scan"), &[("code", oats)], None)
        .await;
    let walk_in_total = money(&page, "#total");
    assert!(
        walk_in_total > member_total,
        "the shelf price is above the member price"
    );
    let receipt = kiosk
        .submit(&page, Some("/pay"), &[("t-cash", "30")], None)
        .await;
    // Cash is rounded to the krona (24.90 is paid with 25).
    let cash_paid = walk_in_total
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    assert_eq!(money(&receipt, "#change"), dec!(30) - cash_paid);
    let page = kiosk.get(&format!("{till_url}/shift")).await;
    let cash = (dec!(500) + cash_paid).to_string();
    let z = kiosk
        .submit(
            &page,
            Some("/shift/close"),
            &[("amount", cash.as_str())],
            None,
        )
        .await;
    assert_eq!(money(&z, "#over-short"), dec!(0), "{}", z.text());
    eprintln!(
        "week: {:?} two sales and the shift closed",
        started.elapsed()
    );

    // Sunday: the books. Both sales reach central, inventory and the ledger, once each.
    let (pos_db, ims_db, finance_db) = (
        suite.db("pos").await,
        suite.db("ims").await,
        suite.db("finance").await,
    );
    let counts = wait_for(Duration::from_secs(60), || async {
        let central: i64 = sqlx::query_scalar("select count(*) from sale")
            .fetch_one(&pos_db)
            .await
            .unwrap();
        let sold: Option<Decimal> = sqlx::query_scalar(
            "select -sum(quantity) from stock_movement where source_key like 'coop-pos:sale:%'",
        )
        .fetch_one(&ims_db)
        .await
        .unwrap();
        let booked: i64 = sqlx::query_scalar(
            "select count(*) from journal_entry where source_key like 'coop-pos:sale:%'",
        )
        .fetch_one(&finance_db)
        .await
        .unwrap();
        (central == 2 && sold == Some(dec!(2)) && booked == 2).then_some((central, sold, booked))
    })
    .await;
    assert!(
        counts.is_some(),
        "the two sales did not reach central, inventory and the ledger once each"
    );
    // Carl sees the stock of oats at coop-ims fall by the two packets.
    let page = carl.open(&suite, "ims", &oats_path).await;
    assert_eq!(number(&page, "#on-hand-shop", 3), on_hand_before - dec!(2));
    // Mia's wallet paid the member price, once; the order's part too.
    let page = mia.open(&suite, "finance", "/?lang=en").await;
    assert_eq!(
        money(&page, "#available"),
        dec!(420.20) - member_total,
        "{}",
        page.text()
    );
    let order_booked: i64 = sqlx::query_scalar(
        "select count(*) from journal_entry where source_key like 'coop-buyers-club:order:%'",
    )
    .fetch_one(&finance_db)
    .await
    .unwrap();
    assert_eq!(order_booked, 1, "the completed order is booked once");
    // Every entry balances (the database holds that too), and the year's SIE file validates,
    // with as many vouchers as the ledger has entries.
    let unbalanced: i64 = sqlx::query_scalar(
        "select count(*) from (select journal_entry_id from journal_line group by 1 having sum(amount) <> 0) u",
    )
    .fetch_one(&finance_db)
    .await
    .unwrap();
    assert_eq!(unbalanced, 0);
    // Once the feeds are quiet (the same count for two seconds), so the file and the count are
    // of the same ledger.
    let mut entries = -1;
    let mut same = 0;
    while same < 4 {
        let now: i64 = sqlx::query_scalar("select count(*) from journal_entry")
            .fetch_one(&finance_db)
            .await
            .unwrap();
        same = if now == entries { same + 1 } else { 0 };
        entries = now;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let page = bea.open(&suite, "finance", "/books").await;
    let sie = page
        .links("a[href*='/sie']")
        .into_iter()
        .find(|l| l.contains("kind=4E") || !l.contains("kind="))
        .expect("a SIE link on /books");
    let r = bea.browser.raw(&sie, None).await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    let summary = coop_finance::sie::validate(&bytes)
        .unwrap_or_else(|problems| panic!("the SIE file does not validate: {problems:?}"));
    assert_eq!(i64::try_from(summary.vouchers).unwrap(), entries);
    eprintln!("week: {:?} the books agree", started.elapsed());

    // Mia signs in to Matrix through coop-sso, joins the co-op's room and finds the order's
    // news there.
    let matrix = suite.synapse.as_ref().unwrap().url();
    let start = format!(
        "{matrix}/_matrix/client/v3/login/sso/redirect/oidc-cooperage?redirectUrl={}",
        coop_testkit::http::urlencode("http://127.0.0.1:9/done")
    );
    let end = mia
        .browser
        .go_until(&start, None, |u| u.starts_with("http://127.0.0.1:9/"))
        .await;
    let token = coop_testkit::http::query_param(&end.url, "loginToken")
        .unwrap_or_else(|| panic!("no login token: ended at {} ({})", end.url, end.text()));
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{matrix}/_matrix/client/v3/login"))
        .json(&json!({ "type": "m.login.token", "token": token }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(login["user_id"], "@mia.medlem:localhost", "{login}");
    let access = login["access_token"].as_str().unwrap().to_owned();
    let joined: Value = http
        .post(format!(
            "{matrix}/_matrix/client/v3/join/{}",
            coop_testkit::http::urlencode(crate::suite::ROOM)
        ))
        .bearer_auth(&access)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let room = joined["room_id"]
        .as_str()
        .unwrap_or_else(|| panic!("join: {joined}"))
        .to_owned();
    let news = wait_for(Duration::from_secs(30), || async {
        let texts: Vec<String> = coop_testkit::synapse::room_texts(&matrix, &access, &room)
            .await
            .into_iter()
            .map(|(_, text)| text)
            .collect();
        (texts
            .iter()
            .filter(|t| t.contains("Äpplen i november"))
            .count()
            >= 3)
            .then_some(texts)
    })
    .await
    .expect("the room has the order's news: opened, closed and completed");
    eprintln!("week: {:?} Mia reads the room: {news:?}", started.elapsed());

    // The same week in a real browser (headless Chromium, axe-core and the house rules of
    // tests/browser): signing in through coop-sso, the member's wallet and order, a till
    // checkout, the bookkeeper's report, in English and Swedish. Its screenshots are the
    // newcomer's tour (docs/tour.md).
    let (sso, fin, club) = (
        suite.url("sso").to_owned(),
        suite.url("finance").to_owned(),
        suite.url("buyers_club").to_owned(),
    );
    // Bea's authenticator shows the next code: hers of a minute ago is used.
    let code = coop_sso::totp::code_at(
        bea.totp.as_ref().unwrap(),
        chrono::Utc::now().timestamp() + 30,
    );
    let year = chrono::Utc::now().format("%Y").to_string();
    let mut sessions = vec![json!({
        "name": "bookkeeper",
        "steps": [
            { "visit": format!("{sso}/login?lang=en") },
            { "fill": [{ "name": "email", "value": bea.email }, { "name": "password", "value": bea.password }] },
            { "submit": "enter" },
            check("second factor", "en", json!({ "expect_status": 200, "expect_selector": "input#code" })),
            { "fill": [{ "name": "code", "value": code }] },
            { "submit": "enter" },
            { "visit": format!("{fin}/reports?from={year}-01-01&to={year}-12-31&lang=en") },
            check("finance report", "en", json!({ "expect_status": 200, "expect_selector": ["#result", "#vat-to-pay"] })),
            { "visit": format!("{fin}/reports?from={year}-01-01&to={year}-12-31&lang=sv") },
            check("finance report", "sv", json!({ "expect_status": 200, "expect_selector": ["#result", "#vat-to-pay"] })),
        ]
    })];
    for lang in ["en", "sv"] {
        sessions.push(json!({
            "name": format!("member ({lang})"),
            "steps": [
                { "visit": format!("{sso}/login?lang={lang}") },
                check("sign-in", lang, json!({ "expect_status": 200, "expect_selector": "input#email" })),
                { "fill": [{ "name": "email", "value": mia.email }, { "name": "password", "value": mia.password }] },
                { "submit": "enter" },
                check("account", lang, json!({ "expect_status": 200, "expect_selector": "#member-name" })),
                { "visit": format!("{fin}/?lang={lang}") },
                check("wallet", lang, json!({ "expect_status": 200, "expect_selector": ["#available", "#reference"] })),
                { "visit": format!("{club}/?lang={lang}") },
                check("orders", lang, json!({ "expect_status": 200 })),
                { "visit": format!("{club}{order_path}?lang={lang}") },
                check("order", lang, json!({ "expect_status": 200, "expect_selector": "#state" })),
            ]
        }));
        sessions.push(json!({
            "name": format!("cashier ({lang})"),
            "steps": [
                { "visit": format!("{till_url}/?lang={lang}") },
                check("till pin pad", lang, json!({ "expect_status": 200, "expect_selector": "input#pin", "expect_focus": "#pin" })),
                { "fill": [{ "name": "pin", "value": "4711" }] },
                { "submit": "enter" },
                { "visit": format!("{till_url}/shift?lang={lang}") },
                { "fill": [{ "name": "amount", "value": "500" }] },
                { "submit": "enter" },
                { "fill": [{ "name": "code", "value": oats }] },
                { "submit": "enter" },
                check("till sale", lang, json!({ "expect_status": 200, "expect_selector": "#total", "expect_focus": "#code" })),
                { "fill": [{ "name": "t-cash", "value": "50" }] },
                { "submit": "enter" },
                check("till receipt", lang, json!({ "expect_status": 200, "expect_selector": ["#receipt-number", "#change"] })),
                { "visit": format!("{till_url}/shift?lang={lang}") },
                { "fill": [{ "name": "amount", "value": "525", "all": true }] },
                { "submit": { "button": if lang == "en" { "Close and print the Z report" } else { "Stäng och skriv ut Z-rapporten" } } },
                check("z report", lang, json!({ "expect_status": 200, "expect_selector": "#over-short" })),
            ]
        }));
    }
    let origins: Vec<String> = crate::suite::SERVICES
        .iter()
        .map(|(key, _)| suite.url(key).to_owned())
        .chain([till_url.clone()])
        .collect();
    let checked = tokio::task::spawn_blocking(move || {
        let origins: Vec<&str> = origins.iter().map(String::as_str).collect();
        coop_testkit::browser::run_across("week", &sso, &origins, sessions)
    })
    .await
    .unwrap();
    eprintln!(
        "week: {:?} {checked} pages pass the browser checks",
        started.elapsed()
    );
}

/// The code a new till shows on its screen to be paired with, waited for (up to a minute).
pub async fn pairing_code(kiosk: &crate::browser::Browser, till_url: &str) -> String {
    wait_for(Duration::from_secs(60), || async {
        let page = kiosk.try_get(&format!("{till_url}/")).await?;
        page.body
            .split_once("id=\"pair-code\">")
            .and_then(|(_, rest)| rest.split_once('<'))
            .map(|(code, _)| code.to_owned())
    })
    .await
    .expect("the till shows a pairing code")
}

/// Polls `f` until it answers something, for up to `limit`.
pub async fn wait_for<T, F, Fut>(limit: Duration, f: F) -> Option<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if started.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The amount shown in the element `css` ("1 234,50 kr" or "1,234.50 kr").
fn money(page: &Page, css: &str) -> Decimal {
    number(page, css, 2)
}

/// The number shown in the element `css`, written with `decimals` decimals.
fn number(page: &Page, css: &str, decimals: usize) -> Decimal {
    let text = coop_testkit::html::Page::parse(&page.body).text(css);
    let kept: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '-' | '−'))
        .map(|c| if c == '−' { '-' } else { c })
        .collect();
    // The last separator is the decimal one; any other groups thousands.
    let normal = match kept.rfind([',', '.']) {
        Some(at) if kept.len() - at == decimals + 1 => {
            let (int, frac) = kept.split_at(at);
            format!("{}.{}", int.replace([',', '.'], ""), &frac[1..])
        }
        _ => kept.replace([',', '.'], ""),
    };
    normal
        .parse()
        .unwrap_or_else(|_| panic!("{css} is not an amount: {text:?}"))
}
