//! A coop-sso served on port 0 against a fresh database, with a clock the test moves.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeZone as _, Utc};
use coop_sso::clock::TestClock;
use coop_sso::domain::{MemberStatus, Role};
use coop_sso::members::{self, NewMember};
use coop_sso::state::AppState;
use coop_testkit::http::{hidden_input, Served};
use coop_web::config::ServiceName;

pub const RP_ID: &str = "test-rp";
pub const RP_SECRET: &str = "test-rp-secret-0123456789";
pub const RP_REDIRECT: &str = "http://127.0.0.1:9/cb";
pub const RP_LOGOUT: &str = "http://127.0.0.1:9/bye";
pub const PASSWORD: &str = "a long enough password";

pub struct Sso {
    pub served: Served,
    pub state: AppState,
    pub clock: TestClock,
    pub dir: tempfile::TempDir,
}

impl Sso {
    pub fn url(&self, path: &str) -> String {
        self.served.url(path)
    }

    pub fn pos_secret(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("state/client-secrets/coop-pos")).unwrap()
    }

    pub async fn member(&self, name: &str, email: &str, roles: &[Role]) -> uuid::Uuid {
        let hash = coop_sso::password::hash(PASSWORD.into()).await.unwrap();
        members::create(
            self.state.db(),
            &self.state.kit.coop.member_number,
            NewMember {
                name: name.into(),
                email: coop_domain::EmailAddress::parse(email).unwrap(),
                preferred_lang: coop_web::Lang::En,
                roles: roles.to_vec(),
                status: MemberStatus::Active,
                password_hash: Some(hash),
            },
            None,
        )
        .await
        .unwrap()
        .member_id
    }
}

pub async fn spawn() -> Sso {
    spawn_with(|_| {}).await
}

/// A browser: cookies kept, redirects not followed.
pub use coop_testkit::http::{client as browser, jwt_claims, location, query_param, urlencode};

/// Signs in through the login form; returns the redirect target.
pub async fn sign_in(
    sso: &Sso,
    b: &reqwest::Client,
    email: &str,
    password: &str,
    return_to: &str,
) -> reqwest::Response {
    let page = b
        .get(sso.url(&format!("/login?return_to={}", urlencode(return_to))))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_input(&page, "csrf_token").expect("csrf token on the login page");
    b.post(sso.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", password),
            ("return_to", return_to),
        ])
        .send()
        .await
        .unwrap()
}

pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    let verifier = coop_sso::secrets::new_token();
    let challenge = coop_sso::secrets::pkce_s256(&verifier);
    Pkce {
        verifier,
        challenge,
    }
}

pub fn authorize_path(
    client_id: &str,
    redirect: &str,
    challenge: Option<(&str, &str)>,
    extra: &[(&str, &str)],
) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    s.append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", "openid profile email member roles offline_access")
        .append_pair("state", "st-123")
        .append_pair("nonce", "n-456");
    if let Some((c, m)) = challenge {
        s.append_pair("code_challenge", c)
            .append_pair("code_challenge_method", m);
    }
    for (k, v) in extra {
        s.append_pair(k, v);
    }
    format!("/authorize?{}", s.finish())
}

/// Signs in (if needed) and walks /authorize to the code; returns the final redirect URL.
pub async fn get_code(sso: &Sso, b: &reqwest::Client, email: &str, p: &Pkce) -> String {
    let path = authorize_path(RP_ID, RP_REDIRECT, Some((&p.challenge, "S256")), &[]);
    let r = b.get(sso.url(&path)).send().await.unwrap();
    let mut loc = location(&r);
    if loc.starts_with("/login") {
        let r = sign_in(sso, b, email, PASSWORD, &path).await;
        assert_eq!(
            r.status(),
            303,
            "sign-in should redirect back to /authorize"
        );
        let r = b.get(sso.url(&location(&r))).send().await.unwrap();
        loc = location(&r);
    }
    assert!(
        loc.starts_with(RP_REDIRECT),
        "expected a redirect to the RP, got {loc}"
    );
    loc
}

