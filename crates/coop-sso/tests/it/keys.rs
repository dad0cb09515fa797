//! Signing-key rotation: the new key signs at once, the old one stays published until every
//! token it signed has expired, then leaves the JWKS.

#![allow(clippy::many_single_char_names)] // short names for the browser, tokens and responses read best here

use crate::common::*;
use coop_sso::domain::Role;

fn kids(jwks: &serde_json::Value) -> Vec<String> {
    kids_of(jwks, None)
}

/// The key ids in a JWKS, of one key type (`RSA`, `EC`) or all.
fn kids_of(jwks: &serde_json::Value, kty: Option<&str>) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| kty.is_none_or(|t| k["kty"] == t))
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_until_they_expire() {
    let sso = spawn().await;
    sso.member("Nils Ek", "nils@example.org", &[Role::Member])
        .await;
    let b = browser();
    let p = pkce();
    let code = query_param(&get_code(&sso, &b, "nils@example.org", &p).await, "code").unwrap();
    let t: serde_json::Value = exchange(&sso, &code, &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    let old_access = t["access_token"].as_str().unwrap().to_owned();
    let jwks: serde_json::Value = reqwest::get(sso.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // One RSA key (ID tokens) and one P-256 key (access tokens), both published.
    let before = kids_of(&jwks, Some("RSA"));
    assert_eq!(before.len(), 1);
    let before_ec = kids_of(&jwks, Some("EC"));
    assert_eq!(before_ec.len(), 1);
    let ec = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kty"] == "EC")
        .unwrap()
        .clone();
    assert_eq!(ec["crv"], "P-256");
    assert_eq!(ec["alg"], "ES256");
    assert!(ec.get("d").is_none(), "no private part");
    let (header, _) = coop_sso::jwt::verify(&sso.state.keys, &old_access).unwrap();
    assert_eq!(
        (header["alg"].as_str(), header["kid"].as_str()),
        (Some("ES256"), Some(before_ec[0].as_str()))
    );

    let new_kid = sso
        .state
        .keys
        .rotate(sso.state.db(), sso.clock.now())
        .await
        .unwrap();
    let jwks: serde_json::Value = reqwest::get(sso.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let after = kids_of(&jwks, Some("RSA"));
    assert_eq!(after.len(), 2, "old and new key both published");
    assert!(after.contains(&before[0]) && after.contains(&new_kid));
    assert_eq!(kids_of(&jwks, Some("EC")).len(), 2);
    let new_ec = sso.state.keys.current_access().unwrap().kid.clone();
    assert_ne!(new_ec, before_ec[0]);

    // Tokens signed with the old key still work; new ones are signed with the new key.
    assert_eq!(userinfo(&sso, &old_access).await.status(), 200);
    let r: serde_json::Value = refresh(&sso, t["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let (header, _) =
        coop_sso::jwt::verify(&sso.state.keys, r["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(header["kid"], new_ec);
    let (header, _) =
        coop_sso::jwt::verify(&sso.state.keys, r["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(header["kid"], new_kid);

    // A restart (a fresh key store from the database) sees the same keys.
    let reloaded =
        coop_sso::keys::KeyStore::load(sso.state.db(), sso.clock.now(), sso.state.sealer.clone())
            .await
            .unwrap();
    assert_eq!(reloaded.current().unwrap().kid, new_kid);

    // After the publication window the old key is gone.
    sso.clock
        .advance(coop_sso::keys::PUBLISH_AFTER_RETIREMENT + chrono::Duration::minutes(1));
    sso.state
        .keys
        .reload(sso.state.db(), sso.clock.now())
        .await
        .unwrap();
    let jwks: serde_json::Value = reqwest::get(sso.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(kids(&jwks), vec![new_kid, new_ec]);
}

#[tokio::test]
async fn malformed_and_oversize_token_requests_change_nothing() {
    let sso = spawn().await;
    let c = reqwest::Client::new();
    let big = "x".repeat(100 * 1024);
    let r = c
        .post(sso.url("/token"))
        .basic_auth("coop-pos", Some(sso.pos_secret()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", big.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = c
        .post(sso.url("/token"))
        .basic_auth("coop-pos", Some(sso.pos_secret()))
        .header("content-type", "application/json")
        .body("{\"grant_type\":\"client_credentials\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let r = c
        .post(sso.url("/token"))
        .basic_auth("coop-pos", Some(sso.pos_secret()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&grant_type=authorization_code")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let r = c
        .post(sso.url("/token"))
        .header("authorization", "Basic !!!not-base64")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let families: i64 = sqlx::query_scalar("select count(*) from token_family")
        .fetch_one(sso.state.db())
        .await
        .unwrap();
    assert_eq!(families, 0);
}

#[tokio::test]
async fn only_untampered_tokens_of_ours_verify() {
    let sso = spawn().await;
    for key in [
        sso.state.keys.current().unwrap(),
        sso.state.keys.current_access().unwrap(),
    ] {
        tamper_checks(&sso, &key);
    }
}

fn tamper_checks(sso: &Sso, key: &coop_sso::keys::SigningKey) {
    use base64::Engine as _;
    let claims = serde_json::json!({ "sub": "x", "n": 1 });
    let token = coop_sso::jwt::sign(key, "at+jwt", &claims).unwrap();
    let (_, back) = coop_sso::jwt::verify(&sso.state.keys, &token).unwrap();
    assert_eq!(back, claims);

    // One bit of the signature flipped.
    let (head, sig) = token.rsplit_once('.').unwrap();
    let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap();
    raw[10] ^= 1;
    let tampered = format!(
        "{head}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw)
    );
    assert_eq!(
        coop_sso::jwt::verify(&sso.state.keys, &tampered),
        Err(coop_sso::jwt::JwtError::Signature)
    );
    // Other claims under the same signature.
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"admin","n":1}"#);
    parts[1] = &forged;
    assert_eq!(
        coop_sso::jwt::verify(&sso.state.keys, &parts.join(".")),
        Err(coop_sso::jwt::JwtError::Signature)
    );
    // alg none, and an unknown key id.
    let none =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"x"}"#);
    let body = token.split('.').nth(1).unwrap();
    assert_eq!(
        coop_sso::jwt::verify(&sso.state.keys, &format!("{none}.{body}.")),
        Err(coop_sso::jwt::JwtError::Algorithm)
    );
    // The key's id under the other algorithm (RS256 for a P-256 key and back): refused.
    let flipped = if key.alg == jsonwebtoken::Algorithm::ES256 {
        "RS256"
    } else {
        "ES256"
    };
    let confused = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!(r#"{{"alg":"{flipped}","kid":"{}"}}"#, key.kid));
    assert_eq!(
        coop_sso::jwt::verify(&sso.state.keys, &format!("{confused}.{body}.{sig}")),
        Err(coop_sso::jwt::JwtError::Algorithm)
    );
    let other =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"nope"}"#);
    assert_eq!(
        coop_sso::jwt::verify(&sso.state.keys, &format!("{other}.{body}.{sig}")),
        Err(coop_sso::jwt::JwtError::UnknownKey)
    );
}
