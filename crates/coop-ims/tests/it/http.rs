//! coop-ims as a service: the real app (the kit's layers, sessions, CSRF) with members signed in
//! as test fixtures and tokens from a stand-in issuer. The role × route matrix of every page,
//! action and API; a manager's product through the forms; refused forms that write nothing; the
//! look-up API and the feed's views by token.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use coop_domain::Role;
use coop_ims::{Ims, Settings};
use coop_testkit::issuer::TestIssuer;
use coop_web::auth::CurrentUser;
use coop_web::ServiceName;
use serde_json::{json, Value};
use sqlx::PgPool;
use tower::ServiceExt as _;
use uuid::Uuid;

use crate::catalogue::ean13;

pub struct App {
    pub router: Router,
    pub pool: PgPool,
    pub issuer: TestIssuer,
    _dir: tempfile::TempDir,
}

pub async fn app() -> App {
    app_at("http://127.0.0.1:9").await
}

/// The app as if served at `base` (the browser pass serves it there for real).
pub async fn app_at(base: &str) -> App {
    app_with(base, |_| {}).await
}

/// The app at `base`, its config changed by `change` first (a mail server, say).
pub async fn app_with(base: &str, change: impl FnOnce(&mut Value)) -> App {
    let issuer = TestIssuer::start().await;
    let (db, pool) = coop_testkit::migrated_database(&coop_ims::MIGRATOR).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, "ims-test-secret-0123456789").unwrap();
    let mut v =
        coop_testkit::config::coop_config("ims", &db.url, dir.path(), &format!("{base}/ims"));
    v["public_url"] = json!(base);
    v["services"]["ims"]["client_secret_file"] = json!(secret.to_str().unwrap());
    v["services"]["ims"]["show_locations"] = json!(true);
    v["services"]["sso"] = json!({ "public_url": issuer.issuer });
    change(&mut v);
    let loaded =
        coop_web::config::parse::<Settings>(v, ServiceName::Ims, &BTreeMap::new()).unwrap();
    let (_kit, router) = coop_web::cli::app::<Ims>(loaded).await.unwrap();
    App {
        router,
        pool,
        issuer,
        _dir: dir,
    }
}

/// A member with these roles and a real id.
pub fn user(roles: &[Role]) -> CurrentUser {
    let mut u = CurrentUser::fixture(roles.iter().copied());
    u.sub = Uuid::new_v4().to_string();
    u.name = format!("Test {}", &u.sub[..8]);
    u
}

pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    pub content_type: String,
}

async fn send(app: &App, mut req: Request<Body>, who: Option<&CurrentUser>) -> Answer {
    if let Some(u) = who {
        req.extensions_mut().insert(u.clone());
    }
    let res = app.router.clone().oneshot(req).await.unwrap();
    let header_of = |h| {
        res.headers()
            .get(h)
            .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let location = header_of(header::LOCATION);
    let content_type = header_of(header::CONTENT_TYPE).unwrap_or_default();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 16 << 20)
        .await
        .unwrap();
    Answer {
        status,
        location,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        content_type,
    }
}

/// One browser: its session cookie and CSRF token.
pub struct Browser<'a> {
    app: &'a App,
    cookie: String,
    csrf: String,
}

impl<'a> Browser<'a> {
    pub async fn open(app: &'a App) -> Self {
        let req = Request::get("/ims").body(Body::empty()).unwrap();
        let mut req = req;
        req.extensions_mut().insert(user(&[Role::Member]));
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
        let start = body.find("name=\"csrf_token\" value=\"").map(|i| i + 25);
        let csrf = start
            .and_then(|i| body[i..].find('"').map(|j| body[i..i + j].to_owned()))
            .unwrap_or_default();
        // The finder has a GET form only; take the token from a manager's page instead.
        let mut b = Self {
            app,
            cookie: cookie.join("; "),
            csrf,
        };
        if b.csrf.is_empty() {
            let a = b.get("/products/new", Some(&user(&[Role::Manager]))).await;
            let i = a
                .body
                .find("name=\"csrf_token\" value=\"")
                .expect("a CSRF token")
                + 25;
            b.csrf
                .clone_from(&a.body[i..i + a.body[i..].find('"').unwrap()].to_owned());
        }
        b
    }

