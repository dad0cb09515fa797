//! The member feed: who may read it, order and paging, long polling, and the writers' turns
//! that keep ids from becoming visible out of order.

use std::time::{Duration, Instant};

use crate::common::*;
use coop_sso::domain::Role;
use serde_json::Value;

async fn feed(sso: &Sso, token: Option<&str>, query: &str) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(sso.url(&format!("/api/feed{query}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn events(sso: &Sso, token: &str, query: &str) -> Value {
    let r = feed(sso, Some(token), query).await;
    assert_eq!(r.status(), 200, "{query}");
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

use coop_testkit::http::feed_ids as ids;

#[tokio::test]
async fn only_a_suite_services_own_token_reads_the_feed() {
    let sso = spawn().await;
    sso.member(
        "Eva Lind",
        "eva@example.org",
        &[Role::Member, Role::Cashier],
    )
    .await;

    let r = feed(&sso, None, "").await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    for garbage in ["x", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let r = feed(&sso, Some(garbage), "").await;
        assert_eq!(r.status(), 401, "{garbage}");
        assert_eq!(
            r.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_token");
    }
    // Unauthenticated requests learn nothing about parameters either.
    assert_eq!(feed(&sso, None, "?after=x").await.status(), 401);

    // A member's token (through a relying party) is not a service's.
    let b = browser();
    let p = pkce();
    let code = query_param(&get_code(&sso, &b, "eva@example.org", &p).await, "code").unwrap();
    let t: Value = exchange(&sso, &code, &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    let r = feed(&sso, t["access_token"].as_str(), "").await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "forbidden");

    let token = pos_service_token(&sso).await;
    let body = events(&sso, &token, "").await;
    assert_eq!(ids(&body).len(), 1);

    // Revoked, and expired, tokens stop working.
    let r = reqwest::Client::new()
        .post(sso.url("/revoke"))
        .basic_auth("coop-pos", Some(sso.pos_secret()))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(feed(&sso, Some(&token), "").await.status(), 401);
    let token = pos_service_token(&sso).await;
    sso.clock.advance(chrono::Duration::minutes(11));
    assert_eq!(feed(&sso, Some(&token), "").await.status(), 401);
}

#[tokio::test]
async fn events_come_in_id_order_and_page_by_cursor() {
    let sso = spawn().await;
    let mut subs = Vec::new();
    for i in 1..=5 {
        subs.push(
            sso.member(
                &format!("Person {i}"),
                &format!("p{i}@example.org"),
                &[Role::Member],
            )
            .await,
        );
    }
    let token = pos_service_token(&sso).await;
    let all = events(&sso, &token, "").await;
    let all_ids = ids(&all);
    assert_eq!(all_ids.len(), 5);
    assert!(all_ids.windows(2).all(|w| w[0] < w[1]), "{all_ids:?}");
    let first = &all["events"][0];
    assert_eq!(first["type"], "member.created");
    assert_eq!(first["version"], 1);
    assert!(first["occurred_at"].as_str().unwrap().contains('T'));
    assert_eq!(first["payload"]["sub"], subs[0].to_string());
    assert_eq!(first["payload"]["member_number"], "00001");
    assert_eq!(first["payload"]["name"], "Person 1");
    assert_eq!(all["next_after"], all_ids[4]);

    // Pages of two, each starting after the last id seen.
    let mut cursor = 0;
    let mut seen = Vec::new();
    loop {
        let page = events(&sso, &token, &format!("?after={cursor}&limit=2")).await;
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 2);
        if page_ids.is_empty() {
            assert_eq!(page["next_after"], cursor, "an empty page keeps the cursor");
            break;
        }
        cursor = page["next_after"].as_i64().unwrap();
        seen.extend(page_ids);
    }
    assert_eq!(seen, all_ids);

    // Limits are bounded; bad parameters are refused.
    assert_eq!(ids(&events(&sso, &token, "?limit=0").await).len(), 1);
    assert_eq!(ids(&events(&sso, &token, "?limit=100000").await).len(), 5);
    for bad in ["?after=-1", "?after=x", "?limit=ten", "?wait=-3"] {
        let r = feed(&sso, Some(&token), bad).await;
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    }
}

#[tokio::test]
async fn an_empty_answer_waits_for_the_next_event() {
    let sso = spawn().await;
    sso.member("Person 1", "p1@example.org", &[Role::Member])
        .await;
    let token = pos_service_token(&sso).await;
    let last = ids(&events(&sso, &token, "").await)[0];

    // Nothing new: the answer comes after the wait, empty.
    let started = Instant::now();
    let body = events(&sso, &token, &format!("?after={last}&wait=1")).await;
    let took = started.elapsed();
    assert!(ids(&body).is_empty());
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // Something new while waiting: it comes at once, not at the end of the wait.
    let started = Instant::now();
    let waiting = {
        let url = sso.url(&format!("/api/feed?after={last}&wait=20"));
        let token = token.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let new = sso
        .member("Person 2", "p2@example.org", &[Role::Member])
        .await;
    let body = waiting.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(body["events"].as_array().unwrap().len(), 1);
    assert_eq!(body["events"][0]["payload"]["sub"], new.to_string());
}

#[tokio::test]
async fn feed_writers_take_turns_so_ids_appear_in_order() {
    let sso = spawn().await;
    let db = sso.state.db().clone();
    let mut first = db.begin().await.unwrap();
    let early: i64 = sqlx::query_scalar(
        "insert into feed_event (kind, payload) values ('member.changed', '{}') returning feed_event_id",
    )
    .fetch_one(&mut *first)
    .await
    .unwrap();
    // A second writer has to wait for the first to finish…
    let second = tokio::spawn(async move {
        sqlx::query_scalar::<_, i64>(
            "insert into feed_event (kind, payload) values ('member.changed', '{}') returning feed_event_id",
        )
        .fetch_one(&db)
        .await
        .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "the second writer must wait its turn"
    );
    let token = pos_service_token(&sso).await;
    assert!(
        ids(&events(&sso, &token, "").await).is_empty(),
        "nothing committed yet"
    );
    first.commit().await.unwrap();
    // …and so gets the later id, committed after the earlier one.
    let late = second.await.unwrap();
    assert!(late > early);
    assert_eq!(ids(&events(&sso, &token, "").await), vec![early, late]);
}

#[tokio::test]
async fn admin_changes_reach_the_feed() {
    let sso = spawn().await;
    sso.member("Kim Admin", "kim@example.org", &[Role::Member, Role::Admin])
        .await;
    let eva = sso
        .member("Eva Lind", "eva@example.org", &[Role::Member])
        .await;
    let admin = browser();
    sign_in_fully(&sso, &admin, "kim@example.org").await;
    let token = pos_service_token(&sso).await;
    let cursor = events(&sso, &token, "").await["next_after"]
        .as_i64()
        .unwrap();

    post_form(
        &sso,
        &admin,
        &format!("/admin/members/{eva}/roles"),
        &[("role", "member"), ("role", "cashier")],
    )
    .await;
    post_form(
        &sso,
        &admin,
        &format!("/admin/members/{eva}/status"),
        &[("action", "suspend")],
    )
    .await;
    post_form(
        &sso,
        &admin,
        &format!("/admin/members/{eva}/status"),
        &[("action", "reactivate")],
    )
    .await;
    let body = events(&sso, &token, &format!("?after={cursor}")).await;
    let got: Vec<(String, String, Value)> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["payload"]["status"].as_str().unwrap().to_owned(),
                e["payload"]["roles"].clone(),
            )
        })
        .collect();
    let roles = serde_json::json!(["member", "cashier"]);
    assert_eq!(
        got,
        vec![
            (
                "member.changed".to_owned(),
                "active".to_owned(),
                roles.clone()
            ),
            (
                "member.suspended".to_owned(),
                "suspended".to_owned(),
                roles.clone()
            ),
            ("member.changed".to_owned(), "active".to_owned(), roles),
        ]
    );
    for e in body["events"].as_array().unwrap() {
        assert_eq!(e["payload"]["sub"], eva.to_string());
        assert_eq!(e["payload"]["member_number"], "00002");
        assert_eq!(e["payload"]["name"], "Eva Lind");
    }
}

#[tokio::test]
async fn an_upgrade_moves_the_old_member_events_into_the_kit_feed_keeping_their_ids() {
    // A database as release 0009 left it, with member events in the old table.
    let full = &*coop_sso::MIGRATOR;
    let before = sqlx::migrate::Migrator {
        migrations: full
            .iter()
            .filter(|m| m.version <= 9)
            .cloned()
            .collect::<Vec<_>>()
            .into(),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    let (_db, pool) = coop_testkit::migrated_database(&before).await;
    let sub = uuid::Uuid::new_v4();
    for status in ["active", "suspended", "active"] {
        sqlx::query("insert into member_event (type, payload) values ('member.changed', $1)")
            .bind(serde_json::json!({ "sub": sub, "status": status }))
            .execute(&pool)
            .await
            .unwrap();
    }
    full.run(&pool).await.unwrap();
    let moved: Vec<(i64, String, Option<String>)> =
        sqlx::query_as("select feed_event_id, kind, key from feed_event order by feed_event_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let sub = sub.to_string();
    assert_eq!(
        moved,
        vec![
            (1, "member.changed".to_owned(), Some(sub.clone())),
            (2, "member.changed".to_owned(), Some(sub.clone())),
            (3, "member.changed".to_owned(), Some(sub)),
        ]
    );
    // New events continue after them, and only coop-sso's kinds are accepted.
    let next: i64 = sqlx::query_scalar(
        "insert into feed_event (kind, payload) values ('member.created', '{}') returning feed_event_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(next, 4);
    assert!(
        sqlx::query("insert into feed_event (kind, payload) values ('sale.made', '{}')")
            .execute(&pool)
            .await
            .is_err()
    );
    coop_web::db::ready(&pool, full).await.unwrap();
}
