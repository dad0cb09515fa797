//! Signing in through a real OpenID provider: the `oidc-provider` stand-in from npm
//! (tests/interop/op-standin.mjs), started per test on a free loopback port. Access-token checks
//! that need forged or expired tokens use a throw-away RSA key served from a tiny local issuer.
//!
//! Needs node and the interop harness: `bash tests/interop/setup.sh`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::FromRef;
use axum::http::{Request, StatusCode};
use axum::response::{Html, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use coop_domain::Role;
use coop_testkit::http::{client, hidden_input};
use coop_web::auth::{
    AccessTokenVerifier, Bearer, CurrentUser, OidcClient, OidcSettings, Provider,
    ServiceTokenClient, ServiceTokenError, TestClock, TokenError,
};
use coop_web::config::{self, Secret, ServiceName};
use coop_web::metrics::Metrics;
use coop_web::session::SessionConfig;
use coop_web::templates::Templates;
use coop_web::{Kit, Lang, Page, Translations};
use openidconnect::core::{CoreHmacKey, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey as _};
use serde_json::{json, Value};
use sqlx::migrate::Migrator;
use tokio::io::AsyncBufReadExt as _;
use tower::ServiceExt as _;

static MIGRATOR: Migrator = sqlx::migrate!("tests/migrations");

const MEMBER_LOGIN: &str = "alice@example.org";

// ---------------------------------------------------------------------------------------------
// The stand-in OP as a child process
// ---------------------------------------------------------------------------------------------

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

/// Fails the test with what to do when the harness is not installed.
fn require_harness() {
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let installed = interop_dir()
        .join("node_modules/oidc-provider/package.json")
        .is_file();
    assert!(
        node && installed,
        "the auth tests need node and the oidc-provider stand-in (node found: {node}, \
         tests/interop/node_modules installed: {installed}); run `bash tests/interop/setup.sh`"
    );
}

/// A running stand-in OP; killed when dropped, also when the test panics.
struct Standin {
    _child: tokio::process::Child,
    issuer: String,
    _logs: tempfile::NamedTempFile,
}

struct StandinClient<'a> {
    port: u16,
    secret: &'a str,
    password: &'a str,
    redirect_uri: &'a str,
    post_logout_redirect_uri: &'a str,
}

impl Standin {
    async fn start(c: &StandinClient<'_>) -> Self {
        // Loading oidc-provider costs node several seconds of CPU. The tests of this binary run
        // side by side: a dozen stand-ins starting at once on two cores took more than 90 s
        // each. Two start at a time; the wait for a turn is not part of the time limit.
        static STARTING: std::sync::LazyLock<tokio::sync::Semaphore> =
            std::sync::LazyLock::new(|| tokio::sync::Semaphore::new(2));
        require_harness();
        let _turn = STARTING
            .acquire()
            .await
            .expect("the semaphore is never closed");
        // Twice in CI a stand-in printed nothing for the whole wait while still running, and
        // started at once when tried again: a start that hangs is tried once more (said on
        // stderr), and the second failure is the test's.
        let mut attempt = 0;
        let (child, issuer, logs, mut lines) = loop {
            attempt += 1;
            let logs = tempfile::NamedTempFile::new().unwrap();
            let mut child = tokio::process::Command::new("node")
                .arg("op-standin.mjs")
                .current_dir(interop_dir())
                .env("PORT", c.port.to_string())
                .env("STANDIN_CLIENT_ID", ServiceName::Pos.client_id())
                .env("STANDIN_CLIENT_SECRET", c.secret)
                .env("STANDIN_PASSWORD", c.password)
                .env("STANDIN_REDIRECT_URIS", c.redirect_uri)
                .env(
                    "STANDIN_POST_LOGOUT_REDIRECT_URIS",
                    c.post_logout_redirect_uri,
                )
                .env("STANDIN_JWT_AUDIENCE", ServiceName::Pos.client_id())
                .env("STANDIN_API_SCOPES", "feed:read wallet:hold")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(logs.reopen().unwrap())
                .kill_on_drop(true)
                .spawn()
                .expect("starting node tests/interop/op-standin.mjs");
            let stdout = child.stdout.take().unwrap();
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            // Node loads oidc-provider in a few seconds, but the external tests run side by side
            // with Chromium on two cores: give it time, and say whether it died or was slow.
            let issuer = tokio::time::timeout(Duration::from_secs(60), async {
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(i) = line.strip_prefix("ISSUER=") {
                        return Some(i.to_owned());
                    }
                }
                None
            })
            .await
            .ok()
            .flatten();
            if let Some(issuer) = issuer {
                break (child, issuer, logs, lines);
            }
            let err = std::fs::read_to_string(logs.path()).unwrap_or_default();
            let exited = child.try_wait().ok().flatten();
            assert!(
                attempt < 2,
                "the stand-in OP did not start within 60 s, twice (exit: {exited:?}): {err}"
            );
            eprintln!(
                "the stand-in OP printed nothing within 60 s (exit: {exited:?}); trying once more: {err}"
            );
            let _ = child.kill().await;
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            _child: child,
            issuer,
            _logs: logs,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The test service: coop-pos under /pos, with pages, an API and the sign-in routes
// ---------------------------------------------------------------------------------------------

#[derive(Clone, FromRef)]
struct AppState {
    kit: Kit,
    oidc: OidcClient,
    tokens: AccessTokenVerifier,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn home(user: Option<CurrentUser>) -> Html<String> {
    Html(match user {
        Some(u) => format!("<p>Welcome back, {}</p>", esc(&u.name)),
        None => "<p>Welcome, guest</p>".into(),
    })
}

/// A form for anyone: shows the session's CSRF token.
async fn form(page: Page) -> Html<String> {
    let token = page.ctx.csrf_token.clone().unwrap_or_default();
    Html(format!(
        "<form method=\"post\"><input type=\"hidden\" name=\"csrf_token\" value=\"{token}\"></form>"
    ))
}

async fn orders(user: CurrentUser, page: Page) -> Html<String> {
    let token = page.ctx.csrf_token.clone().unwrap_or_default();
    let roles: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
    Html(format!(
        "<p>Signed in as {}</p><p>Roles: {}</p>\
         <form method=\"post\" action=\"/pos/auth/logout\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{token}\">\
         <button>Sign out</button></form>",
        esc(&user.name),
        roles.join(" ")
    ))
}

async fn till(user: CurrentUser) -> Result<&'static str, coop_web::Error> {
    user.require(Role::Cashier)?;
    Ok("till")
}

async fn manager(user: CurrentUser) -> Result<&'static str, coop_web::Error> {
    user.require(Role::Manager)?;
    Ok("manager")
}

async fn api_me(user: CurrentUser) -> Json<Value> {
    Json(json!({ "sub": user.sub, "roles": user.roles, "member_number": user.member_number }))
}

async fn api_x(Bearer(claims): Bearer) -> Json<Value> {
    Json(json!({
        "sub": claims.sub, "client_id": claims.client_id, "scope": claims.scope,
        "service": claims.is_service(),
    }))
}

/// The routes every test serves; `(route, role required)` for the matrix test.
const GUARDED: [(&str, Role); 2] = [
    ("/pos/till", Role::Cashier),
    ("/pos/manager", Role::Manager),
];

fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/", get(home))
        .route("/form", get(form))
        .route("/orders", get(orders))
        .route("/till", get(till))
        .route("/manager", get(manager))
        .route("/api/me", get(api_me))
        .route("/api/x", get(api_x))
        .merge(state.oidc.routes())
        .with_state(state.clone());
    coop_web::app::build(&state.kit, routes)
}

fn kit(loaded: &config::Loaded<Value>, db: sqlx::PgPool, state_dir: &std::path::Path) -> Kit {
    let translations = Translations::new(&[], Lang::En).unwrap();
    let key = coop_web::session::load_or_create_key(state_dir).unwrap();
    Kit {
        coop: Arc::new(loaded.coop.clone()),
        service: Arc::new(loaded.service.clone()),
        templates: Templates::new(&[], translations).unwrap(),
        metrics: Metrics::new("coop-pos"),
        session: Arc::new(SessionConfig::new(
            key,
            "pos",
            false,
            loaded.service.public_url.origin().ascii_serialization(),
        )),
        db,
        migrator: &MIGRATOR,
        logo: None,
    }
}

