//! The members from coop-sso's feed (numbers, names, households, standing) and the till's sales
//! charged to their wallets: a sale sold online settles its hold, one sold offline is charged as
//! it arrives (below zero if it must, and flagged), each once.

use coop_finance::members::{self, MemberFeed};
use coop_finance::postings::PosFeed;
use coop_finance::wallet;
use coop_finance::WalletPer;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::postings::{sale, setup, Kind};

fn member(sub: Uuid, number: &str, name: &str, status: &str, household: Option<Uuid>) -> Value {
    json!({ "sub": sub, "member_number": number, "name": name, "status": status,
            "member_prices": status == "active", "household": household })
}

async fn wallet_row(db: &PgPool, owner: Uuid) -> (Decimal, Decimal, bool, String) {
    let r = sqlx::query!(
        "select balance, held, overdrawn_at is not null as \"overdrawn!\", owner_name
         from wallet where owner_id = $1",
        owner
    )
    .fetch_one(db)
    .await
    .unwrap();
    (r.balance, r.held, r.overdrawn, r.owner_name)
}

async fn topped_up(db: &PgPool, owner: Uuid, amount: Decimal) -> Uuid {
    let w = wallet::wallet_of(db, owner).await.unwrap();
    wallet::credit_top_up(
        db,
        w,
        amount,
        chrono::Utc::now().date_naive(),
        &format!("t-{}", Uuid::new_v4()),
        2,
    )
    .await
    .unwrap();
    w
}

