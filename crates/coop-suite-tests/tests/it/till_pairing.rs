//! A till pairs itself through the real coop-sso's device grant: it asks for a code, a manager
//! pairs it, the till's token is taken by the real central, it renews its token with the
//! refresh token when it runs out (a reboot keeps the pairing), and once unpaired at coop-sso
//! it gets no more.

use std::collections::BTreeMap;
use std::sync::Arc;

use coop_pos_till::pairing::{DeviceTokens, Poll};
use coop_pos_till::store::Store;
use coop_pos_till::sync::{self, Tokens as _};
use coop_web::ServiceName;
use uuid::Uuid;

use crate::till_central::central_with;

/// The real coop-sso on a port of its own, on the real clock, with a manager.
async fn sso() -> (
    coop_testkit::http::Served,
    sqlx::PgPool,
    tempfile::TempDir,
    String,
    Uuid,
) {
    let db = coop_testkit::fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let mut v =
        coop_testkit::config::coop_config("sso", &db.url, &dir.path().join("state"), &public);
    // Tills exist where the co-op runs coop-pos; they read the catalogue at coop-ims.
    v["services"]["pos"] = serde_json::json!({ "public_url": format!("{public}/pos") });
    v["services"]["ims"] = serde_json::json!({ "public_url": format!("{public}/ims") });
    let loaded = coop_web::config::parse::<coop_sso::config::SsoSettings>(
        v,
        ServiceName::Sso,
        &BTreeMap::new(),
    )
    .unwrap();
    let kit = coop_web::cli::kit::<coop_sso::Sso>(&loaded).await.unwrap();
    coop_web::db::migrate(&kit.db, kit.migrator).await.unwrap();
    let state = coop_sso::build_state(kit.clone(), &loaded, Arc::new(coop_web::clock::SystemClock))
        .await
        .unwrap();
    let manager = coop_sso::members::create(
        state.db(),
        &kit.coop.member_number,
        coop_sso::members::NewMember {
            name: "Sam".into(),
            email: coop_domain::EmailAddress::parse("sam@example.org").unwrap(),
            preferred_lang: coop_web::Lang::Sv,
            roles: vec![
                coop_sso::domain::Role::Member,
                coop_sso::domain::Role::Manager,
            ],
            status: coop_sso::domain::MemberStatus::Active,
            password_hash: Some(
                coop_sso::password::hash("a long enough password".into())
                    .await
                    .unwrap(),
            ),
        },
        None,
    )
    .await
    .unwrap()
    .member_id;
    let app = coop_web::app::build(&kit, coop_sso::http::routes(state.clone()));
    (
        coop_testkit::http::serve_on(listener, app),
        kit.db.clone(),
        dir,
        public,
        manager,
    )
}