/// The co-op config of the test: coop-pos at `<base>/pos`, coop-sso at `issuer`.
fn loaded(
    base: &str,
    issuer: &str,
    db_url: &str,
    state: &std::path::Path,
) -> config::Loaded<Value> {
    let mut value = coop_testkit::config::coop_config("pos", db_url, state, &format!("{base}/pos"));
    value["public_url"] = json!(base);
    value["services"]["pos"]["client_secret_file"] =
        json!(state.join("client-secret").to_str().unwrap());
    value["services"]["sso"] = json!({ "public_url": issuer });
    config::parse::<Value>(value, ServiceName::Pos, &BTreeMap::new()).unwrap()
}

/// A router served on a listener bound beforehand (the provider must know our redirect URI
/// before we know the issuer); aborted on drop.
struct Served(tokio::task::JoinHandle<()>);

impl Drop for Served {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn serve_on(listener: tokio::net::TcpListener, app: Router) -> Served {
    Served(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }))
}

fn random_secret() -> String {
    coop_web::session::random_token()
}

/// The service and its provider, both running.
struct Rig {
    base: String,
    password: String,
    secret: Secret,
    op: Standin,
    oidc: OidcClient,
    clock: TestClock,
    _served: Served,
    _state: tempfile::TempDir,
}

impl Rig {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let password = random_secret();
        let secret = random_secret();
        let op = Standin::start(&StandinClient {
            port: 0,
            secret: &secret,
            password: &password,
            redirect_uri: &format!("{base}/pos/auth/callback"),
            post_logout_redirect_uri: &format!("{base}/pos/"),
        })
        .await;
        let (rig_parts, oidc, clock) =
            build_service(listener, &base, &op.issuer, &secret, Duration::from_secs(5)).await;
        let (served, state) = rig_parts;
        Self {
            base,
            password,
            secret: Secret::from(secret),
            op,
            oidc,
            clock,
            _served: served,
            _state: state,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Drives the provider from `url` (its authorization or end-session URL) until it
    /// redirects to `stop_prefix`; returns that URL.
    async fn through_provider(&self, c: &reqwest::Client, url: &str, stop_prefix: &str) -> String {
        let mut url = url.to_owned();
        for _ in 0..20 {
            if url.starts_with(stop_prefix) {
                return url;
            }
            assert!(
                url.starts_with(&self.op.issuer),
                "left the provider for {url}"
            );
            let res = c.get(&url).send().await.unwrap();
            let res = if res.status() == StatusCode::OK {
                let page = res.text().await.unwrap();
                let (action, fields) = fill_form(&page, MEMBER_LOGIN, &self.password);
                let action = reqwest::Url::parse(&url).unwrap().join(&action).unwrap();
                c.post(action).form(&fields).send().await.unwrap()
            } else {
                res
            };
            assert!(
                res.status().is_redirection(),
                "the provider answered {} at {url}",
                res.status()
            );
            let next = location(&res);
            url = reqwest::Url::parse(&url)
                .unwrap()
                .join(&next)
                .unwrap()
                .to_string();
        }
        panic!("no redirect to {stop_prefix} after 20 steps");
    }

    /// From a service path that needs sign-in to the provider's redirect back (the callback
    /// URL, not yet visited).
    async fn sign_in_until_callback(&self, c: &reqwest::Client, login_path: &str) -> String {
        let res = c.get(self.url(login_path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FOUND, "{login_path}");
        let auth_url = location(&res);
        self.through_provider(c, &auth_url, &self.url("/pos/auth/callback"))
            .await
    }

    /// A complete sign-in that starts at `login_path`; returns where the callback sent us.
    async fn sign_in(&self, c: &reqwest::Client, login_path: &str) -> String {
        let callback = self.sign_in_until_callback(c, login_path).await;
        let res = c.get(&callback).send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "callback: {}",
            body(res).await
        );
        location(&res)
    }
}

type Parts = (Served, tempfile::TempDir);

/// Builds and serves coop-pos for `issuer` on `listener`.
async fn build_service(
    listener: tokio::net::TcpListener,
    base: &str,
    issuer: &str,
    secret: &str,
    discovery_budget: Duration,
) -> (Parts, OidcClient, TestClock) {
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("client-secret"), format!("{secret}\n")).unwrap();
    let db = coop_testkit::fresh_database().await;
    let loaded = loaded(base, issuer, &db.url, state.path());
    let pool = coop_web::db::connect(&loaded.service.database_url, 4)
        .await
        .unwrap();
    coop_web::db::migrate(&pool, &MIGRATOR).await.unwrap();
    let kit = kit(&loaded, pool, state.path());
    let clock = TestClock::starting_now();
    let provider = Provider::from_config(&loaded.coop)
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    let settings = OidcSettings {
        discovery_budget,
        ..OidcSettings::default()
    };
    let oidc = OidcClient::start_with(provider, &loaded.service, settings)
        .await
        .unwrap();
    let tokens = AccessTokenVerifier::for_service(oidc.provider().clone(), &loaded.service);
    let app = router(AppState {
        kit,
        oidc: oidc.clone(),
        tokens,
    });
    ((serve_on(listener, app), state), oidc, clock)
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on a {} answer", res.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

async fn body(res: reqwest::Response) -> String {
    res.text().await.unwrap()
}

fn query_of(url: &str) -> BTreeMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `url` with query parameter `name` set to `value` (replaced, or added).
fn with_query(url: &str, name: &str, value: &str) -> String {
    let mut u = reqwest::Url::parse(url).unwrap();
    let mut pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push((name.to_owned(), value.to_owned()));
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("&#") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let entity = after
            .find(';')
            .and_then(|j| after[..j].parse::<u32>().ok().map(|n| (j, n)));
        if let Some((j, n)) = entity {
            out.push(char::from_u32(n).unwrap_or('?'));
            rest = &after[j + 1..];
        } else {
            out.push_str("&#");
            rest = after;
        }
    }
    out.push_str(rest);
    out.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let at = tag.find(&needle)? + needle.len();
    let end = tag[at..].find('"')?;
    Some(unescape(&tag[at..at + end]))
}

fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let tag = &rest[i..];
        let end = tag.find('>').map_or(tag.len(), |e| e + 1);
        out.push(&tag[..end]);
        rest = &tag[end..];
    }
    out
}

/// The provider's page as a browser would submit it: the form's action, its hidden and valued
/// inputs, login and password filled in, and the first named button (login, consent, logout).
fn fill_form(html: &str, login: &str, password: &str) -> (String, Vec<(String, String)>) {
    let form = tags(html, "form")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no form on the provider's page: {html}"));
    let action = attr(form, "action").unwrap_or_default();
    let mut fields = Vec::new();
    for input in tags(html, "input") {
        let Some(name) = attr(input, "name") else {
            continue;
        };
        let kind = attr(input, "type").unwrap_or_default();
        let value = if kind == "password" {
            password.to_owned()
        } else if ["login", "email", "username"].contains(&name.as_str()) {
            login.to_owned()
        } else {
            attr(input, "value").unwrap_or_default()
        };
        fields.push((name, value));
    }
    if let Some(button) = tags(html, "button")
        .into_iter()
        .find(|b| attr(b, "name").is_some())
    {
        fields.push((
            attr(button, "name").unwrap(),
            attr(button, "value").unwrap_or_default(),
        ));
    }
    (action, fields)
}

