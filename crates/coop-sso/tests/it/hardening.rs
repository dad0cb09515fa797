//! What a conformance run and a penetration test of coop-sso found, one test per finding:
//! each failed before the fix.

#![allow(clippy::many_single_char_names)]

use crate::common::*;
use coop_sso::domain::Role;

async fn follow_login_redirect(sso: &Sso, b: &reqwest::Client, path: &str) -> reqwest::Response {
    b.get(sso.url(path)).send().await.unwrap()
}

#[tokio::test]
async fn return_to_with_any_control_character_or_space_stays_on_the_site() {
    let sso = spawn().await;
    sso.member("Åsa", "asa@example.org", &[Role::Member]).await;
    let b = browser();
    sign_in_fully(&sso, &b, "asa@example.org").await;
    // Signed in, /login sends the browser straight on: never off the site.
    for evil in [
        "/%09/evil.example",
        "/%0a/evil.example",
        "/%0d%0a/evil.example",
        "/%0b/evil.example",
        "/%0c/evil.example",
        "/%20/evil.example",
        "/%C2%A0/evil.example",
        "/%5Cevil.example",
        "//evil.example",
        "https://evil.example/",
    ] {
        let r = follow_login_redirect(&sso, &b, &format!("/login?return_to={evil}")).await;
        assert_eq!(r.status(), 303, "{evil}");
        assert_eq!(location(&r), "/account", "{evil}");
    }
    // The form's hidden field is parsed the same way.
    let b = browser();
    let r = sign_in(&sso, &b, "asa@example.org", PASSWORD, "/\t/evil.example").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account");
}

#[tokio::test]
async fn sign_in_takes_the_email_address_in_any_case() {
    let sso = spawn().await;
    sso.member("Åsa", "asa@example.org", &[Role::Member]).await;
    let r = sign_in(&sso, &browser(), "ASA@Example.ORG", PASSWORD, "/account").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account");
}

