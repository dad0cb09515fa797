//! A broken till's unsent sales, taken off its SD card (`coop-pos till export-unsent`, the real
//! binary, on a store the till left open mid-write) and imported at central: each sale arrives
//! once however often it is imported, a changed record is refused and the chain holds, and the
//! card is never written to.

use std::process::Command;

use chrono::{DateTime, Utc};
use coop_pos::ingest::{self, Pending};
use coop_pos::recovery;
use coop_pos_till::clock::{Event, Kind};
use coop_pos_till::store::Store;
use serde_json::json;
use uuid::Uuid;

use crate::ingest::{count, database, sale};

fn export(state: &std::path::Path, till: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coop-pos"));
    cmd.args(["till", "export-unsent", "--store"]).arg(state);
    if let Some(t) = till {
        cmd.args(["--till", t]);
    }
    cmd.env_remove("COOPERAGE_TILL_CONFIG")
        .output()
        .expect("running coop-pos")
}

/// A till's store as a till leaves it: paired as `till`, five sales of which central has the
/// first two, a clocking not uploaded. The pool stays open (what was written may be in the WAL).
async fn broken_till(state: &std::path::Path, till: &str, db: &sqlx::PgPool) -> Store {
    let store = Store::open(&state.join("till.sqlite"), 2).await.unwrap();
    store
        .set_setting(
            "pairing",
            &json!({ "till_id": till, "access_token": "secret-access", "refresh_token": "secret-refresh" }),
        )
        .await
        .unwrap();
    for n in 1..=5 {
        store.append(sale(till, 0, n), None, None).await.unwrap();
    }
    let first_two = store.pending(2).await.unwrap();
    let out = ingest::ingest(db, till, &first_two, Pending::default(), "SEK", None, None)
        .await
        .unwrap();
    assert_eq!(out.accepted, 2);
    store.mark_uploaded(2).await.unwrap();
    let at: DateTime<Utc> = DateTime::from_timestamp(1_796_000_100, 0).unwrap();
    store
        .add_clock(&Event {
            event_id: Uuid::new_v4(),
            sub: Uuid::new_v4().to_string(),
            kind: Kind::In,
            at,
        })
        .await
        .unwrap();
    store
}

fn files(state: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(state)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_broken_tills_unsent_sales_reach_central_once() {
    let db = database().await;
    let dir = tempfile::tempdir().unwrap();
    let till = "4d3f7f0e-0000-4000-8000-00000000a001";
    let _open = broken_till(dir.path(), till, &db).await;
    let before = files(dir.path());

    let out = export(dir.path(), None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains("secret-"),
        "the export carries no token of the till"
    );
    let unsent = recovery::parse(&text).unwrap();
    assert_eq!(unsent.till_id, till);
    assert_eq!(
        unsent.sales.iter().map(|s| s.seq).collect::<Vec<_>>(),
        [3, 4, 5]
    );
    assert_eq!(unsent.clockings.len(), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("3 unsent sales and 1 clockings"));
    assert_eq!(files(dir.path()), before, "the card is not written to");

    // A record changed after the till sealed it is refused; those before it are taken.
    let mut tampered: serde_json::Value = serde_json::from_str(&text).unwrap();
    tampered["sales"][1]["total"] = json!("1.00");
    let tampered = recovery::parse(&tampered.to_string()).unwrap();
    let done = recovery::import(&db, &tampered, "SEK", None, None)
        .await
        .unwrap();
    assert_eq!((done.accepted, done.duplicates), (1, 0));
    let refused = done.refused.expect("the changed record is refused");
    assert_eq!(refused.seq, 4);
    assert_eq!(
        count(
            &db,
            &format!("select count(*) from sale where till_id = '{till}'")
        )
        .await,
        3
    );

    // The genuine export: the rest is taken, each sale once, and published.
    let done = recovery::import(&db, &unsent, "SEK", None, None)
        .await
        .unwrap();
    assert_eq!((done.accepted, done.duplicates, done.clockings), (2, 1, 1));
    assert!(done.refused.is_none());
    let sales = format!("select count(*) from sale where till_id = '{till}'");
    assert_eq!(count(&db, &sales).await, 5);
    let published = "select count(*) from feed_event where kind = 'sale.completed'";
    assert_eq!(count(&db, published).await, 5);

    // Again (a second import, or the old till coming back online): nothing changes.
    let done = recovery::import(&db, &unsent, "SEK", None, None)
        .await
        .unwrap();
    assert_eq!((done.accepted, done.duplicates, done.clockings), (0, 3, 1));
    assert_eq!(count(&db, &sales).await, 5);
    assert_eq!(count(&db, published).await, 5);
    assert_eq!(
        count(
            &db,
            &format!("select count(*) from clock_event where till_id = '{till}'")
        )
        .await,
        1
    );
    let (last, pending): (i64, i32) =
        sqlx::query_as("select last_seq, pending from till where till_id = $1")
            .bind(till)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!((last, pending), (5, 0));
}

#[tokio::test]
async fn the_export_refuses_what_it_cannot_vouch_for() {
    let db = database().await;
    let dir = tempfile::tempdir().unwrap();
    let till = "4d3f7f0e-0000-4000-8000-00000000a002";
    let store = broken_till(dir.path(), till, &db).await;

    // Another till's id than the store's pairing.
    let out = export(dir.path(), Some("someone-else"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("belongs to the till paired as"));
    // The till.sqlite file itself names the store as well as its folder.
    let out = export(&dir.path().join("till.sqlite"), Some(till));
    assert!(out.status.success());

    // A store without a pairing (a till run from a token file) needs --till.
    store.set_setting("pairing", &json!(null)).await.unwrap();
    let out = export(dir.path(), None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("give the till's id with --till"));
    let out = export(dir.path(), Some(till));
    assert!(out.status.success());

    // Not a store at all.
    let empty = tempfile::tempdir().unwrap();
    let out = export(empty.path(), None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a till's store"));

    // A till central has never heard of: refused, nothing stored.
    let mut v: serde_json::Value =
        serde_json::from_slice(&export(dir.path(), Some(till)).stdout).unwrap();
    v["till_id"] = json!("a-till-nobody-knows");
    for s in v["sales"].as_array_mut().unwrap() {
        s["till"] = json!("a-till-nobody-knows");
    }
    let e = recovery::import(
        &db,
        &recovery::parse(&v.to_string()).unwrap(),
        "SEK",
        None,
        None,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("has never heard from till"), "{e}");
    assert_eq!(
        count(
            &db,
            "select count(*) from sale where till_id = 'a-till-nobody-knows'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &db,
            "select count(*) from till where till_id = 'a-till-nobody-knows'"
        )
        .await,
        0
    );

    // Central reads only its own format, naming a till, within bounds.
    assert!(recovery::parse("{}").is_err());
    let mut v: serde_json::Value =
        serde_json::from_slice(&export(dir.path(), Some(till)).stdout).unwrap();
    v["format"] = json!("cooperage-till-unsent/9");
    let e = recovery::parse(&v.to_string()).unwrap_err().to_string();
    assert!(e.contains("this coop-pos reads"), "{e}");
    v["format"] = json!(recovery_format());
    v["till_id"] = json!(" ");
    assert!(recovery::parse(&v.to_string()).is_err());
    v["till_id"] = json!(till);
    v["clockings"][0]["sub"] = json!("");
    let e = recovery::parse(&v.to_string()).unwrap_err().to_string();
    assert!(e.contains("names no worker"), "{e}");
}

fn recovery_format() -> &'static str {
    coop_pos_till::recovery::FORMAT
}