#[tokio::test]
async fn the_member_feed_names_wallets_and_finds_each_members_household() {
    let s = setup().await;
    let (alva, bo, cid, home) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    // Wallets that exist before the feed is read: the household's and Cid's under old names.
    let hw = wallet::wallet_of(&s.books, home).await.unwrap();
    wallet::set_owner_name(&s.books, hw, "Alva").await.unwrap();
    let cw = wallet::wallet_of(&s.books, cid).await.unwrap();
    wallet::set_owner_name(&s.books, cw, "Cid Old")
        .await
        .unwrap();

    s.publish(
        Kind::Member,
        member(bo, "1002", "Bo Ek", "active", Some(home)),
    )
    .await;
    s.publish(
        Kind::Member,
        member(alva, "1001", "Alva Ek", "active", Some(home)),
    )
    .await;
    s.publish(Kind::Member, member(cid, "1003", "Cid", "active", None))
        .await;
    s.publish(
        Kind::Member,
        member(cid, "1003", "Cid Nilsson", "suspended", None),
    )
    .await;
    let feed = MemberFeed {
        wallet_per: WalletPer::Household,
    };
    let round = s.consumer("coop-sso", feed).round(0).await.unwrap();
    assert_eq!(round.applied, 4);

    assert_eq!(wallet_row(&s.books, home).await.3, "Alva Ek & Bo Ek");
    assert_eq!(wallet_row(&s.books, cid).await.3, "Cid Nilsson");
    let mut conn = s.books.acquire().await.unwrap();
    let (owner, m) = members::wallet_owner(&mut conn, WalletPer::Household, alva)
        .await
        .unwrap();
    assert_eq!(owner, home);
    let m = m.unwrap();
    assert_eq!(
        (m.member_number.as_str(), m.status),
        ("1001", members::Status::Active)
    );
    // One wallet per member: Alva's own.
    let (owner, _) = members::wallet_owner(&mut conn, WalletPer::Member, alva)
        .await
        .unwrap();
    assert_eq!(owner, alva);
    // An id the feed never named is the owner itself (a household's id).
    let (owner, m) = members::wallet_owner(&mut conn, WalletPer::Household, home)
        .await
        .unwrap();
    assert_eq!((owner, m), (home, None));
    let (_, m) = members::wallet_owner(&mut conn, WalletPer::Household, cid)
        .await
        .unwrap();
    assert!(!m.unwrap().status.may_spend());

    // Bo moves out: the household's wallet is Alva's name alone; a replay changes nothing.
    s.publish(Kind::Member, member(bo, "1002", "Bo Ek", "active", None))
        .await;
    s.consumer("coop-sso", feed).round(0).await.unwrap();
    assert_eq!(wallet_row(&s.books, home).await.3, "Alva Ek");
    sqlx::query!("update feed_cursor set position = 0")
        .execute(&s.books)
        .await
        .unwrap();
    s.consumer("coop-sso", feed).round(0).await.unwrap();
    assert_eq!(
        sqlx::query_scalar!(r#"select count(*) as "n!" from member"#)
            .fetch_one(&s.books)
            .await
            .unwrap(),
        3
    );
    assert_eq!(wallet_row(&s.books, home).await.3, "Alva Ek");
}

#[tokio::test]
async fn till_sales_charge_the_wallet_once_from_a_hold_or_offline_and_flag_an_overdraft() {
    let s = setup().await;
    let alva = Uuid::new_v4();
    let w = topped_up(&s.books, alva, dec!(100)).await;

    // Sold online: the till's central side held 60 under the sale's key.
    let online = Uuid::new_v4();
    let hold = wallet::hold(
        &s.books,
        w,
        "coop-pos",
        &format!("sale:{online}"),
        dec!(60),
        2,
    )
    .await
    .unwrap();
    let paid = |id: Uuid, amount: &str| {
        let mut p = sale(id, json!([{ "kind": "wallet", "amount": amount }]), "0");
        p["member"] = json!(alva);
        p
    };
    // The sale's lines come to 150.00; the wallet pays it, the rest in cash.
    let with_cash = |id: Uuid, wallet: &str, cash: &str| {
        let mut p = sale(
            id,
            json!([{ "kind": "wallet", "amount": wallet }, { "kind": "cash", "amount": cash }]),
            "0",
        );
        p["member"] = json!(alva);
        p
    };
    s.publish(Kind::Sale, with_cash(online, "60.00", "90.00"))
        .await;
    let pos = s.consumer("coop-pos", PosFeed::default());
    pos.round(0).await.unwrap();
    assert_eq!(
        wallet_row(&s.books, alva).await,
        (dec!(40.00), dec!(0.00), false, String::new())
    );
    let settled = sqlx::query!(
        "select status, captured from wallet_hold where wallet_hold_id = $1",
        hold.wallet_hold_id
    )
    .fetch_one(&s.books)
    .await
    .unwrap();
    assert_eq!(
        (settled.status.as_str(), settled.captured),
        ("captured", Some(dec!(60.00)))
    );

    // Sold offline, no hold: 150.00 from a wallet with 40.00 in it. The goods are gone, so the
    // charge stands; the wallet is below zero and flagged, and nothing more can be held on it.
    let offline = Uuid::new_v4();
    s.publish(Kind::Sale, paid(offline, "150.00")).await;
    // Sent again by a retrying central: charged once.
    s.publish(Kind::Sale, paid(offline, "150.00")).await;
    pos.round(0).await.unwrap();
    assert_eq!(
        wallet_row(&s.books, alva).await,
        (dec!(-110.00), dec!(0.00), true, String::new())
    );
    assert!(matches!(
        wallet::hold(&s.books, w, "coop-pos", "next", dec!(1), 2).await,
        Err(wallet::WalletError::Insufficient)
    ));
    // The ledger and the wallet agree: the wallets' account moved by what the wallet paid.
    let moved: Decimal = sqlx::query_scalar!(
        r#"select coalesce(sum(amount), 0) as "s!" from wallet_movement where wallet_id = $1"#,
        w
    )
    .fetch_one(&s.books)
    .await
    .unwrap();
    assert_eq!(moved, dec!(-110.00));

    // A replay of the whole feed (a restored backup) charges nothing again.
    sqlx::query!("update feed_cursor set position = 0")
        .execute(&s.books)
        .await
        .unwrap();
    pos.round(0).await.unwrap();
    assert_eq!(wallet_row(&s.books, alva).await.0, dec!(-110.00));

    // A return to the wallet gives money back; a top-up that brings it to zero or above
    // clears the flag.
    let mut back = sale(
        Uuid::new_v4(),
        json!([{ "kind": "wallet", "amount": "-150.00" }]),
        "0",
    );
    back["member"] = json!(alva);
    for l in back["lines_by_rate"].as_array_mut().unwrap() {
        for f in ["net", "vat"] {
            let v: Decimal = l[f].as_str().unwrap().parse().unwrap();
            l[f] = json!((-v).to_string());
        }
    }
    s.publish(Kind::Sale, back).await;
    pos.round(0).await.unwrap();
    assert_eq!(
        wallet_row(&s.books, alva).await,
        (dec!(40.00), dec!(0.00), false, String::new())
    );
    topped_up(&s.books, alva, dec!(10)).await;
    let kinds: Vec<(String, Decimal)> = sqlx::query!(
        "select kind, amount from wallet_movement where wallet_id = $1 order by wallet_movement_id",
        w
    )
    .fetch_all(&s.books)
    .await
    .unwrap()
    .into_iter()
    .map(|r| (r.kind, r.amount))
    .collect();
    assert_eq!(
        kinds,
        vec![
            ("top_up".into(), dec!(100.00)),
            ("capture".into(), dec!(-60.00)),
            ("sale".into(), dec!(-150.00)),
            ("sale".into(), dec!(150.00)),
            ("top_up".into(), dec!(10.00)),
        ]
    );
}

#[tokio::test]
async fn an_overdrawn_wallet_is_cleared_by_the_top_up_that_brings_it_back() {
    let s = setup().await;
    let bo = Uuid::new_v4();
    let mut p = sale(
        Uuid::new_v4(),
        json!([{ "kind": "wallet", "amount": "150.00" }]),
        "0",
    );
    p["member"] = json!(bo);
    s.publish(Kind::Sale, p).await;
    // Bo never opened coop-finance: his wallet is made by the sale, and overdrawn by it.
    s.consumer("coop-pos", PosFeed::default())
        .round(0)
        .await
        .unwrap();
    assert_eq!(
        wallet_row(&s.books, bo).await,
        (dec!(-150.00), dec!(0.00), true, String::new())
    );
    topped_up(&s.books, bo, dec!(100)).await;
    assert!(
        wallet_row(&s.books, bo).await.2,
        "still below zero: still flagged"
    );
    topped_up(&s.books, bo, dec!(50)).await;
    assert_eq!(
        wallet_row(&s.books, bo).await,
        (dec!(0.00), dec!(0.00), false, String::new())
    );
}

#[tokio::test]
async fn a_household_pays_from_one_wallet_whichever_member_shops() {
    let s = setup().await;
    let (alva, bo, home) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    topped_up(&s.books, home, dec!(200)).await;
    for (sub, n, name) in [(alva, "1001", "Alva"), (bo, "1002", "Bo")] {
        s.publish(Kind::Member, member(sub, n, name, "active", Some(home)))
            .await;
    }
    let per = WalletPer::Household;
    s.consumer("coop-sso", MemberFeed { wallet_per: per })
        .round(0)
        .await
        .unwrap();
    let mut p = sale(
        Uuid::new_v4(),
        json!([{ "kind": "wallet", "amount": "150.00" }]),
        "0",
    );
    p["member"] = json!(bo);
    s.publish(Kind::Sale, p).await;
    s.consumer("coop-pos", PosFeed { wallet_per: per })
        .round(0)
        .await
        .unwrap();
    assert_eq!(
        wallet_row(&s.books, home).await,
        (dec!(50.00), dec!(0.00), false, "Alva & Bo".into())
    );
    let own: i64 = sqlx::query_scalar!(
        r#"select count(*) as "n!" from wallet where owner_id = any($1)"#,
        &[alva, bo][..]
    )
    .fetch_one(&s.books)
    .await
    .unwrap();
    assert_eq!(own, 0, "no wallet of their own was made");
}