/// Walks an authorization request to its end the way a browser does, signing in again where
/// coop-sso asks for it; returns the redirect to the RP and how many sign-ins it took.
async fn authorize_following(
    sso: &Sso,
    b: &reqwest::Client,
    email: &str,
    path: &str,
) -> (String, u32) {
    let mut next = path.to_owned();
    for sign_ins in 0..6 {
        let r = b.get(sso.url(&next)).send().await.unwrap();
        let loc = location(&r);
        if loc.starts_with(RP_REDIRECT) {
            return (loc, sign_ins);
        }
        assert!(loc.starts_with("/login"), "unexpected redirect to {loc}");
        let page = b
            .get(sso.url(&loc))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let return_to = coop_testkit::http::hidden_input(&page, "return_to").unwrap();
        let csrf = coop_testkit::http::hidden_input(&page, "csrf_token").unwrap();
        let r = b
            .post(sso.url("/login"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", email),
                ("password", PASSWORD),
                ("return_to", return_to.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        next = location(&r);
    }
    panic!("the authorization request went round sign-in more than five times");
}

#[tokio::test]
async fn prompt_login_signs_the_member_in_once_more_and_completes_with_a_fresh_auth_time() {
    let sso = spawn().await;
    sso.member("Åsa", "asa@example.org", &[Role::Member]).await;
    let b = browser();
    sign_in_fully(&sso, &b, "asa@example.org").await;
    let first_sign_in = sso.clock.now().timestamp();
    sso.clock.advance(chrono::Duration::minutes(5));

    let p = pkce();
    let path = authorize_path(
        RP_ID,
        RP_REDIRECT,
        Some((&p.challenge, "S256")),
        &[("prompt", "login")],
    );
    // A cross-site GET with prompt=login signs nobody out: the member is asked, still signed in.
    let r = b.get(sso.url(&path)).send().await.unwrap();
    assert!(location(&r).starts_with("/login?"), "{}", location(&r));
    assert!(location(&r).contains("reauth=1"));
    assert_eq!(
        b.get(sso.url("/account")).send().await.unwrap().status(),
        200
    );

    let (loc, sign_ins) = authorize_following(&sso, &b, "asa@example.org", &path).await;
    assert_eq!(sign_ins, 1, "exactly one more sign-in");
    let t = tokens(&sso, &loc, &p).await;
    let id = jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(
        id["auth_time"].as_i64().unwrap(),
        sso.clock.now().timestamp()
    );
    assert!(id["auth_time"].as_i64().unwrap() > first_sign_in);
}

#[tokio::test]
async fn max_age_asks_for_a_sign_in_only_when_the_last_one_is_older() {
    let sso = spawn().await;
    sso.member("Åsa", "asa@example.org", &[Role::Member]).await;
    let b = browser();
    sign_in_fully(&sso, &b, "asa@example.org").await;
    let signed_in_at = sso.clock.now().timestamp();
    sso.clock.advance(chrono::Duration::seconds(120));

    let p = pkce();
    let young_enough = authorize_path(
        RP_ID,
        RP_REDIRECT,
        Some((&p.challenge, "S256")),
        &[("max_age", "600")],
    );
    let (loc, sign_ins) = authorize_following(&sso, &b, "asa@example.org", &young_enough).await;
    assert_eq!(sign_ins, 0);
    let t = tokens(&sso, &loc, &p).await;
    assert_eq!(
        jwt_claims(t["id_token"].as_str().unwrap())["auth_time"],
        signed_in_at
    );

    let p = pkce();
    let too_old = authorize_path(
        RP_ID,
        RP_REDIRECT,
        Some((&p.challenge, "S256")),
        &[("max_age", "60")],
    );
    let (loc, sign_ins) = authorize_following(&sso, &b, "asa@example.org", &too_old).await;
    assert_eq!(sign_ins, 1);
    let t = tokens(&sso, &loc, &p).await;
    assert_eq!(
        jwt_claims(t["id_token"].as_str().unwrap())["auth_time"],
        sso.clock.now().timestamp()
    );

    // prompt=none cannot ask: it answers login_required.
    let p = pkce();
    let silent = authorize_path(
        RP_ID,
        RP_REDIRECT,
        Some((&p.challenge, "S256")),
        &[("max_age", "0"), ("prompt", "none")],
    );
    let r = b.get(sso.url(&silent)).send().await.unwrap();
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("login_required")
    );
    // A malformed max_age is the client's error.
    let bad = authorize_path(
        RP_ID,
        RP_REDIRECT,
        Some((&p.challenge, "S256")),
        &[("max_age", "-1")],
    );
    let r = b.get(sso.url(&bad)).send().await.unwrap();
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn a_forged_or_stale_reauthentication_marker_is_worth_nothing() {
    let sso = spawn().await;
    sso.member("Åsa", "asa@example.org", &[Role::Member]).await;
    let b = browser();
    sign_in_fully(&sso, &b, "asa@example.org").await;
    sso.clock.advance(chrono::Duration::minutes(5));
    let p = pkce();
    let path = authorize_path(
        RP_ID,
        RP_REDIRECT,
        Some((&p.challenge, "S256")),
        &[("prompt", "login")],
    );
    // Made up, and one minted for another request (the one with prompt=login removed).
    let past = sso.clock.now().timestamp() - 3600;
    for marker in [format!("{past}.AAAA"), format!("{past}")] {
        let forged = format!("{path}&coop_reauth={}", urlencode(&marker));
        let r = b.get(sso.url(&forged)).send().await.unwrap();
        assert!(location(&r).starts_with("/login?"), "{marker}");
    }
    // A genuine marker, used after its 15 minutes, asks again.
    let r = b.get(sso.url(&path)).send().await.unwrap();
    let login = location(&r);
    let return_to = query_param(&format!("http://x{login}"), "return_to").unwrap();
    sso.clock.advance(chrono::Duration::minutes(16));
    let r = b.get(sso.url(&return_to)).send().await.unwrap();
    assert!(location(&r).starts_with("/login?"));
}

#[tokio::test]
async fn an_id_token_hint_must_be_our_id_token_for_the_named_client() {
    let sso = spawn().await;
    sso.member("Åsa", "asa@example.org", &[Role::Member]).await;
    let b = browser();
    let p = pkce();
    let loc = get_code(&sso, &b, "asa@example.org", &p).await;
    let t = tokens(&sso, &loc, &p).await;
    let id_token = t["id_token"].as_str().unwrap().to_owned();
    let access = t["access_token"].as_str().unwrap().to_owned();
    let logout = |hint: &str, client: &str| {
        format!(
            "/logout?id_token_hint={}&client_id={}&post_logout_redirect_uri={}",
            urlencode(hint),
            urlencode(client),
            urlencode(RP_LOGOUT)
        )
    };
    // Another client's name beside our hint, an access token, garbage, a tampered token: each
    // refused, and the member stays signed in.
    let mut tampered = id_token.clone();
    tampered.pop();
    tampered.push(if id_token.ends_with('A') { 'B' } else { 'A' });
    for (hint, client) in [
        (id_token.as_str(), "coop-pos"),
        (access.as_str(), RP_ID),
        ("not.a.token", RP_ID),
        (tampered.as_str(), RP_ID),
    ] {
        let r = b.get(sso.url(&logout(hint, client))).send().await.unwrap();
        assert_eq!(r.status(), 400, "{client} {hint:.20}");
        assert_eq!(
            b.get(sso.url("/account")).send().await.unwrap().status(),
            200,
            "still signed in after {client} {hint:.20}"
        );
    }
    // The member's own ID token for this client signs them out and goes back to the client.
    let r = b
        .get(sso.url(&logout(&id_token, RP_ID)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with(RP_LOGOUT));
    assert_eq!(
        b.get(sso.url("/account")).send().await.unwrap().status(),
        303
    );
}

async fn wrong_password_from(sso: &Sso, email: &str, ip: &str) -> reqwest::StatusCode {
    let b = browser();
    let csrf = csrf_token(sso, &b).await;
    b.post(sso.url("/login"))
        .header("x-real-ip", ip)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", "not the password"),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

async fn right_password_from(sso: &Sso, email: &str, ip: &str) -> reqwest::Response {
    let b = browser();
    let csrf = csrf_token(sso, &b).await;
    b.post(sso.url("/login"))
        .header("x-real-ip", ip)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn wrong_passwords_from_elsewhere_never_lock_the_member_out() {
    let sso = spawn().await;
    sso.member("Ada", "ada@example.org", &[Role::Member]).await;
    // Five wrong passwords from the attacker's address lock that address out of this account…
    for _ in 0..5 {
        assert_eq!(
            wrong_password_from(&sso, "ada@example.org", "203.0.113.9").await,
            401
        );
        sso.clock.advance(chrono::Duration::seconds(1));
    }
    let r = right_password_from(&sso, "ada@example.org", "203.0.113.9").await;
    assert_eq!(r.status(), 429, "the attacker's address is locked");
    // …but the member, from their own address, signs in at once.
    let r = right_password_from(&sso, "ada@example.org", "198.51.100.7").await;
    assert_eq!(r.status(), 303);

    // Guessing spread over many addresses slows down: after the account's free failures, each
    // address waits a doubling delay after its own last failure.
    for i in 0..3 {
        assert_eq!(
            wrong_password_from(&sso, "ada@example.org", &format!("192.0.2.{i}")).await,
            401
        );
    }
    let r = wrong_password_from(&sso, "ada@example.org", "192.0.2.0").await;
    assert_eq!(r, 429, "the same address again, before its delay is up");
    sso.clock.advance(chrono::Duration::seconds(31));
    let r = wrong_password_from(&sso, "ada@example.org", "192.0.2.0").await;
    assert_eq!(r, 401, "tried again once the delay is over");
    // The member's own address is still never made to wait.
    let r = right_password_from(&sso, "ada@example.org", "198.51.100.7").await;
    assert_eq!(r.status(), 303);
    // And the lock of the attacker's address lasts the whole window.
    sso.clock.advance(chrono::Duration::minutes(10));
    let r = right_password_from(&sso, "ada@example.org", "203.0.113.9").await;
    assert_eq!(r.status(), 429);
    sso.clock.advance(chrono::Duration::minutes(6));
    let r = right_password_from(&sso, "ada@example.org", "203.0.113.9").await;
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn sign_in_and_second_factor_pages_are_never_cached() {
    let sso = spawn().await;
    sso.member("Ada", "ada@example.org", &[Role::Member, Role::Admin])
        .await;
    let b = browser();
    let r = b.get(sso.url("/login")).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    let r = sign_in(&sso, &b, "ada@example.org", PASSWORD, "/account").await;
    assert_eq!(location(&r), "/login/totp");
    // The enrolment page shows the new secret: it must not stay in any cache.
    let r = b.get(sso.url("/login/totp")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let r = wrong_password_from(&sso, "ada@example.org", "192.0.2.1").await;
    assert_eq!(r, 401);
}

const FORUM_ID: &str = "forum";
const FORUM_SECRET: &str = "forum-secret-0123456789abcdef";
const FORUM_REDIRECT: &str = "http://127.0.0.1:9/forum/cb";

/// coop-sso with a second outside client, a forum, configured with the default scopes.
async fn spawn_with_forum(more: impl FnOnce(&mut serde_json::Value)) -> Sso {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("forum-secret");
    std::fs::write(&secret, FORUM_SECRET).unwrap();
    let sso = spawn_with(|c| {
        c["services"]["sso"]["clients"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "client_id": FORUM_ID, "name": "Forum", "redirect_uris": [FORUM_REDIRECT],
                "secret_file": secret,
            }));
        more(c);
    })
    .await;
    // The secret file is read at start; the folder may go.
    drop(dir);
    sso
}

/// The forum's code flow, asking for every scope there is; returns the token response.
async fn forum_tokens(sso: &Sso, b: &reqwest::Client, email: &str) -> serde_json::Value {
    let p = pkce();
    let path = authorize_path(FORUM_ID, FORUM_REDIRECT, Some((&p.challenge, "S256")), &[]);
    let r = b.get(sso.url(&path)).send().await.unwrap();
    let mut loc = location(&r);
    if loc.starts_with("/login") {
        let r = sign_in(sso, b, email, PASSWORD, &path).await;
        loc = location(&b.get(sso.url(&location(&r))).send().await.unwrap());
    }
    let code = query_param(&loc, "code").expect("a code for the forum");
    reqwest::Client::new()
        .post(sso.url("/token"))
        .basic_auth(FORUM_ID, Some(FORUM_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", FORUM_REDIRECT),
            ("code_verifier", p.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_outside_clients_token_is_good_at_userinfo_only_and_carries_only_its_scopes() {
    let sso = spawn_with_forum(|_| {}).await;
    sso.member("Åsa", "asa@example.org", &[Role::Member, Role::Cashier])
        .await;
    let b = browser();
    let t = forum_tokens(&sso, &b, "asa@example.org").await;
    // Asked for everything, granted what the forum's config allows.
    assert_eq!(t["scope"], "openid profile email");
    assert!(
        t.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    let access = jwt_claims(t["access_token"].as_str().unwrap());
    assert_eq!(
        access["aud"],
        format!("{}/userinfo", sso.state.issuer),
        "good at userinfo, at no suite service"
    );
    assert!(access.get("roles").is_none());
    let id = jwt_claims(t["id_token"].as_str().unwrap());
    for claim in ["roles", "member_number", "household"] {
        assert!(id.get(claim).is_none(), "{claim} in the forum's ID token");
    }
    assert_eq!(id["email"], "asa@example.org");
    let info: serde_json::Value = userinfo(&sso, t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["email"], "asa@example.org");
    assert!(info.get("roles").is_none() && info.get("member_number").is_none());
    // Not good at coop-sso's own API either.
    let r = reqwest::Client::new()
        .get(sso.url("/api/feed"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn roles_and_member_claims_come_only_with_their_scopes() {
    let sso = spawn().await;
    sso.member("Åsa", "asa@example.org", &[Role::Member, Role::Cashier])
        .await;
    let b = browser();
    // The test RP may have every scope, but asks only for openid and email.
    let p = pkce();
    let mut path = authorize_path(RP_ID, RP_REDIRECT, Some((&p.challenge, "S256")), &[]);
    path = path.replace(
        "scope=openid+profile+email+member+roles+offline_access",
        "scope=openid+email",
    );
    let r = b.get(sso.url(&path)).send().await.unwrap();
    let r = sign_in(
        &sso,
        &b,
        "asa@example.org",
        PASSWORD,
        &location_return_to(&r),
    )
    .await;
    let loc = location(&b.get(sso.url(&location(&r))).send().await.unwrap());
    let t = tokens(&sso, &loc, &p).await;
    assert_eq!(t["scope"], "openid email");
    let id = jwt_claims(t["id_token"].as_str().unwrap());
    let access = jwt_claims(t["access_token"].as_str().unwrap());
    for claim in ["roles", "member_number", "household", "name"] {
        assert!(id.get(claim).is_none(), "{claim} in the ID token");
    }
    assert!(access.get("roles").is_none());
    assert!(t.get("refresh_token").is_none());
}

fn location_return_to(r: &reqwest::Response) -> String {
    query_param(&format!("http://x{}", location(r)), "return_to").unwrap()
}

#[tokio::test]
async fn a_refresh_token_family_ends_after_its_absolute_lifetime() {
    let sso = spawn().await;
    sso.member("Åsa", "asa@example.org", &[Role::Member]).await;
    let b = browser();
    let p = pkce();
    let loc = get_code(&sso, &b, "asa@example.org", &p).await;
    let t = tokens(&sso, &loc, &p).await;
    let mut refresh_token = t["refresh_token"].as_str().unwrap().to_owned();
    // Used every 20 days it never goes idle, but the family ends 30 days after the sign-in.
    for day in [20, 29] {
        sso.clock
            .advance(chrono::Duration::days(if day == 20 { 20 } else { 9 }));
        let r = refresh(&sso, &refresh_token).await;
        assert_eq!(r.status(), 200, "day {day}");
        let t: serde_json::Value = r.json().await.unwrap();
        refresh_token = t["refresh_token"].as_str().unwrap().to_owned();
    }
    sso.clock
        .advance(chrono::Duration::days(1) + chrono::Duration::seconds(1));
    let r = refresh(&sso, &refresh_token).await;
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_grant");
}

#[tokio::test]
async fn client_credentials_grant_only_the_scopes_the_config_allows() {
    let sso = spawn_with(|c| {
        c["services"]["ims"] = serde_json::json!({});
        c["services"]["sso"]["service_scopes"] = serde_json::json!({ "coop-ims": [] });
    })
    .await;
    let token = |client: &'static str, secret: String, scope: Option<&'static str>| {
        let url = sso.url("/token");
        async move {
            let mut form = vec![("grant_type", "client_credentials")];
            if let Some(s) = scope {
                form.push(("scope", s));
            }
            let r = reqwest::Client::new()
                .post(url)
                .basic_auth(client, Some(secret))
                .form(&form)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, t) = token("coop-pos", sso.pos_secret(), Some("members.feed")).await;
    assert_eq!(status, 200);
    assert_eq!(t["scope"], "members.feed");
    for asked in ["admin", "members.feed roles", "openid"] {
        let (status, e) = token("coop-pos", sso.pos_secret(), Some(asked)).await;
        assert_eq!(status, 400, "{asked}");
        assert_eq!(e["error"], "invalid_scope", "{asked}");
    }
    // coop-ims may have no scope at all here: its token cannot read the member feed.
    let ims_secret =
        std::fs::read_to_string(sso.dir.path().join("state/client-secrets/coop-ims")).unwrap();
    let (status, e) = token("coop-ims", ims_secret.clone(), Some("members.feed")).await;
    assert_eq!(
        (status.as_u16(), e["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, t) = token("coop-ims", ims_secret, None).await;
    assert_eq!(status, 200);
    let r = reqwest::Client::new()
        .get(sso.url("/api/feed"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

/// A relying party's back-channel logout endpoint: keeps every logout token posted to it and
/// answers with the status the test sets.
struct LogoutReceiver {
    served: coop_testkit::http::Served,
    tokens: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    status: std::sync::Arc<std::sync::atomic::AtomicU16>,
}

impl LogoutReceiver {
    async fn start() -> Self {
        use std::sync::atomic::{AtomicU16, Ordering};
        use std::sync::{Arc, Mutex};
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (t, st) = (tokens.clone(), status.clone());
        let app = axum::Router::new().route(
            "/bcl",
            axum::routing::post(
                move |axum::Form(form): axum::Form<std::collections::HashMap<String, String>>| {
                    let (t, st) = (t.clone(), st.clone());
                    async move {
                        t.lock()
                            .unwrap()
                            .push(form.get("logout_token").cloned().unwrap_or_default());
                        axum::http::StatusCode::from_u16(st.load(Ordering::SeqCst)).unwrap()
                    }
                },
            ),
        );
        let served = coop_testkit::http::serve(app).await;
        Self {
            served,
            tokens,
            status,
        }
    }

    fn uri(&self) -> String {
        self.served.url("/bcl")
    }

    /// Waits (real time: the delivery task polls every second) for the n-th token.
    async fn wait_for(&self, n: usize) -> String {
        for _ in 0..100 {
            if let Some(t) = self.tokens.lock().unwrap().get(n - 1) {
                return t.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no logout token number {n} arrived");
    }

    fn count(&self) -> usize {
        self.tokens.lock().unwrap().len()
    }
}

fn check_logout_token(sso: &Sso, token: &str, sid: &str, sub: &str) {
    let (header, claims) = coop_sso::jwt::verify(&sso.state.keys, token).unwrap();
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(claims["iss"], *sso.state.issuer);
    assert_eq!(claims["aud"], FORUM_ID);
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["sub"], sub);
    assert_eq!(
        claims["events"],
        serde_json::json!({ "http://schemas.openid.net/event/backchannel-logout": {} })
    );
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    assert!(claims.get("nonce").is_none());
}

#[tokio::test]
async fn ending_sessions_here_sends_logout_tokens_to_the_relying_parties() {
    use std::sync::atomic::Ordering;
    let rp = LogoutReceiver::start().await;
    let uri = rp.uri();
    let sso = spawn_with_forum(move |c| {
        let forum = c["services"]["sso"]["clients"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|cl| cl["client_id"] == FORUM_ID)
            .unwrap();
        forum["backchannel_logout_uri"] = serde_json::json!(uri);
    })
    .await;
    let admin = sso
        .member("Ada", "ada@example.org", &[Role::Member, Role::Admin])
        .await;
    let asa = sso
        .member("Åsa", "asa@example.org", &[Role::Member, Role::Cashier])
        .await;
    let sub = asa.to_string();

    // 1. Signing out at coop-sso.
    let b = browser();
    let t = forum_tokens(&sso, &b, "asa@example.org").await;
    let sid = jwt_claims(t["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .expect("the ID token names its session")
        .to_owned();
    let r = post_form(&sso, &b, "/logout", &[]).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    check_logout_token(&sso, &rp.wait_for(1).await, &sid, &sub);
    // Signing out twice sends nothing more.
    let r = post_form(&sso, &b, "/logout", &[]).await;
    assert!(r.status().is_success() || r.status().is_redirection());

    // 2. A suspension; the relying party is down at first and gets it on a later try.
    let b = browser();
    let t = forum_tokens(&sso, &b, "asa@example.org").await;
    let sid2 = jwt_claims(t["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(sid, sid2);
    rp.status.store(503, Ordering::SeqCst);
    coop_sso::directory::change_status(
        sso.state.db(),
        &sso.state.kit.coop.member_number,
        Some(admin),
        asa,
        coop_sso::directory::StatusChange::Suspend,
        sso.clock.now(),
    )
    .await
    .unwrap();
    rp.wait_for(2).await;
    assert_eq!(rp.count(), 2, "one failed try so far");
    // The failed try is written down after the answer comes back: wait for it.
    let mut attempts = 0;
    for _ in 0..50 {
        attempts = count(
            &sso,
            "select attempts::bigint from backchannel_logout where reason = 'member suspended'",
        )
        .await;
        if attempts == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(attempts, 1);
    rp.status.store(200, Ordering::SeqCst);
    sso.clock.advance(chrono::Duration::seconds(3));
    check_logout_token(&sso, &rp.wait_for(3).await, &sid2, &sub);
    assert_eq!(
        count(
            &sso,
            "select count(*) from backchannel_logout where delivered_at is not null"
        )
        .await,
        2
    );

    // 3. A removed role: the relying party's session carries it, so it ends too.
    coop_sso::directory::change_status(
        sso.state.db(),
        &sso.state.kit.coop.member_number,
        Some(admin),
        asa,
        coop_sso::directory::StatusChange::Reactivate,
        sso.clock.now(),
    )
    .await
    .unwrap();
    let b = browser();
    let t = forum_tokens(&sso, &b, "asa@example.org").await;
    let sid3 = jwt_claims(t["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    coop_sso::directory::set_roles(
        sso.state.db(),
        &sso.state.kit.coop.member_number,
        admin,
        asa,
        &[Role::Member].into_iter().collect(),
        sso.clock.now(),
    )
    .await
    .unwrap();
    check_logout_token(&sso, &rp.wait_for(4).await, &sid3, &sub);
    // The member is still signed in at coop-sso itself.
    assert_eq!(
        b.get(sso.url("/account")).send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn the_audit_log_is_append_only_in_the_database_and_records_sign_ins_and_reuse() {
    let sso = spawn().await;
    let asa = sso.member("Åsa", "asa@example.org", &[Role::Member]).await;
    let b = browser();
    let p = pkce();
    let loc = get_code(&sso, &b, "asa@example.org", &p).await;
    let code = query_param(&loc, "code").unwrap();
    assert_eq!(exchange(&sso, &code, &p.verifier).await.status(), 200);
    assert_eq!(exchange(&sso, &code, &p.verifier).await.status(), 400);
    let r = post_form(&sso, &b, "/logout", &[]).await;
    assert!(r.status().is_redirection() || r.status().is_success());
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_event where subject_id = $1 order by audit_event_id",
    )
    .bind(asa)
    .fetch_all(sso.state.db())
    .await
    .unwrap();
    for want in [
        "session.signed_in",
        "token.code_reused",
        "session.signed_out",
    ] {
        assert!(actions.iter().any(|a| a == want), "{want} in {actions:?}");
    }

    // Not even the service's own connection can rewrite history.
    for sql in [
        "update audit_event set action = 'nothing happened'",
        "delete from audit_event",
        "truncate audit_event",
    ] {
        let err = sqlx::query(sql)
            .execute(sso.state.db())
            .await
            .expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let left: i64 = count(&sso, "select count(*) from audit_event").await;
    assert!(left >= 3);
}

#[tokio::test]
async fn each_feed_consumer_sees_only_what_it_needs_of_a_member() {
    let sso = spawn_with(|c| {
        c["services"]["ims"] = serde_json::json!({});
        c["services"]["finance"] = serde_json::json!({});
    })
    .await;
    let admin = sso
        .member("Ada", "ada@example.org", &[Role::Member, Role::Admin])
        .await;
    let asa = sso
        .member("Åsa", "asa@example.org", &[Role::Member, Role::Cashier])
        .await;
    coop_sso::directory::change_status(
        sso.state.db(),
        &sso.state.kit.coop.member_number,
        Some(admin),
        asa,
        coop_sso::directory::StatusChange::Suspend,
        sso.clock.now(),
    )
    .await
    .unwrap();
    let feed_as = |client: &'static str| {
        let secret = std::fs::read_to_string(
            sso.dir
                .path()
                .join(format!("state/client-secrets/{client}")),
        )
        .unwrap();
        let url = sso.url("/token");
        let feed = sso.url("/api/feed");
        async move {
            let t: serde_json::Value = reqwest::Client::new()
                .post(url)
                .basic_auth(client, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let r = reqwest::Client::new()
                .get(feed)
                .bearer_auth(t["access_token"].as_str().unwrap())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{client}");
            let body: serde_json::Value = r.json().await.unwrap();
            body["events"].as_array().unwrap().clone()
        }
    };
    let last_of_asa = |events: &[serde_json::Value]| {
        events
            .iter()
            .rev()
            .find(|e| e["payload"]["sub"] == asa.to_string())
            .unwrap()["payload"]
            .clone()
    };
    let pos = last_of_asa(&feed_as("coop-pos").await);
    assert_eq!(pos["status"], "suspended");
    assert_eq!(
        pos["member_prices"], false,
        "a suspended member pays the full price"
    );
    assert_eq!(pos["roles"], serde_json::json!(["member", "cashier"]));
    assert!(pos.get("household").is_none());
    let finance = last_of_asa(&feed_as("coop-finance").await);
    assert!(finance.get("roles").is_none());
    assert!(finance.get("household").is_some());
    let ims = last_of_asa(&feed_as("coop-ims").await);
    assert!(ims.get("roles").is_none() && ims.get("household").is_none());
    assert_eq!(ims["member_number"], "00002");
    let ada = feed_as("coop-ims").await;
    assert_eq!(ada[0]["payload"]["member_prices"], true);
}

#[tokio::test]
async fn signing_keys_and_totp_secrets_are_sealed_in_the_database() {
    let sso = spawn().await;
    let ada = sso
        .member("Ada", "ada@example.org", &[Role::Member, Role::Admin])
        .await;
    sign_in_fully(&sso, &browser(), "ada@example.org").await;
    // What a database backup holds: nothing usable without the key file.
    let pems: Vec<String> = sqlx::query_scalar("select private_key_pem from signing_key")
        .fetch_all(sso.state.db())
        .await
        .unwrap();
    assert!(!pems.is_empty());
    for pem in &pems {
        assert!(
            pem.starts_with("SEALv1") && !pem.contains("PRIVATE KEY"),
            "{pem:.40}"
        );
    }
    let totp: Vec<u8> = sqlx::query_scalar("select totp_secret from member where member_id = $1")
        .bind(ada)
        .fetch_one(sso.state.db())
        .await
        .unwrap();
    assert!(totp.starts_with(b"SEALv1") && totp.len() == 54);

    // Secrets stored in the clear by an older version are sealed at the next start.
    let plain_secret = [42u8; 20];
    sqlx::query("update member set totp_secret = $2 where member_id = $1")
        .bind(ada)
        .bind(&plain_secret[..])
        .execute(sso.state.db())
        .await
        .unwrap();
    let kid = sso.state.keys.current().unwrap().kid.clone();
    let sealed_pem = &pems[0];
    let pem = sso
        .state
        .sealer
        .open_text(&coop_sso::sealing::signing_key_context(&kid), sealed_pem)
        .unwrap();
    sqlx::query("update signing_key set private_key_pem = $2 where kid = $1")
        .bind(&kid)
        .bind(&pem)
        .execute(sso.state.db())
        .await
        .unwrap();
    let settings = || {
        let value = coop_testkit::config::coop_config(
            "sso",
            sso.state.kit.service.database_url.expose(),
            &sso.dir.path().join("state"),
            &sso.state.issuer,
        );
        coop_web::config::parse::<coop_sso::config::SsoSettings>(
            value,
            coop_web::config::ServiceName::Sso,
            &std::collections::BTreeMap::new(),
        )
        .unwrap()
    };
    let loaded = settings();
    let restarted = coop_sso::build_state(
        sso.state.kit.clone(),
        &loaded,
        std::sync::Arc::new(sso.clock.clone()),
    )
    .await
    .unwrap();
    let totp: Vec<u8> = sqlx::query_scalar("select totp_secret from member where member_id = $1")
        .bind(ada)
        .fetch_one(sso.state.db())
        .await
        .unwrap();
    assert_eq!(
        restarted
            .sealer
            .open(&coop_sso::sealing::totp_context(ada), &totp)
            .unwrap(),
        plain_secret
    );
    let stored: String =
        sqlx::query_scalar("select private_key_pem from signing_key where kid = $1")
            .bind(&kid)
            .fetch_one(sso.state.db())
            .await
            .unwrap();
    assert!(stored.starts_with("SEALv1"));

    // With another key file the service refuses to start, and says why.
    let other = sso.dir.path().join("other-key");
    std::fs::write(&other, "ab".repeat(32)).unwrap();
    let mut loaded = settings();
    loaded.extra.secrets_key_file = Some(other.display().to_string());
    let err = coop_sso::build_state(
        sso.state.kit.clone(),
        &loaded,
        std::sync::Arc::new(sso.clock.clone()),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("secrets_key_file"), "{err}");
}

#[tokio::test]
async fn delivered_logout_tokens_are_pruned_after_thirty_days() {
    let sso = spawn().await;
    let asa = sso.member("Åsa", "asa@example.org", &[Role::Member]).await;
    let now = sso.clock.now();
    for (done, at) in [
        (true, now - chrono::Duration::days(31)),
        (true, now),
        (false, now - chrono::Duration::days(31)),
    ] {
        sqlx::query(
            "insert into backchannel_logout (client_id, member_id, web_session_id, reason, created_at, next_attempt_at, delivered_at)
             values ('test-rp', $1, $2, 'signed out', $3, $3 + interval '1 year', case when $4 then $3 end)",
        )
        .bind(asa)
        .bind(uuid::Uuid::new_v4())
        .bind(at)
        .bind(done)
        .execute(sso.state.db())
        .await
        .unwrap();
    }
    coop_sso::backchannel::prune(sso.state.db(), now)
        .await
        .unwrap();
    // The old delivered one goes; the recent one and the undelivered one stay.
    assert_eq!(
        count(&sso, "select count(*) from backchannel_logout").await,
        2
    );
}
