//! coop-pos central as a service: the real app (the kit's layers, sessions, CSRF) with members
//! signed in as test fixtures and tokens from a stand-in issuer. Only a paired till uploads,
//! and only its own records; only the suite services in `feed_clients` read the sales feed; the
//! tills' page is a manager's.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use coop_domain::Role;
use coop_pos::{Pos, Settings};
use coop_testkit::issuer::TestIssuer;
use coop_web::auth::CurrentUser;
use coop_web::ServiceName;
use serde_json::{json, Value};
use sqlx::PgPool;
use tower::ServiceExt as _;
use uuid::Uuid;

use crate::ingest::chain;

pub struct App {
    pub router: Router,
    pub pool: PgPool,
    pub issuer: TestIssuer,
    _dir: tempfile::TempDir,
}

pub async fn app() -> App {
    app_with(|_| {}).await
}

/// The app with the co-op's config changed by `f` first (a mail server, say).
pub async fn app_with(f: impl FnOnce(&mut Value)) -> App {
    app_at("http://127.0.0.1:9", f).await
}

/// The app as if served at `base` (the browser pass serves it there for real).
pub async fn app_at(base: &str, f: impl FnOnce(&mut Value)) -> App {
    let issuer = TestIssuer::start().await;
    let (db, pool) = coop_testkit::migrated_database(&coop_pos::MIGRATOR).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, "pos-test-secret-0123456789").unwrap();
    let mut v =
        coop_testkit::config::coop_config("pos", &db.url, dir.path(), &format!("{base}/pos"));
    v["public_url"] = json!(base);
    v["services"]["pos"]["client_secret_file"] = json!(secret.to_str().unwrap());
    v["services"]["sso"] = json!({ "public_url": issuer.issuer });
    f(&mut v);
    let loaded =
        coop_web::config::parse::<Settings>(v, ServiceName::Pos, &BTreeMap::new()).unwrap();
    let (_kit, router) = coop_web::cli::app::<Pos>(loaded).await.unwrap();
    App {
        router,
        pool,
        issuer,
        _dir: dir,
    }
}

pub fn user(roles: &[Role]) -> CurrentUser {
    let mut u = CurrentUser::fixture(roles.iter().copied());
    u.sub = Uuid::new_v4().to_string();
    u
}

pub struct Answer {
    pub status: StatusCode,
    pub body: String,
    pub location: Option<String>,
}

async fn send(app: &App, mut req: Request<Body>, who: Option<&CurrentUser>) -> Answer {
    if let Some(u) = who {
        req.extensions_mut().insert(u.clone());
    }
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(res.into_body(), 16 << 20)
        .await
        .unwrap();
    Answer {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        location,
    }
}

pub async fn get(app: &App, path: &str, who: Option<&CurrentUser>) -> Answer {
    let req = Request::get(format!("/pos{path}"))
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap();
    send(app, req, who).await
}

pub async fn api(app: &App, method: &str, path: &str, token: Option<&str>, body: &str) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/pos{path}"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    send(app, req.body(Body::from(body.to_owned())).unwrap(), None).await
}

#[tokio::test]
async fn only_a_paired_till_uploads_and_only_its_own_sales() {
    let app = app().await;
    let till = app.issuer.till_token("kassa-1", "coop-pos");
    let records = chain("kassa-1", 3);
    let body =
        json!({ "sales": records, "pending": { "count": 3, "since": "2026-11-30T08:00:00Z" } })
            .to_string();

    let refused = [
        (None, StatusCode::UNAUTHORIZED),
        (
            Some(app.issuer.service_token("coop-finance", "coop-pos", "")),
            StatusCode::FORBIDDEN,
        ),
        (
            Some(app.issuer.member_token(
                &Uuid::new_v4().to_string(),
                "coop-pos",
                "coop-pos",
                "till",
            )),
            StatusCode::FORBIDDEN,
        ),
        // A till's token for another service.
        (
            Some(app.issuer.till_token("kassa-1", "coop-ims")),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (token, expected) in &refused {
        let a = api(&app, "POST", "/api/sales", token.as_deref(), &body).await;
        assert_eq!(a.status, *expected, "{token:?}: {}", a.body);
    }
    // Another till's token with kassa-1's records: refused by the chain check, flagged.
    let a = api(
        &app,
        "POST",
        "/api/sales",
        Some(&app.issuer.till_token("kassa-2", "coop-pos")),
        &body,
    )
    .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    let v: Value = serde_json::from_str(&a.body).unwrap();
    assert!(v["refused"]["problem"]
        .as_str()
        .unwrap()
        .contains("not this till's"));
    // Malformed: refused with a reason.
    for bad in [
        "{",
        r#"{"sales": [{"sale_id": 1}]}"#,
        r#"{"sales": [], "extra": 1}"#,
    ] {
        let a = api(&app, "POST", "/api/sales", Some(&till), bad).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            a.body
        );
        assert!(a.body.contains("malformed"));
    }
    let n: i64 = sqlx::query_scalar("select count(*) from sale")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "no refused upload stored anything");

    let a = api(&app, "POST", "/api/sales", Some(&till), &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let v: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(
        (v["accepted"].as_u64(), v["last_seq"].as_i64()),
        (Some(3), Some(3))
    );

    // The managers' page shows both tills, the flagged one with its problem.
    let page = get(&app, "", Some(&user(&[Role::Manager]))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("kassa-1") && page.body.contains("kassa-2"),
        "{}",
        page.body
    );
    assert!(page.body.contains("notice-error"));
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Manager) {
        assert_eq!(
            get(&app, "", Some(&user(&[role]))).await.status,
            StatusCode::FORBIDDEN,
            "{role}"
        );
    }
}

