//! Purchase orders from the reorder suggestions: a draft's quantities change all or nothing, a
//! sent order is received once, the good units go into stock and short and damaged ones stay on
//! the order; the CSV for the supplier carries the supplier's article numbers.

use chrono::{Duration, NaiveDate};
use coop_ims::catalogue;
use coop_ims::purchase::{self, OrderError};
use coop_ims::stock::{self, MovementKind, NewMovement};
use rust_decimal_macros::dec;
use uuid::Uuid;

use crate::catalogue::{d, database, form};

/// Kvarnen (mail `kvarn@example.org`, five days' lead time) and its rye flour in cases of six,
/// sold one a day for four weeks with none left: a draft order for 18. Answers the shop, the
/// supplier, the flour, the draft and the day it was made.
pub async fn flour_order(pool: &sqlx::PgPool) -> (Uuid, Uuid, Uuid, Uuid, NaiveDate) {
    let pool = pool.clone();
    let shop = stock::locations(&pool)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.code == "shop")
        .unwrap()
        .location_id;
    let supplier = catalogue::supplier(&pool, "Kvarnen", Some("kvarn@example.org"), 5)
        .await
        .unwrap();
    let mut f = form("RAG", "Rågmjöl 2 kg", "each", "39.90", "");
    f.supplier = supplier.to_string();
    f.supplier_article = "K-200".into();
    f.case_size = "6".into();
    let flour = crate::catalogue::product(&pool, &f).await;
    let today = d(2026, 11, 30);
    // 1 a day for four weeks, none left: (5 + 7 + 3) × 1 = 15 wanted: three cases of 6.
    stock::record_one(
        &pool,
        &NewMovement {
            product_id: flour,
            location_id: shop,
            kind: MovementKind::Received,
            reason: None,
            quantity: dec!(28),
            on: today - Duration::days(30),
            source_key: None,
            transfer_id: None,
            note: None,
            by: None,
        },
    )
    .await
    .unwrap();
    for i in 0..28 {
        stock::record_one(
            &pool,
            &NewMovement {
                product_id: flour,
                location_id: shop,
                kind: MovementKind::Sold,
                reason: None,
                quantity: dec!(-1),
                on: today - Duration::days(i),
                source_key: None,
                transfer_id: None,
                note: None,
                by: None,
            },
        )
        .await
        .unwrap();
    }
    let id = purchase::from_suggestions(&pool, supplier, shop, today, None)
        .await
        .unwrap();
    (shop, supplier, flour, id, today)
}

#[tokio::test]
async fn an_order_goes_from_suggestion_to_stock_with_its_shortfalls_kept() {
    let pool = database().await;
    let (shop, _supplier, flour, id, today) = flour_order(&pool).await;
    let (order, lines) = purchase::get(&pool, id).await.unwrap().unwrap();
    assert_eq!(
        (order.status.as_str(), lines.len(), lines[0].quantity),
        ("draft", 1, dec!(18))
    );
    assert!(matches!(
        purchase::from_suggestions(&pool, uuid::Uuid::new_v4(), shop, today, None).await,
        Err(OrderError::Empty)
    ));

    // Bad quantities change nothing; a good one does.
    assert!(purchase::set_quantities(&pool, id, &[(flour, dec!(1.5))])
        .await
        .is_err());
    assert!(purchase::set_quantities(
        &pool,
        id,
        &[(flour, dec!(12)), (uuid::Uuid::new_v4(), dec!(1))]
    )
    .await
    .is_err());
    assert_eq!(
        purchase::get(&pool, id).await.unwrap().unwrap().1[0].quantity,
        dec!(18)
    );
    purchase::set_quantities(&pool, id, &[(flour, dec!(12))])
        .await
        .unwrap();
    let csv = String::from_utf8(
        purchase::csv(&order, &purchase::get(&pool, id).await.unwrap().unwrap().1).unwrap(),
    )
    .unwrap();
    assert_eq!(
        csv.lines().nth(1),
        Some(format!("{};K-200;RAG;Rågmjöl 2 kg;each;12;2;10.00", order.number).as_str())
    );

    // Not received before it is sent; then 10 good, 1 damaged, 1 short.
    assert!(matches!(
        purchase::receive(&pool, id, &[(flour, dec!(10), dec!(1))], today, None).await,
        Err(OrderError::WrongStatus(_))
    ));
    purchase::send(&pool, id).await.unwrap();
    assert!(matches!(
        purchase::set_quantities(&pool, id, &[(flour, dec!(6))]).await,
        Err(OrderError::WrongStatus(_))
    ));
    assert!(
        purchase::receive(&pool, id, &[(flour, dec!(-1), dec!(0))], today, None)
            .await
            .is_err()
    );
    purchase::receive(&pool, id, &[(flour, dec!(10), dec!(1))], today, None)
        .await
        .unwrap();
    let (order, lines) = purchase::get(&pool, id).await.unwrap().unwrap();
    assert_eq!(order.status, "received");
    assert_eq!(
        (lines[0].received, lines[0].damaged, lines[0].short()),
        (Some(dec!(10)), Some(dec!(1)), Some(dec!(1)))
    );
    let on_hand = stock::levels(&pool, flour)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.code == "shop")
        .unwrap()
        .on_hand;
    assert_eq!(on_hand.normalize(), dec!(10), "only the good units");
    assert!(matches!(
        purchase::receive(&pool, id, &[(flour, dec!(10), dec!(0))], today, None).await,
        Err(OrderError::WrongStatus(_))
    ));

    // The PDF for the supplier, read back by an independent reader, in Swedish.
    let translations =
        coop_web::Translations::new(coop_ims::TRANSLATIONS, coop_web::Lang::En).unwrap();
    let t = |key: &str| translations.text(coop_web::Lang::Sv, key);
    let bytes = purchase::pdf(
        &order,
        &lines,
        &purchase::PdfLabels {
            t: &t,
            format: coop_web::format::Format::new(coop_web::Lang::Sv, chrono_tz::Europe::Stockholm),
            currency: coop_domain::Currency::SEK,
            org_name: "Röstånga Matkooperativ",
            org_number: Some("769600-0000"),
        },
    );
    let doc = lopdf::Document::load_mem(&bytes).unwrap();
    let text = doc.extract_text(&[1]).unwrap().replace('\u{a0}', " ");
    for expected in [
        format!("Inköpsorder {}", order.number),
        "Kvarnen".to_owned(),
        "K-200".to_owned(),
        "Rågmjöl 2 kg".to_owned(),
        "120,00 kr".to_owned(),
    ] {
        assert!(text.contains(&expected), "{expected:?} not in:\n{text}");
    }
}

