//! The sales at central: searched by managers and bookkeepers, a till's day summed as its Z
//! reports would, a member's own purchases and receipts (another member's are not found), and
//! a receipt mailed to its member on request.

use axum::http::StatusCode;
use coop_domain::Role;
use coop_pos::ingest::{self, Pending};
use coop_pos_till::journal::{SaleKind, GENESIS};
use rust_decimal_macros::dec;
use uuid::Uuid;

use crate::http::{app, form, get, user, App};
use crate::ingest::sale;

/// Kassa-1's day: a sale to Alva (2 oats), a walk-in's (1), and a return of one of Alva's.
pub async fn a_day(app: &App, alva: &str) -> (Uuid, Uuid, Uuid) {
    let mut first = sale("kassa-1", 1, 2);
    first.member = Some(alva.to_owned());
    first.seal(GENESIS);
    let mut second = sale("kassa-1", 2, 1);
    second.seal(&first.hash);
    let mut back = sale("kassa-1", 3, 1);
    back.kind = SaleKind::Return;
    back.member = Some(alva.to_owned());
    back.original_sale = Some(first.sale_id);
    for l in &mut back.lines {
        l.quantity = -l.quantity;
        l.amount = -l.amount;
    }
    for x in &mut back.by_rate {
        (x.net, x.vat, x.gross) = (-x.net, -x.vat, -x.gross);
    }
    back.total = -back.total;
    back.rounding = -back.rounding;
    for t in &mut back.tenders {
        t.amount = -t.amount;
    }
    back.seal(&second.hash);
    let ids = (first.sale_id, second.sale_id, back.sale_id);
    let out = ingest::ingest(
        &app.pool,
        "kassa-1",
        &[first, second, back],
        Pending::default(),
        "SEK",
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(out.accepted, 3, "{out:?}");
    ids
}

#[tokio::test]
async fn managers_and_bookkeepers_find_sales_and_members_only_their_own() {
    let app = app().await;
    let mut alva = user(&[Role::Member]);
    alva.email = Some("alva@example.org".into());
    let (first, second, back) = a_day(&app, &alva.sub).await;
    let day = "2026-11-30";

    // Who sees what: the search and the days for managers and bookkeepers alone.
    for path in [format!("/sales?day={day}"), format!("/days?day={day}")] {
        for role in Role::ALL {
            let a = get(&app, &path, Some(&user(&[role]))).await;
            let expected = if matches!(role, Role::Manager | Role::Bookkeeper) {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(a.status, expected, "{role} at {path}");
        }
        assert_eq!(get(&app, &path, None).await.status, StatusCode::SEE_OTHER);
    }
    let keeper = user(&[Role::Bookkeeper]);
    let a = get(&app, &format!("/sales?day={day}"), Some(&keeper)).await;
    for n in ["kassa-1-1", "kassa-1-2", "kassa-1-3"] {
        assert!(a.body.contains(n), "{n}: {}", a.body);
    }
    let a = get(&app, "/sales?receipt=kassa-1-2", Some(&keeper)).await;
    assert!(
        a.body.contains("kassa-1-2") && !a.body.contains("kassa-1-3"),
        "{}",
        a.body
    );
    // Another day has none; a bad day or receipt number is a clear 400.
    let a = get(&app, "/sales?day=2026-11-29", Some(&keeper)).await;
    assert!(a.body.contains("id=\"no-sales\""));
    for bad in ["/sales?day=30.11.2026", "/sales?receipt=17", "/days?day=x"] {
        assert_eq!(
            get(&app, bad, Some(&keeper)).await.status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    // The till's day: 2 + 1 - 1 packets at 24.90, in cash rounded.
    let a = get(&app, &format!("/days?day={day}"), Some(&keeper)).await;
    assert!(a.body.contains("kassa-1"), "{}", a.body);
    assert!(a.body.contains("49.80"), "{}", a.body);
    let _ = dec!(0);

    // Alva's purchases: her sale and her return, not the walk-in's.
    let a = get(&app, "/mine", Some(&alva)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains(&first.to_string()) && a.body.contains(&back.to_string()));
    assert!(!a.body.contains(&second.to_string()));
    let bo = user(&[Role::Member]);
    let a = get(&app, "/mine", Some(&bo)).await;
    assert!(a.body.contains("id=\"no-purchases\""));
    // Her receipt: hers, a manager's and a bookkeeper's to read; not Bo's, nor the walk-in's
    // for her. Not found, not forbidden: an id says nothing.
    assert_eq!(
        get(&app, &format!("/sales/{first}"), Some(&alva))
            .await
            .status,
        StatusCode::OK
    );
    for who in [&user(&[Role::Manager]), &keeper] {
        assert_eq!(
            get(&app, &format!("/sales/{first}"), Some(who))
                .await
                .status,
            StatusCode::OK
        );
    }
    assert_eq!(
        get(&app, &format!("/sales/{first}"), Some(&bo))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, &format!("/sales/{second}"), Some(&alva))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, &format!("/sales/{}", Uuid::new_v4()), Some(&keeper))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The return names its original.
    let a = get(&app, &format!("/sales/{back}"), Some(&alva)).await;
    assert!(a.body.contains(&format!("/sales/{first}")), "{}", a.body);

    // Mail: no mail server in this co-op, so no button, and asking says it failed; Bo cannot
    // have Alva's receipt sent, nor can a manager, and without the form token nothing happens.
    let a = get(&app, &format!("/sales/{first}"), Some(&alva)).await;
    assert!(!a.body.contains("id=\"mail-receipt\""));
    let a = form(&app, &format!("/sales/{first}/email"), &alva, &[], true).await;
    assert!(
        a.location
            .as_deref()
            .is_some_and(|l| l.ends_with("sent=failed")),
        "{:?} {} {}",
        a.location,
        a.status,
        a.body
    );
    assert_eq!(
        form(&app, &format!("/sales/{first}/email"), &bo, &[], true)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let mut manager = user(&[Role::Member, Role::Manager]);
    manager.email = Some("m@example.org".into());
    assert_eq!(
        form(&app, &format!("/sales/{first}/email"), &manager, &[], true)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        form(&app, &format!("/sales/{first}/email"), &alva, &[], false)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[cfg(feature = "interop")]
#[tokio::test]
async fn external_a_member_has_her_receipt_mailed_in_her_language() {
    let smtp = coop_testkit::smtp::SmtpCapture::start(false);
    let app = crate::http::app_with(|v| smtp.configure(v)).await;
    let mut alva = user(&[Role::Member]);
    alva.email = Some("alva@example.org".into());
    alva.name = "Alva Berg".into();
    let (first, _, _) = a_day(&app, &alva.sub).await;
    let a = get(&app, &format!("/sales/{first}?lang=sv"), Some(&alva)).await;
    assert!(a.body.contains("id=\"mail-receipt\""), "{}", a.body);
    let a = form(
        &app,
        &format!("/sales/{first}/email?lang=sv"),
        &alva,
        &[],
        true,
    )
    .await;
    assert!(
        a.location.as_deref().is_some_and(|l| l.ends_with("sent=1")),
        "{:?}",
        a.location
    );
    let mail = smtp.message(1).await;
    assert_eq!(mail["defects"], serde_json::json!([]), "{mail:#}");
    assert_eq!(
        mail["to"],
        serde_json::json!([["Alva Berg", "alva@example.org"]])
    );
    assert_eq!(
        mail["subject"],
        "Kvitto kassa-1-1 – Testköpinge Matkooperativ"
    );
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains("Havregryn") && text.contains("49,80"),
        "{text}"
    );
    assert!(text.contains("Moms 6 %"), "{text}");
}
