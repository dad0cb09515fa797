//! coop-buyers-club as a service: the real app (the kit's layers, sessions, CSRF) with members
//! signed in as test fixtures, settling with a real coop-finance. The role × route matrix of its
//! pages and forms; an order run through the forms, as a browser would; refusals that change
//! nothing; forged CSRF tokens; another member's part; the feed's readers.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::ServiceName;
use rust_decimal_macros::dec;
use serde_json::json;
use tower::ServiceExt as _;
use uuid::Uuid;

use super::common::{club, Club};

pub struct App {
    pub router: Router,
    pub club: Club,
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    app_at("http://127.0.0.1:9").await
}

/// The app as if served at `base` (the browser pass serves it there for real).
pub async fn app_at(base: &str) -> App {
    app_with(base, |_| {}).await
}

/// The co-op config the app is started with, before `change`.
fn config(club: &Club, dir: &std::path::Path, base: &str) -> serde_json::Value {
    let secret = dir.join("client-secret");
    std::fs::write(&secret, "club-test-secret-0123456789").unwrap();
    let mut v = coop_testkit::config::coop_config(
        "buyers_club",
        &club.db_url,
        dir,
        &format!("{base}/buyers-club"),
    );
    v["public_url"] = json!(base);
    v["services"]["buyers_club"]["client_secret_file"] = json!(secret.to_str().unwrap());
    v["services"]["sso"] = json!({ "public_url": club.issuer.issuer });
    v["services"]["finance"] = json!({ "public_url": format!("{}/finance", club.finance_base) });
    v
}

/// [`app_at`] with the config changed first.
pub async fn app_with(base: &str, change: impl FnOnce(&mut serde_json::Value)) -> App {
    let club = club().await;
    let dir = tempfile::tempdir().unwrap();
    let mut v = config(&club, dir.path(), base);
    change(&mut v);
    let loaded = coop_web::config::parse::<coop_buyers_club::Settings>(
        v,
        ServiceName::BuyersClub,
        &BTreeMap::new(),
    )
    .unwrap();
    let (_kit, router) = coop_web::cli::app::<coop_buyers_club::BuyersClub>(loaded)
        .await
        .unwrap();
    App {
        router,
        club,
        _dir: dir,
    }
}

/// A member with these roles, with money in their wallet at coop-finance.
async fn member(app: &App, roles: &[Role], money: rust_decimal::Decimal) -> CurrentUser {
    let id = app.club.member(money).await;
    let mut u = CurrentUser::fixture(roles.iter().copied());
    u.sub = id.to_string();
    u.name = format!("Test {}", &u.sub[..8]);
    u
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
    /// The cookies set, `name=value` each.
    cookies: Vec<String>,
}

struct Browser<'a> {
    app: &'a App,
    cookie: String,
    csrf: String,
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
    let cookies: Vec<String> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let bytes = axum::body::to_bytes(res.into_body(), 16 << 20)
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&bytes).into_owned();
    Answer {
        status,
        location,
        body,
        cookies,
    }
}

fn between<'s>(s: &'s str, start: &str, end: &str) -> Option<&'s str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

impl<'a> Browser<'a> {
    async fn open(app: &'a App, who: &CurrentUser) -> Self {
        let a = send(
            app,
            Request::get("/buyers-club/suppliers")
                .body(Body::empty())
                .unwrap(),
            Some(who),
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

    async fn get(&self, path: &str, who: Option<&CurrentUser>) -> Answer {
        let req = Request::get(format!("/buyers-club{path}"))
            .header(header::COOKIE, &self.cookie)
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .unwrap();
        send(self.app, req, who).await
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)], who: Option<&CurrentUser>) -> Answer {
        let mut pairs: Vec<(&str, &str)> = vec![("csrf_token", &self.csrf)];
        pairs.extend_from_slice(fields);
        let body = serde_urlencoded::to_string(&pairs).unwrap();
        let req = Request::post(format!("/buyers-club{path}"))
            .header(header::COOKIE, &self.cookie)
            .header(header::ACCEPT, "text/html")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        send(self.app, req, who).await
    }
}

/// The id at the end of a redirect's location (`…/orders/<id>`).
fn id_in(location: &str) -> Uuid {
    Uuid::parse_str(location.rsplit('/').next().unwrap()).unwrap()
}