    pub async fn get(&self, path: &str, who: Option<&CurrentUser>) -> Answer {
        let path = if path == "/" || path.starts_with("/?") {
            &path[1..]
        } else {
            path
        };
        let req = Request::get(format!("/ims{path}"))
            .header(header::COOKIE, &self.cookie)
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .unwrap();
        send(self.app, req, who).await
    }

    pub async fn post_with(
        &self,
        path: &str,
        csrf: Option<&str>,
        fields: &[(&str, &str)],
        who: Option<&CurrentUser>,
    ) -> Answer {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = csrf {
            pairs.push(("csrf_token", t));
        }
        pairs.extend_from_slice(fields);
        let req = Request::post(format!("/ims{path}"))
            .header(header::COOKIE, &self.cookie)
            .header(header::ACCEPT, "text/html")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(&pairs).unwrap()))
            .unwrap();
        send(self.app, req, who).await
    }

    pub async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        who: Option<&CurrentUser>,
    ) -> Answer {
        let csrf = self.csrf.clone();
        self.post_with(path, Some(&csrf), fields, who).await
    }

    /// A multipart form with one file and text fields, with the session's CSRF token.
    pub async fn upload(
        &self,
        path: &str,
        field: &str,
        file_name: &str,
        bytes: &[u8],
        fields: &[(&str, &str)],
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
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = Request::post(format!("/ims{path}"))
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

    pub async fn api(&self, path: &str, token: Option<&str>) -> Answer {
        let mut req = Request::get(format!("/ims{path}"));
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        send(self.app, req.body(Body::empty()).unwrap(), None).await
    }
}

fn product_fields(sku: &str, price: &str, codes: &str) -> Vec<(&'static str, String)> {
    vec![
        ("sku", sku.to_owned()),
        ("name", "Rolled oats 1 kg".to_owned()),
        ("name_sv", "Havregryn 1 kg".to_owned()),
        ("unit", "each".to_owned()),
        ("vat_class", "food".to_owned()),
        ("cost", "14.50".to_owned()),
        ("shelf_price", price.to_owned()),
        ("member_price", "22.90".to_owned()),
        ("case_size", "12".to_owned()),
        ("active", "on".to_owned()),
        ("aisle", "1".to_owned()),
        ("shelf", "2".to_owned()),
        ("codes", codes.to_owned()),
    ]
}

async fn snapshot(pool: &PgPool) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "product",
        "product_code",
        "pack",
        "price_change",
        "stock_movement",
        "feed_event",
    ] {
        out.push(
            sqlx::query_scalar::<_, i64>(&format!("select count(*) from {t}"))
                .fetch_one(pool)
                .await
                .unwrap(),
        );
    }
    out
}

