//! Pairing a till with the device authorization grant (RFC 8628).

#![allow(clippy::many_single_char_names)] // short names for the browser, tokens and responses read best here

use crate::common::*;
use coop_sso::domain::Role;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn start_pairing(sso: &Sso) -> serde_json::Value {
    let r = start_pairing_from(sso, "192.0.2.44").await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn start_pairing_from(sso: &Sso, ip: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(sso.url("/device/authorize"))
        .header("x-real-ip", ip)
        .form(&[
            ("client_id", "coop-till"),
            ("scope", "till"),
            ("device_name", "till-pi-3"),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn pairing_requests_are_limited_per_address_and_expired_ones_deleted() {
    let sso = spawn().await;
    let mut codes = Vec::new();
    for _ in 0..10 {
        let r = start_pairing_from(&sso, "198.51.100.1").await;
        assert_eq!(r.status(), 200);
        let d: serde_json::Value = r.json().await.unwrap();
        codes.push(d["user_code"].as_str().unwrap().to_owned());
    }
    let r = start_pairing_from(&sso, "198.51.100.1").await;
    assert_eq!(r.status(), 429);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"], "slow_down");
    // Another address is not held up by that one.
    assert_eq!(start_pairing_from(&sso, "198.51.100.2").await.status(), 200);
    // The alphabet has no look-alikes: no vowels, no L.
    for code in &codes {
        assert!(
            code.chars()
                .all(|c| c == '-' || "BCDFGHJKMNPQRSTVWXZ".contains(c)),
            "{code}"
        );
    }
    // Ten minutes on, the address may start again; a day on, the expired requests are gone.
    sso.clock.advance(chrono::Duration::minutes(11));
    assert_eq!(start_pairing_from(&sso, "198.51.100.1").await.status(), 200);
    sso.clock
        .advance(chrono::Duration::days(1) + chrono::Duration::minutes(11));
    assert_eq!(start_pairing_from(&sso, "198.51.100.3").await.status(), 200);
    assert_eq!(
        count(&sso, "select count(*) from device_authorization").await,
        1,
        "only the newest request is left"
    );
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
    assert!(
        d.get("verification_uri_complete").is_none(),
        "no link that fills the code in"
    );

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

    // RFC 8628 §3.5: each slow_down adds 5 s for this and every later poll, so 6 s after the
    // first slow_down (interval now 10 s) is still too soon.
    sso.clock.advance(chrono::Duration::seconds(6));
    let (_, body) = poll(&sso, device_code).await;
    assert_eq!(body["error"], "slow_down", "the interval grew to 10 s");
    let interval: i64 = count(
        &sso,
        "select interval_seconds::bigint from device_authorization",
    )
    .await;
    assert_eq!(interval, 15);

    let b = browser();
    sign_in(&sso, &b, "maja@example.org", PASSWORD, "/device").await;
    // A code in the address fills nothing in: the manager types what the till shows.
    let page = b
        .get(sso.url(&format!("/device?user_code={user_code}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for shown in [user_code.to_owned(), user_code.replace('-', "")] {
        assert!(!page.contains(&format!("value=\"{shown}\"")), "{page}");
    }
    // The code alone first: the page shows when, from where and as what the till asked.
    let csrf = coop_testkit::http::hidden_input(&page, "csrf_token").unwrap();
    let r = b
        .post(sso.url("/device"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("user_code", &user_code.to_lowercase()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let confirm = r.text().await.unwrap();
    assert!(
        confirm.contains("id=\"device-address\">192.0.2.44<"),
        "{confirm}"
    );
    assert!(
        confirm.contains("id=\"device-own-name\">till-pi-3<"),
        "{confirm}"
    );
    assert!(confirm.contains("<time datetime="));
    let r = decide(&sso, &b, &user_code.to_lowercase(), "Kassa 1", "approve").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Kassa 1"));

    sso.clock.advance(chrono::Duration::seconds(16));
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
    let lost: serde_json::Value = r.json().await.unwrap();
    let refresh = |token: String| {
        let url = sso.url("/token");
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                    ("client_id", "coop-till"),
                ])
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    // The answer was lost on the way: within a minute the till presents the same token again
    // and is answered once more; the token it never received is retired.
    sso.clock.advance(chrono::Duration::seconds(20));
    let first = t["refresh_token"].as_str().unwrap().to_owned();
    let (status, retried) = refresh(first.clone()).await;
    assert_eq!(status, 200, "{retried}");
    let r = reqwest::Client::new()
        .post(sso.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", retried["refresh_token"].as_str().unwrap()),
            ("client_id", "coop-till"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the retried answer's token works");
    // The token that was lost turning up after all means someone else has it: the pairing's
    // tokens end, as for any reuse.
    let (status, body) = refresh(lost["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the lost token is retired"
    );
    // Past the minute, the first token again is reuse too.
    sso.clock.advance(chrono::Duration::seconds(61));
    let (status, _) = refresh(first).await;
    assert_eq!(status.as_u16(), 400);

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

/// The real binary: a till paired from the console (`coop-sso pair-till`), listed, and
/// unpaired (`coop-sso unpair-till`), after which its refresh token is refused and the
/// operator's act is in the audit log; unpairing it again is refused with a reason.
#[tokio::test]
async fn the_console_pairs_a_till_lists_it_and_unpairs_it() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let sso = coop_testkit::binary::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_coop-sso")),
        "sso",
        dir.path(),
        // The till's client exists where the co-op runs coop-pos.
        |c| {
            let public = c["services"]["sso"]["public_url"].clone();
            c["services"]["pos"] =
                serde_json::json!({ "public_url": format!("{}/pos", public.as_str().unwrap_or("http://127.0.0.1")) });
        },
    )
    .await;
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_coop-sso"))
            .args(args)
            .arg("--config")
            .arg(&sso.config_path)
            .env_remove("COOPERAGE_CONFIG")
            .output()
            .expect("running coop-sso");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let http = reqwest::Client::new();
    let d: serde_json::Value = http
        .post(format!("{}/device/authorize", sso.base_url))
        .form(&[
            ("client_id", "coop-till"),
            ("scope", "till"),
            ("device_name", "till-9"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (ok, out, err) = cli(&[
        "pair-till",
        "--code",
        d["user_code"].as_str().unwrap(),
        "--name",
        "Kassa 9",
    ]);
    assert!(ok, "{err}");
    let till = out.trim().to_owned();
    let t: serde_json::Value = http
        .post(format!("{}/token", sso.base_url))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", "coop-till"),
            ("device_code", d["device_code"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh = t["refresh_token"].as_str().expect("tokens").to_owned();

    let (ok, listed, _) = cli(&["unpair-till"]);
    assert!(ok);
    assert!(
        listed.contains(&till) && listed.contains("Kassa 9"),
        "{listed}"
    );

    let (ok, _, err) = cli(&["unpair-till", "--till", &till]);
    assert!(ok, "{err}");
    assert!(err.contains("Kassa 9 is unpaired"), "{err}");
    let r: serde_json::Value = http
        .post(format!("{}/token", sso.base_url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", "coop-till"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["error"], "invalid_grant", "{r}");
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'till.unpaired' and detail->>'till' = $1",
    )
    .bind(&till)
    .fetch_one(&sso.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);

    let (ok, _, err) = cli(&["unpair-till", "--till", &till]);
    assert!(!ok);
    assert!(err.contains("no paired till has the id"), "{err}");
    let (ok, listed, err) = cli(&["unpair-till"]);
    assert!(
        ok && listed.is_empty() && err.contains("No till is paired"),
        "{listed}{err}"
    );
}