#[tokio::test]
async fn an_order_through_the_forms_and_every_refusal() {
    let app = app().await;
    let alice = member(&app, &[Role::Member], dec!(1000)).await;
    let bo = member(&app, &[Role::Member], dec!(100)).await;
    let b = Browser::open(&app, &alice).await;

    // Alice adds a supplier and two products, and starts an order.
    let a = b
        .post(
            "/suppliers",
            &[
                ("name", "Kvarnen"),
                ("address", "Kvarnvägen 2"),
                ("latitude", "55,99"),
                ("longitude", "13,28"),
                ("order_threshold", "100"),
                ("lead_time_days", "2"),
            ],
            Some(&alice),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let supplier = id_in(a.location.as_deref().unwrap());
    for (name, case, price) in [
        ("Vetemjöl 2 kg", "10", "21,50"),
        ("Havregryn 1 kg", "6", "24,90"),
    ] {
        let a = b
            .post(
                &format!("/suppliers/{supplier}/products"),
                &[
                    ("name", name),
                    ("unit", "st"),
                    ("case_size", case),
                    ("unit_price", price),
                    ("vat_class", "food"),
                ],
                Some(&alice),
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    }
    let products = coop_buyers_club::store::products(&app.club.db, supplier)
        .await
        .unwrap();
    let (flour, oats) = (products[1].product_id, products[0].product_id);
    assert_eq!(products[1].name, "Vetemjöl 2 kg");
    let a = b
        .get(&format!("/orders/new?supplier={supplier}"), Some(&alice))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("Vetemjöl 2 kg"));
    let ends_on = (chrono::Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .to_string();
    let (pf, po) = (format!("p-{flour}"), format!("p-{oats}"));
    let a = b
        .post(
            "/orders",
            &[
                ("supplier", &supplier.to_string()),
                ("title", "Mjöl och gryn"),
                ("ends_on", &ends_on),
                ("ends_at", "20:00"),
                // Below the supplier's 100: Bo's 64.50 is enough to send it.
                ("threshold", "50"),
                (&pf, "on"),
                (&po, "on"),
            ],
            Some(&alice),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let order = id_in(a.location.as_deref().unwrap());

    // Bo buys; his hold follows.
    let (qf, tf, qo) = (
        format!("q-{flour}"),
        format!("t-{flour}"),
        format!("q-{oats}"),
    );
    let a = b
        .post(
            &format!("/orders/{order}/purchases"),
            &[(&qf, "3"), (&tf, "0")],
            Some(&bo),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(
        app.club
            .wallet_of(Uuid::parse_str(&bo.sub).unwrap())
            .await
            .0,
        dec!(64.50)
    );
    let page = b.get(&format!("/orders/{order}"), Some(&bo)).await;
    assert!(page.body.contains("value=\"3\""), "Bo sees his purchase");

    // Beyond his credit: a 422 that says what is available, and nothing changes.
    let before = app.club.snapshot().await;
    let a = b
        .post(
            &format!("/orders/{order}/purchases"),
            &[(&qo, "2")],
            Some(&bo),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        a.body.contains("35,50") || a.body.contains("35.50"),
        "what is available: {}",
        a.body
    );
    // Bad input: a negative quantity, letters.
    let a = b
        .post(
            &format!("/orders/{order}/purchases"),
            &[(&qf, "-1")],
            Some(&bo),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = b
        .post(
            &format!("/orders/{order}/purchases"),
            &[(&qf, "tre")],
            Some(&bo),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Bo is not the manager: he may not close, remove a product, or complete.
    for path in [
        format!("/orders/{order}/close"),
        format!("/orders/{order}/cancel"),
        format!("/orders/{order}/products/{flour}/remove"),
        format!("/orders/{order}/complete"),
    ] {
        let a = b.post(&path, &[], Some(&bo)).await;
        assert!(
            matches!(
                a.status,
                StatusCode::FORBIDDEN | StatusCode::UNPROCESSABLE_ENTITY
            ),
            "{path}: {}",
            a.status
        );
    }
    // A forged CSRF token is refused, for the manager too.
    let mut forged = Browser::open(&app, &alice).await;
    forged.csrf = "forged".into();
    let a = forged
        .post(&format!("/orders/{order}/close"), &[], Some(&alice))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.club.snapshot().await,
        before,
        "no refusal changed anything"
    );

    // Bo's part is his; another member's part is not found.
    let a = b
        .get(
            &format!("/orders/{order}/part?member={}", alice.sub),
            Some(&bo),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // Bo's three bags fill no case of ten: the order is worth nothing to the supplier yet, and
    // closing it is refused (it would not be sent), with the reason.
    let a = b
        .post(&format!("/orders/{order}/close"), &[], Some(&alice))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        a.body.contains("does not exceed its threshold"),
        "{}",
        a.body
    );
    // Alice takes the other seven bags: a case, 215.00, above the threshold.
    let a = b
        .post(
            &format!("/orders/{order}/purchases"),
            &[(&qf, "7"), (&tf, "0")],
            Some(&alice),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let page = b.get(&format!("/orders/{order}"), Some(&alice)).await;
    assert!(
        page.body.contains("215,00") || page.body.contains("215.00"),
        "the total so far"
    );

    // Alice closes it; Bo can no longer buy; the sorting view has the case.
    let a = b
        .post(&format!("/orders/{order}/close"), &[], Some(&alice))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = b
        .post(
            &format!("/orders/{order}/purchases"),
            &[(&qf, "4")],
            Some(&bo),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = b.get(&format!("/orders/{order}/sorting"), Some(&bo)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("Vetemjöl 2 kg"));

    // The spec's flowchart goes on through the forms: after talking to the supplier Alice opens
    // the order again; Bo changes his flour, Alice adds a case of oats; she closes it, and after
    // delivery asks Bo to accept one bag less; he disputes, she withdraws it and asks again; he
    // approves; she completes. Bo is charged his part, once.
    let ends_on = (chrono::Utc::now() + chrono::Duration::days(2))
        .date_naive()
        .to_string();
    let a = b
        .post(
            &format!("/orders/{order}/reopen"),
            &[("ends_on", &ends_on), ("ends_at", "18:00")],
            Some(&alice),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = b
        .post(
            &format!("/orders/{order}/purchases"),
            &[(&qf, "4"), (&tf, "0")],
            Some(&bo),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = b
        .post(
            &format!("/orders/{order}/purchases"),
            &[(&qo, "6")],
            Some(&alice),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = b
        .post(&format!("/orders/{order}/close"), &[], Some(&alice))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let bo_id = bo.sub.clone();
    let flour_id = flour.to_string();
    let ask = [
        ("product", flour_id.as_str()),
        ("member", bo_id.as_str()),
        ("quantity", "3"),
        ("reason", "En säck saknades"),
    ];
    let a = b
        .post(&format!("/orders/{order}/changes"), &ask, Some(&alice))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let change = || async {
        let id: Uuid = sqlx::query_scalar(
            "select change_id from purchase_change where state in ('requested', 'disputed')",
        )
        .fetch_one(&app.club.db)
        .await
        .unwrap();
        id
    };
    let first = change().await;
    // Completing with a change waiting is refused, with the reason.
    let a = b
        .post(&format!("/orders/{order}/complete"), &[], Some(&alice))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Alice may not answer Bo's change; Bo disputes it.
    let a = b
        .post(
            &format!("/changes/{first}/answer"),
            &[("answer", "approve")],
            Some(&alice),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = b
        .post(
            &format!("/changes/{first}/answer"),
            &[("answer", "dispute"), ("note", "Jag fick fyra")],
            Some(&bo),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let page = b.get(&format!("/orders/{order}"), Some(&alice)).await;
    assert!(
        page.body.contains("Jag fick fyra"),
        "the manager sees the dispute's note"
    );
    let a = b
        .post(&format!("/changes/{first}/withdraw"), &[], Some(&alice))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let a = b
        .post(&format!("/orders/{order}/changes"), &ask, Some(&alice))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let second = change().await;
    let a = b
        .post(
            &format!("/changes/{second}/answer"),
            &[("answer", "approve")],
            Some(&bo),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let a = b
        .post(&format!("/orders/{order}/complete"), &[], Some(&alice))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    // Bo paid his three bags (64.50), and the feed has the order once.
    let part = coop_buyers_club::store::parts(&app.club.db, order, 2, &|_: &str| dec!(6))
        .await
        .unwrap();
    let paid: rust_decimal::Decimal = part
        .iter()
        .filter(|p| p.member.to_string() == bo.sub)
        .map(|p| p.total)
        .sum();
    let (held, balance) = app.club.wallet_of(Uuid::parse_str(&bo.sub).unwrap()).await;
    assert_eq!(paid, dec!(64.50));
    assert_eq!((held, balance), (dec!(0), dec!(35.50)));
    let events = coop_web::feed::events_after(&app.club.db, 0, 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "order.completed");
    let page = b.get(&format!("/orders/{order}"), Some(&bo)).await;
    assert!(page.body.contains("id=\"state\""));
}

#[tokio::test]
async fn every_page_needs_a_signed_in_member() {
    let app = app().await;
    let alice = member(&app, &[Role::Member], dec!(100)).await;
    let b = Browser::open(&app, &alice).await;
    let (supplier, [oats, _, _]) = app
        .club
        .supplier(Uuid::parse_str(&alice.sub).unwrap())
        .await;
    let order = app
        .club
        .order(Uuid::parse_str(&alice.sub).unwrap(), supplier, &[oats])
        .await;
    let pages = [
        "/".to_owned(),
        "/orders/new".to_owned(),
        format!("/orders/new?supplier={supplier}"),
        format!("/orders/{order}"),
        format!("/orders/{order}/sorting"),
        format!("/orders/{order}/part"),
        "/suppliers".to_owned(),
        format!("/suppliers/{supplier}"),
        "/notifications".to_owned(),
        "/places".to_owned(),
    ];
    for path in &pages {
        let path = if path == "/" { "" } else { path.as_str() };
        for role in Role::ALL {
            let mut u = CurrentUser::fixture([role]);
            u.sub = Uuid::new_v4().to_string();
            let a = b.get(path, Some(&u)).await;
            let expected = if role == Role::Member {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(a.status, expected, "{role} at {path}");
        }
        let a = b.get(path, None).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "anonymous at {path}");
        assert!(
            a.location.unwrap().contains("/buyers-club/auth/login"),
            "{path}"
        );
    }
    // Forms: anonymous and members without the member role are refused, nothing changes.
    let before = app.club.snapshot().await;
    let forms = [
        ("/suppliers".to_owned(), vec![("name", "X")]),
        (
            format!("/suppliers/{supplier}/products"),
            vec![
                ("name", "Y"),
                ("unit", "st"),
                ("unit_price", "1"),
                ("vat_class", "food"),
            ],
        ),
        (format!("/orders/{order}/purchases"), vec![]),
        (format!("/orders/{order}/close"), vec![]),
        (format!("/orders/{order}/cancel"), vec![]),
        ("/notifications".to_owned(), vec![("opened:email", "on")]),
        (
            "/places/mine".to_owned(),
            vec![("address", "Storgatan 1"), ("on_map", "on")],
        ),
        (format!("/suppliers/{supplier}/delete"), vec![]),
        (format!("/products/{oats}/delete"), vec![]),
    ];
    for (path, fields) in &forms {
        for role in Role::ALL.into_iter().filter(|r| *r != Role::Member) {
            let mut u = CurrentUser::fixture([role]);
            u.sub = Uuid::new_v4().to_string();
            let a = b.post(path, fields, Some(&u)).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{role} at {path}");
        }
        let a = b.post(path, fields, None).await;
        assert!(
            !a.status.is_success() && a.status != StatusCode::SEE_OTHER
                || a.location
                    .as_deref()
                    .is_some_and(|l| l.contains("/auth/login")),
            "anonymous at {path}: {}",
            a.status
        );
    }
    assert_eq!(app.club.snapshot().await, before);

    // The feed: coop-finance's own token reads it; no token, a member's or a till's do not.
    let feed = |token: Option<String>| {
        let mut req = Request::get("/buyers-club/api/feed?after=0");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        req.body(Body::empty()).unwrap()
    };
    let issuer = &app.club.issuer;
    assert_eq!(
        send(&app, feed(None), None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let finance = issuer.service_token("coop-finance", "coop-buyers-club", "members.feed");
    assert_eq!(
        send(&app, feed(Some(finance)), None).await.status,
        StatusCode::OK
    );
    let ims = issuer.service_token("coop-ims", "coop-buyers-club", "members.feed");
    assert_eq!(
        send(&app, feed(Some(ims)), None).await.status,
        StatusCode::FORBIDDEN
    );
    let till = issuer.till_token("kassa-1", "coop-buyers-club");
    assert_eq!(
        send(&app, feed(Some(till)), None).await.status,
        StatusCode::FORBIDDEN
    );
}

impl Browser<'_> {
    /// A CSV uploaded in a multipart form with the session's CSRF token.
    async fn upload(&self, path: &str, csv: &str, who: &CurrentUser) -> Answer {
        let boundary = "----buyers-club-test";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"prices.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n",
            self.csrf
        );
        let req = Request::post(format!("/buyers-club{path}"))
            .header(header::COOKIE, &self.cookie)
            .header(header::ACCEPT, "text/html")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        send(self.app, req, Some(who)).await
    }
}

#[tokio::test]
async fn a_price_list_is_imported_whole_or_not_at_all() {
    let app = app().await;
    let alice = member(&app, &[Role::Member], dec!(0)).await;
    let b = Browser::open(&app, &alice).await;
    let (supplier, _) = app
        .club
        .supplier(Uuid::parse_str(&alice.sub).unwrap())
        .await;
    let path = format!("/suppliers/{supplier}/price-list");
    // Two bad rows: nothing is imported, each is listed by its line.
    let before = app.club.snapshot().await;
    let a = b
        .upload(&path, "artikel;namn;enhet;kartong;pris\nA-0;Havregryn 1 kg;st;6;26,90\nX;;st;1;5\nY;Salt;st;1;gratis\n", &alice)
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        a.body.contains("Line 3") && a.body.contains("Line 4"),
        "{}",
        a.body
    );
    assert_eq!(app.club.snapshot().await, before);
    // A good one: A-0 (the oats) updated, a new product added.
    let a = b
        .upload(&path, "artikel;namn;enhet;kartong;pris;moms\nA-0;Havregryn 1 kg;st;6;26,90;food\nS-1;Havssalt 500 g;st;12;19,50;food\n", &alice)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("id=\"imported\""));
    let products = coop_buyers_club::store::products(&app.club.db, supplier)
        .await
        .unwrap();
    assert_eq!(products.len(), 4);
    let oats = products.iter().find(|p| p.article_id == "A-0").unwrap();
    assert_eq!(oats.unit_price, dec!(26.90));
    // No file chosen.
    let a = b.upload(&path, "", &alice).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_member_chooses_notifications_and_shares_a_place() {
    let app = app_with("http://127.0.0.1:9", |v| {
        v["services"]["buyers_club"]["map_tiles"] =
            json!("https://tiles.example.org/{z}/{x}/{y}.png");
    })
    .await;
    let alice = member(&app, &[Role::Member], dec!(0)).await;
    let bo = member(&app, &[Role::Member], dec!(0)).await;
    let b = Browser::open(&app, &alice).await;

    // The defaults, then Alice's own choice.
    let a = b.get("/notifications", Some(&alice)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a
        .body
        .contains("id=\"changed-email\" name=\"changed:email\" value=\"on\" checked"));
    assert!(!a
        .body
        .contains("id=\"opened-email\" name=\"opened:email\" value=\"on\" checked"));
    let a = b
        .post(
            "/notifications",
            &[("opened:email", "on"), ("closed:matrix", "on")],
            Some(&alice),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let id = Uuid::parse_str(&alice.sub).unwrap();
    let mut want = vec!["closed:matrix".to_owned(), "opened:email".to_owned()];
    want.sort();
    assert_eq!(
        coop_buyers_club::notify::choices(&app.club.db, id)
            .await
            .unwrap(),
        want
    );
    // Something that is not a choice: refused, nothing changes.
    let before = app.club.snapshot().await;
    let a = b
        .post("/notifications", &[("paid:fax", "on")], Some(&alice))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.club.snapshot().await, before);
    // Her address and user name were learnt from her sign-in.
    let (email, username): (Option<String>, Option<String>) =
        sqlx::query_as("select email, username from member_contact where member_id = $1")
            .bind(id)
            .fetch_one(&app.club.db)
            .await
            .unwrap();
    assert_eq!(email, alice.email);
    assert_eq!(username, alice.preferred_username);

    // Places: the supplier is there; Alice gives her place but is not shown until she ticks it.
    let (supplier, _) = app.club.supplier(id).await;
    let a = b.get("/places", Some(&bo)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains(&format!("/suppliers/{supplier}")));
    let a = b
        .post(
            "/places/mine",
            &[
                ("address", "Kvarnvägen 2, Röstånga"),
                ("latitude", "55,99"),
                ("longitude", "13.30"),
            ],
            Some(&alice),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = b.get("/places", Some(&bo)).await;
    assert!(
        !a.body.contains("Kvarnvägen"),
        "not shown unless she says so"
    );
    let a = b
        .post(
            "/places/mine",
            &[
                ("address", "Kvarnvägen 2, Röstånga"),
                ("latitude", "55.99"),
                ("longitude", "13.30"),
                ("on_map", "on"),
            ],
            Some(&alice),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let a = b.get("/places", Some(&bo)).await;
    assert!(a.body.contains("Kvarnvägen 2, Röstånga"));
    // The map: tiles from the tile server, which the page's policy lets in, and a numbered pin
    // per place with coordinates, linking to its line.
    assert!(
        a.body.contains("<svg") && a.body.contains("tiles.example.org&#x2F;"),
        "{}",
        a.body
    );
    assert!(a.body.contains("href=\"#place-1\"") && a.body.contains("href=\"#place-2\""));
    assert!(a.body.contains("id=\"place-2\""));
    let csp = {
        let req = Request::get("/buyers-club/places")
            .header(header::COOKIE, &b.cookie)
            .body(Body::empty())
            .unwrap();
        let mut req = req;
        req.extensions_mut().insert(bo.clone());
        let res = app.router.clone().oneshot(req).await.unwrap();
        res.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        csp.contains("img-src 'self' data: https://tiles.example.org;"),
        "{csp}"
    );
    // Half a location, or one off the globe: refused with the reason, nothing changes.
    let before = app.club.snapshot().await;
    for (lat, lon) in [("55.99", ""), ("91", "13"), ("x", "y")] {
        let a = b
            .post(
                "/places/mine",
                &[("latitude", lat), ("longitude", lon)],
                Some(&alice),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{lat}, {lon}");
    }
    assert_eq!(app.club.snapshot().await, before);
}

#[tokio::test]
async fn the_places_are_a_list_without_a_tile_server() {
    let app = app().await;
    let alice = member(&app, &[Role::Member], dec!(0)).await;
    let b = Browser::open(&app, &alice).await;
    app.club
        .supplier(Uuid::parse_str(&alice.sub).unwrap())
        .await;
    let a = b.get("/places", Some(&alice)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("id=\"places\"") && !a.body.contains("<svg"));
}

#[tokio::test]
async fn the_buyers_clubs_settings_are_checked() {
    use coop_web::cli::Service as _;
    let club = club().await;
    let dir = tempfile::tempdir().unwrap();
    let check = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut v = config(&club, dir.path(), "https://coop.example.org");
        v["matrix"] = json!({ "enable": true });
        change(&mut v);
        let loaded = coop_web::config::parse::<coop_buyers_club::Settings>(
            v,
            ServiceName::BuyersClub,
            &BTreeMap::new(),
        )
        .unwrap();
        coop_buyers_club::BuyersClub::check(&loaded).map_err(|e| e.to_string())
    };
    assert_eq!(check(&|_| {}), Ok(()));
    let room = |v: &mut serde_json::Value, room: &str| {
        v["services"]["buyers_club"]["matrix_room"] = json!(room);
        v["services"]["buyers_club"]["matrix_token_file"] = json!("matrix-bot-token");
    };
    let server = {
        let mut v = config(&club, dir.path(), "https://coop.example.org");
        v["matrix"] = json!({ "enable": true });
        coop_web::config::parse::<coop_buyers_club::Settings>(
            v,
            ServiceName::BuyersClub,
            &BTreeMap::new(),
        )
        .unwrap()
        .coop
        .matrix
        .unwrap()
        .server_name
    };
    assert_eq!(check(&|v| room(v, &format!("#orders:{server}"))), Ok(()));
    for (change, says) in [
        (
            Box::new(|v: &mut serde_json::Value| {
                v["services"]["buyers_club"]["matrix_room"] = json!("#orders:x");
            }) as Box<dyn Fn(&mut serde_json::Value)>,
            "go together",
        ),
        (
            Box::new(|v: &mut serde_json::Value| room(v, "#orders:elsewhere.example")),
            "co-op's homeserver",
        ),
        (
            Box::new(|v: &mut serde_json::Value| room(v, "orders")),
            "matrix_room",
        ),
        (
            Box::new(|v: &mut serde_json::Value| {
                v["services"]["buyers_club"]["matrix_bot"] = json!("Bot Name");
            }),
            "matrix_bot",
        ),
        (
            Box::new(|v: &mut serde_json::Value| {
                v["services"]["buyers_club"]["map_tiles"] =
                    json!("https://tiles.example.org/{z}.png");
            }),
            "{z}, {x} and {y}",
        ),
        (
            Box::new(|v: &mut serde_json::Value| {
                v["services"]["buyers_club"]["remind_hours"] = json!(1000);
            }),
            "remind_hours",
        ),
    ] {
        let e = check(&*change).unwrap_err();
        assert!(e.contains(says), "{e}");
    }
    // Without the co-op's Matrix section there is no room to post to.
    let e = check(&|v| {
        v.as_object_mut().unwrap().remove("matrix");
        room(v, "#orders:coop.example.org");
    })
    .unwrap_err();
    assert!(e.contains("matrix section"), "{e}");
}
