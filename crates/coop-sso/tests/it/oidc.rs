//! The OpenID provider over HTTP: the code flow with PKCE, and every way it must say no.

#![allow(clippy::many_single_char_names)] // short names for the browser, tokens and responses read best here

use crate::common::*;
use coop_sso::domain::Role;

#[tokio::test]
async fn the_code_flow_issues_tokens_with_the_members_claims() {
    let sso = spawn().await;
    let sub = sso
        .member(
            "Åsa Öberg",
            "asa@example.org",
            &[Role::Member, Role::Cashier],
        )
        .await;
    let b = browser();
    let p = pkce();
    let loc = get_code(&sso, &b, "asa@example.org", &p).await;
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st-123"));
    assert_eq!(
        query_param(&loc, "iss").as_deref(),
        Some(&*sso.state.issuer)
    );
    let code = query_param(&loc, "code").unwrap();

    let r = exchange(&sso, &code, &p.verifier).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let t: serde_json::Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    let id = jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], *sso.state.issuer);
    assert_eq!(id["aud"], serde_json::json!([RP_ID]));
    assert_eq!(id["sub"], sub.to_string());
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["name"], "Åsa Öberg");
    assert_eq!(id["preferred_username"], "asa.oberg");
    assert_eq!(id["email"], "asa@example.org");
    assert_eq!(id["member_number"], "00001");
    assert_eq!(id["roles"], serde_json::json!(["member", "cashier"]));
    assert!(id["at_hash"].is_string() && id["auth_time"].is_number());
    // The ID token verifies against the published keys.
    let (header, _) =
        coop_sso::jwt::verify(&sso.state.keys, t["id_token"].as_str().unwrap()).unwrap();
    let jwks: serde_json::Value = reqwest::get(sso.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], header["kid"]);
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "no private key material in the JWKS"
    );

    let info: serde_json::Value = userinfo(&sso, t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], sub.to_string());
    assert_eq!(info["preferred_username"], "asa.oberg");
    assert_eq!(info["roles"], serde_json::json!(["member", "cashier"]));

    // A second authorization in the same browser needs no new sign-in.
    let loc = get_code(&sso, &b, "asa@example.org", &pkce()).await;
    assert!(query_param(&loc, "code").is_some());
}

