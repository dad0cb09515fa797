//! An order exported: the PDF for the supplier (read back with poppler's pdftotext), the CSV and
//! JSON of the sorting view, and ValueFlows JSON-LD (the offer's intents, each share a pair of
//! commitments); an unknown format is not found.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use rust_decimal_macros::dec;
use tower::ServiceExt as _;
use uuid::Uuid;

async fn get(
    app: &super::http::App,
    path: &str,
    who: &CurrentUser,
) -> (StatusCode, String, Vec<u8>) {
    let mut req = Request::get(format!("/buyers-club{path}"))
        .body(Body::empty())
        .unwrap();
    req.extensions_mut().insert(who.clone());
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(res.into_body(), 16 << 20)
        .await
        .unwrap()
        .to_vec();
    (status, ct, bytes)
}

#[tokio::test]
async fn an_order_as_pdf_csv_json_and_valueflows() {
    let app = super::http::app_at("http://127.0.0.1:9").await;
    let c = &app.club;
    let (alva, bo) = (c.member(dec!(1000)).await, c.member(dec!(1000)).await);
    sqlx::query("insert into member (member_id, member_number, name, status) values ($1, '7', 'Bo Berg', 'active')")
        .bind(bo)
        .execute(&c.db)
        .await
        .unwrap();
    let (supplier, [oats, honey, _]) = c.supplier(alva).await;
    let order = c.order(alva, supplier, &[oats, honey]).await;
    c.buy(alva, order, oats, dec!(4), dec!(2)).await.unwrap();
    c.buy(bo, order, oats, dec!(3), dec!(3)).await.unwrap();
    c.buy(bo, order, honey, dec!(1), dec!(0)).await.unwrap();
    let mut who = CurrentUser::fixture([Role::Member]);
    who.sub = bo.to_string();

    // The PDF: the supplier's order, in the member's language (English here).
    let (status, ct, pdf) = get(&app, &format!("/orders/{order}/export/pdf"), &who).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/pdf"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("order.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "Veckans beställning",
        "Havregryn 1 kg",
        "A-0",
        "Honung 500 g",
        "Total",
        "387.80",
    ] {
        assert!(
            text.contains(expected),
            "{expected} not in the PDF:\n{text}"
        );
    }

    // CSV: a row per member and product, names from the member feed.
    let (status, ct, csv) = get(&app, &format!("/orders/{order}/export/csv"), &who).await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::OK, "text/csv; charset=utf-8")
    );
    let csv = String::from_utf8(csv).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(rows[0].starts_with("product,article,"));
    assert!(
        rows.iter()
            .any(|r| r.contains("\"Bo Berg\"") && r.ends_with(",3,3,6")),
        "{csv}"
    );

    // JSON: two cases of oats, 12 units, the total.
    let (_, _, json) = get(&app, &format!("/orders/{order}/export/json"), &who).await;
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let oats_line = v["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["product_id"] == serde_json::json!(oats))
        .unwrap();
    assert_eq!(
        (oats_line["cases"].as_str(), oats_line["units"].as_str()),
        (Some("2"), Some("12"))
    );
    assert_eq!(v["total"], serde_json::json!("387.80"));

    // ValueFlows: a proposal with an intent and a reciprocal one per product; a pair of
    // commitments (goods, money) per member's share.
    let (status, ct, ld) = get(&app, &format!("/orders/{order}/export/jsonld"), &who).await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::OK, "application/ld+json")
    );
    let v: serde_json::Value = serde_json::from_slice(&ld).unwrap();
    assert_eq!(v["@context"]["vf"], "https://w3id.org/valueflows/ont/vf#");
    let graph = v["@graph"].as_array().unwrap();
    let of = |t: &str| graph.iter().filter(|n| n["@type"] == t).count();
    assert_eq!(of("vf:Proposal"), 1);
    let proposal = graph.iter().find(|n| n["@type"] == "vf:Proposal").unwrap();
    assert_eq!(
        proposal["vf:publishes"].as_array().unwrap().len(),
        4,
        "two products, each with its price"
    );
    assert_eq!(of("vf:Commitment"), 6, "three shares, each goods and money");
    let bos_honey = graph
        .iter()
        .find(|n| {
            n["@type"] == "vf:Commitment"
                && n["vf:receiver"] == format!("urn:uuid:{bo}")
                && n["vf:resourceConformsTo"] == format!("urn:uuid:{honey}")
        })
        .unwrap();
    assert_eq!(
        bos_honey["vf:resourceQuantity"]["om2:hasNumericalValue"],
        "1"
    );
    assert!(graph.iter().any(|n| n["@type"] == "vf:Commitment"
        && n["vf:provider"] == format!("urn:uuid:{bo}")
        && n["vf:resourceQuantity"]["om2:hasNumericalValue"] == "89.00"));

    // An unknown format, or an order that does not exist.
    assert_eq!(
        get(&app, &format!("/orders/{order}/export/xls"), &who)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(
            &app,
            &format!("/orders/{}/export/pdf", Uuid::new_v4()),
            &who
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}
