//! The spec's validation rules, each a refusal that names its reason and changes nothing:
//! only the manager changes the order's products, closes, re-opens, asks for changes and
//! completes; only the manager edits purchases of a closed order; a member edits only their own
//! purchases, only while the order is open and before its end; a purchase names a product the
//! order offers; quantities are not negative; an order completes only when every change is
//! answered and its total exceeds its threshold. Any member keeps suppliers and products.

use chrono::Duration;
use coop_buyers_club::store::{self, Actor, ProductDraft, Refused, SupplierDraft};
use rust_decimal_macros::dec;
use uuid::Uuid;

use super::common::{club, now, vat_classes, vat_percent};

/// `r` is refused as `expected` says, and the data did not change.
macro_rules! refused {
    ($c:expr, $r:expr, $pat:pat) => {{
        let before = $c.snapshot().await;
        let r = $r;
        assert!(matches!(r, Err($pat)), "{:?}", r);
        assert_eq!($c.snapshot().await, before, "a refusal changed something");
    }};
}

#[tokio::test]
async fn only_the_manager_runs_the_order() {
    let c = club().await;
    let (alice, bo) = (c.member(dec!(1000)).await, c.member(dec!(1000)).await);
    let (supplier, [oats, honey, soap]) = c.supplier(alice).await;
    let order = c.order(alice, supplier, &[oats, honey]).await;
    c.buy(bo, order, oats, dec!(6), dec!(0)).await.unwrap();

    refused!(
        c,
        store::add_products(&c.db, bo, order, &[soap]).await,
        Refused::NotManager
    );
    // Not even the manager buys for another member while the order is open: Bo's wallet is
    // Bo's.
    refused!(
        c,
        store::set_purchase(
            &c.db,
            &c.wallet,
            Actor::Manager(alice),
            order,
            bo,
            honey,
            dec!(1),
            dec!(0),
            now(),
            2
        )
        .await,
        Refused::NotManager
    );
    refused!(
        c,
        store::remove_product(&c.db, &c.wallet, bo, order, oats, 2).await,
        Refused::NotManager
    );
    refused!(
        c,
        store::close(&c.db, bo, order, now(), 2).await,
        Refused::NotManager
    );
    refused!(
        c,
        store::hand_over(&c.db, bo, order, bo).await,
        Refused::NotManager
    );
    // Bo may not change Alice's purchase, nor buy for her.
    refused!(
        c,
        store::set_purchase(
            &c.db,
            &c.wallet,
            Actor::Member(bo),
            order,
            alice,
            oats,
            dec!(1),
            dec!(0),
            now(),
            2
        )
        .await,
        Refused::NotManager
    );
    store::close(&c.db, alice, order, now(), 2).await.unwrap();
    refused!(
        c,
        store::reopen(&c.db, bo, order, now() + Duration::days(1), now()).await,
        Refused::NotManager
    );
    refused!(
        c,
        store::request_change(&c.db, bo, order, oats, bo, dec!(5), "short", now()).await,
        Refused::NotManager
    );
    refused!(
        c,
        store::complete(
            &c.db,
            &c.wallet,
            bo,
            order,
            now(),
            now().date_naive(),
            2,
            &vat_percent
        )
        .await,
        Refused::NotManager
    );
    // Only the manager edits purchases of a closed order; Bo cannot edit his own now.
    refused!(
        c,
        c.buy(bo, order, oats, dec!(5), dec!(0)).await,
        Refused::WrongState("closed")
    );
    store::set_purchase(
        &c.db,
        &c.wallet,
        Actor::Manager(alice),
        order,
        bo,
        oats,
        dec!(5),
        dec!(0),
        now(),
        2,
    )
    .await
    .unwrap();
    // ... only down: not up, not a tolerance Bo never gave, not a purchase Bo never made.
    refused!(
        c,
        store::set_purchase(
            &c.db,
            &c.wallet,
            Actor::Manager(alice),
            order,
            bo,
            oats,
            dec!(6),
            dec!(0),
            now(),
            2
        )
        .await,
        Refused::Invalid(_)
    );
    refused!(
        c,
        store::set_purchase(
            &c.db,
            &c.wallet,
            Actor::Manager(alice),
            order,
            bo,
            oats,
            dec!(5),
            dec!(1),
            now(),
            2
        )
        .await,
        Refused::Invalid(_)
    );
    refused!(
        c,
        store::set_purchase(
            &c.db,
            &c.wallet,
            Actor::Manager(alice),
            order,
            bo,
            honey,
            dec!(1),
            dec!(0),
            now(),
            2
        )
        .await,
        Refused::Invalid(_)
    );
    // Nobody approves a change of their own purchase: the manager cannot ask one of herself.
    refused!(
        c,
        store::request_change(&c.db, alice, order, oats, alice, dec!(0), "mine", now()).await,
        Refused::Invalid(_)
    );
    // A change request is answered only by its member: Alice cannot approve Bo's.
    let change = store::request_change(&c.db, alice, order, oats, bo, dec!(5), "short", now())
        .await
        .unwrap();
    refused!(
        c,
        store::answer_change(&c.db, &c.wallet, alice, change, true, "", now(), 2).await,
        Refused::NotFound
    );

    // The manager's role handed over: the new manager runs it, the old one no longer.
    store::hand_over(&c.db, alice, order, bo).await.unwrap();
    refused!(
        c,
        store::withdraw_change(&c.db, alice, change, now()).await,
        Refused::NotManager
    );
    store::withdraw_change(&c.db, bo, change, now())
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_purchases_are_refused_with_a_reason() {
    let c = club().await;
    let (alice, bo) = (c.member(dec!(1000)).await, c.member(dec!(1000)).await);
    let (supplier, [oats, honey, soap]) = c.supplier(alice).await;
    let order = c.order(alice, supplier, &[oats, honey]).await;

    // A product the order does not offer, or of another supplier.
    refused!(
        c,
        c.buy(bo, order, soap, dec!(1), dec!(0)).await,
        Refused::NotInOrder
    );
    refused!(
        c,
        c.buy(bo, order, Uuid::new_v4(), dec!(1), dec!(0)).await,
        Refused::NotInOrder
    );
    // Negative or too precise quantities.
    refused!(
        c,
        c.buy(bo, order, oats, dec!(-1), dec!(0)).await,
        Refused::Invalid(_)
    );
    refused!(
        c,
        c.buy(bo, order, oats, dec!(1), dec!(-2)).await,
        Refused::Invalid(_)
    );
    refused!(
        c,
        c.buy(bo, order, oats, dec!(0.0001), dec!(0)).await,
        Refused::Invalid(_)
    );
    // An order that does not exist.
    refused!(
        c,
        c.buy(bo, Uuid::new_v4(), oats, dec!(1), dec!(0)).await,
        Refused::NotFound
    );
    // After the end date, even before the order is closed by the clock.
    let late = now() + Duration::days(8);
    refused!(
        c,
        store::set_purchase(
            &c.db,
            &c.wallet,
            Actor::Member(bo),
            order,
            bo,
            oats,
            dec!(1),
            dec!(0),
            late,
            2
        )
        .await,
        Refused::PastEnd(_)
    );
    // An order offers only its own supplier's products.
    let (other, [foreign, _, _]) = c.supplier(alice).await;
    let _ = other;
    refused!(
        c,
        store::add_products(&c.db, alice, order, &[foreign]).await,
        Refused::Invalid(_)
    );
    refused!(
        c,
        store::create_order(
            &c.db,
            alice,
            &store::NewOrder {
                supplier,
                title: "x",
                ends_at: now() + Duration::days(1),
                threshold: None,
                products: &[foreign]
            },
            now()
        )
        .await,
        Refused::Invalid(_)
    );
    // An end date in the past, an empty title.
    refused!(
        c,
        store::create_order(
            &c.db,
            alice,
            &store::NewOrder {
                supplier,
                title: "x",
                ends_at: now() - Duration::hours(1),
                threshold: None,
                products: &[oats]
            },
            now()
        )
        .await,
        Refused::Invalid(_)
    );
    refused!(
        c,
        store::create_order(
            &c.db,
            alice,
            &store::NewOrder {
                supplier,
                title: "  ",
                ends_at: now() + Duration::days(1),
                threshold: None,
                products: &[oats]
            },
            now()
        )
        .await,
        Refused::Invalid(_)
    );
}

#[tokio::test]
async fn completion_waits_for_answers_and_the_threshold() {
    let c = club().await;
    let (alice, bo) = (c.member(dec!(1000)).await, c.member(dec!(1000)).await);
    let (supplier, [oats, honey, _]) = c.supplier(alice).await;
    let order = c.order(alice, supplier, &[oats, honey]).await;
    // 89 of honey is below the supplier's threshold of 100.
    c.buy(bo, order, honey, dec!(1), dec!(0)).await.unwrap();
    refused!(
        c,
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
        Refused::WrongState("open")
    );
    // The manager may not close it below its threshold (it would not be sent) ...
    refused!(
        c,
        store::close(&c.db, alice, order, now(), 2).await,
        Refused::BelowThreshold { .. }
    );
    // ... but its end date closes it all the same, and completing it is refused.
    store::close_ended(&c.db, now() + Duration::days(8))
        .await
        .unwrap();
    refused!(
        c,
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
        Refused::BelowThreshold { .. }
    );
    // Re-opened, Bo adds a case of oats; above the threshold now.
    store::reopen(&c.db, alice, order, now() + Duration::days(1), now())
        .await
        .unwrap();
    c.buy(bo, order, oats, dec!(6), dec!(0)).await.unwrap();
    store::close(&c.db, alice, order, now(), 2).await.unwrap();
    let change = store::request_change(&c.db, alice, order, honey, bo, dec!(0), "none came", now())
        .await
        .unwrap();
    // While a change waits, the order cannot be completed, nor opened again.
    refused!(
        c,
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
        Refused::ChangesWaiting(1)
    );
    refused!(
        c,
        store::reopen(&c.db, alice, order, now() + Duration::days(1), now()).await,
        Refused::ChangesWaiting(1)
    );
    store::answer_change(&c.db, &c.wallet, bo, change, true, "", now(), 2)
        .await
        .unwrap();
    // Answered once: a second answer is refused.
    refused!(
        c,
        store::answer_change(&c.db, &c.wallet, bo, change, false, "", now(), 2).await,
        Refused::Invalid(_)
    );
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
    assert_eq!(
        parts[0].total,
        dec!(149.40),
        "the honey that never came is not charged"
    );
    refused!(
        c,
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
        Refused::WrongState("completed")
    );
}

#[tokio::test]
async fn orders_close_by_themselves_at_their_end_date() {
    let c = club().await;
    let alice = c.member(dec!(1000)).await;
    let (supplier, [oats, _, _]) = c.supplier(alice).await;
    let week = c.order(alice, supplier, &[oats]).await;
    let day = store::create_order(
        &c.db,
        alice,
        &store::NewOrder {
            supplier,
            title: "Snabb",
            ends_at: now() + Duration::days(1),
            threshold: None,
            products: &[oats],
        },
        now(),
    )
    .await
    .unwrap();
    // Just before the end: nothing closes.
    assert!(
        store::close_ended(&c.db, now() + Duration::days(1) - Duration::seconds(1))
            .await
            .unwrap()
            .is_empty()
    );
    // At it: the one-day order closes (at its end date), the week's stays open.
    let closed = store::close_ended(&c.db, now() + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(closed, vec![day]);
    let o = store::order(&c.db, day).await.unwrap().unwrap();
    assert_eq!((o.state.as_str(), o.closed_at), ("closed", Some(o.ends_at)));
    assert_eq!(
        store::order(&c.db, week).await.unwrap().unwrap().state,
        "open"
    );
}

#[tokio::test]
async fn any_member_keeps_suppliers_and_products() {
    let c = club().await;
    let (alice, bo) = (Uuid::new_v4(), Uuid::new_v4());
    let (supplier, [oats, _, _]) = c.supplier(alice).await;
    // Bo edits Alice's supplier and product; deletes a product.
    let draft = SupplierDraft {
        name: "Gården AB".into(),
        contact: String::new(),
        address: String::new(),
        location: None,
        order_threshold: dec!(0),
        lead_time_days: 0,
    };
    store::edit_supplier(&c.db, supplier, &draft).await.unwrap();
    let p = ProductDraft {
        name: "Havregryn 1,5 kg".into(),
        article_id: "A-0".into(),
        unit: "st".into(),
        case_size: dec!(4),
        unit_price: dec!(32.50),
        vat_class: "food".into(),
    };
    store::edit_product(&c.db, oats, &p, &vat_classes(), 2)
        .await
        .unwrap();
    let second = store::add_product(
        &c.db,
        bo,
        supplier,
        &ProductDraft {
            article_id: "B-1".into(),
            ..p.clone()
        },
        &vat_classes(),
        2,
    )
    .await
    .unwrap();
    store::delete_product(&c.db, second).await.unwrap();
    // Bad drafts: a name taken, an article number taken, an unknown VAT class, a bad price,
    // a location off the globe.
    refused!(
        c,
        store::add_supplier(&c.db, bo, &draft).await,
        Refused::Invalid(_)
    );
    refused!(
        c,
        store::add_product(&c.db, bo, supplier, &p, &vat_classes(), 2).await,
        Refused::Invalid(_)
    );
    refused!(
        c,
        store::add_product(
            &c.db,
            bo,
            supplier,
            &ProductDraft {
                article_id: "C".into(),
                vat_class: "books".into(),
                ..p.clone()
            },
            &vat_classes(),
            2
        )
        .await,
        Refused::Invalid(_)
    );
    refused!(
        c,
        store::add_product(
            &c.db,
            bo,
            supplier,
            &ProductDraft {
                article_id: "C".into(),
                unit_price: dec!(1.005),
                ..p.clone()
            },
            &vat_classes(),
            2
        )
        .await,
        Refused::Invalid(_)
    );
    refused!(
        c,
        store::add_supplier(
            &c.db,
            bo,
            &SupplierDraft {
                name: "Nord".into(),
                location: Some((dec!(91), dec!(0))),
                ..draft.clone()
            }
        )
        .await,
        Refused::Invalid(_)
    );
    // A supplier with an order not yet completed is kept.
    c.order(alice, supplier, &[oats]).await;
    refused!(
        c,
        store::delete_supplier(&c.db, supplier).await,
        Refused::Invalid(_)
    );
}