#[tokio::test]
async fn the_sales_feed_is_for_the_suite_services_that_book_and_stock() {
    let app = app().await;
    let till = app.issuer.till_token("kassa-1", "coop-pos");
    let body = json!({ "sales": chain("kassa-1", 2) }).to_string();
    assert_eq!(
        api(&app, "POST", "/api/sales", Some(&till), &body)
            .await
            .status,
        StatusCode::OK
    );
    for (client, expected) in [
        ("coop-finance", StatusCode::OK),
        ("coop-ims", StatusCode::OK),
        ("coop-buyers-club", StatusCode::FORBIDDEN),
    ] {
        let token = app.issuer.service_token(client, "coop-pos", "");
        let a = api(&app, "GET", "/api/feed?after=0", Some(&token), "").await;
        assert_eq!(a.status, expected, "{client}: {}", a.body);
        if expected == StatusCode::OK {
            let v: Value = serde_json::from_str(&a.body).unwrap();
            assert_eq!(v["events"].as_array().unwrap().len(), 2);
        }
    }
    assert_eq!(
        api(&app, "GET", "/api/feed?after=0", Some(&till), "")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api(&app, "GET", "/api/feed?after=0", None, "").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_paired_till_reads_the_coops_settings_and_nobody_else_does() {
    let app = app().await;
    let till = app.issuer.till_token("kassa-3", "coop-pos");
    let a = api(&app, "GET", "/api/till/settings", Some(&till), "").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let s: coop_pos_till::checkout::TillSettings = serde_json::from_str(&a.body).unwrap();
    assert_eq!(s.currency, "SEK");
    assert_eq!(s.tenders.len(), 3);
    assert_eq!(s.variable_measure.len(), 2);
    assert!(s.prices_include_vat);
    // The till is known to central from its first call.
    let n: i64 = sqlx::query_scalar("select count(*) from till where till_id = 'kassa-3'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    for token in [
        None,
        Some(app.issuer.service_token("coop-finance", "coop-pos", "")),
    ] {
        let a = api(&app, "GET", "/api/till/settings", token.as_deref(), "").await;
        assert!(
            a.status == StatusCode::FORBIDDEN || a.status == StatusCode::UNAUTHORIZED,
            "{token:?}"
        );
    }
}

pub async fn form(
    app: &App,
    path: &str,
    who: &CurrentUser,
    fields: &[(&str, &str)],
    with_csrf: bool,
) -> Answer {
    // A session and its token from a page with a form first, as a browser would. The token
    // belongs to the session, not to who reads the page: the PIN page, read as a cashier.
    let req = Request::get("/pos/pin")
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap();
    let mut req = req;
    let reader = if who.has(Role::Cashier) || who.has(Role::Manager) {
        who.clone()
    } else {
        user(&[Role::Cashier])
    };
    req.extensions_mut().insert(reader);
    let res = app.router.clone().oneshot(req).await.unwrap();
    let cookie: Vec<String> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&bytes);
    let csrf = body
        .find("name=\"csrf_token\" value=\"")
        .map(|i| {
            let i = i + 25;
            body[i..i + body[i..].find('"').unwrap()].to_owned()
        })
        .unwrap_or_default();
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if with_csrf {
        pairs.push(("csrf_token", &csrf));
    }
    pairs.extend_from_slice(fields);
    let req = Request::post(format!("/pos{path}"))
        .header(header::COOKIE, cookie.join("; "))
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(&pairs).unwrap()))
        .unwrap();
    send(app, req, Some(who)).await
}