#[tokio::test]
async fn discovery_advertises_only_what_is_safe() {
    let sso = spawn().await;
    let d: serde_json::Value = reqwest::get(sso.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], *sso.state.issuer);
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert!(!d["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g == "password" || g == "implicit"));
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
}

#[tokio::test]
async fn pkce_is_mandatory_and_s256_only() {
    let sso = spawn().await;
    sso.member("Bo Berg", "bo@example.org", &[Role::Member])
        .await;
    let b = browser();
    sign_in(&sso, &b, "bo@example.org", PASSWORD, "/account").await;

    for (challenge, expect) in [
        (None, "invalid_request"),
        (Some(("abc", "plain")), "invalid_request"),
        (
            Some((pkce().challenge.as_str(), "plain")),
            "invalid_request",
        ),
        (Some(("short", "S256")), "invalid_request"),
    ] {
        let path = authorize_path(RP_ID, RP_REDIRECT, challenge, &[]);
        let r = b.get(sso.url(&path)).send().await.unwrap();
        let loc = location(&r);
        assert!(loc.starts_with(RP_REDIRECT), "{loc}");
        assert_eq!(query_param(&loc, "error").as_deref(), Some(expect), "{loc}");
        assert_eq!(query_param(&loc, "state").as_deref(), Some("st-123"));
        assert!(query_param(&loc, "code").is_none());
    }

    // The right challenge but the wrong verifier: no tokens, and the code is spent.
    let p = pkce();
    let code = query_param(&get_code(&sso, &b, "bo@example.org", &p).await, "code").unwrap();
    let r = exchange(&sso, &code, &pkce().verifier).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let r = exchange(&sso, &code, &p.verifier).await;
    assert_eq!(r.status(), 400);
    // No verifier at all.
    let code = query_param(&get_code(&sso, &b, "bo@example.org", &p).await, "code").unwrap();
    let r = reqwest::Client::new()
        .post(sso.url("/token"))
        .basic_auth(RP_ID, Some(RP_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", RP_REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn unregistered_clients_and_redirect_uris_get_an_error_page_never_a_redirect() {
    let sso = spawn().await;
    let b = browser();
    let p = pkce();
    for path in [
        authorize_path(
            RP_ID,
            "http://127.0.0.1:9/other",
            Some((&p.challenge, "S256")),
            &[],
        ),
        authorize_path(
            RP_ID,
            "http://127.0.0.1:9/cb/extra",
            Some((&p.challenge, "S256")),
            &[],
        ),
        authorize_path(
            RP_ID,
            "https://evil.example/cb",
            Some((&p.challenge, "S256")),
            &[],
        ),
        authorize_path("nobody", RP_REDIRECT, Some((&p.challenge, "S256")), &[]),
        "/authorize".to_owned(),
    ] {
        let r = b.get(sso.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 400, "{path}");
        assert!(r.headers().get("location").is_none(), "{path}");
        let body = r.text().await.unwrap();
        assert!(body.contains("cannot be handled"), "{body}");
    }
    // Other bad requests go back to the (registered) client with an error.
    let r = b
        .get(sso.url(&authorize_path(
            RP_ID,
            RP_REDIRECT,
            Some((&p.challenge, "S256")),
            &[("response_type", "token")],
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_request"),
        "duplicate parameter"
    );
    let path = authorize_path(RP_ID, RP_REDIRECT, Some((&p.challenge, "S256")), &[])
        .replace("response_type=code", "response_type=token");
    let r = b.get(sso.url(&path)).send().await.unwrap();
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("unsupported_response_type")
    );
    let r = b
        .get(sso.url(&authorize_path(
            RP_ID,
            RP_REDIRECT,
            Some((&p.challenge, "S256")),
            &[("prompt", "none")],
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_what_it_issued() {
    let sso = spawn().await;
    sso.member("Cia Ek", "cia@example.org", &[Role::Member])
        .await;
    let b = browser();
    let p = pkce();
    let code = query_param(&get_code(&sso, &b, "cia@example.org", &p).await, "code").unwrap();
    let t: serde_json::Value = exchange(&sso, &code, &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&sso, access).await.status(), 200);

    let r = exchange(&sso, &code, &p.verifier).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(userinfo(&sso, access).await.status(), 401);
    let r = refresh(&sso, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let sso = spawn().await;
    sso.member("Dan Ek", "dan@example.org", &[Role::Member])
        .await;
    let b = browser();
    let p = pkce();
    let code = query_param(&get_code(&sso, &b, "dan@example.org", &p).await, "code").unwrap();
    sso.clock.advance(chrono::Duration::seconds(61));
    let r = exchange(&sso, &code, &p.verifier).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replay_revokes_the_family() {
    let sso = spawn().await;
    sso.member("Eva Lind", "eva@example.org", &[Role::Member])
        .await;
    let b = browser();
    let p = pkce();
    let code = query_param(&get_code(&sso, &b, "eva@example.org", &p).await, "code").unwrap();
    let t1: serde_json::Value = exchange(&sso, &code, &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    let r1 = t1["refresh_token"].as_str().unwrap();

    let r = refresh(&sso, r1).await;
    assert_eq!(r.status(), 200);
    let t2: serde_json::Value = r.json().await.unwrap();
    let r2 = t2["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2);
    assert_eq!(
        userinfo(&sso, t2["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );

    // The old one again: refused, and the new one dies with it.
    let r = refresh(&sso, r1).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let r = refresh(&sso, r2).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(
        userinfo(&sso, t2["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused() {
    let sso = spawn().await;
    for (id, secret) in [(RP_ID, "wrong"), ("nobody", RP_SECRET), (RP_ID, "")] {
        let r = reqwest::Client::new()
            .post(sso.url("/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers().get("www-authenticate").is_some());
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["error"],
            "invalid_client"
        );
    }
}

#[tokio::test]
async fn suite_services_get_client_credentials_tokens_and_others_do_not() {
    let sso = spawn().await;
    let r = reqwest::Client::new()
        .post(sso.url("/token"))
        .basic_auth("coop-pos", Some(sso.pos_secret()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: serde_json::Value = r.json().await.unwrap();
    let claims = jwt_claims(t["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "coop-pos");
    // Addressed to the suite's services (here coop-sso and coop-pos), with the scopes coop-pos
    // may have.
    assert_eq!(claims["aud"], serde_json::json!(["coop-sso", "coop-pos"]));
    assert_eq!(claims["scope"], "members.feed members.roles wallet");
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    // A client-credentials token is no member: userinfo refuses it.
    assert_eq!(
        userinfo(&sso, t["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );

    let r = reqwest::Client::new()
        .post(sso.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", RP_ID),
            ("client_secret", RP_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "unauthorized_client"
    );
    let r = reqwest::Client::new()
        .post(sso.url("/token"))
        .basic_auth(RP_ID, Some(RP_SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", "x"),
            ("password", "y"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn a_suspended_member_gets_no_tokens() {
    let sso = spawn().await;
    let id = sso
        .member("Fia Ek", "fia@example.org", &[Role::Member])
        .await;
    let b = browser();
    let p = pkce();
    let code = query_param(&get_code(&sso, &b, "fia@example.org", &p).await, "code").unwrap();
    let t: serde_json::Value = exchange(&sso, &code, &p.verifier)
        .await
        .json()
        .await
        .unwrap();

    sqlx::query("update member set status = 'suspended' where member_id = $1")
        .bind(id)
        .execute(sso.state.db())
        .await
        .unwrap();
    let r = refresh(&sso, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(
        userinfo(&sso, t["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    // The browser session no longer counts, and signing in again is refused.
    let path = authorize_path(RP_ID, RP_REDIRECT, Some((&p.challenge, "S256")), &[]);
    let r = b.get(sso.url(&path)).send().await.unwrap();
    assert!(location(&r).starts_with("/login"));
    let r = sign_in(&sso, &browser(), "fia@example.org", PASSWORD, &path).await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn the_login_form_needs_its_csrf_token() {
    let sso = spawn().await;
    sso.member("Gun Ek", "gun@example.org", &[Role::Member])
        .await;
    let b = browser();
    let _ = b.get(sso.url("/login")).send().await.unwrap();
    let r = b
        .post(sso.url("/login"))
        .form(&[("email", "gun@example.org"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = b.get(sso.url("/account")).send().await.unwrap();
    assert!(location(&r).starts_with("/login"), "not signed in");
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_while() {
    let sso = spawn().await;
    sso.member("Hans Ek", "hans@example.org", &[Role::Member])
        .await;
    let b = browser();
    for _ in 0..5 {
        let r = sign_in(&sso, &b, "hans@example.org", "wrong password!", "/account").await;
        assert_eq!(r.status(), 401);
    }
    let r = sign_in(&sso, &b, "hans@example.org", PASSWORD, "/account").await;
    assert_eq!(r.status(), 429, "locked even with the right password");
    sso.clock.advance(chrono::Duration::minutes(16));
    let r = sign_in(&sso, &b, "hans@example.org", PASSWORD, "/account").await;
    assert_eq!(r.status(), 303);
    // Unknown accounts answer like wrong passwords.
    let r = sign_in(&sso, &browser(), "nobody@example.org", PASSWORD, "/account").await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn logout_only_redirects_to_registered_uris() {
    let sso = spawn().await;
    sso.member("Ida Ek", "ida@example.org", &[Role::Member])
        .await;
    let b = browser();
    let p = pkce();
    let code = query_param(&get_code(&sso, &b, "ida@example.org", &p).await, "code").unwrap();
    let t: serde_json::Value = exchange(&sso, &code, &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    let hint = t["id_token"].as_str().unwrap();

    for evil in [
        "https://evil.example/",
        "http://127.0.0.1:9/bye/../evil",
        "//evil.example",
    ] {
        let q = format!(
            "/logout?id_token_hint={hint}&post_logout_redirect_uri={}",
            urlencode(evil)
        );
        let r = b.get(sso.url(&q)).send().await.unwrap();
        assert_eq!(r.status(), 400, "{evil}");
        assert!(r.headers().get("location").is_none());
    }
    let q = format!(
        "/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=s1",
        urlencode(RP_LOGOUT)
    );
    let r = b.get(sso.url(&q)).send().await.unwrap();
    assert_eq!(location(&r), format!("{RP_LOGOUT}?state=s1"));
    // Signed out: the session and the tokens issued through it are gone.
    let r = b.get(sso.url("/account")).send().await.unwrap();
    assert!(location(&r).starts_with("/login"));
    let r = refresh(&sso, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn revocation_withdraws_a_refresh_token_family() {
    let sso = spawn().await;
    sso.member("Jan Ek", "jan@example.org", &[Role::Member])
        .await;
    let b = browser();
    let p = pkce();
    let code = query_param(&get_code(&sso, &b, "jan@example.org", &p).await, "code").unwrap();
    let t: serde_json::Value = exchange(&sso, &code, &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    let r = reqwest::Client::new()
        .post(sso.url("/revoke"))
        .basic_auth(RP_ID, Some(RP_SECRET))
        .form(&[("token", t["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        userinfo(&sso, t["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    let r = refresh(&sso, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    // Unknown tokens are "revoked" too: the answer reveals nothing.
    let r = reqwest::Client::new()
        .post(sso.url("/revoke"))
        .basic_auth(RP_ID, Some(RP_SECRET))
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn admins_must_use_a_second_factor() {
    let sso = spawn().await;
    sso.member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    let b = browser();
    let r = sign_in(&sso, &b, "kim@example.org", PASSWORD, "/account").await;
    assert_eq!(location(&r), "/login/totp");
    let page = b
        .get(sso.url("/login/totp"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = page.find("id=\"totp-secret\">").unwrap() + "id=\"totp-secret\">".len();
    let secret_b32 = &page[start..start + page[start..].find('<').unwrap()];
    let bytes = data_encoding::BASE32_NOPAD
        .decode(secret_b32.as_bytes())
        .unwrap();
    let secret = coop_sso::totp::TotpSecret::from_bytes(&bytes).unwrap();
    let csrf = coop_testkit::http::hidden_input(&page, "csrf_token").unwrap();
    // Not signed in yet: the second step is still owed.
    assert!(location(&b.get(sso.url("/account")).send().await.unwrap()).starts_with("/login"));

    let r = b
        .post(sso.url("/login/totp"))
        .form(&[("csrf_token", csrf.as_str()), ("code", "000000")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let code = coop_sso::totp::code_at(&secret, sso.clock.now().timestamp());
    let r = b
        .post(sso.url("/login/totp"))
        .form(&[("csrf_token", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        b.get(sso.url("/account")).send().await.unwrap().status(),
        200
    );

    // Next time the enrolled secret is asked for, and a used code cannot be replayed.
    let b2 = browser();
    sign_in(&sso, &b2, "kim@example.org", PASSWORD, "/account").await;
    let page = b2
        .get(sso.url("/login/totp"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("totp-secret"));
    let csrf = coop_testkit::http::hidden_input(&page, "csrf_token").unwrap();
    let r = b2
        .post(sso.url("/login/totp"))
        .form(&[("csrf_token", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "replayed code");
    sso.clock.advance(chrono::Duration::seconds(30));
    let code = coop_sso::totp::code_at(&secret, sso.clock.now().timestamp());
    let r = b2
        .post(sso.url("/login/totp"))
        .form(&[("csrf_token", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn many_concurrent_code_exchanges_do_not_starve_the_pool() {
    // More exchanges at once than the pool has connections: each must use one connection only.
    let sso = spawn().await;
    sso.member("Lo Ek", "lo@example.org", &[Role::Member]).await;
    let b = browser();
    let mut codes = Vec::new();
    for _ in 0..40 {
        let p = pkce();
        let code = query_param(&get_code(&sso, &b, "lo@example.org", &p).await, "code").unwrap();
        codes.push((code, p.verifier));
    }
    let url = sso.url("/token");
    let tasks: Vec<_> = codes
        .into_iter()
        .map(|(code, verifier)| {
            let url = url.clone();
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .basic_auth(RP_ID, Some(RP_SECRET))
                    .form(&[
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", RP_REDIRECT),
                        ("code_verifier", verifier.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
}