pub async fn exchange(sso: &Sso, code: &str, verifier: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(sso.url("/token"))
        .basic_auth(RP_ID, Some(RP_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", RP_REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
}

/// The token response for the code in an authorization response's `loc`.
pub async fn tokens(sso: &Sso, loc: &str, p: &Pkce) -> serde_json::Value {
    let code = query_param(loc, "code").expect("a code in the authorization response");
    let r = exchange(sso, &code, &p.verifier).await;
    assert_eq!(r.status(), 200, "code exchange");
    r.json().await.unwrap()
}

pub async fn refresh(sso: &Sso, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(sso.url("/token"))
        .basic_auth(RP_ID, Some(RP_SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap()
}

pub async fn userinfo(sso: &Sso, access: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(sso.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
}

/// Like [`spawn`], with a chance to change the config first (mail, `bookkeeper_appointment`…).
pub async fn spawn_with(configure: impl FnOnce(&mut serde_json::Value)) -> Sso {
    let db = coop_testkit::fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rp-secret"), RP_SECRET).unwrap();
    // The issuer must be known before the port is: bind first (and keep the listener, so no
    // other test can take the port in between), then configure.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let public = format!("http://{addr}");
    let mut value =
        coop_testkit::config::coop_config("sso", &db.url, &dir.path().join("state"), &public);
    value["services"]["sso"]["clients"] = serde_json::json!([{
        "client_id": RP_ID, "name": "Test RP",
        "redirect_uris": [RP_REDIRECT], "post_logout_redirect_uris": [RP_LOGOUT],
        "secret_file": dir.path().join("rp-secret"),
        "scopes": ["openid", "profile", "email", "member", "roles", "offline_access"],
    }]);
    value["services"]["pos"] = serde_json::json!({ "public_url": format!("{public}/pos") });
    configure(&mut value);
    let loaded = coop_web::config::parse::<coop_sso::config::SsoSettings>(
        value,
        ServiceName::Sso,
        &BTreeMap::new(),
    )
    .unwrap();
    let kit = coop_web::cli::kit::<coop_sso::Sso>(&loaded).await.unwrap();
    coop_web::db::migrate(&kit.db, kit.migrator).await.unwrap();
    let clock = TestClock::new(Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap());
    let state = coop_sso::build_state(kit.clone(), &loaded, Arc::new(clock.clone()))
        .await
        .unwrap();
    coop_sso::backchannel::spawn_worker(state.clone());
    let app = coop_web::app::build(&kit, coop_sso::http::routes(state.clone()));
    let served = coop_testkit::http::serve_on(listener, app);
    Sso {
        served,
        state,
        clock,
        dir,
    }
}

/// Signs in through the password form and, for roles that need it, the second factor
/// (enrolling on first use, else with the stored secret). Panics unless signed in afterwards.
pub async fn sign_in_fully(sso: &Sso, b: &reqwest::Client, email: &str) {
    let r = sign_in(sso, b, email, PASSWORD, "/account").await;
    assert_eq!(r.status(), 303, "sign-in of {email}");
    if location(&r) == "/login/totp" {
        let page = b
            .get(sso.url("/login/totp"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let marker = "id=\"totp-secret\">";
        let secret = if let Some(at) = page.find(marker) {
            let start = at + marker.len();
            let b32 = &page[start..start + page[start..].find('<').unwrap()];
            data_encoding::BASE32_NOPAD.decode(b32.as_bytes()).unwrap()
        } else {
            let (member_id, sealed, last): (uuid::Uuid, Vec<u8>, Option<i64>) = sqlx::query_as(
                "select member_id, totp_secret, totp_last_step from member where email = $1",
            )
            .bind(email)
            .fetch_one(sso.state.db())
            .await
            .unwrap();
            // A code is good once: step past the one used last.
            if last.is_some_and(|l| l >= sso.clock.now().timestamp() / 30) {
                sso.clock.advance(chrono::Duration::seconds(30));
            }
            sso.state
                .sealer
                .open(&coop_sso::sealing::totp_context(member_id), &sealed)
                .expect("the stored TOTP secret is sealed")
        };
        let secret = coop_sso::totp::TotpSecret::from_bytes(&secret).unwrap();
        let code = coop_sso::totp::code_at(&secret, sso.clock.now().timestamp());
        let csrf = hidden_input(&page, "csrf_token").unwrap();
        let r = b
            .post(sso.url("/login/totp"))
            .form(&[("csrf_token", csrf.as_str()), ("code", code.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            303,
            "second factor of {email}: {}",
            r.text()
                .await
                .unwrap_or_default()
                .split("<main")
                .nth(1)
                .unwrap_or("")
                .chars()
                .take(900)
                .collect::<String>()
        );
    }
    let r = b.get(sso.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), 200, "{email} should be signed in");
}

/// The browser's CSRF token, from a page every visitor can see.
pub async fn csrf_token(sso: &Sso, b: &reqwest::Client) -> String {
    let page = b
        .get(sso.url("/forgot"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    hidden_input(&page, "csrf_token").expect("a csrf token on /forgot")
}

/// Posts a form with the browser's CSRF token added.
pub async fn post_form(
    sso: &Sso,
    b: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = csrf_token(sso, b).await;
    let mut form: Vec<(&str, &str)> = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    b.post(sso.url(path)).form(&form).send().await.unwrap()
}

/// An access token coop-pos holds for itself (client credentials).
pub async fn pos_service_token(sso: &Sso) -> String {
    let r = reqwest::Client::new()
        .post(sso.url("/token"))
        .basic_auth("coop-pos", Some(sso.pos_secret()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: serde_json::Value = r.json().await.unwrap();
    t["access_token"].as_str().unwrap().to_owned()
}

pub async fn count(sso: &Sso, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(sso.state.db())
        .await
        .unwrap()
}