// ---------------------------------------------------------------------------------------------
// Sign-in with the real provider
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn external_a_member_signs_in_and_comes_back_to_the_page_they_asked_for() {
    let rig = Rig::start().await;
    let c = client();

    // Anonymous: the form page hands out a CSRF token, the home page greets a guest.
    let page = body(c.get(rig.url("/pos/form")).send().await.unwrap()).await;
    let token_before = hidden_input(&page, "csrf_token").unwrap();
    let home = body(c.get(rig.url("/pos")).send().await.unwrap()).await;
    assert!(home.contains("Welcome, guest"), "{home}");

    // The protected page sends us to sign in, remembering where we were.
    let res = c.get(rig.url("/pos/orders?week=12")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let login = location(&res);
    assert_eq!(login, "/pos/auth/login?return_to=%2Forders%3Fweek%3D12");

    // The sign-in route sends us to the provider with PKCE S256, state and nonce.
    let res = c.get(rig.url(&login)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let auth_url = location(&res);
    assert!(
        auth_url.starts_with(&format!("{}/auth?", rig.op.issuer)),
        "{auth_url}"
    );
    let q = query_of(&auth_url);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "coop-pos");
    assert_eq!(q["redirect_uri"], rig.url("/pos/auth/callback"));
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 16 && q["nonce"].len() >= 16);
    let scopes: Vec<&str> = q["scope"].split(' ').collect();
    for s in ["openid", "profile", "email", "roles"] {
        assert!(scopes.contains(&s), "{scopes:?}");
    }

    // The provider's login and consent forms, then back to our callback.
    let callback = rig
        .through_provider(&c, &auth_url, &rig.url("/pos/auth/callback"))
        .await;
    let cq = query_of(&callback);
    assert_eq!(cq["state"], q["state"]);
    assert!(cq.contains_key("code"));
    let res = c.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/pos/orders?week=12");

    // Signed in: the page shows the member, the API knows the claims.
    let res = c.get(rig.url("/pos/orders?week=12")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = body(res).await;
    assert!(page.contains("Signed in as Alice Andersson"), "{page}");
    assert!(page.contains("Roles: member cashier"), "{page}");
    let me: Value = c
        .get(rig.url("/pos/api/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        me,
        json!({ "sub": "mbr-3f9c2a71d0", "roles": ["member", "cashier"], "member_number": "M-0001" })
    );
    let home = body(c.get(rig.url("/pos")).send().await.unwrap()).await;
    assert!(home.contains("Welcome back, Alice Andersson"), "{home}");

    // The session was renewed at sign-in: the CSRF token from before is worthless.
    let token_after = hidden_input(&page, "csrf_token").unwrap();
    assert_ne!(token_before, token_after);
    let res = c
        .post(rig.url("/pos/auth/logout"))
        .form(&[("csrf_token", token_before.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Replaying the callback gets the error page and leaves the sign-in alone.
    let res = c.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let page = body(res).await;
    assert!(
        page.contains("Something is wrong with the request"),
        "{page}"
    );
    assert!(!page.contains(&cq["code"]), "the code is not echoed");
    let res = c.get(rig.url("/pos/orders")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn external_callbacks_that_match_no_pending_sign_in_are_refused() {
    let rig = Rig::start().await;

    // A callback in a browser that never started a sign-in.
    let res = client()
        .get(rig.url("/pos/auth/callback?code=abc&state=xyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = client()
        .get(rig.url("/pos/auth/callback"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // A tampered state is refused, and does not use up the genuine sign-in.
    let c = client();
    let callback = rig
        .sign_in_until_callback(&c, "/pos/auth/login?return_to=/orders")
        .await;
    let state = query_of(&callback)["state"].clone();
    let tampered = with_query(&callback, "state", &format!("{state}x"));
    let res = c.get(&tampered).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = c.get(rig.url("/pos/orders")).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "not signed in by a tampered callback"
    );

    // The genuine callback in another browser (no pending sign-in there) is refused too.
    let res = client().get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // A callback without `iss` is refused too: coop-sso always sends it (RFC 9207).
    let c2 = client();
    let genuine = rig.sign_in_until_callback(&c2, "/pos/auth/login").await;
    let mut u = reqwest::Url::parse(&genuine).unwrap();
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != "iss")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    u.query_pairs_mut().clear().extend_pairs(kept);
    let res = c2.get(u.as_str()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // A callback claiming another issuer (RFC 9207 mix-up) is refused and uses the sign-in up.
    let mixed = with_query(&callback, "iss", "https://evil.example");
    let res = c.get(&mixed).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = c.get(&callback).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "each sign-in completes at most once"
    );

    // A provider error with a matching state: the error page, and none of the provider's text.
    let c = client();
    let res = c.get(rig.url("/pos/auth/login")).send().await.unwrap();
    let state = query_of(&location(&res))["state"].clone();
    let url = format!(
        "{}?error=access_denied&error_description=Evil%20%3Cb%3Eprovider%3C%2Fb%3E%20text&state={state}",
        rig.url("/pos/auth/callback")
    );
    let res = c.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = body(res).await;
    assert!(
        !page.contains("Evil") && !page.contains("access_denied"),
        "{page}"
    );
    assert!(
        page.contains("Something is wrong with the request"),
        "{page}"
    );

    // A wrong code with the right state: the token endpoint refuses, so do we.
    let res = c.get(rig.url("/pos/auth/login")).send().await.unwrap();
    let state = query_of(&location(&res))["state"].clone();
    let res = c
        .get(format!(
            "{}?code=forged&state={state}",
            rig.url("/pos/auth/callback")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = c.get(rig.url("/pos/orders")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn external_return_to_never_leads_off_the_service() {
    let rig = Rig::start().await;
    let c = client();
    for (return_to, expected) in [
        ("https://evil.example", "/pos"),
        ("//evil.example", "/pos"),
        ("/\\evil.example", "/pos"),
        ("https:evil.example", "/pos"),
        ("/../admin", "/pos"),
        ("/auth/logout", "/pos"),
        ("/orders?week=3", "/pos/orders?week=3"),
    ] {
        let login = format!(
            "/pos/auth/login?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("return_to", return_to)
                .finish()
        );
        // The provider remembers the member after the first round: later rounds go straight back.
        let landed = rig.sign_in(&c, &login).await;
        assert_eq!(landed, expected, "return_to={return_to}");
    }
}

#[tokio::test]
async fn external_logout_needs_the_csrf_token_and_signs_out_at_the_provider_too() {
    let rig = Rig::start().await;
    let c = client();
    assert_eq!(
        rig.sign_in(&c, "/pos/auth/login?return_to=/orders").await,
        "/pos/orders"
    );
    let page = body(c.get(rig.url("/pos/orders")).send().await.unwrap()).await;
    let token = hidden_input(&page, "csrf_token").unwrap();

    // Without the token, or from another site: refused, still signed in.
    let res = c
        .post(rig.url("/pos/auth/logout"))
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = c
        .post(rig.url("/pos/auth/logout"))
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = c.get(rig.url("/pos/orders")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // With it: signed out here, and sent to the provider's end-session endpoint.
    let res = c
        .post(rig.url("/pos/auth/logout"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let end = location(&res);
    assert!(
        end.starts_with(&format!("{}/session/end?", rig.op.issuer)),
        "{end}"
    );
    let q = query_of(&end);
    assert_eq!(q["client_id"], "coop-pos");
    assert_eq!(q["post_logout_redirect_uri"], rig.url("/pos/"));
    assert_eq!(q["id_token_hint"].split('.').count(), 3);
    let res = c.get(rig.url("/pos/orders")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // The provider accepts the request (hint, client, registered URI) and comes back to us.
    let back = rig.through_provider(&c, &end, &rig.url("/pos/")).await;
    assert_eq!(back, rig.url("/pos/"));

    // Signed out at the provider too: the next sign-in shows its login form again.
    let res = c.get(rig.url("/pos/auth/login")).send().await.unwrap();
    let mut url = location(&res);
    loop {
        let res = c.get(&url).send().await.unwrap();
        if res.status() == StatusCode::OK {
            let page = body(res).await;
            assert!(page.contains("type=\"password\""), "{page}");
            break;
        }
        assert!(res.status().is_redirection());
        let next = location(&res);
        assert!(
            !next.starts_with(&rig.url("/pos/auth/callback")),
            "signed in silently"
        );
        url = reqwest::Url::parse(&url)
            .unwrap()
            .join(&next)
            .unwrap()
            .to_string();
    }
}

#[tokio::test]
async fn external_roles_from_the_provider_decide_what_a_member_may_open() {
    let rig = Rig::start().await;
    let c = client();
    rig.sign_in(&c, "/pos/auth/login").await;
    let res = c.get(rig.url("/pos/till")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "alice is a cashier");
    let res = c.get(rig.url("/pos/manager")).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "alice is not a manager"
    );
    assert!(body(res).await.contains("<html"), "the kit's error page");

    // The sign-in lapses after its lifetime (8 h by default): back through the provider.
    rig.clock
        .advance(chrono::Duration::hours(8) + chrono::Duration::seconds(1));
    let res = c.get(rig.url("/pos/till")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/pos/auth/login?return_to=%2Ftill");
}

// ---------------------------------------------------------------------------------------------
// Without a provider: the extractor's answers, and a role × route matrix
// ---------------------------------------------------------------------------------------------

/// The service's router with an unreachable provider and a lazy (never used) database.
fn offline_app() -> Router {
    let state = tempfile::tempdir().unwrap();
    let clock = TestClock::starting_now();
    lazy_db_app(
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        "unused",
        &clock,
        &state,
    )
}

/// The service's router without a database (a lazy pool never used), for `base` and `issuer`;
/// no discovery at start.
fn lazy_db_app(
    base: &str,
    issuer: &str,
    secret: &str,
    clock: &TestClock,
    state: &tempfile::TempDir,
) -> Router {
    let loaded = loaded(
        base,
        issuer,
        "postgres://nobody@127.0.0.1:9/none",
        state.path(),
    );
    let pool = sqlx::PgPool::connect_lazy(loaded.service.database_url.expose()).unwrap();
    let kit = kit(&loaded, pool, state.path());
    let provider = Provider::from_config(&loaded.coop)
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    let oidc = OidcClient::new(
        provider.clone(),
        &loaded.service,
        &Secret::from(secret),
        OidcSettings::default(),
    )
    .unwrap();
    router(AppState {
        kit,
        oidc,
        tokens: AccessTokenVerifier::new(provider, "coop-pos", ["coop-pos".to_owned()]),
    })
}

async fn call(app: &Router, uri: &str, user: Option<CurrentUser>, accept: &str) -> Response {
    let mut req = Request::get(uri)
        .header("accept", accept)
        .body(Body::empty())
        .unwrap();
    if let Some(u) = user {
        req.extensions_mut().insert(u);
    }
    app.clone().oneshot(req).await.unwrap()
}

#[tokio::test]
async fn external_every_role_against_every_guarded_route() {
    let app = offline_app();
    for (route, needed) in GUARDED {
        for role in Role::ALL {
            let res = call(&app, route, Some(CurrentUser::fixture([role])), "text/html").await;
            let expected = if role == needed {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(res.status(), expected, "{role} at {route}");
        }
        let res = call(&app, route, Some(CurrentUser::fixture([])), "text/html").await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "no roles at {route}");
    }
    // A lapsed sign-in counts as none.
    let mut old = CurrentUser::fixture(Role::ALL);
    old.expires_at = chrono::Utc::now() - chrono::Duration::seconds(1);
    let res = call(&app, "/pos/manager", Some(old), "text/html").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn external_signed_out_pages_redirect_to_sign_in_and_apis_answer_401() {
    let app = offline_app();
    let res = call(&app, "/pos/orders?week=12", None, "text/html").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        "/pos/auth/login?return_to=%2Forders%3Fweek%3D12"
    );
    let res = call(&app, "/pos", None, "text/html").await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "Option<CurrentUser> lets guests in"
    );

    let res = call(&app, "/pos/api/me", None, "*/*").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
        .await
        .unwrap();
    assert_eq!(&bytes[..], br#"{"error":"unauthorized"}"#);
    let res = call(&app, "/pos/orders", None, "application/json").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Sign-in itself needs the provider: without it, the "unavailable" page, not a crash.
    let res = call(&app, "/pos/auth/login", None, "text/html").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn external_a_service_whose_provider_starts_later_still_comes_up() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let op_port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let issuer = format!("http://127.0.0.1:{op_port}");
    let secret = random_secret();
    let started = std::time::Instant::now();
    let ((_served, _state), oidc, clock) = build_service(
        listener,
        &base,
        &issuer,
        &secret,
        Duration::from_millis(600),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(!oidc.provider().is_discovered());

    let c = client();
    let res = c.get(format!("{base}/pos/readyz")).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "readiness does not wait for coop-sso"
    );
    let res = c
        .get(format!("{base}/pos/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);

    let password = random_secret();
    let op = Standin::start(&StandinClient {
        port: op_port,
        secret: &secret,
        password: &password,
        redirect_uri: &format!("{base}/pos/auth/callback"),
        post_logout_redirect_uri: &format!("{base}/pos/"),
    })
    .await;
    assert_eq!(op.issuer, issuer);
    // Failures are retried at most every couple of seconds.
    clock.advance(chrono::Duration::seconds(3));
    let res = c
        .get(format!("{base}/pos/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(location(&res).starts_with(&format!("{issuer}/auth?")));
}

// ---------------------------------------------------------------------------------------------
// Access tokens and service tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn external_bearer_tokens_from_the_provider_are_accepted_and_anything_else_is_not() {
    let rig = Rig::start().await;
    let c = client();
    let api = rig.url("/pos/api/x");

    let res = c.get(&api).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_eq!(body(res).await, r#"{"error":"unauthorized"}"#);

    for garbage in [
        "garbage",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.e30.",
        "Zm9v.YmFy.YmF6.cXV4",
    ] {
        let res = c.get(&api).bearer_auth(garbage).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{garbage}");
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
    }

    // The provider's own client-credentials token, fetched the way services will.
    let tokens = ServiceTokenClient::new(
        rig.oidc.provider().clone(),
        "coop-pos",
        &rig.secret,
        &["feed:read"],
    );
    let token = tokens.access_token().await.unwrap();
    let res = c
        .get(&api)
        .bearer_auth(token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let claims: Value = res.json().await.unwrap();
    assert_eq!(
        claims,
        json!({ "sub": "coop-pos", "client_id": "coop-pos", "scope": ["feed:read"], "service": true })
    );

    // A tampered copy of it is not.
    let mut parts: Vec<String> = token.secret().split('.').map(str::to_owned).collect();
    let mut payload: Value = serde_json::from_slice(&b64d(&parts[1])).unwrap();
    payload["scope"] = json!("feed:read wallet:hold admin");
    parts[1] = b64e(payload.to_string().as_bytes());
    let res = c
        .get(&api)
        .bearer_auth(parts.join("."))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Neither is an ID token, though the provider signed it: it is not an access token.
    let cb = client();
    rig.sign_in(&cb, "/pos/auth/login").await;
    let page = body(cb.get(rig.url("/pos/orders")).send().await.unwrap()).await;
    assert!(page.contains("Alice"));
    let id_token = id_token_of_session(&rig, &cb).await;
    let res = c.get(&api).bearer_auth(&id_token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// The ID token the service holds for a signed-in browser: it is the `id_token_hint` of the
/// sign-out redirect.
async fn id_token_of_session(rig: &Rig, c: &reqwest::Client) -> String {
    let page = body(c.get(rig.url("/pos/orders")).send().await.unwrap()).await;
    let token = hidden_input(&page, "csrf_token").unwrap();
    let res = c
        .post(rig.url("/pos/auth/logout"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    query_of(&location(&res))["id_token_hint"].clone()
}

#[tokio::test]
async fn external_service_tokens_are_cached_shared_and_renewed_at_80_percent_of_their_life() {
    let rig = Rig::start().await;
    let tokens = ServiceTokenClient::new(
        rig.oidc.provider().clone(),
        "coop-pos",
        &rig.secret,
        &["feed:read"],
    );

    // Sixteen callers at once share one request: one token between them.
    let all = futures_join_all((0..16).map(|_| {
        let t = tokens.clone();
        tokio::spawn(async move { t.access_token().await.unwrap().secret().clone() })
    }))
    .await;
    assert!(all.windows(2).all(|w| w[0] == w[1]), "one token for all");
    let first = all[0].clone();

    // The stand-in's tokens live 600 s: kept until 480 s, renewed after.
    rig.clock.advance(chrono::Duration::seconds(479));
    assert_eq!(tokens.access_token().await.unwrap().secret(), &first);
    rig.clock.advance(chrono::Duration::seconds(2));
    let renewed = tokens.access_token().await.unwrap().secret().clone();
    assert_ne!(renewed, first);
    assert_eq!(tokens.access_token().await.unwrap().secret(), &renewed);
    assert!(tokens
        .authorization()
        .await
        .unwrap()
        .starts_with("Bearer ey"));

    // A wrong secret is refused by the provider.
    let wrong = ServiceTokenClient::new(
        rig.oidc.provider().clone(),
        "coop-pos",
        &Secret::from("wrong"),
        &["feed:read"],
    );
    match wrong.access_token().await {
        Err(ServiceTokenError::Refused(e)) => assert_eq!(e, "invalid_client"),
        other => panic!("expected invalid_client, got {other:?}"),
    }
}

async fn futures_join_all<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Access tokens we sign ourselves: every check bites
// ---------------------------------------------------------------------------------------------

fn b64e(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn b64d(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

/// Throw-away 2048-bit RSA keys (PKCS#1 PEM), made by node once per test binary.
fn rsa_pems() -> &'static [String; 3] {
    static PEMS: OnceLock<[String; 3]> = OnceLock::new();
    PEMS.get_or_init(|| {
        require_harness();
        let script = "const c=require('crypto');for(let i=0;i<3;i++){\
            process.stdout.write(c.generateKeyPairSync('rsa',{modulusLength:2048})\
            .privateKey.export({type:'pkcs1',format:'pem'})+'--cut--');}";
        let out = std::process::Command::new("node")
            .args(["-e", script])
            .output()
            .expect("running node");
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let pems: Vec<String> = text
            .split("--cut--")
            .filter(|p| !p.trim().is_empty())
            .map(str::to_owned)
            .collect();
        [pems[0].clone(), pems[1].clone(), pems[2].clone()]
    })
}

fn rsa_key(i: usize, kid: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(&rsa_pems()[i], Some(JsonWebKeyId::new(kid.into()))).unwrap()
}

fn jws(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64e(header.to_string().as_bytes()),
        b64e(claims.to_string().as_bytes())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64e(&sig))
}

fn rs256(key: &CoreRsaPrivateSigningKey) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    |m| {
        key.sign(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, m)
            .unwrap()
    }
}

/// A tiny issuer: a discovery document and a JWKS whose keys a test can change, counting
/// JWKS fetches.
struct FakeIssuer {
    issuer: String,
    keys: Arc<Mutex<Vec<Value>>>,
    jwks_hits: Arc<AtomicUsize>,
    /// What the token endpoint answers next, and what it was sent (Authorization, body).
    token_answer: Arc<Mutex<(StatusCode, Value)>>,
    token_requests: Arc<Mutex<Vec<(String, String)>>>,
    _served: Served,
}

impl FakeIssuer {
    async fn start(keys: Vec<Value>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let keys = Arc::new(Mutex::new(keys));
        let jwks_hits = Arc::new(AtomicUsize::new(0));
        let doc = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/auth"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        let (k, h) = (keys.clone(), jwks_hits.clone());
        let token_answer = Arc::new(Mutex::new((StatusCode::OK, json!({}))));
        let token_requests = Arc::new(Mutex::new(Vec::new()));
        let (answer, seen) = (token_answer.clone(), token_requests.clone());
        let app = Router::new()
            .route(
                "/token",
                axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    seen.lock().unwrap().push((auth, body));
                    let (status, json) = answer.lock().unwrap().clone();
                    std::future::ready((status, Json(json)))
                }),
            )
            .route(
                "/.well-known/openid-configuration",
                get(move || std::future::ready(Json(doc.clone()))),
            )
            .route(
                "/jwks",
                get(move || {
                    h.fetch_add(1, Ordering::SeqCst);
                    let keys = k.lock().unwrap().clone();
                    std::future::ready(Json(json!({ "keys": keys })))
                }),
            );
        Self {
            issuer,
            keys,
            jwks_hits,
            token_answer,
            token_requests,
            _served: serve_on(listener, app),
        }
    }

    fn hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }
}

fn public_jwk(key: &CoreRsaPrivateSigningKey) -> Value {
    serde_json::to_value(key.as_verification_key()).unwrap()
}

#[tokio::test]
async fn external_access_tokens_are_checked_claim_by_claim() {
    let k1 = rsa_key(0, "k1");
    let k2 = rsa_key(1, "k2");
    let intruder = rsa_key(2, "k1"); // same kid, another key
    let op = FakeIssuer::start(vec![public_jwk(&k1)]).await;
    let clock = TestClock::starting_now();
    let provider = Provider::new(&op.issuer)
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    // coop-pos's verifier: tokens for coop-pos, from coop-pos and the tills.
    let verifier = AccessTokenVerifier::new(
        provider,
        "coop-pos",
        ["coop-pos".into(), "coop-till".into()],
    );

    let now = clock_secs(&clock);
    let header = |kid: &str| json!({ "alg": "RS256", "typ": "at+jwt", "kid": kid });
    let claims = |now: i64| {
        json!({
            "iss": op.issuer, "sub": "mbr-1", "aud": "coop-pos", "client_id": "coop-pos",
            "exp": now + 300, "iat": now, "jti": "j1", "scope": "feed:read  wallet:hold",
            "roles": ["member", "manager", "wizard"],
        })
    };
    let good = jws(&header("k1"), &claims(now), rs256(&k1));
    let c = verifier.verify(&good).await.unwrap();
    assert_eq!(c.sub, "mbr-1");
    assert_eq!(c.client_id, "coop-pos");
    assert_eq!(c.scope, vec!["feed:read", "wallet:hold"]);
    assert_eq!(
        c.roles.iter().copied().collect::<Vec<_>>(),
        vec![Role::Member, Role::Manager]
    );
    assert!(!c.is_service());
    assert!(c.require_scope("feed:read").is_ok() && c.require_scope("admin").is_err());
    assert_eq!(op.hits(), 1, "discovery fetched the keys once");

    let refused = |token: String| {
        let v = verifier.clone();
        async move { v.verify(&token).await.expect_err("must be refused") }
    };
    let with = |f: &dyn Fn(&mut Value)| -> Value {
        let mut c = claims(now);
        f(&mut c);
        c
    };

    // Time: 60 s of leeway on exp, then expired; iat from the future refused.
    let t = jws(
        &header("k1"),
        &with(&|c: &mut Value| c["exp"] = json!(now - 30)),
        rs256(&k1),
    );
    assert!(verifier.verify(&t).await.is_ok(), "within the leeway");
    let t = jws(
        &header("k1"),
        &with(&|c: &mut Value| c["exp"] = json!(now - 61)),
        rs256(&k1),
    );
    assert!(matches!(refused(t).await, TokenError::Expired(_)));
    let t = jws(
        &header("k1"),
        &with(&|c: &mut Value| c["iat"] = json!(now + 120)),
        rs256(&k1),
    );
    assert!(matches!(refused(t).await, TokenError::NotYetValid));
    let t = jws(
        &header("k1"),
        &with(&|c: &mut Value| c["nbf"] = json!(now + 120)),
        rs256(&k1),
    );
    assert!(matches!(refused(t).await, TokenError::NotYetValid));
    clock.advance(chrono::Duration::seconds(400));
    assert!(matches!(
        refused(good.clone()).await,
        TokenError::Expired(_)
    ));
    clock.advance(chrono::Duration::seconds(-400));

    // Issuer and audience.
    let t = jws(
        &header("k1"),
        &with(&|c: &mut Value| c["iss"] = json!("https://evil.example")),
        rs256(&k1),
    );
    assert!(matches!(refused(t).await, TokenError::Issuer(_)));
    let t = jws(
        &header("k1"),
        &with(&|c: &mut Value| c["iss"] = json!(format!("{}/", op.issuer))),
        rs256(&k1),
    );
    assert!(matches!(refused(t).await, TokenError::Issuer(_)));
    // A token for another service, or for an outside client (good only at userinfo), is
    // not good here, whoever holds it.
    for aud in [
        json!("coop-finance"),
        json!(["coop-ims", "coop-finance"]),
        json!(format!("{}/userinfo", op.issuer)),
        json!("cooperage"),
        json!([]),
        json!(null),
    ] {
        let t = jws(
            &header("k1"),
            &with(&|c: &mut Value| c["aud"] = aud.clone()),
            rs256(&k1),
        );
        assert!(matches!(refused(t).await, TokenError::Audience), "{aud}");
    }
    let t = jws(
        &header("k1"),
        &with(&|c: &mut Value| c["aud"] = json!(["coop-finance", "coop-pos"])),
        rs256(&k1),
    );
    assert!(verifier.verify(&t).await.is_ok());
    // Addressed to us, but from a client this service does not trust (Synapse, a forum).
    let t = jws(
        &header("k1"),
        &with(&|c: &mut Value| c["client_id"] = json!("synapse")),
        rs256(&k1),
    );
    assert!(matches!(
        refused(t).await,
        TokenError::UntrustedClient(c) if c == "synapse"
    ));
    let t = jws(
        &header("k1"),
        &with(&|c: &mut Value| c["client_id"] = json!("coop-till")),
        rs256(&k1),
    );
    assert!(verifier.verify(&t).await.is_ok());
    for claim in ["sub", "client_id", "jti", "exp", "iat", "iss"] {
        let without = with(&|c: &mut Value| {
            c.as_object_mut().unwrap().remove(claim);
        });
        let t = jws(&header("k1"), &without, rs256(&k1));
        assert!(verifier.verify(&t).await.is_err(), "without {claim}");
    }

    // Algorithms and types: only RS256, only at+jwt.
    let none = format!(
        "{}.{}.",
        b64e(
            json!({ "alg": "none", "typ": "at+jwt", "kid": "k1" })
                .to_string()
                .as_bytes()
        ),
        b64e(claims(now).to_string().as_bytes())
    );
    assert!(matches!(refused(none).await, TokenError::Algorithm(_)));
    let hmac = CoreHmacKey::new(serde_json::to_vec(&public_jwk(&k1)).unwrap());
    let t = jws(
        &json!({ "alg": "HS256", "typ": "at+jwt", "kid": "k1" }),
        &claims(now),
        |m| hmac.sign(&CoreJwsSigningAlgorithm::HmacSha256, m).unwrap(),
    );
    assert!(matches!(refused(t).await, TokenError::Algorithm(_)));
    for typ in [json!("JWT"), json!(null), json!("application/jwt")] {
        let t = jws(
            &json!({ "alg": "RS256", "typ": typ, "kid": "k1" }),
            &claims(now),
            rs256(&k1),
        );
        assert!(matches!(refused(t).await, TokenError::Type(_)), "typ {typ}");
    }
    let t = jws(
        &json!({ "alg": "RS256", "typ": "application/at+jwt", "kid": "k1" }),
        &claims(now),
        rs256(&k1),
    );
    assert!(verifier.verify(&t).await.is_ok());

    // Signatures: another key under a known kid, a payload changed after signing.
    let t = jws(&header("k1"), &claims(now), rs256(&intruder));
    assert!(matches!(refused(t).await, TokenError::Signature));
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64e(
            with(&|c: &mut Value| c["roles"] = json!(["admin"]))
                .to_string()
                .as_bytes()
        ),
        parts[2]
    );
    assert!(matches!(refused(forged).await, TokenError::Signature));

    // Unknown kids refetch the keys at most once per 30 s, whatever an attacker sends.
    assert_eq!(op.hits(), 1, "no fetch so far beyond discovery");
    clock.advance(chrono::Duration::seconds(31));
    let now = clock_secs(&clock);
    for kid in ["nope-1", "nope-2", "nope-3"] {
        let t = jws(&header(kid), &claims(now), rs256(&k1));
        assert!(matches!(refused(t).await, TokenError::UnknownKey(_)));
    }
    assert_eq!(op.hits(), 2, "three unknown kids, one fetch");

    // Rotation: coop-sso publishes k2 next to k1. Within the 30 s a k2 token is refused
    // unfetched; after it, one fetch and it is accepted.
    op.keys.lock().unwrap().push(public_jwk(&k2));
    let t = jws(&header("k2"), &claims(now), rs256(&k2));
    assert!(matches!(refused(t).await, TokenError::UnknownKey(_)));
    assert_eq!(op.hits(), 2);
    clock.advance(chrono::Duration::seconds(31));
    let now = clock_secs(&clock);
    let hits = op.hits();
    let t = jws(&header("k2"), &claims(now), rs256(&k2));
    assert!(verifier.verify(&t).await.is_ok());
    assert_eq!(op.hits(), hits + 1);
    let t = jws(&header("k1"), &claims(now), rs256(&k1));
    assert!(
        verifier.verify(&t).await.is_ok(),
        "the old key still counts"
    );
    assert_eq!(op.hits(), hits + 1, "known kids need no fetch");
}

fn clock_secs(clock: &TestClock) -> i64 {
    clock.now().timestamp()
}

#[tokio::test]
async fn external_the_bearer_extractor_answers_503_when_the_keys_cannot_be_had() {
    let verifier = AccessTokenVerifier::new(
        Provider::new("http://127.0.0.1:9").unwrap(),
        "coop-pos",
        ["c".to_owned()],
    );
    let app = Router::new()
        .route("/api/x", get(api_x))
        .with_state(verifier);
    let k1 = rsa_key(0, "k1");
    let now = chrono::Utc::now().timestamp();
    let token = jws(
        &json!({ "alg": "RS256", "typ": "at+jwt", "kid": "k1" }),
        &json!({ "iss": "http://127.0.0.1:9", "sub": "s", "aud": "coop-pos", "client_id": "c",
                 "exp": now + 60, "iat": now, "jti": "j" }),
        rs256(&k1),
    );
    let res = app
        .clone()
        .oneshot(
            Request::get("/api/x")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Shape errors are found before any key is needed.
    let res = app
        .oneshot(
            Request::get("/api/x")
                .header("authorization", "Bearer x.y.z")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
}

/// How the fake provider's token endpoint answers, given the sign-in's nonce and the time.
type TokenAnswer = Box<dyn Fn(&str, i64) -> (StatusCode, Value) + Send>;

/// The callback's ID-token checks, with a fake provider that answers the code exchange with
/// whatever ID token the test signs.
#[tokio::test]
async fn external_the_callback_refuses_every_bad_id_token() {
    let k1 = Arc::new(rsa_key(0, "k1"));
    let k2 = Arc::new(rsa_key(1, "k2"));
    let intruder = Arc::new(rsa_key(2, "k1"));
    let op = FakeIssuer::start(vec![public_jwk(&k1)]).await;
    let clock = TestClock::starting_now();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let secret = "the-client-secret";
    let state = tempfile::tempdir().unwrap();
    let app = lazy_db_app(&base, &op.issuer, secret, &clock, &state);
    let _served = serve_on(listener, app);

    let issuer = op.issuer.clone();
    let claims = move |nonce: &str, now: i64| {
        json!({
            "iss": issuer, "sub": "mbr-7", "aud": "coop-pos", "exp": now + 300, "iat": now,
            "nonce": nonce, "name": "Bo Berg", "email": "bo@example.org",
            "preferred_username": "bo", "member_number": "00042", "household": null,
            "roles": ["member", "manager", "wizard"],
        })
    };

    // One sign-in: /auth/login, the provider's answer to the code, /auth/callback.
    // `answer` makes the token endpoint's JSON from the request's nonce and the clock.
    let iss_param: String = url::form_urlencoded::byte_serialize(op.issuer.as_bytes()).collect();
    let attempt = |answer: TokenAnswer| {
        let (base, op_answer, clock) = (base.clone(), op.token_answer.clone(), clock.clone());
        let iss_param = iss_param.clone();
        async move {
            let c = client();
            let res = c
                .get(format!("{base}/pos/auth/login?return_to=/orders"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::FOUND);
            let q = query_of(&location(&res));
            *op_answer.lock().unwrap() = answer(&q["nonce"], clock_secs(&clock));
            let res = c
                .get(format!(
                    "{base}/pos/auth/callback?code=c-1&state={}&iss={iss_param}",
                    q["state"]
                ))
                .send()
                .await
                .unwrap();
            (res.status(), c, q)
        }
    };
    let ok_with = |id_token: String| {
        (
            StatusCode::OK,
            json!({ "access_token": "opaque", "token_type": "Bearer", "expires_in": 60, "id_token": id_token }),
        )
    };

    // A good token signs Bo in.
    let (status, c, q) = attempt(Box::new({
        let k1 = k1.clone();
        let claims = claims.clone();
        move |nonce, now| ok_with(id_token(&k1, "k1", &claims(nonce, now)))
    }))
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let page = body(c.get(format!("{base}/pos/orders")).send().await.unwrap()).await;
    assert!(
        page.contains("Signed in as Bo Berg") && page.contains("Roles: member manager"),
        "{page}"
    );

    // The code went to the token endpoint with client_secret_basic and the PKCE verifier
    // whose S256 hash is the challenge sent at the start.
    let (auth, form) = op.token_requests.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        auth,
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("coop-pos:{secret}"))
        )
    );
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(form.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "c-1");
    assert_eq!(form["redirect_uri"], format!("{base}/pos/auth/callback"));
    assert!(!form.contains_key("client_secret"));
    let verifier = openidconnect::PkceCodeVerifier::new(form["code_verifier"].clone());
    let challenge = openidconnect::PkceCodeChallenge::from_code_verifier_sha256(&verifier);
    assert_eq!(challenge.as_str(), q["code_challenge"]);

    // Each of these is refused with the error page, and nobody is signed in.
    let with = |f: fn(&mut Value)| {
        let (k1, claims) = (k1.clone(), claims.clone());
        Box::new(move |nonce: &str, now: i64| {
            let mut c = claims(nonce, now);
            f(&mut c);
            ok_with(id_token(&k1, "k1", &c))
        }) as TokenAnswer
    };
    let cases: Vec<(&str, TokenAnswer)> = vec![
        (
            "another nonce",
            with(|c| c["nonce"] = json!("not-the-nonce")),
        ),
        (
            "no nonce",
            with(|c| {
                c.as_object_mut().unwrap().remove("nonce");
            }),
        ),
        ("another audience", with(|c| c["aud"] = json!("coop-ims"))),
        (
            "an extra audience",
            with(|c| c["aud"] = json!(["coop-pos", "coop-ims"])),
        ),
        (
            "another issuer",
            with(|c| c["iss"] = json!("https://evil.example")),
        ),
        (
            "expired",
            with(|c| c["exp"] = json!(c["iat"].as_i64().unwrap() - 10)),
        ),
        (
            "issued in the future",
            with(|c| c["iat"] = json!(c["iat"].as_i64().unwrap() + 600)),
        ),
        ("alg none", {
            let claims = claims.clone();
            Box::new(move |nonce: &str, now: i64| {
                ok_with(format!(
                    "{}.{}.",
                    b64e(br#"{"alg":"none","kid":"k1"}"#),
                    b64e(claims(nonce, now).to_string().as_bytes())
                ))
            })
        }),
        ("HS256 keyed with the client secret", {
            let claims = claims.clone();
            Box::new(move |nonce: &str, now: i64| {
                let key = CoreHmacKey::new(secret.as_bytes().to_vec());
                ok_with(jws(
                    &json!({ "alg": "HS256", "kid": "k1" }),
                    &claims(nonce, now),
                    |m| key.sign(&CoreJwsSigningAlgorithm::HmacSha256, m).unwrap(),
                ))
            })
        }),
        ("another key under kid k1", {
            let (key, claims) = (intruder.clone(), claims.clone());
            Box::new(move |nonce: &str, now: i64| {
                ok_with(id_token(&key, "k1", &claims(nonce, now)))
            })
        }),
        (
            "no id_token",
            Box::new(|_: &str, _: i64| {
                (
                    StatusCode::OK,
                    json!({ "access_token": "opaque", "token_type": "Bearer" }),
                )
            }),
        ),
        (
            "the provider refuses the code",
            Box::new(|_: &str, _: i64| {
                (
                    StatusCode::BAD_REQUEST,
                    json!({ "error": "invalid_grant", "error_description": "Evil text" }),
                )
            }),
        ),
    ];
    for (what, answer) in cases {
        let (status, c, _) = attempt(answer).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}");
        let res = c.get(format!("{base}/pos/orders")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{what}: not signed in");
    }

    // Key rotation: a token under a new kid refetches the keys (rate limited) and is accepted
    // once the provider publishes the key.
    op.keys.lock().unwrap().push(public_jwk(&k2));
    clock.advance(chrono::Duration::seconds(31));
    let hits = op.hits();
    let (status, _, _) = attempt(Box::new({
        let (k2, claims) = (k2.clone(), claims.clone());
        move |nonce, now| ok_with(id_token(&k2, "k2", &claims(nonce, now)))
    }))
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(op.hits(), hits + 1);
}

fn id_token(key: &CoreRsaPrivateSigningKey, kid: &str, claims: &Value) -> String {
    jws(
        &json!({ "alg": "RS256", "typ": "JWT", "kid": kid }),
        claims,
        rs256(key),
    )
}

/// A logout token as coop-sso makes them (Back-Channel Logout §2.4), with changes.
fn logout_token(
    key: &CoreRsaPrivateSigningKey,
    issuer: &str,
    now: i64,
    change: impl Fn(&mut Value),
) -> String {
    let mut claims = json!({
        "iss": issuer, "aud": "coop-pos", "iat": now, "exp": now + 120,
        "jti": format!("j-{}", uuid::Uuid::new_v4()), "sub": "mbr-7", "sid": "s-1",
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    change(&mut claims);
    jws(
        &json!({ "alg": "RS256", "typ": "logout+jwt", "kid": "k1" }),
        &claims,
        rs256(key),
    )
}

#[tokio::test]
async fn external_back_channel_logout_and_the_five_minute_recheck_end_sessions() {
    let k1 = Arc::new(rsa_key(0, "k1"));
    let intruder = rsa_key(2, "k1");
    let op = FakeIssuer::start(vec![public_jwk(&k1)]).await;
    let clock = TestClock::starting_now();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = tempfile::tempdir().unwrap();
    let app = lazy_db_app(&base, &op.issuer, "the-client-secret", &clock, &state);
    let _served = serve_on(listener, app);
    let iss_param: String = url::form_urlencoded::byte_serialize(op.issuer.as_bytes()).collect();

    let id_claims = |nonce: Option<&str>, sid: &str, roles: Value, now: i64| {
        let mut c = json!({
            "iss": op.issuer, "sub": "mbr-7", "aud": "coop-pos", "exp": now + 300, "iat": now,
            "name": "Bo Berg", "roles": roles, "sid": sid,
        });
        if let Some(n) = nonce {
            c["nonce"] = json!(n);
        }
        c
    };
    // Signs Bo in through the fake provider; returns the browser.
    let sign_in = |sid: &'static str, refresh: &'static str| {
        let (base, op_answer, clock) = (base.clone(), op.token_answer.clone(), clock.clone());
        let (k1, iss_param, id_claims) = (k1.clone(), iss_param.clone(), id_claims);
        async move {
            let c = client();
            let res = c
                .get(format!("{base}/pos/auth/login?return_to=/orders"))
                .send()
                .await
                .unwrap();
            let q = query_of(&location(&res));
            let now = clock_secs(&clock);
            let claims = id_claims(Some(&q["nonce"]), sid, json!(["member", "manager"]), now);
            *op_answer.lock().unwrap() = (
                StatusCode::OK,
                json!({ "access_token": "opaque", "token_type": "Bearer", "expires_in": 600,
                        "refresh_token": refresh, "id_token": id_token(&k1, "k1", &claims) }),
            );
            let res = c
                .get(format!(
                    "{base}/pos/auth/callback?code=c&state={}&iss={iss_param}",
                    q["state"]
                ))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            c
        }
    };
    let orders = |c: reqwest::Client| {
        let url = format!("{base}/pos/orders");
        async move { c.get(url).send().await.unwrap() }
    };
    let post_logout = |token: String| {
        let url = format!("{base}/pos/auth/backchannel-logout");
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&[("logout_token", token)])
                .send()
                .await
                .unwrap()
        }
    };

    let bo = sign_in("s-1", "rt-1").await;
    assert_eq!(orders(bo.clone()).await.status(), StatusCode::OK);

    // Bad logout tokens: each refused (400, no-store), and Bo stays signed in.
    let now = clock_secs(&clock);
    let iss = op.issuer.clone();
    let bad: Vec<(&str, String)> = vec![
        ("garbage", "x.y.z".into()),
        (
            "another client",
            logout_token(&k1, &iss, now, |c| c["aud"] = json!("coop-ims")),
        ),
        (
            "another issuer",
            logout_token(&k1, &iss, now, |c| c["iss"] = json!("https://evil.example")),
        ),
        (
            "a nonce (an ID token?)",
            logout_token(&k1, &iss, now, |c| c["nonce"] = json!("n")),
        ),
        (
            "no event",
            logout_token(&k1, &iss, now, |c| {
                c.as_object_mut().unwrap().remove("events");
            }),
        ),
        (
            "no jti",
            logout_token(&k1, &iss, now, |c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
        ),
        (
            "no sub, no sid",
            logout_token(&k1, &iss, now, |c| {
                let o = c.as_object_mut().unwrap();
                o.remove("sub");
                o.remove("sid");
            }),
        ),
        (
            "issued an hour ago",
            logout_token(&k1, &iss, now - 3600, |_| {}),
        ),
        (
            "expired",
            logout_token(&k1, &iss, now - 200, |c| c["exp"] = json!(now - 100)),
        ),
        (
            "an unknown session",
            logout_token(&k1, &iss, now, |c| c["sid"] = json!("s-9")),
        ),
        (
            "another member's session",
            logout_token(&k1, &iss, now, |c| c["sub"] = json!("mbr-8")),
        ),
        (
            "a forged signature",
            logout_token(&intruder, &iss, now, |_| {}),
        ),
    ];
    for (what, token) in bad {
        let res = post_logout(token).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{what}");
        assert_eq!(
            orders(bo.clone()).await.status(),
            StatusCode::OK,
            "after {what}"
        );
    }
    let res = reqwest::Client::new()
        .post(format!("{base}/pos/auth/backchannel-logout"))
        .form(&[("not_a_logout_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // The real thing ends Bo's session here; the same token again is a replay.
    let good = logout_token(&k1, &iss, now, |_| {});
    assert_eq!(post_logout(good.clone()).await.status(), StatusCode::OK);
    assert_eq!(orders(bo.clone()).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(post_logout(good).await.status(), StatusCode::BAD_REQUEST);

    // A new sign-in (another coop-sso session) is not touched by the old logout.
    let bo = sign_in("s-2", "rt-2").await;
    assert_eq!(orders(bo.clone()).await.status(), StatusCode::OK);

    // Five minutes on, the next request asks coop-sso again with the refresh token, and the
    // session carries the member as coop-sso knows them now: the manager role is gone.
    clock.advance(chrono::Duration::minutes(5) + chrono::Duration::seconds(1));
    let now = clock_secs(&clock);
    *op.token_answer.lock().unwrap() = (
        StatusCode::OK,
        json!({ "access_token": "opaque-2", "token_type": "Bearer", "expires_in": 600,
                "refresh_token": "rt-3",
                "id_token": id_token(&k1, "k1", &id_claims(None, "s-2", json!(["member"]), now)) }),
    );
    // Two requests of the browser at once, both still carrying rt-2: one refresh at coop-sso
    // (a second use of rt-2 would make coop-sso revoke the sign-in), and both get an answer.
    let (first, second) = tokio::join!(orders(bo.clone()), orders(bo.clone()));
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    let page = body(first).await;
    assert!(
        page.contains("Roles: member") && !page.contains("manager"),
        "{page}"
    );
    let uses_of_rt2 = op
        .token_requests
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, form)| form.contains("refresh_token=rt-2"))
        .count();
    assert_eq!(uses_of_rt2, 1, "rt-2 went to coop-sso once");
    let (_, form) = op.token_requests.lock().unwrap().last().cloned().unwrap();
    assert!(
        form.contains("grant_type=refresh_token") && form.contains("refresh_token=rt-2"),
        "{form}"
    );

    // coop-sso unreachable at the next re-check: Bo keeps working.
    clock.advance(chrono::Duration::minutes(6));
    *op.token_answer.lock().unwrap() = (StatusCode::BAD_GATEWAY, json!("down"));
    assert_eq!(orders(bo.clone()).await.status(), StatusCode::OK);
    // And once coop-sso refuses the refresh (suspended, signed out), the session is over.
    *op.token_answer.lock().unwrap() = (
        StatusCode::BAD_REQUEST,
        json!({ "error": "invalid_grant", "error_description": "revoked" }),
    );
    assert_eq!(orders(bo.clone()).await.status(), StatusCode::SEE_OTHER);
    let (_, form) = op.token_requests.lock().unwrap().last().cloned().unwrap();
    assert!(form.contains("refresh_token=rt-3"), "{form}");
}

/// A P-256 key as coop-sso makes them, its JWK, and an ES256 signer.
fn ec_key(kid: &str) -> (aws_lc_rs::signature::EcdsaKeyPair, Value) {
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref()).unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let point = pair.public_key().as_ref().to_vec();
    let jwk = json!({ "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                      "x": b64(&point[1..33]), "y": b64(&point[33..65]) });
    (pair, jwk)
}

#[tokio::test]
async fn external_es256_access_tokens_verify_and_other_algorithms_do_not() {
    use base64::Engine as _;
    let (ec, ec_jwk) = ec_key("e1");
    let op = FakeIssuer::start(vec![ec_jwk]).await;
    let provider = Provider::new(&op.issuer).unwrap();
    let verifier = AccessTokenVerifier::new(provider, "coop-pos", ["coop-pos".to_owned()]);
    let now = chrono::Utc::now().timestamp();
    let claims = json!({ "iss": op.issuer, "sub": "mbr-1", "aud": "coop-pos", "client_id": "coop-pos",
                         "exp": now + 300, "iat": now, "jti": "j1", "scope": "members.feed" });
    let es256 = |m: &[u8]| {
        ec.sign(&aws_lc_rs::rand::SystemRandom::new(), m)
            .unwrap()
            .as_ref()
            .to_vec()
    };
    let good = jws(
        &json!({ "alg": "ES256", "typ": "at+jwt", "kid": "e1" }),
        &claims,
        es256,
    );
    assert_eq!(verifier.verify(&good).await.unwrap().sub, "mbr-1");
    // The same key id claimed for RS256, HS256 with the public key as secret, or none: refused
    // before any key is used for it.
    let body = good.split('.').nth(1).unwrap();
    let sig = good.rsplit('.').next().unwrap();
    for alg in ["RS256", "HS256", "none", "ES384"] {
        let head = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({ "alg": alg, "typ": "at+jwt", "kid": "e1" }).to_string());
        let err = verifier
            .verify(&format!("{head}.{body}.{sig}"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, TokenError::Algorithm(_) | TokenError::UnknownKey(_)),
            "{alg}: {err}"
        );
    }
    // One bit of the signature flipped.
    let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap();
    raw[5] ^= 1;
    let head = good.split('.').next().unwrap();
    let tampered = format!(
        "{head}.{body}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    );
    assert!(matches!(
        verifier.verify(&tampered).await.unwrap_err(),
        TokenError::Signature
    ));
}