/// A manager pairs the till whose screen shows `user_code`, as coop-sso's `/device` does.
async fn approve(db: &sqlx::PgPool, user_code: &str, name: &str, manager: Uuid) -> Uuid {
    let hash: Vec<u8> = sqlx::query_scalar(
        "select device_code_hash from device_authorization where user_code = $1",
    )
    .bind(user_code.replace('-', ""))
    .fetch_one(db)
    .await
    .unwrap();
    let till = Uuid::new_v4();
    let mut tx = db.begin().await.unwrap();
    coop_sso::devices::approve(
        &mut tx,
        &hash,
        till,
        name,
        Some(manager),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    till
}

#[tokio::test]
async fn a_till_pairs_through_the_device_grant_and_keeps_its_tokens_fresh() {
    let (_sso, sso_db, _sso_dir, issuer, manager) = sso().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("till.sqlite"), 2)
        .await
        .unwrap();
    let device = DeviceTokens::load(store.clone(), &issuer).await.unwrap();
    assert_eq!(device.till_id().await, None);
    assert!(device.bearer().await.is_err(), "no token before pairing");

    let mut pending = device.start("till-pc").await.unwrap();
    assert_eq!(pending.user_code.len(), 9, "{}", pending.user_code);
    assert!(pending.verification_uri.ends_with("/device"));
    assert_eq!(device.poll(&mut pending).await.unwrap(), Poll::Waiting);
    let till = approve(&sso_db, &pending.user_code, "Kassa 1", manager).await;
    // coop-sso asks a till to wait its interval between polls.
    tokio::time::sleep(pending.interval).await;
    assert_eq!(
        device.poll(&mut pending).await.unwrap(),
        Poll::Paired(till.to_string())
    );
    // The token is for central, the member feed at coop-sso and the catalogue at coop-ims.
    let claims = coop_testkit::http::jwt_claims(&device.bearer().await.unwrap());
    for aud in ["coop-pos", "coop-sso", "coop-ims"] {
        assert!(
            claims["aud"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!(aud)),
            "{aud}: {claims}"
        );
    }
    assert_eq!(claims["sub"], serde_json::json!(format!("till:{till}")));
    // The code is good once.
    assert!(!matches!(
        device.poll(&mut pending).await,
        Ok(Poll::Paired(_))
    ));

    // Central, trusting the real coop-sso, takes the paired till's token.
    let (pos, central_db, _pdir) = central_with_sso(&issuer).await;
    let settings = coop_pos_till::run::fetch_settings(&sync::client(), &pos.url("/pos"), &device)
        .await
        .unwrap();
    assert_eq!(settings.currency, "SEK");
    let seen: i64 = sqlx::query_scalar("select count(*) from till where till_id = $1")
        .bind(till.to_string())
        .fetch_one(&central_db)
        .await
        .unwrap();
    assert_eq!(seen, 1, "central knows the till by its paired id");

    // A reboot keeps the pairing; an access token run out is renewed with the refresh token.
    let first = device.bearer().await.unwrap();
    let mut kept = store.setting("pairing").await.unwrap().unwrap();
    kept["expires_at"] = serde_json::json!("2000-01-01T00:00:00Z");
    store.set_setting("pairing", &kept).await.unwrap();
    let rebooted = DeviceTokens::load(store.clone(), &issuer).await.unwrap();
    assert_eq!(rebooted.till_id().await, Some(till.to_string()));
    let renewed = rebooted.bearer().await.unwrap();
    assert_ne!(renewed, first);
    let rotated = store.setting("pairing").await.unwrap().unwrap();
    assert_ne!(rotated["refresh_token"], kept["refresh_token"]);
    coop_pos_till::run::fetch_settings(&sync::client(), &pos.url("/pos"), &rebooted)
        .await
        .unwrap();

    // Unpaired at coop-sso: the next renewal is refused.
    sqlx::query("update till_device set revoked_at = now() where till_device_id = $1")
        .bind(till)
        .execute(&sso_db)
        .await
        .unwrap();
    let mut kept = store.setting("pairing").await.unwrap().unwrap();
    kept["expires_at"] = serde_json::json!("2000-01-01T00:00:00Z");
    store.set_setting("pairing", &kept).await.unwrap();
    let unpaired = DeviceTokens::load(store.clone(), &issuer).await.unwrap();
    assert!(unpaired.bearer().await.is_err());
}

/// Central trusting the real coop-sso at `issuer`.
async fn central_with_sso(
    issuer: &str,
) -> (coop_testkit::http::Served, sqlx::PgPool, tempfile::TempDir) {
    central_with(
        &coop_testkit::issuer::TestIssuer::start().await,
        serde_json::json!({ "sso": { "public_url": issuer } }),
    )
    .await
}

#[tokio::test]
async fn a_new_till_shows_its_code_until_a_manager_pairs_it_then_sells() {
    let (_sso, sso_db, _sso_dir, issuer, manager) = sso().await;
    let (pos, _central_db, _pdir) = central_with_sso(&issuer).await;
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg: coop_pos_till::run::TillConfig = serde_json::from_value(serde_json::json!({
        "state_directory": dir.path(), "listen": format!("127.0.0.1:{port}"), "lang": "en",
        "central_url": pos.url("/pos"), "catalogue_feed_url": "http://127.0.0.1:9/ims/api/feed",
        "sso_url": issuer,
    }))
    .unwrap();
    let till = tokio::spawn(coop_pos_till::run::run(cfg));
    let page = |path: &'static str| async move {
        reqwest::get(format!("http://127.0.0.1:{port}{path}"))
            .await
            .ok()?
            .text()
            .await
            .ok()
    };
    // The screen shows the code (and reloads itself) until the till is paired.
    let mut code = None;
    for _ in 0..100 {
        if let Some(body) = page("/").await {
            if let Some(i) = body.find("id=\"pair-code\">") {
                let rest = &body[i + 15..];
                code = Some(rest[..rest.find('<').unwrap()].to_owned());
                assert!(body.contains("http-equiv=\"refresh\""), "{body}");
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let code = code.expect("the pairing screen with its code");
    let id = approve(&sso_db, &code, "Kassa 2", manager).await;
    // Paired: the till fetches the co-op's settings with its new token and serves its UI.
    let mut serving = false;
    for _ in 0..200 {
        if page("/healthz").await.as_deref() == Some("ok") {
            serving = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(serving, "the till serves its UI once paired");
    let store = Store::open(&dir.path().join("till.sqlite"), 2)
        .await
        .unwrap();
    let kept = store.setting("pairing").await.unwrap().unwrap();
    assert_eq!(kept["till_id"], serde_json::json!(id.to_string()));
    till.abort();
}