#[tokio::test]
async fn cashiers_set_their_own_pin_and_tills_learn_the_hashes() {
    let app = app().await;
    let mut kim = user(&[Role::Member, Role::Cashier]);
    kim.name = "Kim".into();
    // Refused: not digits, not the same twice, no token; a plain member cannot.
    for (fields, csrf, expected) in [
        (
            vec![("pin", "12a4"), ("again", "12a4")],
            true,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            vec![("pin", "123"), ("again", "123")],
            true,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            vec![("pin", "4711"), ("again", "4712")],
            true,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            vec![("pin", "4711"), ("again", "4711")],
            false,
            StatusCode::FORBIDDEN,
        ),
    ] {
        let a = form(&app, "/pin", &kim, &fields, csrf).await;
        assert_eq!(a.status, expected, "{fields:?}");
    }
    let member = user(&[Role::Member]);
    assert_eq!(
        get(&app, "/pin", Some(&member)).await.status,
        StatusCode::FORBIDDEN
    );
    let n: i64 = sqlx::query_scalar("select count(*) from cashier")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "no refused form stored a PIN");

    let a = form(
        &app,
        "/pin",
        &kim,
        &[("pin", "4711"), ("again", "4711")],
        true,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("id=\"pin-done\""));

    let till = app.issuer.till_token("kassa-1", "coop-pos");
    let a = api(&app, "GET", "/api/till/cashiers", Some(&till), "").await;
    assert_eq!(a.status, StatusCode::OK);
    let v: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v[0]["name"], "Kim");
    let hash = v[0]["pin_hash"].as_str().unwrap().to_owned();
    assert!(!hash.contains("4711"));
    assert!(
        coop_pos_till::pin::verify("4711".into(), hash).await,
        "the till can check it"
    );
    let service = app.issuer.service_token("coop-finance", "coop-pos", "");
    assert_eq!(
        api(&app, "GET", "/api/till/cashiers", Some(&service), "")
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // A manager sees who has a PIN and takes Kim's away; a cashier cannot.
    let manager = user(&[Role::Member, Role::Manager]);
    let page = get(&app, "/pin", Some(&manager)).await;
    assert!(page.body.contains("Kim"), "{}", page.body);
    let path = format!("/cashiers/{}/remove", kim.sub);
    assert_eq!(
        form(&app, &path, &kim, &[], true).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        form(&app, &path, &manager, &[], true).await.status,
        StatusCode::SEE_OTHER
    );
    let a = api(&app, "GET", "/api/till/cashiers", Some(&till), "").await;
    assert_eq!(a.body, "[]");
}

#[tokio::test]
async fn only_a_manager_clears_a_tills_flag_and_only_with_the_form_token() {
    let app = app().await;
    let till = app.issuer.till_token("kassa-1", "coop-pos");
    let mut records = chain("kassa-1", 2);
    records[1].total += rust_decimal::Decimal::ONE;
    let body = json!({ "sales": records }).to_string();
    assert_eq!(
        api(&app, "POST", "/api/sales", Some(&till), &body)
            .await
            .status,
        StatusCode::CONFLICT
    );
    let flagged = || async {
        sqlx::query_scalar::<_, Option<i64>>(
            "select flagged_seq from till where till_id = 'kassa-1'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    assert_eq!(flagged().await, Some(2));
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Manager) {
        let a = form(
            &app,
            "/tills/kassa-1/clear",
            &user(&[role, Role::Cashier]),
            &[],
            true,
        )
        .await;
        // A cashier reaches the PIN page the helper reads its token from, and is refused here.
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{role}");
    }
    let manager = user(&[Role::Member, Role::Manager]);
    assert_eq!(
        form(&app, "/tills/kassa-1/clear", &manager, &[], false)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(flagged().await, Some(2), "no refused form cleared it");
    assert_eq!(
        form(&app, "/tills/kassa-9/clear", &manager, &[], true)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        form(&app, "/tills/kassa-1/clear", &manager, &[], true)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(flagged().await, None);
}
