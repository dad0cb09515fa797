//! The spec's flowchart as one script: open, purchases by several members, close, re-open,
//! close, changes after delivery (one disputed, then settled), complete; each member's hold at
//! coop-finance follows their purchases, and the completed order is on the feed with each
//! member's lines and VAT.

use chrono::Duration;
use coop_buyers_club::store::{self, Actor, Refused};
use rust_decimal_macros::dec;

use super::common::{club, now, vat_percent};

#[tokio::test]
async fn an_order_from_open_to_completed() {
    let c = club().await;
    let (alice, bo, cecilia) = (
        c.member(dec!(1000)).await,
        c.member(dec!(500)).await,
        c.member(dec!(300)).await,
    );
    let (supplier, [oats, honey, soap]) = c.supplier(alice).await;
    // Alice starts the order and is its manager; she offers oats and honey.
    let order = c.order(alice, supplier, &[oats, honey]).await;
    let o = store::order(&c.db, order).await.unwrap().unwrap();
    assert_eq!((o.state.as_str(), o.manager_id), ("open", alice));
    assert_eq!(o.threshold, dec!(100), "the supplier's default threshold");
    // ... and soap too, while it is open.
    store::add_products(&c.db, alice, order, &[soap])
        .await
        .unwrap();

    // Purchases: oats six to a case, tolerances fill the second case.
    c.buy(alice, order, oats, dec!(4), dec!(2)).await.unwrap();
    c.buy(bo, order, oats, dec!(3), dec!(3)).await.unwrap();
    c.buy(bo, order, honey, dec!(2), dec!(0)).await.unwrap();
    c.buy(cecilia, order, soap, dec!(2), dec!(0)).await.unwrap();
    // Each hold is the most the member could pay: quantity and tolerance at the order's price.
    assert_eq!(c.wallet_of(alice).await.0, dec!(149.40)); // 6 × 24.90
    assert_eq!(c.wallet_of(bo).await.0, dec!(327.40)); // 6 × 24.90 + 2 × 89
    assert_eq!(c.wallet_of(cecilia).await.0, dec!(70.00));
    // Bo changes his mind about the honey: one jar.
    c.buy(bo, order, honey, dec!(1), dec!(0)).await.unwrap();
    assert_eq!(c.wallet_of(bo).await.0, dec!(238.40));

    // Alice closes it; the members can no longer change their purchases.
    store::close(&c.db, alice, order, now(), 2).await.unwrap();
    assert!(matches!(
        c.buy(bo, order, honey, dec!(3), dec!(0)).await,
        Err(Refused::WrongState("closed"))
    ));
    // The supplier has no soap: Alice opens the order again and takes it out, then closes.
    store::reopen(&c.db, alice, order, now() + Duration::days(2), now())
        .await
        .unwrap();
    let told = store::remove_product(&c.db, &c.wallet, alice, order, soap, 2)
        .await
        .unwrap();
    assert_eq!(
        told,
        vec![cecilia],
        "the members whose purchases went are told"
    );
    assert_eq!(
        c.wallet_of(cecilia).await.0,
        dec!(0),
        "Cecilia's hold went with it"
    );
    c.buy(cecilia, order, honey, dec!(1), dec!(0))
        .await
        .unwrap();
    assert_eq!(
        c.wallet_of(cecilia).await.0,
        dec!(89.00),
        "held again, under a new key"
    );
    store::close(&c.db, alice, order, now(), 2).await.unwrap();

    // The sorting view: two cases of oats, each member's share.
    let lines = store::sorting(&c.db, order).await.unwrap();
    let oat_line = lines.iter().find(|l| l.product_id == oats).unwrap();
    assert_eq!((oat_line.cases, oat_line.units), (dec!(2), dec!(12)));
    let shares: Vec<_> = oat_line.members.iter().map(|m| (m.0, m.3)).collect();
    assert_eq!(shares, vec![(alice, dec!(6)), (bo, dec!(6))]);

    // Delivery: one packet of oats short for Bo, and Cecilia's jar broke.
    let short = store::request_change(
        &c.db,
        alice,
        order,
        oats,
        bo,
        dec!(5),
        "one packet short",
        now(),
    )
    .await
    .unwrap();
    let broke = store::request_change(
        &c.db,
        alice,
        order,
        honey,
        cecilia,
        dec!(0),
        "the jar broke",
        now(),
    )
    .await
    .unwrap();
    // Completing now is refused: two changes wait.
    assert!(matches!(
        store::complete(
            &c.db,
            &c.wallet,
            alice,
            order,
            now(),
            now().date_naive(),
            2,
            &vat_percent
        )
        .await,
        Err(Refused::ChangesWaiting(2))
    ));
    store::answer_change(&c.db, &c.wallet, bo, short, true, "", now(), 2)
        .await
        .unwrap();
    store::answer_change(
        &c.db,
        &c.wallet,
        cecilia,
        broke,
        false,
        "it was whole when I left",
        now(),
        2,
    )
    .await
    .unwrap();
    assert!(matches!(
        store::complete(
            &c.db,
            &c.wallet,
            alice,
            order,
            now(),
            now().date_naive(),
            2,
            &vat_percent
        )
        .await,
        Err(Refused::ChangesWaiting(1))
    ));
    // They talk; Alice withdraws it: Cecilia pays for her jar.
    store::withdraw_change(&c.db, alice, broke, now())
        .await
        .unwrap();

    store::complete(
        &c.db,
        &c.wallet,
        alice,
        order,
        now(),
        now().date_naive(),
        2,
        &vat_percent,
    )
    .await
    .unwrap();
    let parts = store::parts(&c.db, order, 2, &vat_percent).await.unwrap();
    let o = store::order(&c.db, order).await.unwrap().unwrap();
    assert_eq!(o.state, "completed");
    let part = |m| parts.iter().find(|p| p.member == m).unwrap();
    assert_eq!(part(alice).total, dec!(149.40));
    assert_eq!(part(bo).total, dec!(213.50)); // 5 × 24.90 + 89
    assert_eq!(part(cecilia).total, dec!(89.00));
    assert_eq!(part(bo).vat, vec![("food".to_owned(), dec!(12.08))]);

    // Each member's part was captured from their hold: the wallets are charged, nothing held.
    assert_eq!(c.wallet_of(alice).await, (dec!(0), dec!(850.60)));
    assert_eq!(c.wallet_of(bo).await, (dec!(0), dec!(286.50)));
    assert_eq!(c.wallet_of(cecilia).await, (dec!(0), dec!(211.00)));

    // The feed event, as coop-finance's contract (`order.completed` v1) reads it: per member,
    // what they paid per VAT rate.
    let events = coop_web::feed::events_after(&c.db, 0, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!((event.kind.as_str(), event.version), ("order.completed", 1));
    let purchases = event.payload["purchases"].as_array().unwrap();
    assert_eq!(purchases.len(), 3);
    let bos = purchases
        .iter()
        .find(|p| p["owner"] == serde_json::json!(bo))
        .unwrap();
    assert_eq!(
        bos["lines_by_rate"],
        serde_json::json!([{ "vat_percent": "6", "net": "201.42", "vat": "12.08" }])
    );
    // coop-finance books it: the members' wallets to sales and output VAT, once.
    for _ in 0..2 {
        let mut tx = c.books.begin().await.unwrap();
        coop_web::feed::consumer::Apply::apply(
            &coop_finance::postings::BuyersClubFeed,
            &mut tx,
            event,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let booked: Vec<(i32, rust_decimal::Decimal)> = sqlx::query_as(
        "select l.account_number, l.amount from journal_line l
         join journal_entry e using (journal_entry_id) where e.source_key = $1 order by l.line_no",
    )
    .bind(format!("coop-buyers-club:order:{order}"))
    .fetch_all(&c.books)
    .await
    .unwrap();
    let sum: rust_decimal::Decimal = booked.iter().map(|b| b.1).sum();
    assert_eq!(sum, dec!(0), "a balanced entry: {booked:?}");
    let wallets: rust_decimal::Decimal = booked.iter().filter(|b| b.0 == 2420).map(|b| b.1).sum();
    assert_eq!(
        wallets,
        dec!(451.90),
        "the wallets paid the order's total: {booked:?}"
    );
    // A completed order takes nothing more.
    assert!(matches!(
        store::set_purchase(
            &c.db,
            &c.wallet,
            Actor::Manager(alice),
            order,
            bo,
            oats,
            dec!(1),
            dec!(0),
            now(),
            2
        )
        .await,
        Err(Refused::WrongState("completed"))
    ));
}
