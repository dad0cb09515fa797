//! The web kit end to end: a tiny service on a real PostgreSQL database, driven over HTTP.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use coop_testkit::http::{client, hidden_input, serve, Served};
use coop_web::config::{self, ServiceName};
use coop_web::metrics::Metrics;
use coop_web::session::SessionConfig;
use coop_web::templates::Templates;
use coop_web::{CsrfForm, Kit, Lang, Page, Translations};
use serde::Deserialize;
use sqlx::migrate::Migrator;

static MIGRATOR: Migrator = sqlx::migrate!("tests/migrations");

struct TestApp {
    served: Served,
    kit: Kit,
    _state: tempfile::TempDir,
}

#[derive(Deserialize)]
struct NoteForm {
    note: String,
}

async fn form_page(page: Page) -> Html<String> {
    let token = page.ctx.csrf_token.clone().unwrap_or_default();
    Html(format!(
        "<form method=\"post\" action=\"/note\"><input type=\"hidden\" name=\"csrf_token\" value=\"{token}\">\
         <input name=\"note\"></form>"
    ))
}

async fn post_note(
    State(kit): State<Kit>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Result<Response, coop_web::Error> {
    sqlx::query("insert into probe (note) values ($1)")
        .bind(&form.note)
        .execute(&kit.db)
        .await?;
    Ok(Redirect::to("/note").into_response())
}

/// Writes after a pause, so a test can hang up before the handler is done.
async fn slow_note(State(kit): State<Kit>) -> Result<(), coop_web::Error> {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    sqlx::query("insert into probe (note) values ('slow')")
        .execute(&kit.db)
        .await?;
    Ok(())
}

async fn panics() -> &'static str {
    panic!("a bug in a handler")
}

async fn boom() -> Result<(), coop_web::Error> {
    Err(coop_web::Error::Internal(anyhow::anyhow!(
        "secret internal detail: password=hunter2"
    )))
}

async fn spawn(migrate: bool) -> TestApp {
    spawn_at(migrate, "http://127.0.0.1:1").await
}

async fn spawn_at(migrate: bool, public_url: &str) -> TestApp {
    spawn_with(migrate, public_url, |_| {}).await
}

async fn spawn_with(
    migrate: bool,
    public_url: &str,
    tweak: impl FnOnce(&mut serde_json::Value),
) -> TestApp {
    let db = coop_testkit::fresh_database().await;
    let state = tempfile::tempdir().unwrap();
    let mut value = coop_testkit::config::coop_config("sso", &db.url, state.path(), public_url);
    tweak(&mut value);
    let loaded = config::parse::<serde_json::Value>(
        value,
        ServiceName::Sso,
        &std::collections::BTreeMap::new(),
    )
    .unwrap();
    let translations = Translations::new(&[], Lang::En).unwrap();
    let templates = Templates::new(&[], translations)
        .unwrap()
        .localised(loaded.coop.time_zone, loaded.coop.currency);
    let key = coop_web::session::load_or_create_key(state.path()).unwrap();
    let pool = coop_web::db::connect(&loaded.service.database_url, 4)
        .await
        .unwrap();
    if migrate {
        coop_web::db::migrate(&pool, &MIGRATOR).await.unwrap();
    }
    let kit = Kit {
        coop: Arc::new(loaded.coop.clone()),
        service: Arc::new(loaded.service.clone()),
        templates,
        metrics: Metrics::new("coop-test"),
        session: Arc::new(SessionConfig::new(
            key,
            "test",
            false,
            "http://127.0.0.1:1".into(),
        )),
        db: pool,
        migrator: &MIGRATOR,
        logo: loaded
            .coop
            .organisation
            .logo_file
            .as_deref()
            .map(|p| coop_web::branding::Logo::load(p).unwrap()),
    };
    let routes = Router::new()
        .route("/note", get(form_page).post(post_note))
        .route("/boom", get(boom))
        .route("/slow", get(slow_note))
        .route("/panic", get(panics))
        .with_state(kit.clone())
        .merge(coop_web::landing::routes(&kit));
    let served = serve(coop_web::app::build(&kit, routes)).await;
    TestApp {
        served,
        kit,
        _state: state,
    }
}

