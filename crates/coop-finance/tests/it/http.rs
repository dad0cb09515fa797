//! coop-finance as a service: the real app (the kit's layers, sessions, CSRF) with members
//! signed in as test fixtures and service tokens from a stand-in issuer. The role × route matrix
//! of every page and action, the member-to-bookkeeper top-up flow, the bank import through the
//! upload form, the SIE download, and the wallet API's refusals.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use coop_domain::Role;
use coop_finance::{Finance, Settings};
use coop_testkit::issuer::TestIssuer;
use coop_web::auth::CurrentUser;
use coop_web::ServiceName;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use sqlx::PgPool;
use tower::ServiceExt as _;
use uuid::Uuid;

pub struct App {
    pub router: Router,
    pub pool: PgPool,
    pub issuer: TestIssuer,
    _dir: tempfile::TempDir,
}

pub async fn app_with(extra: Value) -> App {
    app_at("http://127.0.0.1:9", extra).await
}

/// The app as if served at `base` (the browser pass serves it there for real).
pub async fn app_at(base: &str, extra: Value) -> App {
    let issuer = TestIssuer::start().await;
    let (db, pool) = coop_testkit::migrated_database(&coop_finance::MIGRATOR).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, "finance-test-secret-0123456789").unwrap();
    let mut v = coop_testkit::config::coop_config(
        "finance",
        &db.url,
        dir.path(),
        &format!("{base}/finance"),
    );
    v["public_url"] = json!(base);
    v["services"]["finance"]["client_secret_file"] = json!(secret.to_str().unwrap());
    if let Value::Object(m) = extra {
        for (k, val) in m {
            v["services"]["finance"][k] = val;
        }
    }
    v["services"]["sso"] = json!({ "public_url": issuer.issuer });
    let loaded =
        coop_web::config::parse::<Settings>(v, ServiceName::Finance, &BTreeMap::new()).unwrap();
    let (_kit, router) = coop_web::cli::app::<Finance>(loaded).await.unwrap();
    App {
        router,
        pool,
        issuer,
        _dir: dir,
    }
}

pub async fn app() -> App {
    app_with(json!({ "second_bookkeeper_above": "2000" })).await
}

/// A member with these roles and a real id.
pub fn user(roles: &[Role]) -> CurrentUser {
    let mut u = CurrentUser::fixture(roles.iter().copied());
    u.sub = Uuid::new_v4().to_string();
    u.name = format!("Test {}", &u.sub[..8]);
    u
}

/// One browser: its session cookie and CSRF token, signed in as whoever the test says.
pub struct Browser<'a> {
    app: &'a App,
    cookie: String,
    csrf: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// The cookies set, `name=value` each.
    pub cookies: Vec<String>,
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
        .map(|v| v.to_str().unwrap().to_owned());
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let set_cookie: Vec<String> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let bytes = axum::body::to_bytes(res.into_body(), 16 << 20)
        .await
        .unwrap()
        .to_vec();
    let body = String::from_utf8_lossy(&bytes).into_owned();
    Answer {
        status,
        location,
        body,
        content_type,
        bytes,
        cookies: set_cookie,
    }
}

fn between<'s>(s: &'s str, start: &str, end: &str) -> Option<&'s str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

impl<'a> Browser<'a> {
    /// Opens the wallet page once as `seed` to get a session and its CSRF token.
    pub async fn open(app: &'a App) -> Self {
        let seed = user(&[Role::Member]);
        let a = send(
            app,
            Request::get("/finance").body(Body::empty()).unwrap(),
            Some(&seed),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(!a.cookies.is_empty(), "a session cookie");
        let cookie = a.cookies.join("; ");
        let csrf = between(&a.body, "name=\"csrf_token\" value=\"", "\"")
            .expect("a CSRF token")
            .to_owned();
        Self { app, cookie, csrf }
    }

    pub async fn get(&self, path: &str, who: Option<&CurrentUser>) -> Answer {
        let path = if path.starts_with("/?") || path == "/" {
            &path[1..]
        } else {
            path
        };
        let req = Request::get(format!("/finance{path}"))
            .header(header::COOKIE, &self.cookie)
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .unwrap();
        send(self.app, req, who).await
    }

    pub async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        who: Option<&CurrentUser>,
    ) -> Answer {
        let mut pairs: Vec<(&str, &str)> = vec![("csrf_token", &self.csrf)];
        pairs.extend_from_slice(fields);
        let body = serde_urlencoded::to_string(&pairs).unwrap();
        let req = Request::post(format!("/finance{path}"))
            .header(header::COOKIE, &self.cookie)
            .header(header::ACCEPT, "text/html")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        send(self.app, req, who).await
    }

