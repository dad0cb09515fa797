//! Purchase orders from the reorder suggestions: a draft's quantities change all or nothing, a
//! sent order is received once, the good units go into stock and short and damaged ones stay on
//! the order; the CSV for the supplier carries the supplier's article numbers.

use chrono::Duration;
use coop_ims::catalogue;
use coop_ims::purchase::{self, OrderError};
use coop_ims::stock::{self, MovementKind, NewMovement};
use rust_decimal_macros::dec;

use crate::catalogue::{d, database, form};

#[tokio::test]
async fn an_order_goes_from_suggestion_to_stock_with_its_shortfalls_kept() {
    let pool = database().await;
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
