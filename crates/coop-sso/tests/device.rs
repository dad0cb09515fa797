//! Pairing a till with the device authorization grant (RFC 8628).

#![allow(clippy::many_single_char_names)] // short names for the browser, tokens and responses read best here

mod common;

use common::*;
use coop_sso::domain::Role;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn start_pairing(sso: &Sso) -> serde_json::Value {
    let r = reqwest::Client::new()
        .post(sso.url("/device/authorize"))
        .form(&[("client_id", "coop-till"), ("scope", "till")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn poll(sso: &Sso, device_code: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(sso.url("/token"))
        .form(&[
            ("grant_type", GRANT),
            ("device_code", device_code),
            ("client_id", "coop-till"),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn decide(
    sso: &Sso,
    b: &reqwest::Client,
    user_code: &str,
    name: &str,
    decision: &str,
) -> reqwest::Response {
    let page = b
        .get(sso.url(&format!("/device?user_code={user_code}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = coop_testkit::http::hidden_input(&page, "csrf_token").unwrap();
    b.post(sso.url("/device"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("user_code", user_code),
            ("name", name),
            ("decision", decision),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_manager_pairs_a_till_which_then_gets_tokens_of_its_own() {
    let sso = spawn().await;
    sso.member(
        "Maja Manager",
        "maja@example.org",
        &[Role::Member, Role::Manager],
    )
    .await;
    let d = start_pairing(&sso).await;
    let device_code = d["device_code"].as_str().unwrap();
    let user_code = d["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9, "shown as XXXX-XXXX");
    assert_eq!(d["interval"], 5);
    assert!(d["verification_uri"].as_str().unwrap().ends_with("/device"));

    let (status, body) = poll(&sso, device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    let (_, body) = poll(&sso, device_code).await;
    assert_eq!(
        body["error"], "slow_down",
        "polled faster than the interval"
    );

    let b = browser();
    sign_in(&sso, &b, "maja@example.org", PASSWORD, "/device").await;
    let r = decide(&sso, &b, &user_code.to_lowercase(), "Kassa 1", "approve").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Kassa 1"));

    sso.clock.advance(chrono::Duration::seconds(6));
    let (status, t) = poll(&sso, device_code).await;
    assert_eq!(status, 200, "{t}");
    let claims = jwt_claims(t["access_token"].as_str().unwrap());
    assert!(claims["sub"].as_str().unwrap().starts_with("till:"));
    assert_eq!(claims["client_id"], "coop-till");
    assert!(t.get("id_token").is_none());

    sso.clock.advance(chrono::Duration::seconds(6));
    let (_, body) = poll(&sso, device_code).await;
    assert_eq!(body["error"], "invalid_grant", "a device code works once");

    // The till refreshes on its own, without a secret; rotation applies as for members.
    let r = reqwest::Client::new()
        .post(sso.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_id", "coop-till"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Unpairing the till ends it.
    sqlx::query("update till_device set revoked_at = now()")
        .execute(sso.state.db())
        .await
        .unwrap();
    let t2: serde_json::Value = r.json().await.unwrap();
    let r = reqwest::Client::new()
        .post(sso.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t2["refresh_token"].as_str().unwrap()),
            ("client_id", "coop-till"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn refused_expired_and_unauthorised_pairings() {
    let sso = spawn().await;
    sso.member(
        "Maja Manager",
        "maja@example.org",
        &[Role::Member, Role::Manager],
    )
    .await;
    sso.member("Mats Member", "mats@example.org", &[Role::Member])
        .await;

    // A plain member may not pair tills.
    let b = browser();
    sign_in(&sso, &b, "mats@example.org", PASSWORD, "/device").await;
    assert_eq!(
        b.get(sso.url("/device")).send().await.unwrap().status(),
        403
    );

    // Refused by a manager.
    let d = start_pairing(&sso).await;
    let m = browser();
    sign_in(&sso, &m, "maja@example.org", PASSWORD, "/device").await;
    decide(&sso, &m, d["user_code"].as_str().unwrap(), "", "deny").await;
    let (_, body) = poll(&sso, d["device_code"].as_str().unwrap()).await;
    assert_eq!(body["error"], "access_denied");

    // Expired before anyone approved; approving afterwards finds nothing.
    let d = start_pairing(&sso).await;
    sso.clock.advance(chrono::Duration::minutes(11));
    let (_, body) = poll(&sso, d["device_code"].as_str().unwrap()).await;
    assert_eq!(body["error"], "expired_token");
    let r = decide(
        &sso,
        &m,
        d["user_code"].as_str().unwrap(),
        "Kassa 2",
        "approve",
    )
    .await;
    assert_eq!(r.status(), 422);

    // Only the till client may start a pairing, and only it may redeem one.
    let r = reqwest::Client::new()
        .post(sso.url("/device/authorize"))
        .basic_auth(RP_ID, Some(RP_SECRET))
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
        .form(&[("grant_type", GRANT), ("device_code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "unauthorized_client"
    );
    // A public client cannot use the other grants.
    let r = reqwest::Client::new()
        .post(sso.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "coop-till"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "unauthorized_client"
    );
}