#[tokio::test]
async fn a_manager_keeps_the_catalogue_and_members_find_it() {
    let app = app().await;
    let b = Browser::open(&app).await;
    let manager = user(&[Role::Member, Role::Manager]);
    let code = ean13("731000100001");
    let fields = product_fields("HAV-1KG", "24.90", &code);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = b.post("/products", &pairs, Some(&manager)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let at = a.location.unwrap();
    let path = at
        .split("/ims")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let page = b.get(&path, Some(&manager)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Rolled oats 1 kg") && page.body.contains("Havregryn 1 kg"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&code),
        "the code as scanned: {}",
        page.body
    );

    // A delivery of 24, then 2 spoiled.
    let shop: Uuid = sqlx::query_scalar("select location_id from location where code = 'shop'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let shop = shop.to_string();
    let a = b
        .post(
            &format!("{path}/stock"),
            &[
                ("action", "receive"),
                ("location", &shop),
                ("quantity", "24"),
            ],
            Some(&manager),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = b
        .post(
            &format!("{path}/stock"),
            &[
                ("action", "shrink"),
                ("location", &shop),
                ("quantity", "2"),
                ("reason", "spoiled"),
            ],
            Some(&manager),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let page = b.get(&path, Some(&manager)).await;
    assert!(
        page.body.contains("id=\"on-hand-shop\">22,000")
            || page.body.contains("id=\"on-hand-shop\">22.000"),
        "{}",
        page.body
    );

    // A member finds it by name and by barcode, with price, member price, stock and place.
    let member = user(&[Role::Member]);
    for q in ["havre", code.as_str()] {
        let a = b.get(&format!("/?q={q}&lang=en"), Some(&member)).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.body.contains("Rolled oats 1 kg"), "{q}: {}", a.body);
        assert!(a.body.contains("aisle 1, shelf 2"), "{}", a.body);
        assert!(a.body.contains("22.90"), "{}", a.body);
    }

    // The valuation: 22 at 14.50, and its CSV.
    let a = b.get("/reports/stock?lang=en", Some(&manager)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.body.contains("<picture>")
            && a.body.contains("svg+xml;base64,")
            && a.body.contains("319.00"),
        "{}",
        a.body
    );
    let a = b.get("/reports/stock.csv", Some(&manager)).await;
    assert!(a.content_type.starts_with("text/csv"));
    assert_eq!(
        a.body.lines().nth(1),
        Some("HAV-1KG;Rolled oats 1 kg;each;22;14.50;319.00")
    );
    // In Swedish the finder shows the Swedish name.
    let a = b.get("/?q=rolled&lang=sv", Some(&member)).await;
    assert!(a.body.contains("Havregryn 1 kg"), "{}", a.body);
    assert_eq!(
        b.get("/reports/stock?location=nowhere", Some(&manager))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn refused_forms_and_missing_tokens_change_nothing() {
    let app = app().await;
    let b = Browser::open(&app).await;
    let manager = user(&[Role::Manager]);
    let code = ean13("731000100001");
    let fields = product_fields("HAV", "24.90", &code);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        b.post("/products", &pairs, Some(&manager)).await.status,
        StatusCode::SEE_OTHER
    );
    let id: Uuid = sqlx::query_scalar("select product_id from product")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let before = snapshot(&app.pool).await;

    // Too many decimals, a duplicate GTIN, a duplicate SKU: the page again, 422, with the reason.
    for (fields, says) in [
        (product_fields("NEW", "24.999", ""), "decimals"),
        (product_fields("NEW", "24.90", &code), "belongs to another"),
        (product_fields("HAV", "24.90", ""), "SKU"),
    ] {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let a = b.post("/products", &pairs, Some(&manager)).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{says}");
        assert!(
            a.body.contains("error-summary") && a.body.contains(says),
            "{says}: {}",
            a.body
        );
    }
    let p = format!("/products/{id}");
    for (path, fields) in [
        (format!("{p}/codes"), vec![("code", "7310001000019")]),
        (
            format!("{p}/stock"),
            vec![("action", "receive"), ("location", "x"), ("quantity", "1")],
        ),
        (
            format!("{p}/stock"),
            vec![("action", "receive"), ("location", "x"), ("quantity", "-3")],
        ),
        (
            format!("{p}/stock"),
            vec![("action", "shrink"), ("location", "x"), ("quantity", "1")],
        ),
        (
            format!("{p}/prices"),
            vec![("effective_on", "2020-01-01"), ("new_shelf_price", "20")],
        ),
        (
            format!("{p}/packs"),
            vec![
                ("pack_name", "x"),
                ("units", "1"),
                ("pack_price", "5"),
                ("gtin", "x"),
            ],
        ),
    ] {
        let a = b.post(&path, &fields, Some(&manager)).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {fields:?}: {}",
            a.body
        );
    }
    // Without the session's CSRF token, or with another, even a manager is refused.
    for token in [None, Some("not-the-token")] {
        let a = b
            .post_with("/products", token, &pairs, Some(&manager))
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        let a = b
            .post_with(
                &format!("{p}/stock"),
                token,
                &[("action", "receive"), ("quantity", "1")],
                Some(&manager),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(snapshot(&app.pool).await, before);
}

#[tokio::test]
#[allow(clippy::many_single_char_names)]
async fn every_role_against_every_page_and_action() {
    let app = app().await;
    let b = Browser::open(&app).await;
    let fields = product_fields("HAV", "24.90", &ean13("731000100001"));
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post("/products", &pairs, Some(&user(&[Role::Manager])))
        .await;
    let id: Uuid = sqlx::query_scalar("select product_id from product")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let pages: Vec<(String, Role)> = vec![
        ("/".into(), Role::Member),
        ("/?q=havre".into(), Role::Member),
        ("/products".into(), Role::Manager),
        ("/products/new".into(), Role::Manager),
        (format!("/products/{id}"), Role::Manager),
        ("/reports/stock".into(), Role::Manager),
        ("/reports/stock.csv".into(), Role::Manager),
        ("/audits".into(), Role::Manager),
        ("/requests".into(), Role::Member),
        ("/reports/velocity".into(), Role::Manager),
        ("/reports/velocity.csv".into(), Role::Manager),
        ("/reports/reorder".into(), Role::Manager),
        ("/reports/reorder.csv".into(), Role::Manager),
        ("/reports/shrink".into(), Role::Manager),
        ("/reports/shrink.csv".into(), Role::Manager),
        ("/orders".into(), Role::Manager),
        ("/suppliers".into(), Role::Manager),
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
        assert_eq!(
            b.get(path, Some(&user(&[]))).await.status,
            StatusCode::FORBIDDEN,
            "no roles at {path}"
        );
        let a = b.get(path, None).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "anonymous at {path}");
    }
    // A count sheet is for the shop floor: cashiers and managers.
    let shop: Uuid = sqlx::query_scalar("select location_id from location where code = 'shop'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let audit = coop_ims::audit::start(&app.pool, shop, coop_ims::audit::Scope::Full, None)
        .await
        .unwrap();
    let sheet = format!("/audits/{audit}");
    for role in Role::ALL {
        let expected = if matches!(role, Role::Cashier | Role::Manager) {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(
            b.get(&sheet, Some(&user(&[role]))).await.status,
            expected,
            "{role} at {sheet}"
        );
    }
    assert_eq!(b.get(&sheet, None).await.status, StatusCode::SEE_OTHER);
    let count_field = format!("c-{id}");
    for role in Role::ALL
        .into_iter()
        .filter(|r| !matches!(r, Role::Cashier | Role::Manager))
    {
        for (path, fields) in [
            (format!("{sheet}/counts"), vec![(count_field.as_str(), "5")]),
            (format!("{sheet}/submit"), vec![]),
        ] {
            assert_eq!(
                b.post(&path, &fields, Some(&user(&[role]))).await.status,
                StatusCode::FORBIDDEN,
                "{role} at {path}"
            );
        }
    }
    let cashier = user(&[Role::Cashier]);
    assert_eq!(
        b.post(
            &format!("{sheet}/counts"),
            &[(count_field.as_str(), "5")],
            Some(&cashier)
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        b.post(&format!("{sheet}/submit"), &[], Some(&cashier))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let before = snapshot(&app.pool).await;
    // Only a manager approves or cancels; a cashier who counted cannot.
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Manager) {
        for path in [
            format!("{sheet}/approve"),
            format!("{sheet}/cancel"),
            "/audits".to_owned(),
        ] {
            let fields: Vec<(&str, &str)> = vec![("kind", "full"), ("location", "x")];
            assert_eq!(
                b.post(&path, &fields, Some(&user(&[role]))).await.status,
                StatusCode::FORBIDDEN,
                "{role} at {path}"
            );
        }
    }
    assert_eq!(snapshot(&app.pool).await, before);
    let a = b
        .post(
            &format!("{sheet}/approve"),
            &[],
            Some(&user(&[Role::Manager])),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let page = b.get(&sheet, Some(&user(&[Role::Manager]))).await;
    assert!(page.body.contains("id=\"variance-total\""), "{}", page.body);

    // Requests: any member asks and votes; only a manager answers.
    let asker = user(&[Role::Member]);
    assert_eq!(
        b.post("/requests", &[("title", "Havremjölk")], Some(&asker))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let request: Uuid = sqlx::query_scalar("select product_request_id from product_request")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Member) {
        for (path, fields) in [
            ("/requests".to_owned(), vec![("title", "x")]),
            (format!("/requests/{request}/vote"), vec![]),
        ] {
            assert_eq!(
                b.post(&path, &fields, Some(&user(&[role]))).await.status,
                StatusCode::FORBIDDEN,
                "{role} at {path}"
            );
        }
    }
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Manager) {
        let path = format!("/requests/{request}/decide");
        let a = b
            .post(&path, &[("decision", "accept")], Some(&user(&[role])))
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{role} at {path}");
    }
    let status: String = sqlx::query_scalar("select status from product_request")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "open");

    // A purchase order: its pages and actions are a manager's alone.
    let (_, _, flour, order, _) = crate::orders::flour_order(&app.pool).await;
    let o = format!("/orders/{order}");
    for path in [o.clone(), format!("{o}/csv"), format!("{o}/pdf")] {
        for role in Role::ALL {
            let expected = if role == Role::Manager {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            let a = b.get(&path, Some(&user(&[role]))).await;
            assert_eq!(a.status, expected, "{role} at {path}");
        }
        assert_eq!(b.get(&path, None).await.status, StatusCode::SEE_OTHER);
    }
    let q = format!("q-{flour}");
    let r = format!("r-{flour}");
    for (path, fields) in [
        (format!("{o}/lines"), vec![(q.as_str(), "6")]),
        (format!("{o}/send"), vec![("mail", "on")]),
        (format!("{o}/mail"), vec![]),
        (format!("{o}/receive"), vec![(r.as_str(), "6")]),
    ] {
        for role in Role::ALL.into_iter().filter(|r| *r != Role::Manager) {
            let a = b.post(&path, &fields, Some(&user(&[role]))).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{role} at {path}");
        }
        assert!(!b.post(&path, &fields, None).await.status.is_success());
    }
    let (head, lines) = coop_ims::purchase::get(&app.pool, order)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            head.status.as_str(),
            lines[0].quantity.normalize(),
            head.mailed_to
        ),
        ("draft", rust_decimal_macros::dec!(18), None),
        "no refused action changed the order"
    );

    let before = snapshot(&app.pool).await;
    let p = format!("/products/{id}");
    let actions: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/products".into(), pairs.clone()),
        (p.clone(), pairs.clone()),
        (format!("{p}/codes"), vec![("code", "4011")]),
        (
            format!("{p}/codes/remove"),
            vec![("kind", "gtin"), ("code", "07310001000019")],
        ),
        (
            format!("{p}/packs"),
            vec![
                ("pack_name", "6"),
                ("units", "6"),
                ("pack_price", "100"),
                ("gtin", "96385074"),
            ],
        ),
        (
            format!("{p}/prices"),
            vec![("effective_on", "2030-01-01"), ("new_shelf_price", "30")],
        ),
        (format!("{p}/packs/{}/retire", Uuid::new_v4()), vec![]),
        (
            format!("{p}/prices/cancel"),
            vec![("effective_on", "2030-01-01")],
        ),
        ("/reports/velocity/export".into(), vec![]),
        (
            format!("{p}/stock"),
            vec![("action", "receive"), ("quantity", "5")],
        ),
        (
            "/orders".into(),
            vec![("supplier", "00000000-0000-0000-0000-000000000000")],
        ),
        (
            "/suppliers".into(),
            vec![("name", "Ny"), ("lead_time_days", "2")],
        ),
    ];
    for (path, fields) in &actions {
        for role in Role::ALL.into_iter().filter(|r| *r != Role::Manager) {
            let a = b.post(path, fields, Some(&user(&[role]))).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{role} at {path}");
        }
        assert!(
            !b.post(path, fields, None).await.status.is_success(),
            "anonymous at {path}"
        );
    }
    assert_eq!(
        snapshot(&app.pool).await,
        before,
        "no refused action wrote anything"
    );

    // The API and the feed: by token only, and by whose token.
    let t = |client: &str, scope: &str| app.issuer.service_token(client, "coop-ims", scope);
    let till = t(coop_web::config::TILL_CLIENT_ID, "till");
    let pos = t("coop-pos", "");
    let finance = t("coop-finance", "");
    let buyers = t("coop-buyers-club", "");
    let member =
        app.issuer
            .member_token(&Uuid::new_v4().to_string(), "coop-pos", "coop-ims", "till");
    let code = ean13("731000100001");
    let lookup = format!("/api/lookup?code={code}");
    for (token, expected) in [
        (Some(till.as_str()), StatusCode::OK),
        (Some(pos.as_str()), StatusCode::OK),
        (Some(finance.as_str()), StatusCode::FORBIDDEN),
        (Some(buyers.as_str()), StatusCode::FORBIDDEN),
        (Some(member.as_str()), StatusCode::FORBIDDEN),
        (Some("not-a-token"), StatusCode::UNAUTHORIZED),
        (None, StatusCode::UNAUTHORIZED),
    ] {
        assert_eq!(
            b.api(&lookup, token).await.status,
            expected,
            "lookup with {token:?}"
        );
    }
    let a = b.api(&lookup, Some(&till)).await;
    let v: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v["product"]["product_id"], id.to_string());
    assert_eq!(v["product"]["shelf_price"], "24.90");
    assert_eq!(
        b.api("/api/lookup?code=7310001000010", Some(&till))
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        b.api("/api/lookup?code=7319999999992", Some(&till))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    for (token, expected) in [
        (Some(till.as_str()), StatusCode::OK),
        (Some(finance.as_str()), StatusCode::OK),
        (Some(pos.as_str()), StatusCode::FORBIDDEN),
        (Some(member.as_str()), StatusCode::FORBIDDEN),
        (None, StatusCode::UNAUTHORIZED),
    ] {
        assert_eq!(
            b.api("/api/feed?after=0", token).await.status,
            expected,
            "feed with {token:?}"
        );
    }
    // A till sees the catalogue without cost prices; coop-finance sees everything.
    let tills: Value =
        serde_json::from_str(&b.api("/api/feed?after=0", Some(&till)).await.body).unwrap();
    let first = &tills["events"][0];
    assert_eq!(first["type"], "product.changed");
    assert!(first["payload"].get("cost").is_none() && first["payload"]["shelf_price"] == "24.90");
    let all: Value =
        serde_json::from_str(&b.api("/api/feed?after=0", Some(&finance)).await.body).unwrap();
    assert_eq!(all["events"][0]["payload"]["cost"], "14.50");
}

/// The path under the service of a redirect's full URL.
fn under_service(location: &str) -> String {
    let i = location.find("/ims/").expect("a URL under /ims");
    location[i + 4..].to_owned()
}

#[tokio::test]
async fn a_report_csv_is_prepared_in_the_background_for_the_manager_who_asked() {
    let app = app().await;
    let b = Browser::open(&app).await;
    let manager = user(&[Role::Member, Role::Manager]);
    let fields = product_fields("HAV", "24.90", &ean13("731000100001"));
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post("/products", &pairs, Some(&manager)).await;
    let (product, shop): (Uuid, Uuid) = sqlx::query_as(
        "select product_id, (select location_id from location where code = 'shop') from product",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    coop_ims::stock::record_one(
        &app.pool,
        &coop_ims::stock::NewMovement {
            product_id: product,
            location_id: shop,
            kind: coop_ims::stock::MovementKind::Received,
            reason: None,
            quantity: rust_decimal_macros::dec!(12),
            on: chrono::Utc::now().date_naive(),
            source_key: None,
            transfer_id: None,
            note: None,
            by: None,
        },
    )
    .await
    .unwrap();

    // The report's page offers it; asking sends the manager to the job's page.
    let page = b.get("/reports/stock?location=shop", Some(&manager)).await;
    assert!(page.body.contains("/reports/stock/export"), "{}", page.body);
    let a = b
        .post(
            "/reports/stock/export",
            &[("location", "shop")],
            Some(&manager),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let job = under_service(&a.location.unwrap());
    assert!(job.starts_with("/jobs/"), "{job}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let s = b.get(&format!("{job}/status"), Some(&manager)).await;
        assert_eq!(s.status, StatusCode::OK);
        let v: Value = serde_json::from_str(&s.body).unwrap();
        if v["finished"] == true {
            assert_eq!(v["status"], "done", "{v}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job did not finish: {v}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let page = b.get(&job, Some(&manager)).await;
    assert!(page.body.contains("id=\"job-download\""), "{}", page.body);
    let file = b.get(&format!("{job}/download"), Some(&manager)).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.content_type, "text/csv; charset=utf-8");
    let direct = b
        .get("/reports/stock.csv?location=shop", Some(&manager))
        .await;
    assert_eq!(
        file.body, direct.body,
        "the same file as the direct download"
    );
    assert!(
        file.body.contains("HAV;Rolled oats 1 kg;each;12;"),
        "{}",
        file.body
    );
    let mine = b.get("/jobs", Some(&manager)).await;
    assert!(mine.body.contains(&job), "{}", mine.body);

    // Another manager, or this one without the role, gets nothing of it.
    let other = user(&[Role::Member, Role::Manager]);
    for path in [
        job.clone(),
        format!("{job}/status"),
        format!("{job}/download"),
    ] {
        assert_eq!(
            b.get(&path, Some(&other)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        let mut former = manager.clone();
        former.roles.remove(&Role::Manager);
        assert_eq!(
            b.get(&path, Some(&former)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        assert_eq!(
            b.get(&path, None).await.status,
            StatusCode::SEE_OTHER,
            "{path}"
        );
    }
    assert!(!b.get("/jobs", Some(&other)).await.body.contains(&job));
    assert_eq!(
        b.get("/jobs/not-a-uuid", Some(&manager)).await.status,
        StatusCode::NOT_FOUND
    );

    // Asking for what is not there queues nothing.
    for (path, fields, expected) in [
        (
            "/reports/stock/export",
            vec![("location", "annex")],
            StatusCode::NOT_FOUND,
        ),
        ("/reports/everything/export", vec![], StatusCode::NOT_FOUND),
        (
            "/reports/shrink/export",
            vec![("from", "2026-12-01"), ("to", "2026-11-01")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "/reports/shrink/export",
            vec![("from", "yesterday")],
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let a = b.post(path, &fields, Some(&manager)).await;
        assert_eq!(a.status, expected, "{path} {fields:?}");
    }
    // Nor does a member, a cashier or a bookkeeper, nor a form without its CSRF token.
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Manager) {
        let a = b
            .post("/reports/velocity/export", &[], Some(&user(&[role])))
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{role}");
    }
    let a = b
        .post_with("/reports/velocity/export", None, &[], Some(&manager))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let n: i64 = sqlx::query_scalar("select count(*) from job")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}