    /// A multipart form: text fields, and one file field if given.
    pub async fn multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, &str, &[u8])>,
        who: Option<&CurrentUser>,
    ) -> Answer {
        let boundary = "----cooperage-test-boundary";
        let mut body = Vec::new();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &self.csrf)];
        all.extend_from_slice(fields);
        for (k, v) in all {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some((field, name, bytes)) = file {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let req = Request::post(format!("/finance{path}"))
            .header(header::COOKIE, &self.cookie)
            .header(header::ACCEPT, "text/html")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        send(self.app, req, who).await
    }

    pub async fn upload(&self, file_name: &str, file: &[u8], who: Option<&CurrentUser>) -> Answer {
        let boundary = "----cooperage-test-boundary";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{}\r\n",
                self.csrf
            )
            .as_bytes(),
        );
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"statement\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = Request::post("/finance/bank/import")
            .header(header::COOKIE, &self.cookie)
            .header(header::ACCEPT, "text/html")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        send(self.app, req, who).await
    }
}

/// An action of the matrix: its path, its form fields, the role it needs.
type Action<'f> = (String, Vec<(&'f str, &'f str)>, Role);

/// What a refused request must not have changed.
async fn snapshot(pool: &PgPool) -> Value {
    let r = sqlx::query!(
        r#"select (select count(*) from top_up_claim) as "claims!",
                  (select count(*) from top_up_claim where status <> 'claimed') as "settled!",
                  (select count(*) from journal_entry) as "entries!",
                  (select count(*) from bank_line where status <> 'unmatched') as "handled!",
                  (select count(*) from bank_statement) as "statements!",
                  (select coalesce(sum(balance), 0) from wallet) as "money!""#
    )
    .fetch_one(pool)
    .await
    .unwrap();
    json!([
        r.claims,
        r.settled,
        r.entries,
        r.handled,
        r.statements,
        r.money.to_string()
    ])
}