#[tokio::test]
async fn probes_report_health_readiness_and_metrics() {
    let app = spawn(true).await;
    let c = client();
    let r = c.get(app.served.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    let r = c.get(app.served.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let _ = c.get(app.served.url("/")).send().await.unwrap();
    let metrics = c
        .get(app.served.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("route=\"/\",status=\"200\""), "{metrics}");
}

#[tokio::test]
async fn readiness_fails_until_migrations_are_applied() {
    let app = spawn(false).await;
    let c = client();
    let r = c.get(app.served.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    coop_web::db::migrate(&app.kit.db, &MIGRATOR).await.unwrap();
    let r = c.get(app.served.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn forms_need_the_session_csrf_token() {
    let app = spawn(true).await;
    let c = client();
    let count = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from probe")
            .fetch_one(&app.kit.db)
            .await
            .unwrap()
    };

    // No token at all: refused, nothing written, an error page in the member's language.
    let r = c
        .post(app.served.url("/note"))
        .form(&[("note", "x")])
        .header("accept-language", "sv")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body = r.text().await.unwrap();
    assert!(body.contains("Formuläret har gått ut"), "{body}");
    assert!(body.contains("lang=\"sv\""));
    assert_eq!(count().await, 0);

    // The page's token works.
    let page = c
        .get(app.served.url("/note"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden_input(&page, "csrf_token").expect("a csrf token on the page");
    let r = c
        .post(app.served.url("/note"))
        .form(&[("csrf_token", token.as_str()), ("note", "hello")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(count().await, 1);

    // A wrong token, or the right one from another site, is refused.
    let r = c
        .post(app.served.url("/note"))
        .form(&[("csrf_token", "forged"), ("note", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(app.served.url("/note"))
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str()), ("note", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Another browser (no session cookie) cannot reuse the token either.
    let r = client()
        .post(app.served.url("/note"))
        .form(&[("csrf_token", token.as_str()), ("note", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(count().await, 1);
}

#[tokio::test]
async fn oversize_and_malformed_bodies_are_refused_and_change_nothing() {
    let app = spawn(true).await;
    let c = client();
    let page = c
        .get(app.served.url("/note"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden_input(&page, "csrf_token").unwrap();
    let big = "x".repeat(200 * 1024);
    let r = c
        .post(app.served.url("/note"))
        .form(&[("csrf_token", token.as_str()), ("note", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = c
        .post(app.served.url("/note"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .post(app.served.url("/note"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let n: i64 = sqlx::query_scalar("select count(*) from probe")
        .fetch_one(&app.kit.db)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn internal_errors_never_reach_the_client() {
    let app = spawn(true).await;
    let r = client().get(app.served.url("/boom")).send().await.unwrap();
    assert_eq!(r.status(), 500);
    let id = r
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let body = r.text().await.unwrap();
    assert!(
        !body.contains("hunter2") && !body.contains("secret internal"),
        "{body}"
    );
    assert!(
        body.contains(&id),
        "the page gives the request id as a reference"
    );

    let r = client()
        .get(app.served.url("/boom"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(r.text().await.unwrap(), "{\"error\":\"internal\"}");
}

#[tokio::test]
async fn unknown_pages_get_a_translated_not_found_page_with_security_headers() {
    let app = spawn(true).await;
    let r = client()
        .get(app.served.url("/no/such/page?lang=sv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let h = r.headers().clone();
    assert!(h
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    assert!(h.get("x-request-id").is_some());
    let body = r.text().await.unwrap();
    assert!(body.contains("Sidan hittades inte"), "{body}");
}

#[tokio::test]
async fn the_language_choice_is_remembered() {
    let app = spawn(true).await;
    let c = client();
    let r = c.get(app.served.url("/?lang=sv")).send().await.unwrap();
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert!(
        cookie.iter().any(|c| c.starts_with("coop-lang=sv")),
        "{cookie:?}"
    );
    let body = c
        .get(app.served.url("/"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("<html lang=\"sv\">"),
        "cookie beats Accept-Language"
    );
    let body = client()
        .get(app.served.url("/"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn the_landing_page_in_every_language_matches_its_snapshot() {
    let app = spawn(true).await;
    for lang in Lang::ALL {
        let body = client()
            .get(app.served.url(&format!("/?lang={}", lang.code())))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // insta: a changed page fails with a diff and leaves `.snap.new` beside the snapshot;
        // `cargo insta review` (or INSTA_UPDATE=always) accepts it. Under CI nothing is written.
        insta::assert_snapshot!(format!("landing.{}", lang.code()), body);
    }
}

#[tokio::test]
async fn a_service_under_a_path_prefix_serves_its_routes_there() {
    let app = spawn_at(true, "http://127.0.0.1:1/pos").await;
    let c = client();
    let r = c.get(app.served.url("/pos")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Tera escapes the slashes of the base path; the browser reads `/pos/static/kit.css`.
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("&#x2F;pos&#x2F;static/kit.css"));
    let r = c.get(app.served.url("/pos/")).send().await.unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/pos");
    assert_eq!(
        c.get(app.served.url("/pos/note"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(app.served.url("/pos/static/kit.css"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Probes answer at the root too, for local health checks on the service's own port.
    assert_eq!(
        c.get(app.served.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(app.served.url("/pos/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(app.served.url("/note"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn error_pages_do_not_repeat_the_query() {
    let app = spawn(true).await;
    let r = client()
        .get(app.served.url("/no/such?code=SECRETCODE&state=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body = r.text().await.unwrap();
    assert!(!body.contains("SECRETCODE"), "{body}");
}

#[tokio::test]
async fn a_request_finishes_its_work_when_the_client_hangs_up() {
    let app = spawn(true).await;
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(50))
        .build()
        .unwrap();
    assert!(impatient.get(app.served.url("/slow")).send().await.is_err());
    // The write still happens (bounded wait, no fixed sleep).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let n: i64 = sqlx::query_scalar("select count(*) from probe")
            .fetch_one(&app.kit.db)
            .await
            .unwrap();
        if n == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the cancelled request's write never happened"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_500() {
    let app = spawn(true).await;
    let r = client().get(app.served.url("/panic")).send().await.unwrap();
    assert_eq!(r.status(), 500);
    assert!(!r.text().await.unwrap().contains("a bug in a handler"));
}

#[tokio::test]
async fn the_coops_colour_logo_and_styleguide_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.svg");
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1 1\"/>";
    std::fs::write(&logo, svg).unwrap();
    let app = spawn_with(true, "http://127.0.0.1:1", |v| {
        v["organisation"]["accent_colour"] = serde_json::json!("#7a2e6b");
        v["organisation"]["logo_file"] = serde_json::json!(logo);
        v["locale"]["time_zone"] = serde_json::json!("Europe/Stockholm");
    })
    .await;
    let c = client();
    let theme = c
        .get(app.served.url("/static/theme.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(theme.headers()["content-type"], "text/css; charset=utf-8");
    assert!(theme.text().await.unwrap().contains("--brand: #7a2e6b"));
    let r = c.get(app.served.url("/static/logo")).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert_eq!(r.text().await.unwrap(), svg);

    let page = c
        .get(app.served.url("/styleguide?lang=sv"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    // Every component is on the page, with Swedish numbers, money and dates in the co-op's zone.
    for class in [
        "class=\"site-header\"",
        "class=\"org-logo\"",
        "class=\"notice notice-success\"",
        "class=\"error-summary\"",
        "class=\"field field-error\"",
        "class=\"button-secondary\"",
        "class=\"table-wrap\"",
        "class=\"num\"",
        "class=\"summary-list\"",
        "class=\"empty-state\"",
        "class=\"pagination\"",
        "class=\"card receipt\"",
    ] {
        assert!(html.contains(class), "the styleguide lacks {class}");
    }
    assert!(html.contains("210,73\u{a0}kr"), "money in Swedish");
    assert!(
        html.contains("29 nov. 2026 19:01"),
        "a time in Stockholm, in Swedish"
    );
    assert!(
        html.contains("Logga in"),
        "a signed-out visitor is offered sign-in"
    );
    // No inline style anywhere: the CSP forbids it.
    assert!(!html.contains("style="));

    // Without a logo in the config, there is none to fetch and none in the header.
    let plain = spawn(true).await;
    let r = c
        .get(plain.served.url("/static/logo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let html = c
        .get(plain.served.url("/styleguide"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("org-logo"));
}
