//! The wallet holds: a purchase beyond the member's available credit is refused and changes
//! nothing; twenty purchases racing for the last of a wallet never overdraw it, and the hold is
//! exactly what the purchases that went through can cost.

use coop_buyers_club::store::{self, ProductDraft, Refused};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::common::{club, vat_classes};

#[tokio::test]
async fn a_purchase_the_wallet_cannot_cover_is_refused() {
    let c = club().await;
    let alice = c.member(dec!(1000)).await;
    let bo = c.member(dec!(100)).await;
    let (supplier, [oats, honey, _]) = c.supplier(alice).await;
    let order = c.order(alice, supplier, &[oats, honey]).await;
    c.buy(bo, order, honey, dec!(1), dec!(0)).await.unwrap();
    let before = c.snapshot().await;
    // Two jars is 178: Bo has 100, 89 of it held.
    match c.buy(bo, order, honey, dec!(2), dec!(0)).await {
        Err(Refused::Insufficient { available }) => assert_eq!(available, Some(dec!(11))),
        other => panic!("{other:?}"),
    }
    // A tolerance counts too: it could be charged.
    assert!(matches!(
        c.buy(bo, order, oats, dec!(0.5), dec!(1)).await,
        Err(Refused::Insufficient { .. })
    ));
    assert_eq!(c.snapshot().await, before);
    assert_eq!(c.wallet_of(bo).await, (dec!(89), dec!(100)));
    // A member with no money at all.
    let cecilia = c.member(dec!(0)).await;
    assert!(matches!(
        c.buy(cecilia, order, honey, dec!(1), dec!(0)).await,
        Err(Refused::Insufficient { .. })
    ));
}

#[tokio::test]
async fn twenty_purchases_racing_for_the_last_credit_never_overdraw() {
    let c = club().await;
    let alice = c.member(dec!(0)).await;
    // 250 in the wallet; twenty products at 35 each: seven fit.
    let bo = c.member(dec!(250)).await;
    let (supplier, _) = c.supplier(alice).await;
    let mut products = Vec::new();
    for i in 0..20 {
        products.push(
            store::add_product(
                &c.db,
                alice,
                supplier,
                &ProductDraft {
                    name: format!("Ost {i}"),
                    article_id: format!("O-{i}"),
                    unit: "st".into(),
                    case_size: dec!(1),
                    unit_price: dec!(35),
                    vat_class: "food".into(),
                },
                &vat_classes(),
                2,
            )
            .await
            .unwrap(),
        );
    }
    let order = c.order(alice, supplier, &products).await;
    let c = std::sync::Arc::new(c);
    let mut tasks = Vec::new();
    for p in products {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.buy(bo, order, p, dec!(1), dec!(0)).await
        }));
    }
    let mut bought = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => bought += 1,
            Err(Refused::Insufficient { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(bought, 7);
    let (held, balance) = c.wallet_of(bo).await;
    assert_eq!(balance, dec!(250));
    assert!(held <= balance);
    assert_eq!(held, Decimal::from(bought) * dec!(35));
    let kept = c
        .count(&format!(
            "select count(*) from purchase where member_id = '{bo}'"
        ))
        .await;
    assert_eq!(kept, bought);
}