/// The manager who sends an order; replies from the supplier go to them.
fn buyer() -> coop_web::auth::CurrentUser {
    let mut u = crate::http::user(&[coop_domain::Role::Member, coop_domain::Role::Manager]);
    u.email = Some("inkop@coop.example.org".into());
    u
}

#[tokio::test]
async fn an_order_whose_mail_fails_stays_sent_and_the_page_offers_to_try_again() {
    // Nothing listens on port 9: the mail server is down.
    let app = crate::http::app_with("http://127.0.0.1:9", |v| {
        v["mail"] = serde_json::json!({
            "from": "Testköpinge Matkooperativ <noreply@coop.example.org>",
            "smtp_host": "127.0.0.1",
            "smtp_port": 9,
            "smtp_security": "none",
        });
    })
    .await;
    let (_, _, _, id, _) = flour_order(&app.pool).await;
    let b = crate::http::Browser::open(&app).await;
    let manager = buyer();
    let page = b.get(&format!("/orders/{id}"), Some(&manager)).await;
    assert!(
        page.body.contains("name=\"mail\"") && page.body.contains("kvarn@example.org"),
        "the draft offers to mail the order: {}",
        page.body
    );
    // Mailing a draft is refused: it is sent first.
    let a = b
        .post(&format!("/orders/{id}/mail"), &[], Some(&manager))
        .await;
    assert_eq!(
        a.status,
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        a.body
    );
    assert!(a.body.contains("draft"), "{}", a.body);

    let a = b
        .post(
            &format!("/orders/{id}/send"),
            &[("mail", "on")],
            Some(&manager),
        )
        .await;
    assert_eq!(a.status, axum::http::StatusCode::SEE_OTHER, "{}", a.body);
    let to = a.location.unwrap();
    assert!(to.ends_with(&format!("/orders/{id}?mailed=failed")), "{to}");
    let (order, _) = purchase::get(&app.pool, id).await.unwrap().unwrap();
    assert_eq!((order.status.as_str(), order.mailed_to), ("sent", None));
    let page = b
        .get(&format!("/orders/{id}?mailed=failed"), Some(&manager))
        .await;
    assert!(page.body.contains("role=\"alert\""), "{}", page.body);
    assert!(
        page.body.contains(&format!("/orders/{id}/mail\"")),
        "{}",
        page.body
    );
    // Trying again fails the same way and changes nothing.
    let a = b
        .post(&format!("/orders/{id}/mail"), &[], Some(&manager))
        .await;
    assert!(a.location.unwrap().ends_with("mailed=failed"));
    assert_eq!(
        purchase::get(&app.pool, id)
            .await
            .unwrap()
            .unwrap()
            .0
            .mailed_at,
        None
    );
}

