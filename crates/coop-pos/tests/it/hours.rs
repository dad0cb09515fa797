//! The time clock at central: a till's clockings taken once, the hours per person and period
//! (HTML and CSV) for managers and bookkeepers, and a manager's corrections, each with its
//! reason and kept for good.

use axum::http::StatusCode;
use coop_domain::Role;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::http::{api, app, form, get, user};

fn event(sub: &str, kind: &str, at: &str) -> Value {
    json!({ "event_id": Uuid::new_v4(), "sub": sub, "kind": kind, "at": at })
}

#[tokio::test]
async fn hours_are_paired_from_the_tills_clockings_and_corrected_by_a_manager() {
    let app = app().await;
    for (sub, name) in [("m-kim", "Kim"), ("m-sam", "=Sam \"the baker\"")] {
        sqlx::query("insert into cashier (sub, name, pin_hash) values ($1, $2, '$argon2id$x')")
            .bind(sub)
            .bind(name)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    let till = app.issuer.till_token("kassa-1", "coop-pos");
    let events = json!({ "events": [
        event("m-kim", "in", "2026-11-02T08:00:00Z"),
        event("m-kim", "out", "2026-11-02T12:30:00Z"),
        event("m-kim", "in", "2026-11-02T13:00:00Z"),
        event("m-sam", "in", "2026-11-03T09:00:00Z"),
        event("m-sam", "out", "2026-11-03T10:15:00Z"),
    ] })
    .to_string();
    let a = api(&app, "POST", "/api/till/clock", Some(&till), &events).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let v: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v["taken"].as_array().unwrap().len(), 5);
    // Sent again (the answer was lost): taken again, stored once.
    let a = api(&app, "POST", "/api/till/clock", Some(&till), &events).await;
    let v: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v["taken"].as_array().unwrap().len(), 5);
    let n: i64 = sqlx::query_scalar("select count(*) from clock_event")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 5);
    // Not a till, or not a list of clockings: refused, nothing stored.
    for (token, body, expected) in [
        (
            Some(
                app.issuer
                    .member_token("m-kim", "coop-pos", "coop-pos", "till"),
            ),
            events.clone(),
            StatusCode::FORBIDDEN,
        ),
        (
            Some(
                app.issuer
                    .service_token("coop-ims", "coop-pos", "members.feed"),
            ),
            events.clone(),
            StatusCode::FORBIDDEN,
        ),
        (None, events.clone(), StatusCode::UNAUTHORIZED),
        (
            Some(till.clone()),
            r#"{"events": [{"sub": "x"}]}"#.to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Some(till.clone()),
            json!({ "events": [event("m-kim", "sideways", "2026-11-02T08:00:00Z")] }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let a = api(&app, "POST", "/api/till/clock", token.as_deref(), &body).await;
        assert_eq!(a.status, expected, "{}", a.body);
    }

    // The report: Kim 4.5 hours and an open clock-in, Sam 1.25.
    let period = "from=2026-11-01&to=2026-11-30";
    for role in Role::ALL {
        let a = get(&app, &format!("/hours?{period}"), Some(&user(&[role]))).await;
        let expected = if matches!(role, Role::Manager | Role::Bookkeeper) {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(a.status, expected, "{role}");
    }
    let keeper = user(&[Role::Bookkeeper]);
    let a = get(&app, &format!("/hours?{period}"), Some(&keeper)).await;
    assert!(
        a.body.contains("4.50") && a.body.contains("1.25") && a.body.contains("5.75"),
        "{}",
        a.body
    );
    assert!(a.body.contains("one clocking unpaired"), "{}", a.body);
    let csv = get(&app, &format!("/hours.csv?{period}"), Some(&keeper)).await;
    assert_eq!(
        csv.body,
        "member_id;name;hours;stretches;unpaired\n\
         \"m-sam\";\"'=Sam \"\"the baker\"\"\";1.25;1;0\n\
         \"m-kim\";\"Kim\";4.50;1;1\n"
    );
    // The period runs forward and is a real period.
    for bad in [
        "from=2026-11-30&to=2026-11-01",
        "from=1.11.2026",
        "from=2020-01-01&to=2026-11-30",
    ] {
        assert_eq!(
            get(&app, &format!("/hours?{bad}"), Some(&keeper))
                .await
                .status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }

    // Kim forgot to clock out at 17:00 (the co-op's time; this test co-op keeps UTC): a manager
    // adds it.
    let manager = user(&[Role::Member, Role::Manager]);
    let out = [
        ("kind", "out"),
        ("day", "2026-11-02"),
        ("time", "17:00"),
        ("reason", "forgot at closing"),
    ];
    // A bookkeeper reads but does not correct; a correction says why; no form token, no change.
    assert_eq!(
        form(&app, "/hours/m-kim/events", &keeper, &out, true)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        form(
            &app,
            "/hours/m-kim/events",
            &manager,
            &[
                ("kind", "out"),
                ("day", "2026-11-02"),
                ("time", "17:00"),
                ("reason", " ")
            ],
            true
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        form(&app, "/hours/m-kim/events", &manager, &out, false)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        form(&app, "/hours/nobody/events", &manager, &out, true)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let a = form(&app, "/hours/m-kim/events", &manager, &out, true).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    // A manager does not correct their own hours.
    let mut kim = user(&[Role::Member, Role::Manager]);
    kim.sub = "m-kim".into();
    assert_eq!(
        form(&app, "/hours/m-kim/events", &kim, &out, true)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let a = get(&app, &format!("/hours/m-kim?{period}"), Some(&manager)).await;
    assert!(
        a.body.contains("8.50") && a.body.contains("forgot at closing"),
        "{}",
        a.body
    );

    // Sam's clock-out was someone else's: voided, with the reason; his hours go, the event stays.
    let sams_out: Uuid =
        sqlx::query_scalar("select event_id from clock_event where sub = 'm-sam' and kind = 'out'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let path = format!("/hours/events/{sams_out}/void");
    assert_eq!(
        form(&app, &path, &keeper, &[("reason", "x")], true)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        form(&app, &path, &manager, &[("reason", "")], true)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        form(
            &app,
            &path,
            &manager,
            &[("reason", "Kim pressed Sam")],
            true
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        form(&app, &path, &manager, &[("reason", "again")], true)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let csv = get(&app, &format!("/hours.csv?{period}"), Some(&keeper)).await;
    assert!(
        csv.body.contains("\"m-kim\";\"Kim\";8.50;2;0") && csv.body.contains(";0;0;1\n"),
        "{}",
        csv.body
    );
    let a = get(&app, &format!("/hours/m-sam?{period}"), Some(&keeper)).await;
    assert!(
        a.body.contains("Kim pressed Sam") && a.body.contains("<del>"),
        "{}",
        a.body
    );
    assert!(!a.body.contains("/void"), "a bookkeeper gets no forms");
    // Kept for good: the database refuses to delete or rewrite a clocking.
    assert!(sqlx::query("delete from clock_event")
        .execute(&app.pool)
        .await
        .is_err());
    assert!(sqlx::query("update clock_event set at = now()")
        .execute(&app.pool)
        .await
        .is_err());
}