#[tokio::test]
async fn every_role_against_every_page_and_action() {
    let app = app().await;
    let b = Browser::open(&app).await;
    // Something for the actions to act on: a member's claim and a bank line nobody placed.
    let claimant = user(&[Role::Member]);
    let a = b
        .post(
            "/top-ups/claim",
            &[
                ("amount", "150"),
                ("paid_on", "2026-11-02"),
                ("bank_reference", "x"),
            ],
            Some(&claimant),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let claim: Uuid = sqlx::query_scalar!("select top_up_claim_id from top_up_claim")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let statement =
        coop_finance::bank::parse_csv(b"date,amount,reference\n2026-11-03,75,unknown\n", "SEK")
            .unwrap();
    coop_finance::bank::import(
        &app.pool,
        &statement,
        None,
        Uuid::new_v4(),
        "SEK",
        &coop_finance::topup::Policy {
            second_bookkeeper_above: None,
            minor_units: 2,
        },
    )
    .await
    .unwrap();
    let line: i64 = sqlx::query_scalar!("select bank_line_id from bank_line")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let year: i32 = sqlx::query_scalar!("select min(fiscal_year_id) as \"y!\" from fiscal_year")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let entry: i64 =
        sqlx::query_scalar!("select max(journal_entry_id) as \"e!\" from journal_entry")
            .fetch_one(&app.pool)
            .await
            .unwrap_or(0);

    let wallet: Uuid = sqlx::query_scalar!("select wallet_id from wallet limit 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let pages: Vec<(String, Role)> = vec![
        ("/".into(), Role::Member),
        ("/top-ups".into(), Role::Bookkeeper),
        ("/bank".into(), Role::Bookkeeper),
        ("/books".into(), Role::Bookkeeper),
        (format!("/books/{year}/sie?kind=4E"), Role::Bookkeeper),
        ("/reports".into(), Role::Bookkeeper),
        ("/entries".into(), Role::Bookkeeper),
        ("/budget".into(), Role::Bookkeeper),
        (format!("/books/{year}/periods"), Role::Bookkeeper),
        ("/entries/new".into(), Role::Bookkeeper),
        ("/reports/income.csv".into(), Role::Bookkeeper),
        (
            "/statement?from=2026-01-01&to=2026-12-31".into(),
            Role::Member,
        ),
        (format!("/wallets/{wallet}/statement"), Role::Bookkeeper),
        ("/wallets?q=Alva".into(), Role::Bookkeeper),
    ];
    for (path, needed) in &pages {
        for role in Role::ALL {
            let a = b.get(path, Some(&user(&[role]))).await;
            let expected = if role == *needed {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(a.status, expected, "{role} at {path}");
        }
        let a = b.get(path, Some(&user(&[]))).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "no roles at {path}");
        let a = b.get(path, None).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "anonymous at {path}");
        assert!(
            a.location.unwrap().contains("/finance/auth/login"),
            "{path}"
        );
    }

    // Every action, by everyone who may not: refused, and nothing changes.
    let before = snapshot(&app.pool).await;
    let actions: Vec<Action<'_>> = vec![
        (
            "/top-ups/claim".into(),
            vec![
                ("amount", "10"),
                ("paid_on", "2026-11-02"),
                ("bank_reference", "y"),
            ],
            Role::Member,
        ),
        (
            format!("/top-ups/{claim}/confirm"),
            vec![],
            Role::Bookkeeper,
        ),
        (
            format!("/top-ups/{claim}/reject"),
            vec![("reason", "no")],
            Role::Bookkeeper,
        ),
        (
            format!("/bank/lines/{line}/set-aside"),
            vec![("note", "gift")],
            Role::Bookkeeper,
        ),
        (
            format!("/bank/lines/{line}/credit"),
            vec![("reference", "00150")],
            Role::Bookkeeper,
        ),
        (
            format!("/bank/lines/{line}/match"),
            vec![("claim", "00000000-0000-0000-0000-000000000000")],
            Role::Bookkeeper,
        ),
        (
            format!("/entries/{entry}/reverse"),
            vec![("on", "2026-11-05")],
            Role::Bookkeeper,
        ),
        (
            "/budget".into(),
            vec![("year", "1"), ("account", "3001"), ("m1", "100")],
            Role::Bookkeeper,
        ),
        (
            format!("/books/{year}/periods/2026-01-01/close"),
            vec![],
            Role::Bookkeeper,
        ),
    ];
    for (path, fields, needed) in &actions {
        for role in Role::ALL.into_iter().filter(|r| r != needed) {
            let a = b.post(path, fields, Some(&user(&[role]))).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{role} at {path}");
        }
        let a = b.post(path, fields, None).await;
        assert!(!a.status.is_success(), "anonymous at {path}: {}", a.status);
    }
    let a = b
        .upload(
            "s.csv",
            b"date,amount,reference\n2026-11-04,5,z\n",
            Some(&user(&[Role::Member])),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(snapshot(&app.pool).await, before);

    // A form without the session's CSRF token is refused even for a bookkeeper.
    let mut forged = Browser::open(&app).await;
    forged.csrf = "forged".into();
    let a = forged
        .post(
            &format!("/top-ups/{claim}/confirm"),
            &[],
            Some(&user(&[Role::Bookkeeper])),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(snapshot(&app.pool).await, before);
}

#[tokio::test]
async fn a_member_claims_and_two_bookkeepers_confirm_through_the_pages() {
    let app = app().await;
    let b = Browser::open(&app).await;
    let member = user(&[Role::Member]);
    // A bookkeeper who is also a member and claims for themselves.
    let mut bo = user(&[Role::Member, Role::Bookkeeper]);
    bo.name = "Bo Bokhållare".into();
    let cecilia = user(&[Role::Member, Role::Bookkeeper]);

    // Bad input: a clear error beside the field, the values kept, nothing stored.
    let a = b
        .post(
            "/top-ups/claim",
            &[
                ("amount", "-5"),
                ("paid_on", "2026-11-02"),
                ("bank_reference", ""),
            ],
            Some(&member),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = coop_testkit::html::Page::parse(&a.body);
    assert!(a.body.contains("error-summary"), "{}", a.body);
    assert!(
        page.error_links().iter().any(|l| l == "#amount"),
        "{:?}",
        page.error_links()
    );
    assert!(a.body.contains("value=\"-5\""));
    let a = b
        .post(
            "/top-ups/claim",
            &[
                ("amount", "2500,00"),
                ("paid_on", "2999-01-01"),
                ("bank_reference", "ref"),
            ],
            Some(&member),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("cannot be in the future"), "{}", a.body);
    assert_eq!(snapshot(&app.pool).await[0], json!(0));

    let a = b
        .post(
            "/top-ups/claim",
            &[
                ("amount", "2500,00"),
                ("paid_on", "2026-11-02"),
                ("bank_reference", "Lön november"),
            ],
            Some(&member),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location.as_deref(), Some("/finance?claimed=1"));
    let mine = b.get("/?claimed=1", Some(&member)).await;
    assert!(
        mine.body.contains("Waiting for a bookkeeper"),
        "{}",
        mine.body
    );
    // Another member sees nothing of it: their wallet is their own.
    let other = b.get("/", Some(&user(&[Role::Member]))).await;
    assert!(!other.body.contains("Lön november"), "{}", other.body);
    let reference = between(&mine.body, "<dd id=\"reference\"><code>", "</code>").unwrap();
    assert!(coop_finance::reference::OcrReference::parse(reference).is_ok());

    // Bo's own claim shows without buttons for him; confirming it anyway is refused.
    b.post(
        "/top-ups/claim",
        &[
            ("amount", "100"),
            ("paid_on", "2026-11-02"),
            ("bank_reference", "bo"),
        ],
        Some(&bo),
    )
    .await;
    let claims: Vec<(Uuid, rust_decimal::Decimal)> =
        sqlx::query!("select top_up_claim_id, amount from top_up_claim order by amount")
            .fetch_all(&app.pool)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.top_up_claim_id, r.amount))
            .collect();
    let (bos, members) = (claims[0].0, claims[1].0);
    let list = b.get("/top-ups", Some(&bo)).await;
    assert!(list
        .body
        .contains("Your own: another bookkeeper confirms it."));
    assert!(
        list.body.contains("Payments above"),
        "the threshold is stated"
    );
    let a = b
        .post(&format!("/top-ups/{bos}/confirm"), &[], Some(&bo))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a
        .body
        .contains("Nobody may confirm or reject their own payment"));

    // 2,500 is above the threshold: Bo confirms first, then cannot again; Cecilia completes it.
    let a = b
        .post(&format!("/top-ups/{members}/confirm"), &[], Some(&bo))
        .await;
    assert_eq!(a.location.as_deref(), Some("/finance/top-ups?done=first"));
    let a = b
        .post(&format!("/top-ups/{members}/confirm"), &[], Some(&bo))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("second bookkeeper"), "{}", a.body);
    let a = b
        .post(&format!("/top-ups/{members}/confirm"), &[], Some(&cecilia))
        .await;
    assert_eq!(
        a.location.as_deref(),
        Some("/finance/top-ups?done=confirmed")
    );
    let mine = b.get("/", Some(&member)).await;
    assert!(mine.body.contains("In your wallet"));
    assert!(
        between(&mine.body, "<dd id=\"available\"><strong>", "</strong>")
            .unwrap()
            .contains("2,500.00"),
        "{}",
        mine.body
    );

    // Cecilia rejects Bo's claim with a reason he then reads.
    let a = b
        .post(
            &format!("/top-ups/{bos}/reject"),
            &[("reason", "")],
            Some(&cecilia),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    b.post(
        &format!("/top-ups/{bos}/reject"),
        &[("reason", "Not on the November statement")],
        Some(&cecilia),
    )
    .await;
    let his = b.get("/?lang=sv", Some(&bo)).await;
    assert!(
        his.body
            .contains("Finns inte på kontoutdraget: Not on the November statement"),
        "{}",
        his.body
    );
}