#[tokio::test]
async fn without_a_mail_server_an_order_is_sent_without_the_offer_to_mail_it() {
    let app = crate::http::app().await;
    let (_, _, _, id, _) = flour_order(&app.pool).await;
    let b = crate::http::Browser::open(&app).await;
    let page = b.get(&format!("/orders/{id}"), Some(&buyer())).await;
    assert!(!page.body.contains("name=\"mail\""), "{}", page.body);
    // A hand-made request to mail it says it could not, and the order is sent.
    let a = b
        .post(
            &format!("/orders/{id}/send"),
            &[("mail", "on")],
            Some(&buyer()),
        )
        .await;
    assert!(a.location.unwrap().ends_with("mailed=unconfigured"));
    let (order, _) = purchase::get(&app.pool, id).await.unwrap().unwrap();
    assert_eq!((order.status.as_str(), order.mailed_to), ("sent", None));
}

#[cfg(feature = "interop")]
#[tokio::test]
async fn external_a_sent_order_reaches_the_supplier_with_its_pdf_and_csv() {
    use base64::Engine as _;
    let smtp = coop_testkit::smtp::SmtpCapture::start(false);
    // A Swedish co-op: the supplier gets Swedish, whatever the manager reads.
    let app = crate::http::app_with("http://127.0.0.1:9", |v| {
        smtp.configure(v);
        v["locale"]["default"] = serde_json::json!("sv");
    })
    .await;
    let (_, _, _, id, _) = flour_order(&app.pool).await;
    let number = purchase::get(&app.pool, id)
        .await
        .unwrap()
        .unwrap()
        .0
        .number;
    let b = crate::http::Browser::open(&app).await;
    let manager = buyer();
    let a = b
        .post(
            &format!("/orders/{id}/send?lang=en"),
            &[("mail", "on")],
            Some(&manager),
        )
        .await;
    assert_eq!(a.status, axum::http::StatusCode::SEE_OTHER, "{}", a.body);
    assert!(a.location.unwrap().ends_with("mailed=sent"));

    let mail = smtp.message(1).await;
    assert_eq!(mail["defects"], serde_json::json!([]), "{mail:#}");
    assert_eq!(
        mail["to"],
        serde_json::json!([["Kvarnen", "kvarn@example.org"]])
    );
    assert_eq!(
        mail["reply_to"],
        serde_json::json!(["inkop@coop.example.org"])
    );
    assert_eq!(
        mail["subject"],
        format!("Beställning {number} från Testköpinge Matkooperativ").as_str()
    );
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains("Leverera till: ") && text.contains("inkop@coop.example.org"),
        "{text}"
    );
    let files = mail["attachments"].as_array().unwrap();
    let names: Vec<&str> = files
        .iter()
        .map(|f| f["filename"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [format!("order-{number}.pdf"), format!("order-{number}.csv")]
    );
    let bytes = |i: usize| {
        base64::engine::general_purpose::STANDARD
            .decode(files[i]["base64"].as_str().unwrap())
            .unwrap()
    };
    // The CSV is the one the order page offers, byte for byte.
    let csv = b.get(&format!("/orders/{id}/csv"), Some(&manager)).await;
    assert_eq!(String::from_utf8(bytes(1)).unwrap(), csv.body);
    assert!(
        csv.body.contains(";K-200;RAG;Rågmjöl 2 kg;"),
        "{}",
        csv.body
    );
    // The PDF, read by poppler's pdftotext, is in Swedish.
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("order.pdf");
    std::fs::write(&pdf, bytes(0)).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout)
        .unwrap()
        .replace('\u{a0}', " ");
    for expected in [
        format!("Inköpsorder {number}"),
        "Kvarnen".to_owned(),
        "K-200".to_owned(),
        "Rågmjöl 2 kg".to_owned(),
    ] {
        assert!(text.contains(&expected), "{expected:?} not in:\n{text}");
    }

    // The page says where and when it went; mailing again sends a second copy.
    let page = b.get(&format!("/orders/{id}"), Some(&manager)).await;
    assert!(page.body.contains("id=\"mailed\""), "{}", page.body);
    let (order, _) = purchase::get(&app.pool, id).await.unwrap().unwrap();
    assert_eq!(order.mailed_to.as_deref(), Some("kvarn@example.org"));
    let first = order.mailed_at.unwrap();
    let a = b
        .post(&format!("/orders/{id}/mail"), &[], Some(&manager))
        .await;
    assert!(a.location.unwrap().ends_with("mailed=sent"));
    smtp.wait_for(2).await;
    let (order, _) = purchase::get(&app.pool, id).await.unwrap().unwrap();
    assert!(order.mailed_at.unwrap() > first);
}