#[tokio::test]
async fn bookkeepers_import_statements_and_export_the_books() {
    let app = app().await;
    let b = Browser::open(&app).await;
    let member = user(&[Role::Member]);
    let bookkeeper = user(&[Role::Member, Role::Bookkeeper]);
    let mine = b.get("/", Some(&member)).await;
    let reference = between(&mine.body, "<dd id=\"reference\"><code>", "</code>")
        .unwrap()
        .to_owned();

    // A malformed file: refused with its line, nothing stored.
    let a = b
        .upload(
            "nov.csv",
            b"date,amount,reference\n2026-11-02,abc,x\n",
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("line 2"), "{}", a.body);
    assert_eq!(snapshot(&app.pool).await[4], json!(0));

    let csv = format!("datum;belopp;referens;namn\n2026-11-02;300,00;{reference};Test\n2026-11-03;42,00;okänd;Någon\n");
    let a = b.upload("nov.csv", csv.as_bytes(), Some(&bookkeeper)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(
        a.body.contains("2 new lines: 1 credited to wallets"),
        "{}",
        a.body
    );
    let mine = b.get("/", Some(&member)).await;
    assert!(mine.body.contains("300.00"), "{}", mine.body);

    // The unplaced line: credited by hand to the member's wallet by their reference.
    let line: i64 =
        sqlx::query_scalar!("select bank_line_id from bank_line where status = 'unmatched'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let a = b
        .post(
            &format!("/bank/lines/{line}/credit"),
            &[("reference", "12345")],
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("No wallet has that payment reference"));
    let a = b
        .post(
            &format!("/bank/lines/{line}/credit"),
            &[("reference", &reference)],
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.location.as_deref(), Some("/finance/bank?done=credited"));
    let bank = b.get("/bank", Some(&bookkeeper)).await;
    assert!(bank.body.contains("Every line is matched."));

    // The year's SIE file: a download in CP437 that our validator accepts.
    let year: i32 = sqlx::query_scalar!("select min(fiscal_year_id) as \"y!\" from fiscal_year")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let a = b
        .get(&format!("/books/{year}/sie?kind=4E"), Some(&bookkeeper))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type, "text/plain; charset=IBM437");
    let read = coop_finance::sie::validate(&a.bytes).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(read.vouchers, 2);
    assert_eq!(read.per_account[&2420], dec!(-342.00));
    let a = b
        .get(&format!("/books/{year}/sie?kind=5X"), Some(&bookkeeper))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = b.get("/books/99999/sie", Some(&bookkeeper)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // The reports: members' money shows both top-ups, in Swedish too.
    let a = b
        .get("/reports?from=2026-01-01&to=2026-12-31", Some(&bookkeeper))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("342.00"), "{}", a.body);
    let a = b
        .get(
            "/reports?from=2026-12-31&to=2026-01-01&lang=sv",
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("Perioden måste sluta"), "{}", a.body);
    let a = b
        .get(
            "/reports/income.csv?from=2026-01-01&to=2026-12-31",
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.content_type, "text/csv; charset=utf-8");
    assert!(a.body.starts_with("section;account;name;amount\n"));
}

async fn api(
    app: &App,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/finance{path}"));
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let a = send(app, req, None).await;
    let v = serde_json::from_slice(&a.bytes).unwrap_or(Value::Null);
    (a.status, v)
}

#[tokio::test]
async fn the_wallet_api_serves_the_till_and_the_buyers_club_and_no_one_else() {
    let app = app().await;
    let owner = Uuid::new_v4();
    let w = coop_finance::wallet::wallet_of(&app.pool, owner)
        .await
        .unwrap();
    coop_finance::wallet::credit_top_up(
        &app.pool,
        w,
        dec!(100),
        chrono::Utc::now().date_naive(),
        "t",
        2,
    )
    .await
    .unwrap();
    let pos = app
        .issuer
        .service_token("coop-pos", "coop-finance", "members.feed wallet");
    let club = app
        .issuer
        .service_token("coop-buyers-club", "coop-finance", "wallet");

    let (s, v) = api(
        &app,
        "GET",
        &format!("/api/wallets/{owner}"),
        Some(&pos),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["balance"]["available"], json!("100.00"));

    let hold = json!({ "owner": owner, "key": "sale-1", "amount": "60.00" });
    let (s, v) = api(&app, "POST", "/api/holds", Some(&pos), Some(hold.clone())).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["hold"]["status"], json!("held"));
    // A retry answers the same hold.
    let (s, again) = api(&app, "POST", "/api/holds", Some(&pos), Some(hold)).await;
    assert_eq!(
        (s, &again["hold"]["wallet_hold_id"]),
        (StatusCode::OK, &v["hold"]["wallet_hold_id"])
    );
    // More than is available: refused with a code the till can act on.
    let (s, v) = api(
        &app,
        "POST",
        "/api/holds",
        Some(&club),
        Some(json!({ "owner": owner, "key": "order-1", "amount": "40.01" })),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("insufficient_funds"))
    );
    // The buyers club cannot settle the till's hold: the key is the caller's.
    let (s, v) = api(
        &app,
        "POST",
        "/api/holds/sale-1/capture",
        Some(&club),
        Some(json!({ "amount": "60.00" })),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_hold"))
    );
    // Capturing more than held is refused unless the co-op allows it.
    let (s, v) = api(
        &app,
        "POST",
        "/api/holds/sale-1/capture",
        Some(&pos),
        Some(json!({ "amount": "61.00", "allow_more": true })),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("capture_above_hold"))
    );
    let (s, v) = api(
        &app,
        "POST",
        "/api/holds/sale-1/capture",
        Some(&pos),
        Some(json!({ "amount": "58.50" })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = api(&app, "POST", "/api/holds/sale-1/release", Some(&pos), None).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("hold_settled"))
    );
    let (_, v) = api(
        &app,
        "GET",
        &format!("/api/wallets/{owner}"),
        Some(&pos),
        None,
    )
    .await;
    assert_eq!(v["balance"]["balance"], json!("41.50"));

    // An owner with no wallet: nothing available, and asking makes no wallet.
    let stranger = Uuid::new_v4();
    let (s, v) = api(
        &app,
        "GET",
        &format!("/api/wallets/{stranger}"),
        Some(&pos),
        None,
    )
    .await;
    assert_eq!(
        (s, &v["balance"]["available"]),
        (StatusCode::OK, &json!("0.00"))
    );
    let (s, v) = api(
        &app,
        "POST",
        "/api/holds",
        Some(&pos),
        Some(json!({ "owner": stranger, "key": "s-9", "amount": "1" })),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("insufficient_funds"))
    );
    assert_eq!(
        coop_finance::wallet::find(&app.pool, stranger)
            .await
            .unwrap(),
        None
    );

    // Who may not: no token, a member's token, a service without the scope or not on the
    // list, a token for another service.
    let before = snapshot(&app.pool).await;
    let req = json!({ "owner": owner, "key": "x-1", "amount": "1" });
    let (s, _) = api(&app, "POST", "/api/holds", None, Some(req.clone())).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let member = app
        .issuer
        .member_token(&owner.to_string(), "coop-pos", "coop-finance", "wallet");
    let (s, _) = api(&app, "POST", "/api/holds", Some(&member), Some(req.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let no_scope = app
        .issuer
        .service_token("coop-pos", "coop-finance", "members.feed");
    let (s, _) = api(
        &app,
        "POST",
        "/api/holds",
        Some(&no_scope),
        Some(req.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let ims = app
        .issuer
        .service_token("coop-ims", "coop-finance", "wallet");
    let (s, _) = api(&app, "POST", "/api/holds", Some(&ims), Some(req.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A paired till's token (a device, not the till's back office) is no wallet client.
    let till = app
        .issuer
        .member_token("device-1", "coop-till", "coop-finance", "till wallet");
    let (s, _) = api(&app, "POST", "/api/holds", Some(&till), Some(req.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A service token opens no page: pages go by a member's sign-in.
    let page = Request::get("/finance")
        .header(header::AUTHORIZATION, format!("Bearer {pos}"))
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap();
    let a = send(&app, page, None).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let elsewhere = app.issuer.service_token("coop-pos", "coop-ims", "wallet");
    let (s, _) = api(
        &app,
        "POST",
        "/api/holds",
        Some(&elsewhere),
        Some(req.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = api(
        &app,
        "POST",
        "/api/holds",
        Some(&pos),
        Some(json!({ "owner": owner, "key": "bad key!", "amount": "1" })),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_key"))
    );
    let (s, _) = api(
        &app,
        "POST",
        "/api/holds",
        Some(&pos),
        Some(json!({ "owner": owner, "key": "k", "amount": "1", "extra": 1 })),
    )
    .await;
    assert!(s.is_client_error());
    assert_eq!(snapshot(&app.pool).await, before);
}

/// Tells coop-finance of a member as coop-sso's feed would.
async fn feed_member(app: &App, sub: Uuid, status: &str, household: Option<Uuid>) {
    use coop_web::feed::consumer::Apply as _;
    let event = coop_web::feed::Event {
        id: 1,
        kind: "member.changed".into(),
        version: 1,
        occurred_at: chrono::Utc::now(),
        key: None,
        payload: json!({ "sub": sub, "member_number": "1001", "name": "Alva", "status": status,
                         "member_prices": status == "active", "household": household }),
    };
    let mut tx = app.pool.begin().await.unwrap();
    coop_finance::members::MemberFeed {
        wallet_per: coop_finance::WalletPer::Household,
    }
    .apply(&mut tx, &event)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_wallet_api_spends_from_a_members_household_and_never_for_an_inactive_member() {
    let app = app_with(json!({ "wallet_per": "household" })).await;
    let (alva, home) = (Uuid::new_v4(), Uuid::new_v4());
    let w = coop_finance::wallet::wallet_of(&app.pool, home)
        .await
        .unwrap();
    coop_finance::wallet::credit_top_up(
        &app.pool,
        w,
        dec!(80),
        chrono::Utc::now().date_naive(),
        "t",
        2,
    )
    .await
    .unwrap();
    feed_member(&app, alva, "active", Some(home)).await;
    let pos = app
        .issuer
        .service_token("coop-pos", "coop-finance", "members.feed wallet");
    // The till names the member; the household's wallet answers and pays.
    let (s, v) = api(
        &app,
        "GET",
        &format!("/api/wallets/{alva}"),
        Some(&pos),
        None,
    )
    .await;
    assert_eq!(
        (s, &v["balance"]["available"]),
        (StatusCode::OK, &json!("80.00"))
    );
    assert_eq!(v["owner"], json!(home));
    let (s, v) = api(
        &app,
        "POST",
        "/api/holds",
        Some(&pos),
        Some(json!({ "owner": alva, "key": "sale:1", "amount": "30.00" })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = api(
        &app,
        "GET",
        &format!("/api/wallets/{home}"),
        Some(&pos),
        None,
    )
    .await;
    assert_eq!(v["balance"]["available"], json!("50.00"));

    // Suspended: nothing more is held for her, and her balance is not shown.
    feed_member(&app, alva, "suspended", Some(home)).await;
    let before = snapshot(&app.pool).await;
    for (method, path, body) in [
        (
            "POST",
            "/api/holds".to_owned(),
            Some(json!({ "owner": alva, "key": "sale:2", "amount": "1.00" })),
        ),
        ("GET", format!("/api/wallets/{alva}"), None),
    ] {
        let (s, v) = api(&app, method, &path, Some(&pos), body).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("member_inactive")),
            "{path}"
        );
    }
    assert_eq!(snapshot(&app.pool).await, before);
    // What was held before stays the caller's to settle.
    let (s, _) = api(&app, "POST", "/api/holds/sale:1/release", Some(&pos), None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn bookkeepers_find_wallets_with_the_overdrawn_ones_first() {
    use coop_web::feed::consumer::Apply as _;
    let app = app().await;
    let b = Browser::open(&app).await;
    let (alva, bo) = (Uuid::new_v4(), Uuid::new_v4());
    feed_member(&app, alva, "active", None).await;
    let w = coop_finance::wallet::wallet_of(&app.pool, alva)
        .await
        .unwrap();
    coop_finance::wallet::credit_top_up(
        &app.pool,
        w,
        dec!(80),
        chrono::Utc::now().date_naive(),
        "t",
        2,
    )
    .await
    .unwrap();
    // Bo, whom the feed never named, paid 150 from his wallet at a till that was offline.
    let event = coop_web::feed::Event {
        id: 1,
        kind: "sale.completed".into(),
        version: 1,
        occurred_at: chrono::Utc::now(),
        key: None,
        payload: json!({ "sale_id": Uuid::new_v4(), "till": "t1", "receipt_number": 7,
            "business_day": chrono::Utc::now().date_naive(), "member": bo,
            "lines_by_rate": [{ "vat_percent": "25", "net": "120.00", "vat": "30.00" }],
            "tenders": [{ "kind": "wallet", "amount": "150.00" }] }),
    };
    let mut tx = app.pool.begin().await.unwrap();
    coop_finance::postings::PosFeed::default()
        .apply(&mut tx, &event)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let keeper = user(&[Role::Bookkeeper]);
    let a = b.get("/wallets", Some(&keeper)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("id=\"overdrawn-summary\""), "{}", a.body);
    let table = between(&a.body, "<tbody>", "</tbody>").unwrap();
    let (first, second) = table.split_once("</tr>").unwrap();
    assert!(
        first.contains("150.00") && first.contains("Overdrawn since"),
        "{first}"
    );
    assert!(
        second.contains("Alva") && second.contains("1001"),
        "{second}"
    );
    // Found by member number, by part of the name, by payment reference; a % is no wildcard.
    let reference = coop_finance::wallet::payment_reference(&app.pool, w)
        .await
        .unwrap();
    for q in ["1001", "lv", reference.as_str()] {
        let a = b.get(&format!("/wallets?q={q}"), Some(&keeper)).await;
        let table = between(&a.body, "<tbody>", "</tbody>").unwrap();
        assert!(
            table.contains("Alva") && !table.contains("150.00"),
            "{q}: {table}"
        );
    }
    let a = b.get("/wallets?q=%25", Some(&keeper)).await;
    assert!(a.body.contains("class=\"empty-state\""), "{}", a.body);
    // The member sees it on their own page.
    let mut bo_user = user(&[Role::Member]);
    bo_user.sub = bo.to_string();
    let a = b.get("/", Some(&bo_user)).await;
    assert!(a.body.contains("id=\"overdrawn\""), "{}", a.body);
    let a = b.get("/", Some(&user(&[Role::Member]))).await;
    assert!(!a.body.contains("id=\"overdrawn\""));
}

#[tokio::test]
async fn bookkeepers_post_manual_entries_with_evidence_and_reverse_mistakes() {
    let app = app().await;
    let b = Browser::open(&app).await;
    let bookkeeper = user(&[Role::Member, Role::Bookkeeper]);
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-test-image";
    let fields = |debit: &'static str| {
        vec![
            ("entry_date", "2026-11-10"),
            ("text", "Elräkning november"),
            ("account-1", "5010"),
            ("debit-1", debit),
            ("account-2", "1930"),
            ("credit-2", "1200,00"),
        ]
    };
    // Unbalanced: refused with the difference, nothing stored.
    let a = b
        .multipart(
            "/entries",
            &fields("1190"),
            Some(("attachment", "el.png", png)),
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("differ by 10.00"), "{}", a.body);
    assert!(a.body.contains("value=\"Elräkning november\""));
    // Not a PDF or an image: refused.
    let a = b
        .multipart(
            "/entries",
            &fields("1200"),
            Some(("attachment", "el.exe", b"MZ\x90\0")),
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("PDF, JPEG or PNG"));
    assert_eq!(snapshot(&app.pool).await[2], json!(0));

    let a = b
        .multipart(
            "/entries",
            &fields("1200"),
            Some(("attachment", "el.png", png)),
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let location = a.location.unwrap();
    assert!(location.ends_with("?done=posted"), "{location}");
    let path = location.trim_start_matches("/finance");
    let page = b.get(path, Some(&bookkeeper)).await;
    assert!(
        page.body.contains("Elräkning november") && page.body.contains("el.png"),
        "{}",
        page.body
    );
    let id: i64 = path
        .trim_start_matches("/entries/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let att: i64 = sqlx::query_scalar!("select entry_attachment_id from entry_attachment")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let file = b
        .get(
            &format!("/entries/{id}/attachments/{att}"),
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(
        (file.content_type.as_str(), file.bytes.as_slice()),
        ("image/png", png.as_slice())
    );
    // Another entry's id with this attachment's number finds nothing.
    let file = b
        .get(
            &format!("/entries/{}/attachments/{att}", id + 1),
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(file.status, StatusCode::NOT_FOUND);
    let list = b.get("/entries", Some(&bookkeeper)).await;
    assert!(list.body.contains("A 1"), "{}", list.body);

    // Reversed once, on a day given; a second time is refused.
    let a = b
        .post(
            &format!("/entries/{id}/reverse"),
            &[("on", "2026-11-11")],
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = b
        .post(
            &format!("/entries/{id}/reverse"),
            &[("on", "2026-11-11")],
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("reversed already"), "{}", a.body);
    let sums: Vec<rust_decimal::Decimal> = sqlx::query_scalar!(
        r#"select sum(amount) as "s!" from journal_line group by account_number order by account_number"#
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(sums.iter().all(rust_decimal::Decimal::is_zero), "{sums:?}");
}

#[tokio::test]
async fn bookkeepers_set_a_budget_and_see_it_against_the_outlook() {
    let app = app().await;
    let b = Browser::open(&app).await;
    let bookkeeper = user(&[Role::Member, Role::Bookkeeper]);
    let year: i32 = sqlx::query_scalar!("select min(fiscal_year_id) as \"y!\" from fiscal_year")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let y = year.to_string();
    let a = b
        .post(
            "/budget",
            &[("year", &y), ("account", "1930"), ("m1", "100")],
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("revenue or expense account"), "{}", a.body);
    let a = b
        .post(
            "/budget",
            &[("year", &y), ("account", "3001"), ("m1", "abc")],
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let n: i64 = sqlx::query_scalar!(r#"select count(*) as "n!" from budget"#)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let a = b
        .post(
            "/budget",
            &[
                ("year", &y),
                ("account", "3001"),
                ("m1", "1000"),
                ("m12", "2 500,50"),
            ],
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let page = b
        .get(&format!("/budget?year={y}&done=saved"), Some(&bookkeeper))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("3,500.50"), "{}", page.body);
    assert!(page.body.contains("svg"));
}

#[tokio::test]
async fn months_close_in_order_once_over_and_take_nothing_more() {
    let app = app().await;
    let b = Browser::open(&app).await;
    let bookkeeper = user(&[Role::Member, Role::Bookkeeper]);
    // A past year, every month of it over.
    let year = coop_finance::ledger::store::open_fiscal_year(
        &app.pool,
        chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
    )
    .await
    .unwrap();
    let page = b
        .get(&format!("/books/{year}/periods"), Some(&bookkeeper))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    // Only January offers a button.
    assert_eq!(page.body.matches("/close\"").count(), 1, "{}", page.body);
    let a = b
        .post(
            &format!("/books/{year}/periods/2025-03-01/close"),
            &[],
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("earlier months first"), "{}", a.body);
    let a = b
        .post(
            &format!("/books/{year}/periods/2025-01-01/close"),
            &[],
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = b
        .post(
            &format!("/books/{year}/periods/2025-01-01/close"),
            &[],
            Some(&bookkeeper),
        )
        .await;
    assert!(a.body.contains("closed already"), "{}", a.body);
    // Nothing more is posted into January.
    let a = b
        .multipart(
            "/entries",
            &[
                ("entry_date", "2025-01-15"),
                ("text", "Sent faktura"),
                ("account-1", "5010"),
                ("debit-1", "100"),
                ("account-2", "1930"),
                ("credit-2", "100"),
            ],
            None,
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        a.body.contains("period of that day is closed"),
        "{}",
        a.body
    );
    // A month of this year that has not ended cannot be closed.
    let this_year: i32 = sqlx::query_scalar!(
        "select fiscal_year_id from fiscal_year where current_date between starts_on and ends_on"
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let this_month = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-01")
        .to_string();
    let a = b
        .post(
            &format!("/books/{this_year}/periods/{this_month}/close"),
            &[],
            Some(&bookkeeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("not ended yet"), "{}", a.body);
}

#[tokio::test]
async fn a_statement_is_the_members_own_and_any_members_for_a_bookkeeper() {
    let app = app().await;
    let b = Browser::open(&app).await;
    let ana = user(&[Role::Member]);
    let a = b
        .get("/statement?from=2026-11-01&to=2026-11-30", Some(&ana))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.content_type, "application/pdf");
    assert!(a.bytes.starts_with(b"%PDF-"));
    let doc = lopdf::Document::load_mem(&a.bytes).unwrap();
    let text = doc.extract_text(&[1]).unwrap();
    assert!(text.contains(&ana.name), "{text}");
    let anas: Uuid = sqlx::query_scalar!(
        "select wallet_id from wallet where owner_id = $1",
        Uuid::parse_str(&ana.sub).unwrap()
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();

    // Another member cannot reach Ana's by id; a bookkeeper can, in their language.
    let bo = user(&[Role::Member]);
    let path = format!("/wallets/{anas}/statement?from=2026-11-01&to=2026-11-30");
    assert_eq!(b.get(&path, Some(&bo)).await.status, StatusCode::FORBIDDEN);
    let keeper = user(&[Role::Bookkeeper]);
    let a = b.get(&format!("{path}&lang=sv"), Some(&keeper)).await;
    assert_eq!(a.status, StatusCode::OK);
    let text = lopdf::Document::load_mem(&a.bytes)
        .unwrap()
        .extract_text(&[1])
        .unwrap();
    assert!(
        text.contains(&ana.name) && text.contains("Kontoutdrag"),
        "{text}"
    );

    // No such wallet, and a period that is not one.
    let a = b
        .get(
            &format!("/wallets/{}/statement", Uuid::new_v4()),
            Some(&keeper),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    for bad in [
        "from=2026-12-01&to=2026-11-01",
        "from=yesterday",
        "to=2026-13-01",
    ] {
        let a = b.get(&format!("/statement?{bad}"), Some(&ana)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}
